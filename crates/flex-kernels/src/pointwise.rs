//! The sigmoid, the summed binary cross-entropy, dropout and the L2 penalty's sum of squares on
//! the `flex` CPU backend as single fused, vectorized, multi-threaded passes, registered with Burn as a backend extension with a
//! hand-written backward pass.
//!
//! `flex` evaluates `exp` and `ln` one element at a time through libm, on one thread: for the
//! single-layer autoencoder the output sigmoid and the loss's logarithm were a third of a step.
//! Here `e^x` and `ln(1 + e)` are short polynomials in plain arithmetic, which the compiler turns
//! into SIMD loops, and each pass is split over the rayon pool. Dropout masks come from a hash
//! of the element index instead of Burn's per-element ChaCha draws (a sixth of a step of the
//! dropout autoencoder). On any other device [`sigmoid`], [`bce_with_logits_sum`], [`dropout`]
//! and [`sum_squares`] return `None` and callers use Burn's ops.

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

use crate::shared::tensor;
pub use crate::shared::{runs_on, vectorized};

/// Elements per rayon task: large enough to amortize the split, small enough to balance.
const CHUNK: usize = 16 * 1024;

/// `e^x` within 2 ulp for `x` in `[-87.3, 88]` (clamped outside, where the sigmoid and the loss
/// are already saturated). Cephes' `expf`: `x = n·ln 2 + r`, a degree-7 polynomial for `e^r`,
/// and `2^n` built in the exponent bits; no branches and no libm call, so loops vectorize.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // 1.5·2²³: adding it rounds to an integer and leaves that integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.336_55, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 split in two so that `n·LN2_HI` is exact.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 0.166_666_65)
        * r
        + 0.5;
    let e_r = p * z + r + 1.0;
    // 2ⁿ: `n + 127` in the exponent field, read off `shifted`'s bits (`ROUND`'s bits are
    // 0x4B40_0000 + n for |n| < 2²²).
    let biased = shifted.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127);
    e_r * f32::from_bits(biased << 23)
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid_scalar(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `ln(1 + e)` for `e` in `[0, 1]`, as `2·atanh(s)` with `s = e / (2 + e)` in `[0, 1/3]`: the
/// series to `s¹³` is within 1e-7 relative, and `s` keeps full precision for tiny `e`.
#[inline(always)]
pub fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let z = s * s;
    let series = 1.0
        + z * (1.0 / 3.0
            + z * (1.0 / 5.0
                + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0 + z * (1.0 / 13.0))))));
    2.0 * s * series
}

/// One element of the binary cross-entropy of logit `x` (sigmoid `p`) against target `t`:
/// `max(x, 0) - t·x + ln(1 + e^-|x|)`, with `e^-|x| = (½ - d) / (½ + d)`, `d = |p - ½|`, read off
/// `p` so that no exponential is needed (absolute error about 1e-7, the rounding of `p`).
#[inline(always)]
pub fn bce_scalar(x: f32, p: f32, t: f32) -> f32 {
    let d = (p - 0.5).abs();
    let e = (0.5 - d) / (0.5 + d);
    x.max(0.0) - t * x + ln_1p_unit(e)
}

/// A 32-bit integer hash with good avalanche (Wellons' `lowbias32`): multiplies, shifts and
/// xors only, so a loop of them vectorizes.
#[inline(always)]
fn hash32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// The dropout multiplier of element `i` for a call seeded with `seed`: `scale` with probability
/// `keep`, else 0. Counter-based (a hash of the index), so threads need no shared state and the
/// mask doesn't depend on how the work is split.
#[inline(always)]
pub fn dropout_factor(seed: [u32; 2], i: u32, keep: f32, scale: f32) -> f32 {
    let bits = hash32(hash32(i ^ seed[0]).wrapping_add(seed[1]));
    // 24 random bits → a uniform in [0, 1) with float precision.
    let uniform = (bits >> 8) as f32 * (1.0 / 16_777_216.0);
    if uniform < keep { scale } else { 0.0 }
}

/// `(mask, x·mask)`: the scaled dropout mask and its product with `x`, in one pass.
fn dropout_pass(x: &[f32], keep: f32, seed: [u32; 2]) -> (Vec<f32>, Vec<f32>) {
    let scale = 1.0 / keep;
    let mut mask = Box::new_uninit_slice(x.len());
    let mut y = Box::new_uninit_slice(x.len());
    (mask.par_chunks_mut(CHUNK).zip(y.par_chunks_mut(CHUNK)))
        .zip(x.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(c, ((mask, y), x))| {
            let start = (c * CHUNK) as u32;
            vectorized(
                #[inline(always)]
                move || {
                    for (j, ((m, y), &x)) in mask.iter_mut().zip(y).zip(x).enumerate() {
                        let i = start.wrapping_add(j as u32);
                        let factor = dropout_factor(seed, i, keep, scale);
                        m.write(factor);
                        y.write(x * factor);
                    }
                },
            )
        });
    (initialized(mask), initialized(y))
}

/// The scaled mask and `x` times it.
fn dropout_forward(x: FlexTensor, keep: f32, seed: [u32; 2]) -> (FlexTensor, FlexTensor) {
    let x = x.to_contiguous();
    let (mask, y) = dropout_pass(x.storage(), keep, seed);
    (tensor(mask, shape(&x)), tensor(y, shape(&x)))
}

/// The values of a slice whose every element the caller has written.
#[allow(unsafe_code)]
fn initialized(values: Box<[std::mem::MaybeUninit<f32>]>) -> Vec<f32> {
    // SAFETY: every caller pairs the chunks of `values` one to one with equal-length chunks of
    // its inputs (lengths asserted or taken from them) and writes each element of each chunk.
    unsafe { values.assume_init() }.into_vec()
}

/// `out[i] = f(a[i])` over the pool. The output is not zeroed first (zeroing was a separate
/// pass over memory as large as the result). `f` is `Copy` (a closure that captures its scalars
/// by `move`): each chunk's loop gets its own copy, so the compiler sees that the stores cannot
/// change what `f` reads and vectorizes it; through a reference it ran scalar.
fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync + Copy) -> Vec<f32> {
    let mut out = Box::new_uninit_slice(a.len());
    out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK)).for_each(|(o, a)| {
        vectorized(
            #[inline(always)]
            move || o.iter_mut().zip(a).for_each(|(o, &a)| _ = o.write(f(a))),
        )
    });
    initialized(out)
}

/// `out[i] = f(a[i], b[i])` over the pool, like [`map`].
fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Copy) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "element-wise lengths differ");
    let mut out = Box::new_uninit_slice(a.len());
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(o, (a, b))| {
            vectorized(
                #[inline(always)]
                move || {
                    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                        o.write(f(a, b));
                    }
                },
            )
        });
    initialized(out)
}

/// f32 accumulators per reduction chunk: one AVX-512 register, or two AVX2 ones, so the loop
/// vectorizes without reassociating a single running sum.
const LANES: usize = 16;

/// `Σ bce_scalar(x, p, t)`, in f32 lanes per chunk and f64 across chunks.
fn bce_sum(x: &[f32], p: &[f32], t: &[f32]) -> f64 {
    assert!(x.len() == p.len() && p.len() == t.len(), "BCE lengths differ");
    let chunks: Vec<f64> = x
        .par_chunks(CHUNK)
        .zip(p.par_chunks(CHUNK).zip(t.par_chunks(CHUNK)))
        .map(|(x, (p, t))| vectorized(#[inline(always)] move || bce_chunk_sum(x, p, t)))
        .collect();
    // Added in chunk order: the same rounding however rayon split the work.
    chunks.iter().sum()
}

#[inline(always)]
fn bce_chunk_sum(x: &[f32], p: &[f32], t: &[f32]) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let (xs, ps, ts) = (x.chunks_exact(LANES), p.chunks_exact(LANES), t.chunks_exact(LANES));
    let tail: f32 = (xs.remainder().iter().zip(ps.remainder()).zip(ts.remainder()))
        .map(|((&x, &p), &t)| bce_scalar(x, p, t))
        .sum();
    for ((x, p), t) in xs.zip(ps).zip(ts) {
        for i in 0..LANES {
            lanes[i] += bce_scalar(x[i], p[i], t[i]);
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
}

/// `Σ x²`, in f32 lanes per chunk and f64 across chunks.
fn squares_sum(x: &[f32]) -> f64 {
    let chunks: Vec<f64> = x.par_chunks(CHUNK).map(|x| vectorized(#[inline(always)] move || squares_chunk_sum(x))).collect();
    chunks.iter().sum()
}

#[inline(always)]
fn squares_chunk_sum(x: &[f32]) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for c in chunks {
        for i in 0..LANES {
            lanes[i] += c[i] * c[i];
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
}

/// The element-wise ops this crate implements for `flex` (and autodiff over `flex`).
#[backend_extension(Flex, Autodiff)]
pub trait CpuPointwiseBackend: Backend {
    /// `1 / (1 + e^-x)`, any shape.
    fn fast_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `[Σ max(x, 0) - t·x + ln(1 + e^-|x|)]` (shape `[1]`) for logits `x`, their sigmoid `p` and
    /// targets `t` of one shape. Differentiable in `x` only, with gradient `p - t`; `p` and `t`
    /// are read as constants.
    fn bce_logits_sum(
        x: FloatTensor<Self>,
        p: FloatTensor<Self>,
        t: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Inverted dropout: each element kept with probability `keep` and scaled by `1 / keep`, or
    /// zeroed; the mask is drawn from `seed` ([`dropout_factor`]). Gradient: `dy` times the same
    /// mask.
    fn fast_dropout(x: FloatTensor<Self>, keep: f32, seed: [u32; 2]) -> FloatTensor<Self>;

    /// `[Σ x²]` (shape `[1]`), any shape; gradient `2·x·dy`.
    fn fast_sum_squares(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The sigmoid on a `flex` device (gradient `dy·p·(1 - p)`), or `None` elsewhere.
pub fn sigmoid<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    runs_on(x).then(|| {
        Tensor::from_dispatch(<Dispatch as CpuPointwiseBackend>::fast_sigmoid(
            x.clone().into_dispatch(),
        ))
    })
}

/// The summed BCE of logits against targets on a `flex` device, or `None` elsewhere; see
/// [`CpuPointwiseBackend::bce_logits_sum`]. `probs` must be the sigmoid of `logits`.
pub fn bce_with_logits_sum<const D: usize>(
    logits: &Tensor<D>,
    probs: &Tensor<D>,
    target: &Tensor<D>,
) -> Option<Tensor<1>> {
    if !runs_on(logits) || logits.dims() != probs.dims() || logits.dims() != target.dims() {
        return None;
    }
    Some(Tensor::from_dispatch(
        <Dispatch as CpuPointwiseBackend>::bce_logits_sum(
            logits.clone().into_dispatch(),
            probs.clone().into_dispatch(),
            target.clone().into_dispatch(),
        ),
    ))
}

/// Training-time dropout of rate `prob` on a `flex` device, or `None` elsewhere (the caller uses
/// Burn's `Dropout`). The mask's seed is drawn from the device's generator, so `device.seed(..)`
/// makes runs repeatable as with Burn's own dropout.
pub fn dropout<const D: usize>(x: &Tensor<D>, prob: f64) -> Option<Tensor<D>> {
    if !runs_on(x) || !(0.0..1.0).contains(&prob) {
        return None;
    }
    // Two 24-bit draws from the seeded generator make the 32-bit halves of the call's seed.
    let draws = Tensor::<1>::random([4], burn::tensor::Distribution::Default, &x.device().inner());
    let d: Vec<u32> = draws
        .into_data()
        .iter::<f32>()
        .map(|v| (v * 16_777_216.0) as u32)
        .collect();
    let seed = [d[0] ^ (d[1] << 8), d[2] ^ (d[3] << 8)];
    Some(Tensor::from_dispatch(<Dispatch as CpuPointwiseBackend>::fast_dropout(
        x.clone().into_dispatch(),
        (1.0 - prob) as f32,
        seed,
    )))
}

/// `Σ x²` on a `flex` device (one pass; the L2 penalty), or `None` elsewhere.
pub fn sum_squares<const D: usize>(x: &Tensor<D>) -> Option<Tensor<1>> {
    runs_on(x).then(|| {
        Tensor::from_dispatch(<Dispatch as CpuPointwiseBackend>::fast_sum_squares(
            x.clone().into_dispatch(),
        ))
    })
}

fn shape(t: &FlexTensor) -> Shape {
    t.layout().shape().clone()
}

/// The value of a one-element gradient (of a summed loss term).
fn scalar(t: FlexTensor) -> f32 {
    t.to_contiguous().storage::<f32>()[0]
}

impl CpuPointwiseBackend for Flex {
    fn fast_sigmoid(x: FlexTensor) -> FlexTensor {
        let x = x.to_contiguous();
        tensor(map(x.storage(), sigmoid_scalar), shape(&x))
    }

    fn bce_logits_sum(x: FlexTensor, p: FlexTensor, t: FlexTensor) -> FlexTensor {
        let (x, p, t) = (x.to_contiguous(), p.to_contiguous(), t.to_contiguous());
        let sum = bce_sum(x.storage(), p.storage(), t.storage());
        tensor(vec![sum as f32], Shape::new([1]))
    }

    fn fast_dropout(x: FlexTensor, keep: f32, seed: [u32; 2]) -> FlexTensor {
        dropout_forward(x, keep, seed).1
    }

    fn fast_sum_squares(x: FlexTensor) -> FlexTensor {
        let sum = squares_sum(x.to_contiguous().storage());
        tensor(vec![sum as f32], Shape::new([1]))
    }
}

/// Backward of the sum of squares; the state is `x`.
#[derive(Debug)]
struct SumSquaresBackward;

impl Backward<Flex, 1> for SumSquaresBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state.to_contiguous();
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let g = scalar(grad);
            tensor(map(x.storage(), move |v| 2.0 * g * v), shape(&x))
        });
    }
}

/// Backward of dropout; the state is the scaled mask.
#[derive(Debug)]
struct DropoutBackward;

impl Backward<Flex, 1> for DropoutBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let mask = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |dy| {
            let dy = dy.to_contiguous();
            tensor(map2(dy.storage(), mask.storage(), |g, m| g * m), shape(&mask))
        });
    }
}

/// Backward of the sigmoid; the state is its output `p`.
#[derive(Debug)]
struct SigmoidBackward;

impl Backward<Flex, 1> for SigmoidBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let p = ops.state.to_contiguous();
        unary::<Flex, _>(ops.parents, ops.node, grads, |dy| {
            let dy = dy.to_contiguous();
            tensor(map2(dy.storage(), p.storage(), |g, p| g * p * (1.0 - p)), shape(&p))
        });
    }
}

/// Backward of the summed BCE; the state is `(p, t)`.
#[derive(Debug)]
struct BceBackward;

impl Backward<Flex, 1> for BceBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (p, t) = (ops.state.0.to_contiguous(), ops.state.1.to_contiguous());
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let g = scalar(grad);
            tensor(map2(p.storage(), t.storage(), move |p, t| g * (p - t)), shape(&p))
        });
    }
}

impl<C: CheckpointStrategy> CpuPointwiseBackend for Autodiff<Flex, C> {
    fn fast_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let xp = x.primitive().clone();
        match SigmoidBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let p = Flex::fast_sigmoid(xp);
                prep.finish(p.clone(), p)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::fast_sigmoid(xp)),
        }
    }

    fn bce_logits_sum(
        x: FloatTensor<Self>,
        p: FloatTensor<Self>,
        t: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (xp, pp, tp) = (
            x.primitive().clone(),
            p.primitive().clone(),
            t.primitive().clone(),
        );
        // Only `x` is a parent: the gradient deliberately stops at `p` and `t`.
        match BceBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((pp.clone(), tp.clone()), Flex::bce_logits_sum(xp, pp, tp))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::bce_logits_sum(xp, pp, tp)),
        }
    }

    fn fast_dropout(x: FloatTensor<Self>, keep: f32, seed: [u32; 2]) -> FloatTensor<Self> {
        let (mask, y) = dropout_forward(x.primitive().clone(), keep, seed);
        match DropoutBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(mask, y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fast_sum_squares(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let xp = x.primitive().clone();
        match SumSquaresBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(xp.clone(), Flex::fast_sum_squares(xp)),
            OpsKind::UnTracked(prep) => prep.finish(Flex::fast_sum_squares(xp)),
        }
    }
}
