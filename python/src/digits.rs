//! `prepare_digits`: pictures of digits (photos, scans, drawings) made MNIST-like by the one
//! preparation the playground uses (`mnist_inference::digit`).

use mnist_inference::digit::{Polarity, SIDE, prepare};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays::{Dtype, to_bytes, values};
use crate::wait::released;

/// `n` pictures of `height × width` (uint8 pixels or float32 grey levels in [0, 1]) as `n`
/// 28 × 28 digits, float32 grey levels, light ink on black. `invert`: None (decide from each
/// picture's border), True or False.
#[pyfunction]
#[pyo3(signature = (images, n, height, width, dtype, invert=None))]
pub fn prepare_digits<'py>(py: Python<'py>, images: &[u8], n: usize, height: usize, width: usize, dtype: &str, invert: Option<bool>) -> PyResult<Bound<'py, PyBytes>> {
    let dtype = Dtype::parse(dtype)?;
    let mut grey = values(images, dtype, n * height * width, "images")?;
    if dtype == Dtype::U8 {
        grey.iter_mut().for_each(|v| *v /= 255.0);
    } else if let Some((i, v)) = grey.iter().enumerate().find(|(_, v)| !v.is_finite() || **v < 0.0 || **v > 1.0) {
        return Err(PyValueError::new_err(format!("images: value {v} at flat index {i}; float32 images are grey levels in [0, 1]")));
    }
    let polarity = match invert {
        None => Polarity::Auto,
        Some(true) => Polarity::Invert,
        Some(false) => Polarity::AsIs,
    };
    let out = released(py, || {
        let per = height * width;
        let digits: Vec<f32> = if per == 0 { vec![0.0; n * SIDE * SIDE] } else { grey.chunks(per).flat_map(|g| prepare(g, width, height, polarity)).collect() };
        Ok(to_bytes(&digits))
    })?;
    Ok(PyBytes::new(py, &out))
}
