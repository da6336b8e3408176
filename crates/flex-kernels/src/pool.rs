//! Max pooling on the `flex` CPU backend: one pass over each image plane that keeps every
//! window's argmax, and a backward pass that routes the gradient to it (a Burn backend extension
//! with a hand-written backward pass). A ReLU before the pooling can be folded in
//! ([`max_pool2d_relu`]): `pool(relu(x)) = relu(pool(x))`, so the full-size activation and its
//! backward mask are never computed. `flex` pools through a general 3-D kernel with indices, a
//! twelfth of the seed CNN's step. On any other device [`max_pool2d`] returns `None` and callers
//! use Burn's `MaxPool2d`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::Shape;
use rayon::prelude::*;

use crate::shared::{runs_on, tensor, vectorized};

/// The argmax of a window whose folded ReLU was 0: it routes no gradient.
const NO_GRADIENT: u32 = u32::MAX;

/// Where the windows of a 2-D max pooling fall, per axis `[height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Window size.
    pub kernel: [usize; 2],
    /// Step of the window.
    pub stride: [usize; 2],
    /// Rows/columns of `-inf` added `[[top, bottom], [left, right]]`: a window hanging over the
    /// edge takes the max of its real pixels only.
    pub padding: [[usize; 2]; 2],
}

impl PoolGeometry {
    /// Output size along `axis` for `input` pixels, or `None` if no window fits (or one would
    /// lie entirely in the padding, which has no max).
    fn output_size(&self, axis: usize, input: usize) -> Option<usize> {
        let [begin, end] = self.padding[axis];
        let (kernel, stride) = (self.kernel[axis], self.stride[axis]);
        let padded = input + begin + end;
        if kernel == 0 || stride == 0 || padded < kernel || begin >= kernel || end >= kernel {
            return None;
        }
        Some((padded - kernel) / stride + 1)
    }
}

/// The sizes of one pooling of `[batch, channels]` image planes of `input` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PoolShape {
    batch_channels: [usize; 2],
    input: [usize; 2],
    output: [usize; 2],
    geometry: PoolGeometry,
    /// A ReLU applied before the pooling, folded in.
    relu: bool,
}

impl PoolShape {
    fn new(x: [usize; 4], geometry: PoolGeometry, relu: bool) -> Option<Self> {
        let [batch, channels, h, w] = x;
        let output = [geometry.output_size(0, h)?, geometry.output_size(1, w)?];
        // Indices within a plane, one value kept free for `NO_GRADIENT`.
        let fits = (h * w) < NO_GRADIENT as usize;
        fits.then_some(Self {
            batch_channels: [batch, channels],
            input: [h, w],
            output,
            geometry,
            relu,
        })
    }

    fn planes(&self) -> usize {
        self.batch_channels[0] * self.batch_channels[1]
    }

    /// `[batch, channels, height, width]` of the input.
    fn input_dims(&self) -> [usize; 4] {
        let ([batch, channels], [h, w]) = (self.batch_channels, self.input);
        [batch, channels, h, w]
    }

    /// `[batch, channels, height, width]` of the output.
    fn output_dims(&self) -> [usize; 4] {
        let ([batch, channels], [oh, ow]) = (self.batch_channels, self.output);
        [batch, channels, oh, ow]
    }

    /// Input indices `[first, end)` along `axis` that output position `o` covers.
    #[inline(always)]
    fn window(&self, axis: usize, o: usize) -> (usize, usize) {
        let g = self.geometry;
        let start = o * g.stride[axis];
        let first = start.saturating_sub(g.padding[axis][0]);
        let end = (start + g.kernel[axis] - g.padding[axis][0]).min(self.input[axis]);
        (first, end)
    }

    /// `(y, argmax)`: each window's max and its index within the plane (the first one on ties).
    /// With `relu`, a window whose max is not positive gives 0 and the index [`NO_GRADIENT`]: its
    /// ReLU passed no gradient back to any of its pixels.
    fn forward(&self, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let ([h, w], [oh, ow]) = (self.input, self.output);
        assert_eq!(x.len(), self.planes() * h * w, "max pool input length");
        let mut y = vec![0.0f32; self.planes() * oh * ow];
        let mut at = vec![0u32; y.len()];
        (y.par_chunks_mut(oh * ow).zip(at.par_chunks_mut(oh * ow)))
            .zip(x.par_chunks(h * w))
            .for_each(|((y, at), plane)| {
                vectorized(
                    #[inline(always)]
                    || match (self.is_2x2(), self.relu) {
                        (true, true) => self.pool_plane_2x2::<true>(plane, y, at),
                        (true, false) => self.pool_plane_2x2::<false>(plane, y, at),
                        (false, relu) => {
                            self.pool_plane(plane, y, at);
                            if relu {
                                y.iter_mut().zip(at.iter_mut()).for_each(|(y, at)| fold_relu(y, at));
                            }
                        }
                    },
                );
            });
        (y, at)
    }

    /// Whether this is the 2×2, stride-2 pooling without padding that every pooling CNN here
    /// uses, which [`Self::pool_plane_2x2`] runs.
    fn is_2x2(&self) -> bool {
        let g = self.geometry;
        g.kernel == [2, 2] && g.stride == [2, 2] && g.padding == [[0, 0], [0, 0]]
    }

    /// Each window's max and the index of its first occurrence, by the general window loop.
    #[inline(always)]
    fn pool_plane(&self, plane: &[f32], y: &mut [f32], at: &mut [u32]) {
        let [_, w] = self.input;
        let [oh, ow] = self.output;
        for oy in 0..oh {
            let (r0, r1) = self.window(0, oy);
            for ox in 0..ow {
                let (c0, c1) = self.window(1, ox);
                let mut best_at = r0 * w + c0;
                let mut best = plane[best_at];
                for r in r0..r1 {
                    for (c, &v) in plane[r * w + c0..r * w + c1].iter().enumerate() {
                        if v > best {
                            best = v;
                            best_at = r * w + c0 + c;
                        }
                    }
                }
                y[oy * ow + ox] = best;
                at[oy * ow + ox] = best_at as u32;
            }
        }
    }

    /// [`Self::pool_plane`] for 2×2 windows at stride 2, then the folded ReLU when `RELU`: the
    /// same comparisons in the same order (so the same maxima and, on ties, the same first
    /// index), written as selects rather than branches. Which pixel of a window is largest is a
    /// coin toss on real activations, so branches were mispredicted about half the time, and
    /// pooling was a sixth of the speedrun's step.
    #[inline(always)]
    fn pool_plane_2x2<const RELU: bool>(&self, plane: &[f32], y: &mut [f32], at: &mut [u32]) {
        let [_, w] = self.input;
        let ow = self.output[1];
        let rows = y.chunks_exact_mut(ow).zip(at.chunks_exact_mut(ow));
        for (oy, (y, at)) in rows.enumerate() {
            let top = 2 * oy * w;
            let (r0, r1) = (&plane[top..top + 2 * ow], &plane[top + w..top + w + 2 * ow]);
            let pairs = r0.chunks_exact(2).zip(r1.chunks_exact(2));
            for (ox, ((upper, lower), (y, at))) in pairs.zip(y.iter_mut().zip(at.iter_mut())).enumerate() {
                // Scan order of the general loop: (0, 0), (0, 1), (1, 0), (1, 1).
                let (mut best, mut offset) = (upper[0], 0);
                for (v, o) in [(upper[1], 1), (lower[0], w), (lower[1], w + 1)] {
                    let larger = v > best;
                    best = if larger { v } else { best };
                    offset = if larger { o } else { offset };
                }
                *y = best;
                *at = (top + 2 * ox + offset) as u32;
                if RELU {
                    fold_relu(y, at);
                }
            }
        }
    }

    /// The input gradient: each output's `dy` added at its window's argmax, zero elsewhere.
    fn backward(&self, dy: &[f32], at: &[u32]) -> Vec<f32> {
        let ([h, w], [oh, ow]) = (self.input, self.output);
        assert!(
            dy.len() == at.len() && dy.len() == self.planes() * oh * ow,
            "max pool gradient length"
        );
        let mut dx = vec![0.0f32; self.planes() * h * w];
        (dx.par_chunks_mut(h * w))
            .zip(dy.par_chunks(oh * ow).zip(at.par_chunks(oh * ow)))
            .for_each(|(dx, (dy, at))| {
                for (&g, &i) in dy.iter().zip(at) {
                    // Selects, not a branch: a folded ReLU stops the gradient of about half the
                    // windows, at random, and the branch was mispredicted as often. A stopped
                    // window adds +0 to pixel 0, which changes nothing there (its sum starts at
                    // +0 and is never -0).
                    let routed = i != NO_GRADIENT;
                    let (i, g) = if routed { (i as usize, g) } else { (0, 0.0) };
                    dx[i] += g;
                }
            });
        dx
    }
}

/// The folded ReLU of one pooled value: a window whose max is not positive gives 0 and routes
/// no gradient. `!(y > 0)` rather than `y <= 0`: a NaN maximum gives 0, as a ReLU does.
#[inline(always)]
fn fold_relu(y: &mut f32, at: &mut u32) {
    let pass = *y > 0.0;
    *y = if pass { *y } else { 0.0 };
    *at = if pass { *at } else { NO_GRADIENT };
}

/// The pooling ops this crate implements for `flex` (and autodiff over `flex`).
#[backend_extension(Flex, Autodiff)]
pub trait CpuPoolBackend: Backend {
    /// Max pooling of `x [batch, channels, h, w]` with `geometry`, which must fit (see
    /// [`max_pool2d`]), of `relu(x)` when `relu`. Gradient: `dy` routed to each window's argmax
    /// (where the window's max is positive, with `relu`).
    fn fast_max_pool2d(x: FloatTensor<Self>, geometry: PoolGeometry, relu: bool) -> FloatTensor<Self>;
}

/// Max pooling on a `flex` device, or `None` elsewhere or when no window fits.
pub fn max_pool2d(x: &Tensor<4>, geometry: PoolGeometry) -> Option<Tensor<4>> {
    pool_op(x, geometry, false)
}

/// `max_pool2d(relu(x))` in one pass on a `flex` device (the same values and gradients, bit for
/// bit), or `None` elsewhere or when no window fits, where callers apply the two ops.
pub fn max_pool2d_relu(x: &Tensor<4>, geometry: PoolGeometry) -> Option<Tensor<4>> {
    pool_op(x, geometry, true)
}

fn pool_op(x: &Tensor<4>, geometry: PoolGeometry, relu: bool) -> Option<Tensor<4>> {
    PoolShape::new(x.dims(), geometry, relu)?;
    runs_on(x).then(|| {
        Tensor::from_dispatch(<Dispatch as CpuPoolBackend>::fast_max_pool2d(
            x.clone().into_dispatch(),
            geometry,
            relu,
        ))
    })
}

/// `(y, argmax, shape)` of `x`.
fn pool(x: FlexTensor, geometry: PoolGeometry, relu: bool) -> (FlexTensor, Vec<u32>, PoolShape) {
    let x = x.to_contiguous();
    let d = x.layout().shape();
    let shape = PoolShape::new([d[0], d[1], d[2], d[3]], geometry, relu)
        .expect("max_pool2d checked that the windows fit");
    let (y, at) = shape.forward(x.storage());
    (tensor(y, Shape::new(shape.output_dims())), at, shape)
}

impl CpuPoolBackend for Flex {
    fn fast_max_pool2d(x: FlexTensor, geometry: PoolGeometry, relu: bool) -> FlexTensor {
        pool(x, geometry, relu).0
    }
}

/// Backward of max pooling; the state is the argmax of every window and the sizes.
#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = (std::sync::Arc<Vec<u32>>, PoolShape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (at, shape) = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |dy| {
            let dy = dy.to_contiguous();
            tensor(
                shape.backward(dy.storage(), &at),
                Shape::new(shape.input_dims()),
            )
        });
    }
}

impl<C: CheckpointStrategy> CpuPoolBackend for Autodiff<Flex, C> {
    fn fast_max_pool2d(x: FloatTensor<Self>, geometry: PoolGeometry, relu: bool) -> FloatTensor<Self> {
        let (y, at, shape) = pool(x.primitive().clone(), geometry, relu);
        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((std::sync::Arc::new(at), shape), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
