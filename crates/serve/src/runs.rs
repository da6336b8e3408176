//! The runs of a folder as the page lists them, read from the run directories as `train` leaves
//! them (nothing is written): `<runs>/<run>` and the trials of sweeps, `<runs>/<sweep>/<trial>`.

use std::path::{Path, PathBuf};

use mnist_runs::metrics::{MetricRow, from_csv};
use mnist_runs::run_dir::METRICS_FILE;
use mnist_config::Config;
use mnist_runs::RunDir;
use serde::Serialize;

/// How deep below the runs folder run directories are looked for (a sweep's trials are 2 deep).
const DEPTH: usize = 3;

/// One run, as `/api/runs` reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunSummary {
    /// Its path below the runs folder, `/`-separated: what the API calls it.
    pub name: String,
    /// The sweep it belongs to (the folder holding `sweep.toml`), if any.
    pub group: Option<String>,
    /// `mlp`, `vae`, ...
    pub kind: String,
    /// `classifier`, `autoencoder` or `vae`.
    pub task: String,
    /// `training` (a `train` holds it now), `finished` or `interrupted`.
    pub state: String,
    /// Epochs done and planned.
    pub epoch: usize,
    /// The config's epoch count.
    pub epochs: usize,
    /// The last validation metrics (`loss`, `accuracy`, ...).
    pub metrics: Vec<(String, f64)>,
    /// `report.html` exists.
    pub report: bool,
}

/// Every run directory below `root`, sorted by name; unreadable ones are left out.
pub fn scan(root: &Path) -> Vec<RunSummary> {
    let mut found = Vec::new();
    walk(root, root, 0, &mut found);
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<RunSummary>) {
    if let Some(run) = summarize(root, dir) {
        found.push(run);
        return;
    }
    if depth >= DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        // Links are not followed: the page shows only what lies inside the folder.
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &e.path(), depth + 1, found);
        }
    }
}

/// The `/`-separated name of `dir` below `root`.
pub fn name_of(root: &Path, dir: &Path) -> Option<String> {
    let rel = dir.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The directory of run `name` below `root`, if `name` is one of the runs [`scan`] finds (so no
/// name can reach outside the folder).
pub fn find(root: &Path, name: &str) -> Option<PathBuf> {
    if name
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return None;
    }
    let dir = root.join(name);
    summarize(root, &dir).map(|_| dir)
}

fn summarize(root: &Path, dir: &Path) -> Option<RunSummary> {
    if !dir.join("config.toml").is_file() || dir.is_symlink() {
        return None;
    }
    let run = RunDir::open(dir).ok()?;
    let config_path = dir.join("config.toml");
    let config = Config::parse(&std::fs::read_to_string(&config_path).ok()?, &config_path).ok()?;
    let info = run.read_info().ok().flatten();
    let rows: Vec<MetricRow> = std::fs::read_to_string(dir.join(METRICS_FILE))
        .ok()
        .and_then(|t| from_csv(&t).ok())
        .unwrap_or_default();
    let last = rows.iter().rev().find(|r| r.split == "validation");
    let state = if run.trainer().is_some() {
        "training"
    } else if info.as_ref().is_some_and(|i| i.finished) {
        "finished"
    } else {
        "interrupted"
    };
    let mut metrics = Vec::new();
    if let Some(r) = last {
        metrics.push(("loss".to_string(), r.metrics.loss));
        for (k, v) in [("accuracy", r.metrics.accuracy), ("mse", r.metrics.mse), ("psnr", r.metrics.psnr)] {
            if let Some(v) = v {
                metrics.push((k.to_string(), v));
            }
        }
    }
    let group = dir
        .parent()
        .filter(|p| p.join("sweep.toml").is_file())
        .and_then(|p| name_of(root, p));
    let task = match config.model.task() {
        mnist_models::Task::Classifier => "classifier",
        mnist_models::Task::Autoencoder => "autoencoder",
        mnist_models::Task::VariationalAutoencoder => "vae",
    };
    Some(RunSummary {
        name: name_of(root, dir)?,
        group,
        kind: config.model.kind().to_string(),
        task: task.to_string(),
        state: state.to_string(),
        epoch: rows.iter().map(|r| r.epoch).max().unwrap_or(0),
        epochs: config.training.epochs,
        metrics,
        report: dir.join("report.html").is_file(),
    })
}

/// The per-epoch validation and training loss (and accuracy) of run `dir`, for overlaid curves.
pub fn curves(dir: &Path) -> Vec<MetricRow> {
    std::fs::read_to_string(dir.join(METRICS_FILE))
        .ok()
        .and_then(|t| from_csv(&t).ok())
        .unwrap_or_default()
}
