//! The strided convolutional autoencoder: strided convolutions and a dense code, then a dense
//! layer back to a feature map and transposed convolutions. Its encoder and decoder halves are
//! shared with the convolutional VAE.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{
    ModelConfigError, check_image_size, check_nonzero, check_not_empty, conv_output_shape,
    conv_transpose_output_shape,
};
use crate::layers::{Activation, ConvBlock, ConvLayer, ConvTransposeBlock, DenseBlock, Padding};
use crate::output::AutoencoderOutput;
use crate::shape::IMAGE_SHAPE;
use crate::summary::{Summary, SummaryBuilder};

/// A strided convolutional autoencoder. The dense layer from the code back to the encoder's
/// last feature map and the final one-channel, stride-1 transposed convolution are implicit.
///
/// ```toml
/// [model]
/// kind = "strided_conv_autoencoder"
/// encoder = [{ filters = 32, stride = 2 }, { filters = 64, stride = 2 }]   # 28 → 14 → 7
/// latent_dim = 16
/// latent_activation = "linear"
/// dense_activation = "relu"          # Dense(16 → 64·7·7), reshaped to [64, 7, 7]
/// decoder = [{ filters = 64, stride = 2 }, { filters = 32, stride = 2 }]   # 7 → 14 → 28
/// output_kernel_size = 3
/// output_activation = "sigmoid"
/// ```
///
/// Layers default to 3×3, stride 1, `same`, ReLU; decoder layers are transposed convolutions
/// with Keras' output size (`same`: input × stride).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StridedConvAutoencoderConfig {
    /// Encoder convolutions, input side first. At least one.
    pub encoder: Vec<ConvLayer>,
    /// Units of the dense code layer after flattening.
    pub latent_dim: usize,
    /// Activation of the code layer. Default "linear".
    #[serde(default = "linear")]
    pub latent_activation: Activation,
    /// Activation of the dense layer from the code back to the feature map. Default "relu".
    #[serde(default)]
    pub dense_activation: Activation,
    /// Decoder transposed convolutions, starting from the encoder's last feature shape.
    pub decoder: Vec<ConvLayer>,
    /// Kernel side of the final one-channel, stride-1, `same` transposed convolution.
    /// Default 3.
    #[serde(default = "default_output_kernel_size")]
    pub output_kernel_size: usize,
    /// Activation of the output. Default "sigmoid".
    #[serde(default = "sigmoid")]
    pub output_activation: Activation,
}

fn linear() -> Activation {
    Activation::Linear
}

pub(crate) fn default_output_kernel_size() -> usize {
    3
}

pub(crate) fn sigmoid() -> Activation {
    Activation::Sigmoid
}

/// The encoder/decoder halves both strided models share, as config.
pub(crate) struct StridedHalves<'a> {
    pub encoder: &'a [ConvLayer],
    pub decoder: &'a [ConvLayer],
    pub dense_activation: Activation,
    pub output_kernel_size: usize,
    pub output_activation: Activation,
    /// `[channels, height, width]` of the images.
    pub input: [usize; 3],
}

impl StridedHalves<'_> {
    /// `[channels, height, width]` of the encoder's last feature map, after checking that
    /// every layer fits and the decoder ends at 28×28.
    pub(crate) fn feature_shape(&self) -> Result<[usize; 3], ModelConfigError> {
        check_not_empty("encoder", self.encoder)?;
        let mut shape = self.input;
        for (i, layer) in self.encoder.iter().enumerate() {
            shape = conv_output_shape(&format!("encoder[{i}]"), shape, layer)?;
        }
        let features = shape;
        for (i, layer) in self.decoder.iter().enumerate() {
            shape = conv_transpose_output_shape(&format!("decoder[{i}]"), shape, layer)?;
        }
        check_nonzero("output_kernel_size", self.output_kernel_size)?;
        let output = self.output_layer();
        shape = conv_transpose_output_shape("output_kernel_size", shape, &output)?;
        check_image_size("decoder", shape, self.input)?;
        Ok(features)
    }

    fn output_layer(&self) -> ConvLayer {
        ConvLayer {
            filters: self.input[0],
            kernel_size: self.output_kernel_size,
            stride: 1,
            padding: Padding::Same,
            activation: self.output_activation,
            batch_norm: false,
            pool: 1,
        }
    }

    pub(crate) fn init_encoder(&self, device: &Device) -> ConvEncoder {
        let mut channels = self.input[0];
        let conv = self
            .encoder
            .iter()
            .map(|layer| {
                let block = ConvBlock::new(channels, layer, device);
                channels = layer.filters;
                block
            })
            .collect();
        ConvEncoder { conv }
    }

    /// The decoder from a code of `latent_dim`; the config must be valid.
    pub(crate) fn init_decoder(&self, latent_dim: usize, device: &Device) -> TransposedDecoder {
        let feature_shape = self
            .feature_shape()
            .expect("strided model init needs a validated config");
        let features = feature_shape.iter().product();
        let mut channels = feature_shape[0];
        let conv = self
            .decoder
            .iter()
            .map(|layer| {
                let block = ConvTransposeBlock::new(channels, layer, device);
                channels = layer.filters;
                block
            })
            .collect();
        TransposedDecoder {
            dense: DenseBlock::new(latent_dim, features, self.dense_activation, 0.0, device),
            feature_shape,
            conv,
            output: ConvTransposeBlock::new(channels, &self.output_layer(), device),
        }
    }
}

/// A stack of convolutions whose last feature map is flattened.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    /// The convolutions with their activations.
    pub conv: Vec<ConvBlock>,
}

impl ConvEncoder {
    /// `[batch, 1, 28, 28]` → `[batch, c·h·w]` (seed: `[b, 32, 14, 14]`, `[b, 64, 7, 7]`,
    /// flattened to `[b, 3136]`).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.conv.iter().fold(images, |x, block| block.forward(x));
        x.flatten(1, 3)
    }

    /// Adds the convolution rows and the flatten row.
    pub(crate) fn summarize(&self, summary: &mut SummaryBuilder) {
        for block in &self.conv {
            block.summarize(summary);
        }
        summary.flatten();
    }
}

/// Dense code → feature map → transposed convolutions → one-channel image.
#[derive(Module, Debug)]
pub struct TransposedDecoder {
    /// `[latent, c·h·w]` kernel, then the dense activation.
    pub dense: DenseBlock,
    /// `[c, h, w]` the dense output is reshaped to (the encoder's last feature map).
    pub feature_shape: [usize; 3],
    /// Transposed convolutions.
    pub conv: Vec<ConvTransposeBlock>,
    /// One-channel, stride-1 transposed convolution; its activation is the output activation.
    pub output: ConvTransposeBlock,
}

impl TransposedDecoder {
    fn features(&self, latent: Tensor<2>) -> Tensor<4> {
        let x = self.dense.forward(latent); // [batch, 3136]
        let [batch, _] = x.dims();
        let [c, h, w] = self.feature_shape;
        let x = x.reshape([batch, c, h, w]); // [batch, 64, 7, 7]
        // Seed shapes: [b, 64, 14, 14] → [b, 32, 28, 28].
        self.conv.iter().fold(x, |x, block| block.forward(x))
    }

    /// Code `[batch, latent]` → pre-activation output `[batch, 1, 28, 28]`.
    pub fn forward_linear(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output.forward_linear(self.features(latent))
    }

    /// Code `[batch, latent]` → output `[batch, 1, 28, 28]`.
    pub fn forward(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output.forward(self.features(latent))
    }

    /// The output activation.
    pub fn output_activation(&self) -> Activation {
        self.output.activation
    }

    /// Adds the dense, reshape and transposed-convolution rows.
    pub(crate) fn summarize(&self, summary: &mut SummaryBuilder) {
        self.dense.summarize(summary);
        summary.reshape(&self.feature_shape);
        for block in &self.conv {
            block.summarize(summary);
        }
        self.output.summarize(summary);
    }
}

impl StridedConvAutoencoderConfig {
    fn halves(&self, input: [usize; 3]) -> StridedHalves<'_> {
        StridedHalves {
            input,
            encoder: &self.encoder,
            decoder: &self.decoder,
            dense_activation: self.dense_activation,
            output_kernel_size: self.output_kernel_size,
            output_activation: self.output_activation,
        }
    }

    /// Checks sizes, that every window fits and that the decoder ends at the images' size.
    pub fn validate_for(&self, input: [usize; 3]) -> Result<(), ModelConfigError> {
        self.halves(input).feature_shape()?;
        check_nonzero("latent_dim", self.latent_dim)
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> StridedConvAutoencoder {
        self.init_for(IMAGE_SHAPE, device)
    }

    /// Builds the model for `[channels, height, width]` images on `device`; the config must be
    /// valid for them.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> StridedConvAutoencoder {
        let halves = self.halves(input);
        let [c, h, w] = halves
            .feature_shape()
            .expect("StridedConvAutoencoderConfig::init needs a validated config");
        StridedConvAutoencoder {
            encoder: halves.init_encoder(device),
            latent: DenseBlock::new(
                c * h * w,
                self.latent_dim,
                self.latent_activation,
                0.0,
                device,
            ),
            decoder: halves.init_decoder(self.latent_dim, device),
            input,
        }
    }
}

/// `strided convs → flatten → dense code → dense → reshape → transposed convs → output`.
#[derive(Module, Debug)]
pub struct StridedConvAutoencoder {
    /// Strided convolutions and flatten.
    pub encoder: ConvEncoder,
    /// The dense code layer `[c·h·w, latent]`.
    pub latent: DenseBlock,
    /// Dense → reshape → transposed convolutions.
    pub decoder: TransposedDecoder,
    /// `[channels, height, width]` of the images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl StridedConvAutoencoder {
    /// `[batch, 1, 28, 28]` → code `[batch, latent]`.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        self.latent.forward(self.encoder.forward(images))
    }

    /// Code `[batch, latent]` → reconstruction `[batch, 1, 28, 28]`.
    pub fn decode(&self, latent: Tensor<2>) -> Tensor<4> {
        self.decoder.forward(latent)
    }

    /// `[batch, 1, 28, 28]` → reconstruction, logits (sigmoid output only), code.
    pub fn forward(&self, images: Tensor<4>) -> AutoencoderOutput {
        let latent = self.encode(images);
        let pre = self.decoder.forward_linear(latent.clone());
        AutoencoderOutput::new(pre, self.decoder.output_activation(), latent)
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("strided_conv_autoencoder", &self.input);
        self.encoder.summarize(&mut summary);
        self.latent.summarize(&mut summary);
        self.decoder.summarize(&mut summary);
        summary.finish()
    }
}
