//! Evaluation of a saved run: the model is rebuilt from the run's saved config alone, its weights
//! loaded from a checkpoint, and the chosen split evaluated with the training-time normalization.

use std::path::Path;

use burn::module::Module;
use mnist_models::{Model, ModelConfig};
use serde::Serialize;

use crate::TrainError;
use crate::backend::Backend;
use crate::config::{Config, Experiment};
use crate::data::{Prepared, prepare};
use crate::evaluate::{Averages, evaluate};
use crate::run_dir::{CONFIG_FILE, Checkpoint, RunDir, RunError, RunInfo};
use crate::train::{EVAL_BATCH, eval_seed, objective};

/// Which split to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalSplit {
    /// The test set.
    Test,
    /// The validation split (the test set when the run held none out).
    Validation,
}

/// A saved run, loaded for evaluation, pictures or export.
#[derive(Debug)]
pub struct LoadedRun {
    /// The run directory.
    pub run: RunDir,
    /// Its experiment, from the saved config.
    pub experiment: Experiment,
    /// Its run facts.
    pub info: RunInfo,
    /// The checkpoint the weights came from.
    pub checkpoint: Checkpoint,
    /// The model with those weights, on `device` (no autodiff).
    pub model: Model,
    /// The backend used.
    pub backend: Backend,
    /// The device.
    pub device: burn::prelude::Device,
}

/// Opens `run_dir`, rebuilds its model from the saved config and loads `checkpoint`
/// (`best`, `last` or a path). `device` overrides the backend.
pub fn load_run(run_dir: &Path, checkpoint: &str, device: Option<&str>) -> Result<LoadedRun, TrainError> {
    let run = RunDir::open(run_dir)?;
    let config_path = run.file(CONFIG_FILE);
    let experiment = Experiment::new(Config::parse(&run.read_config()?, &config_path)?, &config_path)?;
    let info = run.read_info()?.ok_or_else(|| RunError::NeverStarted(run_dir.to_path_buf()))?;
    let checkpoint = run.resolve_checkpoint(checkpoint)?;
    let (backend, device) = Backend::open(device.or(experiment.config().device.as_deref()))?;
    let model = experiment.config().model.init(&device);
    backend.check_memory(&model.summary(), 1, info.split_sizes.iter().sum())?;
    let model = load_weights(model, &checkpoint, &experiment.config().model, run_dir)?;
    Ok(LoadedRun { run, experiment, info, checkpoint, model, backend, device })
}

/// Loads a checkpoint's weights into `model`, built from `config` (the `[model]` of the run in
/// `run_dir`). A checkpoint of another model kind or size is refused with both models named; a
/// file that is not a complete Burn weight file is reported as such.
pub fn load_weights(model: Model, checkpoint: &Checkpoint, config: &ModelConfig, run_dir: &Path) -> Result<Model, TrainError> {
    let path = checkpoint.model_file();
    if let Some(theirs) = checkpoint.state.model.as_ref().filter(|m| *m != config) {
        return Err(TrainError::Weights {
            path,
            reason: format!(
                "the checkpoint holds a {} but {}/config.toml describes a {}; evaluate or resume a checkpoint with the run it belongs to",
                describe_model(theirs),
                run_dir.display(),
                describe_model(config)
            ),
        });
    }
    if !path.is_file() {
        return Err(TrainError::Weights { path, reason: "the file does not exist; expected the model.bpk that `train` writes in every checkpoint".into() });
    }
    model.try_load_file(path.clone()).map_err(|e| {
        let text = e.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" ");
        let reason = if ["Missing tensors", "shape mismatch", "Unused", "unused"].iter().any(|k| text.contains(k)) {
            format!("its weights do not fit the {} of {}/config.toml ({text}); is it a checkpoint of another model kind or size?", describe_model(config), run_dir.display())
        } else {
            format!("the file is truncated or is not a Burn weight file ({text}); expected the model.bpk that `train` writes")
        };
        TrainError::Weights { path: path.clone(), reason }
    })
}

/// `mlp model (hidden = [16], activation = "relu", dropout = 0.0)`: the kind and every setting.
pub fn describe_model(config: &ModelConfig) -> String {
    let settings = match toml::Value::try_from(config) {
        Ok(toml::Value::Table(table)) => table
            .iter()
            .filter(|(k, _)| k.as_str() != "kind")
            .map(|(k, v)| format!("{k} = {}", inline(v)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    if settings.is_empty() {
        return format!("{} model", config.kind());
    }
    format!("{} model ({settings})", config.kind())
}

fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(t) => format!("{{ {} }}", t.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect::<Vec<_>>().join(", ")),
        toml::Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

impl LoadedRun {
    /// Loads the run's data with its saved normalization.
    pub fn data(&self) -> Result<Prepared, TrainError> {
        Ok(prepare(&self.experiment, &self.device, Some(self.info.norm_stats))?)
    }

    /// Evaluates the model on a split.
    pub fn evaluate(&self, data: &Prepared, split: EvalSplit) -> Averages {
        let (on, name) = match split {
            EvalSplit::Test => (&data.test, "test"),
            EvalSplit::Validation => (&data.validation, "validation"),
        };
        let c = self.experiment.config();
        evaluate(&self.model, on, &objective(c), &data.stats, EVAL_BATCH, eval_seed(c.experiment.seed, name))
    }
}
