//! Convolutional autoencoders with pooling: convolution + max-pooling stages down to a small
//! feature map, convolution + nearest upsampling stages (or strided transposed convolutions) back
//! up, a final one-channel convolution.

use burn::nn::pool::MaxPool2d;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{
    ModelConfigError, check_image_size, check_nonzero, check_not_empty, conv_output_shape,
    conv_transpose_output_shape, pool_output_shape,
};
use crate::layers::{
    Activation, ConvBlock, ConvLayer, ConvTransposeBlock, Padding, apply_max_pool, max_pool,
    upsample_nearest,
};
use crate::output::AutoencoderOutput;
use crate::shape::IMAGE_SHAPE;
use crate::summary::{Summary, SummaryBuilder};

/// A pooling convolutional autoencoder. Every encoder layer is a convolution followed by a
/// `pool_size` max pooling; every decoder layer a convolution followed by a `pool_size`
/// nearest upsampling; then an implicit convolution to one channel with `output_activation`.
/// The code is the encoder's last feature map, flattened.
///
/// ```toml
/// [model]
/// kind = "conv_autoencoder"
/// # 28 → 14 → 7 → 4 ('same' pooling pads 7 to 8 at the bottom/right): code 8×4×4 = 128
/// encoder = [{ filters = 16 }, { filters = 8 }, { filters = 8 }]
/// # 4 → 8 → 16 → (valid 3×3) 14 → 28
/// decoder = [{ filters = 8 }, { filters = 8 }, { filters = 16, padding = "valid" }]
/// pool_size = 2
/// pool_padding = "same"
/// output_kernel_size = 3
/// output_activation = "sigmoid"
/// ```
///
/// Convolution layers default to 3×3, stride 1, `same`, ReLU. With `upsampling = "transposed"`
/// each decoder layer is instead a `pool_size`-strided transposed convolution (Keras'
/// `Conv2DTranspose(filters, 3, strides=2, padding="same")`), which learns its upsampling:
///
/// ```toml
/// [model]
/// kind = "conv_autoencoder"
/// encoder = [{ filters = 32 }, { filters = 32 }]   # 28 → 14 → 7
/// decoder = [{ filters = 32 }, { filters = 32 }]   # transposed, stride 2: 7 → 14 → 28
/// upsampling = "transposed"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvAutoencoderConfig {
    /// Encoder convolutions, each followed by a max pooling. At least one.
    pub encoder: Vec<ConvLayer>,
    /// Decoder convolutions, each followed by an upsampling (with `upsampling = "transposed"`:
    /// transposed convolutions of stride `pool_size`).
    pub decoder: Vec<ConvLayer>,
    /// Side and stride of the max pooling, and factor of the upsampling. Default 2.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Padding of the max pooling. Default "same" (Keras pads the bottom/right, so 7 → 4).
    #[serde(default)]
    pub pool_padding: Padding,
    /// Kernel side of the final one-channel `same` convolution. Default 3.
    #[serde(default = "default_output_kernel_size")]
    pub output_kernel_size: usize,
    /// Activation of the final convolution. Default "sigmoid".
    #[serde(default = "sigmoid")]
    pub output_activation: Activation,
    /// How the decoder grows the feature map back: `"nearest"` (default: convolution, then
    /// nearest upsampling by `pool_size`) or `"transposed"` (a transposed convolution of stride
    /// `pool_size`; decoder layers then leave `stride` out).
    #[serde(default, skip_serializing_if = "Upsampling::is_nearest")]
    pub upsampling: Upsampling,
}

/// How a pooling autoencoder's decoder layers upsample, written `"nearest"` or `"transposed"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Upsampling {
    /// A `same` convolution followed by nearest-neighbour upsampling (Keras' `UpSampling2D`).
    #[default]
    Nearest,
    /// A transposed convolution whose stride is the upsampling factor (`Conv2DTranspose`).
    Transposed,
}

impl Upsampling {
    fn is_nearest(&self) -> bool {
        *self == Upsampling::Nearest
    }
}

fn default_pool_size() -> usize {
    2
}

fn default_output_kernel_size() -> usize {
    3
}

fn sigmoid() -> Activation {
    Activation::Sigmoid
}

impl ConvAutoencoderConfig {
    /// The final convolution (to the images' channels) as a layer spec.
    fn output_layer(&self, channels: usize) -> ConvLayer {
        ConvLayer {
            filters: channels,
            kernel_size: self.output_kernel_size,
            stride: 1,
            padding: Padding::Same,
            activation: self.output_activation,
            batch_norm: false,
            pool: 1,
        }
    }

    /// `[channels, height, width]` of the code, or the first layer that doesn't fit.
    fn code_shape(&self, input: [usize; 3]) -> Result<[usize; 3], ModelConfigError> {
        check_not_empty("encoder", &self.encoder)?;
        check_nonzero("pool_size", self.pool_size)?;
        let mut shape = input;
        for (i, layer) in self.encoder.iter().enumerate() {
            shape = conv_output_shape(&format!("encoder[{i}]"), shape, layer)?;
            shape = pool_output_shape("pool_size", shape, self.pool_size, self.pool_padding)?;
        }
        Ok(shape)
    }

    /// Flattened size of the code of `[channels, height, width]` images.
    pub fn latent_dim_for(&self, input: [usize; 3]) -> Option<usize> {
        self.code_shape(input).ok().map(|shape| shape.iter().product())
    }

    /// [`Self::latent_dim_for`] MNIST's `[1, 28, 28]` images.
    pub fn latent_dim(&self) -> Option<usize> {
        self.latent_dim_for(IMAGE_SHAPE)
    }

    /// A decoder layer as the transposed convolution it becomes with `upsampling =
    /// "transposed"`: the user's layer with the pooling factor as its stride.
    fn transposed_layer(&self, layer: &ConvLayer) -> ConvLayer {
        ConvLayer {
            stride: self.pool_size,
            ..layer.clone()
        }
    }

    /// Checks sizes and that the decoder ends at the images' height and width.
    pub fn validate_for(&self, input: [usize; 3]) -> Result<(), ModelConfigError> {
        let mut shape = self.code_shape(input)?;
        for (i, layer) in self.decoder.iter().enumerate() {
            let field = format!("decoder[{i}]");
            shape = match self.upsampling {
                Upsampling::Nearest => {
                    let [c, h, w] = conv_output_shape(&field, shape, layer)?;
                    [c, h * self.pool_size, w * self.pool_size]
                }
                Upsampling::Transposed => {
                    if layer.stride != 1 {
                        return Err(ModelConfigError::TransposedStride {
                            field: format!("{field}.stride"),
                            stride: layer.stride,
                            pool_size: self.pool_size,
                        });
                    }
                    conv_transpose_output_shape(&field, shape, &self.transposed_layer(layer))?
                }
            };
        }
        check_image_size("decoder", shape, input)?;
        check_nonzero("output_kernel_size", self.output_kernel_size)
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> ConvAutoencoder {
        self.init_for(IMAGE_SHAPE, device)
    }

    /// Builds the model for `[channels, height, width]` images on `device`; the config must be
    /// valid for them.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> ConvAutoencoder {
        let mut channels = input[0];
        let mut stack = |layers: &[ConvLayer]| -> Vec<ConvBlock> {
            layers
                .iter()
                .map(|layer| {
                    let block = ConvBlock::new(channels, layer, device);
                    channels = layer.filters;
                    block
                })
                .collect()
        };
        let encoder = stack(&self.encoder);
        let (decoder, decoder_transposed) = match self.upsampling {
            Upsampling::Nearest => (stack(&self.decoder), Vec::new()),
            Upsampling::Transposed => {
                let transposed = self
                    .decoder
                    .iter()
                    .map(|layer| {
                        let block =
                            ConvTransposeBlock::new(channels, &self.transposed_layer(layer), device);
                        channels = layer.filters;
                        block
                    })
                    .collect();
                (Vec::new(), transposed)
            }
        };
        let output = ConvBlock::new(channels, &self.output_layer(input[0]), device);
        ConvAutoencoder {
            encoder,
            pool: max_pool(self.pool_size, self.pool_padding),
            pool_padding: self.pool_padding,
            decoder,
            decoder_transposed,
            output,
            code_shape: self
                .code_shape(input)
                .expect("ConvAutoencoderConfig::init needs a validated config"),
            input,
        }
    }
}

/// `(conv → max pool)* → code → (conv → upsample | transposed conv)* → conv to 1 channel →
/// output activation`.
#[derive(Module, Debug)]
pub struct ConvAutoencoder {
    /// Encoder convolutions.
    pub encoder: Vec<ConvBlock>,
    /// The max pooling after each encoder convolution.
    pub pool: MaxPool2d,
    /// Padding of the pooling, for the summary.
    #[module(skip)]
    pub pool_padding: Padding,
    /// Decoder convolutions, each followed by an upsampling of the pooling factor (empty with
    /// `upsampling = "transposed"`).
    pub decoder: Vec<ConvBlock>,
    /// Decoder transposed convolutions of stride `pool_size` (empty with nearest upsampling).
    /// A field of its own, beside `decoder`, so that checkpoints of nearest-upsampling models
    /// keep their tensor names.
    pub decoder_transposed: Vec<ConvTransposeBlock>,
    /// The final one-channel convolution; its activation is the output activation.
    pub output: ConvBlock,
    /// `[channels, height, width]` of the code, to unflatten it in `decode`.
    pub code_shape: [usize; 3],
    /// `[channels, height, width]` of the images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl ConvAutoencoder {
    fn pool_size(&self) -> usize {
        self.pool.kernel_size[0]
    }

    /// `[batch, 1, 28, 28]` → flattened code `[batch, c·h·w]`.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        // Seed shapes: [b, 16, 14, 14] → [b, 8, 7, 7] → [b, 8, 4, 4].
        let x = self
            .encoder
            .iter()
            .fold(images, |x, block| apply_max_pool(&self.pool, block.forward(x)));
        x.flatten(1, 3) // [batch, 128]
    }

    /// Code `[batch, c·h·w]` → decoder features before the output convolution.
    fn decoder_features(&self, latent: Tensor<2>) -> Tensor<4> {
        let [batch, _] = latent.dims();
        let [c, h, w] = self.code_shape;
        let x = latent.reshape([batch, c, h, w]); // [batch, 8, 4, 4]
        // Seed shapes: [b, 8, 8, 8] → [b, 8, 16, 16] → [b, 16, 28, 28] (valid conv: 14, ×2).
        let x = self.decoder.iter().fold(x, |x, block| {
            upsample_nearest(block.forward(x), self.pool_size())
        });
        // Transposed: [b, 32, 7, 7] → [b, 32, 14, 14] → [b, 32, 28, 28].
        self.decoder_transposed
            .iter()
            .fold(x, |x, block| block.forward(x))
    }

    /// Code `[batch, c·h·w]` → pre-activation output `[batch, 1, 28, 28]`.
    pub fn decode_linear(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output.forward_linear(self.decoder_features(latent))
    }

    /// Code `[batch, c·h·w]` → reconstruction `[batch, 1, 28, 28]`.
    pub fn decode(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output.forward(self.decoder_features(latent))
    }

    /// `[batch, 1, 28, 28]` → reconstruction, logits (sigmoid output only), code.
    pub fn forward(&self, images: Tensor<4>) -> AutoencoderOutput {
        let latent = self.encode(images);
        let pre = self.decode_linear(latent.clone());
        AutoencoderOutput::new(pre, self.output.activation, latent)
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("conv_autoencoder", &self.input);
        for block in &self.encoder {
            block.summarize(&mut summary);
            summary.max_pool(self.pool_size(), self.pool_padding);
        }
        for block in &self.decoder {
            block.summarize(&mut summary);
            summary.upsample(self.pool_size());
        }
        for block in &self.decoder_transposed {
            block.summarize(&mut summary);
        }
        self.output.summarize(&mut summary);
        summary.finish()
    }
}
