//! Evaluation of a saved run: the model is rebuilt from the run's saved config alone, its weights
//! loaded from a checkpoint, and the chosen split evaluated with the training-time normalization.

use std::path::Path;

use burn::module::Module;
use mnist_models::Model;
use serde::Serialize;

use crate::TrainError;
use crate::backend::Backend;
use crate::config::{Config, Experiment};
use crate::data::{Prepared, prepare};
use crate::evaluate::{Averages, evaluate};
use crate::run_dir::{CONFIG_FILE, Checkpoint, RunDir, RunInfo};
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
    let info = run.read_info()?.ok_or_else(|| crate::run_dir::RunError::NothingToResume(run_dir.to_path_buf()))?;
    let checkpoint = run.resolve_checkpoint(checkpoint)?;
    let backend = Backend::resolve(device.or(experiment.config().device.as_deref()))?;
    let device = backend.device()?;
    let model = experiment.config().model.init(&device);
    let model = model.try_load_file(checkpoint.model_file()).map_err(|e| TrainError::Weights {
        path: checkpoint.model_file(),
        reason: format!("{e} (is this checkpoint from another model kind or size than {}?)", experiment.config().model.kind()),
    })?;
    Ok(LoadedRun { run, experiment, info, checkpoint, model, backend, device })
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
