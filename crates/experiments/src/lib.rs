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

mod error;
pub mod figures;
pub mod hparams;
pub mod launcher;
pub mod reference;
pub mod slurm;
pub mod spec;
pub mod summary;
pub mod trial;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use error::SweepError;
pub use launcher::{Job, Launcher, Local, Outcome, Start};
pub use slurm::SlurmOptions;
pub use spec::Spec;
pub use summary::Summary;
pub use trial::Trial;

use mnist_trainer::RunDir;
use mnist_trainer::run_dir::{RunLock, lock_file, write_atomic};

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
    /// `--max-trials`: refuse a sweep of more trials (default: the file's `sweep.max_trials`,
    /// else [`spec::DEFAULT_MAX_TRIALS`]).
    pub max_trials: Option<u64>,
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

/// A sweep ready to run: its trials checked, its directory locked and recorded, each unfinished
/// trial's config written and its job planned.
struct Plan {
    spec: Spec,
    trials: Vec<Trial>,
    dir: PathBuf,
    jobs: Vec<Job>,
    _lock: SweepLock,
}

/// Reads the sweep file and builds every trial's config (refusing bad keys and values before
/// anything is written); `None` after listing the trials for `--dry-run`. Then takes the sweep
/// directory's lock, refuses a directory that holds another sweep (unless `force`), records this
/// one and writes the config of each trial that is not finished.
fn plan(opts: &SweepOptions) -> Result<Option<Plan>, SweepError> {
    let spec = Spec::load(&opts.spec, opts.max_trials)?;
    let trials = trial::expand(&spec)?;
    reference::check(&spec, &trials)?;
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
    check_record(&dir, &spec, &trials, opts.force)?;
    // Every trial's state before anything is written, so a refusal leaves the directory as it was.
    let total = spec.trials();
    let mut states = Vec::with_capacity(trials.len());
    for (i, t) in trials.iter().enumerate() {
        trial::check_stop(i, total, "trial directories checked")?;
        states.push(state(t, &dir.join(&t.name), opts.force)?);
    }
    let header = "# The sweep this directory holds, written by `sweep`: rerunning it with a different spec is refused unless --force.\n";
    let record = Record::of(&spec, &trials);
    write_atomic(&dir.join(RECORD_FILE), (header.to_string() + &toml::to_string(&record).expect("a record serializes")).as_bytes())?;
    let (configs, logs) = (dir.join("configs"), dir.join("logs"));
    for d in [&configs, &logs] {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    let mut jobs = Vec::new();
    for (i, (t, s)) in trials.iter().zip(&states).enumerate() {
        trial::check_stop(i, total, "trial configs written")?;
        if let State::Todo(start) = s {
            let config = configs.join(format!("{}.toml", t.name));
            write_atomic(&config, t.config.as_bytes())?;
            jobs.push(job(&dir, &t.name, *start));
        }
    }
    Ok(Some(Plan { spec, trials, dir, jobs, _lock: lock }))
}

/// The sweep directory: `--out`, else `artifacts/<name>`.
fn sweep_dir(opts: &SweepOptions, spec: &Spec) -> PathBuf {
    opts.out.clone().unwrap_or_else(|| Path::new("artifacts").join(&spec.name))
}

/// The sweep's record in its directory.
const RECORD_FILE: &str = "sweep.toml";

/// Refuses a directory whose record is another sweep's, unless `force`.
fn check_record(dir: &Path, spec: &Spec, trials: &[Trial], force: bool) -> Result<(), SweepError> {
    let record_path = dir.join(RECORD_FILE);
    if !record_path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&record_path).map_err(io("read", &record_path))?;
    let saved: Option<Record> = toml::from_str(&text).ok();
    let what = match &saved {
        Some(saved) => saved.difference(&Record::of(spec, trials)),
        None => Some(format!("{} is not a sweep record", record_path.display())),
    };
    match (what, force) {
        (Some(what), false) => Err(SweepError::Different { dir: dir.to_path_buf(), what }),
        _ => Ok(()),
    }
}

/// The job of trial `name` in the sweep directory `dir`.
fn job(dir: &Path, name: &str, start: Start) -> Job {
    Job { name: name.to_string(), dir: dir.join(name), config: dir.join("configs").join(format!("{name}.toml")), log: dir.join("logs").join(format!("{name}.log")), start }
}

/// How many of `jobs` start, resume and only evaluate.
fn job_counts(jobs: &[Job]) -> String {
    let count = |s: Start| jobs.iter().filter(|j| j.start == s).count();
    format!("{} to start, {} to resume, {} to evaluate", count(Start::Fresh) + count(Start::Restart), count(Start::Resume), count(Start::EvalOnly))
}

/// Reads the sweep file, builds every trial's config (refusing bad keys and values before
/// anything runs), then brings every trial to the finished state with `launcher`, skipping
/// finished ones and resuming interrupted ones; writes the summary. Progress goes to stdout (a
/// bar with ETA on stderr when it is a terminal). Failed trials are listed with the tail of their
/// log and make the result an error, after the others ran. A stop request (SIGINT, SIGTERM; see
/// [`Launcher::launch`]) ends it early with [`SweepError::Interrupted`].
pub fn run(opts: &SweepOptions, launcher: &dyn Launcher) -> Result<SweepOutcome, SweepError> {
    let Some(plan) = plan(opts)? else {
        let spec = Spec::load(&opts.spec, opts.max_trials)?;
        return Ok(SweepOutcome { dir: sweep_dir(opts, &spec), trials: spec.trials() as usize, ran: 0 });
    };
    let Plan { spec, trials, dir, jobs, _lock } = plan;
    let done = trials.len() - jobs.len();
    if jobs.is_empty() {
        println!("sweep {}: {} of {} trials already finished in {}", spec.name, done, trials.len(), dir.display());
    } else {
        println!("sweep {}: {} trials in {} ({} already finished, {}); {}", spec.name, trials.len(), dir.display(), done, job_counts(&jobs), launcher.describe(jobs.len()));
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
    summarize_dir(&dir, &spec, &trials)?;
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

/// Summary, figures and TensorBoard HParams data of the finished trials in `dir`.
fn summarize_dir(dir: &Path, spec: &Spec, trials: &[Trial]) -> Result<Summary, SweepError> {
    let mut summary = summary::summarize(spec, trials, |t| {
        let text = std::fs::read_to_string(dir.join(&t.name).join("test.json")).ok()?;
        serde_json::from_str(&text).ok()
    });
    summary.references.extend(reference::pca_bound(dir, spec, trials, &summary)?);
    summary.write(dir, &spec.name)?;
    figures::write(dir, spec, trials, &summary)?;
    // Every finished trial, those of earlier invocations too, then the experiment that lists them.
    for t in trials {
        let trial_dir = dir.join(&t.name);
        hparams::write_trial(spec, t, &trial_dir).map_err(io("write HParams event file in", &trial_dir))?;
    }
    hparams::write_experiment(spec, trials, dir).map_err(io("write HParams event file in", dir))?;
    Ok(summary)
}

/// Submits the sweep's unfinished trials to Slurm as one job array (see [`slurm`]) and returns
/// once `sbatch` accepted it, or, with `wait`, once the array is done and collected. Refused
/// while an earlier array of the sweep still has tasks; a sweep with every trial finished is only
/// summarized. `sweep_bin` is the `sweep` binary the tasks run.
pub fn submit(opts: &SweepOptions, options: &SlurmOptions, sweep_bin: &Path, wait: bool) -> Result<SweepOutcome, SweepError> {
    let spec = Spec::load(&opts.spec, opts.max_trials)?;
    let options = spec.slurm.merged(options);
    let Some(plan) = plan(opts)? else {
        return Ok(SweepOutcome { dir: sweep_dir(opts, &spec), trials: spec.trials() as usize, ran: 0 });
    };
    // The tasks find everything by absolute paths, from any working directory on any node.
    let dir = std::path::absolute(&plan.dir).map_err(io("resolve", &plan.dir))?;
    let total = plan.trials.len();
    if plan.jobs.is_empty() {
        println!("sweep {}: all {total} trials already finished in {}", plan.spec.name, dir.display());
        summarize_dir(&dir, &plan.spec, &plan.trials)?;
        return Ok(SweepOutcome { dir, trials: total, ran: 0 });
    }
    slurm::require_client()?;
    slurm::refuse_if_active(&dir)?;
    slurm::check_shared(&dir, slurm::nodes()?)?;
    let names: Vec<String> = plan.jobs.iter().map(|j| j.name.clone()).collect();
    let (job, script) = slurm::submit(&plan.spec.name, &dir, &names, &options, sweep_bin)?;
    println!(
        "sweep {}: submitted job array {job} to Slurm: {} of {total} trials ({}), {} CPU{} each; script {}",
        plan.spec.name,
        names.len(),
        job_counts(&plan.jobs),
        options.cpus(),
        if options.cpus() == 1 { "" } else { "s" },
        script.display()
    );
    let ran = names.len();
    // The tasks never take the sweep's lock; a later `--collect` does.
    drop(plan);
    if wait {
        let collect_opts = SweepOptions { out: Some(dir.clone()), ..opts.clone() };
        return collect(&collect_opts, true).map(|o| SweepOutcome { ran, ..o });
    }
    println!("follow it with `squeue -j {job}`; `sweep --config {} --out {} --collect` summarizes (add --wait to wait for the array)", opts.spec.display(), dir.display());
    Ok(SweepOutcome { dir, trials: total, ran })
}

/// Seconds between two looks at `squeue` while waiting.
const POLL_SECONDS: u64 = 2;

/// Summarizes a sweep submitted to Slurm from its trial directories (as the local launcher's
/// summary); with `wait`, first waits until its last array has no task queued or running. Trials
/// not finished are an error: listed with the end of their logs when their array is done
/// (rerunning `--launcher slurm` submits only those), counted when it still runs.
pub fn collect(opts: &SweepOptions, wait: bool) -> Result<SweepOutcome, SweepError> {
    let spec = Spec::load(&opts.spec, opts.max_trials)?;
    let trials = trial::expand(&spec)?;
    let dir = sweep_dir(opts, &spec);
    let submissions = slurm::submissions(&dir)?;
    let Some(last) = submissions.last() else {
        return Err(SweepError::Slurm(format!(
            "{} holds no submission of this sweep to Slurm ({}/{} is missing); submit it first with `sweep --config {} --launcher slurm`",
            dir.display(),
            slurm::DIR,
            slurm::SUBMISSIONS_FILE,
            opts.spec.display()
        )));
    };
    let mut running = slurm::active_tasks(&last.job)?;
    if wait && running > 0 {
        println!("waiting for job {} ({running} task{} queued or running)...", last.job, if running == 1 { "" } else { "s" });
        while running > 0 {
            std::thread::sleep(std::time::Duration::from_secs(POLL_SECONDS));
            if let Some(signal) = mnist_trainer::stop::requested() {
                return Err(SweepError::Slurm(format!("stopped waiting ({}); job {} goes on: `sweep --collect` later", signal.name(), last.job)));
            }
            running = slurm::active_tasks(&last.job)?;
        }
    }
    let _lock = lock(&dir)?;
    check_record(&dir, &spec, &trials, false)?;
    let unfinished: Vec<&Trial> = trials.iter().filter(|t| !matches!(state(t, &dir.join(&t.name), false), Ok(State::Done))).collect();
    summarize_dir(&dir, &spec, &trials)?;
    let finished = trials.len() - unfinished.len();
    println!("sweep {}: {finished} of {} trials finished; summary in {}", spec.name, trials.len(), dir.join("summary.md").display());
    if unfinished.is_empty() {
        return Ok(SweepOutcome { dir, trials: trials.len(), ran: 0 });
    }
    if running > 0 {
        return Err(SweepError::Slurm(format!(
            "job {} still has {running} task{} queued or running; {} trial{} not finished yet: collect again later, or pass --wait",
            last.job,
            if running == 1 { "" } else { "s" },
            unfinished.len(),
            if unfinished.len() == 1 { "" } else { "s" }
        )));
    }
    for t in &unfinished {
        let log = dir.join("logs").join(format!("{}.log", t.name));
        let index = submissions.iter().rev().find_map(|s| Some((s, s.trials.iter().position(|n| n == &t.name)?)));
        match index {
            Some((s, i)) => eprintln!("trial {} did not finish in job {}_{i}; last lines of {} and of its Slurm output:", t.name, s.job, log.display()),
            None => eprintln!("trial {} was never submitted (it was added, or finished, when the last array was submitted); last lines of {}:", t.name, log.display()),
        }
        for line in tail(&log, 10) {
            eprintln!("    {line}");
        }
        if let Some((s, i)) = index {
            let out = dir.join("logs").join(format!("slurm-{}_{i}.out", s.job));
            for line in tail(&out, 5) {
                eprintln!("    {line}");
            }
            if !out.exists() && !log.exists() {
                eprintln!("    (no log: the task never started, was cancelled while queued, or could not see {}, which must be on a file system the compute nodes share)", dir.display());
            }
        }
    }
    let names = unfinished.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    Err(SweepError::Slurm(format!(
        "{} of {} trials did not finish: {names}; `sweep --config {} --launcher slurm` submits only those",
        unfinished.len(),
        trials.len(),
        opts.spec.display()
    )))
}

/// Brings one trial of the sweep in `dir` to the finished state with `launcher`, as an array
/// task of a Slurm submission runs it: the trial's config is the one its submission recorded in
/// `dir`, so the task needs nothing but the sweep directory. A finished trial is left as it is.
pub fn run_trial(dir: &Path, name: &str, launcher: &dyn Launcher) -> Result<(), SweepError> {
    let record_path = dir.join(RECORD_FILE);
    let text = std::fs::read_to_string(&record_path).map_err(io("read", &record_path))?;
    let record: Record = toml::from_str(&text).map_err(|e| SweepError::NotATrial { path: record_path.clone(), reason: format!("not a sweep record ({})", e.message()) })?;
    let Some(saved) = record.trial.iter().find(|t| t.name == name) else {
        return Err(SweepError::NotATrial { path: dir.join(name), reason: format!("the sweep in {} has no trial {name:?}", dir.display()) });
    };
    let trial = Trial { name: saved.name.clone(), point: String::new(), values: Vec::new(), seed: 0, config: saved.config.clone() };
    let start = match state(&trial, &dir.join(name), false)? {
        State::Done => {
            println!("trial {name} already finished");
            return Ok(());
        }
        State::Todo(start) => start,
    };
    let job = job(dir, name, start);
    println!("trial {name}: {}", job_counts(std::slice::from_ref(&job)));
    let mut result = None;
    launcher.launch(vec![job], &mut |o: Outcome| {
        println!("trial {name}: {} ({:.1} s)", o.result.as_ref().map(describe).unwrap_or_else(|e| format!("FAILED: {e}")), o.seconds);
        result = Some(o.result);
    });
    if let Some(signal) = mnist_trainer::stop::requested() {
        return Err(SweepError::Interrupted { signal: signal.name(), stopped: 1, not_started: 0 });
    }
    match result {
        Some(Ok(_)) => Ok(()),
        _ => Err(SweepError::Failed { failed: 1, total: 1, names: name.to_string() }),
    }
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
