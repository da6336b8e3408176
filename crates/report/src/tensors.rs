//! Moving data between the device and the figures: batched encoding, decoding and prediction
//! (`mnist_runs::EVAL_BATCH` samples per forward pass, as evaluations use), and conversion of
//! normalized values to [0, 1] grey levels for pictures and PSNR.

use burn::prelude::*;
use burn::tensor::TensorData;
use mnist_data::NormStats;
use mnist_models::Model;
use mnist_runs::EVAL_BATCH;

use crate::error::ReportError;
use crate::grid::{PIXELS, SIDE};

/// Reads a float tensor back to the host.
pub fn read_f32<const D: usize>(
    tensor: Tensor<D>,
    what: &'static str,
) -> Result<Vec<f32>, ReportError> {
    tensor
        .try_into_vec_as::<f32>()
        .map_err(|e| ReportError::Device {
            what,
            reason: format!("{e:?}"),
        })
}

/// Reads an integer tensor back to the host.
pub fn read_i64<const D: usize>(
    tensor: Tensor<D, Int>,
    what: &'static str,
) -> Result<Vec<i64>, ReportError> {
    tensor
        .try_into_vec_as::<i64>()
        .map_err(|e| ReportError::Device {
            what,
            reason: format!("{e:?}"),
        })
}

/// Uploads `n` images of 784 values as `[n, 1, 28, 28]`.
pub fn upload_images(values: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = values.len() / PIXELS;
    Tensor::from_data(TensorData::new(values, [n, 1, SIDE, SIDE]), device)
}

/// Normalized values → grey levels in [0, 1] (clipped).
pub fn to_grey(values: &[f32], stats: &NormStats) -> Vec<f32> {
    values
        .iter()
        .map(|&v| stats.to_unit(v).clamp(0.0, 1.0))
        .collect()
}

/// Grey levels in [0, 1] → normalized values of `stats`.
pub fn from_grey(grey: &[f32], stats: &NormStats) -> Vec<f32> {
    grey.iter().map(|&g| stats.apply_one(g * 255.0)).collect()
}

/// Splits a flat buffer of images into 784-value tiles.
pub fn tiles(values: &[f32]) -> Vec<Vec<f32>> {
    values.chunks(PIXELS).map(<[f32]>::to_vec).collect()
}

/// The first `n` images of `images` `[m, 1, 28, 28]` as grey tiles.
pub fn first_tiles(
    images: &Tensor<4>,
    n: usize,
    stats: &NormStats,
) -> Result<Vec<Vec<f32>>, ReportError> {
    let [_, c, h, w] = images.dims();
    let n = n.min(images.dims()[0]);
    let values = read_f32(images.clone().narrow(0, 0, n), "images")?;
    Ok(tiles_of(&to_grey(&values, stats), c * h * w))
}

/// Splits a flat buffer of images into tiles of `len` values each.
pub fn tiles_of(values: &[f32], len: usize) -> Vec<Vec<f32>> {
    values.chunks(len.max(1)).map(<[f32]>::to_vec).collect()
}

/// Latent codes of a set of images: `dim` values per image, with the images' labels.
#[derive(Debug, Clone)]
pub struct Codes {
    /// Values per code.
    pub dim: usize,
    /// `n × dim` values, row-major.
    pub values: Vec<f32>,
    /// The digit of each image.
    pub labels: Vec<u8>,
}

impl Codes {
    /// Number of codes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `(min, max)` of each dimension.
    pub fn ranges(&self) -> Vec<(f32, f32)> {
        let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); self.dim];
        for code in self.values.chunks(self.dim) {
            for (r, &v) in ranges.iter_mut().zip(code) {
                *r = (r.0.min(v), r.1.max(v));
            }
        }
        ranges
    }
}

/// Encodes `images` `[n, 1, 28, 28]` in batches (VAE: the means); `None` for a classifier.
pub fn encode_all(
    model: &Model,
    images: &Tensor<4>,
    labels: &Tensor<1, Int>,
) -> Result<Option<Codes>, ReportError> {
    let n = images.dims()[0];
    let mut values = Vec::new();
    let mut dim = 0;
    for start in (0..n).step_by(EVAL_BATCH) {
        let len = EVAL_BATCH.min(n - start);
        let Some(codes) = model.encode(images.clone().narrow(0, start, len)) else {
            return Ok(None);
        };
        dim = codes.dims()[1];
        values.extend(read_f32(codes, "latent codes")?);
    }
    let labels = read_i64(labels.clone(), "labels")?
        .into_iter()
        .map(|l| l as u8)
        .collect();
    Ok(Some(Codes {
        dim,
        values,
        labels,
    }))
}

/// Decodes `n × dim` codes in batches into normalized images (784 values each).
pub fn decode_all(
    model: &Model,
    codes: &[f32],
    dim: usize,
    device: &Device,
) -> Result<Option<Vec<f32>>, ReportError> {
    let n = codes.len() / dim.max(1);
    let mut out = Vec::with_capacity(n * PIXELS);
    for start in (0..n).step_by(EVAL_BATCH) {
        let len = EVAL_BATCH.min(n - start);
        let chunk = codes[start * dim..(start + len) * dim].to_vec();
        let latent = Tensor::<2>::from_data(TensorData::new(chunk, [len, dim]), device);
        let Some(images) = model.decode(latent) else {
            return Ok(None);
        };
        out.extend(read_f32(images, "decoded images")?);
    }
    Ok(Some(out))
}

/// Reconstructs images (normalized, 784 values each) through the code: `decode(encode(x))`,
/// which for a VAE uses the mean rather than a random sample.
pub fn reconstruct_all(model: &Model, images: &Tensor<4>) -> Result<Option<Vec<f32>>, ReportError> {
    let n = images.dims()[0];
    let mut out = Vec::with_capacity(n * PIXELS);
    for start in (0..n).step_by(EVAL_BATCH) {
        let len = EVAL_BATCH.min(n - start);
        let Some(code) = model.encode(images.clone().narrow(0, start, len)) else {
            return Ok(None);
        };
        let Some(decoded) = model.decode(code) else {
            return Ok(None);
        };
        out.extend(read_f32(decoded, "reconstructions")?);
    }
    Ok(Some(out))
}

/// The predicted digit of each image, in batches; `None` for an autoencoder.
pub fn predict_all(model: &Model, images: &Tensor<4>) -> Result<Option<Vec<u8>>, ReportError> {
    let n = images.dims()[0];
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(EVAL_BATCH) {
        let len = EVAL_BATCH.min(n - start);
        let output = model.forward(images.clone().narrow(0, start, len));
        let Some(logits) = output.logits() else {
            return Ok(None);
        };
        let predicted = read_i64(logits.clone().argmax(1).flatten::<1>(0, 1), "predictions")?;
        out.extend(predicted.into_iter().map(|p| p as u8));
    }
    Ok(Some(out))
}

/// Class probabilities (the softmax of the logits) of each image, in batches, one `Vec` of ten
/// per image; `None` for an autoencoder.
pub fn probabilities_all(model: &Model, images: &Tensor<4>) -> Result<Option<Vec<Vec<f32>>>, ReportError> {
    let n = images.dims()[0];
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(EVAL_BATCH) {
        let len = EVAL_BATCH.min(n - start);
        let output = model.forward(images.clone().narrow(0, start, len));
        let Some(logits) = output.logits() else {
            return Ok(None);
        };
        let classes = logits.dims()[1].max(1);
        let probs = read_f32(burn::tensor::activation::softmax(logits.clone(), 1), "probabilities")?;
        out.extend(probs.chunks(classes).map(<[f32]>::to_vec));
    }
    Ok(Some(out))
}

/// The index of the largest value (the first of equal ones); 0 for an empty slice.
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

/// PSNR in dB of `a` against `b`, both grey levels in [0, 1]: `10 log10(1 / MSE)` over all
/// pixels (infinite for identical images), the same definition the trainer logs.
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().max(1) as f64;
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / n;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (1.0 / mse).log10()
    }
}
