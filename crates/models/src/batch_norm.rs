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
