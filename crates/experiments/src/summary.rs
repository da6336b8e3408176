//! The sweep's summary: per grid point, the mean, sample std, min, max and count of each final test
//! metric over its finished trials, as `summary.csv` and `summary.md`.
//!
//! The metrics are read from each trial's `test.json`, the [`TestResult`] that `train` writes when
//! it finishes (full precision; `eval --run DIR --json` prints the same record).

use std::fmt::Write as _;
use std::path::Path;

use mnist_runs::TestResult;

use crate::SweepError;
use crate::spec::{Spec, TEST_METRICS};
use crate::trial::{Trial, value_text};

/// Statistics of one metric at one grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Trials measured.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); `None` for a single trial.
    pub std: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of `xs`; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Stats> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stats { n, mean, std, min, max })
    }
}

/// One row: a grid point and its statistics, one entry per summarized metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The point's values, one per axis.
    pub values: Vec<toml::Value>,
    /// Per metric (in [`Summary::metrics`] order), `None` where no trial of the point has it.
    pub stats: Vec<Option<Stats>>,
}

/// The summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The axes' keys.
    pub axes: Vec<String>,
    /// The metrics, without their `test.` prefix.
    pub metrics: Vec<String>,
    /// One row per grid point, in the grid's order.
    pub rows: Vec<Row>,
    /// Values to compare a metric with (the PCA bound), one per row.
    pub references: Vec<Reference>,
}

/// A reference value per grid point beside one metric: the PCA bound beside `test.mse`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Its column in `summary.csv` (`pca_bound`) and its name in figures (`PCA bound`).
    pub column: String,
    /// How figures and `summary.md` name it.
    pub label: String,
    /// The metric it compares with, without `test.` (`mse`).
    pub metric: String,
    /// One per row of the summary; `None` where it could not be computed (no finished trial).
    pub values: Vec<Option<f64>>,
}

/// Summarizes `trials` from the final test metrics found (`result_of`: a trial's test result, or
/// `None` when it has not finished). Metrics are `spec.metrics`, or every test metric some trial
/// has.
pub fn summarize(spec: &Spec, trials: &[Trial], result_of: impl Fn(&Trial) -> Option<TestResult>) -> Summary {
    let found: Vec<(&Trial, TestResult)> = trials.iter().filter_map(|t| result_of(t).map(|m| (t, m))).collect();
    let metrics: Vec<String> = if spec.metrics.is_empty() {
        TEST_METRICS.iter().filter(|k| found.iter().any(|(_, m)| m.metric(k).is_some())).map(|k| k.to_string()).collect()
    } else {
        spec.metrics.clone()
    };
    let mut rows = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in trials {
        if seen.contains(&t.point.as_str()) {
            continue;
        }
        seen.push(&t.point);
        let of_point: Vec<&TestResult> = found.iter().filter(|(f, _)| f.point == t.point).map(|(_, m)| m).collect();
        let stats = metrics.iter().map(|k| Stats::of(&of_point.iter().filter_map(|m| m.metric(k)).collect::<Vec<_>>())).collect();
        rows.push(Row { values: t.values.clone(), stats });
    }
    Summary { axes: spec.grid.iter().map(|a| a.key.clone()).collect(), metrics, rows, references: Vec::new() }
}

impl Summary {
    /// CSV: the axes, then `test.<metric>.{mean,std,min,max,n}` per metric; numbers at full
    /// precision, empty cells where there is nothing to say (the std of one trial).
    pub fn csv(&self) -> String {
        let mut header: Vec<String> = self.axes.clone();
        for m in &self.metrics {
            header.extend(["mean", "std", "min", "max", "n"].map(|s| format!("test.{m}.{s}")));
        }
        header.extend(self.references.iter().map(|r| r.column.clone()));
        let mut out = header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",") + "\n";
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells: Vec<String> = row.values.iter().map(|v| csv_field(&value_text(v))).collect();
            for s in &row.stats {
                match s {
                    Some(s) => cells.extend([s.mean.to_string(), s.std.map(|x| x.to_string()).unwrap_or_default(), s.min.to_string(), s.max.to_string(), s.n.to_string()]),
                    None => cells.extend(["", "", "", "", "0"].map(String::from)),
                }
            }
            cells.extend(self.references.iter().map(|r| r.values.get(i).copied().flatten().map(|v| v.to_string()).unwrap_or_default()));
            out += &(cells.join(",") + "\n");
        }
        out
    }

    /// A Markdown table: the axes, then per metric `mean ± std`, `[min, max]` and `n`.
    pub fn markdown(&self, title: &str) -> String {
        let mut out = format!("# Sweep {title}\n\nFinal test metrics per grid point: mean ± sample std, [min, max], n finished trials.\n\n");
        let mut header: Vec<String> = if self.axes.is_empty() { vec!["point".into()] } else { self.axes.clone() };
        for m in &self.metrics {
            header.extend([format!("test.{m} mean ± std"), "[min, max]".into(), "n".into()]);
        }
        header.extend(self.references.iter().map(|r| format!("{} (test.{})", r.label, r.metric)));
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells: Vec<String> = if self.axes.is_empty() { vec!["base".into()] } else { row.values.iter().map(value_text).collect() };
            for s in &row.stats {
                match s {
                    Some(s) => cells.extend([
                        format!("{} ± {}", num(s.mean), s.std.map(num).unwrap_or_else(|| "–".into())),
                        format!("[{}, {}]", num(s.min), num(s.max)),
                        s.n.to_string(),
                    ]),
                    None => cells.extend(["–".into(), "–".into(), "0".into()]),
                }
            }
            cells.extend(self.references.iter().map(|r| r.values.get(i).copied().flatten().map(num).unwrap_or_else(|| "–".into())));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    /// Writes `summary.csv` and `summary.md` into `dir` (each through a temporary file and a rename).
    pub fn write(&self, dir: &Path, title: &str) -> Result<(), SweepError> {
        for (name, text) in [("summary.csv", self.csv()), ("summary.md", self.markdown(title))] {
            mnist_runs::run_dir::write_atomic(&dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }
}

/// Five significant digits, enough to compare trials in a table (the CSV keeps every digit).
fn num(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) { format!("{x:.4e}") } else { format!("{:.5}", x).trim_end_matches('0').trim_end_matches('.').to_string() }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Axis;

    #[test]
    fn stats_match_hand_computed_numbers() {
        let s = Stats::of(&[0.9, 0.92, 0.97]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.93).abs() < 1e-12);
        // Deviations -0.03, -0.01, 0.04: squares sum to 0.0026; / (3 - 1) = 0.0013.
        assert!((s.std.unwrap() - 0.0013f64.sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.9, 0.97));
        assert_eq!(Stats::of(&[2.0]).unwrap().std, None);
        assert_eq!(Stats::of(&[]), None);
    }

    /// A test result with `metrics` (a JSON object as `test.json` holds them).
    fn test_result(mut metrics: serde_json::Value) -> TestResult {
        let rest = serde_json::json!({ "run": "r", "checkpoint": "r/checkpoints/epoch-0001", "epoch": 1, "split": "test", "model": "mlp" });
        metrics.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
        serde_json::from_value(metrics).unwrap()
    }

    fn trial(point: &str, value: f64, seed: u64) -> Trial {
        Trial { name: format!("{point},seed={seed}"), point: point.into(), values: vec![toml::Value::Float(value)], seed, config: String::new() }
    }

    #[test]
    fn trials_are_grouped_by_grid_point() {
        let spec = Spec {
            file: "s.toml".into(),
            name: "s".into(),
            base: "b.toml".into(),
            repeats: 2,
            metrics: vec![],
            pca_bound: false,
            set: vec![],
            grid: vec![Axis { key: "training.l2".into(), values: vec![] }],
            slurm: Default::default(),
        };
        let trials = [trial("l2=0.1", 0.1, 1), trial("l2=0.1", 0.1, 2), trial("l2=0.2", 0.2, 1), trial("l2=0.2", 0.2, 2)];
        let acc = [0.5, 0.7, 0.8, f64::NAN];
        let summary = summarize(&spec, &trials, |t| {
            let i = trials.iter().position(|x| x.name == t.name).unwrap();
            // The last trial has not finished.
            (i < 3).then(|| test_result(serde_json::json!({ "loss": 1.0 + i as f64, "accuracy": acc[i], "l2": null, "samples": 100 })))
        });
        assert_eq!(summary.metrics, ["loss", "accuracy"]);
        let csv = summary.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "training.l2,test.loss.mean,test.loss.std,test.loss.min,test.loss.max,test.loss.n,test.accuracy.mean,test.accuracy.std,test.accuracy.min,test.accuracy.max,test.accuracy.n");
        assert_eq!(lines[1], format!("0.1,1.5,{},1,2,2,0.6,{},0.5,0.7,2", 0.5f64.sqrt(), Stats::of(&[0.5, 0.7]).unwrap().std.unwrap()));
        assert_eq!(lines[2], "0.2,3,,3,3,1,0.8,,0.8,0.8,1");
        let md = summary.markdown("s");
        assert!(md.contains("| 0.1 | 1.5 ± 0.70711 | [1, 2] | 2 | 0.6 ± 0.14142 | [0.5, 0.7] | 2 |"), "{md}");
        assert!(md.contains("| 0.2 | 3 ± – | [3, 3] | 1 |"), "{md}");
        // A reference adds a column to both.
        let mut summary = summary;
        summary.references.push(Reference { column: "pca_bound".into(), label: "PCA bound".into(), metric: "loss".into(), values: vec![Some(0.25), None] });
        let csv = summary.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",test.accuracy.n,pca_bound") && lines[1].ends_with(",2,0.25") && lines[2].ends_with(",1,"), "{csv}");
        let md = summary.markdown("s");
        assert!(md.contains("| n | PCA bound (test.loss) |") && md.contains("| 2 | 0.25 |") && md.contains("| 1 | – |"), "{md}");
    }
}
