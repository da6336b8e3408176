//! Why a run could not be read back: its config, data, run directory, backend or weights.

use std::path::PathBuf;

use mnist_backend::BackendError;
use mnist_config::ConfigError;
use mnist_data::DataError;

use crate::run_dir::RunError;

/// Everything that can stop loading a run (`load_run`) or its data.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The run's saved config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data files.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The run directory and checkpoints.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The backend.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Weights that do not load.
    #[error("cannot load {path}: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
