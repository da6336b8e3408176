//! A split held as one tensor on the compute device, and its batches: an epoch is a seeded
//! permutation uploaded once, a batch is a `select` of rows. No per-step host-to-device copy.

use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::{NormStats, Split};

/// Uploads normalized pixels as `[n, channels, rows, cols]`.
pub fn images_tensor(pixels: Vec<f32>, n: usize, [channels, rows, cols]: [usize; 3], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(pixels, [n, channels, rows, cols]), device)
}

/// One split on the device: clean targets, the model inputs (noisy for denoising runs) and labels.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// `[n, 1, rows, cols]` clean normalized images: the targets of autoencoders.
    pub clean: Tensor<4>,
    /// `[n, 1, rows, cols]` corrupted inputs, when the split carries noise.
    pub noisy: Option<Tensor<4>>,
    /// `[n]` digit labels.
    pub labels: Tensor<1, Int>,
    len: usize,
}

/// A batch: what the model sees, what it should reproduce, and the labels.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, 1, rows, cols]` model input (noisy for denoising runs).
    pub input: Tensor<4>,
    /// `[batch, 1, rows, cols]` clean images.
    pub target: Tensor<4>,
    /// `[batch]` labels.
    pub labels: Tensor<1, Int>,
}

impl Batch {
    /// The same batch with autodiff enabled, for a training step (no copy of the data).
    pub fn autodiff(self) -> Batch {
        Batch { input: self.input.autodiff(), target: self.target.autodiff(), labels: self.labels.autodiff() }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DeviceSplit {
    /// Normalizes `split` with `stats` and uploads it to `device`, without noise.
    pub fn new(split: &Split, stats: &NormStats, device: &Device) -> DeviceSplit {
        let n = split.len();
        let clean = images_tensor(stats.apply(&split.pixels), n, split.shape(), device);
        let labels: Vec<i64> = split.labels.iter().map(|&l| l as i64).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
        DeviceSplit { clean, noisy: None, labels, len: n }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Replaces the model inputs with corrupted images `[n, 1, rows, cols]` (or clears them).
    pub fn set_noisy(&mut self, noisy: Option<Tensor<4>>) {
        self.noisy = noisy;
    }

    /// The model inputs of the whole split: noisy if set, else clean.
    pub fn inputs(&self) -> Tensor<4> {
        self.noisy.clone().unwrap_or_else(|| self.clean.clone())
    }

    /// The batches of one epoch: in order when `shuffle` is `None`, else in the order of a
    /// permutation seeded by it. The last batch may be smaller.
    pub fn batches(&self, batch_size: usize, shuffle: Option<u64>) -> Batches<'_> {
        let order = shuffle.map(|seed| {
            let mut perm: Vec<i64> = (0..self.len as i64).collect();
            perm.shuffle(&mut StdRng::seed_from_u64(seed));
            // One upload per epoch; each step narrows this tensor on the device.
            Tensor::<1, Int>::from_data(TensorData::new(perm, [self.len]), &self.clean.device())
        });
        Batches { split: self, order, batch_size: batch_size.max(1), start: 0 }
    }

    /// Rows `start..start + len` in storage order.
    pub fn range(&self, start: usize, len: usize) -> Batch {
        let target = self.clean.clone().narrow(0, start, len);
        let input = match &self.noisy {
            Some(noisy) => noisy.clone().narrow(0, start, len),
            None => target.clone(),
        };
        Batch { input, target, labels: self.labels.clone().narrow(0, start, len) }
    }

    /// The rows at `indices` (a `[k]` index tensor on the split's device).
    pub fn select(&self, indices: Tensor<1, Int>) -> Batch {
        let target = self.clean.clone().select(0, indices.clone());
        let input = match &self.noisy {
            Some(noisy) => noisy.clone().select(0, indices.clone()),
            None => target.clone(),
        };
        Batch { input, target, labels: self.labels.clone().select(0, indices) }
    }
}

/// Iterator over the batches of one epoch.
#[derive(Debug)]
pub struct Batches<'a> {
    split: &'a DeviceSplit,
    order: Option<Tensor<1, Int>>,
    batch_size: usize,
    start: usize,
}

impl Batches<'_> {
    /// Number of batches in the epoch.
    pub fn steps(&self) -> usize {
        self.split.len.div_ceil(self.batch_size)
    }

    /// Skips the first `steps` batches (to resume mid-epoch).
    pub fn skip_steps(mut self, steps: usize) -> Self {
        self.start = (steps * self.batch_size).min(self.split.len);
        self
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.start >= self.split.len {
            return None;
        }
        let len = self.batch_size.min(self.split.len - self.start);
        let batch = match &self.order {
            Some(order) => self.split.select(order.clone().narrow(0, self.start, len)),
            None => self.split.range(self.start, len),
        };
        self.start += len;
        Some(batch)
    }
}
