//! The sweep file: a base config, fixed overrides (`[set]`), grid axes (`[grid]`), repeats and the
//! metrics to summarize, read and checked before anything runs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::SweepError;
use crate::slurm::SlurmOptions;

/// The final test metrics a trial's `test.json` (`eval --json`) may hold, in the order summaries
/// list them.
pub const TEST_METRICS: [&str; 8] = ["loss", "accuracy", "reconstruction", "kl", "l2", "l1", "mse", "psnr"];

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    sweep: Section,
    #[serde(default)]
    set: toml::Table,
    #[serde(default)]
    grid: toml::Table,
    #[serde(default)]
    slurm: SlurmOptions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    name: Option<String>,
    base: PathBuf,
    #[serde(default = "one")]
    repeats: i64,
    metrics: Option<Vec<String>>,
    #[serde(default)]
    pca_bound: bool,
}

fn one() -> i64 {
    1
}

/// One grid axis: a dotted key and its values, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The dotted key, e.g. `training.l2`.
    pub key: String,
    /// The values, `linspace`/`logspace` already expanded.
    pub values: Vec<toml::Value>,
}

/// A checked sweep file.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The sweep file (errors name it).
    pub file: PathBuf,
    /// The sweep's name: the default sweep directory is `artifacts/<name>`.
    pub name: String,
    /// The base config, resolved against the sweep file's folder.
    pub base: PathBuf,
    /// Trials per grid point; repeat `r` (0-based) trains with seed `base seed + r`.
    pub repeats: u64,
    /// The metrics summaries show, without their `test.` prefix; empty: every final test metric.
    pub metrics: Vec<String>,
    /// Put the PCA bound at each grid point's code size beside the test MSE (autoencoders):
    /// `sweep.pca_bound = true`.
    pub pca_bound: bool,
    /// Fixed overrides, sorted by key.
    pub set: Vec<(String, toml::Value)>,
    /// The axes, sorted by key (trial names list them in this order).
    pub grid: Vec<Axis>,
    /// The `[slurm]` table: resources of the job array `--launcher slurm` submits.
    pub slurm: SlurmOptions,
}

impl Spec {
    /// Reads and checks a sweep file (its keys are checked against the config schema later, when
    /// the trials are built).
    pub fn load(path: &Path) -> Result<Spec, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::Spec { file: path.to_path_buf(), message: format!("cannot read it: {e}") })?;
        Spec::parse(&text, path)
    }

    /// [`Spec::load`] on the text of a file; `path` names it and anchors `base`.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SweepError> {
        let fail = |message: String| SweepError::Spec { file: path.to_path_buf(), message };
        // A file without `[sweep]` (a training config, say) is named for what it is, not for its
        // first key the sweep schema lacks.
        if let Ok(table) = text.parse::<toml::Table>()
            && !table.contains_key("sweep")
        {
            let looks = if table.contains_key("experiment") || table.contains_key("model") { " (it looks like a training config: give it to `train --config`)" } else { "" };
            return Err(fail(format!("not a sweep file: no [sweep] table{looks}; expected [sweep] (name, base, repeats, metrics), [set], [grid] and [slurm], e.g. configs/sweeps/l2.toml")));
        }
        let file: File = toml::from_str(text).map_err(|e| {
            let message = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
            // In TOML words, as a training config's errors are (no Rust type names).
            let message = mnist_trainer::config_messages::restate(&message, None);
            let at = e.span().map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            });
            fail(format!("{}{message}", at.unwrap_or_default()))
        })?;
        let s = file.sweep;
        let name = match s.name {
            Some(n) => n,
            None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        if name.trim().is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(fail(format!("sweep.name = {name:?} must be a non-empty name usable as a directory name")));
        }
        if s.repeats < 1 {
            return Err(fail(format!("sweep.repeats = {} must be at least 1", s.repeats)));
        }
        let folder = path.parent().unwrap_or(Path::new(""));
        let base = if s.base.is_absolute() { s.base.clone() } else { folder.join(&s.base) };
        if !base.is_file() {
            return Err(fail(format!("sweep.base = {:?}: no config file at {} (base is relative to the sweep file's folder)", s.base.display().to_string(), base.display())));
        }
        let mut metrics = Vec::new();
        for m in s.metrics.unwrap_or_default() {
            let short = m.strip_prefix("test.").filter(|k| TEST_METRICS.contains(k));
            let Some(short) = short else {
                let known = TEST_METRICS.map(|k| format!("`test.{k}`")).join(", ");
                return Err(fail(format!("sweep.metrics: unknown metric {m:?}, expected one of {known}")));
            };
            metrics.push(short.to_string());
        }
        let mut set = Vec::new();
        for (key, value) in file.set {
            check_key(&key).map_err(|m| fail(format!("[set] {m}")))?;
            set.push((key, value));
        }
        let mut grid = Vec::new();
        for (key, value) in file.grid {
            check_key(&key).map_err(|m| fail(format!("[grid] {m}")))?;
            let values = axis_values(&value).map_err(|m| fail(format!("[grid] {key:?}: {m}")))?;
            if values.is_empty() {
                return Err(fail(format!("[grid] {key:?} is an empty axis; give it at least one value")));
            }
            grid.push(Axis { key, values });
        }
        if s.pca_bound && !metrics.is_empty() && !metrics.iter().any(|m| m == "mse") {
            return Err(fail("sweep.pca_bound = true is drawn beside test.mse: add \"test.mse\" to sweep.metrics".into()));
        }
        Ok(Spec { file: path.to_path_buf(), name, base, repeats: s.repeats as u64, metrics, pca_bound: s.pca_bound, set, grid, slurm: file.slurm })
    }
}

/// A dotted key whose parts are TOML bare keys, with `[N]` for an element of an array, as
/// `train --set` takes it. Whether the schema knows it is checked when the trials' configs are
/// built, by the code that reads config files.
fn check_key(key: &str) -> Result<(), String> {
    match mnist_trainer::parse_key(key) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("{key:?} is not a dotted key of the config (e.g. \"training.l2\" or \"model.encoder[0].units\"); quote dotted keys: \"training.l2\" = ...")),
    }
}

/// The values of an axis: a list, or `{ linspace = [a, b, n] }` / `{ logspace = [a, b, n] }`.
fn axis_values(value: &toml::Value) -> Result<Vec<toml::Value>, String> {
    const EXPECTED: &str = "expected a list of values, { linspace = [a, b, n] } or { logspace = [a, b, n] }";
    match value {
        toml::Value::Array(values) => Ok(values.clone()),
        toml::Value::Table(t) if t.len() == 1 => {
            let (kind, args) = t.iter().next().expect("one entry");
            let space: fn(f64, f64, usize) -> Result<Vec<f64>, String> = match kind.as_str() {
                "linspace" => |a, b, n| Ok(linspace(a, b, n)),
                "logspace" => logspace,
                _ => return Err(format!("unknown helper `{kind}`; {EXPECTED} (quote dotted keys: \"training.l2\" = ...)")),
            };
            let numbers = args.as_array().filter(|a| a.len() == 3);
            let parsed = numbers.and_then(|a| Some((number(&a[0])?, number(&a[1])?, a[2].as_integer()?)));
            let Some((a, b, n)) = parsed else {
                return Err(format!("{kind} = {args}: expected [first, last, count], e.g. {kind} = [1e-6, 1e-3, 5]"));
            };
            if n < 0 {
                return Err(format!("{kind} count {n} must not be negative"));
            }
            Ok(space(a, b, n as usize)?.into_iter().map(toml::Value::Float).collect())
        }
        other => Err(format!("{} is not an axis; {EXPECTED}", other)),
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).filter(|x| x.is_finite())
}

/// `n` evenly spaced values from `a` to `b`, both included (numpy's `linspace`), rounded to 12
/// significant digits so that `1e-6 + 3 * step` names a trial `0.00075025`, not
/// `0.0007502500000000001`.
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![a],
        _ => (0..n).map(|i| if i == n - 1 { b } else { round12(a + (b - a) * i as f64 / (n - 1) as f64) }).collect(),
    }
}

/// `n` values from `a` to `b` evenly spaced on a log scale, both included; `a` and `b` are the
/// values themselves, not exponents (numpy's `geomspace`): `[1e-6, 1e-3, 4]` is 1e-6, 1e-5, 1e-4,
/// 1e-3.
pub fn logspace(a: f64, b: f64, n: usize) -> Result<Vec<f64>, String> {
    if !(a > 0.0 && b > 0.0) {
        return Err(format!("logspace from {a} to {b}: both ends must be > 0 (they are values, not exponents)"));
    }
    let (la, lb) = (a.log10(), b.log10());
    Ok(linspace(la, lb, n).into_iter().enumerate().map(|(i, e)| if i == 0 { a } else if i == n - 1 { b } else { round12(10f64.powf(e)) }).collect())
}

fn round12(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_base() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), "[experiment]\nname = \"b\"\n").unwrap();
        dir
    }

    fn parse(dir: &tempfile::TempDir, text: &str) -> Result<Spec, String> {
        Spec::parse(text, &dir.path().join("s.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn spaces_are_evenly_spaced_and_keep_their_ends() {
        assert_eq!(linspace(1e-6, 1e-3, 5), [1e-6, 0.00025075, 0.0005005, 0.00075025, 1e-3]);
        assert_eq!(linspace(0.0, 1.0, 1), [0.0]);
        assert!(linspace(0.0, 1.0, 0).is_empty());
        assert_eq!(logspace(1e-6, 1e-3, 4).unwrap(), [1e-6, 1e-5, 1e-4, 1e-3]);
        assert_eq!(logspace(1.0, 100.0, 3).unwrap(), [1.0, 10.0, 100.0]);
        assert!(logspace(0.0, 1.0, 3).unwrap_err().contains("must be > 0"));
    }

    #[test]
    fn a_sweep_file_reads_with_defaults() {
        let dir = dir_with_base();
        let s = parse(&dir, "[sweep]\nbase = \"base.toml\"\n[set]\n\"training.epochs\" = 2\n[grid]\n\"training.l2\" = { linspace = [0.0, 1.0, 3] }\n\"model.hidden\" = [[8], [16]]\n").unwrap();
        assert_eq!((s.name.as_str(), s.repeats, s.metrics.len()), ("s", 1, 0));
        assert_eq!(s.base, dir.path().join("base.toml"));
        assert_eq!(s.set, [("training.epochs".to_string(), toml::Value::Integer(2))]);
        // Axes are sorted by key.
        assert_eq!(s.grid[1].values, [0.0, 0.5, 1.0].map(toml::Value::Float));
        assert_eq!(s.grid[0].key, "model.hidden");
        let s = parse(&dir, "[sweep]\nname = \"x\"\nbase = \"base.toml\"\nrepeats = 3\nmetrics = [\"test.accuracy\"]\n").unwrap();
        assert_eq!((s.name.as_str(), s.repeats, s.metrics.clone()), ("x", 3, vec!["accuracy".to_string()]));
    }

    #[test]
    fn bad_sweep_files_say_what_is_wrong() {
        let dir = dir_with_base();
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\nrepeats = 0\n").unwrap_err();
        assert!(e.ends_with("s.toml: sweep.repeats = 0 must be at least 1"), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\n[grid]\n\"training.l2\" = []\n").unwrap_err();
        assert!(e.contains("[grid] \"training.l2\" is an empty axis"), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"missing.toml\"\n").unwrap_err();
        assert!(e.contains("sweep.base = \"missing.toml\": no config file at"), "{e}");
        let e = parse(&dir, "[experiment]\nname = \"a config\"\n").unwrap_err();
        assert!(e.contains("not a sweep file: no [sweep] table (it looks like a training config"), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\nrepeat = 2\n").unwrap_err();
        assert!(e.contains("unknown key `repeat` (did you mean `repeats`?)"), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\nmetrics = [\"test.acc\"]\n").unwrap_err();
        assert!(e.contains("unknown metric \"test.acc\""), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\n[grid]\n\"training.l2\" = { linspace = [1, 2] }\n").unwrap_err();
        assert!(e.contains("expected [first, last, count]"), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\n[grid]\n\"training.l2\" = 3\n").unwrap_err();
        assert!(e.contains("3 is not an axis"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\npca_bound = true\nmetrics = [\"test.loss\"]\n").unwrap_err();
        assert!(e.ends_with("sweep.pca_bound = true is drawn beside test.mse: add \"test.mse\" to sweep.metrics"), "{e}");
        assert!(parse(&dir, "[sweep]\nbase = \"base.toml\"\npca_bound = true\n").unwrap().pca_bound);
        let e = parse(&dir, "[sweep]\nbase = \"base.toml\"\n[grid]\n\"model.encoder[x].units\" = [2]\n").unwrap_err();
        assert!(e.contains("\"model.encoder[x].units\" is not a dotted key"), "{e}");
    }
}
