//! Softmax regression: one dense layer from the 784 pixels to the 10 class logits, the simplest
//! classifier of the family.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::layers::{dense, flatten_images, keras_linear};
use crate::shape::{IMAGE_SHAPE, NUM_CLASSES};
use crate::summary::{Summary, SummaryBuilder};

/// Softmax regression has no hyper-parameters: input and output sizes are fixed by MNIST.
///
/// ```toml
/// [model]
/// kind = "softmax_regression"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftmaxRegressionConfig {}

impl SoftmaxRegressionConfig {
    /// Builds the model for `[channels, height, width]` images on `device`.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> SoftmaxRegression {
        let pixels = input.iter().product();
        SoftmaxRegression {
            dense: keras_linear(pixels, NUM_CLASSES, device),
            input,
        }
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> SoftmaxRegression {
        self.init_for(IMAGE_SHAPE, device)
    }

}

/// `logits = x W + b`, with the softmax folded into the cross-entropy loss.
#[derive(Module, Debug)]
pub struct SoftmaxRegression {
    /// Kernel `[784, 10]` (`[C·H·W, 10]`).
    pub dense: burn::nn::Linear,
    /// `[channels, height, width]` of the input images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl SoftmaxRegression {
    /// `[batch, 1, 28, 28]` → logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        dense(&self.dense, flatten_images(images))
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary =
            SummaryBuilder::new("softmax_regression", &[self.input.iter().product()]);
        summary.dense(&self.dense);
        summary.finish()
    }
}
