//! Dense autoencoders: every fully connected encoder/decoder of the family (linear, single-layer,
//! deep, denoising, with dropout) from one config listing the layers.

use burn::nn::Linear;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{ModelConfigError, check_dense_layers, check_not_empty};
use crate::layers::{
    Activation, DenseBlock, DenseLayer, build_dense_stack, dense, flatten_images,
    forward_dense_stack, keras_linear, unflatten_images,
};
use crate::output::AutoencoderOutput;
use crate::shape::IMAGE_SHAPE;
use crate::summary::{Summary, SummaryBuilder};

/// A dense autoencoder. The encoder's last layer is the code; the decoder lists the hidden
/// decoder layers, and the final dense layer back to 784 pixels is implicit.
///
/// ```toml
/// [model]
/// kind = "dense_autoencoder"
/// encoder = [{ units = 128, activation = "relu" }, { units = 96, activation = "relu" }]  # last = latent
/// decoder = [{ units = 128, activation = "relu" }]   # hidden decoder layers
/// output_activation = "sigmoid"
/// ```
///
/// With `mirror = true` the decoder is the encoder reversed, without the latent layer
/// (`encoder = [{ units = 512, dropout = 0.2 }, { units = 32 }]` gives the decoder
/// `[{ units = 512, dropout = 0.2 }]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DenseAutoencoderConfig {
    /// Encoder layers, input side first; the last one is the latent code. Each layer:
    /// `units`, `activation` (default "relu"), `dropout` (default 0).
    pub encoder: Vec<DenseLayer>,
    /// Hidden decoder layers, latent side first. Default none: the code maps straight to the
    /// 784 outputs.
    #[serde(default)]
    pub decoder: Vec<DenseLayer>,
    /// Build the decoder as the mirror image of the encoder (then `decoder` must be empty).
    /// Default false.
    #[serde(default)]
    pub mirror: bool,
    /// Activation of the 784 outputs. Default "sigmoid".
    #[serde(default = "sigmoid")]
    pub output_activation: Activation,
}

fn sigmoid() -> Activation {
    Activation::Sigmoid
}

impl DenseAutoencoderConfig {
    /// An autoencoder with these encoder layers, no hidden decoder layers, no mirroring.
    pub fn new(encoder: Vec<DenseLayer>, output_activation: Activation) -> Self {
        Self {
            encoder,
            decoder: Vec::new(),
            mirror: false,
            output_activation,
        }
    }

    /// The hidden decoder layers actually built (mirrored or as listed).
    pub fn decoder_layers(&self) -> Vec<DenseLayer> {
        if self.mirror {
            let hidden = &self.encoder[..self.encoder.len().saturating_sub(1)];
            hidden.iter().rev().cloned().collect()
        } else {
            self.decoder.clone()
        }
    }

    /// Units of the code layer.
    pub fn latent_dim(&self) -> Option<usize> {
        self.encoder.last().map(|layer| layer.units)
    }

    /// Checks sizes, rates and the mirror option (any input shape fits a dense model).
    pub fn validate_for(&self, _input: [usize; 3]) -> Result<(), ModelConfigError> {
        check_not_empty("encoder", &self.encoder)?;
        check_dense_layers("encoder", &self.encoder)?;
        if self.mirror && !self.decoder.is_empty() {
            return Err(ModelConfigError::MirrorWithDecoder {
                layers: self.decoder.len(),
            });
        }
        check_dense_layers("decoder", &self.decoder)
    }

    /// Builds the model for `[channels, height, width]` images on `device`; the config must be
    /// valid.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> DenseAutoencoder {
        let pixels = input.iter().product();
        let (encoder, latent) = build_dense_stack(pixels, &self.encoder, device);
        let (decoder, d_out) = build_dense_stack(latent, &self.decoder_layers(), device);
        DenseAutoencoder {
            encoder,
            decoder,
            output: keras_linear(d_out, pixels, device),
            output_activation: self.output_activation,
            input,
        }
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> DenseAutoencoder {
        self.init_for(IMAGE_SHAPE, device)
    }
}

/// `x → encoder → code → decoder → dense 784 → output activation`.
#[derive(Module, Debug)]
pub struct DenseAutoencoder {
    /// Encoder blocks; the last produces the code.
    pub encoder: Vec<DenseBlock>,
    /// Hidden decoder blocks.
    pub decoder: Vec<DenseBlock>,
    /// Kernel `[last decoder width, 784]`.
    pub output: Linear,
    /// Activation of the 784 outputs.
    #[module(skip)]
    pub output_activation: Activation,
    /// `[channels, height, width]` of the images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl DenseAutoencoder {
    /// `[batch, 1, 28, 28]` → code `[batch, latent]`.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        forward_dense_stack(&self.encoder, flatten_images(images))
    }

    /// Code `[batch, latent]` → pre-activation output `[batch, 1, 28, 28]`.
    pub fn decode_linear(&self, latent: Tensor<2>) -> Tensor<4> {
        let x = forward_dense_stack(&self.decoder, latent); // [batch, last decoder width]
        unflatten_images(dense(&self.output, x), self.input) // [batch, 1, 28, 28]
    }

    /// Code `[batch, latent]` → reconstruction `[batch, 1, 28, 28]`.
    pub fn decode(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output_activation.apply(self.decode_linear(latent))
    }

    /// `[batch, 1, 28, 28]` → reconstruction, its logits (sigmoid output only) and the code.
    pub fn forward(&self, images: Tensor<4>) -> AutoencoderOutput {
        let latent = self.encode(images);
        let pre = self.decode_linear(latent.clone());
        AutoencoderOutput::new(pre, self.output_activation, latent)
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("dense_autoencoder", &[self.input.iter().product()]);
        for block in self.encoder.iter().chain(&self.decoder) {
            block.summarize(&mut summary);
        }
        summary.dense(&self.output);
        summary.finish()
    }
}
