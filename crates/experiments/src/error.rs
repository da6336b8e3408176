//! The errors of sweeps: each displays as one line naming the sweep file, key or directory, in the
//! user's words (TOML keys, command-line flags).

use std::path::{Path, PathBuf};

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
        source: mnist_config::ConfigError,
    },
    /// A file of the sweep directory.
    #[error(transparent)]
    Run(#[from] mnist_runs::RunError),
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
    /// A stop signal ended the sweep while its trials were being built or written, before any
    /// started.
    #[error("interrupted by {signal} while planning the sweep ({done} of {total} {what}); no trial started")]
    Planning {
        /// SIGINT or SIGTERM.
        signal: &'static str,
        /// Trials built (or their configs written) so far.
        done: usize,
        /// Trials in the sweep.
        total: u64,
        /// What `done` counts: `trials built`, `trial configs written`.
        what: &'static str,
    },
    /// A launcher's scheduler is missing or refused the jobs (Slurm: no `sbatch`, an unknown
    /// partition), or the sweep is not in a state to submit or collect.
    #[error("{0}")]
    Launcher(String),
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

/// An I/O error on `path` while doing `action`.
pub(crate) fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SweepError + 'a {
    move |source| SweepError::Io { action, path: path.to_path_buf(), source }
}
