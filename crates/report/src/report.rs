//! The `report` command: loads a run, draws every figure that applies into `<run>/plots/`,
//! writes the TensorBoard event file under `<run>/tensorboard/` and the page `<run>/report.html`.

use std::path::{Path, PathBuf};

use mnist_runs::metrics::MetricRow;
use mnist_runs::run_dir::{METRICS_FILE, STEPS_FILE};
use mnist_runs::{Averages, EvalSplit, RunDir, load_run};

use crate::error::ReportError;
use crate::figures::pca::PcaSummary;
use crate::figures::{Context, Skipped, render_all};
use crate::runfiles::{StepRow, read_metrics, read_steps};
use crate::tensorboard::{RunTimes, Scalar, event_files, write_scalars};

/// Directory of the figures inside a run.
pub const PLOTS_DIR: &str = "plots";
/// Directory of the TensorBoard event file inside a run.
pub const TENSORBOARD_DIR: &str = mnist_runs::tensorboard::TENSORBOARD_DIR;
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
    /// Largest number of tiles in a weight mosaic (the first units are shown).
    pub max_tiles: usize,
    /// Also write each figure as SVG beside its PNG (text and lines as vectors).
    pub svg: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            checkpoint: "last".into(),
            device: None,
            manifold_range: 4.0,
            html: true,
            tensorboard: true,
            max_tiles: crate::figures::DEFAULT_MAX_TILES,
            svg: false,
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
/// at step = epoch, and the per-step log as `step/loss` and `step/nonzero_fraction`, each at the
/// time it was recorded. Rows and steps without a time of their own get one from `times` (see
/// [`RunTimes::fill`] and [`step_times`]).
pub fn run_scalars(metrics: &[MetricRow], steps: &[StepRow], times: &RunTimes) -> Vec<Scalar> {
    let mut metrics = metrics.to_vec();
    times.fill(&mut metrics);
    let mut out = mnist_runs::metrics::scalars(&metrics);
    for (s, wall_time) in steps.iter().zip(step_times(steps, &metrics, times)) {
        out.push(Scalar::new(
            wall_time,
            s.step as i64,
            "step/loss",
            s.loss as f32,
        ));
        if let Some(f) = s.nonzero_fraction {
            out.push(Scalar::new(
                wall_time,
                s.step as i64,
                "step/nonzero_fraction",
                f as f32,
            ));
        }
    }
    out
}

/// The wall time of each step: its own (`steps.csv`'s `time`), else the one its `step/loss`
/// point has in the run's event files, else interpolated linearly in the step number between the
/// nearest steps that have one. Where no step has one (logs written before times were
/// recorded), training is taken to run from step 0 at the start of the first training pass to
/// the last step at the end of the last one (`metrics`, already timed), so the steps line up
/// with the epochs; a step with a known time on one side only takes that time.
pub fn step_times(steps: &[StepRow], metrics: &[MetricRow], times: &RunTimes) -> Vec<f64> {
    let own: Vec<Option<f64>> = steps
        .iter()
        .map(|s| {
            s.time
                .or_else(|| times.recorded("step/loss", s.step as i64))
        })
        .collect();
    let mut anchors: Vec<(f64, f64)> = steps
        .iter()
        .zip(&own)
        .filter_map(|(s, t)| t.map(|t| (s.step as f64, t)))
        .collect();
    let first_pass = metrics
        .iter()
        .find(|r| r.split == "train")
        .and_then(|r| r.time.map(|t| t - r.seconds));
    let last_pass = metrics
        .iter()
        .rfind(|r| r.split == "train")
        .and_then(|r| r.time);
    let first_known = anchors.iter().map(|a| a.1).fold(f64::INFINITY, f64::min);
    if let Some(start) = first_pass.or(times.start())
        && start <= first_known
    {
        anchors.push((0.0, start));
    }
    if own.iter().all(Option::is_none)
        && let (Some(end), Some(last)) = (last_pass, steps.iter().map(|s| s.step).max())
    {
        anchors.push((last as f64, end));
    }
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    steps
        .iter()
        .zip(own)
        .map(|(s, t)| {
            t.unwrap_or_else(|| {
                let x = s.step as f64;
                let after = anchors.partition_point(|a| a.0 <= x);
                match (after.checked_sub(1).map(|i| anchors[i]), anchors.get(after)) {
                    (Some((x0, t0)), Some(&(x1, t1))) => t0 + (t1 - t0) * (x - x0) / (x1 - x0),
                    (Some((_, t)), None) | (None, Some(&(_, t))) => t,
                    (None, None) => mnist_runs::metrics::now_unix(),
                }
            })
        })
        .collect()
}

/// Rewrites `<run>/tensorboard/` from the run's `metrics.csv` and `steps.csv`, every point at the
/// time it was recorded (or the best stand-in the run holds, see [`RunTimes`]).
pub fn write_tensorboard(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let metrics = read_metrics(&run_dir.join(METRICS_FILE))?.unwrap_or_default();
    let steps = read_steps(&run_dir.join(STEPS_FILE))?.unwrap_or_default();
    // Read before the rewrite below replaces the event file whose times it may need.
    let times = RunTimes::read(run_dir);
    let dir = run_dir.join(TENSORBOARD_DIR);
    // A `train` still running appends to the event file itself: replacing the file under it
    // could drop the epoch it appends meanwhile. Its points are there already, with their times.
    if let Some(existing) = RunDir::open(run_dir).ok().filter(|r| r.trainer().is_some()).and_then(|_| event_files(&dir).ok()?.pop()) {
        return Ok(existing);
    }
    write_scalars(&dir, &run_scalars(&metrics, &steps, &times))
        .map_err(ReportError::io("write event file in", &dir))
}

/// Draws the report of `run_dir`.
pub fn generate_report(run_dir: &Path, opts: &ReportOptions) -> Result<ReportOutcome, ReportError> {
    let loaded = load_run(run_dir, &opts.checkpoint, opts.device.as_deref())?;
    let data = loaded.data()?;
    let test = loaded.evaluate(&data, EvalSplit::Test);
    let mut ctx = Context::new(&loaded, &data, &test, opts.manifold_range)?;
    ctx.max_tiles = opts.max_tiles.max(1);
    let output = render_all(&ctx)?;

    let plots = run_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots).map_err(ReportError::io("create", &plots))?;
    let mut figures = Vec::new();
    let mut svg_files = Vec::new();
    for f in &output.figures {
        let path = plots.join(&f.file);
        f.png.write(&path)?;
        if opts.svg
            && let Some(svg) = f.png.svg()
        {
            let svg_path = path.with_extension("svg");
            std::fs::write(&svg_path, svg).map_err(ReportError::io("write", &svg_path))?;
            svg_files.push(svg_path);
        }
        figures.push(WrittenFigure {
            path,
            title: f.title.clone(),
            width: f.png.width,
            height: f.png.height,
        });
    }
    let mut files = svg_files;
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
