//! Nadam (Adam with Nesterov momentum, Dozat 2015) as Keras implements it, momentum schedule
//! included, for reproducing notebooks trained with `keras.optimizers.Nadam`.

use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

use super::cpu::{self, MomentsRule, NadamCoefficients};

/// Nadam hyper-parameters; the defaults are Keras' (`beta_1 = 0.9`, `beta_2 = 0.999`,
/// `epsilon = 1e-7`, momentum schedule decay `0.004`).
///
/// The learning rate is not part of the config: it is passed to every
/// [`ModuleOptimizer::step`] (Keras' default is `0.001`, old Keras used `0.002`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NadamConfig {
    /// Decay rate of the first-moment estimate `m`, and the momentum `beta_1` that the schedule
    /// `u_t` warms up to. In `[0, 1)`.
    pub beta_1: f64,
    /// Decay rate of the second-moment estimate `v`. In `[0, 1)`.
    pub beta_2: f64,
    /// Added to `sqrt(v_hat)` in the denominator (Keras' "epsilon hat", outside the square root).
    pub epsilon: f64,
    /// Scale of the step in the momentum schedule's exponent,
    /// `u_t = beta_1 * (1 - 0.5 * 0.96^(t * schedule_decay))`.
    ///
    /// `0.004` (the default) is the schedule of Keras 2 (`keras.optimizers.Nadam`, argument
    /// `schedule_decay`) and of `tf.keras` up to TF 2.10 (`tf.keras.optimizers.legacy.Nadam` after
    /// that). Keras 3 and the `tf.keras` optimizers of TF 2.11+ use `0.96^t`, that is
    /// `schedule_decay = 1.0` (see [`NadamConfig::keras3`]).
    pub schedule_decay: f64,
}

impl Default for NadamConfig {
    fn default() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            schedule_decay: 0.004,
        }
    }
}

impl NadamConfig {
    /// The defaults with the momentum schedule of Keras 3 (`schedule_decay = 1.0`).
    pub fn keras3() -> Self {
        Self {
            schedule_decay: 1.0,
            ..Self::default()
        }
    }

    /// The bare per-parameter optimizer, for
    /// [`ModuleOptimizer::with_group`]; [`init`](Self::init) is the whole-module counterpart.
    pub fn build(&self) -> Nadam {
        Nadam { config: *self }
    }

    /// A [`ModuleOptimizer`] that applies Nadam to every parameter of a module.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// The Nadam optimizer, Keras' formulation.
///
/// For a parameter `theta` with gradient `g_t` at step `t = 1, 2, ...` (the state starts at
/// `m_0 = v_0 = 0` and an empty product `prod_0 = 1`):
///
/// ```text
/// u_t         = beta_1 * (1 - 0.5 * 0.96^(t * schedule_decay))
/// u_{t+1}     = beta_1 * (1 - 0.5 * 0.96^((t + 1) * schedule_decay))
/// prod_t      = prod_{t-1} * u_t                      (= u_1 * u_2 * ... * u_t, kept in the state)
/// m_t         = beta_1 * m_{t-1} + (1 - beta_1) * g_t
/// v_t         = beta_2 * v_{t-1} + (1 - beta_2) * g_t^2
/// m_hat       = u_{t+1} * m_t / (1 - prod_t * u_{t+1}) + (1 - u_t) * g_t / (1 - prod_t)
/// v_hat       = v_t / (1 - beta_2^t)
/// theta_t     = theta_{t-1} - lr * m_hat / (sqrt(v_hat) + epsilon)
/// ```
///
/// This is `update_step` of `keras/src/optimizers/nadam.py` (Keras 3, where `schedule_decay = 1`)
/// and `_resource_apply_dense` of `tf.keras`' `optimizer_v2/nadam.py` (where the exponent is
/// `t * 0.004`); reference: T. Dozat, *Incorporating Nesterov Momentum into Adam*, 2015.
///
/// Keras counts steps and the product `prod_t` once per optimizer; here each parameter keeps its
/// own, which is the same as long as every parameter gets a gradient at every step.
#[derive(Debug, Clone)]
pub struct Nadam {
    config: NadamConfig,
}

/// Nadam state of one parameter.
#[derive(Clone)]
pub struct NadamState<const D: usize> {
    /// Steps taken so far (`t` of the last step).
    pub time: usize,
    /// The running product of the momentum schedule, `prod_t = u_1 * ... * u_t`.
    pub u_product: f64,
    /// First-moment estimate `m_t`.
    pub moment_1: Tensor<D>,
    /// Second-moment estimate `v_t`.
    pub moment_2: Tensor<D>,
}

impl Nadam {
    /// The momentum schedule `u_t = beta_1 * (1 - 0.5 * 0.96^(t * schedule_decay))`.
    fn momentum_schedule(&self, t: usize) -> f64 {
        let c = &self.config;
        c.beta_1 * (1.0 - 0.5 * 0.96_f64.powf(t as f64 * c.schedule_decay))
    }
}

impl Optimizer for Nadam {
    type State<const D: usize> = NadamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let c = &self.config;
        let (time, u_product, previous) = match state {
            Some(state) => (
                state.time + 1,
                state.u_product,
                Some((state.moment_1, state.moment_2)),
            ),
            None => (1, 1.0, None),
        };
        // Both moments start at zero.
        let (moment_1, moment_2) =
            previous.unwrap_or_else(|| (grad.zeros_like(), grad.zeros_like()));

        let u_t = self.momentum_schedule(time);
        let u_next = self.momentum_schedule(time + 1);
        let u_product = u_product * u_t;
        let u_product_next = u_product * u_next;
        let exponent = i32::try_from(time).unwrap_or(i32::MAX);
        let coefficients = NadamCoefficients {
            beta_1: c.beta_1 as f32,
            beta_2: c.beta_2 as f32,
            moment_weight: (u_next / (1.0 - u_product_next)) as f32,
            grad_weight: ((1.0 - u_t) / (1.0 - u_product)) as f32,
            v_correction: (1.0 - c.beta_2.powi(exponent)) as f32,
            epsilon: c.epsilon as f32,
            lr: lr as f32,
        };
        let state = |moment_1, moment_2| NadamState {
            time,
            u_product,
            moment_1,
            moment_2,
        };

        // One fused pass on `flex`; the same formula in tensor ops elsewhere.
        if cpu::fuses(&tensor, &grad, &moment_1, &moment_2) {
            let rule = MomentsRule::Nadam(coefficients);
            let (tensor, moment_1, moment_2) =
                cpu::moments_update(tensor, grad, moment_1, moment_2, rule);
            return (tensor, Some(state(moment_1, moment_2)));
        }
        let moment_1 = moment_1
            .mul_scalar(c.beta_1)
            .add(grad.clone().mul_scalar(1.0 - c.beta_1));
        let moment_2 = moment_2
            .mul_scalar(c.beta_2)
            .add(grad.clone().square().mul_scalar(1.0 - c.beta_2));
        let m_hat = moment_1
            .clone()
            .mul_scalar(coefficients.moment_weight)
            .add(grad.mul_scalar(coefficients.grad_weight));
        let denominator = moment_2
            .clone()
            .div_scalar(coefficients.v_correction)
            .sqrt()
            .add_scalar(c.epsilon);
        let update = m_hat.mul_scalar(lr).div(denominator);
        (tensor - update, Some(state(moment_1, moment_2)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.moment_1 = state.moment_1.to_device(device);
        state.moment_2 = state.moment_2.to_device(device);
        state
    }
}

// Written by hand: the `RecordState` derive names `crate::` paths that only exist inside
// burn-optim. The leaves are those the derive would produce for the same fields.
impl<const D: usize> RecordState for NadamState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "time", self.time.into());
        out.push_scalar(prefix, "u_product", self.u_product.into());
        out.push_tensor(prefix, "moment_1", self.moment_1.clone().into_data());
        out.push_tensor(prefix, "moment_2", self.moment_2.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let time = usize::try_from(src.take_scalar(prefix, "time")?).ok()?;
        let u_product = f64::try_from(src.take_scalar(prefix, "u_product")?).ok()?;
        let moment_1 = Tensor::from_data(src.take_tensor(prefix, "moment_1")?, device);
        let moment_2 = Tensor::from_data(src.take_tensor(prefix, "moment_2")?, device);
        Some(Self {
            time,
            u_product,
            moment_1,
            moment_2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{self, Reference};

    /// Keras' Nadam update in plain `f64`, one scalar state per parameter element.
    struct NadamReference {
        config: NadamConfig,
        t: usize,
        u_product: f64,
        m: Vec<f64>,
        v: Vec<f64>,
    }

    impl NadamReference {
        fn new(config: NadamConfig) -> Self {
            Self {
                config,
                t: 0,
                u_product: 1.0,
                m: vec![0.0; testing::N_PARAMS],
                v: vec![0.0; testing::N_PARAMS],
            }
        }
    }

    impl Reference for NadamReference {
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]) {
            let NadamConfig {
                beta_1,
                beta_2,
                epsilon,
                schedule_decay,
            } = self.config;
            self.t += 1;
            let t = self.t as f64;
            let u_t = beta_1 * (1.0 - 0.5 * 0.96_f64.powf(t * schedule_decay));
            let u_t1 = beta_1 * (1.0 - 0.5 * 0.96_f64.powf((t + 1.0) * schedule_decay));
            self.u_product *= u_t;
            let u_product_t1 = self.u_product * u_t1;
            let state = self.m.iter_mut().zip(self.v.iter_mut());
            for ((theta, &g), (m, v)) in params.iter_mut().zip(grads).zip(state) {
                *m += (g - *m) * (1.0 - beta_1);
                *v += (g * g - *v) * (1.0 - beta_2);
                let m_hat =
                    u_t1 * *m / (1.0 - u_product_t1) + (1.0 - u_t) * g / (1.0 - self.u_product);
                let v_hat = *v / (1.0 - beta_2.powf(t));
                *theta -= m_hat * lr / (v_hat.sqrt() + epsilon);
            }
        }
    }

    #[test]
    fn defaults_are_keras() {
        let c = NadamConfig::default();
        assert_eq!((c.beta_1, c.beta_2, c.epsilon), (0.9, 0.999, 1e-7));
        assert_eq!(c.schedule_decay, 0.004);
        assert_eq!(NadamConfig::keras3().schedule_decay, 1.0);
    }

    #[test]
    fn three_steps_match_the_keras_formula() {
        let config = NadamConfig::default();
        testing::assert_matches_reference(config.init(), NadamReference::new(config), 0.01, 3);
    }

    #[test]
    fn three_steps_match_the_keras3_schedule() {
        let config = NadamConfig::keras3();
        testing::assert_matches_reference(config.init(), NadamReference::new(config), 0.01, 3);
    }

    #[test]
    fn non_default_hyper_parameters_match_the_formula() {
        let config = NadamConfig {
            beta_1: 0.8,
            beta_2: 0.99,
            epsilon: 1e-3,
            schedule_decay: 0.5,
        };
        testing::assert_matches_reference(config.init(), NadamReference::new(config), 0.05, 5);
    }

    #[test]
    fn state_survives_save_and_load() {
        testing::assert_state_round_trips(|| NadamConfig::default().init(), 0.01, 3, 2);
    }

    #[test]
    fn reduces_a_quadratic_loss() {
        let curve = testing::loss_curve(NadamConfig::default().init(), 0.01, 20);
        for pair in curve.windows(2) {
            assert!(pair[1] < pair[0], "loss went up: {curve:?}");
        }
        assert!(curve[20] < 0.9 * curve[0], "loss barely moved: {curve:?}");
    }
}
