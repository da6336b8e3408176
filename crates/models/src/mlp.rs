//! The multilayer perceptron classifier: dense hidden layers (with optional dropout) and a
//! dense output of 10 logits.

use burn::nn::Linear;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{ModelConfigError, check_dropout, check_nonzero};
use crate::layers::{
    Activation, DenseBlock, dense, flatten_images, forward_dense_stack, keras_linear,
};
use crate::shape::{IMAGE_SHAPE, NUM_CLASSES};
use crate::summary::{Summary, SummaryBuilder};

/// A dense classifier. Defaults give the 64-64 network:
///
/// ```toml
/// [model]
/// kind = "mlp"
/// hidden = [500, 300]     # units of each hidden layer
/// activation = "relu"
/// dropout = 0.0           # after every hidden layer; 0 = no dropout layers
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MlpConfig {
    /// Units of each hidden layer, input side first. Default `[64, 64]`; may be empty (that is
    /// softmax regression).
    pub hidden: Vec<usize>,
    /// Activation of every hidden layer. Default `"relu"`.
    pub activation: Activation,
    /// Dropout rate after every hidden layer, in `[0, 1)`. Default 0 (none).
    pub dropout: f64,
    /// Batch normalization between every hidden layer's affine map and its activation.
    /// Default false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub batch_norm: bool,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            hidden: vec![64, 64],
            activation: Activation::Relu,
            dropout: 0.0,
            batch_norm: false,
        }
    }
}

impl MlpConfig {
    /// Checks sizes and the dropout rate (any input shape fits a dense model).
    pub fn validate_for(&self, _input: [usize; 3]) -> Result<(), ModelConfigError> {
        for (i, &units) in self.hidden.iter().enumerate() {
            check_nonzero(format!("hidden[{i}]"), units)?;
        }
        check_dropout("dropout", self.dropout)
    }

    /// Builds the model for `[channels, height, width]` images (flattened) on `device`.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> Mlp {
        let mut d_in = input.iter().product();
        let hidden = self
            .hidden
            .iter()
            .map(|&units| {
                let block = DenseBlock::new(d_in, units, self.activation, self.dropout, device).with_batch_norm(self.batch_norm, device);
                d_in = units;
                block
            })
            .collect();
        Mlp {
            hidden,
            output: keras_linear(d_in, NUM_CLASSES, device),
            input,
        }
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> Mlp {
        self.init_for(IMAGE_SHAPE, device)
    }
}

/// Dense hidden layers then a dense layer to the 10 logits.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers, each dense + activation (+ dropout).
    pub hidden: Vec<DenseBlock>,
    /// Kernel `[last hidden, 10]`.
    pub output: Linear,
    /// `[channels, height, width]` of the input images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl Mlp {
    /// `[batch, 1, 28, 28]` → logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = flatten_images(images); // [batch, 784]
        let x = forward_dense_stack(&self.hidden, x); // [batch, last hidden]
        dense(&self.output, x) // [batch, 10]
    }

    /// The first dense kernel `[784, units]`.
    pub fn first_dense_weights(&self) -> Tensor<2> {
        match self.hidden.first() {
            Some(block) => block.linear.weight.val(),
            None => self.output.weight.val(),
        }
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("mlp", &[self.input.iter().product()]);
        for block in &self.hidden {
            block.summarize(&mut summary);
        }
        summary.dense(&self.output);
        summary.finish()
    }
}
