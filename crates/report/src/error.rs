//! The one error type of the report crate: every message names the file or run concerned.

use std::path::PathBuf;

/// What can stop `report` or drawing a figure.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Loading the run, its config, checkpoint or data.
    #[error(transparent)]
    Load(#[from] mnist_runs::LoadError),
    /// A file that cannot be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A run file that does not parse (`metrics.csv`, `steps.csv`, ...).
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// Drawing a figure failed.
    #[error("cannot draw {figure}: {reason}")]
    Draw {
        /// The figure's file name.
        figure: String,
        /// What the drawing library said.
        reason: String,
    },
    /// Reading a tensor back from the device failed.
    #[error("cannot read {what} back from the device: {reason}")]
    Device {
        /// What was read.
        what: &'static str,
        /// The backend's message.
        reason: String,
    },
    /// A run that cannot play the role asked of it (e.g. too few training images for a PCA bound).
    #[error("{path}: {reason}")]
    WrongRun {
        /// The run directory.
        path: PathBuf,
        /// Why it does not fit.
        reason: String,
    },
    /// A command-line value out of range.
    #[error("invalid {option}: {reason}")]
    Invalid {
        /// The option, e.g. `--levels`.
        option: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

impl ReportError {
    /// An I/O error on `path` while doing `action`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> ReportError {
        let path = path.into();
        move |source| ReportError::Io {
            action,
            path,
            source,
        }
    }
}
