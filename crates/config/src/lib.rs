//! The experiment config: what a TOML file may say and what it means.
//!
//! Owns the schema (typed serde structs, unknown keys rejected), reading it with errors in TOML
//! words, `--set` overrides, validation once into the immutable [`Experiment`], the generated
//! reference (`docs/config.md`) and the config diff `--resume` reports.
//!
//! May import: `mnist-data` and `mnist-models` (their config types), `mnist-backend` (backend
//! names). Nothing here trains, loads a run or touches a device.

pub mod diff;
pub mod error;
mod examples;
pub mod experiment;
pub mod messages;
pub mod optimizer;
pub mod overrides;
pub mod parse;
pub mod reference;
pub mod schedule;
pub mod schema;

pub use diff::{Difference, differences};
pub use error::ConfigError;
pub use experiment::Experiment;
pub use optimizer::OptimizerConfig;
pub use overrides::{KeyPart, Override, parse_key};
pub use schedule::Schedule;
pub use schema::{Config, DataSection, EarlyStopping, ExperimentSection, Monitor, TrainingSection};
