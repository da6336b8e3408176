//! Batch normalization after dense and convolution layers (`batch_norm = true` in a config):
//! Burn's `BatchNorm` with PyTorch's defaults (epsilon 1e-5, momentum 0.1), batch statistics in
//! training and the running statistics in evaluation, and its rows in the Keras-like summary.

use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;

use crate::summary::SummaryBuilder;

/// A batch normalization over `features` channels (dense units or convolution filters), as
/// PyTorch's `BatchNorm1d` / `BatchNorm2d` and Keras' `BatchNormalization(epsilon=1e-5,
/// momentum=0.9)` (Keras' momentum is the weight of the old running value).
pub fn batch_norm(features: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features).with_epsilon(1e-5).with_momentum(0.1).init(device)
}

/// `[batch, features]` or `[batch, channels, h, w]` normalized per feature or channel: with the
/// batch's statistics on an autodiff device (training), with the running statistics otherwise
/// (`model.valid()`, evaluation).
pub fn apply<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    bn.forward(x)
}

/// Number of features of `bn`.
pub fn features(bn: &BatchNorm) -> usize {
    bn.gamma.lazy_shape().dims::<1>()[0]
}

impl SummaryBuilder {
    /// A `BatchNormalization` row as Keras counts it: 4 parameters per feature (gamma, beta,
    /// moving mean, moving variance), of which the 2 moving statistics are not trainable.
    pub(crate) fn batch_norm(&mut self, bn: &BatchNorm) {
        let name = self.auto_name("batch_normalization");
        let shape = self.current_shape();
        self.push(name, "BatchNormalization", shape, 4 * features(bn));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlpConfig;

    #[test]
    fn the_summary_counts_batch_norm_as_keras_does() {
        let config = MlpConfig { hidden: vec![8, 6], batch_norm: true, ..MlpConfig::default() };
        let summary = config.init(&Device::flex()).summary();
        let rows: Vec<(&str, usize)> = summary.rows.iter().map(|r| (r.kind.as_str(), r.params)).collect();
        assert_eq!(rows, vec![("Dense", 784 * 8 + 8), ("BatchNormalization", 32), ("Dense", 8 * 6 + 6), ("BatchNormalization", 24), ("Dense", 6 * 10 + 10)]);
        // Keras: 2 of the 4 per feature (the moving statistics) are not trainable.
        assert_eq!(summary.non_trainable_params(), 16 + 12);
        let text = summary.to_string();
        assert!(text.contains(&format!("Total params: {}", crate::summary::group_thousands(summary.total_params()))), "{text}");
        assert!(text.ends_with(&format!("Non-trainable params: 28")), "{text}");
        // Without batch normalization the table ends at the total, as before.
        let plain = MlpConfig { hidden: vec![8], ..MlpConfig::default() }.init(&Device::flex()).summary();
        assert_eq!(plain.non_trainable_params(), 0);
        assert!(plain.to_string().lines().last().unwrap().starts_with("Total params: "));
    }

    #[test]
    fn training_uses_the_batch_and_evaluation_the_running_statistics() {
        let device = Device::flex();
        let bn = batch_norm(2, &device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 10.0, 3.0, 30.0], [2, 2]), &device);
        // Training (autodiff device): each feature normalized by the batch: (x - mean) / std.
        let train: Vec<f32> = apply(&bn, x.clone().autodiff()).inner().into_data().try_to_vec().unwrap();
        for (got, want) in train.iter().zip([-1.0f32, -1.0, 1.0, 1.0]) {
            assert!((got - want).abs() < 1e-3, "{train:?}");
        }
        // The running mean moved by momentum 0.1 towards the batch mean (2 and 20).
        let mean: Vec<f32> = bn.running_mean.value_sync().into_data().try_to_vec().unwrap();
        assert!((mean[0] - 0.2).abs() < 1e-5 && (mean[1] - 2.0).abs() < 1e-5, "{mean:?}");
        // Evaluation (no autodiff): (x - running mean) / sqrt(running var + eps), per sample.
        // (The update is kept per thread until synchronized; `model.valid()` does that before
        // every evaluation, reading the statistics here does it too.)
        let var: Vec<f32> = bn.running_var.value_sync().into_data().try_to_vec().unwrap();
        let eval: Vec<f32> = apply(&bn, x).into_data().try_to_vec().unwrap();
        let expected = [(1.0 - mean[0]) / (var[0] + 1e-5).sqrt(), (10.0 - mean[1]) / (var[1] + 1e-5).sqrt()];
        assert!((eval[0] - expected[0]).abs() < 1e-4 && (eval[1] - expected[1]).abs() < 1e-4, "{eval:?} vs {expected:?}");
    }
}
