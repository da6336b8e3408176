//! Validation of a parsed config, once, into the immutable [`Experiment`] every command uses.

use std::path::{Path, PathBuf};

use mnist_data::{DataSource, ImageFolder, NamedSet, Normalization};
use mnist_models::{LossKind, ModelConfig, Task};

use crate::error::ConfigError;
use crate::overrides::Override;
use crate::parse::line_col;
use crate::schema::{Config, DataSection};
use crate::schedule::Schedule;
use crate::schema::Monitor;


/// A validated experiment: every default resolved, every choice checked. Immutable.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    config: Config,
    source: PathBuf,
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
        if let Some(decay) = t.ema.filter(|d| !(d.is_finite() && *d > 0.0 && *d < 1.0)) {
            return Err(invalid("training.ema", format!("= {decay} must be a decay between 0 and 1 (exclusive), e.g. 0.999")));
        }
        if t.label_smoothing > 0.0 && c.model.task() != Task::Classifier {
            return Err(invalid("training.label_smoothing", "smooths the class labels of a classifier; an autoencoder has none".into()));
        }
        if let Some(device) = &c.device
            && device.parse::<mnist_backend::Backend>().is_err()
        {
            return Err(invalid("device", format!("= {device:?} is not a backend: expected one of {}", mnist_backend::BACKENDS.join(", "))));
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
