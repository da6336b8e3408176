//! The model configuration as read from the `[model]` table of a TOML file: one tagged enum over
//! every architecture, its validation errors, and the questions the trainer asks of it.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cnn::CnnConfig;
use crate::conv_ae::ConvAutoencoderConfig;
use crate::conv_vae::ConvVaeConfig;
use crate::dense_ae::DenseAutoencoderConfig;
use crate::layers::{Activation, ConvLayer, DenseLayer, Padding};
use crate::mlp::MlpConfig;
use crate::model::Model;
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

/// A model configuration that can't be built. Every message names the field and its value;
/// fields are written relative to the `[model]` table (`encoder[1].units`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelConfigError {
    /// `pool` or `batch_norm` on a transposed convolution.
    #[error("`{field}` is not available on a transposed convolution (decoder layers); leave it out there")]
    NotTransposed {
        /// The key.
        field: String,
    },
    /// A size (units, filters, kernel, stride, latent size, pool size) of 0.
    #[error("`{field}` = 0: it must be at least 1")]
    Zero {
        /// The offending field.
        field: String,
    },
    /// A layer list that must not be empty.
    #[error("`{field}` is empty: it must list at least one layer")]
    NoLayers {
        /// The offending field.
        field: String,
    },
    /// A dropout rate outside `[0, 1)`.
    #[error("`{field}` = {value}: a dropout rate must lie in [0, 1)")]
    Dropout {
        /// The offending field.
        field: String,
        /// The rate given.
        value: f64,
    },
    /// A convolution or pooling window larger than its (valid-padded) input.
    #[error(
        "`{field}` = {kernel}: a {kernel}x{kernel} window does not fit the {size}x{size} input \
         it receives (valid padding)"
    )]
    WindowTooLarge {
        /// The offending field.
        field: String,
        /// The window size.
        kernel: usize,
        /// The input's height and width at that layer.
        size: usize,
    },
    /// A transposed convolution whose kernel is smaller than its stride.
    #[error(
        "`{field}` = {kernel}: a transposed convolution needs kernel_size >= stride ({stride})"
    )]
    TransposeKernel {
        /// The offending field.
        field: String,
        /// The kernel size given.
        kernel: usize,
        /// The layer's stride.
        stride: usize,
    },
    /// The decoder does not end at the size of the images.
    #[error(
        "`{field}`: these layers produce {height}x{width} images, but the model must output {expected}"
    )]
    OutputSize {
        /// The layer list responsible.
        field: String,
        /// Height produced.
        height: usize,
        /// Width produced.
        width: usize,
        /// The images' `HxW`.
        expected: String,
    },
    /// `mirror = true` together with an explicit decoder.
    #[error(
        "`decoder` lists {layers} layer(s) but `mirror` = true builds the decoder from the \
         encoder: remove one of the two"
    )]
    MirrorWithDecoder {
        /// Number of decoder layers given.
        layers: usize,
    },
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
        self.validate_for(crate::IMAGE_SHAPE)
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
        self.init_for(crate::IMAGE_SHAPE, device)
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
        self.try_init_for(crate::IMAGE_SHAPE, device)
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
        self.latent_dim_for(crate::IMAGE_SHAPE)
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

// Shared validation helpers: each returns the first problem found, naming the field.

pub(crate) fn check_nonzero(
    field: impl Into<String>,
    value: usize,
) -> Result<(), ModelConfigError> {
    if value == 0 {
        return Err(ModelConfigError::Zero {
            field: field.into(),
        });
    }
    Ok(())
}

pub(crate) fn check_not_empty<T>(field: &str, layers: &[T]) -> Result<(), ModelConfigError> {
    if layers.is_empty() {
        return Err(ModelConfigError::NoLayers {
            field: field.to_string(),
        });
    }
    Ok(())
}

pub(crate) fn check_dropout(field: impl Into<String>, value: f64) -> Result<(), ModelConfigError> {
    // `contains` is false for NaN, so NaN is rejected too.
    if !(0.0..1.0).contains(&value) {
        return Err(ModelConfigError::Dropout {
            field: field.into(),
            value,
        });
    }
    Ok(())
}

pub(crate) fn check_dense_layers(
    field: &str,
    layers: &[DenseLayer],
) -> Result<(), ModelConfigError> {
    for (i, layer) in layers.iter().enumerate() {
        check_nonzero(format!("{field}[{i}].units"), layer.units)?;
        check_dropout(format!("{field}[{i}].dropout"), layer.dropout)?;
    }
    Ok(())
}

/// The `[channels, height, width]` after a convolution, or the error naming the layer.
pub(crate) fn conv_output_shape(
    field: &str,
    input: [usize; 3],
    layer: &ConvLayer,
) -> Result<[usize; 3], ModelConfigError> {
    check_nonzero(format!("{field}.filters"), layer.filters)?;
    check_nonzero(format!("{field}.kernel_size"), layer.kernel_size)?;
    check_nonzero(format!("{field}.stride"), layer.stride)?;
    let [_, h, w] = input;
    let out = |n: usize| {
        layer
            .padding
            .output_size(n, layer.kernel_size, layer.stride)
            .ok_or_else(|| ModelConfigError::WindowTooLarge {
                field: format!("{field}.kernel_size"),
                kernel: layer.kernel_size,
                size: n,
            })
    };
    let shape = [layer.filters, out(h)?, out(w)?];
    check_nonzero(format!("{field}.pool"), layer.pool)?;
    if layer.pool > 1 {
        return pool_output_shape(&format!("{field}.pool"), shape, layer.pool, crate::layers::Padding::Valid);
    }
    Ok(shape)
}

/// The `[channels, height, width]` after a transposed convolution.
pub(crate) fn conv_transpose_output_shape(
    field: &str,
    input: [usize; 3],
    layer: &ConvLayer,
) -> Result<[usize; 3], ModelConfigError> {
    check_nonzero(format!("{field}.filters"), layer.filters)?;
    check_nonzero(format!("{field}.kernel_size"), layer.kernel_size)?;
    check_nonzero(format!("{field}.stride"), layer.stride)?;
    if layer.pool != 1 || layer.batch_norm {
        let key = if layer.pool != 1 { "pool" } else { "batch_norm" };
        return Err(ModelConfigError::NotTransposed { field: format!("{field}.{key}") });
    }
    if layer.kernel_size < layer.stride {
        return Err(ModelConfigError::TransposeKernel {
            field: format!("{field}.kernel_size"),
            kernel: layer.kernel_size,
            stride: layer.stride,
        });
    }
    let [_, h, w] = input;
    let out = |n| {
        layer
            .padding
            .transposed_output_size(n, layer.kernel_size, layer.stride)
    };
    Ok([layer.filters, out(h), out(w)])
}

/// The shape after a `size × size`, stride-`size` max pooling.
pub(crate) fn pool_output_shape(
    field: &str,
    input: [usize; 3],
    size: usize,
    padding: Padding,
) -> Result<[usize; 3], ModelConfigError> {
    let [c, h, w] = input;
    let out = |n: usize| {
        padding
            .output_size(n, size, size)
            .ok_or_else(|| ModelConfigError::WindowTooLarge {
                field: field.to_string(),
                kernel: size,
                size: n,
            })
    };
    Ok([c, out(h)?, out(w)?])
}

/// Error unless the spatial size of `shape` is that of the `input` images (the output layer
/// sets the channels).
pub(crate) fn check_image_size(
    field: &str,
    shape: [usize; 3],
    input: [usize; 3],
) -> Result<(), ModelConfigError> {
    let [_, height, width] = shape;
    let [_, h, w] = input;
    if (height, width) != (h, w) {
        return Err(ModelConfigError::OutputSize {
            field: field.to_string(),
            height,
            width,
            expected: format!("{h}x{w}"),
        });
    }
    Ok(())
}
