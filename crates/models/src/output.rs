//! What a forward pass returns: the logits of a classifier or the named outputs of an
//! autoencoder, the same types for every architecture.

use burn::prelude::*;

use crate::layers::Activation;

/// What a forward pass produces.
// One value per step, moved rather than copied around: boxing the large variant would only add
// an allocation and a less direct pattern for the trainer.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ModelOutput {
    /// Classifier logits `[batch, 10]`.
    Logits(Tensor<2>),
    /// Autoencoder (and VAE) outputs.
    Autoencoder(AutoencoderOutput),
}

/// The named outputs of an autoencoder.
#[derive(Clone, Debug)]
pub struct AutoencoderOutput {
    /// `[batch, 1, 28, 28]`, after the output activation.
    pub reconstruction: Tensor<4>,
    /// `[batch, 1, 28, 28]` before the sigmoid, when the output activation is a sigmoid (BCE is
    /// computed from these, stably).
    pub logits: Option<Tensor<4>>,
    /// `[batch, latent]`: the code (VAE: the sampled `z`).
    pub latent: Tensor<2>,
    /// `[batch, latent]`: mean of `q(z|x)` (VAE only).
    pub mean: Option<Tensor<2>>,
    /// `[batch, latent]`: log-variance of `q(z|x)` (VAE only).
    pub log_var: Option<Tensor<2>>,
}

impl AutoencoderOutput {
    /// Output of a plain autoencoder from the pre-activation output `pre`.
    pub(crate) fn new(pre: Tensor<4>, activation: Activation, latent: Tensor<2>) -> Self {
        Self {
            reconstruction: activation.apply(pre.clone()),
            logits: (activation == Activation::Sigmoid).then_some(pre),
            latent,
            mean: None,
            log_var: None,
        }
    }

    /// Adds the VAE's distribution parameters.
    pub(crate) fn with_distribution(mut self, mean: Tensor<2>, log_var: Tensor<2>) -> Self {
        self.mean = Some(mean);
        self.log_var = Some(log_var);
        self
    }
}

impl ModelOutput {
    /// The classifier logits, if this is a classifier's output.
    pub fn logits(&self) -> Option<&Tensor<2>> {
        match self {
            ModelOutput::Logits(logits) => Some(logits),
            ModelOutput::Autoencoder(_) => None,
        }
    }

    /// The autoencoder outputs, if this is an autoencoder's output.
    pub fn autoencoder(&self) -> Option<&AutoencoderOutput> {
        match self {
            ModelOutput::Logits(_) => None,
            ModelOutput::Autoencoder(output) => Some(output),
        }
    }
}
