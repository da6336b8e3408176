//! The sweep's figures in `<sweep>/plots/`, drawn after the summary: each summarized metric against
//! the first varied key (one line per value of the second key, if any; references such as the PCA
//! bound beside their metric), the mean validation curves per grid point, and for autoencoders a
//! row of reconstructions per grid point. Statistics are computed here, with the summary's [`Stats`]; the report
//! crate only draws them.
//!
//! A sweep with more than two varied keys gets the figures of its first two only (one figure per
//! pair of keys would multiply quickly); the summary keeps every key.

use std::path::{Path, PathBuf};

use mnist_report::across_runs::{RECONSTRUCTIONS_FILE, reconstruction_rows};
use mnist_report::sweep_figures::{KeyValue, Line, Point, PointCurves, VAL_CURVES_FILE, file_name, key_axis, metric_vs_key, val_curves};
use mnist_runs::metrics::{MetricRow, from_csv};
use mnist_runs::TestResult;
use mnist_runs::run_dir::{METRICS_FILE, write_atomic};

use crate::SweepError;
use crate::spec::Spec;
use crate::summary::{Stats, Summary};
use crate::trial::{Trial, value_text};

/// The figures' folder inside the sweep directory.
pub const PLOTS_DIR: &str = "plots";

fn key_value(v: &toml::Value) -> KeyValue {
    let number = match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) => Some(*x),
        _ => None,
    };
    KeyValue { text: value_text(v), number }
}

fn point(x: f64, s: &Stats) -> Point {
    Point { x, mean: s.mean, std: s.std, n: s.n }
}

/// Draws every figure that has data into `<dir>/plots/` and returns their paths; figures without
/// data (no varied key, no finished trial) are left out.
pub fn write(dir: &Path, spec: &Spec, trials: &[Trial], summary: &Summary) -> Result<Vec<PathBuf>, SweepError> {
    let plots = dir.join(PLOTS_DIR);
    let mut figures = Vec::new();
    if let Some(first) = spec.grid.first() {
        let (x_axis, xs) = key_axis(&first.values.iter().map(key_value).collect::<Vec<_>>());
        let x_of = |v: &toml::Value| first.values.iter().position(|f| f == v).map(|i| xs[i]);
        // One line per value of the second key; a single unlabelled line without one.
        let groups: Vec<Option<&toml::Value>> = match spec.grid.get(1) {
            Some(second) => second.values.iter().map(Some).collect(),
            None => vec![None],
        };
        for (m, metric) in summary.metrics.iter().enumerate() {
            let lines: Vec<Line> = groups
                .iter()
                .map(|g| Line {
                    label: g.map(|v| format!("{}={}", spec.grid[1].key, value_text(v))).unwrap_or_default(),
                    points: summary
                        .rows
                        .iter()
                        .filter(|r| g.is_none_or(|v| r.values.get(1) == Some(v)))
                        .filter_map(|r| Some(point(x_of(&r.values[0])?, r.stats[m].as_ref()?)))
                        .collect(),
                })
                .filter(|l| !l.points.is_empty())
                .collect();
            if lines.is_empty() {
                continue;
            }
            // References (the PCA bound) of the metric, along the first key at the second key's
            // first value, where they were computed.
            let references: Vec<Line> = summary
                .references
                .iter()
                .filter(|r| &r.metric == metric)
                .map(|r| Line {
                    label: r.label.clone(),
                    points: summary
                        .rows
                        .iter()
                        .zip(&r.values)
                        .filter(|(row, _)| groups[0].is_none_or(|v| row.values.get(1) == Some(v)))
                        .filter_map(|(row, v)| Some(Point { x: x_of(&row.values[0])?, mean: (*v)?, std: None, n: 1 }))
                        .collect(),
                })
                .filter(|l| !l.points.is_empty())
                .collect();
            let name = format!("test.{metric}");
            let png = metric_vs_key(&name, &first.key, x_axis.clone(), &lines, &references)?;
            figures.push((file_name(&name, &first.key), png));
        }
    }
    let curves = point_curves(dir, trials);
    if !curves.is_empty() {
        figures.push((VAL_CURVES_FILE.to_string(), val_curves(&curves)?));
    }
    if let Some(png) = reconstruction_rows(&finished_per_point(dir, trials))? {
        figures.push((RECONSTRUCTIONS_FILE.to_string(), png));
    }
    let mut paths = Vec::new();
    if !figures.is_empty() {
        std::fs::create_dir_all(&plots).map_err(|source| SweepError::Io { action: "create", path: plots.clone(), source })?;
    }
    for (file, png) in figures {
        let path = plots.join(file);
        write_atomic(&path, &png.bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

/// The first finished trial (one with a test result, `test.json`) of each grid point, in grid order, labelled
/// as the validation curves are; an autoencoder's reconstructions are drawn from these.
fn finished_per_point(dir: &Path, trials: &[Trial]) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in trials {
        let run = dir.join(&t.name);
        if seen.contains(&t.point.as_str()) || TestResult::read(&run).is_none() {
            continue;
        }
        seen.push(&t.point);
        out.push((short_label(&t.point), run));
    }
    out
}

/// A grid point as a legend names it: the last part of each key (`l2=1e-6` for
/// `training.l2=1e-6`, `units=2` for `model.encoder[0].units=2`).
fn short_label(point: &str) -> String {
    let short = |part: &str| match part.split_once('=') {
        Some((key, value)) => format!("{}={value}", key.rsplit('.').next().unwrap_or(key)),
        None => part.to_string(),
    };
    point.split(',').map(short).collect::<Vec<_>>().join(",")
}

/// The validation rows of a trial's `metrics.csv` (none when it is missing or unreadable: a trial
/// that never started has no curve, which is no reason to fail the sweep's figures).
fn validation_rows(trial_dir: &Path) -> Vec<MetricRow> {
    let text = std::fs::read_to_string(trial_dir.join(METRICS_FILE)).unwrap_or_default();
    from_csv(&text).unwrap_or_default().into_iter().filter(|r| r.split == "validation").collect()
}

/// Per grid point (in grid order) the per-epoch mean and std of its trials' validation loss and
/// accuracy; an epoch's statistics cover the trials that reached it. Legend labels use the last
/// part of each key (`l2=1e-6` for `training.l2=1e-6`).
fn point_curves(dir: &Path, trials: &[Trial]) -> Vec<PointCurves> {
    let mut out: Vec<PointCurves> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in trials {
        if seen.contains(&t.point.as_str()) {
            continue;
        }
        seen.push(&t.point);
        let runs: Vec<Vec<MetricRow>> = trials.iter().filter(|o| o.point == t.point).map(|o| validation_rows(&dir.join(&o.name))).collect();
        let epochs = runs.iter().flatten().map(|r| r.epoch).max().unwrap_or(0);
        let stats = |column: fn(&MetricRow) -> Option<f64>| -> Vec<Point> {
            (1..=epochs)
                .filter_map(|e| {
                    let values: Vec<f64> = runs.iter().filter_map(|rows| rows.iter().rev().find(|r| r.epoch == e).and_then(column)).filter(|v| v.is_finite()).collect();
                    Stats::of(&values).map(|s| point(e as f64, &s))
                })
                .collect()
        };
        let loss = stats(|r| Some(r.metrics.loss));
        if loss.is_empty() {
            continue;
        }
        out.push(PointCurves { label: short_label(&t.point), loss, accuracy: stats(|r| r.metrics.accuracy) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Axis;
    use crate::summary::Row;

    fn spec(grid: Vec<Axis>) -> Spec {
        Spec { file: "s.toml".into(), name: "s".into(), base: "b.toml".into(), repeats: 2, metrics: vec![], pca_bound: false, set: vec![], grid, slurm: Default::default() }
    }

    #[test]
    fn figures_are_written_for_two_keys() {
        let dir = tempfile::tempdir().unwrap();
        let l2 = Axis { key: "training.l2".into(), values: vec![toml::Value::Float(1e-6), toml::Value::Float(1e-3)] };
        let bs = Axis { key: "training.batch_size".into(), values: vec![toml::Value::Integer(32), toml::Value::Integer(64)] };
        let spec = spec(vec![l2.clone(), bs.clone()]);
        let mut rows = Vec::new();
        let mut trials = Vec::new();
        for (i, a) in l2.values.iter().enumerate() {
            for (j, b) in bs.values.iter().enumerate() {
                let s = Stats::of(&[0.9 + 0.01 * i as f64, 0.92 + 0.01 * j as f64]);
                rows.push(Row { values: vec![a.clone(), b.clone()], stats: vec![s] });
                let point = format!("training.l2={},training.batch_size={}", value_text(a), value_text(b));
                for seed in 0..2 {
                    let name = format!("{point},seed={seed}");
                    let run = dir.path().join(&name);
                    std::fs::create_dir_all(&run).unwrap();
                    let mut csv = String::from("epoch,split,loss,reconstruction,kl,l2,l1,accuracy,mse,psnr,learning_rate,seconds\n");
                    for e in 1..=3 {
                        csv += &format!("{e},validation,{},,,,,{},,,0.001,1\n", 1.0 / e as f64 + 0.05 * seed as f64, 0.8 + 0.03 * e as f64);
                    }
                    std::fs::write(run.join(METRICS_FILE), csv).unwrap();
                    trials.push(Trial { name, point: point.clone(), values: vec![a.clone(), b.clone()], seed, config: String::new() });
                }
            }
        }
        let summary = Summary { axes: vec![l2.key.clone(), bs.key.clone()], metrics: vec!["accuracy".into()], rows, references: vec![] };
        let paths = write(dir.path(), &spec, &trials, &summary).unwrap();
        let names: Vec<String> = paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["test.accuracy_vs_training.l2.png", "val_curves.png"]);
        let curves = point_curves(dir.path(), &trials);
        assert_eq!(curves.len(), 4);
        assert_eq!(curves[0].label, "l2=1e-6,batch_size=32");
        assert_eq!(curves[0].loss.len(), 3);
        assert_eq!(curves[0].loss[0].n, 2);
        assert!((curves[0].loss[0].mean - 1.025).abs() < 1e-12);
        assert!(curves[0].loss[0].std.unwrap() > 0.0);
        assert_eq!(curves[0].accuracy.len(), 3);
    }
}
