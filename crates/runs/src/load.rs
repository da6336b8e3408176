//! Evaluation of a saved run: the model is rebuilt from the run's saved config alone, its weights
//! loaded from a checkpoint, and the chosen split evaluated with the training-time normalization.

use std::path::Path;

use burn::module::Module;
use mnist_models::{Model, ModelConfig};
use serde::Serialize;

use crate::error::LoadError;
use mnist_backend::Backend;
use mnist_config::{Config, Experiment};
use crate::data::{Prepared, prepare};
use crate::evaluate::{Averages, Code, EVAL_BATCH, eval_seed, evaluate_code, objective};
use crate::run_dir::{CONFIG_FILE, Checkpoint, RunDir, RunError, RunInfo};

/// Which split to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
pub fn load_run(run_dir: &Path, checkpoint: &str, device: Option<&str>) -> Result<LoadedRun, LoadError> {
    let run = RunDir::open(run_dir)?;
    let config_path = run.file(CONFIG_FILE);
    let experiment = Experiment::new(Config::parse(&run.read_config()?, &config_path)?, &config_path)?;
    let info = run.read_info()?.ok_or_else(|| RunError::NeverStarted(run_dir.to_path_buf()))?;
    let checkpoint = run.resolve_checkpoint(checkpoint)?;
    let (backend, device) = Backend::open(device.or(experiment.config().device.as_deref()))?;
    experiment.check_input_shape(info.input_shape)?;
    let model = experiment.config().model.init_for(info.input_shape, &device);
    backend.check_memory(&model.summary(), 1, EVAL_BATCH, info.split_sizes.iter().sum())?;
    let model = load_weights(model, &checkpoint, &experiment.config().model, run_dir)?;
    Ok(LoadedRun { run, experiment, info, checkpoint, model, backend, device })
}

/// Loads a checkpoint's weights into `model`, built from `config` (the `[model]` of the run in
/// `run_dir`). A checkpoint of another model kind or size is refused with both models named; a
/// file that is not a complete Burn weight file is reported as such.
pub fn load_weights(model: Model, checkpoint: &Checkpoint, config: &ModelConfig, run_dir: &Path) -> Result<Model, LoadError> {
    let path = checkpoint.model_file();
    if let Some(theirs) = checkpoint.state.model.as_ref().filter(|m| *m != config) {
        return Err(LoadError::Weights {
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
        return Err(LoadError::Weights { path, reason: "the file does not exist; expected the model.bpk that `train` writes in every checkpoint".into() });
    }
    check_weight_file(&path).map_err(|reason| LoadError::Weights { path: path.clone(), reason })?;
    // Burn's loader returns errors for what the check above cannot see, but a file it does not
    // expect can still make it panic: the panic becomes the same typed error (a fallback; the
    // check is what keeps it from allocating from corrupt sizes).
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.try_load_file(path.clone()))).unwrap_or_else(|panic| {
        let message = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("no message");
        Err(burn::store::RecordError::Io(format!("Burn's loader failed on it: {message}")))
    });
    loaded.map_err(|e| {
        let text = e.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" ");
        let reason = if ["Missing tensors", "shape mismatch", "Unused", "unused"].iter().any(|k| text.contains(k)) {
            format!("its weights do not fit the {} of {}/config.toml ({text}); is it a checkpoint of another model kind or size?", describe_model(config), run_dir.display())
        } else {
            format!("the file is truncated or is not a Burn weight file ({text}); expected the model.bpk that `train` writes")
        };
        LoadError::Weights { path: path.clone(), reason }
    })
}

/// Checks a `model.bpk` before Burn loads it, against the file's own length: the fixed header
/// (magic bytes, format version, metadata length), then every tensor's type. Burn reserves the
/// metadata length the header declares (up to 100 MB) before reading it, so a corrupt length in a
/// small file would make it allocate that much; and it panics on a tensor stored as integers
/// where the model has floats. Tensor data is not read here: Burn bounds its ranges by the file.
fn check_weight_file(path: &Path) -> Result<(), String> {
    use burn::store::burn_pack::{DType, FORMAT_VERSION, HEADER_SIZE, MAGIC_NUMBER, Reader};
    use std::io::Read;

    let expected = "expected the model.bpk that `train` writes";
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let len = file.metadata().map_err(|e| format!("cannot read it: {e}"))?.len();
    let mut header = [0u8; HEADER_SIZE];
    if file.read_exact(&mut header).is_err() {
        return Err(format!("the file is truncated: it holds {len} bytes, fewer than the {HEADER_SIZE}-byte header of a Burn weight file; {expected}"));
    }
    if header[..4] != MAGIC_NUMBER.to_le_bytes() {
        return Err(format!(
            "the file is not a Burn weight file: it starts with bytes {:02x?}, not the magic bytes {:02x?}; {expected}",
            &header[..4],
            MAGIC_NUMBER.to_le_bytes()
        ));
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version > FORMAT_VERSION {
        return Err(format!("the file is a Burn weight file of format version {version}, newer than the {FORMAT_VERSION} this build reads; {expected}"));
    }
    let metadata = u64::from(u32::from_le_bytes([header[6], header[7], header[8], header[9]]));
    let available = len.saturating_sub(HEADER_SIZE as u64);
    if metadata > available {
        return Err(format!(
            "the file is truncated or corrupt: its header declares {metadata} bytes of tensor metadata but only {available} follow the header; {expected}"
        ));
    }
    drop(file);
    let tensors = Reader::from_file_exact(path).and_then(Reader::into_tensors).map_err(|e| {
        let text = e.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" ");
        format!("the file is truncated or is not a Burn weight file ({text}); {expected}")
    })?;
    if let Some(t) = tensors.iter().find(|t| t.dtype != DType::F32) {
        // The name comes from the file: `{:?}` quotes and escapes it, so the message stays one line.
        return Err(format!("tensor {:?} is stored as {:?}, but every weight is a 32-bit float (F32); {expected}", t.name, t.dtype));
    }
    Ok(())
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
    pub fn data(&self) -> Result<Prepared, LoadError> {
        Ok(prepare(&self.experiment, &self.device, Some(self.info.norm_stats))?)
    }

    /// Evaluates the model on a split.
    pub fn evaluate(&self, data: &Prepared, split: EvalSplit) -> Averages {
        self.evaluate_code(data, split, Code::Sampled)
    }

    /// Evaluates the model on a split, a VAE through the code `code` (other models ignore it).
    pub fn evaluate_code(&self, data: &Prepared, split: EvalSplit, code: Code) -> Averages {
        let (on, name) = match split {
            EvalSplit::Test => (&data.test, "test"),
            EvalSplit::Validation => (&data.validation, "validation"),
        };
        let c = self.experiment.config();
        evaluate_code(&self.model, on, &objective(c), &data.stats, EVAL_BATCH, eval_seed(c.experiment.seed, name), code)
    }
}
