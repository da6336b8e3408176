//! The figure and page of a comparison of runs (`report --compare RUN RUN ...`): their per-epoch
//! curves overlaid (`compare.png`) and a self-contained `compare.html` with that figure, each
//! run's final metrics and the config keys that differ between the runs.
//!
//! Drawing only: the experiments crate reads the runs and compares them
//! (`mnist_experiments::compare`) and hands the results over as plain data, so this crate does not
//! depend on it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mnist_runs::Averages;
use mnist_runs::metrics::MetricRow;

use crate::canvas::Png;
use crate::error::ReportError;
use crate::html::{STYLE, escape, from_averages, from_row, metrics_table};
use crate::plot::{PALETTE, Panel, Series, XAxis, emptiest_corner, panels_figure};

/// The figure's file name in the output folder.
pub const PNG_FILE: &str = "compare.png";
/// The page's file name in the output folder.
pub const HTML_FILE: &str = "compare.html";

/// One run as the figure and the page show it.
#[derive(Debug, Clone, Copy)]
pub struct DrawnRun<'a> {
    /// Its name in the legend and the tables.
    pub label: &'a str,
    /// Its directory.
    pub dir: &'a Path,
    /// Its model kind (`mlp`, `vae`, ...).
    pub model: &'a str,
    /// Its `metrics.csv` rows.
    pub metrics: &'a [MetricRow],
    /// Its test metrics and which weights they are of (`last checkpoint`).
    pub test: Option<(&'a Averages, &'a str)>,
}

/// One config key that differs between the runs: its dotted name and its value in each run, in
/// TOML syntax (`None`: not set).
#[derive(Debug, Clone, Copy)]
pub struct DrawnKey<'a> {
    /// The dotted key, `training.learning_rate`.
    pub key: &'a str,
    /// Its value in each run, in the runs' order.
    pub values: &'a [Option<String>],
}

/// The overlaid curves: one colour per run, training thin and pale, validation bold; a loss panel,
/// and an accuracy panel when a run has accuracies.
pub fn curves(runs: &[DrawnRun<'_>]) -> Result<Png, ReportError> {
    let panel = |title: &str, y_label: &str, column: fn(&MetricRow) -> Option<f64>| {
        let mut series = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            for (split, faint) in [("train", true), ("validation", false)] {
                let pts: Vec<(f64, f64)> = r.metrics.iter().filter(|m| m.split == split).filter_map(|m| column(m).map(|v| (m.epoch as f64, v))).collect();
                if !pts.is_empty() {
                    // One legend entry per run (its validation curve): the titles say which is which.
                    let s = Series::new(if faint { String::new() } else { r.label.to_string() }, pts, color);
                    series.push(if faint { s.faint() } else { s });
                }
            }
        }
        let legend = emptiest_corner(&series.iter().map(|s| s.points.clone()).collect::<Vec<_>>(), false);
        Panel { title: title.into(), x_label: "epoch".into(), y_label: y_label.into(), integer_x: true, x_axis: XAxis::Linear, series, legend }
    };
    let mut panels = vec![panel("Loss (train pale, validation bold)", "loss", |m| Some(m.metrics.loss))];
    if runs.iter().any(|r| r.metrics.iter().any(|m| m.metrics.accuracy.is_some())) {
        panels.push(panel("Accuracy (train pale, validation bold)", "accuracy", |m| m.metrics.accuracy));
    }
    panels_figure(PNG_FILE, &panels)
}

/// The self-contained page: runs, differing keys, final metrics (each run's last validation epoch
/// and its test metrics), the figure.
pub fn page(runs: &[DrawnRun<'_>], differing: &[DrawnKey<'_>], png: &Png) -> String {
    let mut s = format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Comparison of {} runs</title><style>{STYLE}</style></head><body>\n", runs.len());
    s += &format!("<h1>Comparison of {} runs</h1>\n<p class=\"meta\">Written by <code>report --compare</code>.</p>\n<ul>", runs.len());
    for r in runs {
        s += &format!("<li><b>{}</b>: <code>{}</code> ({})</li>", escape(r.label), escape(&r.dir.display().to_string()), escape(r.model));
    }
    s += "</ul>\n<h2>Config keys that differ</h2>\n";
    if differing.is_empty() {
        s += "<p>None: the runs have the same config.</p>\n";
    } else {
        s += "<table><tr><th>key</th>";
        for r in runs {
            s += &format!("<th>{}</th>", escape(r.label));
        }
        s += "</tr>";
        for k in differing {
            s += &format!("<tr><td><code>{}</code></td>", escape(k.key));
            for v in k.values {
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
        if let Some((t, from)) = r.test {
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
