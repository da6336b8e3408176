//! Adadelta (Zeiler 2012) as Keras implements it, for reproducing notebooks trained with
//! `keras.optimizers.Adadelta`.

use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

/// Adadelta hyper-parameters; the defaults are Keras' (`rho = 0.95`, `epsilon = 1e-7`).
///
/// The learning rate is not part of the config: it is passed to every
/// [`ModuleOptimizer::step`]. Zeiler's method and old Keras (2.0 to 2.2) use `1.0`; Keras 3 and
/// `tf.keras` default to `0.001`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdadeltaConfig {
    /// Decay rate of the running averages `E[g^2]` and `E[dx^2]`. In `[0, 1)`.
    pub rho: f64,
    /// Added inside both square roots (`RMS[x] = sqrt(E[x^2] + epsilon)`); it also sets the size
    /// of the first steps, when `E[dx^2]` is still zero.
    pub epsilon: f64,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        Self {
            rho: 0.95,
            epsilon: 1e-7,
        }
    }
}

impl AdadeltaConfig {
    /// The bare per-parameter optimizer, for
    /// [`ModuleOptimizer::with_group`]; [`init`](Self::init) is the whole-module counterpart.
    pub fn build(&self) -> Adadelta {
        Adadelta { config: *self }
    }

    /// A [`ModuleOptimizer`] that applies Adadelta to every parameter of a module.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// The Adadelta optimizer, Keras' formulation.
///
/// For a parameter `theta` with gradient `g_t` (the state starts at `E[g^2]_0 = E[dx^2]_0 = 0`):
///
/// ```text
/// E[g^2]_t  = rho * E[g^2]_{t-1} + (1 - rho) * g_t^2
/// dx_t      = sqrt(E[dx^2]_{t-1} + epsilon) / sqrt(E[g^2]_t + epsilon) * g_t
/// E[dx^2]_t = rho * E[dx^2]_{t-1} + (1 - rho) * dx_t^2
/// theta_t   = theta_{t-1} - lr * dx_t
/// ```
///
/// This is Algorithm 1 of M. D. Zeiler, *ADADELTA: An Adaptive Learning Rate Method*, 2012
/// (arXiv:1212.5701), with Keras' learning-rate factor `lr` (`update_step` of
/// `keras/src/optimizers/adadelta.py`; note `E[dx^2]` accumulates the update before `lr`).
#[derive(Debug, Clone)]
pub struct Adadelta {
    config: AdadeltaConfig,
}

/// Adadelta state of one parameter.
#[derive(Clone)]
pub struct AdadeltaState<const D: usize> {
    /// Running average of the squared gradients, `E[g^2]_t`.
    pub accumulated_grad: Tensor<D>,
    /// Running average of the squared updates, `E[dx^2]_t`.
    pub accumulated_delta: Tensor<D>,
}

impl Optimizer for Adadelta {
    type State<const D: usize> = AdadeltaState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let AdadeltaConfig { rho, epsilon } = self.config;
        let grad_sq = grad.clone().square().mul_scalar(1.0 - rho);

        let (accumulated_grad, delta, previous_delta) = match state {
            Some(state) => {
                let accumulated_grad = state.accumulated_grad.mul_scalar(rho).add(grad_sq);
                let rms_delta = state.accumulated_delta.clone().add_scalar(epsilon).sqrt();
                let delta = rms_delta
                    .mul(grad)
                    .div(accumulated_grad.clone().add_scalar(epsilon).sqrt());
                (accumulated_grad, delta, Some(state.accumulated_delta))
            }
            None => {
                // E[dx^2]_0 = 0, so RMS[dx]_0 = sqrt(epsilon).
                let accumulated_grad = grad_sq;
                let delta = grad
                    .mul_scalar(epsilon.sqrt())
                    .div(accumulated_grad.clone().add_scalar(epsilon).sqrt());
                (accumulated_grad, delta, None)
            }
        };

        let delta_sq = delta.clone().square().mul_scalar(1.0 - rho);
        let accumulated_delta = match previous_delta {
            Some(previous) => previous.mul_scalar(rho).add(delta_sq),
            None => delta_sq,
        };

        let state = AdadeltaState {
            accumulated_grad,
            accumulated_delta,
        };
        (tensor - delta.mul_scalar(lr), Some(state))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.accumulated_grad = state.accumulated_grad.to_device(device);
        state.accumulated_delta = state.accumulated_delta.to_device(device);
        state
    }
}

// Written by hand: the `RecordState` derive names `crate::` paths that only exist inside
// burn-optim. The leaves are those the derive would produce for the same fields.
impl<const D: usize> RecordState for AdadeltaState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(
            prefix,
            "accumulated_grad",
            self.accumulated_grad.clone().into_data(),
        );
        out.push_tensor(
            prefix,
            "accumulated_delta",
            self.accumulated_delta.clone().into_data(),
        );
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let accumulated_grad =
            Tensor::from_data(src.take_tensor(prefix, "accumulated_grad")?, device);
        let accumulated_delta =
            Tensor::from_data(src.take_tensor(prefix, "accumulated_delta")?, device);
        Some(Self {
            accumulated_grad,
            accumulated_delta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{self, Reference};

    /// Keras' Adadelta update in plain `f64`, one scalar state per parameter element.
    struct AdadeltaReference {
        config: AdadeltaConfig,
        acc_grad: Vec<f64>,
        acc_delta: Vec<f64>,
    }

    impl AdadeltaReference {
        fn new(config: AdadeltaConfig) -> Self {
            Self {
                config,
                acc_grad: vec![0.0; testing::N_PARAMS],
                acc_delta: vec![0.0; testing::N_PARAMS],
            }
        }
    }

    impl Reference for AdadeltaReference {
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]) {
            let AdadeltaConfig { rho, epsilon } = self.config;
            let state = self.acc_grad.iter_mut().zip(self.acc_delta.iter_mut());
            for ((theta, &g), (acc_grad, acc_delta)) in params.iter_mut().zip(grads).zip(state) {
                *acc_grad = rho * *acc_grad + (1.0 - rho) * g * g;
                let delta = (*acc_delta + epsilon).sqrt() / (*acc_grad + epsilon).sqrt() * g;
                *acc_delta = rho * *acc_delta + (1.0 - rho) * delta * delta;
                *theta -= lr * delta;
            }
        }
    }

    #[test]
    fn defaults_are_keras() {
        let c = AdadeltaConfig::default();
        assert_eq!((c.rho, c.epsilon), (0.95, 1e-7));
    }

    #[test]
    fn three_steps_match_zeilers_rule() {
        let config = AdadeltaConfig::default();
        testing::assert_matches_reference(config.init(), AdadeltaReference::new(config), 1.0, 3);
    }

    #[test]
    fn non_default_hyper_parameters_match_the_rule() {
        let config = AdadeltaConfig {
            rho: 0.9,
            epsilon: 1e-4,
        };
        testing::assert_matches_reference(config.init(), AdadeltaReference::new(config), 0.5, 5);
    }

    #[test]
    fn state_survives_save_and_load() {
        testing::assert_state_round_trips(|| AdadeltaConfig::default().init(), 1.0, 3, 2);
    }

    #[test]
    fn reduces_a_quadratic_loss() {
        let curve = testing::loss_curve(AdadeltaConfig::default().init(), 1.0, 20);
        for pair in curve.windows(2) {
            assert!(pair[1] < pair[0], "loss went up: {curve:?}");
        }
        assert!(curve[20] < 0.97 * curve[0], "loss barely moved: {curve:?}");
    }
}
