//! A split of samples kept as raw bytes on the host, and the seeded hold-out of a validation split.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::DataError;

/// Samples of one split: `len()` images of `channels x rows x cols` bytes and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Channels per image: 1 (grey) or 3 (RGB, stored channel after channel as the tensors are).
    pub channels: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels in 0..=255, image after image, each channel after channel, row-major.
    pub pixels: Vec<u8>,
    /// One label per image, 0..=9.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (all channels).
    pub fn image_len(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// `[channels, rows, cols]` of every image.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.rows, self.cols]
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// How many samples carry each label 0..=9.
    pub fn label_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Split {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Split {
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[..n * self.image_len()].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Holds out `fraction` of the samples, drawn by a permutation seeded with `seed`:
    /// returns `(train, validation)`, each keeping the original order of its samples.
    pub fn split_validation(&self, fraction: f64, seed: u64) -> Result<(Split, Split), DataError> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::InvalidSetting {
                field: "data.validation_fraction",
                value: fraction.to_string(),
                expected: "a fraction strictly between 0 and 1",
            });
        }
        let n_val = (self.len() as f64 * fraction).round() as usize;
        if n_val == 0 || n_val >= self.len() {
            return Err(DataError::InvalidSetting {
                field: "data.validation_fraction",
                value: fraction.to_string(),
                expected: "a fraction that leaves at least one sample in both training and validation",
            });
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        let (val, train) = order.split_at_mut(n_val);
        val.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(train), self.subset(val)))
    }
}
