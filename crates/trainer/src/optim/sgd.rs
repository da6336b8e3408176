//! Burn's SGD with the plain update (no momentum, no weight decay: every seed config using SGD)
//! fused into one in-place pass on `flex` ([`super::cpu`]); Burn's two passes (`g · lr`, then
//! `w - ..`, one of them on a single thread) were a twentieth of the MLP 500-300's step. With
//! momentum or weight decay, and off `flex`, it is Burn's own `Sgd`. Same state type, so
//! checkpoints written with either load into the other.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, Sgd, SgdConfig, SgdState};
use burn::prelude::*;

use super::cpu;

/// SGD hyper-parameters, as the `sgd` config section offers them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedSgdConfig {
    /// Momentum factor; 0 disables momentum.
    pub momentum: f64,
    /// Nesterov momentum (needs `momentum > 0`).
    pub nesterov: bool,
    /// Weight decay added to the gradient (`g + weight_decay · w`); 0 disables it.
    pub weight_decay: f64,
}

impl FusedSgdConfig {
    /// The bare per-parameter optimizer.
    pub fn build(&self) -> FusedSgd {
        let burn = SgdConfig::new()
            .with_weight_decay(
                (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32)),
            )
            // Keras' momentum has no dampening; Burn's default of 0.1 would change the update.
            .with_momentum((self.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(self.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(self.nesterov)
            }))
            .build();
        FusedSgd {
            plain: self.momentum == 0.0 && self.weight_decay == 0.0,
            burn,
        }
    }

    /// A [`ModuleOptimizer`] that applies SGD to every parameter of a module.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// SGD as Burn computes it: `w - lr · g`, with Burn's momentum and weight decay when configured.
#[derive(Clone)]
pub struct FusedSgd {
    /// No momentum and no weight decay: the update the fused pass implements.
    plain: bool,
    /// Burn's SGD with the same hyper-parameters, for everything else.
    burn: Sgd,
}

impl Optimizer for FusedSgd {
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !self.plain || !cpu::fuses(&tensor, &grad, &grad, &grad) {
            return self.burn.step(lr, tensor, grad, state);
        }
        // Burn's plain SGD keeps an empty state too.
        let tensor = cpu::sgd_update(tensor, grad, lr as f32);
        (tensor, Some(SgdState::new(None)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Sgd as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing;

    fn config(momentum: f64, weight_decay: f64) -> FusedSgdConfig {
        FusedSgdConfig {
            momentum,
            nesterov: false,
            weight_decay,
        }
    }

    /// Plain SGD in `f64`.
    struct SgdReference;

    impl testing::Reference for SgdReference {
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]) {
            params.iter_mut().zip(grads).for_each(|(p, g)| *p -= lr * g);
        }
    }

    #[test]
    fn five_steps_match_the_formula() {
        testing::assert_matches_reference(config(0.0, 0.0).init(), SgdReference, 0.05, 5);
    }

    #[test]
    fn steps_exactly_like_burns_sgd_with_and_without_momentum() {
        for (momentum, weight_decay) in [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01)] {
            let burn = config(momentum, weight_decay).build().burn;
            let ours = testing::loss_curve(config(momentum, weight_decay).init(), 0.05, 10);
            let theirs = testing::loss_curve(ModuleOptimizer::from(burn), 0.05, 10);
            // The same f32 operations in the same order: equal, not merely close.
            assert_eq!(
                ours, theirs,
                "momentum {momentum}, weight decay {weight_decay}"
            );
        }
    }

    #[test]
    fn shared_parameters_are_copied_and_unshared_ones_updated_in_place() {
        let device = Device::flex();
        let w = Tensor::<1>::from_floats([1.0, -2.0, 0.5], &device);
        let g = Tensor::<1>::from_floats([0.5, 0.25, -1.0], &device);
        let kept = w.clone();
        let updated = cpu::sgd_update(w, g.clone(), 0.1);
        let values = |t: &Tensor<1>| t.clone().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(
            values(&kept),
            [1.0, -2.0, 0.5],
            "a shared parameter was overwritten"
        );
        assert_eq!(values(&updated), [0.95, -2.025, 0.6]);
        let in_place = cpu::sgd_update(kept, g, 0.1);
        assert_eq!(values(&in_place), values(&updated));
    }

    #[test]
    fn momentum_state_survives_save_and_load() {
        // Plain SGD has no state tensors; with momentum, Burn's state goes through our wrapper.
        testing::assert_state_round_trips(|| config(0.9, 0.0).init(), 0.05, 3, 1);
    }
}
