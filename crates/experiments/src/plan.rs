//! Planning a sweep before any launcher sees it: every trial built and checked, the sweep
//! directory locked and recorded, each trial's state read from its run directory (finished,
//! interrupted, never started), and one [`Job`] per unfinished trial with its config written.

use std::path::{Path, PathBuf};

use mnist_runs::run_dir::{RUNS_DIR, write_atomic};
use mnist_runs::{RunDir, TestResult};

use crate::error::io;
use crate::launcher::{Job, Start};
use crate::lock::{SweepLock, lock};
use crate::record::{self, Record};
use crate::spec::Spec;
use crate::trial::{self, Trial};
use crate::{SweepError, SweepOptions};

/// The folder of the trials' resolved configs in the sweep directory.
pub const CONFIGS_DIR: &str = "configs";
/// The folder of the trials' logs in the sweep directory.
pub const LOGS_DIR: &str = "logs";

/// What a trial's directory holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Finished, its test result saved.
    Done,
    /// Needs a job.
    Todo(Start),
}

/// Where a trial stands, refusing directories this sweep must not touch.
pub fn state(trial: &Trial, dir: &Path, force: bool) -> Result<State, SweepError> {
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
        (true, true, _) if TestResult::read(dir).is_some() => State::Done,
        (true, true, _) => State::Todo(Start::EvalOnly),
        (true, false, true) => State::Todo(Start::Resume),
        (true, false, false) => State::Todo(Start::Restart),
    })
}

/// A sweep ready to launch: its trials checked, its directory locked and recorded, each
/// unfinished trial's config written and its job planned. Dropping it releases the lock.
pub struct Plan {
    /// The sweep file.
    pub spec: Spec,
    /// Every trial, finished or not.
    pub trials: Vec<Trial>,
    /// The sweep directory.
    pub dir: PathBuf,
    /// One per unfinished trial, in the trials' order.
    pub jobs: Vec<Job>,
    /// Held while the sweep is planned and its jobs run here.
    pub lock: SweepLock,
}

/// Reads the sweep file and builds every trial's config (refusing bad keys and values before
/// anything is written); `None` after listing the trials for `--dry-run`. Then takes the sweep
/// directory's lock, refuses a directory that holds another sweep (unless `force`), records this
/// one and writes the config of each trial that is not finished.
pub fn plan(opts: &SweepOptions) -> Result<Option<Plan>, SweepError> {
    let spec = Spec::load(&opts.spec, opts.max_trials)?;
    let trials = trial::expand(&spec)?;
    crate::reference::check(&spec, &trials)?;
    let dir = sweep_dir(opts, &spec);
    if opts.dry_run {
        println!("sweep {} ({}): {} trials into {}", spec.name, opts.spec.display(), trials.len(), dir.display());
        for t in &trials {
            println!("  {}", t.name);
        }
        return Ok(None);
    }
    if dir.is_file() {
        return Err(SweepError::NotATrial { path: dir, reason: "it is a file".into() });
    }
    let lock = lock(&dir)?;
    record::check(&dir, &spec, &trials, opts.force)?;
    // Every trial's state before anything is written, so a refusal leaves the directory as it was.
    let total = spec.trials();
    let mut states = Vec::with_capacity(trials.len());
    for (i, t) in trials.iter().enumerate() {
        trial::check_stop(i, total, "trial directories checked")?;
        states.push(state(t, &dir.join(&t.name), opts.force)?);
    }
    Record::of(&spec, &trials).write(&dir)?;
    let (configs, logs) = (dir.join(CONFIGS_DIR), dir.join(LOGS_DIR));
    for d in [&configs, &logs] {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    let mut jobs = Vec::new();
    for (i, (t, s)) in trials.iter().zip(&states).enumerate() {
        trial::check_stop(i, total, "trial configs written")?;
        if let State::Todo(start) = s {
            let job = job(&dir, &t.name, *start);
            write_atomic(&job.config, t.config.as_bytes())?;
            jobs.push(job);
        }
    }
    Ok(Some(Plan { spec, trials, dir, jobs, lock }))
}

/// The sweep directory: `--out`, else `artifacts/<name>`.
pub fn sweep_dir(opts: &SweepOptions, spec: &Spec) -> PathBuf {
    opts.out.clone().unwrap_or_else(|| Path::new(RUNS_DIR).join(&spec.name))
}

/// The log of trial `name` in the sweep directory `dir`.
pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(LOGS_DIR).join(format!("{name}.log"))
}

/// The job of trial `name` in the sweep directory `dir`.
pub fn job(dir: &Path, name: &str, start: Start) -> Job {
    Job { name: name.to_string(), dir: dir.join(name), config: dir.join(CONFIGS_DIR).join(format!("{name}.toml")), log: log_path(dir, name), start }
}
