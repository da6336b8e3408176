//! The `num_batches_tracked` counters of batch normalizations in an exported safetensors file:
//! PyTorch's `BatchNorm` state holds one (an int64 scalar) next to `running_mean` and
//! `running_var`; Burn's keeps none, so `export` adds it, with the number of training steps of
//! the checkpoint (each step runs every batch normalization once in training mode, which is when
//! PyTorch counts).

use std::path::Path;

use crate::error::InferenceError;

/// Adds `<prefix>.num_batches_tracked = count` (dtype `I64`, shape `[]`) for every
/// `<prefix>.running_mean` of the safetensors file at `path`, rewriting it; returns how many.
pub fn add_num_batches_tracked(path: &Path, count: u64) -> Result<usize, InferenceError> {
    let corrupt = |reason: String| crate::error::corrupt(path, reason);
    let bytes = std::fs::read(path).map_err(InferenceError::io("read", path))?;
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or_else(|| corrupt("shorter than its 8-byte header length".into()))?;
    let header_bytes = bytes.get(8..8 + len).ok_or_else(|| corrupt("header length beyond the end of the file".into()))?;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header_bytes).map_err(|e| corrupt(format!("header is not JSON: {e}")))?;
    let mut data = bytes[8 + len..].to_vec();
    let prefixes: Vec<String> = header
        .keys()
        .filter_map(|k| k.strip_suffix(".running_mean").map(str::to_string))
        .filter(|p| !header.contains_key(&format!("{p}.num_batches_tracked")))
        .collect();
    if prefixes.is_empty() {
        return Ok(0);
    }
    for prefix in &prefixes {
        let start = data.len();
        data.extend_from_slice(&(count as i64).to_le_bytes());
        header.insert(
            format!("{prefix}.num_batches_tracked"),
            serde_json::json!({ "dtype": "I64", "shape": [], "data_offsets": [start, data.len()] }),
        );
    }
    let mut text = serde_json::to_vec(&header).map_err(|e| corrupt(e.to_string()))?;
    // The data starts 8-byte aligned, as safetensors writers pad the header with spaces.
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + data.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&data);
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, &out).map_err(InferenceError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(InferenceError::io("write", path))?;
    Ok(prefixes.len())
}
