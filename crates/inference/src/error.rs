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
    /// A file that cannot be read, written or parsed, an image that cannot be encoded, tensors
    /// that cannot be read back from the device: the report crate's errors for these, whose
    /// messages name the file.
    #[error(transparent)]
    Report(#[from] ReportError),
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
    /// An I/O error on `path` while doing `action` (the report crate's file error).
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> InferenceError {
        let path = path.into();
        let report = ReportError::io(action, path);
        move |source| InferenceError::Report(report(source))
    }
}

/// A file that does not parse (a safetensors header): what is wrong with it.
pub fn corrupt(path: &std::path::Path, reason: String) -> InferenceError {
    InferenceError::Report(ReportError::Corrupt { path: path.to_path_buf(), reason })
}
