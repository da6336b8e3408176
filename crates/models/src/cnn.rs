//! The convolutional classifier: a stack of convolutions, one max pooling, dropout, dense hidden
//! layers and 10 logits.

use burn::nn::pool::MaxPool2d;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{
    ModelConfigError, check_dropout, check_nonzero, check_not_empty, conv_output_shape,
    pool_output_shape,
};
use crate::layers::{
    Activation, ConvBlock, ConvLayer, DenseBlock, Padding, apply_dropout, apply_max_pool, dense,
    keras_linear, max_pool,
};
use crate::shape::{IMAGE_SHAPE, NUM_CLASSES};
use crate::summary::{Summary, SummaryBuilder};

/// A convolutional classifier. The defaults are the seed network
/// (281,674 parameters):
///
/// ```toml
/// [model]
/// kind = "cnn"
/// conv = [
///   { filters = 32, kernel_size = 3, padding = "valid" },   # 28 → 26
///   { filters = 64, kernel_size = 3, padding = "valid" },   # 26 → 24
/// ]
/// pool_size = 3          # one max pooling after the convolutions, stride = size: 24 → 8
/// dropout = 0.4          # after the pooling
/// dense = [64]           # hidden dense layers before the 10 logits
/// activation = "relu"    # of the hidden dense layers
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CnnConfig {
    /// The convolutions, input side first (each: `filters`, `kernel_size` = 3, `stride` = 1,
    /// `padding` = "same", `activation` = "relu"). At least one.
    pub conv: Vec<ConvLayer>,
    /// Side (and stride) of the max pooling after the last convolution; 1 = no pooling.
    pub pool_size: usize,
    /// Padding of the pooling window. Default `"valid"` (Keras' default).
    pub pool_padding: Padding,
    /// Dropout rate after the pooling, in `[0, 1)`; 0 = no dropout layer.
    pub dropout: f64,
    /// Units of the hidden dense layers after flattening.
    pub dense: Vec<usize>,
    /// Activation of the hidden dense layers.
    pub activation: Activation,
    /// Batch normalization between every hidden dense layer's affine map and its activation.
    /// Default false (each convolution has its own `batch_norm`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dense_batch_norm: bool,
}

impl Default for CnnConfig {
    fn default() -> Self {
        let valid = |filters| ConvLayer {
            padding: Padding::Valid,
            ..ConvLayer::new(filters)
        };
        Self {
            conv: vec![valid(32), valid(64)],
            pool_size: 3,
            pool_padding: Padding::Valid,
            dropout: 0.4,
            dense: vec![64],
            activation: Activation::Relu,
            dense_batch_norm: false,
        }
    }
}

impl CnnConfig {
    /// `[channels, height, width]` after the pooling, or the first layer that doesn't fit.
    fn feature_shape(&self, input: [usize; 3]) -> Result<[usize; 3], ModelConfigError> {
        check_not_empty("conv", &self.conv)?;
        let mut shape = input;
        for (i, layer) in self.conv.iter().enumerate() {
            shape = conv_output_shape(&format!("conv[{i}]"), shape, layer)?;
        }
        check_nonzero("pool_size", self.pool_size)?;
        if self.pool_size > 1 {
            shape = pool_output_shape("pool_size", shape, self.pool_size, self.pool_padding)?;
        }
        Ok(shape)
    }

    /// Checks sizes, rates and that every window fits `[channels, height, width]` images.
    pub fn validate_for(&self, input: [usize; 3]) -> Result<(), ModelConfigError> {
        self.feature_shape(input)?;
        check_dropout("dropout", self.dropout)?;
        for (i, &units) in self.dense.iter().enumerate() {
            check_nonzero(format!("dense[{i}]"), units)?;
        }
        Ok(())
    }

    /// Builds the model for `[channels, height, width]` images on `device`; the config must be
    /// valid for them.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> Cnn {
        let mut channels = input[0];
        let conv = self
            .conv
            .iter()
            .map(|layer| {
                let block = ConvBlock::new(channels, layer, device);
                channels = layer.filters;
                block
            })
            .collect();
        let [c, h, w] = self
            .feature_shape(input)
            .expect("CnnConfig::init needs a validated config");
        let mut d_in = c * h * w;
        let dense = self
            .dense
            .iter()
            .map(|&units| {
                let block = DenseBlock::new(d_in, units, self.activation, 0.0, device).with_batch_norm(self.dense_batch_norm, device);
                d_in = units;
                block
            })
            .collect();
        Cnn {
            conv,
            pool: (self.pool_size > 1).then(|| max_pool(self.pool_size, self.pool_padding)),
            pool_padding: self.pool_padding,
            dropout: (self.dropout > 0.0).then(|| DropoutConfig::new(self.dropout).init()),
            dense,
            output: keras_linear(d_in, NUM_CLASSES, device),
            input,
        }
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> Cnn {
        self.init_for(IMAGE_SHAPE, device)
    }
}

/// Convolutions → max pooling → dropout → flatten → dense layers → 10 logits.
#[derive(Module, Debug)]
pub struct Cnn {
    /// Convolutions with their activations.
    pub conv: Vec<ConvBlock>,
    /// The single max pooling, if `pool_size > 1`.
    pub pool: Option<MaxPool2d>,
    /// Padding of the pooling, for the summary.
    #[module(skip)]
    pub pool_padding: Padding,
    /// Dropout after the pooling.
    pub dropout: Option<Dropout>,
    /// Hidden dense layers.
    pub dense: Vec<DenseBlock>,
    /// Kernel `[last hidden, 10]`.
    pub output: Linear,
    /// `[channels, height, width]` of the input images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl Cnn {
    /// `[batch, 1, 28, 28]` → logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        // Seed shapes in the comments.
        let mut x = images;
        for block in &self.conv {
            x = block.forward(x); // [batch, 32, 26, 26], then [batch, 64, 24, 24]
        }
        if let Some(pool) = &self.pool {
            x = apply_max_pool(pool, x); // [batch, 64, 8, 8]
        }
        if let Some(dropout) = &self.dropout {
            x = apply_dropout(dropout, x);
        }
        let mut x = x.flatten(1, 3); // [batch, 4096]
        for block in &self.dense {
            x = block.forward(x); // [batch, 64]
        }
        dense(&self.output, x) // [batch, 10]
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("cnn", &self.input);
        for block in &self.conv {
            block.summarize(&mut summary);
        }
        if let Some(pool) = &self.pool {
            summary.max_pool(pool.kernel_size[0], self.pool_padding);
        }
        if self.dropout.is_some() {
            summary.dropout();
        }
        summary.flatten();
        for block in &self.dense {
            block.summarize(&mut summary);
        }
        summary.dense(&self.output);
        summary.finish()
    }
}
