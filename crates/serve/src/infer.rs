//! The models behind the playground: each run loaded once (its last checkpoint, on the CPU) and
//! asked about one 28 × 28 drawing (answered by `mnist_inference::answer_drawing`). A run whose
//! checkpoint changed since (a `train` still running) is loaded again; a run that disappeared is
//! dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::prelude::*;
use mnist_data::Noise;
use mnist_inference::Answer;
use mnist_report::tensors::{Codes, encode_all, read_f32, to_grey};
use mnist_runs::{LoadedRun, RunDir, load_run};
use serde::Serialize;

use mnist_inference::digit::SIDE;

/// Test images whose codes make the latent plane's scatter.
const SCATTER: usize = 2000;

/// A loaded run and what was computed from it once.
struct Entry {
    /// The epoch of the checkpoint it was loaded from.
    epoch: usize,
    loaded: LoadedRun,
    /// 2-D codes of test images (models with a 2-value code), computed on first use.
    scatter: Option<Arc<Scatter>>,
}

/// The runs' models, shared by the server's requests.
#[derive(Default)]
pub struct Models {
    entries: Mutex<HashMap<PathBuf, Arc<Mutex<Entry>>>>,
}

/// The test set's codes in a 2-D latent plane.
#[derive(Debug, Clone, Serialize)]
pub struct Scatter {
    /// `[x, y]` per image.
    pub points: Vec<[f32; 2]>,
    /// The digit of each.
    pub labels: Vec<u8>,
    /// The plane's extent: `[x_min, x_max, y_min, y_max]` of the points.
    pub extent: [f32; 4],
}

/// Errors of inference, in the page's words.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The run could not be loaded.
    #[error("cannot load {0}")]
    Load(String),
    /// The model could not compute.
    #[error("{0}")]
    Compute(String),
}

impl Models {
    /// The run in `dir`, loaded on first use and again when it has a newer checkpoint.
    fn entry(&self, dir: &Path) -> Result<Arc<Mutex<Entry>>, InferError> {
        let run = RunDir::open(dir).map_err(|e| InferError::Load(e.to_string()))?;
        let epoch = run
            .last_checkpoint()
            .map_err(|e| InferError::Load(e.to_string()))?
            .map(|c| c.state.epoch)
            .ok_or_else(|| InferError::Load(format!("{}: no checkpoint yet", dir.display())))?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get(dir)
            && e.lock().unwrap_or_else(|p| p.into_inner()).epoch == epoch
        {
            return Ok(e.clone());
        }
        let loaded =
            load_run(dir, "last", Some("flex")).map_err(|e| InferError::Load(e.to_string()))?;
        let entry = Arc::new(Mutex::new(Entry {
            epoch,
            loaded,
            scatter: None,
        }));
        entries.insert(dir.to_path_buf(), entry.clone());
        Ok(entry)
    }

    /// Drops the runs whose directories are gone.
    pub fn forget_missing(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|dir, _| dir.join("config.toml").is_file());
    }

    /// Run `dir`'s answer to `digit` (784 grey levels in [0, 1]); `noise` sets a denoiser's noise
    /// strength (Gaussian `factor`, salt-and-pepper `level`), the run's own when `None`.
    pub fn answer(
        &self,
        dir: &Path,
        digit: &[f32],
        noise: Option<f32>,
    ) -> Result<Answer, InferError> {
        let entry = self.entry(dir)?;
        let entry = entry.lock().unwrap_or_else(|p| p.into_inner());
        mnist_inference::answer_drawing(&entry.loaded, digit, [1, SIDE, SIDE], noise)
            .map_err(|e| InferError::Compute(e.to_string()))
    }

    /// The image run `dir` decodes from the 2-D code `(x, y)`, grey levels (784).
    pub fn decode(&self, dir: &Path, x: f32, y: f32) -> Result<Vec<f32>, InferError> {
        let entry = self.entry(dir)?;
        let entry = entry.lock().unwrap_or_else(|p| p.into_inner());
        let run = &entry.loaded;
        let dim = run.experiment.config().model.latent_dim();
        if dim != Some(2) {
            return Err(InferError::Compute(format!(
                "{} has no 2-value code to click in",
                dir.display()
            )));
        }
        let code = Tensor::<2>::from_data(TensorData::new(vec![x, y], [1, 2]), &run.device);
        let decoded = run
            .model
            .decode(code)
            .ok_or_else(|| InferError::Compute("the model has no decoder".into()))?;
        let values = read_f32(decoded, "output").map_err(|e| InferError::Compute(e.to_string()))?;
        Ok(to_grey(&values, &run.info.norm_stats))
    }

    /// The codes of the first test images of run `dir`, for models with a 2-value code.
    pub fn scatter(&self, dir: &Path) -> Result<Arc<Scatter>, InferError> {
        let entry = self.entry(dir)?;
        let mut entry = entry.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = &entry.scatter {
            return Ok(s.clone());
        }
        let run = &entry.loaded;
        if run.experiment.config().model.latent_dim() != Some(2) {
            return Err(InferError::Compute(format!(
                "{} has no 2-value code",
                dir.display()
            )));
        }
        let data = run.data().map_err(|e| InferError::Load(e.to_string()))?;
        let n = SCATTER.min(data.test.dims()[0]);
        let labels = &data.test.labels;
        let codes: Option<Codes> = encode_all(
            &run.model,
            &data.test.clean().narrow(0, 0, n),
            &labels.clone().narrow(0, 0, n),
        )
        .map_err(|e| InferError::Compute(e.to_string()))?;
        let codes = codes.ok_or_else(|| InferError::Compute("the model has no encoder".into()))?;
        let points: Vec<[f32; 2]> = codes.values.chunks(2).map(|c| [c[0], c[1]]).collect();
        let ranges = codes.ranges();
        let scatter = Arc::new(Scatter {
            points,
            labels: codes.labels.clone(),
            extent: [ranges[0].0, ranges[0].1, ranges[1].0, ranges[1].1],
        });
        entry.scatter = Some(scatter.clone());
        Ok(scatter)
    }
}

/// The strength a run's noise has in its config, for the slider's start.
pub fn strength(noise: &Noise) -> f32 {
    match noise {
        Noise::Gaussian(g) => g.factor,
        Noise::SaltAndPepper(s) => s.level,
    }
}
