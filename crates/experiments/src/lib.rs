//! Sweeps: a sweep file names a base config, fixed overrides, grid axes and repeats; every trial is
//! an ordinary run directory `<sweep dir>/<trial>` trained by the `train` binary, so `eval`,
//! `report` and `export` work on it unchanged. Launchers only decide where `train` runs.
//!
//! The sweep directory holds, besides the trials: `sweep.toml` (the spec it holds, to refuse a
//! different one without `--force`), `sweep.lock` (one sweep at a time), `configs/<trial>.toml`
//! (each trial's resolved config, what `train` is given), `logs/<trial>.log` (the trial's `train`
//! and `eval` output; outside the run directory, which `train --force` may wipe), and
//! `summary.csv` / `summary.md`, and TensorBoard's HParams data (see [`hparams`]): the sweep
//! directory is one TensorBoard log directory.

pub mod figures;
pub mod hparams;
pub mod launcher;
pub mod reference;
pub mod spec;
pub mod summary;
pub mod trial;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use launcher::{Job, Launcher, Local, Outcome, Start};
pub use spec::Spec;
pub use summary::Summary;
pub use trial::Trial;

use mnist_trainer::RunDir;
use mnist_trainer::run_dir::{RunLock, lock_file, write_atomic};

/// Errors of a sweep; each displays as one line that names the file, key or directory.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file is not a valid sweep file.
    #[error("sweep {file}: {message}")]
    Spec {
        /// The sweep file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A trial's config (the base config with the sweep's overrides) is invalid.
    #[error("sweep {file}: {source}")]
    Config {
        /// The sweep file.
        file: PathBuf,
        /// The trainer's error, which names the key (`[grid] "training.l2" = ...: ...`).
        source: mnist_trainer::ConfigError,
    },
    /// A file of the sweep directory.
    #[error(transparent)]
    Run(#[from] mnist_trainer::RunError),
    /// An I/O failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another sweep holds the directory.
    #[error("sweep directory {path} is in use by another `sweep` process (pid {pid}); wait for it to finish or stop it (its lock on {path}/sweep.lock ends when it exits)")]
    Locked {
        /// The sweep directory.
        path: PathBuf,
        /// The holder.
        pid: u32,
    },
    /// The directory holds another sweep.
    #[error("sweep directory {dir} holds a different sweep ({what}); pass --force to run this one there (trials whose config changed start over), or --out to choose another directory")]
    Different {
        /// The sweep directory.
        dir: PathBuf,
        /// The first difference.
        what: String,
    },
    /// Something other than a run where a trial's directory belongs.
    #[error("{path} is not a run directory of this sweep: {reason}; move it away, or pass --out to choose another sweep directory")]
    NotATrial {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A figure of the sweep could not be drawn or written.
    #[error("sweep figures: {0}")]
    Figure(#[from] mnist_report::ReportError),
    /// A stop signal ended the sweep early.
    #[error("interrupted by {signal}: {stopped} running trials stopped at their last checkpoint, {not_started} not started; rerun the same command to resume them")]
    Interrupted {
        /// SIGINT or SIGTERM.
        signal: &'static str,
        /// Trials stopped while running.
        stopped: usize,
        /// Trials never started.
        not_started: usize,
    },
    /// Trials failed.
    #[error("{failed} of {total} trials failed: {names}; rerun the same command to retry them")]
    Failed {
        /// How many.
        failed: usize,
        /// Out of.
        total: usize,
        /// Their names.
        names: String,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The sweep file.
    pub spec: PathBuf,
    /// The sweep directory (default `artifacts/<name>`).
    pub out: Option<PathBuf>,
    /// Run a different spec in a directory that holds another.
    pub force: bool,
    /// List the trials and run nothing.
    pub dry_run: bool,
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// The sweep directory.
    pub dir: PathBuf,
    /// Trials in the sweep.
    pub trials: usize,
    /// Trials run (or evaluated) by this invocation.
    pub ran: usize,
}

/// The identity of a sweep, saved as `sweep.toml`: its spec with the axes expanded and every
/// trial's resolved config, so an edited base config counts as a different sweep too. The
/// metrics to summarize are left out: changing them changes no trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    sweep: RecordSweep,
    set: toml::Table,
    grid: Vec<RecordAxis>,
    trial: Vec<RecordTrial>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordSweep {
    name: String,
    base: String,
    repeats: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordAxis {
    key: String,
    values: Vec<toml::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordTrial {
    name: String,
    config: String,
}

impl Record {
    fn of(spec: &Spec, trials: &[Trial]) -> Record {
        let base = std::fs::canonicalize(&spec.base).unwrap_or_else(|_| spec.base.clone());
        Record {
            sweep: RecordSweep { name: spec.name.clone(), base: base.display().to_string(), repeats: spec.repeats },
            set: spec.set.iter().cloned().collect(),
            grid: spec.grid.iter().map(|a| RecordAxis { key: a.key.clone(), values: a.values.clone() }).collect(),
            trial: trials.iter().map(|t| RecordTrial { name: t.name.clone(), config: t.config.clone() }).collect(),
        }
    }

    /// The first way `self` (saved) differs from `now`.
    fn difference(&self, now: &Record) -> Option<String> {
        if self.sweep.base != now.sweep.base {
            return Some(format!("base {} there, {} now", self.sweep.base, now.sweep.base));
        }
        if self.sweep.repeats != now.sweep.repeats {
            return Some(format!("repeats = {} there, {} now", self.sweep.repeats, now.sweep.repeats));
        }
        if self.set != now.set {
            return Some("its [set] differs".into());
        }
        if self.grid != now.grid {
            return Some("its [grid] differs".into());
        }
        if self.trial != now.trial {
            return Some("the base config or the trials' configs differ".into());
        }
        None
    }
}

/// What a trial's directory holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Finished, its test metrics saved.
    Done,
    /// Needs a job.
    Todo(Start),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SweepError + 'a {
    move |source| SweepError::Io { action, path: path.to_path_buf(), source }
}

/// Where a trial stands, refusing directories this sweep must not touch.
fn state(trial: &Trial, dir: &Path, force: bool) -> Result<State, SweepError> {
    if !dir.exists() || std::fs::read_dir(dir).map_err(io("read", dir))?.next().is_none() {
        return Ok(State::Todo(Start::Fresh));
    }
    let run = match RunDir::open(dir) {
        Ok(run) => run,
        // A run killed before it wrote its config: `train --force` accepts a directory with
        // `checkpoints/`, and nothing in it is worth keeping.
        Err(_) if dir.join("checkpoints").is_dir() => return Ok(State::Todo(Start::Restart)),
        Err(e) => return Err(SweepError::NotATrial { path: dir.to_path_buf(), reason: e.to_string() }),
    };
    let same_config = run.read_config()? == trial.config;
    if !same_config && !force {
        return Err(SweepError::NotATrial { path: dir.to_path_buf(), reason: "its config.toml differs from the trial's config (pass --force to train it over)".into() });
    }
    let finished = run.read_info()?.is_some_and(|i| i.finished);
    Ok(match (same_config, finished, run.last_checkpoint()?.is_some()) {
        (false, _, _) => State::Todo(Start::Restart),
        (true, true, _) if dir.join("test.json").is_file() => State::Done,
        (true, true, _) => State::Todo(Start::EvalOnly),
        (true, false, true) => State::Todo(Start::Resume),
        (true, false, false) => State::Todo(Start::Restart),
    })
}

/// The sweep directory's lock: the trainer's OS file lock ([`lock_file`]) on `sweep.lock`,
/// released when the process ends in any way, so a crash never leaves the directory blocked.
pub type SweepLock = RunLock;

/// Takes the lock of `dir` (created if need be).
pub fn lock(dir: &Path) -> Result<SweepLock, SweepError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    lock_file(&dir.join("sweep.lock"))?.map_err(|pid| SweepError::Locked { path: dir.to_path_buf(), pid })
}

/// Reads the sweep file, builds every trial's config (refusing bad keys and values before
/// anything runs), then brings every trial to the finished state with `launcher`, skipping
/// finished ones and resuming interrupted ones; writes the summary. Progress goes to stdout (a
/// bar with ETA on stderr when it is a terminal). Failed trials are listed with the tail of their
/// log and make the result an error, after the others ran. A stop request (SIGINT, SIGTERM; see
/// [`Launcher::launch`]) ends it early with [`SweepError::Interrupted`].
pub fn run(opts: &SweepOptions, launcher: &dyn Launcher) -> Result<SweepOutcome, SweepError> {
    let spec = Spec::load(&opts.spec)?;
    let trials = trial::expand(&spec)?;
    reference::check(&spec, &trials)?;
    let dir = opts.out.clone().unwrap_or_else(|| Path::new("artifacts").join(&spec.name));
    if opts.dry_run {
        println!("sweep {} ({}): {} trials into {}", spec.name, opts.spec.display(), trials.len(), dir.display());
        for t in &trials {
            println!("  {}", t.name);
        }
        return Ok(SweepOutcome { dir, trials: trials.len(), ran: 0 });
    }
    if dir.is_file() {
        return Err(SweepError::NotATrial { path: dir, reason: "it is a file".into() });
    }
    let _lock = lock(&dir)?;
    let record = Record::of(&spec, &trials);
    let record_path = dir.join("sweep.toml");
    if record_path.exists() {
        let text = std::fs::read_to_string(&record_path).map_err(io("read", &record_path))?;
        let saved: Option<Record> = toml::from_str(&text).ok();
        let what = match &saved {
            Some(saved) => saved.difference(&record),
            None => Some(format!("{} is not a sweep record", record_path.display())),
        };
        if let (Some(what), false) = (what, opts.force) {
            return Err(SweepError::Different { dir, what });
        }
    }
    // Every trial's state before anything is written, so a refusal leaves the directory as it was.
    let states = trials.iter().map(|t| state(t, &dir.join(&t.name), opts.force)).collect::<Result<Vec<_>, _>>()?;
    let header = "# The sweep this directory holds, written by `sweep`: rerunning it with a different spec is refused unless --force.\n";
    write_atomic(&record_path, (header.to_string() + &toml::to_string(&record).expect("a record serializes")).as_bytes())?;
    let (configs, logs) = (dir.join("configs"), dir.join("logs"));
    for d in [&configs, &logs] {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    let mut jobs = Vec::new();
    for (t, s) in trials.iter().zip(&states) {
        if let State::Todo(start) = s {
            let config = configs.join(format!("{}.toml", t.name));
            write_atomic(&config, t.config.as_bytes())?;
            jobs.push(Job { name: t.name.clone(), dir: dir.join(&t.name), config, log: logs.join(format!("{}.log", t.name)), start: *start });
        }
    }
    let done = trials.len() - jobs.len();
    let count = |s: Start| jobs.iter().filter(|j| j.start == s).count();
    if jobs.is_empty() {
        println!("sweep {}: {} of {} trials already finished in {}", spec.name, done, trials.len(), dir.display());
    } else {
        println!(
            "sweep {}: {} trials in {} ({} already finished, {} to start, {} to resume, {} to evaluate); {}",
            spec.name,
            trials.len(),
            dir.display(),
            done,
            count(Start::Fresh) + count(Start::Restart),
            count(Start::Resume),
            count(Start::EvalOnly),
            launcher.describe(jobs.len())
        );
    }
    let n = jobs.len();
    let bar = if n > 0 && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(n as u64);
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} trials, {elapsed} elapsed, ETA {eta}").expect("a valid template"));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut finished = 0;
    let mut failures: Vec<Outcome> = Vec::new();
    launcher.launch(jobs, &mut |o: Outcome| {
        finished += 1;
        let what = match &o.result {
            Ok(m) => describe(m),
            Err(e) => format!("FAILED: {e} (log: {})", o.job.log.display()),
        };
        let line = format!("[{finished}/{n}] {}: {what} ({:.1} s)", o.job.name, o.seconds);
        // On stdout, the bar (on stderr) lifted out of the way.
        bar.suspend(|| println!("{line}"));
        bar.inc(1);
        // The trial shows in TensorBoard's HParams tab as soon as it is done; a failure here is
        // only reported, as the rewrite after the summary tries again and fails the sweep.
        if let (Ok(_), Some(t)) = (&o.result, trials.iter().find(|t| t.name == o.job.name))
            && let Err(e) = hparams::write_trial(&spec, t, &o.job.dir)
        {
            bar.suspend(|| eprintln!("warning: HParams event file of {}: {e}", o.job.dir.display()));
        }
        if o.result.is_err() {
            failures.push(o);
        }
    });
    bar.finish_and_clear();
    let mut summary = summary::summarize(&spec, &trials, |t| {
        let text = std::fs::read_to_string(dir.join(&t.name).join("test.json")).ok()?;
        serde_json::from_str(&text).ok()
    });
    summary.references.extend(reference::pca_bound(&dir, &spec, &trials, &summary)?);
    summary.write(&dir, &spec.name)?;
    figures::write(&dir, &spec, &trials, &summary)?;
    // Every finished trial, those of earlier invocations too, then the experiment that lists them.
    for t in &trials {
        let trial_dir = dir.join(&t.name);
        hparams::write_trial(&spec, t, &trial_dir).map_err(io("write HParams event file in", &trial_dir))?;
    }
    hparams::write_experiment(&spec, &trials, &dir).map_err(io("write HParams event file in", &dir))?;
    if n > 0 {
        println!("{} trials in {:.1} s; summary in {}", n, started.elapsed().as_secs_f64(), dir.join("summary.md").display());
    }
    if let Some(signal) = mnist_trainer::stop::requested() {
        return Err(SweepError::Interrupted { signal: signal.name(), stopped: failures.len(), not_started: n - finished });
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("trial {} failed: {}; last lines of {}:", f.job.name, f.result.as_ref().err().map(String::as_str).unwrap_or(""), f.job.log.display());
            for line in tail(&f.job.log, 10) {
                eprintln!("    {line}");
            }
        }
        let names = failures.iter().map(|f| f.job.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(SweepError::Failed { failed: failures.len(), total: trials.len(), names });
    }
    Ok(SweepOutcome { dir, trials: trials.len(), ran: n })
}

/// `test acc 0.9812 loss 0.0634` from a trial's `test.json`.
fn describe(m: &serde_json::Value) -> String {
    let mut s = String::from("test");
    if let Some(a) = m.get("accuracy").and_then(|v| v.as_f64()) {
        s += &format!(" acc {a:.4}");
    }
    if let Some(l) = m.get("loss").and_then(|v| v.as_f64()) {
        s += &format!(" loss {l:.4}");
    }
    if let Some(p) = m.get("psnr").and_then(|v| v.as_f64()) {
        s += &format!(" psnr {p:.2}dB");
    }
    s
}

/// The last `n` lines of a file (none if it cannot be read).
fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| l.to_string()).collect()
}
