//! Adam's, Nadam's and plain SGD's updates on the `flex` CPU backend as one fused pass over the
//! parameter, its gradient and the moments, in place (a Burn backend extension). Written with Burn tensor
//! ops, one update is ten to fifteen element-wise passes, each allocating its result: a quarter
//! of the dense VAE's step, and a large share of the dropout autoencoder's (1.1 million
//! parameters). Other devices keep the tensor ops.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use crate::shared::vectorized;
use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 16 * 1024;

/// The per-step scalars of one Nadam update (see `mnist_trainer::optim::Nadam`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NadamCoefficients {
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Weight of the new first moment in the Nesterov estimate: `u_{t+1} / (1 - Π u_{..t+1})`.
    pub moment_weight: f32,
    /// Weight of the gradient in it: `(1 - u_t) / (1 - Π u_{..t})`.
    pub grad_weight: f32,
    /// Bias correction of the second moment, `1 - beta_2^t`.
    pub v_correction: f32,
    /// Added to the denominator.
    pub epsilon: f32,
    /// Learning rate.
    pub lr: f32,
}

/// The per-step scalars of one Adam update as Burn writes it (see `mnist_trainer::optim::FusedAdam`):
/// `w -= lr · m · moment_weight / (√v + epsilon)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoefficients {
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Both bias corrections, `√(1 - beta_2^t) / (1 - beta_1^t)`.
    pub moment_weight: f32,
    /// Added to `√v`: the configured epsilon times `√(1 - beta_2^t)`.
    pub epsilon: f32,
    /// Learning rate.
    pub lr: f32,
}

/// Which update [`moments_update`] applies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MomentsRule {
    /// Adam, Burn's formulation.
    Adam(AdamCoefficients),
    /// Nadam, Keras' formulation.
    Nadam(NadamCoefficients),
}

/// The fused optimizer updates this crate implements for `flex`.
#[backend_extension(Flex)]
pub trait CpuOptimBackend: Backend {
    /// `(w', m', v')` of one step of `rule` from the parameter `w`, its gradient `g` and the
    /// moments `m`, `v` (all one shape).
    fn moments_update(
        w: FloatTensor<Self>,
        g: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        rule: MomentsRule,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `w - lr · g`, the plain SGD step (`w` and `g` of one shape).
    fn sgd_update(w: FloatTensor<Self>, g: FloatTensor<Self>, lr: f32) -> FloatTensor<Self>;
}

/// Whether [`moments_update`] takes these tensors: `f32` on `flex`, one shape.
pub fn fuses<const D: usize>(w: &Tensor<D>, g: &Tensor<D>, m: &Tensor<D>, v: &Tensor<D>) -> bool {
    let on_flex = matches!(w.device().as_dispatch(), DispatchDevice::Flex(_));
    let same = [g.dims(), m.dims(), v.dims()]
        .iter()
        .all(|d| *d == w.dims());
    on_flex && w.dtype() == DType::F32 && same
}

/// One fused step of `rule`, `(w', m', v')`, for tensors that [`fuses`] accepts (not tracked).
/// Tensors held nowhere else are updated in place.
pub fn moments_update<const D: usize>(
    w: Tensor<D>,
    g: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    rule: MomentsRule,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    assert!(
        fuses(&w, &g, &m, &v),
        "the fused update needs f32 tensors of one shape on flex"
    );
    let (w, m, v) = <Dispatch as CpuOptimBackend>::moments_update(
        w.into_dispatch(),
        g.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        rule,
    );
    (
        Tensor::from_dispatch(w),
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
    )
}

/// One plain SGD step, `w - lr · g`, for tensors that [`fuses`] accepts (`fuses(&w, &g, &g,
/// &g)`; not tracked). A parameter held nowhere else is updated in place. Same rounding as Burn's
/// `Sgd` (`g · lr`, then subtracted).
pub fn sgd_update<const D: usize>(w: Tensor<D>, g: Tensor<D>, lr: f32) -> Tensor<D> {
    assert!(
        fuses(&w, &g, &g, &g),
        "the fused update needs f32 tensors of one shape on flex"
    );
    Tensor::from_dispatch(<Dispatch as CpuOptimBackend>::sgd_update(
        w.into_dispatch(),
        g.into_dispatch(),
        lr,
    ))
}

/// `t` with a contiguous buffer of exactly its elements, dropping the caller's handle so that a
/// buffer nobody else holds stays unshared (and is then updated in place).
fn contiguous(t: FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

impl MomentsRule {
    /// One element's update: the new moments in place, and the decrement of the parameter.
    #[inline(always)]
    fn step(self, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        match self {
            MomentsRule::Adam(c) => {
                *m = c.beta_1 * *m + (1.0 - c.beta_1) * g;
                *v = c.beta_2 * *v + (1.0 - c.beta_2) * g * g;
                c.lr * (*m * c.moment_weight / (v.sqrt() + c.epsilon))
            }
            MomentsRule::Nadam(c) => {
                *m = c.beta_1 * *m + (1.0 - c.beta_1) * g;
                *v = c.beta_2 * *v + (1.0 - c.beta_2) * g * g;
                let m_hat = c.moment_weight * *m + c.grad_weight * g;
                c.lr * m_hat / ((*v / c.v_correction).sqrt() + c.epsilon)
            }
        }
    }

    /// [`Self::step`] over one chunk. Monomorphic in the rule (the `match` is outside the loop)
    /// and with the coefficients in a by-value copy, so the compiler sees that the stores cannot
    /// change them and vectorizes the loop.
    #[inline(always)]
    fn apply(self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let run = |rule: MomentsRule| {
            for (((w, m), v), &g) in w.iter_mut().zip(m).zip(v).zip(g) {
                *w -= rule.step(g, m, v);
            }
        };
        match self {
            MomentsRule::Adam(c) => run(MomentsRule::Adam(c)),
            MomentsRule::Nadam(c) => run(MomentsRule::Nadam(c)),
        }
    }
}

impl CpuOptimBackend for Flex {
    /// In place: the parameter and both moments are normally held by the optimizer alone, so
    /// `storage_mut` neither allocates nor copies (it copies once if one of them is shared).
    fn moments_update(
        w: FlexTensor,
        g: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        rule: MomentsRule,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (mut w, g, mut m, mut v) = (contiguous(w), contiguous(g), contiguous(m), contiguous(v));
        let (ws, ms, vs) = (
            w.storage_mut::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
        );
        let g = g.storage::<f32>();
        assert!(
            [ws.len(), ms.len(), vs.len()].iter().all(|&n| n == g.len()),
            "the parameter, its gradient and its moments differ in length"
        );
        let updated = ws.par_chunks_mut(CHUNK).zip(ms.par_chunks_mut(CHUNK));
        (updated.zip(vs.par_chunks_mut(CHUNK)))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((w, m), v), g)| {
                vectorized(
                    #[inline(always)]
                    move || rule.apply(w, m, v, g),
                )
            });
        (w, m, v)
    }

    fn sgd_update(w: FlexTensor, g: FlexTensor, lr: f32) -> FlexTensor {
        let (mut w, g) = (contiguous(w), contiguous(g));
        let ws = w.storage_mut::<f32>();
        let g = g.storage::<f32>();
        assert_eq!(
            ws.len(),
            g.len(),
            "the parameter and its gradient differ in length"
        );
        (ws.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK))).for_each(|(w, g)| {
            vectorized(
                #[inline(always)]
                move || {
                    for (w, &g) in w.iter_mut().zip(g) {
                        *w -= g * lr;
                    }
                },
            )
        });
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn host(t: &Tensor<1>) -> Vec<f32> {
        t.clone().into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn fused_nadam_matches_the_formula_in_f64_over_several_chunks() {
        let device = Device::flex();
        let n = 3 * CHUNK + 5;
        let random = |s: f64| Tensor::<1>::random([n], Distribution::Normal(0.0, s), &device);
        let (w, g, m) = (random(1.0), random(0.1), random(0.05));
        let v = random(0.01).abs();
        let c = NadamCoefficients {
            beta_1: 0.9,
            beta_2: 0.999,
            moment_weight: 4.2,
            grad_weight: 0.7,
            v_correction: 0.003,
            epsilon: 1e-7,
            lr: 0.002,
        };
        assert!(fuses(&w, &g, &m, &v), "flex takes the fused pass");
        let before = [host(&w), host(&g), host(&m), host(&v)];
        // Shared tensors are copied, not overwritten; unshared ones are updated in place. Both
        // give the same values.
        let rule = MomentsRule::Nadam(c);
        let shared = moments_update(w.clone(), g.clone(), m.clone(), v.clone(), rule);
        let untouched = [host(&w), host(&g), host(&m), host(&v)];
        assert!(
            untouched == before,
            "the update overwrote a tensor it shares"
        );
        let (w2, m2, v2) = moments_update(w, g, m, v, rule);
        let (w2, m2, v2) = (host(&w2), host(&m2), host(&v2));
        assert!(
            [host(&shared.0), host(&shared.1), host(&shared.2)]
                == [w2.clone(), m2.clone(), v2.clone()]
        );
        let [w, g, m, v] = before;
        let f = |x: f32| x as f64;
        for i in 0..n {
            let m_new = f(c.beta_1) * f(m[i]) + (1.0 - f(c.beta_1)) * f(g[i]);
            let v_new = f(c.beta_2) * f(v[i]) + (1.0 - f(c.beta_2)) * f(g[i]).powi(2);
            let m_hat = f(c.moment_weight) * m_new + f(c.grad_weight) * f(g[i]);
            let w_new =
                f(w[i]) - f(c.lr) * m_hat / ((v_new / f(c.v_correction)).sqrt() + f(c.epsilon));
            // f32 rounding, relative to the size of the terms (sums may cancel).
            let update = f(w[i]) - w_new;
            assert!(
                (f(m2[i]) - m_new).abs() <= 1e-6 * (f(m[i]).abs() + f(g[i]).abs()),
                "m at {i}"
            );
            assert!(
                (f(v2[i]) - v_new).abs() <= 1e-6 * (f(v[i]) + f(g[i]).powi(2)),
                "v at {i}"
            );
            assert!(
                (f(w2[i]) - w_new).abs() <= 1e-6 * (f(w[i]).abs() + update.abs()),
                "w at {i}"
            );
        }
    }
}
