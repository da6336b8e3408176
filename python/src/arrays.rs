//! Images and codes across the boundary: raw little-endian bytes from numpy (`tobytes()` of a
//! C-contiguous array that the Python layer has checked) into the model's normalized inputs, and
//! `f32` results back into bytes for `numpy.frombuffer`.

use mnist_data::NormStats;
use pyo3::PyResult;
use pyo3::exceptions::PyValueError;

/// The element type of an array the Python layer passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Raw pixels, 0..=255, as MNIST's files hold them.
    U8,
    /// Grey levels in [0, 1] (`x / 255`), or codes.
    F32,
}

impl Dtype {
    /// `"uint8"` or `"float32"`, numpy's names.
    pub fn parse(name: &str) -> PyResult<Dtype> {
        match name {
            "uint8" => Ok(Dtype::U8),
            "float32" => Ok(Dtype::F32),
            other => Err(PyValueError::new_err(format!("images of dtype {other}: expected uint8 (pixels 0..255) or float32 (grey levels in [0, 1])"))),
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 => 4,
        }
    }
}

/// Reads `len` values of `dtype` from `bytes`, refusing any other length.
pub fn values(bytes: &[u8], dtype: Dtype, len: usize, what: &str) -> PyResult<Vec<f32>> {
    if bytes.len() != len * dtype.size() {
        return Err(PyValueError::new_err(format!("{what}: {} bytes of {dtype:?} data, expected {len} values ({} bytes)", bytes.len(), len * dtype.size())));
    }
    Ok(match dtype {
        Dtype::U8 => bytes.iter().map(|&b| f32::from(b)).collect(),
        Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
    })
}

/// The model inputs of `len` pixels: normalized exactly as the run's training data (raw pixels
/// through the fitted statistics; grey levels first scaled to 0..255). Values that are not
/// finite, or grey levels outside [0, 1], are refused.
pub fn normalized(bytes: &[u8], dtype: Dtype, len: usize, stats: &NormStats) -> PyResult<Vec<f32>> {
    let mut v = values(bytes, dtype, len, "images")?;
    if dtype == Dtype::F32 {
        if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite() || **x < 0.0 || **x > 1.0) {
            return Err(PyValueError::new_err(format!(
                "images: value {x} at flat index {i}; float32 images are grey levels in [0, 1] (divide 0..255 pixels by 255, or pass uint8)"
            )));
        }
        v.iter_mut().for_each(|x| *x *= 255.0);
    }
    v.iter_mut().for_each(|x| *x = stats.apply_one(*x));
    Ok(v)
}

/// `f32` values as little-endian bytes.
pub fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
