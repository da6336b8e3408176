//! Turns an experiment's `[data]` section into device-resident splits: load, check the image size,
//! hold out validation, fit the normalization on training pixels only, apply fixed noise.

use burn::prelude::Device;
use mnist_data::{DataError, DeviceSplit, NoiseMode, NormStats, Split, derive_seed, images_tensor};
use mnist_models::IMAGE_SHAPE;

use crate::config::Experiment;

/// The three splits of a run, on the device, and what produced them.
#[derive(Debug)]
pub struct Prepared {
    /// The normalization fitted on the training split.
    pub stats: NormStats,
    /// Training split as raw bytes, kept for noise redrawn every epoch.
    pub train_host: Split,
    /// Training split on the device.
    pub train: DeviceSplit,
    /// Validation split on the device (the test split when no fraction is held out).
    pub validation: DeviceSplit,
    /// Test split on the device.
    pub test: DeviceSplit,
    /// Whether `validation` is the test split.
    pub validation_is_test: bool,
    /// Where the data was read from.
    pub source: mnist_data::DataSource,
    /// Each file of a directory read as it is, with its sha256 (empty for a verified named set).
    pub checksums: Vec<(std::path::PathBuf, String)>,
}

impl Prepared {
    /// One line saying where the data came from: the named set verified, or the folder read as
    /// it is with the sha256 of each file (so two runs can be told apart by their data).
    pub fn describe_source(&self) -> String {
        match self.source.verify {
            Some(set) => format!("data: {} from {} (sha256 verified)", set.name(), self.source.dir.display()),
            None => {
                let sums: Vec<String> = self
                    .checksums
                    .iter()
                    .map(|(p, sum)| format!("{} {sum}", p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())))
                    .collect();
                format!("data: {} (read as it is, not a named set; sha256: {})", self.source.dir.display(), sums.join(", "))
            }
        }
    }
}

/// The noise stream of a split and epoch.
fn noise_seed(seed: u64, split: &str, epoch: usize) -> u64 {
    derive_seed(seed, &format!("noise-{split}"), epoch as u64)
}

/// Uploads `split` with the normalization and, when given, noise drawn from `seed`.
fn upload(split: &Split, stats: &NormStats, noise: Option<&mnist_data::Noise>, seed: u64, device: &Device) -> DeviceSplit {
    let mut on_device = DeviceSplit::new(split, stats, device);
    if let Some(noise) = noise {
        on_device.set_noisy(Some(noisy_images(split, stats, noise, seed, device)));
    }
    on_device
}

/// `[n, 1, rows, cols]` normalized images of `split` corrupted by `noise` drawn from `seed`.
pub fn noisy_images(split: &Split, stats: &NormStats, noise: &mnist_data::Noise, seed: u64, device: &Device) -> burn::tensor::Tensor<4> {
    let mut pixels = stats.apply(&split.pixels);
    noise.apply(&mut pixels, stats.range(), seed);
    images_tensor(pixels, split.len(), split.rows, split.cols, device)
}

/// Loads and prepares the data of `experiment` on `device`. `stats`, when given (evaluation of a
/// saved run), replaces fitting so exactly the training-time transform is applied.
pub fn prepare(experiment: &Experiment, device: &Device, stats: Option<NormStats>) -> Result<Prepared, DataError> {
    let c = experiment.config();
    let d = &c.data;
    let source = experiment.data_source()?;
    let data = source.load()?;
    let [_, rows, cols] = IMAGE_SHAPE;
    if (data.train.rows, data.train.cols) != (rows, cols) {
        return Err(DataError::BadDimensions {
            path: source.dir.join(mnist_data::FILE_NAMES[0]),
            rows: data.train.rows,
            cols: data.train.cols,
            expected: format!("the models expect {rows}x{cols} images"),
        });
    }
    let limit = |s: Split, n: Option<usize>| match n {
        Some(n) => s.take(n),
        None => s,
    };
    let checksums = data.checksums;
    let full_train = limit(data.train, d.train_limit);
    let test = limit(data.test, d.test_limit);
    // An empty split would train zero steps and average over zero samples (a NaN loss).
    for (split, file) in [(&full_train, 0), (&test, 2)] {
        if split.is_empty() {
            return Err(DataError::Empty { path: source.dir.join(mnist_data::FILE_NAMES[file]) });
        }
    }
    let seed = c.experiment.seed;
    let (train, validation) = match d.validation_fraction {
        Some(f) => {
            let (t, v) = full_train.split_validation(f, derive_seed(seed, "validation-split", 0))?;
            (t, Some(v))
        }
        None => (full_train, None),
    };
    let stats = stats.unwrap_or_else(|| NormStats::fit(d.normalization, &train));
    // Fresh noise is drawn per epoch by the loop; fixed noise is drawn here once.
    let train_noise = match d.noise_mode {
        NoiseMode::Fixed => d.train_noise.as_ref(),
        NoiseMode::Fresh => None,
    };
    let train_dev = upload(&train, &stats, train_noise, noise_seed(seed, "train", 0), device);
    let test_dev = upload(&test, &stats, d.eval_noise(), noise_seed(seed, "test", 0), device);
    let (validation_dev, validation_is_test) = match &validation {
        Some(v) => (upload(v, &stats, d.eval_noise(), noise_seed(seed, "validation", 0), device), false),
        None => (test_dev.clone(), true),
    };
    Ok(Prepared { stats, train_host: train, train: train_dev, validation: validation_dev, test: test_dev, validation_is_test, source, checksums })
}

impl Prepared {
    /// Redraws the training noise for `epoch` when the noise mode is `fresh`.
    pub fn refresh_noise(&mut self, experiment: &Experiment, epoch: usize) {
        let c = experiment.config();
        if let (NoiseMode::Fresh, Some(noise)) = (c.data.noise_mode, c.data.train_noise.as_ref()) {
            let seed = noise_seed(c.experiment.seed, "train", epoch);
            let device = self.train.clean.device();
            self.train.set_noisy(Some(noisy_images(&self.train_host, &self.stats, noise, seed, &device)));
        }
    }
}
