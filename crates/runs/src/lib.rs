//! The run record: everything a run directory holds, and reading a run back.
//!
//! Owns the layout of a run directory and its lock (`run_dir`), `metrics.csv` and `steps.csv`
//! (`metrics`, `steps`), `checkpoints/*/state.json` and `run.json` (`run_dir`), the TensorBoard
//! event files and their protobuf codec (`tensorboard`, `protobuf`), `test.json` (`test_result`),
//! the fault points tests stop a run at (`hooks`, `stop`), and loading a checkpoint back with its
//! data to evaluate it (`load`, `data`, `evaluate`). `train` writes runs through it; `eval`,
//! `report`, `serve`, `predict`, `export` and sweeps read them through it.
//!
//! May import: `mnist-config`, `mnist-backend`, `mnist-data`, `mnist-models`. Never the trainer.

pub mod data;
pub mod error;
pub mod evaluate;
pub mod hooks;
pub mod load;
pub mod metrics;
pub mod protobuf;
pub mod run_dir;
pub mod steps;
pub mod stop;
pub mod tensorboard;
pub mod test_result;

pub use error::LoadError;
pub use evaluate::{Averages, EVAL_BATCH};
pub use load::{EvalSplit, LoadedRun, load_run};
pub use run_dir::{RunDir, RunError};
pub use stop::StopSignal;
pub use test_result::{TEST_FILE, TestResult};
