//! Launchers decide only where and how a sweep's trials run; everything else (which trials, their
//! configs, resuming, summaries) is the sweep's. A launcher works in two phases:
//!
//! 1. [`Launcher::submit`] starts the sweep's unfinished trials, one [`Job`] each. [`Local`] runs
//!    them here, a few at a time, and returns when every one has ended ([`Submitted::Ended`]);
//!    [`Slurm`] submits them as one job array and returns once `sbatch` accepted it
//!    ([`Submitted::Queued`]).
//! 2. [`Launcher::collect`] waits, if asked, until nothing the last submission started is still
//!    queued or running, and says what is ([`Pending`]); the sweep then reads each trial's state
//!    from its run directory (the trial directories are the state, whichever launcher ran them)
//!    and writes the summary. [`Launcher::unfinished`] explains a trial that did not finish.
//!
//! Whatever runs a job runs `train` on the trial's config into its run directory (resuming it
//! from its last checkpoint when it has one); `train` saves the test result (`test.json`) when it
//! finishes. A third launcher (Kubernetes Jobs, Ray) is one file here implementing [`Launcher`],
//! plus its `mod`/`pub use` lines below, its `--launcher` value in `src/bin/sweep.rs` and, for a
//! table in the sweep file, a field of `crate::spec`.

pub mod local;
pub mod slurm;

use std::path::{Path, PathBuf};

use mnist_runs::TestResult;

use crate::SweepError;
use crate::spec::Spec;
use crate::trial::Trial;

pub use local::Local;
pub use slurm::Slurm;

/// How a trial's `train` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run directory.
    Fresh,
    /// Over a run that never checkpointed an epoch, or whose config the sweep replaced (`--force`).
    Restart,
    /// From the run's last checkpoint (`--resume`).
    Resume,
    /// The run finished without a test result (trained by a `train` that wrote none, or its
    /// `test.json` deleted): only evaluated, by `eval --json`.
    EvalOnly,
}

/// One trial to bring to the finished state.
#[derive(Debug, Clone)]
pub struct Job {
    /// The trial's name.
    pub name: String,
    /// Its run directory.
    pub dir: PathBuf,
    /// Its resolved config file.
    pub config: PathBuf,
    /// Where its `train` (and `eval`, for a run without a test result) output goes (appended:
    /// earlier attempts' logs are kept).
    pub log: PathBuf,
    /// How it starts.
    pub start: Start,
}

/// What became of a job that ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The job.
    pub job: Job,
    /// `Ok` with the trial's test result (its `test.json`), or what failed.
    pub result: Result<TestResult, String>,
    /// Wall-clock seconds the job took.
    pub seconds: f64,
}

/// The sweep a launcher works for.
#[derive(Debug, Clone, Copy)]
pub struct Sweep<'a> {
    /// The checked sweep file (`spec.file`: the path it was given as, for the commands messages
    /// suggest).
    pub spec: &'a Spec,
    /// The sweep directory: absolute for a launcher whose jobs run elsewhere ([`Launcher::remote`]).
    pub dir: &'a Path,
    /// Every trial of the sweep, finished or not.
    pub trials: &'a [Trial],
}

/// What [`Launcher::submit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Every job ran and ended within `submit`, each reported as it ended (none were given, or a
    /// stop request left some unstarted): the sweep is summarized at once.
    Ended,
    /// A scheduler accepted the jobs and runs them later, elsewhere: collect them with
    /// [`Launcher::collect`].
    Queued {
        /// What to do next, printed when the sweep does not wait: how to follow the jobs and
        /// collect them.
        hint: String,
    },
}

/// What [`Launcher::collect`] found still in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The scheduler's id of the last submission (`12` for Slurm's job 12); empty when the jobs
    /// ran here.
    pub id: String,
    /// Its jobs still queued or running: 0 once it is done.
    pub running: usize,
}

/// Runs a sweep's jobs somewhere, in two phases (see the module's documentation).
pub trait Launcher {
    /// The launcher's `--launcher` value (`local`, `slurm`), named in messages that tell how to
    /// rerun the sweep.
    fn name(&self) -> &'static str;

    /// Whether the jobs run in processes that are not this one's children (on other machines),
    /// which find the sweep by absolute paths: the sweep directory is then made absolute before
    /// [`Launcher::submit`] sees it, and the sweep's lock is released once they are submitted.
    fn remote(&self) -> bool {
        false
    }

    /// Phase 1: starts `jobs`, the sweep's unfinished trials (possibly none: it then says the
    /// sweep is finished). The sweep directory is locked and every job's config written; messages
    /// go to stdout. A launcher that runs the jobs itself reports each to `ended` as it ends, on
    /// the caller's thread, and returns [`Submitted::Ended`]; after a stop request
    /// (`mnist_runs::stop`, SIGINT/SIGTERM) it starts no more jobs and returns once the running
    /// ones have stopped. A scheduler returns [`Submitted::Queued`] once it accepted the jobs.
    fn submit(&self, sweep: Sweep<'_>, jobs: Vec<Job>, ended: &mut dyn FnMut(Outcome)) -> Result<Submitted, SweepError>;

    /// Phase 2: the sweep's last submission (an error when there is none to collect); with
    /// `wait`, first waits until none of its jobs is queued or running.
    fn collect(&self, sweep: Sweep<'_>, wait: bool) -> Result<Pending, SweepError>;

    /// Lines for stderr on trial `name`, not finished once its submission is done: where it ran
    /// and the last lines of its logs.
    fn unfinished(&self, sweep: Sweep<'_>, name: &str) -> Vec<String>;
}

/// `2 to start, 1 to resume, 0 to evaluate`: how many of `jobs` start, resume and only evaluate.
pub fn job_counts(jobs: &[Job]) -> String {
    let count = |s: Start| jobs.iter().filter(|j| j.start == s).count();
    format!("{} to start, {} to resume, {} to evaluate", count(Start::Fresh) + count(Start::Restart), count(Start::Resume), count(Start::EvalOnly))
}

/// `test acc 0.9812 loss 0.0634` from a trial's test result.
pub fn describe(t: &TestResult) -> String {
    let mut s = String::from("test");
    if let Some(a) = t.metric("accuracy") {
        s += &format!(" acc {a:.4}");
    }
    if let Some(l) = t.metric("loss") {
        s += &format!(" loss {l:.4}");
    }
    if let Some(p) = t.metric("psnr") {
        s += &format!(" psnr {p:.2}dB");
    }
    s
}

/// The last `n` lines of a file (none if it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| l.to_string()).collect()
}
