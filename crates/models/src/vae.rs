//! The dense variational autoencoder: the encoder outputs the mean and log-variance of a
//! Gaussian code, `z` is sampled with the reparameterization trick, the decoder maps `z` back.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use crate::checks::{ModelConfigError, check_dense_layers, check_nonzero};
use crate::layers::{
    Activation, DenseBlock, DenseLayer, build_dense_stack, dense, flatten_images,
    forward_dense_stack, keras_linear, unflatten_images,
};
use crate::output::AutoencoderOutput;
use crate::shape::IMAGE_SHAPE;
use crate::summary::{Summary, SummaryBuilder};

/// A dense VAE. The defaults are the seed model (807,700 parameters):
///
/// ```toml
/// [model]
/// kind = "vae"
/// encoder = [{ units = 512, activation = "relu" }]   # hidden layers before the two heads
/// latent_dim = 2                                     # units of the mean and log-variance heads
/// decoder = [{ units = 512, activation = "relu" }]   # hidden layers; Dense 784 is implicit
/// output_activation = "sigmoid"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VaeConfig {
    /// Hidden encoder layers, input side first (`units`, `activation` = "relu", `dropout` = 0).
    pub encoder: Vec<DenseLayer>,
    /// Size of the Gaussian code: units of the (linear) mean and log-variance heads.
    pub latent_dim: usize,
    /// Hidden decoder layers, code side first.
    pub decoder: Vec<DenseLayer>,
    /// Activation of the 784 outputs. Default "sigmoid".
    pub output_activation: Activation,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            encoder: vec![DenseLayer::new(512, Activation::Relu)],
            latent_dim: 2,
            decoder: vec![DenseLayer::new(512, Activation::Relu)],
            output_activation: Activation::Sigmoid,
        }
    }
}

impl VaeConfig {
    /// Checks sizes and rates (any input shape fits a dense model).
    pub fn validate_for(&self, _input: [usize; 3]) -> Result<(), ModelConfigError> {
        check_dense_layers("encoder", &self.encoder)?;
        check_nonzero("latent_dim", self.latent_dim)?;
        check_dense_layers("decoder", &self.decoder)
    }

    /// Builds the model for `[channels, height, width]` images on `device`.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> Vae {
        let pixels = input.iter().product();
        let (encoder, features) = build_dense_stack(pixels, &self.encoder, device);
        let (decoder, d_out) = build_dense_stack(self.latent_dim, &self.decoder, device);
        Vae {
            encoder,
            mean: keras_linear(features, self.latent_dim, device),
            log_var: keras_linear(features, self.latent_dim, device),
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
    pub fn init(&self, device: &Device) -> Vae {
        self.init_for(IMAGE_SHAPE, device)
    }
}

/// `z = mean + exp(log_var / 2) · ε`, `ε ~ N(0, I)` drawn on `mean`'s device (seeded by the
/// device seed). Gradients flow to `mean` and `log_var`, not through `ε`.
/// `[batch, latent]` × 2 → `[batch, latent]`.
pub fn reparameterize(mean: Tensor<2>, log_var: Tensor<2>) -> Tensor<2> {
    let eps = Tensor::random(mean.shape(), Distribution::Normal(0.0, 1.0), &mean.device());
    mean + log_var.mul_scalar(0.5).exp() * eps
}

/// Encoder → (mean, log-variance) → sampled `z` → decoder → dense 784 → output activation.
#[derive(Module, Debug)]
pub struct Vae {
    /// Hidden encoder blocks.
    pub encoder: Vec<DenseBlock>,
    /// Mean head `[features, latent]`, linear.
    pub mean: Linear,
    /// Log-variance head `[features, latent]`, linear.
    pub log_var: Linear,
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

impl Vae {
    /// `[batch, 1, 28, 28]` → (mean, log-variance), each `[batch, latent]`.
    pub fn distribution(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let h = forward_dense_stack(&self.encoder, flatten_images(images)); // [batch, 512]
        (dense(&self.mean, h.clone()), dense(&self.log_var, h))
    }

    /// `[batch, 1, 28, 28]` → the mean of `q(z|x)` `[batch, latent]` (deterministic).
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        let h = forward_dense_stack(&self.encoder, flatten_images(images));
        dense(&self.mean, h)
    }

    fn decode_linear(&self, latent: Tensor<2>) -> Tensor<4> {
        let x = forward_dense_stack(&self.decoder, latent); // [batch, 512]
        unflatten_images(dense(&self.output, x), self.input) // [batch, 1, 28, 28]
    }

    /// `z` `[batch, latent]` → reconstruction `[batch, 1, 28, 28]`.
    pub fn decode(&self, latent: Tensor<2>) -> Tensor<4> {
        self.output_activation.apply(self.decode_linear(latent))
    }

    /// `[batch, 1, 28, 28]` → reconstruction, logits, sampled `z`, mean and log-variance.
    pub fn forward(&self, images: Tensor<4>) -> AutoencoderOutput {
        let (mean, log_var) = self.distribution(images);
        let z = reparameterize(mean.clone(), log_var.clone());
        let pre = self.decode_linear(z.clone());
        AutoencoderOutput::new(pre, self.output_activation, z).with_distribution(mean, log_var)
    }

    /// As [`Vae::forward`] with the mean as the code instead of a sample: deterministic, the
    /// path `decode(encode(x))` takes (`eval --mean-code`, and a PyTorch user's `decoder(mean)`).
    pub fn forward_mean(&self, images: Tensor<4>) -> AutoencoderOutput {
        let (mean, log_var) = self.distribution(images);
        let pre = self.decode_linear(mean.clone());
        AutoencoderOutput::new(pre, self.output_activation, mean.clone()).with_distribution(mean, log_var)
    }

    /// The first dense kernel `[784, units]`.
    pub fn first_dense_weights(&self) -> Tensor<2> {
        match self.encoder.first() {
            Some(block) => block.linear.weight.val(),
            None => self.mean.weight.val(),
        }
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        let mut summary = SummaryBuilder::new("vae", &[self.input.iter().product()]);
        for block in &self.encoder {
            block.summarize(&mut summary);
        }
        summary.dense_named("z_mean".into(), &self.mean);
        summary.dense_named("z_log_var".into(), &self.log_var);
        summary.sampling(self.mean.weight.lazy_shape().dims::<2>()[1]);
        for block in &self.decoder {
            block.summarize(&mut summary);
        }
        summary.dense(&self.output);
        summary.finish()
    }
}
