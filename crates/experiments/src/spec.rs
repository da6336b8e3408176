//! The sweep file: a base config, fixed overrides (`[set]`), grid axes (`[grid]`), repeats, the
//! metrics to summarize and each launcher's table (`[slurm]`), read and checked whole before
//! anything runs.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::SweepError;

/// The final test metrics a trial's `test.json` ([`mnist_runs::TestResult::metric`]) may hold, in
/// the order summaries list them.
pub const TEST_METRICS: [&str; 8] = ["loss", "accuracy", "reconstruction", "kl", "l2", "l1", "mse", "psnr"];

/// The most trials a sweep may have unless `--max-trials` or `sweep.max_trials` says otherwise:
/// a typo (`repeats = 1000000`) is refused at once instead of filling the memory with configs.
pub const DEFAULT_MAX_TRIALS: u64 = 100_000;

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
    max_trials: Option<i64>,
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
    /// the trials are built). Its trials are counted before any axis is expanded: a sweep of more
    /// than `max_trials` (`--max-trials`; else the file's `sweep.max_trials`; else
    /// [`DEFAULT_MAX_TRIALS`]) is refused, naming the count and where it comes from.
    pub fn load(path: &Path, max_trials: Option<u64>) -> Result<Spec, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::Spec { file: path.to_path_buf(), message: format!("cannot read it: {e}") })?;
        Spec::parse_limited(&text, path, max_trials)
    }

    /// [`Spec::load`] on the text of a file, without `--max-trials`; `path` names it and anchors
    /// `base`.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SweepError> {
        Spec::parse_limited(text, path, None)
    }

    /// [`Spec::load`] on the text of a file; `path` names it and anchors `base`.
    pub fn parse_limited(text: &str, path: &Path, max_trials: Option<u64>) -> Result<Spec, SweepError> {
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
            let message = mnist_config::messages::restate(&message, None);
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
        if let Some(n) = s.max_trials.filter(|n| *n < 1) {
            return Err(fail(format!("sweep.max_trials = {n} must be at least 1")));
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
        // Every axis is counted, and the trials with them, before any is expanded: a huge
        // `linspace` count or repeats is refused without allocating a value for it.
        let mut written = Vec::new();
        for (key, value) in &file.grid {
            check_key(key).map_err(|m| fail(format!("[grid] {m}")))?;
            let axis = WrittenAxis::read(value).map_err(|m| fail(format!("[grid] {key:?}: {m}")))?;
            if axis.len() == 0 {
                return Err(fail(format!("[grid] {key:?} is an empty axis; give it at least one value")));
            }
            written.push((key, axis));
        }
        let count = Count { axes: written.iter().map(|(k, a)| (k.to_string(), a.len())).collect(), repeats: s.repeats as u64 };
        let limit = match (max_trials, s.max_trials) {
            (Some(n), _) => Limit::Flag(n),
            (None, Some(n)) => Limit::File(n as u64),
            (None, None) => Limit::Default,
        };
        count.check(limit).map_err(fail)?;
        let mut grid = Vec::new();
        for (key, axis) in written {
            let values = axis.values().map_err(|m| fail(format!("[grid] {key:?}: {m}")))?;
            grid.push(Axis { key: key.clone(), values });
        }
        if s.pca_bound && !metrics.is_empty() && !metrics.iter().any(|m| m == "mse") {
            return Err(fail("sweep.pca_bound = true is drawn beside test.mse: add \"test.mse\" to sweep.metrics".into()));
        }
        Ok(Spec { file: path.to_path_buf(), name, base, repeats: s.repeats as u64, metrics, pca_bound: s.pca_bound, set, grid, slurm: file.slurm })
    }

    /// The number of grid points: the product of the axes' lengths (1 without axes), at most the
    /// limit [`Spec::load`] checked.
    pub fn points(&self) -> u64 {
        self.grid.iter().fold(1u64, |p, a| p.saturating_mul(a.values.len() as u64))
    }

    /// The number of trials: grid points × repeats.
    pub fn trials(&self) -> u64 {
        self.points().saturating_mul(self.repeats)
    }
}

/// The size of a sweep, counted from its file before anything is expanded: each axis's length and
/// the repeats. Displays as `100000000000 trials (100000 grid points × 1000000 repeats; [grid]
/// "training.l2": 100000 values)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// Each axis's dotted key and number of values, in the spec's order.
    pub axes: Vec<(String, u64)>,
    /// `sweep.repeats`.
    pub repeats: u64,
}

impl Count {
    /// The product of the axes' lengths; `None` past `u64::MAX`.
    pub fn points(&self) -> Option<u64> {
        self.axes.iter().try_fold(1u64, |p, (_, n)| p.checked_mul(*n))
    }

    /// Grid points × repeats; `None` past `u64::MAX`.
    pub fn trials(&self) -> Option<u64> {
        self.points()?.checked_mul(self.repeats)
    }

    /// Refuses a count over `limit`, saying how to shrink the sweep or raise the limit.
    pub fn check(&self, limit: Limit) -> Result<(), String> {
        let trials = self.trials();
        if trials.is_some_and(|t| t <= limit.get()) {
            return Ok(());
        }
        let fix = match (trials, limit) {
            (None, _) => "make the grid or sweep.repeats smaller".to_string(),
            (Some(t), Limit::Default) => format!("make the grid or sweep.repeats smaller, or raise the limit with --max-trials {t} (or sweep.max_trials = {t} in the sweep file)"),
            (Some(t), Limit::File(_)) => format!("make the grid or sweep.repeats smaller, or raise sweep.max_trials (or pass --max-trials {t})"),
            (Some(t), Limit::Flag(_)) => format!("make the grid or sweep.repeats smaller, or pass --max-trials {t}"),
        };
        Err(format!("this sweep has {self}, over {limit}; {fix}"))
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u64>, one: &str, many: &str| match n {
            Some(1) => format!("1 {one}"),
            Some(n) => format!("{n} {many}"),
            None => format!("more than {} {many}", u64::MAX),
        };
        let axes = if self.axes.is_empty() {
            "no [grid] axes".to_string()
        } else {
            let each: Vec<String> = self.axes.iter().map(|(k, n)| format!("{k:?}: {}", number(Some(*n), "value", "values"))).collect();
            format!("[grid] {}", each.join(" × "))
        };
        write!(
            f,
            "{} ({} × {}; {axes})",
            number(self.trials(), "trial", "trials"),
            number(self.points(), "grid point", "grid points"),
            number(Some(self.repeats), "repeat", "repeats")
        )
    }
}

/// The `[slurm]` table: the resources of the job array `--launcher slurm` submits, each key
/// overridable by a flag. Declared here with the rest of the sweep file, which is checked whole
/// (unknown tables and keys refused) before anything runs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmOptions {
    /// `--partition` (default: the cluster's default partition).
    pub partition: Option<String>,
    /// `--time`, Slurm's syntax (`30`, `1:00:00`, `1-00:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`; also the threads each trial trains with (default 1).
    pub cpus_per_task: Option<u32>,
    /// `--mem`, e.g. `4G`.
    pub mem: Option<String>,
    /// Array tasks running at once (`--array=...%N`); default: as many as Slurm schedules.
    pub max_parallel: Option<u32>,
    /// Further `#SBATCH` lines, e.g. `["--account=ml", "--qos=short"]` (with or without the
    /// `#SBATCH` prefix).
    #[serde(default)]
    pub extra: Vec<String>,
}

impl SlurmOptions {
    /// `self` with every option `flags` sets replacing the file's.
    pub fn merged(&self, flags: &SlurmOptions) -> SlurmOptions {
        SlurmOptions {
            partition: flags.partition.clone().or_else(|| self.partition.clone()),
            time: flags.time.clone().or_else(|| self.time.clone()),
            cpus_per_task: flags.cpus_per_task.or(self.cpus_per_task),
            mem: flags.mem.clone().or_else(|| self.mem.clone()),
            max_parallel: flags.max_parallel.or(self.max_parallel),
            extra: [self.extra.clone(), flags.extra.clone()].concat(),
        }
    }

    /// Threads per trial.
    pub fn cpus(&self) -> u32 {
        self.cpus_per_task.unwrap_or(1).max(1)
    }
}

/// The most trials a sweep may have, and who said so (errors name it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`DEFAULT_MAX_TRIALS`]: neither the flag nor the file says otherwise.
    Default,
    /// `sweep.max_trials = N` in the sweep file.
    File(u64),
    /// `--max-trials N` on the command line (it wins over the file's key).
    Flag(u64),
}

impl Limit {
    /// The number.
    pub fn get(self) -> u64 {
        match self {
            Limit::Default => DEFAULT_MAX_TRIALS,
            Limit::File(n) | Limit::Flag(n) => n,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Default => write!(f, "the limit of {DEFAULT_MAX_TRIALS} trials"),
            Limit::File(n) => write!(f, "sweep.max_trials = {n}"),
            Limit::Flag(n) => write!(f, "--max-trials {n}"),
        }
    }
}

/// A dotted key whose parts are TOML bare keys, with `[N]` for an element of an array, as
/// `train --set` takes it. Whether the schema knows it is checked when the trials' configs are
/// built, by the code that reads config files.
fn check_key(key: &str) -> Result<(), String> {
    match mnist_config::parse_key(key) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("{key:?} is not a dotted key of the config (e.g. \"training.l2\" or \"model.encoder[0].units\"); quote dotted keys: \"training.l2\" = ...")),
    }
}

/// An axis as the file writes it: a list, or `{ linspace = [a, b, n] }` / `{ logspace = [a, b, n] }`,
/// whose length is known before its values are made.
enum WrittenAxis<'a> {
    List(&'a [toml::Value]),
    Space { kind: &'a str, a: f64, b: f64, n: u64 },
}

impl<'a> WrittenAxis<'a> {
    /// Reads an axis's value, refusing anything else, without expanding a helper.
    fn read(value: &'a toml::Value) -> Result<WrittenAxis<'a>, String> {
        const EXPECTED: &str = "expected a list of values, { linspace = [a, b, n] } or { logspace = [a, b, n] }";
        match value {
            toml::Value::Array(values) => Ok(WrittenAxis::List(values)),
            toml::Value::Table(t) if t.len() == 1 => {
                let (kind, args) = t.iter().next().expect("one entry");
                if !["linspace", "logspace"].contains(&kind.as_str()) {
                    return Err(format!("unknown helper `{kind}`; {EXPECTED} (quote dotted keys: \"training.l2\" = ...)"));
                }
                let numbers = args.as_array().filter(|a| a.len() == 3);
                let parsed = numbers.and_then(|a| Some((number(&a[0])?, number(&a[1])?, a[2].as_integer()?)));
                let Some((a, b, n)) = parsed else {
                    return Err(format!("{kind} = {args}: expected [first, last, count], e.g. {kind} = [1e-6, 1e-3, 5]"));
                };
                if n < 0 {
                    return Err(format!("{kind} count {n} must not be negative"));
                }
                Ok(WrittenAxis::Space { kind, a, b, n: n as u64 })
            }
            other => Err(format!("{} is not an axis; {EXPECTED}", other)),
        }
    }

    /// The number of values, known without making them.
    fn len(&self) -> u64 {
        match self {
            WrittenAxis::List(values) => values.len() as u64,
            WrittenAxis::Space { n, .. } => *n,
        }
    }

    /// The values: called once the sweep's size is checked.
    fn values(&self) -> Result<Vec<toml::Value>, String> {
        let floats = match *self {
            WrittenAxis::List(values) => return Ok(values.to_vec()),
            WrittenAxis::Space { kind: "linspace", a, b, n } => linspace(a, b, n as usize),
            WrittenAxis::Space { a, b, n, .. } => logspace(a, b, n as usize)?,
        };
        Ok(floats.into_iter().map(toml::Value::Float).collect())
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

    #[test]
    fn flags_override_the_file() {
        let file = SlurmOptions { partition: Some("a".into()), cpus_per_task: Some(2), extra: vec!["--x".into()], ..Default::default() };
        let flags = SlurmOptions { partition: Some("b".into()), mem: Some("1G".into()), extra: vec!["--y".into()], ..Default::default() };
        let m = file.merged(&flags);
        assert_eq!((m.partition.as_deref(), m.cpus_per_task, m.mem.as_deref(), m.extra), (Some("b"), Some(2), Some("1G"), vec!["--x".to_string(), "--y".to_string()]));
    }

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

    #[test]
    fn trials_are_counted_before_any_axis_is_expanded() {
        let dir = dir_with_base();
        let sweep = |body: &str| format!("[sweep]\nbase = \"base.toml\"\n{body}");
        // 10^12 values would take terabytes: refused from the count alone, in one line.
        let e = parse(&dir, &sweep("[grid]\n\"training.l2\" = { linspace = [0, 1, 1000000000000] }\n")).unwrap_err();
        let expected = "s.toml: this sweep has 1000000000000 trials (1000000000000 grid points × 1 repeat; [grid] \"training.l2\": 1000000000000 values), \
                        over the limit of 100000 trials; make the grid or sweep.repeats smaller, or raise the limit with --max-trials 1000000000000 (or sweep.max_trials = 1000000000000 in the sweep file)";
        assert!(e.ends_with(expected), "{e}");
        // Every axis and the repeats say where the size comes from.
        let e = parse(&dir, &sweep("repeats = 1000000\n[grid]\n\"model.hidden\" = [[8], [16]]\n\"training.l2\" = { logspace = [1e-6, 1, 50000] }\n")).unwrap_err();
        assert!(e.contains("this sweep has 100000000000 trials (100000 grid points × 1000000 repeats; [grid] \"model.hidden\": 2 values × \"training.l2\": 50000 values), over"), "{e}");
        let e = parse(&dir, &sweep("repeats = 100001\n")).unwrap_err();
        assert!(e.contains("this sweep has 100001 trials (1 grid point × 100001 repeats; no [grid] axes)"), "{e}");
        // Past u64: counted without overflowing, and no limit can allow it.
        let big = "{ linspace = [0, 1, 9223372036854775807] }";
        let e = parse(&dir, &sweep(&format!("[grid]\n\"training.l1\" = {big}\n\"training.l2\" = {big}\n"))).unwrap_err();
        let more = "more than 18446744073709551615";
        assert!(e.contains(&format!("this sweep has {more} trials ({more} grid points × 1 repeat;")) && e.ends_with("; make the grid or sweep.repeats smaller"), "{e}");
        // An empty axis beside a huge one is that axis's error, not a size.
        let e = parse(&dir, &sweep(&format!("[grid]\n\"training.l1\" = []\n\"training.l2\" = {big}\n"))).unwrap_err();
        assert!(e.contains("[grid] \"training.l1\" is an empty axis"), "{e}");
    }

    #[test]
    fn the_limit_comes_from_the_flag_else_the_file_else_the_default() {
        let dir = dir_with_base();
        let path = dir.path().join("s.toml");
        let four = "[sweep]\nbase = \"base.toml\"\nrepeats = 2\n[grid]\n\"training.l2\" = [0.1, 0.2]\n";
        let s = Spec::parse_limited(four, &path, Some(4)).unwrap();
        assert_eq!((s.points(), s.trials()), (2, 4));
        let e = Spec::parse_limited(four, &path, Some(3)).unwrap_err().to_string();
        assert!(e.ends_with("this sweep has 4 trials (2 grid points × 2 repeats; [grid] \"training.l2\": 2 values), over --max-trials 3; make the grid or sweep.repeats smaller, or pass --max-trials 4"), "{e}");
        let keyed = four.replace("repeats = 2", "repeats = 2\nmax_trials = 3");
        let e = Spec::parse_limited(&keyed, &path, None).unwrap_err().to_string();
        assert!(e.ends_with("over sweep.max_trials = 3; make the grid or sweep.repeats smaller, or raise sweep.max_trials (or pass --max-trials 4)"), "{e}");
        // The flag wins over the key, either way.
        assert_eq!(Spec::parse_limited(&keyed, &path, Some(4)).unwrap().trials(), 4);
        assert!(Spec::parse_limited(&four.replace("repeats = 2", "repeats = 2\nmax_trials = 10"), &path, Some(3)).is_err());
        let e = parse(&dir, &four.replace("repeats = 2", "repeats = 2\nmax_trials = 0")).unwrap_err();
        assert!(e.ends_with("s.toml: sweep.max_trials = 0 must be at least 1"), "{e}");
        // The default allows exactly DEFAULT_MAX_TRIALS.
        let at = format!("[sweep]\nbase = \"base.toml\"\nrepeats = {DEFAULT_MAX_TRIALS}\n");
        assert_eq!(parse(&dir, &at).unwrap().trials(), DEFAULT_MAX_TRIALS);
    }
}
