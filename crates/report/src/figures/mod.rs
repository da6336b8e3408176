//! The figures of a run, one module each. Every module's `render` looks at the run, draws what
//! applies and records a skip note (never an error) for what does not.

use mnist_data::NormStats;
use mnist_models::Task;
use mnist_runs::data::Prepared;
use mnist_runs::{Averages, LoadedRun};

use crate::canvas::Png;
use crate::error::ReportError;
use crate::tensors::{Codes, encode_all, probabilities_all, read_i64};

pub mod confusion;
pub mod denoising;
pub mod latent_manifold;
pub mod latent_scatter;
pub mod latent_tsne;
pub mod loss_curves;
pub mod mistakes;
pub mod noise_sweep;
pub mod pca;
pub mod reconstructions;
pub mod samples;
pub mod steps;
pub mod weights;

/// One PNG of the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File name inside `plots/`.
    pub file: String,
    /// Short title (the HTML heading).
    pub title: String,
    /// What it shows, one or two sentences.
    pub caption: String,
    /// The image.
    pub png: Png,
}

/// A figure that does not apply to the run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The figure's name.
    pub figure: String,
    /// Why it was skipped.
    pub reason: String,
}

/// What the figure modules produce: figures, data files beside them and skip notes.
#[derive(Debug, Default)]
pub struct Output {
    /// The figures, in report order.
    pub figures: Vec<Figure>,
    /// Data files for `plots/` (CSV, JSON): name and contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// Figures that do not apply.
    pub skipped: Vec<Skipped>,
    /// The PCA summary, when the PCA figure was drawn.
    pub pca: Option<crate::figures::pca::PcaSummary>,
}

impl Output {
    /// Adds a figure.
    pub fn figure(&mut self, file: &str, title: &str, caption: impl Into<String>, png: Png) {
        self.figures.push(Figure {
            file: file.into(),
            title: title.into(),
            caption: caption.into(),
            png,
        });
    }

    /// Adds a data file.
    pub fn file(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.push((name.into(), bytes));
    }

    /// Records that `figure` does not apply.
    pub fn skip(&mut self, figure: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            figure: figure.into(),
            reason: reason.into(),
        });
    }
}

/// Everything a figure may need, loaded once.
#[derive(Debug)]
pub struct Context<'a> {
    /// The run and its model.
    pub loaded: &'a LoadedRun,
    /// Its data, with the training-time normalization.
    pub data: &'a Prepared,
    /// The model's metrics on the test split.
    pub test_metrics: &'a Averages,
    /// Half-width of the VAE's latent manifold grid (±4 by default).
    pub manifold_range: f32,
    /// Latent codes of the clean test images (VAE: the means); `None` for classifiers.
    pub codes: Option<Codes>,
    /// Class probabilities of the test inputs, ten per image; `None` for autoencoders.
    pub probabilities: Option<Vec<Vec<f32>>>,
    /// The test labels.
    pub labels: Vec<u8>,
    /// Largest number of tiles in a weight mosaic (the first units are shown).
    pub max_tiles: usize,
}

impl<'a> Context<'a> {
    /// Gathers the context, encoding the test set once for the latent figures.
    pub fn new(
        loaded: &'a LoadedRun,
        data: &'a Prepared,
        test_metrics: &'a Averages,
        manifold_range: f32,
    ) -> Result<Context<'a>, ReportError> {
        let codes = encode_all(&loaded.model, &data.test.clean(), &data.test.labels)?;
        let probabilities = probabilities_all(&loaded.model, &data.test.inputs())?;
        let labels = read_i64(data.test.labels.clone(), "labels")?.into_iter().map(|l| l as u8).collect();
        Ok(Context {
            loaded,
            data,
            test_metrics,
            manifold_range,
            codes,
            probabilities,
            labels,
            max_tiles: DEFAULT_MAX_TILES,
        })
    }

    /// The run as figure titles name it: the experiment's name, and the run directory's name
    /// when that differs (a sweep's trials, `train --out`).
    pub fn run_name(&self) -> String {
        let name = &self.loaded.experiment.config().experiment.name;
        match self.loaded.run.path().file_name().map(|f| f.to_string_lossy()) {
            Some(dir) if dir != name.as_str() => format!("{name} ({dir})"),
            _ => name.clone(),
        }
    }

    /// `title` prefixed with the run's name, for a figure's heading.
    pub fn title(&self, title: &str) -> String {
        format!("{}: {title}", self.run_name())
    }

    /// The normalization of the run.
    pub fn stats(&self) -> &NormStats {
        &self.data.stats
    }

    /// Classifier, autoencoder or VAE.
    pub fn task(&self) -> Task {
        self.loaded.experiment.config().model.task()
    }

    /// The experiment seed (sampling figures derive their randomness from it).
    pub fn seed(&self) -> u64 {
        self.loaded.experiment.config().experiment.seed
    }
}

/// Default largest number of tiles in a weight mosaic: 64 (8 × 8) stay readable on a slide;
/// a layer of 512 units drawn whole is a grey carpet.
pub const DEFAULT_MAX_TILES: usize = 64;

/// Draws every figure that applies to the run, in report order.
pub fn render_all(ctx: &Context<'_>) -> Result<Output, ReportError> {
    let mut out = Output::default();
    loss_curves::render(ctx, &mut out)?;
    steps::render(ctx, &mut out)?;
    confusion::render(ctx, &mut out)?;
    // The image figures tile 28x28 grey pictures; a run on other images gets the others.
    let shape = ctx.loaded.info.input_shape;
    if shape != mnist_models::IMAGE_SHAPE {
        let reason = format!("drawn for 1x28x28 images; this run's are {}x{}x{}", shape[0], shape[1], shape[2]);
        reconstructions::render(ctx, &mut out)?;
        denoising::render(ctx, &mut out)?;
        for figure in ["mistakes.png", "latent_manifold.png", "samples.png", "weights_first_layer.png", "weights_last_layer.png", "pca_components.png"] {
            out.skip(figure, reason.clone());
        }
        latent_scatter::render(ctx, &mut out)?;
        latent_tsne::render(ctx, &mut out)?;
        return Ok(out);
    }
    mistakes::render(ctx, &mut out)?;
    reconstructions::render(ctx, &mut out)?;
    denoising::render(ctx, &mut out)?;
    latent_scatter::render(ctx, &mut out)?;
    latent_tsne::render(ctx, &mut out)?;
    latent_manifold::render(ctx, &mut out)?;
    samples::render(ctx, &mut out)?;
    weights::render(ctx, &mut out)?;
    pca::render(ctx, &mut out)?;
    Ok(out)
}
