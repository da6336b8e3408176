//! The MNIST model family: classifiers, autoencoders and VAEs built from typed configs, their
//! losses and Keras-like summary tables. Knows nothing of files, data sets or training loops.
//! May import: `mnist-flex-kernels` (the CPU kernels its layers call on `flex`) only.
//!
//! Every model takes images `[batch, 1, 28, 28]`; dense models flatten inside. Layers are
//! initialized like Keras (glorot-uniform kernels, zero biases) and have exactly the parameter
//! counts Keras prints for the same architectures.
//!
//! # Layering
//!
//! Modules import one way, from the top down; nothing below names a model:
//!
//! ```text
//! config (ModelConfig, Task)   model (Model)   loss (Objective)     the family: one enum each
//!           │                    │                │                 that dispatches over it
//!           ▼                    ▼                ▼
//! softmax  mlp  cnn  dense_ae  conv_ae  strided_conv_ae  vae  conv_vae     one file per model
//!           │                    │                │
//!           ▼                    ▼                ▼
//! checks (ModelConfigError, validation, shape walk)   output (ModelOutput, AutoencoderOutput)
//! layers (blocks, Activation, layer configs)          summary (the Keras table)
//! shape (IMAGE_SHAPE, Padding arithmetic)             mnist-flex-kernels (the `flex` kernels)
//! ```
//!
//! Within the bottom row: `shape` ← `summary` ← `layers` ← `checks`, `output`.
//!
//! A new architecture is one new file (its `XConfig` with `validate_for` and `init_for`, and
//! `X::forward` returning logits or an [`AutoencoderOutput`]) plus one variant in
//! [`ModelConfig`] and one in [`Model`] (and their `match` arms). Within the middle row only
//! `conv_vae` reuses parts of `strided_conv_ae` and `vae`.

pub mod batch_norm;
pub mod checks;
pub mod cnn;
pub mod config;
pub mod conv_ae;
pub mod conv_vae;
pub mod dense_ae;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod model;
pub mod output;
pub mod shape;
pub mod softmax;
pub mod strided_conv_ae;
pub mod summary;
pub mod vae;

pub use checks::ModelConfigError;
pub use cnn::{Cnn, CnnConfig};
pub use config::{ModelConfig, Task};
pub use conv_ae::{ConvAutoencoder, ConvAutoencoderConfig, Upsampling};
pub use conv_vae::{ConvVae, ConvVaeConfig};
pub use dense_ae::{DenseAutoencoder, DenseAutoencoderConfig};
pub use layers::{Activation, ConvLayer, DenseLayer};
pub use loss::{
    LossKind, LossTerms, Objective, bce_with_logits, correct_count, cross_entropy, cross_entropy_one_pass,
    cross_entropy_smoothed, kl_divergence, mse,
};
pub use mlp::{Mlp, MlpConfig};
pub use model::Model;
pub use output::{AutoencoderOutput, ModelOutput};
pub use shape::{IMAGE_SHAPE, NUM_CLASSES, Padding};
pub use softmax::{SoftmaxRegression, SoftmaxRegressionConfig};
pub use strided_conv_ae::{StridedConvAutoencoder, StridedConvAutoencoderConfig};
pub use summary::{Summary, SummaryRow};
pub use vae::{Vae, VaeConfig};
