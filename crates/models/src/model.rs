//! The model enum the trainer holds: one type for every architecture, with one forward pass, one
//! output type and the accessors the loop, the losses and the figures need.

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;

use crate::cnn::Cnn;
use crate::conv_ae::ConvAutoencoder;
use crate::conv_vae::ConvVae;
use crate::dense_ae::DenseAutoencoder;
use crate::mlp::Mlp;
use crate::output::ModelOutput;
use crate::softmax::SoftmaxRegression;
use crate::strided_conv_ae::StridedConvAutoencoder;
use crate::summary::Summary;
use crate::vae::Vae;

/// Any model of the family; built by [`ModelConfig::init`](crate::ModelConfig::init).
#[derive(Module, Debug)]
pub enum Model {
    /// Dense 784 → 10.
    SoftmaxRegression(SoftmaxRegression),
    /// Dense classifier.
    Mlp(Mlp),
    /// Convolutional classifier.
    Cnn(Cnn),
    /// Dense autoencoder.
    DenseAutoencoder(DenseAutoencoder),
    /// Convolution / pooling / upsampling autoencoder.
    ConvAutoencoder(ConvAutoencoder),
    /// Strided-convolution autoencoder with a dense code.
    StridedConvAutoencoder(StridedConvAutoencoder),
    /// Dense VAE.
    Vae(Vae),
    /// Convolutional VAE.
    ConvVae(ConvVae),
}

impl Model {
    /// `images`: `[batch, 1, 28, 28]` (dense models flatten inside).
    pub fn forward(&self, images: Tensor<4>) -> ModelOutput {
        match self {
            Model::SoftmaxRegression(m) => ModelOutput::Logits(m.forward(images)),
            Model::Mlp(m) => ModelOutput::Logits(m.forward(images)),
            Model::Cnn(m) => ModelOutput::Logits(m.forward(images)),
            Model::DenseAutoencoder(m) => ModelOutput::Autoencoder(m.forward(images)),
            Model::ConvAutoencoder(m) => ModelOutput::Autoencoder(m.forward(images)),
            Model::StridedConvAutoencoder(m) => ModelOutput::Autoencoder(m.forward(images)),
            Model::Vae(m) => ModelOutput::Autoencoder(m.forward(images)),
            Model::ConvVae(m) => ModelOutput::Autoencoder(m.forward(images)),
        }
    }

    /// Whether the model samples its code (the VAEs), so that evaluations through a sample and
    /// through the mean differ.
    pub fn samples_code(&self) -> bool {
        matches!(self, Model::Vae(_) | Model::ConvVae(_))
    }

    /// As [`Model::forward`], but a VAE decodes its mean instead of a sampled code; `None` for
    /// models that do not sample.
    pub fn forward_mean_code(&self, images: Tensor<4>) -> Option<ModelOutput> {
        match self {
            Model::Vae(m) => Some(ModelOutput::Autoencoder(m.forward_mean(images))),
            Model::ConvVae(m) => Some(ModelOutput::Autoencoder(m.forward_mean(images))),
            _ => None,
        }
    }

    /// Autoencoders: the code `[batch, latent]` (VAE: the mean, deterministic); classifiers:
    /// `None`.
    pub fn encode(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        match self {
            Model::SoftmaxRegression(_) | Model::Mlp(_) | Model::Cnn(_) => None,
            Model::DenseAutoencoder(m) => Some(m.encode(images)),
            Model::ConvAutoencoder(m) => Some(m.encode(images)),
            Model::StridedConvAutoencoder(m) => Some(m.encode(images)),
            Model::Vae(m) => Some(m.encode(images)),
            Model::ConvVae(m) => Some(m.encode(images)),
        }
    }

    /// Autoencoders: code `[batch, latent]` → images `[batch, 1, 28, 28]` in the output range
    /// (after the output activation); classifiers: `None`.
    pub fn decode(&self, latent: Tensor<2>) -> Option<Tensor<4>> {
        match self {
            Model::SoftmaxRegression(_) | Model::Mlp(_) | Model::Cnn(_) => None,
            Model::DenseAutoencoder(m) => Some(m.decode(latent)),
            Model::ConvAutoencoder(m) => Some(m.decode(latent)),
            Model::StridedConvAutoencoder(m) => Some(m.decode(latent)),
            Model::Vae(m) => Some(m.decode(latent)),
            Model::ConvVae(m) => Some(m.decode(latent)),
        }
    }

    /// Sum of squares of every kernel weight (dense and convolution), biases excluded: Keras'
    /// L2 `kernel_regularizer` penalty before its factor. A 1-element tensor.
    pub fn kernel_l2(&self) -> Tensor<1> {
        let mut visitor = KernelL2::default();
        self.visit(&mut visitor);
        match visitor.total {
            Some(total) => total,
            // Every model has at least one kernel; this only guards the type.
            None => Tensor::zeros([1], &self.devices().first().cloned().unwrap_or_default()),
        }
    }

    /// The Keras-like summary table.
    pub fn summary(&self) -> Summary {
        match self {
            Model::SoftmaxRegression(m) => m.summary(),
            Model::Mlp(m) => m.summary(),
            Model::Cnn(m) => m.summary(),
            Model::DenseAutoencoder(m) => m.summary(),
            Model::ConvAutoencoder(m) => m.summary(),
            Model::StridedConvAutoencoder(m) => m.summary(),
            Model::Vae(m) => m.summary(),
            Model::ConvVae(m) => m.summary(),
        }
    }

    /// The kernel `[784, units]` of the first dense layer, if the model starts with one
    /// (each column is a 28×28 "what this unit looks for" image).
    pub fn first_dense_weights(&self) -> Option<Tensor<2>> {
        match self {
            Model::SoftmaxRegression(m) => Some(m.dense.weight.val()),
            Model::Mlp(m) => Some(m.first_dense_weights()),
            Model::DenseAutoencoder(m) => m.encoder.first().map(|b| b.linear.weight.val()),
            Model::Vae(m) => Some(m.first_dense_weights()),
            Model::Cnn(_)
            | Model::ConvAutoencoder(_)
            | Model::StridedConvAutoencoder(_)
            | Model::ConvVae(_) => None,
        }
    }

    /// The kernel `[units, 784]` of the last dense layer, if the model ends with a dense layer
    /// to the 784 pixels (each row is the image one unit paints).
    pub fn last_dense_weights(&self) -> Option<Tensor<2>> {
        match self {
            Model::DenseAutoencoder(m) => Some(m.output.weight.val()),
            Model::Vae(m) => Some(m.output.weight.val()),
            Model::SoftmaxRegression(_)
            | Model::Mlp(_)
            | Model::Cnn(_)
            | Model::ConvAutoencoder(_)
            | Model::StridedConvAutoencoder(_)
            | Model::ConvVae(_) => None,
        }
    }
}

/// Accumulates `sum(w²)` over every parameter named `weight`: the kernels of `Linear`,
/// `Conv2d` and `ConvTranspose2d` (their biases are named `bias`).
#[derive(Default)]
struct KernelL2 {
    path: Vec<String>,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for KernelL2 {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.last().map(String::as_str) != Some("weight") {
            return;
        }
        let weight = param.val();
        // One fused pass on `flex`.
        let squares = mnist_flex_kernels::pointwise::sum_squares(&weight)
            .unwrap_or_else(|| weight.square().sum()); // [1]
        self.total = Some(match self.total.take() {
            Some(total) => total + squares,
            None => squares,
        });
    }
}
