//! Builds the optimizer a config names (`training.optimizer`, `mnist_config::OptimizerConfig`).

use burn::optim::{AdaGradConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig};
use mnist_config::OptimizerConfig;

use crate::optim::{AdadeltaConfig, FusedAdamConfig, FusedSgdConfig, NadamConfig};

/// Builds the Burn optimizer a config names (`training.optimizer`): ours where Burn lacks it or
/// where ours is faster on `flex`, Burn's otherwise.
pub fn build(config: &OptimizerConfig) -> ModuleOptimizer {
    match *config {
        OptimizerConfig::Sgd { momentum, nesterov, weight_decay } => {
            FusedSgdConfig { momentum, nesterov, weight_decay }.init()
        }
        OptimizerConfig::Adam { beta_1, beta_2, epsilon } => FusedAdamConfig { beta_1, beta_2, epsilon }.init(),
        OptimizerConfig::Adamw { beta_1, beta_2, epsilon, weight_decay } => AdamWConfig::new()
            .with_beta_1(beta_1 as f32)
            .with_beta_2(beta_2 as f32)
            .with_epsilon(epsilon as f32)
            .with_weight_decay(weight_decay as f32)
            .init(),
        OptimizerConfig::Rmsprop { rho, momentum, epsilon, centered } => RmsPropConfig::new()
            .with_alpha(rho as f32)
            .with_momentum(momentum as f32)
            .with_epsilon(epsilon as f32)
            .with_centered(centered)
            .init(),
        OptimizerConfig::Adagrad { epsilon } => AdaGradConfig::new().with_epsilon(epsilon as f32).init(),
        OptimizerConfig::Nadam { beta_1, beta_2, epsilon } => {
            NadamConfig { beta_1, beta_2, epsilon, ..Default::default() }.init()
        }
        OptimizerConfig::Adadelta { rho, epsilon } => {
            AdadeltaConfig { rho, epsilon }.init()
        }
    }
}
