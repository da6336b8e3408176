//! `report --compare RUN RUN ...`: several runs side by side, written into one folder: their
//! per-epoch curves overlaid (`compare.png`) and a self-contained `compare.html` with that figure,
//! each run's final metrics and the config keys that differ between the runs.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mnist_trainer::config::differences;
use mnist_trainer::metrics::MetricRow;
use mnist_trainer::run_dir::METRICS_FILE;
use mnist_trainer::{Averages, Config, EvalSplit, RunDir, TrainError, load_run};

use crate::canvas::Png;
use crate::error::ReportError;
use crate::html::{STYLE, escape, from_averages, from_row, metrics_table};
use crate::plot::{PALETTE, Panel, Series, XAxis, emptiest_corner, panels_figure};
use crate::runfiles::read_metrics;

/// The figure's file name in the output folder.
pub const PNG_FILE: &str = "compare.png";
/// The page's file name in the output folder.
pub const HTML_FILE: &str = "compare.html";
/// The test metrics a sweep saves beside a run (`eval --run DIR --json`).
pub const TEST_FILE: &str = "test.json";

/// One run as the comparison sees it.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// Its directory.
    pub dir: PathBuf,
    /// Its name in the legend and the tables (the directory's name, or its path when two runs
    /// share a name).
    pub label: String,
    /// Its saved config.
    pub config: Config,
    /// `metrics.csv` (empty when it has no epoch yet).
    pub metrics: Vec<MetricRow>,
    /// Test metrics of its last checkpoint, and where they came from.
    pub test: Option<(Averages, &'static str)>,
}

/// One config key that differs between the runs: its value in each (`None`: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifferingKey {
    /// The dotted key, `training.learning_rate`.
    pub key: String,
    /// Its value in each run, in TOML syntax, in the runs' order.
    pub values: Vec<Option<String>>,
}

/// What the comparison wrote.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// The runs, in the order given.
    pub runs: Vec<ComparedRun>,
    /// The keys that differ.
    pub differing: Vec<DifferingKey>,
    /// The figure's path.
    pub png: PathBuf,
    /// The page's path.
    pub html: PathBuf,
}

/// Reads one run: a path that is not a run directory is an error naming it.
fn read_run(dir: &Path, device: Option<&str>) -> Result<ComparedRun, ReportError> {
    let run = RunDir::open(dir).map_err(TrainError::from)?;
    let config_path = run.file(mnist_trainer::run_dir::CONFIG_FILE);
    let config = Config::parse(&run.read_config().map_err(TrainError::from)?, &config_path).map_err(TrainError::from)?;
    let metrics = read_metrics(&run.file(METRICS_FILE))?.unwrap_or_default();
    // A sweep's trials keep their test metrics in test.json; other runs are evaluated here (the
    // test split is 10,000 images at most: seconds, against minutes to train the run).
    let saved = std::fs::read_to_string(dir.join(TEST_FILE)).ok().and_then(|t| serde_json::from_str::<Averages>(&t).ok());
    let test = match saved {
        Some(a) => Some((a, "test.json")),
        None if run.last_checkpoint().map_err(TrainError::from)?.is_some() => {
            let loaded = load_run(dir, "last", device)?;
            let data = loaded.data()?;
            Some((loaded.evaluate(&data, EvalSplit::Test), "last checkpoint"))
        }
        None => None,
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
    Ok(ComparedRun { dir: dir.to_path_buf(), label: name, config, metrics, test })
}

/// The keys whose values differ between the runs: every run's config against the first's
/// ([`differences`]), merged in order of first appearance.
pub fn differing_keys(configs: &[&Config]) -> Vec<DifferingKey> {
    let mut out: Vec<DifferingKey> = Vec::new();
    let Some(first) = configs.first() else { return out };
    for (j, other) in configs.iter().enumerate().skip(1) {
        for d in differences(first, other) {
            let at = match out.iter().position(|k| k.key == d.key) {
                Some(at) => at,
                None => {
                    // Runs not compared yet on this key have the first run's value.
                    out.push(DifferingKey { key: d.key.clone(), values: vec![d.saved.clone(); configs.len()] });
                    out.len() - 1
                }
            };
            out[at].values[j] = d.given;
        }
    }
    out
}

/// Compares `runs` (at least two) into `out`: `compare.png` and `compare.html`. `device` is used
/// only for runs that must be evaluated (no `test.json`).
pub fn compare_runs(runs: &[PathBuf], out: &Path, device: Option<&str>) -> Result<CompareOutcome, ReportError> {
    if runs.len() < 2 {
        return Err(ReportError::Invalid { option: "--compare", reason: format!("{} run(s) given: expected two or more run directories", runs.len()) });
    }
    let mut compared = runs.iter().map(|r| read_run(r, device)).collect::<Result<Vec<_>, _>>()?;
    // Two runs of the same name in different folders: tell them apart by their paths.
    let labels: Vec<String> = compared.iter().map(|r| r.label.clone()).collect();
    for r in &mut compared {
        if labels.iter().filter(|l| **l == r.label).count() > 1 {
            r.label = r.dir.display().to_string();
        }
    }
    let differing = differing_keys(&compared.iter().map(|r| &r.config).collect::<Vec<_>>());
    let png = curves(&compared)?;
    std::fs::create_dir_all(out).map_err(ReportError::io("create", out))?;
    let png_path = out.join(PNG_FILE);
    png.write(&png_path)?;
    let html_path = out.join(HTML_FILE);
    let page = page(&compared, &differing, &png);
    std::fs::write(&html_path, page).map_err(ReportError::io("write", &html_path))?;
    Ok(CompareOutcome { runs: compared, differing, png: png_path, html: html_path })
}

/// The overlaid curves: one colour per run, training thin and pale, validation bold.
fn curves(runs: &[ComparedRun]) -> Result<Png, ReportError> {
    let panel = |title: &str, y_label: &str, column: fn(&MetricRow) -> Option<f64>| {
        let mut series = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            for (split, faint) in [("train", true), ("validation", false)] {
                let pts: Vec<(f64, f64)> = r.metrics.iter().filter(|m| m.split == split).filter_map(|m| column(m).map(|v| (m.epoch as f64, v))).collect();
                if !pts.is_empty() {
                    // One legend entry per run (its validation curve): the titles say which is which.
                    let s = Series::new(if faint { String::new() } else { r.label.clone() }, pts, color);
                    series.push(if faint { s.faint() } else { s });
                }
            }
        }
        let legend = emptiest_corner(&series.iter().map(|s| s.points.clone()).collect::<Vec<_>>(), false);
        Panel { title: title.into(), x_label: "epoch".into(), y_label: y_label.into(), integer_x: true, x_axis: XAxis::Linear, series, legend }
    };
    let mut panels = vec![panel("Loss (train pale, validation bold)", "loss", |m| Some(m.loss))];
    if runs.iter().any(|r| r.metrics.iter().any(|m| m.accuracy.is_some())) {
        panels.push(panel("Accuracy (train pale, validation bold)", "accuracy", |m| m.accuracy));
    }
    panels_figure(PNG_FILE, &panels)
}

/// The self-contained page: runs, differing keys, final metrics, the figure.
fn page(runs: &[ComparedRun], differing: &[DifferingKey], png: &Png) -> String {
    let mut s = format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Comparison of {} runs</title><style>{STYLE}</style></head><body>\n", runs.len());
    s += &format!("<h1>Comparison of {} runs</h1>\n<p class=\"meta\">Written by <code>report --compare</code>.</p>\n<ul>", runs.len());
    for r in runs {
        s += &format!("<li><b>{}</b>: <code>{}</code> ({})</li>", escape(&r.label), escape(&r.dir.display().to_string()), escape(r.config.model.kind()));
    }
    s += "</ul>\n<h2>Config keys that differ</h2>\n";
    if differing.is_empty() {
        s += "<p>None: the runs have the same config.</p>\n";
    } else {
        s += "<table><tr><th>key</th>";
        for r in runs {
            s += &format!("<th>{}</th>", escape(&r.label));
        }
        s += "</tr>";
        for k in differing {
            s += &format!("<tr><td><code>{}</code></td>", escape(&k.key));
            for v in &k.values {
                s += &format!("<td>{}</td>", v.as_deref().map(escape).unwrap_or_else(|| "(not set)".into()));
            }
            s += "</tr>";
        }
        s += "</table>\n";
    }
    s += "<h2>Final metrics</h2>\n";
    let mut rows = Vec::new();
    for r in runs {
        if let Some(v) = r.metrics.iter().rev().find(|m| m.split == "validation") {
            rows.push((format!("{}: validation, epoch {}", r.label, v.epoch), from_row(v)));
        }
        if let Some((t, from)) = &r.test {
            rows.push((format!("{}: test ({from}, {} samples)", r.label, t.samples), from_averages(t)));
        }
    }
    s += &metrics_table(&rows);
    s += &format!(
        "\n<h2>Curves</h2>\n<figure><img src=\"data:image/png;base64,{}\" width=\"{}\" height=\"{}\" alt=\"per-epoch curves\"><figcaption>Per epoch, each run in its own colour: training curves thin and pale, validation curves bold. <code>{PNG_FILE}</code></figcaption></figure>\n",
        STANDARD.encode(&png.bytes),
        png.width,
        png.height
    );
    s + "</body></html>\n"
}
