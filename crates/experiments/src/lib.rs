//! Sweeps: a sweep file names a base config, fixed overrides, grid axes and repeats; every trial is
//! an ordinary run directory `<sweep dir>/<trial>` trained by the `train` binary, so `eval`,
//! `report` and `export` work on it unchanged. Launchers only decide where `train` runs, in two
//! phases: submit the trials, then collect what finished (see [`launcher`]). Also the comparison
//! of runs that `report --compare` draws ([`compare`]).
//!
//! The sweep directory holds, besides the trials: `sweep.toml` (the spec it holds, to refuse a
//! different one without `--force`; [`record`]), `sweep.lock` (one sweep at a time; [`lock`]),
//! `configs/<trial>.toml` (each trial's resolved config, what `train` is given), `logs/<trial>.log`
//! (the trial's `train` output; outside the run directory, which `train --force` may wipe), and
//! `summary.csv` / `summary.md`, and TensorBoard's HParams data (see [`hparams`]): the sweep
//! directory is one TensorBoard log directory. Each trial's final test metrics are the
//! `test.json` that `train` writes when it finishes (a typed [`mnist_runs::TestResult`]).
//!
//! The flow: [`launch()`] plans the sweep ([`plan`]), hands the unfinished trials to a
//! [`Launcher`] and, for jobs that ended here, summarizes them; [`collect()`] summarizes jobs a
//! scheduler ran; [`run_trial`] is one trial on its own (a Slurm array task).
//!
//! May import: `mnist-config` (sweep overrides go through the config's own parsing), `mnist-runs`
//! (trials' test results, metrics, locks) and `mnist-report` (sweep figures). Never the trainer:
//! trials run the `train` binary.

pub mod collect;
pub mod compare;
mod error;
pub mod figures;
pub mod hparams;
pub mod launch;
pub mod launcher;
pub mod lock;
pub mod plan;
pub mod record;
pub mod reference;
pub mod spec;
pub mod summary;
pub mod trial;
pub mod trial_run;

use std::path::PathBuf;

pub use collect::collect;
pub use error::SweepError;
pub use launch::launch;
pub use launcher::{Job, Launcher, Local, Outcome, Pending, Slurm, Start, Submitted, Sweep};
pub use spec::{SlurmOptions, Spec};
pub use summary::Summary;
pub use trial::Trial;
pub use trial_run::run_trial;

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
    /// Trials run, or submitted, (or evaluated) by this invocation.
    pub ran: usize,
}
