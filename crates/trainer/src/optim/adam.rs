//! Burn's Adam with its update fused into one in-place pass on `flex` ([`super::cpu`]); on other
//! devices, and for AMSGrad states, it is Burn's own `Adam`. Same formula, same state type, so
//! checkpoints written with either load into the other.

use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;

use super::cpu::{self, AdamCoefficients, MomentsRule};

/// Adam hyper-parameters (no weight decay, no AMSGrad: what the `adam` config section offers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedAdamConfig {
    /// Decay rate of the first-moment estimate. In `[0, 1)`.
    pub beta_1: f64,
    /// Decay rate of the second-moment estimate. In `[0, 1)`.
    pub beta_2: f64,
    /// Added to `sqrt(v_hat)` in the denominator.
    pub epsilon: f64,
}

impl FusedAdamConfig {
    /// The bare per-parameter optimizer.
    pub fn build(&self) -> FusedAdam {
        let burn = AdamConfig::new()
            .with_beta_1(self.beta_1 as f32)
            .with_beta_2(self.beta_2 as f32)
            .with_epsilon(self.epsilon as f32)
            .build();
        FusedAdam {
            config: *self,
            burn,
        }
    }

    /// A [`ModuleOptimizer`] that applies Adam to every parameter of a module.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// Adam as Burn computes it (Kingma and Ba; epsilon added to `sqrt(v_hat)`, as in PyTorch):
///
/// ```text
/// m_t     = beta_1 * m_{t-1} + (1 - beta_1) * g_t
/// v_t     = beta_2 * v_{t-1} + (1 - beta_2) * g_t^2
/// theta_t = theta_{t-1} - lr * (m_t / (1 - beta_1^t)) / (sqrt(v_t / (1 - beta_2^t)) + epsilon)
/// ```
#[derive(Clone)]
pub struct FusedAdam {
    config: FusedAdamConfig,
    /// Burn's Adam with the same hyper-parameters, for the tensors the fused pass does not take.
    burn: Adam,
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // AMSGrad states (from a checkpoint of Burn's Adam with `amsgrad`) and tensors off
        // `flex` take Burn's update.
        let fused = match &state {
            None => cpu::fuses(&tensor, &grad, &grad, &grad),
            Some(AdamState { momentum: s }) => {
                s.max_moment_2.is_none() && cpu::fuses(&tensor, &grad, &s.moment_1, &s.moment_2)
            }
        };
        if !fused {
            return self.burn.step(lr, tensor, grad, state);
        }
        // Moved out of the state, the moments have no other handle and are updated in place.
        let (time, m, v) = match state {
            Some(AdamState { momentum: s }) => (s.time + 1, s.moment_1, s.moment_2),
            // Both moments start at zero (Burn's first step gives the same values).
            None => (1, grad.zeros_like(), grad.zeros_like()),
        };
        let c = &self.config;
        let exponent = i32::try_from(time).unwrap_or(i32::MAX);
        let v_correction = (1.0 - c.beta_2.powi(exponent)).sqrt();
        let rule = MomentsRule::Adam(AdamCoefficients {
            beta_1: c.beta_1 as f32,
            beta_2: c.beta_2 as f32,
            moment_weight: (v_correction / (1.0 - c.beta_1.powi(exponent))) as f32,
            epsilon: (c.epsilon * v_correction) as f32,
            lr: lr as f32,
        });
        let (tensor, m, v) = cpu::moments_update(tensor, grad, m, v, rule);
        (
            tensor,
            Some(AdamState::new(AdaptiveMomentumState::new(time, m, v))),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{self, Reference};

    /// Adam in plain `f64` (the formula above), one scalar state per parameter element.
    struct AdamReference {
        config: FusedAdamConfig,
        t: i32,
        m: Vec<f64>,
        v: Vec<f64>,
    }

    impl Reference for AdamReference {
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]) {
            let FusedAdamConfig {
                beta_1,
                beta_2,
                epsilon,
            } = self.config;
            self.t += 1;
            for ((theta, &g), (m, v)) in params
                .iter_mut()
                .zip(grads)
                .zip(self.m.iter_mut().zip(&mut self.v))
            {
                *m = beta_1 * *m + (1.0 - beta_1) * g;
                *v = beta_2 * *v + (1.0 - beta_2) * g * g;
                let m_hat = *m / (1.0 - beta_1.powi(self.t));
                let v_hat = *v / (1.0 - beta_2.powi(self.t));
                *theta -= lr * m_hat / (v_hat.sqrt() + epsilon);
            }
        }
    }

    fn config() -> FusedAdamConfig {
        FusedAdamConfig {
            beta_1: 0.85,
            beta_2: 0.99,
            epsilon: 1e-3,
        }
    }

    #[test]
    fn five_steps_match_the_formula() {
        let reference = AdamReference {
            config: config(),
            t: 0,
            m: vec![0.0; testing::N_PARAMS],
            v: vec![0.0; testing::N_PARAMS],
        };
        testing::assert_matches_reference(config().init(), reference, 0.05, 5);
    }

    #[test]
    fn steps_like_burns_adam() {
        let c = config();
        let burn = AdamConfig::new()
            .with_beta_1(c.beta_1 as f32)
            .with_beta_2(c.beta_2 as f32)
            .with_epsilon(c.epsilon as f32)
            .init();
        let ours = testing::loss_curve(c.init(), 0.05, 10);
        let theirs = testing::loss_curve(burn, 0.05, 10);
        for (step, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs(),
                "step {step}: loss {a}, Burn's Adam {b}"
            );
        }
    }

    #[test]
    fn state_survives_save_and_load() {
        testing::assert_state_round_trips(|| config().init(), 0.05, 3, 2);
    }
}
