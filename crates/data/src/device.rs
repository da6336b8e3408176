//! A split held on the compute device, and its batches: an epoch is a seeded permutation
//! uploaded once, a batch is a `select` of rows. No per-step upload of images.
//!
//! On a GPU the images are held in chunks of at most [`GPU_CHUNK_BYTES`]: WebGPU only guarantees
//! storage buffers of 128 MiB (`maxStorageBufferBindingSize`, the limit wgpu applies by default and
//! the one many laptop and integrated GPUs report), and the float MNIST training set is 179 MiB.
//! A batch gathers its rows from the chunks they live in and puts them back in batch order, so it
//! holds exactly the rows, in exactly the order, that one buffer would give. On the CPU there is
//! no such limit and a split is one tensor.

use burn::backend::DispatchDevice;
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::{NormStats, Split};

/// Largest chunk of a split on a GPU device: half of the 128 MiB every WebGPU adapter allows in
/// one storage binding, leaving room for the memory pool's rounding.
pub const GPU_CHUNK_BYTES: usize = 64 << 20;

/// Uploads normalized pixels as one `[n, channels, rows, cols]` tensor.
pub fn images_tensor(pixels: Vec<f32>, n: usize, [channels, rows, cols]: [usize; 3], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(pixels, [n, channels, rows, cols]), device)
}

/// The most rows of `row_bytes` bytes one tensor may hold on `device`: unbounded on the CPU.
fn rows_per_chunk(device: &Device, row_bytes: usize) -> usize {
    match device.clone().inner().as_dispatch() {
        DispatchDevice::Flex(_) => usize::MAX,
        _ => (GPU_CHUNK_BYTES / row_bytes.max(1)).max(1),
    }
}

/// Images `[n, channels, rows, cols]` on the device, as consecutive chunks of rows.
#[derive(Debug, Clone)]
pub struct Images {
    chunks: Vec<Tensor<4>>,
    chunk_rows: usize,
    len: usize,
}

impl Images {
    /// Uploads normalized pixels, in chunks sized for `device`.
    pub fn new(pixels: Vec<f32>, n: usize, shape: [usize; 3], device: &Device) -> Images {
        let row = shape.iter().product::<usize>();
        let chunk_rows = rows_per_chunk(device, row * std::mem::size_of::<f32>());
        Images::with_chunk_rows(pixels, n, shape, device, chunk_rows)
    }

    /// Uploads normalized pixels in chunks of `chunk_rows` rows (the last may be shorter).
    pub fn with_chunk_rows(pixels: Vec<f32>, n: usize, shape: [usize; 3], device: &Device, chunk_rows: usize) -> Images {
        let chunk_rows = chunk_rows.max(1);
        if n <= chunk_rows {
            return Images { chunks: vec![images_tensor(pixels, n, shape, device)], chunk_rows, len: n };
        }
        let row = shape.iter().product::<usize>();
        let chunks = pixels
            .chunks(chunk_rows * row)
            .map(|part| images_tensor(part.to_vec(), part.len() / row, shape, device))
            .collect();
        Images { chunks, chunk_rows, len: n }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many tensors hold the images.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// `[n, channels, rows, cols]`.
    pub fn dims(&self) -> [usize; 4] {
        let [_, c, h, w] = self.chunks[0].dims();
        [self.len, c, h, w]
    }

    /// The device holding the images.
    pub fn device(&self) -> Device {
        self.chunks[0].device()
    }

    /// All images as one tensor. On a GPU this is one buffer again: meant for the test split and
    /// smaller, which figures and the playground use whole.
    pub fn whole(&self) -> Tensor<4> {
        match self.chunks.as_slice() {
            [one] => one.clone(),
            many => Tensor::cat(many.to_vec(), 0),
        }
    }

    /// Rows `start..start + len`.
    pub fn narrow(&self, start: usize, len: usize) -> Tensor<4> {
        if self.chunks.len() == 1 {
            return self.chunks[0].clone().narrow(0, start, len);
        }
        let first = start / self.chunk_rows;
        let last = (start + len - 1) / self.chunk_rows;
        let parts: Vec<Tensor<4>> = (first..=last)
            .map(|c| {
                let begin = start.max(c * self.chunk_rows) - c * self.chunk_rows;
                let end = (start + len).min((c + 1) * self.chunk_rows) - c * self.chunk_rows;
                self.chunks[c].clone().narrow(0, begin, end - begin)
            })
            .collect();
        match parts.len() {
            1 => parts.into_iter().next().expect("one part"),
            _ => Tensor::cat(parts, 0),
        }
    }

    /// How to gather the rows at `indices` from these chunks (and from any images chunked alike):
    /// `None` when everything is one chunk and the indices can be used as they are.
    fn plan(&self, indices: &[i64]) -> Option<Gather> {
        if self.chunks.len() == 1 {
            return None;
        }
        let device = self.device();
        let index_tensor = |v: Vec<i64>| {
            let k = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [k]), &device)
        };
        let mut parts = Vec::new();
        let mut placed = vec![0i64; indices.len()];
        let mut next = 0i64;
        for c in 0..self.chunks.len() {
            let base = (c * self.chunk_rows) as i64;
            let rows = base..base + self.chunk_rows as i64;
            let mut local = Vec::new();
            for (position, &i) in indices.iter().enumerate() {
                if rows.contains(&i) {
                    local.push(i - base);
                    placed[position] = next;
                    next += 1;
                }
            }
            if !local.is_empty() {
                parts.push((c, index_tensor(local)));
            }
        }
        Some(Gather { parts, order: index_tensor(placed) })
    }

    /// The rows at `on_device` (a `[k]` index tensor), through `plan` when the images are chunked.
    fn select(&self, plan: Option<&Gather>, on_device: Tensor<1, Int>) -> Tensor<4> {
        let Some(plan) = plan else {
            return self.chunks[0].clone().select(0, on_device);
        };
        // Each chunk's rows in one select, then one more select puts them in batch order.
        let parts = plan.parts.iter().map(|(c, local)| self.chunks[*c].clone().select(0, local.clone())).collect();
        Tensor::cat(parts, 0).select(0, plan.order.clone())
    }
}

/// The rows of one batch, chunk by chunk: for each chunk that holds some, its index and their
/// indices within it; then where each gathered row goes in the batch.
#[derive(Debug)]
struct Gather {
    parts: Vec<(usize, Tensor<1, Int>)>,
    order: Tensor<1, Int>,
}

/// One split on the device: clean targets, the model inputs (noisy for denoising runs) and labels.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// `[n, channels, rows, cols]` clean normalized images: the targets of autoencoders.
    clean: Images,
    /// `[n, channels, rows, cols]` corrupted inputs, when the split carries noise.
    noisy: Option<Images>,
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
        let clean = Images::new(stats.apply(&split.pixels), n, split.shape(), device);
        DeviceSplit::from_images(clean, &split.labels, device)
    }

    /// A split of already uploaded images and their labels.
    pub fn from_images(clean: Images, labels: &[u8], device: &Device) -> DeviceSplit {
        let n = clean.len();
        let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
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

    /// Replaces the model inputs with corrupted images `[n, channels, rows, cols]` (or clears them).
    pub fn set_noisy(&mut self, noisy: Option<Images>) {
        if let Some(noisy) = &noisy {
            // A batch gathers both with one plan (see `select`).
            assert!(noisy.len == self.clean.len && noisy.chunk_rows == self.clean.chunk_rows, "noisy images must be chunked like the clean ones");
        }
        self.noisy = noisy;
    }

    /// `[n, channels, rows, cols]`.
    pub fn dims(&self) -> [usize; 4] {
        self.clean.dims()
    }

    /// The device holding the split.
    pub fn device(&self) -> Device {
        self.clean.device()
    }

    /// The clean images of the whole split as one tensor (see [`Images::whole`]).
    pub fn clean(&self) -> Tensor<4> {
        self.clean.whole()
    }

    /// The corrupted images of the whole split as one tensor, when it carries noise.
    pub fn noisy(&self) -> Option<Tensor<4>> {
        self.noisy.as_ref().map(Images::whole)
    }

    /// The model inputs of the whole split as one tensor: noisy if set, else clean.
    pub fn inputs(&self) -> Tensor<4> {
        self.noisy().unwrap_or_else(|| self.clean())
    }

    /// How many tensors hold the clean images (more than one on a GPU for large splits).
    pub fn chunks(&self) -> usize {
        self.clean.chunks()
    }

    /// The batches of one epoch: in order when `shuffle` is `None`, else in the order of a
    /// permutation seeded by it. The last batch may be smaller.
    pub fn batches(&self, batch_size: usize, shuffle: Option<u64>) -> Batches<'_> {
        let order = shuffle.map(|seed| {
            let mut perm: Vec<i64> = (0..self.len as i64).collect();
            perm.shuffle(&mut StdRng::seed_from_u64(seed));
            // One upload per epoch; each step narrows this tensor on the device.
            let on_device = Tensor::<1, Int>::from_data(TensorData::new(perm.clone(), [self.len]), &self.device());
            (perm, on_device)
        });
        Batches { split: self, order, batch_size: batch_size.max(1), start: 0 }
    }

    /// Rows `start..start + len` in storage order.
    pub fn range(&self, start: usize, len: usize) -> Batch {
        let target = self.clean.narrow(start, len);
        let input = match &self.noisy {
            Some(noisy) => noisy.narrow(start, len),
            None => target.clone(),
        };
        Batch { input, target, labels: self.labels.clone().narrow(0, start, len) }
    }

    /// The rows at `indices`; `on_device` holds the same indices as a `[k]` tensor on the
    /// split's device.
    fn select(&self, indices: &[i64], on_device: Tensor<1, Int>) -> Batch {
        // Clean and noisy images are chunked alike (same row size, same device): one plan serves both.
        let plan = self.clean.plan(indices);
        let target = self.clean.select(plan.as_ref(), on_device.clone());
        let input = match &self.noisy {
            Some(noisy) => noisy.select(plan.as_ref(), on_device.clone()),
            None => target.clone(),
        };
        Batch { input, target, labels: self.labels.clone().select(0, on_device) }
    }
}

/// Iterator over the batches of one epoch.
#[derive(Debug)]
pub struct Batches<'a> {
    split: &'a DeviceSplit,
    /// The epoch's permutation, on the host (to find each row's chunk) and on the device.
    order: Option<(Vec<i64>, Tensor<1, Int>)>,
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
            Some((host, device)) => self.split.select(&host[self.start..self.start + len], device.clone().narrow(0, self.start, len)),
            None => self.split.range(self.start, len),
        };
        self.start += len;
        Some(batch)
    }
}
