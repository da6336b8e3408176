//! The experiment file's types: typed serde structs and tagged enums (unknown keys rejected),
//! with every field documented; the JSON schema of `docs/config.md` is derived from them.

use std::path::PathBuf;

use mnist_data::{Augment, DataSource, ImageOptions, NamedSet, Noise, NoiseMode, Normalization};
use mnist_models::{LossKind, ModelConfig};
use serde::{Deserialize, Serialize};

use crate::optimizer::OptimizerConfig;
use crate::schedule::Schedule;

/// A whole experiment as written in a TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name and seed.
    pub experiment: ExperimentSection,
    /// Where the data comes from and how it is prepared.
    #[serde(default)]
    pub data: DataSection,
    /// The architecture, tagged by `kind`.
    pub model: ModelConfig,
    /// How the model is trained.
    pub training: TrainingSection,
    /// Backend to run on (`flex`, `ndarray`, `wgpu`, `vulkan`); the best compiled one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// `[experiment]`: what the run is called and its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Name of the run; the default run directory is `artifacts/<name>`.
    pub name: String,
    /// Seed of every random choice (initialization, shuffling, noise, dropout).
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    42
}

/// `[data]`: the data set, its normalization, the validation split and the noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// A named set (`mnist`, `fashion-mnist`) whose files are verified by sha256. Left out of a
    /// `[data]` table that sets `dir`, any directory holding the four standard file names is read
    /// unverified (`dir = ".."` alone reads a custom directory); with no `[data]` table at all it
    /// is `mnist`.
    #[serde(default)]
    pub set: Option<NamedSet>,
    /// Directory of the four IDX files; a relative path is read from the config file's folder.
    /// Without it a named set is looked up in the data home (`MNIST_BURN_DATA`, else
    /// `~/.cache/mnist-burn/data`) and in `data/<set>` of the project.
    pub dir: Option<PathBuf>,
    /// `unit` (x/255), `min_max` or `standardize`, fitted on the training split only.
    pub normalization: Normalization,
    /// Fraction of the training set held out for validation; when absent the test set serves as
    /// validation data, as the seed notebooks do with `validation_data=(x_test, ...)`.
    pub validation_fraction: Option<f64>,
    /// Use only the first N training samples (quick experiments and smoke tests).
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    pub test_limit: Option<usize>,
    /// Corruption of the training inputs (denoising autoencoders).
    pub train_noise: Option<Noise>,
    /// Corruption of the validation and test inputs; defaults to `train_noise`.
    pub eval_noise: Option<Noise>,
    /// `fixed` (drawn once per split) or `fresh` (redrawn every epoch, training split only).
    pub noise_mode: NoiseMode,
    /// Random moves of the training images of a classifier, redrawn at every step from the seed
    /// and the step (validation and test images are never moved), e.g.
    /// `augment = { shift = 2, rotation = 10, scale = 0.1 }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
    /// `[data.images]`: `dir` is a folder of images (`<class>/*.png|jpg|jpeg|bmp`, or images
    /// directly in it), read with these settings (channels, size, crop, unreadable, test_fraction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageOptions>,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            set: Some(NamedSet::Mnist),
            dir: None,
            normalization: Normalization::Unit,
            validation_fraction: None,
            train_limit: None,
            test_limit: None,
            train_noise: None,
            eval_noise: None,
            noise_mode: NoiseMode::Fixed,
            augment: None,
            images: None,
        }
    }
}

impl DataSection {
    /// Where to read the files from: `dir` when given (verified when `set` names it), else the
    /// named set found in the data home or a project's `data/` above one of `roots`
    /// ([`mnist_data::home::locate`]).
    pub fn source(&self, roots: &[PathBuf]) -> Result<DataSource, mnist_data::DataError> {
        Ok(match (&self.set, &self.dir) {
            (set, Some(dir)) => DataSource { dir: dir.clone(), verify: *set },
            (set, None) => DataSource::locate(set.unwrap_or(NamedSet::Mnist), roots)?,
        })
    }

    /// The noise of validation and test inputs.
    pub fn eval_noise(&self) -> Option<&Noise> {
        self.eval_noise.as_ref().or(self.train_noise.as_ref())
    }
}

/// `[training]`: length, batches, loss, optimizer and schedule, penalties, stopping, checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingSection {
    /// Number of passes over the training split.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Stop after this many optimizer steps in total, even mid-epoch (the hidden-225 notebook
    /// trains for 25,000 per-sample steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Samples per step; 1 is per-sample SGD.
    pub batch_size: usize,
    /// `mse`, `bce` or `cross_entropy`.
    pub loss: LossKind,
    /// Weight of the KL term of a VAE (β-VAE); 1 is the plain VAE.
    #[serde(default = "one")]
    pub beta: f64,
    /// Label smoothing of the cross-entropy of classifiers, in [0, 1): the target puts
    /// `1 - label_smoothing` on the label and spreads `label_smoothing` evenly over all classes
    /// (PyTorch's `CrossEntropyLoss(label_smoothing=..)`). 0 = off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    /// Keras-style L2 penalty factor on every kernel (`kernel_regularizer=l2(..)`).
    #[serde(default)]
    pub l2: f64,
    /// L1 penalty factor on the latent activity (sparse autoencoders).
    #[serde(default)]
    pub l1: f64,
    /// Base learning rate.
    pub learning_rate: f64,
    /// How the learning rate changes over epochs.
    #[serde(default)]
    pub schedule: Schedule,
    /// The optimizer, tagged by `kind`.
    pub optimizer: OptimizerConfig,
    /// Reshuffle the training split every epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Read the running loss back from the device every N steps (progress bar, per-step log).
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// Write `steps.csv` with the loss and the fraction of non-zero latent units at every step.
    #[serde(default)]
    pub per_step_log: bool,
    /// Stop when the monitored metric stops improving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// How many epoch checkpoints to keep (the best one is always kept).
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// Keep an exponential moving average of the weights with this decay per step, in (0, 1),
    /// e.g. 0.999 (Keras' `use_ema` with `ema_momentum`, timm's `ModelEma`): after every step
    /// `average = decay * average + (1 - decay) * weights`, with the decay warmed up as
    /// `min(decay, (1 + step) / (10 + step))` so the first steps' average follows the weights.
    /// Validation, the checkpoints' `model.bpk` and the test use the average; the trained
    /// weights are kept beside it, as `training.bpk`, for `--resume`. Absent = off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema: Option<f64>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
fn default_epochs() -> usize {
    10
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_log_every() -> usize {
    50
}
fn default_keep() -> usize {
    3
}

/// Metric watched by early stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Validation loss, lower is better.
    ValLoss,
    /// Validation accuracy (classifiers), higher is better.
    ValAccuracy,
}

/// `[training.early_stopping]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Metric to watch.
    #[serde(default = "default_monitor")]
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    #[serde(default)]
    pub min_delta: f64,
}

fn default_monitor() -> Monitor {
    Monitor::ValLoss
}

