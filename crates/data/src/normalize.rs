//! Pixel normalizations whose statistics come from the training split only and are kept, so an
//! evaluation later applies exactly the same transform.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Split;

/// How raw pixels (0..=255) become model inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// `x / 255`, into [0, 1].
    #[default]
    Unit,
    /// `(x - min) / (max - min)` with the training split's extreme pixel values.
    MinMax,
    /// `(x - mean) / std` with the training split's pixel mean and standard deviation (one scalar
    /// pair over all pixels, as the seed notebooks do).
    Standardize,
}

/// A fitted normalization: `normalized = (raw - offset) / scale`, raw in 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Which normalization was fitted.
    pub kind: Normalization,
    /// Subtracted from raw pixels.
    pub offset: f32,
    /// Divides the centred pixels.
    pub scale: f32,
}

impl NormStats {
    /// Fits `kind` on the training split's pixels.
    pub fn fit(kind: Normalization, train: &Split) -> NormStats {
        let (offset, scale) = match kind {
            Normalization::Unit => (0.0, 255.0),
            Normalization::MinMax => {
                let min = train.pixels.iter().copied().min().unwrap_or(0) as f32;
                let max = train.pixels.iter().copied().max().unwrap_or(255) as f32;
                (min, if max > min { max - min } else { 1.0 })
            }
            Normalization::Standardize => {
                // f64 accumulators: 47 million pixels overflow f32's precision.
                let n = train.pixels.len().max(1) as f64;
                let mean = train.pixels.iter().map(|&p| p as f64).sum::<f64>() / n;
                let var = train.pixels.iter().map(|&p| (p as f64 - mean).powi(2)).sum::<f64>() / n;
                let std = var.sqrt();
                (mean as f32, if std > 0.0 { std as f32 } else { 1.0 })
            }
        };
        NormStats { kind, offset, scale }
    }

    /// Normalizes one raw pixel value.
    pub fn apply_one(&self, raw: f32) -> f32 {
        (raw - self.offset) / self.scale
    }

    /// Normalizes raw pixels, in blocks over the thread pool: MNIST's training split becomes
    /// 184 MB of `f32`, and the first write to each fresh page of it costs more than the
    /// arithmetic (a tenth of the speedrun's wall time on one thread).
    pub fn apply(&self, pixels: &[u8]) -> Vec<f32> {
        let mut out = vec![0.0f32; pixels.len()];
        out.par_chunks_mut(1 << 16).zip(pixels.par_chunks(1 << 16)).for_each(|(out, pixels)| {
            out.iter_mut().zip(pixels).for_each(|(o, &p)| *o = self.apply_one(p as f32));
        });
        out
    }

    /// Maps normalized values back to [0, 1] grey levels (for pictures and PSNR).
    pub fn to_unit(&self, normalized: f32) -> f32 {
        (normalized * self.scale + self.offset) / 255.0
    }

    /// The normalized values of the darkest (0) and brightest (255) raw pixel: the valid range
    /// that clipping and salt-and-pepper noise use.
    pub fn range(&self) -> (f32, f32) {
        (self.apply_one(0.0), self.apply_one(255.0))
    }
}
