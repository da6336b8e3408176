//! The experiment file: typed serde structs (unknown keys rejected), read from TOML with errors that
//! name the file, line and key, then validated once into an immutable [`Experiment`].

use std::path::{Path, PathBuf};

use mnist_data::{Augment, DataSource, ImageFolder, ImageOptions, NamedSet, Noise, NoiseMode, Normalization};
use mnist_models::{LossKind, ModelConfig, Task};
use serde::{Deserialize, Serialize};

use crate::optimizer::OptimizerConfig;
use crate::overrides::Override;

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

/// Learning-rate schedule: `constant`, `step`, `exponential` and `cosine` are evaluated at the
/// start of each epoch (0-based); `one_cycle` and `warmup_cosine` at every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor per decay.
        gamma: f64,
    },
    /// Multiply by `gamma` every epoch.
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// Cosine from the base rate down to `min` over all epochs.
    Cosine {
        /// Final learning rate.
        #[serde(default)]
        min: f64,
    },
    /// Per step: PyTorch's `OneCycleLR` (cosine annealing, two phases), peaking at the base
    /// learning rate after `pct_start` of all steps.
    OneCycle {
        /// Fraction of the steps spent rising to the peak, in (0, 1).
        #[serde(default = "one_cycle_pct_start")]
        pct_start: f64,
        /// The first rate is the base rate divided by this.
        #[serde(default = "one_cycle_div_factor")]
        div_factor: f64,
        /// The last rate is the first rate divided by this.
        #[serde(default = "one_cycle_final_div_factor")]
        final_div_factor: f64,
    },
    /// Per step: linear warm-up to the base rate over `warmup_fraction` of all steps, then a
    /// cosine down to `min` at the last step.
    WarmupCosine {
        /// Fraction of the steps spent warming up, in [0, 1).
        #[serde(default = "warmup_fraction")]
        warmup_fraction: f64,
        /// Final learning rate.
        #[serde(default)]
        min: f64,
    },
}

fn one_cycle_pct_start() -> f64 {
    0.3
}
fn one_cycle_div_factor() -> f64 {
    25.0
}
fn one_cycle_final_div_factor() -> f64 {
    1e4
}
fn warmup_fraction() -> f64 {
    0.05
}

impl Schedule {
    /// Learning rate of `epoch` (0-based) out of `epochs`.
    pub fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / (*every).max(1)) as i32),
            Schedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            Schedule::Cosine { min } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            // Per-step schedules: the rate of the epoch's first step.
            Schedule::OneCycle { .. } | Schedule::WarmupCosine { .. } => base,
        }
    }
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

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A directory was given instead of a file.
    #[error("config {path} is a directory; expected a TOML file such as configs/mlp.toml")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is empty.
    #[error("config {path} is empty; expected [experiment], [model] and [training] sections")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// TOML syntax, an unknown key, a wrong type or a missing key.
    #[error("config {path}, line {line}, column {column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What TOML or the schema reported.
        message: String,
    },
    /// A value outside its range, or choices that do not fit together.
    #[error("config {path}: {field} {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `training.learning_rate`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A command-line override (`--set KEY=VALUE`, `--epochs N`, `--seed N`) with bad syntax, an
    /// unknown key, a wrong type or an invalid value.
    #[error("{arg}: {message}")]
    Override {
        /// The override as written: `--set training.learning_rate=abc`.
        arg: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// A validated experiment: every default resolved, every choice checked. Immutable.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    config: Config,
    source: PathBuf,
}

impl Config {
    /// Parses TOML text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Err(ConfigError::Empty { path: path.to_path_buf() });
        }
        toml::from_str(text).map_err(|e| {
            let mut start = e.span().map_or(0, |s| s.start);
            // Inside a table tagged by `kind` ([model], optimizers, noise) serde reports unknown
            // fields at the table: point at the key's own line when it is found there.
            if let (Some(span), Some(key)) = (e.span(), e.message().strip_prefix("unknown field `").and_then(|m| m.split('`').next())) {
                let body = text.get(span.clone()).unwrap_or_default();
                let mut offset = 0;
                for l in body.split_inclusive('\n') {
                    let trimmed = l.trim_start();
                    if trimmed.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                        start = span.start + offset + (l.len() - trimmed.len());
                        break;
                    }
                    offset += l.len();
                }
            }
            let (line, column) = if e.span().is_some() { line_col(text, start) } else { (1, 1) };
            // TOML's own messages span lines ("invalid array\nexpected `]`"): keep the error one line.
            let raw = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
            // serde does not say which key a schema error belongs to: name it from the text, then
            // say what serde reported in TOML words (config_messages).
            let key = match e.span() {
                Some(span) if is_schema_error(&raw) => key_at(text, start).map(|k| refine_key(text, span, k, &raw)),
                _ => None,
            };
            let message = schema_message(&raw, key.as_deref());
            ConfigError::Parse { path: path.to_path_buf(), line, column, message }
        })
    }

    /// The TOML text of this config (what is saved in a run directory).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a Config always serializes to TOML")
    }
}

/// The beginnings of serde's messages about the schema (types, keys, choices), as opposed to
/// TOML syntax.
const SCHEMA_ERRORS: [&str; 9] = ["invalid type", "invalid value", "invalid length", "missing field", "unknown variant", "unknown field", "number too large", "wanted string or table", "data did not match"];

fn is_schema_error(message: &str) -> bool {
    SCHEMA_ERRORS.iter().any(|p| message.starts_with(p))
}

/// A schema error of serde in TOML words, prefixed with the key it is about (an unknown or a
/// missing key names its key itself).
fn schema_message(raw: &str, key: Option<&str>) -> String {
    if !is_schema_error(raw) {
        return raw.to_string();
    }
    let restated = crate::config_messages::restate(raw, key);
    match key {
        Some(key) if !raw.starts_with("unknown field") && !raw.starts_with("missing field") => format!("{key}: {restated}"),
        _ => restated,
    }
}

/// The value serde says it found, as written in TOML (`"two"`, `-3`, `true`); `None` for a table,
/// an array or a message without one.
fn found_literal(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        return rest.split('`').next().map(|v| format!("\"{v}\""));
    }
    let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "))?;
    let found = rest.split(", expected ").next()?;
    if let Some(s) = found.strip_prefix("string ") {
        return Some(s.to_string());
    }
    ["integer ", "floating point ", "boolean "].iter().find_map(|p| found.strip_prefix(p)).map(|v| v.trim_matches('`').to_string())
}

/// Narrows `key` from a table to the key inside it that holds the value serde complained about:
/// inside a table tagged by `kind` ([model], an optimizer, a schedule, noise) serde reports the
/// whole table, so `[model]` becomes `model.hidden` when `hidden = ["a"]` holds the `"a"` it
/// found (and `training.optimizer` becomes `training.optimizer.momentum`). Unchanged when the
/// value is not found once in the table's text.
fn refine_key(text: &str, span: std::ops::Range<usize>, key: String, message: &str) -> String {
    let Some(literal) = found_literal(message) else { return key };
    let body = text.get(span).unwrap_or_default();
    let table = key.trim_start_matches('[').trim_end_matches(']').to_string();
    let is_table = key.starts_with('[') || body.trim_start().starts_with('{');
    if !is_table {
        return key;
    }
    let mut hits = Vec::new();
    for line in body.lines() {
        // Each `ident = value` of the line: the value runs to the next `ident =`.
        let eqs: Vec<usize> = line.match_indices('=').map(|(i, _)| i).collect();
        for (n, &eq) in eqs.iter().enumerate() {
            let ident: String = line[..eq].trim_end().chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<Vec<_>>().into_iter().rev().collect();
            if ident.is_empty() {
                continue;
            }
            let end = eqs.get(n + 1).map_or(line.len(), |&next| line[..next].trim_end().trim_end_matches(|c: char| c.is_alphanumeric() || c == '_').len());
            let value = &line[eq + 1..end.max(eq + 1)];
            let value_tokens = value.split(|c: char| ",[]{} ".contains(c)).filter(|t| !t.is_empty());
            if value_tokens.into_iter().any(|t| t == literal) || (literal.starts_with('"') && value.contains(&literal)) {
                hits.push(ident);
            }
        }
    }
    hits.dedup();
    match hits.as_slice() {
        [one] if one != &table && !table.ends_with(&format!(".{one}")) => format!("{table}.{one}"),
        _ => key,
    }
}

/// The key written on the line of `offset` (`training.epochs`), or the table whose header is on it
/// (`[training]`); `None` for a line that is neither (a value continued over several lines).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..)?.lines().next().unwrap_or_default().trim();
    if line.starts_with('[') {
        let name = line.trim_start_matches('[').split(']').next()?.trim();
        return (!name.is_empty()).then(|| format!("[{name}]"));
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() || key.len() == line.len() || !key.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return None;
    }
    let table = text.get(..line_start)?.lines().rev().map(str::trim).find(|l| l.starts_with('['));
    Some(match table.and_then(|t| t.trim_start_matches('[').split(']').next()) {
        Some(t) if !t.trim().is_empty() => format!("{}.{key}", t.trim()),
        _ => key.to_string(),
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Experiment {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
        let text = Experiment::read_text(path)?;
        Experiment::new(Config::parse(&text, path)?, path)
    }

    /// The text of a config file: a directory, a file over 1 MiB or bytes that are not UTF-8 are
    /// refused with the file's name.
    fn read_text(path: &Path) -> Result<String, ConfigError> {
        if path.is_dir() {
            return Err(ConfigError::IsDirectory { path: path.to_path_buf() });
        }
        // Capped: `--config /dev/zero` (or any huge file) must not exhaust the memory.
        const MAX_BYTES: u64 = 1 << 20;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_BYTES + 1), &mut bytes))
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other("it is larger than 1 MiB; expected a small TOML file such as configs/mlp.toml"),
            });
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bad = e.as_bytes()[valid];
                let (line, column) = line_col(std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default(), valid);
                return Err(ConfigError::Parse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!("byte 0x{bad:02x} is not UTF-8 text; expected a TOML text file"),
                });
            }
        };
        Ok(text)
    }

    /// Validates a parsed config; `source` names the file in errors, and a relative `data.dir` is
    /// made absolute from its folder (so the run, and the config saved in it, read the same data
    /// from any working directory).
    pub fn new(mut config: Config, source: &Path) -> Result<Experiment, ConfigError> {
        if let Some(dir) = &config.data.dir
            && dir.is_relative()
        {
            let base = source.parent().unwrap_or(Path::new(""));
            let joined = base.join(dir);
            config.data.dir = Some(std::path::absolute(&joined).unwrap_or(joined));
        }
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            path: source.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let c = &config;
        let t = &c.training;
        if c.experiment.name.trim().is_empty()
            || c.experiment.name.contains(['/', '\\'])
            || c.experiment.name.starts_with('.')
        {
            return Err(invalid("experiment.name", format!("= {:?} must be a non-empty name usable as a directory name", c.experiment.name)));
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err(invalid("training.learning_rate", format!("= {} must be a finite number > 0", t.learning_rate)));
        }
        if t.batch_size == 0 {
            return Err(invalid("training.batch_size", "= 0 must be at least 1".into()));
        }
        if t.epochs == 0 {
            return Err(invalid("training.epochs", "= 0 must be at least 1".into()));
        }
        if t.steps == Some(0) {
            return Err(invalid("training.steps", "= 0 must be at least 1 (or left out)".into()));
        }
        if t.log_every == 0 {
            return Err(invalid("training.log_every", "= 0 must be at least 1".into()));
        }
        for (field, v) in [("training.l2", t.l2), ("training.l1", t.l1), ("training.beta", t.beta)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(field, format!("= {v} must be a finite number >= 0")));
            }
        }
        match &t.schedule {
            Schedule::Step { every: 0, .. } => return Err(invalid("training.schedule.every", "= 0 must be at least 1".into())),
            Schedule::Step { gamma, .. } | Schedule::Exponential { gamma } if !(gamma.is_finite() && *gamma > 0.0) => {
                return Err(invalid("training.schedule.gamma", format!("= {gamma} must be a finite number > 0")));
            }
            Schedule::Cosine { min } if !(min.is_finite() && *min >= 0.0 && *min <= t.learning_rate) => {
                return Err(invalid("training.schedule.min", format!("= {min} must be between 0 and the learning rate")));
            }
            other => crate::schedule::validate(other, t.learning_rate).map_err(|(field, message)| invalid(&format!("training.schedule.{field}"), message))?,
        }
        if !(t.label_smoothing.is_finite() && (0.0..1.0).contains(&t.label_smoothing)) {
            return Err(invalid("training.label_smoothing", format!("= {} must be in [0, 1)", t.label_smoothing)));
        }
        if t.label_smoothing > 0.0 && c.model.task() != Task::Classifier {
            return Err(invalid("training.label_smoothing", "smooths the class labels of a classifier; an autoencoder has none".into()));
        }
        if let Some(device) = &c.device
            && device.parse::<crate::backend::Backend>().is_err()
        {
            return Err(invalid("device", format!("= {device:?} is not a backend: expected one of {}", crate::backend::BACKENDS.join(", "))));
        }
        if let Some(es) = &t.early_stopping {
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(invalid("training.early_stopping.min_delta", format!("= {} must be a finite number >= 0", es.min_delta)));
            }
            if es.patience == 0 {
                return Err(invalid("training.early_stopping.patience", "= 0 must be at least 1".into()));
            }
            if es.monitor == Monitor::ValAccuracy && c.model.task() != Task::Classifier {
                return Err(invalid("training.early_stopping.monitor", "= \"val_accuracy\" needs a classifier; autoencoders have no accuracy (use \"val_loss\")".into()));
            }
        }
        t.optimizer.validate().map_err(|(field, message)| invalid(&format!("training.optimizer.{field}"), message))?;
        // Before the model's own checks, which compute shapes from these numbers.
        let input = input_shape(&c.data);
        check_model_sizes(&c.model, input).map_err(|(field, message)| invalid(&field, message))?;
        c.model.validate_for(input).map_err(|e| invalid("model", format!("{e} (for {}x{}x{} images)", input[0], input[1], input[2])))?;

        let d = &c.data;
        if let Some(f) = d.validation_fraction
            && !(f > 0.0 && f < 1.0)
        {
            return Err(invalid("data.validation_fraction", format!("= {f} must be strictly between 0 and 1")));
        }
        if d.train_limit == Some(0) || d.test_limit == Some(0) {
            return Err(invalid("data.train_limit/test_limit", "must be at least 1 when given".into()));
        }
        if let Some(images) = &d.images {
            if d.dir.is_none() && d.set != Some(NamedSet::Lfw) {
                return Err(invalid("data.images", "needs the folder of images: set data.dir = \"path/to/images\" (or set = \"lfw\")".into()));
            }
            images.validate().map_err(|e| match e {
                mnist_data::DataError::InvalidSetting { field, value, expected } => invalid(field, format!("= {value} is invalid: expected {expected}")),
                other => invalid("data.images", other.to_string()),
            })?;
        }
        if let Some(augment) = &d.augment {
            augment.validate().map_err(|e| match e {
                mnist_data::DataError::InvalidSetting { field, value, expected } => invalid(&format!("data.{field}"), format!("= {value} is invalid: expected {expected}")),
                other => invalid("data.augment", other.to_string()),
            })?;
            if c.model.task() != Task::Classifier {
                return Err(invalid("data.augment", "moves the inputs of a classifier; an autoencoder's targets would no longer match its inputs".into()));
            }
        }
        for (field, noise) in [("data.train_noise", &d.train_noise), ("data.eval_noise", &d.eval_noise)] {
            if let Some(n) = noise {
                n.validate().map_err(|e| match e {
                    // `noise.level` → `data.train_noise.level`
                    mnist_data::DataError::InvalidSetting { field: key, value, expected } => {
                        let key = key.strip_prefix("noise.").unwrap_or(key);
                        invalid(&format!("{field}.{key}"), format!("= {value} is invalid: expected {expected}"))
                    }
                    other => invalid(field, other.to_string()),
                })?;
            }
        }

        // Choices that do not fit together.
        let task = c.model.task();
        match (task, t.loss) {
            (Task::Classifier, LossKind::CrossEntropy) => {}
            (Task::Classifier, other) => {
                return Err(invalid("training.loss", format!("= \"{}\" does not fit a classifier; use \"cross_entropy\"", loss_name(other))));
            }
            (_, LossKind::CrossEntropy) => {
                return Err(invalid("training.loss", "= \"cross_entropy\" is for classifiers; an autoencoder reconstructs images: use \"mse\" or \"bce\"".into()));
            }
            (_, LossKind::Bce) => {
                if !c.model.sigmoid_output() {
                    return Err(invalid("training.loss", "= \"bce\" needs a model whose output is a sigmoid (set the output activation to \"sigmoid\") or use \"mse\"".into()));
                }
                if d.normalization == Normalization::Standardize {
                    return Err(invalid("training.loss", "= \"bce\" needs targets in [0, 1], but data.normalization = \"standardize\" gives values outside it; use \"unit\" or \"min_max\", or loss \"mse\"".into()));
                }
            }
            (_, LossKind::Mse) => {}
        }
        if t.beta != 1.0 && task != Task::VariationalAutoencoder {
            return Err(invalid("training.beta", format!("= {} only applies to variational autoencoders", t.beta)));
        }
        if t.l1 > 0.0 && task == Task::Classifier {
            return Err(invalid("training.l1", "penalizes the latent activity of an autoencoder; a classifier has none".into()));
        }
        if t.per_step_log && task == Task::Classifier {
            return Err(invalid("training.per_step_log", "logs reconstruction error and hidden sparsity, which only autoencoders have".into()));
        }
        Ok(Experiment { config, source: source.to_path_buf() })
    }

    /// Checks what only the loaded data can tell: the training split is not smaller than a batch.
    pub fn check_split(&self, train_samples: usize) -> Result<(), ConfigError> {
        let batch = self.config.training.batch_size;
        if batch > train_samples {
            return Err(ConfigError::Invalid {
                path: self.source.clone(),
                field: "training.batch_size".into(),
                message: format!("= {batch} is larger than the training split ({train_samples} samples); use at most {train_samples}"),
            });
        }
        Ok(())
    }

    /// Where the data of this experiment is read from; see [`DataSection::source`]. Named sets are
    /// looked for above the config file's folder and the working directory.
    pub fn data_source(&self) -> Result<DataSource, mnist_data::DataError> {
        let mut roots: Vec<PathBuf> = self.source.parent().map(Path::to_path_buf).into_iter().collect();
        roots.extend(std::env::current_dir().ok());
        self.config.data.source(&roots)
    }

    /// The image folder this experiment reads, when it reads one: `dir` with a `[data.images]`
    /// table, or the named set `lfw` (found like every named set when `dir` is left out).
    pub fn image_folder(&self) -> Result<Option<ImageFolder>, mnist_data::DataError> {
        let d = &self.config.data;
        if d.images.is_none() && d.set != Some(NamedSet::Lfw) {
            return Ok(None);
        }
        let root = match (&d.dir, d.set) {
            (Some(dir), _) => dir.clone(),
            (None, set) => self.data_source_of(set.unwrap_or(NamedSet::Lfw))?,
        };
        Ok(Some(ImageFolder { root, options: d.images.clone().unwrap_or_default() }))
    }

    fn data_source_of(&self, set: NamedSet) -> Result<PathBuf, mnist_data::DataError> {
        let mut roots: Vec<PathBuf> = self.source.parent().map(Path::to_path_buf).into_iter().collect();
        roots.extend(std::env::current_dir().ok());
        mnist_data::home::locate(set, &roots)
    }

    /// `[channels, height, width]` of the images as far as the config tells: `[data.images]`
    /// channels and size (28x28 when no size is given), else MNIST's `[1, 28, 28]`. The data's
    /// own shape is checked again with [`Experiment::check_input_shape`] once it is loaded.
    pub fn input_shape(&self) -> [usize; 3] {
        input_shape(&self.config.data)
    }

    /// Checks that the model fits `[channels, height, width]` images (every layer's size; a
    /// decoder ending at their size); the error names the layer.
    pub fn check_input_shape(&self, input: [usize; 3]) -> Result<(), ConfigError> {
        self.config.model.validate_for(input).map_err(|e| ConfigError::Invalid {
            path: self.source.clone(),
            field: "model".into(),
            message: format!("{e} (for the data's {}x{}x{} images)", input[0], input[1], input[2]),
        })
    }

    /// The validated config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The file it came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The same experiment on the backend named by `--device` (when given), validated again.
    /// (Other command-line settings are `--set` overrides, applied by [`Experiment::load_with`].)
    pub fn with_device(&self, device: Option<String>) -> Result<Experiment, ConfigError> {
        let mut config = self.config.clone();
        if device.is_some() {
            config.device = device;
        }
        Experiment::new(config, &self.source)
    }
}

/// The most units, filters or latent dimensions one layer may have: far above any MNIST model
/// (the seed configs use at most 512), and low enough that no parameter or activation count of an
/// accepted model overflows. Those counts size the trainer's memory check; one that wrapped
/// around (a 2^32 kernel counts 0 weights) would let a model of 2^64 weights through to the
/// allocator instead of a clear error.
const MAX_LAYER_SIZE: i64 = 1 << 20;
/// The most layers one list (`hidden`, `conv`, `encoder`, ...) may hold.
const MAX_LAYERS: usize = 1024;
/// Keys of the `[model]` table that are windows or strides, bounded by the side of the images.
const WINDOW_KEYS: [&str; 4] = ["kernel_size", "output_kernel_size", "pool_size", "stride"];

/// Checks every number and layer list of `[model]` against the limits above; on failure returns
/// the key (`model.conv[0].kernel_size`) and what is wrong.
fn check_model_sizes(model: &ModelConfig, input: [usize; 3]) -> Result<(), (String, String)> {
    let side = input[1].max(input[2]) as i64;
    match toml::Value::try_from(model) {
        Ok(value) => check_sizes(&value, "model", side),
        // Only a number beyond TOML's 64-bit signed integers fails to convert.
        Err(_) => Err(("model".into(), format!("holds a size larger than {MAX_LAYER_SIZE}, the most a layer may have"))),
    }
}

fn check_sizes(value: &toml::Value, field: &str, side: i64) -> Result<(), (String, String)> {
    match value {
        toml::Value::Table(table) => table.iter().try_for_each(|(k, v)| check_sizes(v, &format!("{field}.{k}"), side)),
        toml::Value::Array(items) => {
            if items.len() > MAX_LAYERS {
                return Err((field.into(), format!("lists {} layers; expected at most {MAX_LAYERS}", items.len())));
            }
            items.iter().enumerate().try_for_each(|(i, v)| check_sizes(v, &format!("{field}[{i}]"), side))
        }
        toml::Value::Integer(n) => {
            let key = field.rsplit('.').next().unwrap_or(field).split('[').next().unwrap_or_default();
            if WINDOW_KEYS.contains(&key) && *n > side {
                return Err((field.into(), format!("= {n} is too large: kernels, pooling windows and strides are at most {side}, the side of the images")));
            }
            if *n > MAX_LAYER_SIZE {
                return Err((field.into(), format!("= {n} is too large: a layer has at most {MAX_LAYER_SIZE} units, filters or latent dimensions")));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// See [`Experiment::input_shape`].
fn input_shape(d: &DataSection) -> [usize; 3] {
    let [c, h, w] = mnist_models::IMAGE_SHAPE;
    match &d.images {
        Some(images) => {
            let [h, w] = images.size.unwrap_or([h, w]);
            [images.channels, h, w]
        }
        None => [c, h, w],
    }
}

fn loss_name(loss: LossKind) -> &'static str {
    match loss {
        LossKind::Mse => "mse",
        LossKind::Bce => "bce",
        LossKind::CrossEntropy => "cross_entropy",
    }
}

// ---------------------------------------------------------------------------------------------
// Command-line overrides (`--set KEY=VALUE`) and the differences `--resume` reports

impl Config {
    /// Parses TOML text with `overrides` applied to its document first, in order: an override is
    /// typed and checked for unknown keys by the same deserialization as the file, and an error it
    /// causes names it (`--set training.learning_rate=abc: ...`) instead of a line of the file.
    /// An error the file has on its own is reported as [`Config::parse`] reports it.
    pub fn parse_with(text: &str, path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
        let Some(last) = overrides.last() else { return Config::parse(text, path) };
        if text.trim().is_empty() {
            return Err(ConfigError::Empty { path: path.to_path_buf() });
        }
        // TOML syntax is the file's alone: report it with its line and column.
        let doc: toml::Table = match text.parse() {
            Ok(doc) => doc,
            Err(e) => return Err(Config::parse(text, path).err().unwrap_or_else(|| file_parse_error(path, e.message()))),
        };
        let (rendered, e) = match deserialize_with(&doc, overrides)? {
            Ok(config) => return Ok(config),
            Err(failed) => failed,
        };
        // The override at fault is the last one without which the error is not the same.
        let same_error = |others: &[Override]| matches!(deserialize_with(&doc, others), Ok(Err((_, other))) if other.message() == e.message());
        let culprit = match (0..overrides.len()).rev().find(|&i| !same_error(&[&overrides[..i], &overrides[i + 1..]].concat())) {
            Some(i) => &overrides[i],
            None => match Config::parse(text, path) {
                // No single override's: the file's own error, reported with its line.
                Err(own) => return Err(own),
                // Several overrides together.
                Ok(_) => last,
            },
        };
        let raw = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
        let message = schema_message(&raw, schema_error_key(&rendered, &e).as_deref());
        Err(ConfigError::Override { arg: culprit.label.clone(), message })
    }
}

/// `doc` with `overrides` applied, deserialized from its TOML text as the file is: serde's errors
/// then carry a position in that text from which the key is read back (deserializing the table
/// itself reports none). A failure comes with the text.
fn deserialize_with(doc: &toml::Table, overrides: &[Override]) -> Result<Result<Config, (String, toml::de::Error)>, ConfigError> {
    let mut doc = doc.clone();
    for o in overrides {
        o.apply(&mut doc)?;
    }
    let rendered = toml::to_string(&doc).map_err(|e| ConfigError::Override {
        arg: overrides.last().map_or_else(|| "--set".into(), |o| o.label.clone()),
        message: e.to_string(),
    })?;
    Ok(toml::from_str::<Config>(&rendered).map_err(|e| (rendered, e)))
}

fn file_parse_error(path: &Path, message: &str) -> ConfigError {
    ConfigError::Parse { path: path.to_path_buf(), line: 1, column: 1, message: message.lines().collect::<Vec<_>>().join(", ") }
}

/// The field of serde's `unknown field `x`, expected ...`.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `").and_then(|m| m.split('`').next())
}

/// The dotted key a schema error of `text` (a document written by `toml::to_string`: one key per
/// line under `[table]` headers) is about: the key itself, or for an unknown field the table's
/// name and the field, or the table of a missing field.
fn schema_error_key(text: &str, e: &toml::de::Error) -> Option<String> {
    let span = e.span()?;
    let field = unknown_field(e.message());
    // A struct reports its unknown field at the key; a table tagged by `kind` at the whole table:
    // find the key's line in it (as `Config::parse` does).
    let mut start = span.start;
    if let Some(field) = field {
        let mut offset = 0;
        for l in text.get(span.clone()).unwrap_or_default().split_inclusive('\n') {
            let trimmed = l.trim_start();
            if trimmed.strip_prefix(field).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                start = span.start + offset + (l.len() - trimmed.len());
                break;
            }
            offset += l.len();
        }
    }
    let at = refine_key(text, span.clone(), key_at(text, start)?, e.message());
    // A table header: the unknown key is the table itself (`[trainin]`) or one inside it, and a
    // missing or mistyped field belongs to the table.
    let Some(table) = at.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else { return Some(at) };
    Some(match field {
        Some(field) if table != field && !table.ends_with(&format!(".{field}")) => format!("{table}.{field}"),
        _ => table.to_string(),
    })
}

impl Experiment {
    /// [`Experiment::load`] with `overrides` applied to the file's document before it is
    /// deserialized and validated ([`Config::parse_with`]); a value one of them makes invalid is
    /// reported under its name. The source stays the file.
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Experiment, ConfigError> {
        let text = Experiment::read_text(path)?;
        Experiment::parse_with(&text, path, overrides)
    }

    /// [`Experiment::load_with`] on the text of a file; `path` only names it in errors.
    pub fn parse_with(text: &str, path: &Path, overrides: &[Override]) -> Result<Experiment, ConfigError> {
        let config = Config::parse_with(text, path, overrides)?;
        let Some(last) = overrides.last() else { return Experiment::new(config, path) };
        match Experiment::new(config, path) {
            Err(ConfigError::Invalid { path, field, message }) => {
                let same_error = |others: &[Override]| {
                    let again = Config::parse_with(text, &path, others).and_then(|c| Experiment::new(c, &path));
                    matches!(again, Err(ConfigError::Invalid { field: f, message: m, .. }) if f == field && m == message)
                };
                // As for a schema error: the last override without which the error changes; when
                // none is, the file's own mistake stays the file's.
                let culprit = match (0..overrides.len()).rev().find(|&i| !same_error(&[&overrides[..i], &overrides[i + 1..]].concat())) {
                    Some(i) => &overrides[i],
                    None if same_error(&[]) => return Err(ConfigError::Invalid { path, field, message }),
                    None => last,
                };
                Err(ConfigError::Override { arg: culprit.label.clone(), message: format!("{field} {message}") })
            }
            other => other,
        }
    }
}

impl Schedule {
    /// Whether the rate of an epoch depends on the total number of epochs (a cosine decays over
    /// all of them): a finished run can then not be extended to more epochs and end as a run that
    /// was given them from the start would.
    pub fn depends_on_epochs(&self) -> bool {
        match self {
            Schedule::Constant | Schedule::Step { .. } | Schedule::Exponential { .. } => false,
            Schedule::Cosine { .. } | Schedule::OneCycle { .. } | Schedule::WarmupCosine { .. } => true,
        }
    }

    /// The schedule's `kind` in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step { .. } => "step",
            Schedule::Exponential { .. } => "exponential",
            Schedule::Cosine { .. } => "cosine",
            Schedule::OneCycle { .. } => "one_cycle",
            Schedule::WarmupCosine { .. } => "warmup_cosine",
        }
    }
}

/// A key whose value differs between the config saved in a run and the one given now.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The dotted key: `training.learning_rate`.
    pub key: String,
    /// Its value in the saved config, in TOML syntax; `None` when it is not set there.
    pub saved: Option<String>,
    /// Its value in the config given now.
    pub given: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        write!(f, "{} = {} in the run, {} now", self.key, show(&self.saved), show(&self.given))
    }
}

/// Every key whose value differs between `saved` and `given`, by dotted key in the order of the
/// file; arrays are compared whole (`model.hidden = [64] in the run, [128] now`).
pub fn differences(saved: &Config, given: &Config) -> Vec<Difference> {
    let (Ok(a), Ok(b)) = (toml::Value::try_from(saved), toml::Value::try_from(given)) else {
        // Only an integer beyond TOML's (a seed > 2^63 - 1 set from code) fails to convert.
        return if saved == given { Vec::new() } else { vec![Difference { key: "(config)".into(), saved: None, given: None }] };
    };
    let mut out = Vec::new();
    diff_values("", Some(&a), Some(&b), &mut out);
    out
}

fn diff_values(key: &str, a: Option<&toml::Value>, b: Option<&toml::Value>, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for k in keys {
                let sub = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                diff_values(&sub, a.get(k), b.get(k), out);
            }
        }
        (a, b) if a != b => out.push(Difference { key: key.into(), saved: a.map(|v| v.to_string()), given: b.map(|v| v.to_string()) }),
        _ => {}
    }
}

