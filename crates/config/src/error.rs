//! Why a config could not be used: each error names the file (or the `--set` argument), the key
//! and what is expected.

use std::path::PathBuf;

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A directory was given instead of a file.
    #[error("config {path} is a directory; expected a TOML file such as configs/mlp.toml")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is empty.
    #[error("config {path} is empty; expected [experiment], [model] and [training] sections")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// TOML syntax, an unknown key, a wrong type or a missing key.
    #[error("config {path}, line {line}, column {column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What TOML or the schema reported.
        message: String,
    },
    /// A value outside its range, or choices that do not fit together.
    #[error("config {path}: {field} {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `training.learning_rate`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A command-line override (`--set KEY=VALUE`, `--epochs N`, `--seed N`) with bad syntax, an
    /// unknown key, a wrong type or an invalid value.
    #[error("{arg}: {message}")]
    Override {
        /// The override as written: `--set training.learning_rate=abc`.
        arg: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

