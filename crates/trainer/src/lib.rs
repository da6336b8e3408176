//! The trainer: the one training loop every model and launcher uses, the optimizers Burn lacks
//! (or that are faster on `flex`), learning-rate schedules and the throughput bench.
//!
//! Owns `train()` and its steps (`train`), building optimizers (`optimizer`, `optim`), the
//! schedules' rates (`schedule`), progress bars (`progress`) and `bench`. May import:
//! `mnist-runs` (the run record it writes), `mnist-config`, `mnist-backend`, `mnist-data`,
//! `mnist-models`, `mnist-flex-kernels`. Nothing below it imports the trainer.

use std::path::PathBuf;

use mnist_backend::BackendError;
use mnist_config::{ConfigError, Difference};
use mnist_runs::{LoadError, RunError, StopSignal};

pub mod bench;
pub mod ema;
pub mod optim;
pub mod optimizer;
pub mod progress;
pub mod schedule;
pub mod train;

pub use train::{TrainOptions, TrainOutcome, train};

/// Everything that can stop `train`, `eval` and the other commands.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The config file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data files.
    #[error(transparent)]
    Data(#[from] mnist_data::DataError),
    /// The run directory and checkpoints.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The backend.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Weights or optimizer state that do not load.
    #[error("cannot load {path}: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The loss became NaN or infinite.
    #[error("{}", non_finite_message(*.value, *.epoch, *.first_step, *.last_step, .run_dir))]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// First step of the window in which it happened.
        first_step: usize,
        /// Last step of that window.
        last_step: usize,
        /// The value read.
        value: f64,
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Stopped by a signal: Ctrl-C (SIGINT) or SIGTERM (a scheduler, `kill`).
    #[error("{}", interrupted_message(*.signal, .run_dir, *.epoch))]
    Interrupted {
        /// The signal that stopped the run.
        signal: StopSignal,
        /// The run directory.
        run_dir: PathBuf,
        /// Epochs completed.
        epoch: usize,
    },
    /// `--resume` with a config that differs from the run's saved one.
    #[error("cannot resume {run_dir}: the config given differs from the config saved in the run ({run_dir}/config.toml): {}; resume with the saved config, or start over with --force", list(.differences))]
    ConfigMismatch {
        /// The run directory.
        run_dir: PathBuf,
        /// The config file given (before its command-line overrides).
        config: PathBuf,
        /// Each key that differs, with its value in the run and now.
        differences: Vec<Difference>,
    },
    /// `--resume` with more epochs than the run was given, refused.
    #[error("cannot extend {run_dir} from {from} to {to} epochs: {reason}")]
    CannotExtend {
        /// The run directory.
        run_dir: PathBuf,
        /// `training.epochs` of the saved config.
        from: usize,
        /// `training.epochs` given now.
        to: usize,
        /// Why, and what to do instead.
        reason: String,
    },
}

impl From<LoadError> for TrainError {
    fn from(e: LoadError) -> TrainError {
        match e {
            LoadError::Config(e) => TrainError::Config(e),
            LoadError::Data(e) => TrainError::Data(e),
            LoadError::Run(e) => TrainError::Run(e),
            LoadError::Backend(e) => TrainError::Backend(e),
            LoadError::Weights { path, reason } => TrainError::Weights { path, reason },
        }
    }
}

fn list(differences: &[Difference]) -> String {
    differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn non_finite_message(value: f64, epoch: usize, first_step: usize, last_step: usize, run_dir: &std::path::Path) -> String {
    let kept = if epoch > 1 {
        format!("the checkpoint of epoch {} in {} is intact", epoch - 1, run_dir.display())
    } else {
        "no epoch had completed, so there is no checkpoint".to_string()
    };
    format!(
        "the loss became {value} in epoch {epoch} (between steps {first_step} and {last_step}); training stopped and {kept}: lower the learning rate and train again with --force"
    )
}

fn interrupted_message(signal: StopSignal, run_dir: &std::path::Path, completed: usize) -> String {
    let dir = run_dir.display();
    let how = match signal {
        StopSignal::Interrupt => "interrupted (SIGINT)",
        StopSignal::Terminate => "terminated (SIGTERM)",
    };
    if completed == 0 {
        format!("{how} during epoch 1, before any epoch completed: there is nothing to resume; start again with `train --config ... --out {dir} --force`")
    } else {
        format!(
            "{how} during epoch {}; the {completed} completed epoch(s) are checkpointed in {dir}: continue with `train --config ... --out {dir} --resume`",
            completed + 1
        )
    }
}
