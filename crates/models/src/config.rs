//! The model configuration as read from the `[model]` table of a TOML file: one tagged enum over
//! every architecture, and the questions the trainer asks of it (the validation errors and checks
//! every architecture shares are in [`crate::checks`]).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checks::ModelConfigError;
use crate::cnn::CnnConfig;
use crate::conv_ae::ConvAutoencoderConfig;
use crate::conv_vae::ConvVaeConfig;
use crate::dense_ae::DenseAutoencoderConfig;
use crate::layers::Activation;
use crate::mlp::MlpConfig;
use crate::model::Model;
use crate::shape::IMAGE_SHAPE;
use crate::softmax::SoftmaxRegressionConfig;
use crate::strided_conv_ae::StridedConvAutoencoderConfig;
use crate::vae::VaeConfig;

/// Every architecture, tagged by `kind` in TOML:
///
/// ```toml
/// [model]
/// kind = "mlp"
/// hidden = [64, 64]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// A single dense layer 784 → 10 (`kind = "softmax_regression"`).
    SoftmaxRegression(SoftmaxRegressionConfig),
    /// Dense hidden layers then 10 logits (`kind = "mlp"`).
    Mlp(MlpConfig),
    /// Convolutions, one max pooling, dropout, dense layers (`kind = "cnn"`).
    Cnn(CnnConfig),
    /// Dense autoencoders: linear, single-layer, deep, denoising, with dropout
    /// (`kind = "dense_autoencoder"`).
    DenseAutoencoder(DenseAutoencoderConfig),
    /// Convolution + max-pooling encoder, convolution + upsampling decoder
    /// (`kind = "conv_autoencoder"`).
    ConvAutoencoder(ConvAutoencoderConfig),
    /// Strided convolutions, a dense latent, transposed convolutions
    /// (`kind = "strided_conv_autoencoder"`).
    StridedConvAutoencoder(StridedConvAutoencoderConfig),
    /// Dense variational autoencoder (`kind = "vae"`).
    Vae(VaeConfig),
    /// Convolutional variational autoencoder, keras.io style (`kind = "conv_vae"`).
    ConvVae(ConvVaeConfig),
}

/// What a model is trained for; decides which loss terms apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Images → 10 logits, cross-entropy.
    Classifier,
    /// Images → reconstruction, MSE or BCE.
    Autoencoder,
    /// Images → reconstruction + KL divergence of the latent Gaussian.
    VariationalAutoencoder,
}

impl ModelConfig {
    /// The valid `kind` strings, for error messages.
    pub const KINDS: &'static [&'static str] = &[
        "softmax_regression",
        "mlp",
        "cnn",
        "dense_autoencoder",
        "conv_autoencoder",
        "strided_conv_autoencoder",
        "vae",
        "conv_vae",
    ];

    /// The `kind` string of this config.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::SoftmaxRegression(_) => "softmax_regression",
            ModelConfig::Mlp(_) => "mlp",
            ModelConfig::Cnn(_) => "cnn",
            ModelConfig::DenseAutoencoder(_) => "dense_autoencoder",
            ModelConfig::ConvAutoencoder(_) => "conv_autoencoder",
            ModelConfig::StridedConvAutoencoder(_) => "strided_conv_autoencoder",
            ModelConfig::Vae(_) => "vae",
            ModelConfig::ConvVae(_) => "conv_vae",
        }
    }

    /// Checks every size, rate and shape for MNIST's `[1, 28, 28]` images; `init` may panic on a
    /// config this rejects.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        self.validate_for(IMAGE_SHAPE)
    }

    /// Checks every size, rate and shape for `[channels, height, width]` images: every
    /// convolution and pooling must fit, and a decoder must end at the images' size; the error
    /// names the layer where the size no longer fits.
    pub fn validate_for(&self, input: [usize; 3]) -> Result<(), ModelConfigError> {
        match self {
            ModelConfig::SoftmaxRegression(_) => Ok(()),
            ModelConfig::Mlp(c) => c.validate_for(input),
            ModelConfig::Cnn(c) => c.validate_for(input),
            ModelConfig::DenseAutoencoder(c) => c.validate_for(input),
            ModelConfig::ConvAutoencoder(c) => c.validate_for(input),
            ModelConfig::StridedConvAutoencoder(c) => c.validate_for(input),
            ModelConfig::Vae(c) => c.validate_for(input),
            ModelConfig::ConvVae(c) => c.validate_for(input),
        }
    }

    /// Builds the model for `[1, 28, 28]` images on `device` (Keras initialization:
    /// glorot-uniform kernels, zero biases). Parameters are initialized lazily, on first use.
    ///
    /// # Panics
    /// On a config that [`validate`](Self::validate) rejects; use [`try_init`](Self::try_init)
    /// to get the error instead.
    pub fn init(&self, device: &Device) -> Model {
        self.init_for(IMAGE_SHAPE, device)
    }

    /// [`init`](Self::init) for `[channels, height, width]` images.
    ///
    /// # Panics
    /// On a config that [`validate_for`](Self::validate_for) rejects for them.
    pub fn init_for(&self, input: [usize; 3], device: &Device) -> Model {
        match self.try_init_for(input, device) {
            Ok(model) => model,
            Err(err) => panic!("invalid model config: {err}"),
        }
    }

    /// Validates, then builds the model for `[1, 28, 28]` images on `device`.
    pub fn try_init(&self, device: &Device) -> Result<Model, ModelConfigError> {
        self.try_init_for(IMAGE_SHAPE, device)
    }

    /// Validates, then builds the model for `[channels, height, width]` images on `device`.
    pub fn try_init_for(&self, input: [usize; 3], device: &Device) -> Result<Model, ModelConfigError> {
        self.validate_for(input)?;
        Ok(match self {
            ModelConfig::SoftmaxRegression(c) => Model::SoftmaxRegression(c.init_for(input, device)),
            ModelConfig::Mlp(c) => Model::Mlp(c.init_for(input, device)),
            ModelConfig::Cnn(c) => Model::Cnn(c.init_for(input, device)),
            ModelConfig::DenseAutoencoder(c) => Model::DenseAutoencoder(c.init_for(input, device)),
            ModelConfig::ConvAutoencoder(c) => Model::ConvAutoencoder(c.init_for(input, device)),
            ModelConfig::StridedConvAutoencoder(c) => Model::StridedConvAutoencoder(c.init_for(input, device)),
            ModelConfig::Vae(c) => Model::Vae(c.init_for(input, device)),
            ModelConfig::ConvVae(c) => Model::ConvVae(c.init_for(input, device)),
        })
    }

    /// Classifier, autoencoder or VAE.
    pub fn task(&self) -> Task {
        match self {
            ModelConfig::SoftmaxRegression(_) | ModelConfig::Mlp(_) | ModelConfig::Cnn(_) => {
                Task::Classifier
            }
            ModelConfig::DenseAutoencoder(_)
            | ModelConfig::ConvAutoencoder(_)
            | ModelConfig::StridedConvAutoencoder(_) => Task::Autoencoder,
            ModelConfig::Vae(_) | ModelConfig::ConvVae(_) => Task::VariationalAutoencoder,
        }
    }

    /// Whether the reconstruction goes through a sigmoid, so that logits exist and BCE
    /// applies. Always `false` for classifiers.
    pub fn sigmoid_output(&self) -> bool {
        self.output_activation() == Some(Activation::Sigmoid)
    }

    /// The activation of the reconstruction; `None` for classifiers.
    pub fn output_activation(&self) -> Option<Activation> {
        match self {
            ModelConfig::SoftmaxRegression(_) | ModelConfig::Mlp(_) | ModelConfig::Cnn(_) => None,
            ModelConfig::DenseAutoencoder(c) => Some(c.output_activation),
            ModelConfig::ConvAutoencoder(c) => Some(c.output_activation),
            ModelConfig::StridedConvAutoencoder(c) => Some(c.output_activation),
            ModelConfig::Vae(c) => Some(c.output_activation),
            ModelConfig::ConvVae(c) => Some(c.output_activation),
        }
    }

    /// Size of the flattened code of an autoencoder (VAE: of `z`) on `[1, 28, 28]` images;
    /// `None` for classifiers and for a conv autoencoder whose layers don't fit (see `validate`).
    pub fn latent_dim(&self) -> Option<usize> {
        self.latent_dim_for(IMAGE_SHAPE)
    }

    /// [`latent_dim`](Self::latent_dim) on `[channels, height, width]` images.
    pub fn latent_dim_for(&self, input: [usize; 3]) -> Option<usize> {
        match self {
            ModelConfig::SoftmaxRegression(_) | ModelConfig::Mlp(_) | ModelConfig::Cnn(_) => None,
            ModelConfig::DenseAutoencoder(c) => c.latent_dim(),
            ModelConfig::ConvAutoencoder(c) => c.latent_dim_for(input),
            ModelConfig::StridedConvAutoencoder(c) => Some(c.latent_dim),
            ModelConfig::Vae(c) => Some(c.latent_dim),
            ModelConfig::ConvVae(c) => Some(c.latent_dim),
        }
    }
}
