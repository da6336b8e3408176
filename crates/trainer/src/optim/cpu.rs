//! Nadam's update on the `flex` CPU backend as one fused pass over the parameter, its gradient
//! and both moments (a Burn backend extension). Written with Burn tensor ops, one update is about
//! fifteen separate element-wise passes, each allocating its result; the dropout autoencoder's
//! 1.1 million parameters made that a large share of its step. Other devices keep the tensor ops.

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 16 * 1024;

/// The per-step scalars of one Nadam update (see [`super::Nadam`]).
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

/// The fused optimizer updates this crate implements for `flex`.
#[backend_extension(Flex)]
pub trait CpuOptimBackend: Backend {
    /// `(w', m', v')` of one Nadam step from the parameter `w`, its gradient `g` and the moments
    /// `m`, `v` (all one shape).
    fn nadam_update(
        w: FloatTensor<Self>,
        g: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        c: NadamCoefficients,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// One fused Nadam step on `flex` (`f32`, not tracked), or `None` elsewhere.
pub fn nadam_update<const D: usize>(
    w: &Tensor<D>,
    g: &Tensor<D>,
    m: &Tensor<D>,
    v: &Tensor<D>,
    c: NadamCoefficients,
) -> Option<(Tensor<D>, Tensor<D>, Tensor<D>)> {
    let on_flex = matches!(w.device().as_dispatch(), DispatchDevice::Flex(_));
    let same = [g.dims(), m.dims(), v.dims()].iter().all(|d| *d == w.dims());
    if !on_flex || w.dtype() != DType::F32 || !same {
        return None;
    }
    let (w, m, v) = <Dispatch as CpuOptimBackend>::nadam_update(
        w.clone().into_dispatch(),
        g.clone().into_dispatch(),
        m.clone().into_dispatch(),
        v.clone().into_dispatch(),
        c,
    );
    Some((
        Tensor::from_dispatch(w),
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
    ))
}

impl CpuOptimBackend for Flex {
    fn nadam_update(
        w: FlexTensor,
        g: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        c: NadamCoefficients,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = w.layout().shape().clone();
        let (w, g, m, v) = (w.to_contiguous(), g.to_contiguous(), m.to_contiguous(), v.to_contiguous());
        let n = shape.num_elements();
        let (mut w2, mut m2, mut v2) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let inputs = w.storage::<f32>().par_chunks(CHUNK).zip(g.storage::<f32>().par_chunks(CHUNK));
        let moments = m.storage::<f32>().par_chunks(CHUNK).zip(v.storage::<f32>().par_chunks(CHUNK));
        let outputs = w2.par_chunks_mut(CHUNK).zip(m2.par_chunks_mut(CHUNK)).zip(v2.par_chunks_mut(CHUNK));
        inputs.zip(moments).zip(outputs).for_each(|(((w, g), (m, v)), ((w2, m2), v2))| {
            for i in 0..w.len() {
                let m_new = c.beta_1 * m[i] + (1.0 - c.beta_1) * g[i];
                let v_new = c.beta_2 * v[i] + (1.0 - c.beta_2) * g[i] * g[i];
                let m_hat = c.moment_weight * m_new + c.grad_weight * g[i];
                let denominator = (v_new / c.v_correction).sqrt() + c.epsilon;
                w2[i] = w[i] - c.lr * m_hat / denominator;
                m2[i] = m_new;
                v2[i] = v_new;
            }
        });
        let tensor = |values: Vec<f32>| {
            FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape.clone()), DType::F32)
        };
        (tensor(w2), tensor(m2), tensor(v2))
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
        let (w2, m2, v2) = nadam_update(&w, &g, &m, &v, c).expect("flex takes the fused pass");
        let (w, g, m, v) = (host(&w), host(&g), host(&m), host(&v));
        let (w2, m2, v2) = (host(&w2), host(&m2), host(&v2));
        let f = |x: f32| x as f64;
        for i in 0..n {
            let m_new = f(c.beta_1) * f(m[i]) + (1.0 - f(c.beta_1)) * f(g[i]);
            let v_new = f(c.beta_2) * f(v[i]) + (1.0 - f(c.beta_2)) * f(g[i]).powi(2);
            let m_hat = f(c.moment_weight) * m_new + f(c.grad_weight) * f(g[i]);
            let w_new = f(w[i]) - f(c.lr) * m_hat / ((v_new / f(c.v_correction)).sqrt() + f(c.epsilon));
            // f32 rounding, relative to the size of the terms (sums may cancel).
            let update = f(w[i]) - w_new;
            assert!((f(m2[i]) - m_new).abs() <= 1e-6 * (f(m[i]).abs() + f(g[i]).abs()), "m at {i}");
            assert!((f(v2[i]) - v_new).abs() <= 1e-6 * (f(v[i]) + f(g[i]).powi(2)), "v at {i}");
            assert!((f(w2[i]) - w_new).abs() <= 1e-6 * (f(w[i]).abs() + update.abs()), "w at {i}");
        }
    }
}
