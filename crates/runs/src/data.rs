//! Turns an experiment's `[data]` section into device-resident splits: load, check the image size,
//! hold out validation, fit the normalization on training pixels only, apply fixed noise.

use burn::prelude::Device;
use mnist_data::{DataError, DeviceSplit, Images, NoiseMode, NormStats, Split, derive_seed};

use mnist_config::Experiment;

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
    /// One line saying where the data came from (the named set verified, the folder read as it
    /// is with each file's sha256, or the image folder), printed when a run starts.
    pub origin: String,
    /// Class names of an image folder, in label order (empty for IDX sets: labels are digits).
    pub classes: Vec<String>,
    /// `[channels, height, width]` of every image.
    pub shape: [usize; 3],
}

/// An experiment's data as read from disk.
#[derive(Debug)]
pub struct Loaded {
    /// Both splits.
    pub dataset: mnist_data::Dataset,
    /// The files that hold the training and the test images (for errors).
    pub files: [std::path::PathBuf; 2],
    /// See [`Prepared::origin`].
    pub origin: String,
    /// See [`Prepared::classes`].
    pub classes: Vec<String>,
}

/// Where decoded image folders are cached: `<data home>/.decoded`.
pub fn image_cache_dir() -> Option<std::path::PathBuf> {
    mnist_data::home::data_home().map(|home| home.join(".decoded"))
}

/// Reads the data of `experiment`: an image folder (`[data.images]`, or `set = "lfw"`) or IDX files.
pub fn load(experiment: &Experiment) -> Result<Loaded, DataError> {
    let c = experiment.config();
    if let Some(folder) = experiment.image_folder()? {
        let classifier = c.model.task() == mnist_models::Task::Classifier;
        let set = folder.load(classifier, derive_seed(c.experiment.seed, "image-test-split", 0), image_cache_dir().as_deref())?;
        let [ch, h, w] = set.dataset.train.shape();
        let mut origin = format!(
            "data: image folder {} ({} images, {}; {ch}x{h}x{w}{})",
            folder.root.display(),
            set.files,
            if set.classes.is_empty() { "flat, no labels".to_string() } else { format!("{} classes: {}", set.classes.len(), abbreviate(&set.classes)) },
            if set.from_cache { ", decoded images read from the cache" } else { "" },
        );
        if let Some((first, reason)) = set.skipped.first() {
            origin += &format!("\n  left out {} unreadable file(s) (data.images.unreadable = \"skip\"), the first: {}: {reason}", set.skipped.len(), first.display());
        }
        return Ok(Loaded { dataset: set.dataset, files: [folder.root.clone(), folder.root.clone()], origin, classes: set.classes });
    }
    let source = experiment.data_source()?;
    let dataset = source.load()?;
    let origin = match source.verify {
        Some(set) => format!("data: {} from {} (sha256 verified)", set.name(), source.dir.display()),
        None => {
            let sums: Vec<String> = dataset
                .checksums
                .iter()
                .map(|(p, sum)| format!("{} {sum}", p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())))
                .collect();
            format!("data: {} (read as it is, not a named set; sha256: {})", source.dir.display(), sums.join(", "))
        }
    };
    Ok(Loaded { dataset, files: [source.dir.join(mnist_data::FILE_NAMES[0]), source.dir.join(mnist_data::FILE_NAMES[2])], origin, classes: Vec::new() })
}

/// The first few names, then how many more.
fn abbreviate(names: &[String]) -> String {
    match names.len() {
        0..=10 => names.join(", "),
        n => format!("{}, ... ({} more)", names[..5].join(", "), n - 5),
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

/// `[n, channels, rows, cols]` normalized images of `split` corrupted by `noise` drawn from `seed`.
pub fn noisy_images(split: &Split, stats: &NormStats, noise: &mnist_data::Noise, seed: u64, device: &Device) -> Images {
    let mut pixels = stats.apply(&split.pixels);
    noise.apply(&mut pixels, stats.range(), seed);
    Images::new(pixels, split.len(), split.shape(), device)
}

/// Loads and prepares the data of `experiment` on `device`. `stats`, when given (evaluation of a
/// saved run), replaces fitting so exactly the training-time transform is applied.
pub fn prepare(experiment: &Experiment, device: &Device, stats: Option<NormStats>) -> Result<Prepared, DataError> {
    let c = experiment.config();
    let d = &c.data;
    let Loaded { dataset: data, files, origin, classes } = load(experiment)?;
    let shape = data.train.shape();
    let limit = |s: Split, n: Option<usize>| match n {
        Some(n) => s.take(n),
        None => s,
    };
    let full_train = limit(data.train, d.train_limit);
    let test = limit(data.test, d.test_limit);
    // An empty split would train zero steps and average over zero samples (a NaN loss).
    for (split, file) in [(&full_train, &files[0]), (&test, &files[1])] {
        if split.is_empty() {
            return Err(DataError::Empty { path: file.clone() });
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
    Ok(Prepared { stats, train_host: train, train: train_dev, validation: validation_dev, test: test_dev, validation_is_test, origin, classes, shape })
}

impl Prepared {
    /// Redraws the training noise for `epoch` when the noise mode is `fresh`.
    pub fn refresh_noise(&mut self, experiment: &Experiment, epoch: usize) {
        let c = experiment.config();
        if let (NoiseMode::Fresh, Some(noise)) = (c.data.noise_mode, c.data.train_noise.as_ref()) {
            let seed = noise_seed(c.experiment.seed, "train", epoch);
            let device = self.train.device();
            self.train.set_noisy(Some(noisy_images(&self.train_host, &self.stats, noise, seed, &device)));
        }
    }
}
