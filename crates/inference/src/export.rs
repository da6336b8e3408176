//! The `export` command: a run's trained weights as a safetensors file laid out for PyTorch
//! (dense kernels transposed to `[out, in]`, enum variant names dropped from the tensor names),
//! with the resolved config and the tensor list as JSON beside it. See `docs/export.md`.

use std::path::{Path, PathBuf};

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use mnist_models::Model;
use mnist_runs::load_run;
use serde::Serialize;

use crate::error::InferenceError;

/// One tensor of an exported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedTensor {
    /// Its name, e.g. `hidden.0.linear.weight`.
    pub name: String,
    /// Its shape, PyTorch's layout.
    pub shape: Vec<usize>,
    /// Its element type as safetensors writes it, e.g. `F32`.
    pub dtype: String,
}

/// What `export` wrote.
#[derive(Debug, Clone)]
pub struct ExportOutcome {
    /// The safetensors file.
    pub path: PathBuf,
    /// The JSON beside it.
    pub json: PathBuf,
    /// Its tensors, sorted by name.
    pub tensors: Vec<ExportedTensor>,
}

/// The JSON written beside the weights.
#[derive(Debug, Serialize)]
struct Sidecar<'a> {
    weights: String,
    model_kind: &'a str,
    layout: &'static str,
    checkpoint: String,
    epoch: usize,
    /// `[channels, height, width]` of the images the model takes (PyTorch's NCHW without N).
    input_shape: [usize; 3],
    norm_stats: mnist_data::NormStats,
    config: &'a mnist_config::Config,
    tensors: &'a [ExportedTensor],
}

/// The JSON path beside `out`: `model.safetensors` → `model.json`.
pub fn sidecar_path(out: &Path) -> PathBuf {
    out.with_extension("json")
}

/// Reads the tensor names, shapes and types from a safetensors file's header.
pub fn read_header(path: &Path) -> Result<Vec<ExportedTensor>, InferenceError> {
    let corrupt = |reason: String| crate::error::corrupt(path, reason);
    let bytes = std::fs::read(path).map_err(InferenceError::io("read", path))?;
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| corrupt("shorter than its 8-byte header length".into()))?;
    let header = usize::try_from(len)
        .ok()
        .and_then(|len| bytes.get(8..8 + len))
        .ok_or_else(|| corrupt("header length beyond the end of the file".into()))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| corrupt(format!("header is not JSON: {e}")))?;
    let mut tensors = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let shape = info["shape"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_u64().map(|d| d as usize))
                    .collect()
            })
            .unwrap_or_default();
        let dtype = info["dtype"].as_str().unwrap_or("?").to_string();
        tensors.push(ExportedTensor { name, shape, dtype });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tensors)
}

/// Writes `model`'s parameters to `out` (overwritten) in PyTorch's layout and returns the
/// tensors written. `kind` (the model's `kind`) goes into the file's metadata.
pub fn save_safetensors(
    model: &Model,
    kind: &str,
    out: &Path,
) -> Result<Vec<ExportedTensor>, InferenceError> {
    let mut store = SafetensorsStore::from_file(out)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .overwrite(true)
        .metadata("model_kind", kind)
        .metadata("layout", "pytorch");
    model
        .save_into(&mut store)
        .map_err(|e| InferenceError::Export {
            path: out.to_path_buf(),
            reason: e.to_string(),
        })?;
    read_header(out)
}

/// Exports the weights of `checkpoint` of the run in `run_dir` to `out` (overwritten), and the
/// config and tensor list to `out` with the extension `.json`.
pub fn export_run(
    run_dir: &Path,
    checkpoint: &str,
    out: &Path,
    device: Option<&str>,
) -> Result<ExportOutcome, InferenceError> {
    let loaded = load_run(run_dir, checkpoint, device)?;
    let config = loaded.experiment.config();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(InferenceError::io("create", parent))?;
    }
    let mut tensors = save_safetensors(&loaded.model, config.model.kind(), out)?;
    // PyTorch's batch normalizations count their training batches; Burn's do not.
    if crate::batch_norm_export::add_num_batches_tracked(out, loaded.checkpoint.state.global_step as u64)? > 0 {
        tensors = read_header(out)?;
    }
    let json = sidecar_path(out);
    let sidecar = Sidecar {
        weights: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model_kind: config.model.kind(),
        layout: "PyTorch: dense (Linear) weights [out_features, in_features], Conv2d weights [out_channels, in_channels, kh, kw], ConvTranspose2d weights [in_channels, out_channels, kh, kw]; see docs/export.md in the mnist-burn repository",
        checkpoint: loaded.checkpoint.dir.display().to_string(),
        epoch: loaded.checkpoint.state.epoch,
        input_shape: loaded.info.input_shape,
        norm_stats: loaded.info.norm_stats,
        config,
        tensors: &tensors,
    };
    let text = serde_json::to_vec_pretty(&sidecar).map_err(|e| InferenceError::Export {
        path: json.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&json, text).map_err(InferenceError::io("write", &json))?;
    Ok(ExportOutcome {
        path: out.to_path_buf(),
        json,
        tensors,
    })
}
