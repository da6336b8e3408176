//! The sigmoid and the summed binary cross-entropy on the `flex` CPU backend as single fused,
//! vectorized, multi-threaded passes, registered with Burn as a backend extension with a
//! hand-written backward pass.
//!
//! `flex` evaluates `exp` and `ln` one element at a time through libm, on one thread: for the
//! single-layer autoencoder the output sigmoid and the loss's logarithm were a third of a step.
//! Here `e^x` and `ln(1 + e)` are short polynomials in plain arithmetic, which the compiler turns
//! into SIMD loops, and each pass is split over the rayon pool. On any other device
//! [`sigmoid`] and [`bce_with_logits_sum`] return `None` and callers use Burn's ops.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Shape};
use rayon::prelude::*;

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

/// `out[i] = f(a[i])` over the pool.
fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0.0f32; a.len()];
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .for_each(|(o, a)| o.iter_mut().zip(a).for_each(|(o, &a)| *o = f(a)));
    out
}

/// `out[i] = f(a[i], b[i], c[i])` over the pool.
fn map3(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert!(a.len() == b.len() && b.len() == c.len(), "element-wise lengths differ");
    let mut out = vec![0.0f32; a.len()];
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)).zip(c.par_chunks(CHUNK)))
        .for_each(|(o, ((a, b), c))| {
            for i in 0..o.len() {
                o[i] = f(a[i], b[i], c[i]);
            }
        });
    out
}

/// `Σ bce_scalar(x, p, t)`, in eight f32 lanes per chunk (so the loop vectorizes) and f64
/// across chunks.
fn bce_sum(x: &[f32], p: &[f32], t: &[f32]) -> f64 {
    assert!(x.len() == p.len() && p.len() == t.len(), "BCE lengths differ");
    x.par_chunks(CHUNK)
        .zip(p.par_chunks(CHUNK).zip(t.par_chunks(CHUNK)))
        .map(|(x, (p, t))| {
            let mut lanes = [0.0f32; 8];
            let (xs, ps, ts) = (x.chunks_exact(8), p.chunks_exact(8), t.chunks_exact(8));
            let tail: f32 = (xs.remainder().iter().zip(ps.remainder()).zip(ts.remainder()))
                .map(|((&x, &p), &t)| bce_scalar(x, p, t))
                .sum();
            for ((x, p), t) in xs.zip(ps).zip(ts) {
                for i in 0..8 {
                    lanes[i] += bce_scalar(x[i], p[i], t[i]);
                }
            }
            lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
        })
        .sum()
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
}

/// Whether [`sigmoid`] and [`bce_with_logits_sum`] take `x`: `f32` on `flex`, with or without
/// autodiff.
pub fn runs_on<const D: usize>(x: &Tensor<D>) -> bool {
    matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_)) && x.dtype() == DType::F32
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

fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape), DType::F32)
}

fn shape(t: &FlexTensor) -> Shape {
    t.layout().shape().clone()
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
}

/// Backward of the sigmoid; the state is its output `p`.
#[derive(Debug)]
struct SigmoidBackward;

impl Backward<Flex, 1> for SigmoidBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [Some(node)] = ops.parents else { return };
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let p = ops.state.to_contiguous();
        let dx = map3(dy.storage(), p.storage(), p.storage(), |g, p, _| g * p * (1.0 - p));
        grads.register::<Flex>(node.id, tensor(dx, shape(&p)));
    }
}

/// Backward of the summed BCE; the state is `(p, t)`.
#[derive(Debug)]
struct BceBackward;

impl Backward<Flex, 1> for BceBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [Some(node)] = ops.parents else { return };
        let g = grads.consume::<Flex>(&ops.node).to_contiguous().storage::<f32>()[0];
        let (p, t) = (ops.state.0.to_contiguous(), ops.state.1.to_contiguous());
        let dx = map3(p.storage(), t.storage(), t.storage(), |p, t, _| g * (p - t));
        grads.register::<Flex>(node.id, tensor(dx, shape(&p)));
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
}
