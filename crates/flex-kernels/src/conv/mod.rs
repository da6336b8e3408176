//! Convolutions and transposed convolutions on the `flex` CPU backend through our own kernels
//! ([`kernels`]), registered with Burn as a backend extension with a hand-written backward pass.
//!
//! Every model calls [`conv2d`] / [`conv_transpose2d`]: on a `flex` device they run the im2col +
//! gemm kernels here; on any other device (the GPU backends) they return `None` and the caller
//! uses Burn's own module, so GPU builds are untouched. Outputs and gradients match Burn's to
//! float rounding (tests in `tests/all/conv.rs`).

pub mod kernels;
mod patches;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

/// Whether [`conv2d`] and [`conv_transpose2d`] take `x` (`f32` on `flex`).
pub use crate::shared::runs_on;
use crate::shared::{tensor, vectorized};
pub use kernels::{ConvGeometry, ConvShape};
use rayon::prelude::*;

/// The convolution ops this crate implements for `flex` (and for autodiff over `flex`).
#[backend_extension(Flex, Autodiff)]
pub trait CpuConvBackend: Backend {
    /// `x [batch, channels, h, w]`, `weight [filters, channels, kh, kw]`, `bias [filters]` →
    /// `[batch, filters, oh, ow]`.
    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
    ) -> FloatTensor<Self>;

    /// The transpose of [`Self::im2col_conv2d`] with respect to its input, plus a bias:
    /// `x [batch, channels_in, h, w]`, `weight [channels_in, filters, kh, kw]`, `bias
    /// [filters]` → `[batch, filters, out_size[0], out_size[1]]`, where the convolution of that
    /// output with `weight` and `geometry` has `x`'s size.
    fn im2col_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
        out_size: [usize; 2],
    ) -> FloatTensor<Self>;
}

/// `x ⋆ weight + bias` on a `flex` device, or `None` elsewhere (and for non-`f32` tensors), where
/// the caller falls back to Burn's `Conv2d`. Shapes as in [`CpuConvBackend::im2col_conv2d`].
pub fn conv2d(
    x: &Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    geometry: ConvGeometry,
) -> Option<Tensor<4>> {
    if !runs_on(x) {
        return None;
    }
    ConvShape::new(x.dims(), weight.dims(), geometry)?;
    let y = <Dispatch as CpuConvBackend>::im2col_conv2d(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
    );
    Some(Tensor::from_dispatch(y))
}

/// The transposed convolution on a `flex` device, or `None` elsewhere. Shapes as in
/// [`CpuConvBackend::im2col_conv_transpose2d`].
pub fn conv_transpose2d(
    x: &Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    geometry: ConvGeometry,
    out_size: [usize; 2],
) -> Option<Tensor<4>> {
    if !runs_on(x) {
        return None;
    }
    transpose_shape(x.dims(), weight.dims(), geometry, out_size)?;
    let y = <Dispatch as CpuConvBackend>::im2col_conv_transpose2d(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
        out_size,
    );
    Some(Tensor::from_dispatch(y))
}

/// The forward convolution a transposed one is the input gradient of: it maps `[batch, filters,
/// out_size]` back to `x`'s `[batch, channels_in, h, w]`.
fn transpose_shape(
    x: [usize; 4],
    weight: [usize; 4],
    geometry: ConvGeometry,
    out_size: [usize; 2],
) -> Option<ConvShape> {
    let [batch, channels_in, h, w] = x;
    let [weight_in, filters, kh, kw] = weight;
    let shape = ConvShape::new(
        [batch, filters, out_size[0], out_size[1]],
        [weight_in, filters, kh, kw],
        geometry,
    )?;
    (shape.filters == channels_in && shape.output == [h, w]).then_some(shape)
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    t.layout().shape().dims::<4>()
}

/// Contiguous `f32` data of `t` (a copy only when `t` is a strided view).
fn data(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

fn forward_shape(x: &FlexTensor, weight: &FlexTensor, geometry: ConvGeometry) -> ConvShape {
    ConvShape::new(dims4(x), dims4(weight), geometry)
        .expect("conv::conv2d checked the shapes before dispatching")
}

fn transposed(
    x: &FlexTensor,
    weight: &FlexTensor,
    geometry: ConvGeometry,
    out_size: [usize; 2],
) -> ConvShape {
    transpose_shape(dims4(x), dims4(weight), geometry, out_size)
        .expect("conv::conv_transpose2d checked the shapes before dispatching")
}

/// `[batch, filters, oh, ow]` of a forward convolution.
fn output_dims(s: &ConvShape) -> [usize; 4] {
    [s.batch, s.filters, s.output[0], s.output[1]]
}

/// `[batch, channels, h, w]` of a forward convolution's input.
fn input_dims(s: &ConvShape) -> [usize; 4] {
    [s.batch, s.channels, s.input[0], s.input[1]]
}

/// `dst [batch, c, h, w] += bias[c]`, images spread over the pool.
fn add_bias(mut dst: Vec<f32>, bias: &[f32], plane: usize) -> Vec<f32> {
    dst.par_chunks_mut(bias.len() * plane).for_each(|image| {
        vectorized(
            #[inline(always)]
            || {
                for (chunk, &b) in image.chunks_exact_mut(plane).zip(bias) {
                    chunk.iter_mut().for_each(|v| *v += b);
                }
            },
        )
    });
    dst
}

/// Per-channel sums of `g [batch, c, h, w]`: the bias gradient of a transposed convolution.
fn channel_sums(g: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    // Fixed groups added in order, as the weight gradients are: the same sums on any thread count.
    let partials: Vec<Vec<f32>> = g
        .par_chunks(channels * plane * kernels::GRADIENT_GROUP)
        .map(|images| {
            let mut sums = vec![0.0f32; channels];
            for image in images.chunks(channels * plane) {
                kernels::add_plane_sums(&mut sums, image);
            }
            sums
        })
        .collect();
    partials
        .into_iter()
        .reduce(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| vec![0.0f32; channels])
}

impl CpuConvBackend for Flex {
    fn im2col_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: ConvGeometry,
    ) -> FlexTensor {
        let s = forward_shape(&x, &weight, geometry);
        let (x, weight, bias) = (data(&x), data(&weight), data(&bias));
        let y = s.forward(x.storage(), weight.storage(), bias.storage());
        tensor(y, output_dims(&s))
    }

    fn im2col_conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: ConvGeometry,
        out_size: [usize; 2],
    ) -> FlexTensor {
        let s = transposed(&x, &weight, geometry, out_size);
        let (x, weight, bias) = (data(&x), data(&weight), data(&bias));
        let y = s.input_grad(x.storage(), weight.storage());
        let y = add_bias(y, bias.storage(), s.input[0] * s.input[1]);
        tensor(y, input_dims(&s))
    }
}

/// Backward of [`CpuConvBackend::im2col_conv2d`]; the state is `(x, weight, geometry)`.
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = (FlexTensor, FlexTensor, ConvGeometry);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = data(&grads.consume::<Flex>(&ops.node));
        let (x, weight, geometry) = ops.state;
        let s = forward_shape(&x, &weight, geometry);
        if let Some(node) = node_x {
            let dx = s.input_grad(dy.storage(), data(&weight).storage());
            grads.register::<Flex>(node.id, tensor(dx, input_dims(&s)));
        }
        if node_weight.is_some() || node_bias.is_some() {
            let (dw, db) = s.weight_grad(data(&x).storage(), dy.storage());
            if let Some(node) = node_weight {
                grads.register::<Flex>(node.id, tensor(dw, dims4(&weight)));
            }
            if let Some(node) = node_bias {
                grads.register::<Flex>(node.id, tensor(db, [s.filters]));
            }
        }
    }
}

/// Backward of [`CpuConvBackend::im2col_conv_transpose2d`]; the state is `(x, weight,
/// geometry, out_size)`.
#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 3> for ConvTranspose2dBackward {
    type State = (FlexTensor, FlexTensor, ConvGeometry, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = data(&grads.consume::<Flex>(&ops.node));
        let (x, weight, geometry, out_size) = ops.state;
        // `s` is the forward convolution from the output `[batch, filters, out]` to `x`.
        let s = transposed(&x, &weight, geometry, out_size);
        if let Some(node) = node_x {
            let dx = s.forward(dy.storage(), data(&weight).storage(), &vec![0.0; s.filters]);
            grads.register::<Flex>(node.id, tensor(dx, output_dims(&s)));
        }
        if let Some(node) = node_weight {
            let (dw, _) = s.weight_grad(dy.storage(), data(&x).storage());
            grads.register::<Flex>(node.id, tensor(dw, dims4(&weight)));
        }
        if let Some(node) = node_bias {
            let db = channel_sums(dy.storage(), s.channels, s.input[0] * s.input[1]);
            grads.register::<Flex>(node.id, tensor(db, [s.channels]));
        }
    }
}

impl<C: CheckpointStrategy> CpuConvBackend for Autodiff<Flex, C> {
    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
    ) -> FloatTensor<Self> {
        let (xp, wp, bp) = (
            x.primitive().clone(),
            weight.primitive().clone(),
            bias.primitive().clone(),
        );
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (xp.clone(), wp.clone(), geometry),
                Flex::im2col_conv2d(xp, wp, bp, geometry),
            ),
            OpsKind::UnTracked(prep) => prep.finish(Flex::im2col_conv2d(xp, wp, bp, geometry)),
        }
    }

    fn im2col_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
        out_size: [usize; 2],
    ) -> FloatTensor<Self> {
        let (xp, wp, bp) = (
            x.primitive().clone(),
            weight.primitive().clone(),
            bias.primitive().clone(),
        );
        match ConvTranspose2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (xp.clone(), wp.clone(), geometry, out_size),
                Flex::im2col_conv_transpose2d(xp, wp, bp, geometry, out_size),
            ),
            OpsKind::UnTracked(prep) => prep.finish(Flex::im2col_conv_transpose2d(
                xp, wp, bp, geometry, out_size,
            )),
        }
    }
}
