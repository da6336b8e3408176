//! The convolutional VAE in the style of the keras.io example: strided convolutions and a dense
//! layer give the mean and log-variance, `z` is sampled, a dense layer and transposed
//! convolutions decode it.

use burn::nn::Linear;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::{ModelConfigError, check_dense_layers, check_nonzero};
use crate::layers::{
    Activation, ConvLayer, DenseBlock, DenseLayer, build_dense_stack, dense, keras_linear,
};
use crate::output::AutoencoderOutput;
use crate::shape::IMAGE_SHAPE;
use crate::strided_conv_ae::{
    ConvEncoder, StridedHalves, TransposedDecoder, default_output_kernel_size, sigmoid,
};
use crate::summary::{Summary, SummaryBuilder};
use crate::vae::reparameterize;

/// A convolutional VAE. The defaults are the keras.io model with a 2-D code:
///
/// ```toml
/// [model]
/// kind = "conv_vae"
/// encoder = [{ filters = 32, stride = 2 }, { filters = 64, stride = 2 }]   # 28 → 14 → 7
/// hidden = [{ units = 16, activation = "relu" }]     # dense layers before the two heads
/// latent_dim = 2
/// dense_activation = "relu"                          # Dense(z → 64·7·7), reshaped to [64, 7, 7]
/// decoder = [{ filters = 64, stride = 2 }, { filters = 32, stride = 2 }]   # 7 → 14 → 28
/// output_kernel_size = 3
/// output_activation = "sigmoid"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConvVaeConfig {
    /// Encoder convolutions, input side first (3×3, stride 1, `same`, ReLU unless given).
    pub encoder: Vec<ConvLayer>,
    /// Dense layers between the flattened features and the two heads.
    pub hidden: Vec<DenseLayer>,
    /// Size of the Gaussian code: units of the (linear) mean and log-variance heads.
    pub latent_dim: usize,
    /// Activation of the dense layer from `z` back to the feature map.
    pub dense_activation: Activation,
    /// Decoder transposed convolutions, starting from the encoder's last feature shape.
    pub decoder: Vec<ConvLayer>,
    /// Kernel side of the final one-channel, stride-1, `same` transposed convolution.
    pub output_kernel_size: usize,
    /// Activation of the output.
    pub output_activation: Activation,
}

impl Default for ConvVaeConfig {
    fn default() -> Self {
        let strided = |filters| ConvLayer {
            stride: 2,
            ..ConvLayer::new(filters)
        };
        Self {
            encoder: vec![strided(32), strided(64)],
            hidden: vec![DenseLayer::new(16, Activation::Relu)],
            latent_dim: 2,
            dense_activation: Activation::Relu,
            decoder: vec![strided(64), strided(32)],
            output_kernel_size: default_output_kernel_size(),
            output_activation: sigmoid(),
        }
    }
}

impl ConvVaeConfig {
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
        check_dense_layers("hidden", &self.hidden)?;
        check_nonzero("latent_dim", self.latent_dim)
    }

    /// [`Self::validate_for`] on MNIST's `[1, 28, 28]` images.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// [`Self::init_for`] on MNIST's `[1, 28, 28]` images.
    pub fn init(&self, device: &Device) -> ConvVae {
        self.init_for(IMAGE_SHAPE, device)
    }

    /// Builds the model for `[channels, height, width]` images on `device`; the config must be
    /// valid for them.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> ConvVae {
        let halves = self.halves(input);
        let [c, h, w] = halves
            .feature_shape()
            .expect("ConvVaeConfig::init needs a validated config");
        let (hidden, features) = build_dense_stack(c * h * w, &self.hidden, device);
        ConvVae {
            encoder: halves.init_encoder(device),
            hidden,
            mean: keras_linear(features, self.latent_dim, device),
            log_var: keras_linear(features, self.latent_dim, device),
            decoder: halves.init_decoder(self.latent_dim, device),
            input,
        }
    }
}

/// `convs → flatten → dense → (mean, log-variance) → z → dense → reshape → transposed convs`.
#[derive(Module, Debug)]
pub struct ConvVae {
    /// Strided convolutions and flatten.
    pub encoder: ConvEncoder,
    /// Dense layers before the heads.
    pub hidden: Vec<DenseBlock>,
    /// Mean head, linear.
    pub mean: Linear,
    /// Log-variance head, linear.
    pub log_var: Linear,
    /// Dense → reshape → transposed convolutions.
    pub decoder: TransposedDecoder,
    /// `[channels, height, width]` of the images.
    #[module(skip)]
    pub input: [usize; 3],
}

impl ConvVae {
    /// `[batch, 1, 28, 28]` → (mean, log-variance), each `[batch, latent]`.
    pub fn distribution(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let h = self.encoder.forward(images); // [batch, 3136]
        let h = self.hidden.iter().fold(h, |h, block| block.forward(h)); // [batch, 16]
        (dense(&self.mean, h.clone()), dense(&self.log_var, h))
    }

    /// `[batch, 1, 28, 28]` → the mean of `q(z|x)` `[batch, latent]` (deterministic).
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        self.distribution(images).0
    }

    /// `z` `[batch, latent]` → reconstruction `[batch, 1, 28, 28]`.
    pub fn decode(&self, latent: Tensor<2>) -> Tensor<4> {
        self.decoder.forward(latent)
    }

    /// `[batch, 1, 28, 28]` → reconstruction, logits, sampled `z`, mean and log-variance.
    pub fn forward(&self, images: Tensor<4>) -> AutoencoderOutput {
        let (mean, log_var) = self.distribution(images);
        let z = reparameterize(mean.clone(), log_var.clone());
        let pre = self.decoder.forward_linear(z.clone());
        AutoencoderOutput::new(pre, self.decoder.output_activation(), z)
            .with_distribution(mean, log_var)
    }

    /// As [`ConvVae::forward`] with the mean as the code instead of a sample (deterministic).
    pub fn forward_mean(&self, images: Tensor<4>) -> AutoencoderOutput {
        let (mean, log_var) = self.distribution(images);
        let pre = self.decoder.forward_linear(mean.clone());
        AutoencoderOutput::new(pre, self.decoder.output_activation(), mean.clone()).with_distribution(mean, log_var)
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("conv_vae", &self.input);
        self.encoder.summarize(&mut summary);
        for block in &self.hidden {
            block.summarize(&mut summary);
        }
        summary.dense_named("z_mean".into(), &self.mean);
        summary.dense_named("z_log_var".into(), &self.log_var);
        summary.sampling(self.mean.weight.lazy_shape().dims::<2>()[1]);
        self.decoder.summarize(&mut summary);
        summary.finish()
    }
}
