//! The one error type of the inference crate: every message names the file, run or option
//! concerned.

use std::path::PathBuf;

use mnist_report::ReportError;
use mnist_runs::LoadError;

/// What can stop `predict`, `export`, `noise-sweep` or a playground answer.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// Loading the run, its config, checkpoint or data.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Reading tensors back from the device, or drawing the noise sweep's figure.
    #[error(transparent)]
    Report(#[from] ReportError),
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
    /// A file that does not parse (a safetensors header).
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// Encoding an image failed.
    #[error("cannot draw {figure}: {reason}")]
    Draw {
        /// The image's file name.
        figure: String,
        /// What the image library said.
        reason: String,
    },
    /// A run that cannot play the role asked of it (e.g. a classifier given as the denoiser).
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
    /// A model without the part asked of it (e.g. a classifier asked for a code).
    #[error("{0}")]
    Model(String),
    /// Writing the safetensors file failed.
    #[error("cannot export to {path}: {reason}")]
    Export {
        /// The output file.
        path: PathBuf,
        /// The store's message.
        reason: String,
    },
}

impl InferenceError {
    /// An I/O error on `path` while doing `action`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> InferenceError {
        let path = path.into();
        move |source| InferenceError::Io { action, path, source }
    }
}
