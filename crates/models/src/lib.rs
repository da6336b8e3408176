//! The MNIST model family: classifiers, autoencoders and VAEs built from typed configs, their
//! losses and Keras-like summary tables. Knows nothing of files, data sets or training loops.
//!
//! Every model takes images `[batch, 1, 28, 28]`; dense models flatten inside. Layers are
//! initialized like Keras (glorot-uniform kernels, zero biases) and have exactly the parameter
//! counts Keras prints for the same architectures.

pub mod batch_norm;
pub mod cnn;
pub mod config;
pub mod conv_ae;
pub mod conv_vae;
pub mod cpu_conv;
mod cpu_gemm;
pub mod cpu_linear;
pub mod cpu_pointwise;
pub mod cpu_pool;
pub mod dense_ae;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod model;
pub mod softmax;
pub mod strided_conv_ae;
pub mod summary;
pub mod vae;

pub use cnn::{Cnn, CnnConfig};
pub use config::{ModelConfig, ModelConfigError, Task};
pub use conv_ae::{ConvAutoencoder, ConvAutoencoderConfig};
pub use conv_vae::{ConvVae, ConvVaeConfig};
pub use dense_ae::{DenseAutoencoder, DenseAutoencoderConfig};
pub use layers::{Activation, ConvLayer, DenseLayer, Padding};
pub use loss::{
    LossKind, LossTerms, Objective, bce_with_logits, correct_count, cross_entropy, cross_entropy_smoothed, kl_divergence,
    mse,
};
pub use mlp::{Mlp, MlpConfig};
pub use model::{AutoencoderOutput, Model, ModelOutput};
pub use softmax::{SoftmaxRegression, SoftmaxRegressionConfig};
pub use strided_conv_ae::{StridedConvAutoencoder, StridedConvAutoencoderConfig};
pub use summary::{Summary, SummaryRow};
pub use vae::{Vae, VaeConfig};

/// Channels, height and width of an image at the model boundary.
pub const IMAGE_SHAPE: [usize; 3] = [1, 28, 28];

/// Number of classes of the classifiers.
pub const NUM_CLASSES: usize = 10;
