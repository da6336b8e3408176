//! The `report` command: loads a run, draws every figure that applies into `<run>/plots/`,
//! writes the TensorBoard event file under `<run>/tensorboard/` and the page `<run>/report.html`.

use std::path::{Path, PathBuf};

use mnist_trainer::metrics::MetricRow;
use mnist_trainer::run_dir::{METRICS_FILE, STEPS_FILE};
use mnist_trainer::{Averages, EvalSplit, load_run};

use crate::error::ReportError;
use crate::figures::pca::PcaSummary;
use crate::figures::{Context, Skipped, render_all};
use crate::runfiles::{StepRow, read_metrics, read_steps};
use crate::tensorboard::{Scalar, write_scalars};

/// Directory of the figures inside a run.
pub const PLOTS_DIR: &str = "plots";
/// Directory of the TensorBoard event file inside a run.
pub const TENSORBOARD_DIR: &str = "tensorboard";
/// The HTML page inside a run.
pub const HTML_FILE: &str = "report.html";

/// How `report` is run (the command line's flags).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// `best`, `last` or a checkpoint path.
    pub checkpoint: String,
    /// Backend override.
    pub device: Option<String>,
    /// Half-width of the VAE's latent manifold grid.
    pub manifold_range: f32,
    /// Write `report.html`.
    pub html: bool,
    /// Write the TensorBoard event file.
    pub tensorboard: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            checkpoint: "last".into(),
            device: None,
            manifold_range: 4.0,
            html: true,
            tensorboard: true,
        }
    }
}

/// A figure written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFigure {
    /// Its path.
    pub path: PathBuf,
    /// Its title.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What `report` produced.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The figures, in report order.
    pub figures: Vec<WrittenFigure>,
    /// Data files written beside them (CSV, JSON).
    pub files: Vec<PathBuf>,
    /// Figures that do not apply to the run, and why.
    pub skipped: Vec<Skipped>,
    /// The PCA summary, for autoencoders.
    pub pca: Option<PcaSummary>,
    /// The event file written.
    pub tensorboard: Option<PathBuf>,
    /// The page written.
    pub html: Option<PathBuf>,
    /// The checkpoint's metrics on the test split.
    pub test: Averages,
}

/// The scalars TensorBoard shows for a run: every column of `metrics.csv` as `<split>/<column>`
/// at step = epoch, and the per-step log as `step/loss` and `step/nonzero_fraction`.
pub fn run_scalars(metrics: &[MetricRow], steps: &[StepRow]) -> Vec<Scalar> {
    let mut out = mnist_trainer::metrics::scalars(metrics);
    for s in steps {
        out.push(Scalar::new(s.step as i64, "step/loss", s.loss as f32));
        if let Some(f) = s.nonzero_fraction {
            out.push(Scalar::new(
                s.step as i64,
                "step/nonzero_fraction",
                f as f32,
            ));
        }
    }
    out
}

/// Rewrites `<run>/tensorboard/` from the run's `metrics.csv` and `steps.csv`.
pub fn write_tensorboard(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let metrics = read_metrics(&run_dir.join(METRICS_FILE))?.unwrap_or_default();
    let steps = read_steps(&run_dir.join(STEPS_FILE))?.unwrap_or_default();
    let dir = run_dir.join(TENSORBOARD_DIR);
    write_scalars(&dir, &run_scalars(&metrics, &steps))
        .map_err(ReportError::io("write event file in", &dir))
}

/// Draws the report of `run_dir`.
pub fn generate_report(run_dir: &Path, opts: &ReportOptions) -> Result<ReportOutcome, ReportError> {
    let loaded = load_run(run_dir, &opts.checkpoint, opts.device.as_deref())?;
    let data = loaded.data()?;
    let test = loaded.evaluate(&data, EvalSplit::Test);
    let ctx = Context::new(&loaded, &data, &test, opts.manifold_range)?;
    let output = render_all(&ctx)?;

    let plots = run_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots).map_err(ReportError::io("create", &plots))?;
    let mut figures = Vec::new();
    for f in &output.figures {
        let path = plots.join(&f.file);
        f.png.write(&path)?;
        figures.push(WrittenFigure {
            path,
            title: f.title.clone(),
            width: f.png.width,
            height: f.png.height,
        });
    }
    let mut files = Vec::new();
    for (name, bytes) in &output.files {
        let path = plots.join(name);
        std::fs::write(&path, bytes).map_err(ReportError::io("write", &path))?;
        files.push(path);
    }
    let tensorboard = if opts.tensorboard {
        Some(write_tensorboard(run_dir)?)
    } else {
        None
    };
    let html = if opts.html {
        let metrics = read_metrics(&run_dir.join(METRICS_FILE))?.unwrap_or_default();
        let page = crate::html::page(&loaded, &test, &metrics, &output);
        let path = run_dir.join(HTML_FILE);
        std::fs::write(&path, page).map_err(ReportError::io("write", &path))?;
        Some(path)
    } else {
        None
    };
    Ok(ReportOutcome {
        run_dir: run_dir.to_path_buf(),
        figures,
        files,
        skipped: output.skipped,
        pca: output.pca,
        tensorboard,
        html,
        test,
    })
}
