//! The trainer: config schema and validation, the one training loop, optimizers Burn lacks,
//! checkpoints, evaluation and reports. Depends on the data and models crates, never the reverse.

use std::path::PathBuf;

pub mod backend;
pub mod bench;
pub mod config;
pub mod config_messages;
pub mod config_reference;
pub mod data;
pub mod eval;
pub mod evaluate;
pub mod hooks;
pub mod metrics;
pub mod optim;
pub mod optimizer;
pub mod protobuf;
pub mod overrides;
pub mod progress;
pub mod run_dir;
pub mod schedule;
pub mod steps;
pub mod stop;
pub mod tensorboard;
pub mod train;

pub use backend::{Backend, BackendError};
pub use config::{Config, ConfigError, Experiment};
pub use eval::{EvalSplit, LoadedRun, load_run};
pub use evaluate::Averages;
pub use overrides::{KeyPart, Override, parse_key};
pub use run_dir::{RunDir, RunError};
pub use stop::StopSignal;
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
        differences: Vec<config::Difference>,
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

fn list(differences: &[config::Difference]) -> String {
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
