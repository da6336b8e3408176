//! Evaluation of a model on a device-resident split, and the on-device accumulation of loss terms
//! that training shares: sums stay on the device and are read back once.

use burn::prelude::*;
use burn::tensor::Int;
use mnist_config::Config;
use mnist_data::{Batch, DeviceSplit, NormStats, derive_seed};
use mnist_models::{LossTerms, Model, ModelOutput, Objective, correct_count};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// Batch size of evaluation passes: independent of training (no layer depends on it), large for
/// speed. The memory check of a backend plans for it too.
pub const EVAL_BATCH: usize = 500;

/// The seed of evaluation passes on `split`: fixed per run, so `eval` reproduces `train`'s figures.
pub fn eval_seed(seed: u64, split: &str) -> u64 {
    derive_seed(seed, &format!("eval-{split}"), 0)
}

/// The objective an experiment trains (and evaluates).
pub fn objective(config: &Config) -> Objective {
    let t = &config.training;
    Objective { loss: t.loss, beta: t.beta, l2: t.l2, l1: t.l1, label_smoothing: t.label_smoothing }
}

/// One line of numbers for a split: `loss 0.1234 acc 0.9712` or `loss 150.2 recon 145.1 kl 5.1`.
pub fn describe(a: &Averages) -> String {
    let mut s = format!("loss {:.4}", a.loss);
    if let Some(acc) = a.accuracy {
        s += &format!(" acc {acc:.4}");
    }
    if let (Some(r), Some(kl)) = (a.reconstruction, a.kl) {
        s += &format!(" recon {r:.3} kl {kl:.3}");
    }
    if let Some(p) = a.psnr {
        s += &format!(" psnr {p:.2}dB");
    }
    s
}

/// Number of accumulated quantities: total, reconstruction, kl, l2, l1, correct, squared error.
const SLOTS: usize = 7;

/// Averages over a split (or the steps of an epoch so far): the metrics, and how many samples they
/// average. Reads of a metric go through to [`Metrics`] (`averages.loss`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Averages {
    /// The averaged metrics, as fields of their own in JSON (`test.json`).
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Samples averaged over.
    pub samples: usize,
}

impl std::ops::Deref for Averages {
    type Target = Metrics;

    fn deref(&self) -> &Metrics {
        &self.metrics
    }
}

/// Sums of loss terms kept on the device, one slot per term that occurs; `read` synchronizes
/// once. Absent terms cost nothing per step (no zero tensors, no concatenation).
#[derive(Debug, Default)]
pub struct Accumulator {
    sums: [Option<Tensor<1>>; SLOTS],
    samples: usize,
}

impl Accumulator {
    /// Adds one batch of `n` samples: its loss terms (batch means), and optionally the number of
    /// correct predictions and the summed squared reconstruction error.
    pub fn add(&mut self, terms: &LossTerms, correct: Option<Tensor<1, Int>>, squared_error: Option<Tensor<1>>, n: usize) {
        let scale = n as f64;
        let parts: [Option<Tensor<1>>; SLOTS] = [
            Some(terms.total.clone().inner().mul_scalar(scale)),
            terms.reconstruction.clone().map(|t| t.inner().mul_scalar(scale)),
            terms.kl.clone().map(|t| t.inner().mul_scalar(scale)),
            terms.l2.clone().map(|t| t.inner().mul_scalar(scale)),
            terms.l1.clone().map(|t| t.inner().mul_scalar(scale)),
            correct.map(|c| c.inner().float()),
            squared_error.map(|t| t.inner()),
        ];
        for (sum, part) in self.sums.iter_mut().zip(parts) {
            if let Some(part) = part {
                *sum = Some(match sum.take() {
                    Some(s) => s + part,
                    None => part,
                });
            }
        }
        self.samples += n;
    }

    /// Samples added so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Reads the sums back (one synchronization) and averages them; `stats` converts the squared
    /// error to grey levels for PSNR. `pixels` is the number of pixels per image.
    pub fn read(&self, stats: &NormStats, pixels: usize) -> Averages {
        let n = self.samples.max(1) as f64;
        // The present slots, concatenated to be read back in one synchronization.
        let present: Vec<Tensor<1>> = self.sums.iter().flatten().cloned().collect();
        let values: Vec<f64> = if present.is_empty() {
            Vec::new()
        } else {
            Tensor::cat(present, 0).to_data().try_into_vec_as::<f64>().unwrap_or_else(|_| vec![f64::NAN; SLOTS])
        };
        let mut values = values.into_iter();
        let sums: [Option<f64>; SLOTS] = std::array::from_fn(|i| self.sums[i].as_ref().map(|_| values.next().unwrap_or(f64::NAN)));
        let get = |i: usize| sums[i].map(|s| s / n);
        let mse = sums[6].map(|s| s / (n * pixels as f64));
        let unit_scale = (stats.scale / 255.0) as f64;
        Averages {
            metrics: Metrics {
                loss: sums[0].map_or(0.0, |s| s / n),
                reconstruction: get(1),
                kl: get(2),
                l2: get(3),
                l1: get(4),
                accuracy: get(5),
                mse,
                psnr: mse.map(|m| 10.0 * (1.0 / (m * unit_scale * unit_scale)).log10()),
            },
            samples: self.samples,
        }
    }
}

/// What one batch yields: its loss terms, correct predictions (classifiers), the summed squared
/// reconstruction error (autoencoders) and, on request, the fraction of non-zero latent units.
#[derive(Debug)]
pub struct BatchTerms {
    /// Loss terms (batch means), still attached to the graph when training.
    pub terms: LossTerms,
    /// Correct predictions in the batch.
    pub correct: Option<Tensor<1, Int>>,
    /// Summed squared reconstruction error of the batch.
    pub squared_error: Option<Tensor<1>>,
    /// Fraction of latent activations that are non-zero (hidden-unit sparsity).
    pub sparsity: Option<Tensor<1>>,
}

/// Runs `model` on `batch` and computes everything the loop and the evaluation log.
pub fn batch_terms(model: &Model, objective: &Objective, batch: Batch, with_sparsity: bool) -> BatchTerms {
    let Batch { input, target, labels } = batch;
    terms_of(model, objective, model.forward(input), target, labels, with_sparsity)
}

/// The terms of `output`, the model's answer to a batch with these targets and labels.
fn terms_of(model: &Model, objective: &Objective, output: ModelOutput, target: Tensor<4>, labels: Tensor<1, Int>, with_sparsity: bool) -> BatchTerms {
    let (correct, squared_error, sparsity) = match &output {
        ModelOutput::Logits(logits) => (Some(correct_count(logits.clone().inner(), labels.clone().inner())), None, None),
        ModelOutput::Autoencoder(ae) => {
            let diff = ae.reconstruction.clone().inner() - target.clone().inner();
            let sparsity = with_sparsity.then(|| ae.latent.clone().inner().abs().greater_elem(0.0).float().mean());
            (None, Some(diff.square().sum()), sparsity)
        }
    };
    BatchTerms { terms: objective.compute(model, output, target, labels), correct, squared_error, sparsity }
}

/// Evaluates `model` (an inference copy, `model.valid()`) on every sample of `split`. The device is
/// seeded with `seed` first: a VAE samples its latent code even in evaluation (as Keras does), and
/// the same seed makes `eval` reproduce the figures `train` printed.
pub fn evaluate(model: &Model, split: &DeviceSplit, objective: &Objective, stats: &NormStats, batch_size: usize, seed: u64) -> Averages {
    evaluate_code(model, split, objective, stats, batch_size, seed, Code::Sampled)
}

/// Which code a VAE decodes in an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Code {
    /// `z = mean + exp(log_var / 2) * eps`, as in training (Keras' evaluation does the same).
    #[default]
    Sampled,
    /// `z = mean`: deterministic, the path of `decode(encode(x))` and of the report's figures.
    Mean,
}

/// [`evaluate`] with the code of a VAE chosen; models that do not sample ignore `code`.
pub fn evaluate_code(model: &Model, split: &DeviceSplit, objective: &Objective, stats: &NormStats, batch_size: usize, seed: u64, code: Code) -> Averages {
    split.device().seed(seed);
    let mut acc = Accumulator::default();
    for batch in split.batches(batch_size, None) {
        let n = batch.len();
        let mean_path = match code {
            Code::Mean => model.forward_mean_code(batch.input.clone()),
            Code::Sampled => None,
        };
        let b = match mean_path {
            Some(output) => terms_of(model, objective, output, batch.target, batch.labels, false),
            None => batch_terms(model, objective, batch, false),
        };
        acc.add(&b.terms, b.correct, b.squared_error, n);
    }
    let [_, c, h, w] = split.dims();
    acc.read(stats, c * h * w)
}
