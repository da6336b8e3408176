//! The losses: MSE, BCE against grey-level targets from logits, cross-entropy, the VAE's KL term,
//! the L2 kernel and L1 activity penalties, and [`Objective`], which turns any model's output
//! into named loss terms so that one training loop serves every model.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use mnist_flex_kernels::pointwise as cpu_pointwise;
use serde::{Deserialize, Serialize};

use crate::layers::Activation;
use crate::model::Model;
use crate::output::ModelOutput;

/// The reconstruction (or classification) loss named in a config: `"mse"`, `"bce"`,
/// `"cross_entropy"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Squared error per pixel.
    Mse,
    /// Binary cross-entropy per pixel against grey levels in `[0, 1]`.
    Bce,
    /// Softmax cross-entropy over the 10 classes (classifiers).
    CrossEntropy,
}

/// The terms of one step's loss, each a 1-element tensor left on the device (reading a value
/// back forces a synchronization; the trainer decides when).
#[derive(Clone, Debug)]
pub struct LossTerms {
    /// What is minimized: the sum of every term below that applies.
    pub total: Tensor<1>,
    /// Autoencoders: the reconstruction loss (VAE: summed over the 784 pixels, batch mean).
    pub reconstruction: Option<Tensor<1>>,
    /// VAE: the KL divergence (batch mean), before the `beta` factor.
    pub kl: Option<Tensor<1>>,
    /// `l2 · sum(w²)` over the kernels, when `l2 > 0`.
    pub l2: Option<Tensor<1>>,
    /// `l1 · mean over the batch of sum |latent|`, when `l1 > 0`.
    pub l1: Option<Tensor<1>>,
}

/// Mean squared error over all elements. `[batch, 1, 28, 28]` × 2 → `[1]`.
pub fn mse(pred: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    (pred - target).square().mean()
}

/// Element-wise binary cross-entropy from logits `x`, their sigmoid `p = σ(x)` (the model's
/// reconstruction) and targets `t` in `[0, 1]`: `-(t·ln σ(x) + (1 - t)·ln(1 - σ(x)))`, computed
/// stably as `max(x, 0) - t·x + ln(1 + e^-|x|)` (no overflow for large |x|). Its derivative in `x`
/// is `σ(x) - t`.
///
/// One fused node: the value and the derivative are evaluated outside the autodiff graph and
/// joined to `x` by [`with_gradient`]. `e^-|x|` is read off `p`, so a step costs one `ln` per
/// element on top of the model's sigmoid. Built from Burn's `log_sigmoid` instead, it cost three
/// exponentials and a `log1p` per element (the backward recomputes a sigmoid); on `flex` each is a
/// scalar libm call.
fn bce_with_logits_elementwise<const D: usize>(logits: Tensor<D>, probs: Tensor<D>, target: Tensor<D>) -> Tensor<D> {
    let x = logits.clone().detach();
    let p = probs.detach();
    let t = target.detach();
    // e^-|x| = σ(-|x|) / σ(|x|) = (½ - d) / (½ + d) with d = |σ(x) - ½|; absolute error about
    // 1e-7 (the rounding of p), where ln(1 + e^-|x|) is at least 0.
    let d = p.clone().sub_scalar(0.5).abs();
    let e = d.clone().neg().add_scalar(0.5) / d.add_scalar(0.5);
    let value = x.clone().clamp_min(0.0) - t.clone() * x + e.add_scalar(1.0).log();
    with_gradient(value, logits, p - t)
}

/// `value`, carrying `gradient` back to `logits`: `value + (x - stop(x))·stop(gradient)`. The
/// second term is zero in the forward pass, and its derivative in `x` is `gradient`, so the result
/// has exactly `value`'s value and `gradient` as its gradient, whatever graph computed the two
/// (`value` and `gradient` must be outside the autodiff graph).
fn with_gradient<const D: usize>(value: Tensor<D>, logits: Tensor<D>, gradient: Tensor<D>) -> Tensor<D> {
    let x = logits.clone().detach();
    value + (logits - x) * gradient
}

/// Element-wise binary cross-entropy from probabilities, clipped to `[1e-7, 1 - 1e-7]` as Keras
/// does; only for outputs that have no logits (not a sigmoid).
fn bce_elementwise<const D: usize>(probs: Tensor<D>, target: Tensor<D>) -> Tensor<D> {
    const EPS: f64 = 1e-7;
    let p = probs.clamp(EPS, 1.0 - EPS);
    let one_minus_t = target.clone().neg().add_scalar(1.0);
    let one_minus_p = p.clone().neg().add_scalar(1.0);
    (target * p.log() + one_minus_t * one_minus_p.log()).neg()
}

/// Binary cross-entropy, mean over all elements, of logits against grey-level targets in
/// `[0, 1]` (Burn's own BCE takes integer targets only). `[batch, 1, 28, 28]` × 2 → `[1]`.
pub fn bce_with_logits(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let elements = logits.dims().iter().product::<usize>();
    let probs = Activation::Sigmoid.apply(logits.clone());
    bce_with_logits_sum(logits, probs, target).div_scalar(elements as f64)
}

/// The sum over all elements of [`bce_with_logits_elementwise`]: one fused pass on `flex`
/// ([`cpu_pointwise`]), Burn's element-wise ops elsewhere. Same value and gradient.
fn bce_with_logits_sum<const D: usize>(logits: Tensor<D>, probs: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    cpu_pointwise::bce_with_logits_sum(&logits, &probs, &target)
        .unwrap_or_else(|| bce_with_logits_elementwise(logits, probs, target).sum())
}

/// Softmax cross-entropy, batch mean. Logits `[batch, 10]`, labels `[batch]` → `[1]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    cross_entropy_smoothed(logits, labels, 0.0)
}

/// Softmax cross-entropy with label smoothing `epsilon`, batch mean, as PyTorch's
/// `CrossEntropyLoss(label_smoothing=epsilon)`: the target is `1 - epsilon` on the label plus
/// `epsilon / classes` on every class, so the loss is
/// `(1 - epsilon) · (-log p_label) + epsilon · mean_k(-log p_k)`.
/// Logits `[batch, classes]`, labels `[batch]` → `[1]`; `epsilon = 0` is [`cross_entropy`].
/// On GPUs it is [`cross_entropy_one_pass`].
pub fn cross_entropy_smoothed(logits: Tensor<2>, labels: Tensor<1, Int>, epsilon: f64) -> Tensor<1> {
    if !cpu_pointwise::runs_on(&logits) {
        return cross_entropy_one_pass(logits, labels, epsilon);
    }
    let log_probs = log_softmax(logits, 1); // [batch, classes]
    let picked = log_probs.clone().gather(1, labels.unsqueeze_dim(1)); // [batch, 1]
    let nll = picked.mean().neg();
    if epsilon == 0.0 {
        return nll;
    }
    let uniform = log_probs.mean().neg();
    nll.mul_scalar(1.0 - epsilon) + uniform.mul_scalar(epsilon)
}

/// [`cross_entropy_smoothed`] for GPUs, where a step costs about its number of kernels. The value
/// `-Σ target·log_softmax(x)` and the gradient `(softmax(x) - target) / batch` are evaluated
/// outside the autodiff graph and joined to the logits as
/// `Σ stop(-target·log_probs) + (x - stop(x))·stop(softmax - target)`, over the batch, which has
/// exactly that value and that gradient ([`with_gradient`]). A step then costs three reductions
/// (max, sum of exponentials, the total) and fused element-wise kernels; through `log_softmax`
/// and `gather` the backward also cost a reduction, a zero fill and a scatter-add. The label's
/// one-hot is a comparison with `0..classes` (Burn's `one_hot` reads the labels back to check
/// them). `flex` keeps the graph of [`cross_entropy_smoothed`], so its runs stay as they were to
/// the bit.
pub fn cross_entropy_one_pass(logits: Tensor<2>, labels: Tensor<1, Int>, epsilon: f64) -> Tensor<1> {
    let [batch, classes] = logits.dims();
    let x = logits.clone().detach();
    let shifted = x.clone() - x.clone().max_dim(1); // [batch, classes]
    let exp = shifted.clone().exp();
    let sum = exp.clone().sum_dim(1); // [batch, 1]
    let log_probs = shifted - sum.clone().log();
    let class = Tensor::<1, Int>::arange(0..classes as i64, &labels.device()).unsqueeze_dim::<2>(0); // [1, classes]
    let mut target = labels.unsqueeze_dim::<2>(1).equal(class).float(); // one-hot [batch, classes]
    if epsilon != 0.0 {
        target = target.mul_scalar(1.0 - epsilon).add_scalar(epsilon / classes as f64);
    }
    let gradient = exp / sum - target.clone();
    let value = (log_probs * target).neg();
    with_gradient(value, logits, gradient).sum().div_scalar(batch as f64)
}

/// KL divergence of `N(mean, exp(log_var))` from `N(0, I)`:
/// `-0.5 · sum(1 + log_var - mean² - exp(log_var))` per sample, batch mean.
/// `[batch, latent]` × 2 → `[1]`.
pub fn kl_divergence(mean: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    let [batch, _] = mean.dims();
    let per_element = log_var.clone().add_scalar(1.0) - mean.square() - log_var.exp();
    per_element.sum().mul_scalar(-0.5 / batch as f64)
}

/// Number of samples whose arg-max logit is the label. `[batch, 10]`, `[batch]` → `[1]`.
pub fn correct_count(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1, Int> {
    let [batch, _] = logits.dims();
    let predicted = logits.argmax(1).reshape([batch]); // [batch]
    predicted.equal(labels).int().sum()
}

/// How a step's loss is built from a model's output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// Reconstruction loss of autoencoders. Classifiers always use cross-entropy; for an
    /// autoencoder `CrossEntropy` means the per-pixel (binary) cross-entropy, i.e. `Bce`.
    pub loss: LossKind,
    /// Weight of the KL term of a VAE (1 = the plain ELBO).
    pub beta: f64,
    /// Factor of the L2 penalty on kernels (Keras `kernel_regularizer=l2(..)`); 0 = off.
    pub l2: f64,
    /// Factor of the L1 penalty on the latent activity (sparse autoencoder); 0 = off.
    pub l1: f64,
    /// Label smoothing of a classifier's cross-entropy, in `[0, 1)`; 0 = off.
    pub label_smoothing: f64,
}

impl Objective {
    /// `loss` with `beta` = 1 and no penalties.
    pub fn new(loss: LossKind) -> Self {
        Self {
            loss,
            beta: 1.0,
            l2: 0.0,
            l1: 0.0,
            label_smoothing: 0.0,
        }
    }

    /// Reconstruction error summed over every element of `[batch, 1, 28, 28]`.
    fn reconstruction_sum(
        &self,
        reconstruction: Tensor<4>,
        logits: Option<Tensor<4>>,
        target: Tensor<4>,
    ) -> Tensor<1> {
        match (self.loss, logits) {
            (LossKind::Mse, _) => (reconstruction - target).square().sum(),
            // The reconstruction is the sigmoid of the logits (`AutoencoderOutput::new`).
            (LossKind::Bce | LossKind::CrossEntropy, Some(logits)) => {
                bce_with_logits_sum(logits, reconstruction, target)
            }
            (LossKind::Bce | LossKind::CrossEntropy, None) => {
                bce_elementwise(reconstruction, target).sum()
            }
        }
    }

    /// One call per step.
    ///
    /// - Classifier: cross-entropy against `labels` (`target` unused).
    /// - Autoencoder: MSE or BCE of the reconstruction against the clean `target`, mean over
    ///   elements (Keras' reduction).
    /// - VAE (output carries mean and log-variance): reconstruction summed over the 784 pixels
    ///   per sample plus `beta` · KL, both averaged over the batch and returned separately.
    /// - `l2 > 0` adds `l2 · model.kernel_l2()`; `l1 > 0` adds `l1 · mean_batch(sum |latent|)`.
    ///
    /// `total` includes everything.
    pub fn compute(
        &self,
        model: &Model,
        output: ModelOutput,
        target: Tensor<4>,
        labels: Tensor<1, Int>,
    ) -> LossTerms {
        let mut terms = match output {
            ModelOutput::Logits(logits) => LossTerms {
                total: cross_entropy_smoothed(logits, labels, self.label_smoothing),
                reconstruction: None,
                kl: None,
                l2: None,
                l1: None,
            },
            ModelOutput::Autoencoder(out) => {
                let l1 = (self.l1 > 0.0).then(|| {
                    let [batch, _] = out.latent.dims();
                    out.latent
                        .clone()
                        .abs()
                        .sum()
                        .mul_scalar(self.l1 / batch as f64)
                });
                let [batch, ..] = target.dims();
                let elements = target.dims().iter().product::<usize>();
                let errors = self.reconstruction_sum(out.reconstruction, out.logits, target);
                match (out.mean, out.log_var) {
                    (Some(mean), Some(log_var)) => {
                        let reconstruction = errors.div_scalar(batch as f64);
                        let kl = kl_divergence(mean, log_var);
                        LossTerms {
                            total: reconstruction.clone() + kl.clone().mul_scalar(self.beta),
                            reconstruction: Some(reconstruction),
                            kl: Some(kl),
                            l2: None,
                            l1,
                        }
                    }
                    _ => {
                        let reconstruction = errors.div_scalar(elements as f64);
                        LossTerms {
                            total: reconstruction.clone(),
                            reconstruction: Some(reconstruction),
                            kl: None,
                            l2: None,
                            l1,
                        }
                    }
                }
            }
        };
        if let Some(l1) = &terms.l1 {
            terms.total = terms.total + l1.clone();
        }
        if self.l2 > 0.0 {
            let l2 = model.kernel_l2().mul_scalar(self.l2);
            terms.total = terms.total + l2.clone();
            terms.l2 = Some(l2);
        }
        terms
    }
}
