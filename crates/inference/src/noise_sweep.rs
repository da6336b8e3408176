//! The noise sweep (`noise-sweep`): a denoising autoencoder and a classifier, test images
//! corrupted at several noise levels; for each level the classifier's accuracy on the noisy and
//! on the denoised images, and the PSNR of both against the clean ones. A CSV, a table and a plot
//! (drawn by `mnist_report::figures::noise_sweep` from plain rows).
//!
//! The two runs may normalize differently, so images travel between them as [0, 1] grey levels:
//! noise is applied to grey levels, each model's input is normalized with its own run's
//! statistics, and the denoiser's output is mapped back to grey levels before the classifier
//! normalizes it again.

use std::path::{Path, PathBuf};

use mnist_data::{GaussianNoise, Noise, SaltAndPepperNoise, derive_seed};
use mnist_models::Task;
use mnist_report::figures::noise_sweep::{self as figure, Row};
use mnist_report::tensors::{from_grey, predict_all, psnr, reconstruct_all, to_grey, upload_images};
use mnist_runs::{LoadError, LoadedRun, load_run};
use serde::Serialize;

use crate::error::InferenceError;

/// File name of the CSV.
pub const CSV_FILE: &str = "noise_sweep.csv";
/// File name of the plot.
pub const PNG_FILE: &str = figure::FILE;
/// Levels swept when none are given.
pub const DEFAULT_LEVELS: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// The corruption swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseSweepKind {
    /// Level = probability that a pixel turns black or white.
    SaltAndPepper,
    /// Level = standard deviation of added Gaussian noise, in grey levels (1 = black to
    /// white), the result clipped to [0, 1].
    Gaussian,
}

impl NoiseSweepKind {
    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            NoiseSweepKind::SaltAndPepper => "salt_and_pepper",
            NoiseSweepKind::Gaussian => "gaussian",
        }
    }

    /// The x-axis label of the sweep's figure.
    pub fn axis_label(self) -> &'static str {
        match self {
            NoiseSweepKind::SaltAndPepper => "salt-and-pepper level (fraction of pixels replaced)",
            NoiseSweepKind::Gaussian => "Gaussian noise std (grey levels)",
        }
    }

    /// The corruption at `level`, in grey-level space.
    pub fn at(self, level: f32) -> Noise {
        match self {
            NoiseSweepKind::SaltAndPepper => Noise::SaltAndPepper(SaltAndPepperNoise { level }),
            NoiseSweepKind::Gaussian => Noise::Gaussian(GaussianNoise {
                factor: level,
                mean: 0.0,
                std: 1.0,
                clip: true,
            }),
        }
    }
}

/// How the sweep is run (the command line's flags).
#[derive(Debug, Clone)]
pub struct NoiseSweepOptions {
    /// Run directory of the denoising autoencoder.
    pub denoiser: PathBuf,
    /// Run directory of the classifier.
    pub classifier: PathBuf,
    /// Noise levels, in sweep order.
    pub levels: Vec<f32>,
    /// The corruption.
    pub noise: NoiseSweepKind,
    /// Checkpoint of both runs: `best`, `last` or a path.
    pub checkpoint: String,
    /// Backend override.
    pub device: Option<String>,
    /// Test images used (default: the denoiser's `test_limit`, else all).
    pub limit: Option<usize>,
    /// Directory of the CSV and plot (default: the denoiser's `plots/`).
    pub out: Option<PathBuf>,
    /// Seed of the noise.
    pub seed: u64,
}

/// The results at one noise level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseSweepRow {
    /// The noise level.
    pub level: f32,
    /// Classifier accuracy on the noisy images.
    pub accuracy_noisy: f64,
    /// Classifier accuracy on the denoised images.
    pub accuracy_denoised: f64,
    /// PSNR (dB) of the noisy images against the clean ones (infinite at level 0).
    pub psnr_noisy: f64,
    /// PSNR (dB) of the denoised images against the clean ones.
    pub psnr_denoised: f64,
}

impl NoiseSweepRow {
    /// The row as the figure plots it.
    pub fn figure_row(&self) -> Row {
        Row {
            level: self.level as f64,
            accuracy_noisy: self.accuracy_noisy,
            accuracy_denoised: self.accuracy_denoised,
            psnr_noisy: self.psnr_noisy,
            psnr_denoised: self.psnr_denoised,
        }
    }
}

/// What the sweep produced.
#[derive(Debug, Clone)]
pub struct NoiseSweepOutcome {
    /// One row per level.
    pub rows: Vec<NoiseSweepRow>,
    /// The corruption.
    pub noise: NoiseSweepKind,
    /// Test images per level.
    pub samples: usize,
    /// Classifier accuracy on the clean images.
    pub accuracy_clean: f64,
    /// The CSV written.
    pub csv: PathBuf,
    /// The plot written.
    pub png: PathBuf,
}

fn check_levels(noise: NoiseSweepKind, levels: &[f32]) -> Result<(), InferenceError> {
    if levels.is_empty() {
        return Err(InferenceError::Invalid {
            option: "--levels",
            reason: "no level given".into(),
        });
    }
    for &l in levels {
        let ok = match noise {
            NoiseSweepKind::SaltAndPepper => (0.0..=1.0).contains(&l),
            NoiseSweepKind::Gaussian => l.is_finite() && l >= 0.0,
        };
        if !ok {
            let expected = match noise {
                NoiseSweepKind::SaltAndPepper => "a probability in [0, 1]",
                NoiseSweepKind::Gaussian => "a standard deviation >= 0 (in grey levels)",
            };
            return Err(InferenceError::Invalid {
                option: "--levels",
                reason: format!("{l} is not {expected}"),
            });
        }
    }
    Ok(())
}

fn expect_task(run: &LoadedRun, path: &Path, want: &str, ok: bool) -> Result<(), InferenceError> {
    if ok {
        return Ok(());
    }
    Err(InferenceError::WrongRun {
        path: path.to_path_buf(),
        reason: format!(
            "expected {want}, but this run trains a {}",
            run.experiment.config().model.kind()
        ),
    })
}

/// The classifier's accuracy on grey-level images.
fn accuracy(classifier: &LoadedRun, grey: &[f32], labels: &[u8]) -> Result<f64, InferenceError> {
    let images = upload_images(
        from_grey(grey, &classifier.info.norm_stats),
        &classifier.device,
    );
    let predicted = predict_all(&classifier.model, &images)?.unwrap_or_default();
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(correct as f64 / labels.len().max(1) as f64)
}

/// Runs the sweep and writes its CSV and plot.
pub fn run_noise_sweep(opts: &NoiseSweepOptions) -> Result<NoiseSweepOutcome, InferenceError> {
    check_levels(opts.noise, &opts.levels)?;
    let denoiser = load_run(&opts.denoiser, &opts.checkpoint, opts.device.as_deref())?;
    expect_task(
        &denoiser,
        &opts.denoiser,
        "an autoencoder (the denoiser)",
        denoiser.experiment.config().model.task() != Task::Classifier,
    )?;
    let classifier = load_run(&opts.classifier, &opts.checkpoint, opts.device.as_deref())?;
    expect_task(
        &classifier,
        &opts.classifier,
        "a classifier",
        classifier.experiment.config().model.task() == Task::Classifier,
    )?;

    let data_config = &denoiser.experiment.config().data;
    let test = denoiser.experiment.data_source().and_then(|s| s.load()).map_err(LoadError::from)?.test;
    let limit = opts.limit.or(data_config.test_limit);
    let test = match limit {
        Some(n) => test.take(n),
        None => test,
    };
    if test.is_empty() {
        return Err(InferenceError::Invalid {
            option: "--limit",
            reason: "no test image left to sweep".into(),
        });
    }
    let clean: Vec<f32> = test.pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let d_stats = denoiser.info.norm_stats;
    let accuracy_clean = accuracy(&classifier, &clean, &test.labels)?;
    let mut rows = Vec::with_capacity(opts.levels.len());
    for (i, &level) in opts.levels.iter().enumerate() {
        let mut noisy = clean.clone();
        opts.noise.at(level).apply(
            &mut noisy,
            (0.0, 1.0),
            derive_seed(opts.seed, "noise-sweep", i as u64),
        );
        let inputs = upload_images(from_grey(&noisy, &d_stats), &denoiser.device);
        let denoised = reconstruct_all(&denoiser.model, &inputs)?.unwrap_or_default();
        let denoised = to_grey(&denoised, &d_stats);
        rows.push(NoiseSweepRow {
            level,
            accuracy_noisy: accuracy(&classifier, &noisy, &test.labels)?,
            accuracy_denoised: accuracy(&classifier, &denoised, &test.labels)?,
            psnr_noisy: psnr(&noisy, &clean),
            psnr_denoised: psnr(&denoised, &clean),
        });
    }

    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| opts.denoiser.join("plots"));
    std::fs::create_dir_all(&out_dir).map_err(InferenceError::io("create", &out_dir))?;
    let csv = out_dir.join(CSV_FILE);
    std::fs::write(&csv, to_csv(opts.noise, &rows)).map_err(InferenceError::io("write", &csv))?;
    let png = out_dir.join(PNG_FILE);
    let points: Vec<Row> = rows.iter().map(NoiseSweepRow::figure_row).collect();
    figure::plot(opts.noise.axis_label(), &points, accuracy_clean)?.write(&png)?;
    Ok(NoiseSweepOutcome {
        rows,
        noise: opts.noise,
        samples: test.len(),
        accuracy_clean,
        csv,
        png,
    })
}

/// The CSV text: `noise,level,accuracy_noisy,accuracy_denoised,psnr_noisy_db,psnr_denoised_db`.
pub fn to_csv(noise: NoiseSweepKind, rows: &[NoiseSweepRow]) -> String {
    let mut s = String::from(
        "noise,level,accuracy_noisy,accuracy_denoised,psnr_noisy_db,psnr_denoised_db\n",
    );
    for r in rows {
        s += &format!(
            "{},{},{},{},{},{}\n",
            noise.name(),
            r.level,
            r.accuracy_noisy,
            r.accuracy_denoised,
            r.psnr_noisy,
            r.psnr_denoised
        );
    }
    s
}

impl NoiseSweepOutcome {
    /// The printed table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "noise sweep ({}), {} test images; classifier accuracy on clean images {:.4}\n",
            self.noise.name(),
            self.samples,
            self.accuracy_clean
        );
        s += " level  accuracy noisy  accuracy denoised  PSNR noisy (dB)  PSNR denoised (dB)\n";
        for r in &self.rows {
            s += &format!(
                "{:>6.2}  {:>14.4}  {:>17.4}  {:>15.2}  {:>18.2}\n",
                r.level, r.accuracy_noisy, r.accuracy_denoised, r.psnr_noisy, r.psnr_denoised
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_checked() {
        assert!(check_levels(NoiseSweepKind::SaltAndPepper, &DEFAULT_LEVELS).is_ok());
        assert!(check_levels(NoiseSweepKind::SaltAndPepper, &[1.5]).is_err());
        assert!(check_levels(NoiseSweepKind::Gaussian, &[1.5]).is_ok());
        assert!(check_levels(NoiseSweepKind::Gaussian, &[-0.1]).is_err());
        assert!(check_levels(NoiseSweepKind::Gaussian, &[]).is_err());
    }

    #[test]
    fn csv_has_one_row_per_level() {
        let row = NoiseSweepRow {
            level: 0.2,
            accuracy_noisy: 0.5,
            accuracy_denoised: 0.9,
            psnr_noisy: 10.0,
            psnr_denoised: 20.0,
        };
        let csv = to_csv(NoiseSweepKind::SaltAndPepper, &[row]);
        assert_eq!(
            csv.lines().nth(1),
            Some("salt_and_pepper,0.2,0.5,0.9,10,20")
        );
    }
}
