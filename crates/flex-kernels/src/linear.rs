//! Dense layers, `x · W + b`, on the `flex` CPU backend as one op with a hand-written backward
//! pass (a Burn backend extension). Burn runs a `Linear` as a matrix product, then a broadcast add
//! of the bias, then in the backward pass a bias sum and two products; `flex` zero-fills each
//! product's output and then copies it once more to align it, 8 % of the MLP 500-300's step.
//! Here the bias rows are the product's starting value, and the gradients' products write into
//! memory that is never zeroed. On any other device [`linear`] returns `None` and callers use
//! Burn's `Linear`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

use crate::matmul::Product;
use crate::shared::{runs_on, tensor};

/// The dense layer this crate implements for `flex` (and for autodiff over `flex`).
#[backend_extension(Flex, Autodiff)]
pub trait CpuLinearBackend: Backend {
    /// `x [batch, d_in]`, `weight [d_in, d_out]`, `bias [d_out]` → `x · weight + bias`,
    /// `[batch, d_out]`.
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `x · weight + bias` on a `flex` device, or `None` elsewhere (and for non-`f32` tensors or
/// shapes that do not chain), where the caller uses Burn's `Linear`. Shapes as in
/// [`CpuLinearBackend::fused_linear`].
pub fn linear(x: &Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Option<Tensor<2>> {
    let ([_, d_in], [w_in, d_out], [b_out]) = (x.dims(), weight.dims(), bias.dims());
    if !runs_on(x) || d_in != w_in || d_out != b_out {
        return None;
    }
    let y = <Dispatch as CpuLinearBackend>::fused_linear(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    Some(Tensor::from_dispatch(y))
}

/// The sizes of one dense layer.
#[derive(Clone, Copy, Debug)]
struct DenseShape {
    batch: usize,
    d_in: usize,
    d_out: usize,
}

impl DenseShape {
    fn of(x: &FlexTensor, weight: &FlexTensor) -> Self {
        let [batch, d_in] = x.layout().shape().dims::<2>();
        let [w_in, d_out] = weight.layout().shape().dims::<2>();
        assert_eq!(
            d_in, w_in,
            "linear::linear checked the shapes before dispatching"
        );
        Self { batch, d_in, d_out }
    }

    /// `x [batch, d_in] · weight [d_in, d_out] + bias`: the bias rows are the starting value
    /// of the product, which adds onto them.
    fn forward(self, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        assert_eq!(bias.len(), self.d_out, "dense bias length");
        let mut y = Vec::with_capacity(self.batch * self.d_out);
        for _ in 0..self.batch {
            y.extend_from_slice(bias);
        }
        let product = Product {
            m: self.batch,
            k: self.d_in,
            n: self.d_out,
            accumulate: true,
            parallel: true,
        };
        product.run(&mut y, x, false, weight, false);
        y
    }

    /// `dx [batch, d_in] = dy [batch, d_out] · weightᵀ [d_out, d_in]`.
    fn input_grad(self, dy: &[f32], weight: &[f32]) -> Vec<f32> {
        let product = Product {
            m: self.batch,
            k: self.d_out,
            n: self.d_in,
            accumulate: false,
            parallel: true,
        };
        product.run_new(dy, false, weight, true)
    }

    /// `dw [d_in, d_out] = xᵀ [d_in, batch] · dy [batch, d_out]`.
    fn weight_grad(self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let product = Product {
            m: self.d_in,
            k: self.batch,
            n: self.d_out,
            accumulate: false,
            parallel: true,
        };
        product.run_new(x, true, dy, false)
    }

    /// `db [d_out]`: the column sums of `dy [batch, d_out]`.
    fn bias_grad(self, dy: &[f32]) -> Vec<f32> {
        let mut db = vec![0.0f32; self.d_out];
        for row in dy.chunks_exact(self.d_out) {
            db.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
        db
    }
}

/// Contiguous `f32` data of `t` (a copy only when `t` is a strided view).
fn data(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

impl CpuLinearBackend for Flex {
    fn fused_linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let s = DenseShape::of(&x, &weight);
        let (x, weight, bias) = (data(&x), data(&weight), data(&bias));
        let y = s.forward(x.storage(), weight.storage(), bias.storage());
        tensor(y, [s.batch, s.d_out])
    }
}

/// Backward of [`CpuLinearBackend::fused_linear`]; the state is `(x, weight)`.
#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = data(&grads.consume::<Flex>(&ops.node));
        let (x, weight) = ops.state;
        let s = DenseShape::of(&x, &weight);
        if let Some(node) = node_x {
            let dx = s.input_grad(dy.storage(), data(&weight).storage());
            grads.register::<Flex>(node.id, tensor(dx, [s.batch, s.d_in]));
        }
        if let Some(node) = node_weight {
            let dw = s.weight_grad(data(&x).storage(), dy.storage());
            grads.register::<Flex>(node.id, tensor(dw, [s.d_in, s.d_out]));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, tensor(s.bias_grad(dy.storage()), [s.d_out]));
        }
    }
}

impl<C: CheckpointStrategy> CpuLinearBackend for Autodiff<Flex, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (xp, wp, bp) = (
            x.primitive().clone(),
            weight.primitive().clone(),
            bias.primitive().clone(),
        );
        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                prep.finish((xp.clone(), wp.clone()), Flex::fused_linear(xp, wp, bp))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::fused_linear(xp, wp, bp)),
        }
    }
}
