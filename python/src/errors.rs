//! The engine's errors as Python exceptions, with the command-line tools' messages: a config that
//! does not parse or validate is a `ConfigError` (a `ValueError`), a missing config, run or data
//! set a `FileNotFoundError`, an invalid argument a `ValueError`, anything else an `EngineError`
//! (a `RuntimeError`). A panic never crosses into Python as a crash (see `wait::panic_error`).

use std::error::Error;

use mnist_config::ConfigError as TomlError;
use mnist_data::DataError;
use mnist_experiments::SweepError;
use mnist_inference::InferenceError;
use mnist_report::ReportError;
use mnist_runs::{LoadError, RunError};
use mnist_trainer::TrainError;
use pyo3::exceptions::{PyFileNotFoundError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    mnist_burn,
    ConfigError,
    PyValueError,
    "A config (TOML file or `set=` override) that does not parse or validate; the message names the file, the key and what is expected, as the `train` command's does."
);
pyo3::create_exception!(mnist_burn, EngineError, PyRuntimeError, "A failure of the training engine: the message says what failed and what to do.");

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add("EngineError", m.py().get_type::<EngineError>())?;
    Ok(())
}

/// Which Python exception an engine error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    NotFound,
    Value,
    Engine,
}

/// The error and its causes on one line, a cause already at the end of the text not repeated (as
/// the command-line tools print them).
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(cause) = next {
        let text = cause.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        if !text.is_empty() && !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

fn io_not_found(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
            return true;
        }
        next = e.source();
    }
    false
}

fn config_kind(e: &TomlError) -> Kind {
    match e {
        TomlError::Read { .. } if io_not_found(e) => Kind::NotFound,
        _ => Kind::Config,
    }
}

fn data_kind(e: &DataError) -> Kind {
    match e {
        DataError::MissingDirectory { .. } | DataError::MissingSet { .. } | DataError::MissingFile { .. } | DataError::MissingImageFolder { .. } => {
            Kind::NotFound
        }
        _ => Kind::Engine,
    }
}

fn run_kind(e: &RunError) -> Kind {
    match e {
        RunError::NotARun(_) | RunError::NeverStarted(_) => Kind::NotFound,
        _ if io_not_found(e) => Kind::NotFound,
        _ => Kind::Engine,
    }
}

fn load_kind(e: &LoadError) -> Kind {
    match e {
        LoadError::Config(e) => config_kind(e),
        LoadError::Data(e) => data_kind(e),
        LoadError::Run(e) => run_kind(e),
        _ => Kind::Engine,
    }
}

fn report_kind(e: &ReportError) -> Kind {
    match e {
        ReportError::Load(e) => load_kind(e),
        ReportError::Invalid { .. } => Kind::Value,
        _ => Kind::Engine,
    }
}

fn raise(kind: Kind, message: String) -> PyErr {
    match kind {
        Kind::Config => ConfigError::new_err(message),
        Kind::NotFound => PyFileNotFoundError::new_err(message),
        Kind::Value => PyValueError::new_err(message),
        Kind::Engine => EngineError::new_err(message),
    }
}

/// A config error (loading a config, its overrides).
pub fn config(e: TomlError) -> PyErr {
    raise(config_kind(&e), one_line(&e))
}

/// A training error other than an interrupt (handled by `train`).
pub fn train(e: TrainError) -> PyErr {
    let kind = match &e {
        TrainError::Config(c) => config_kind(c),
        TrainError::Data(d) => data_kind(d),
        TrainError::Run(r) => run_kind(r),
        _ => Kind::Engine,
    };
    raise(kind, python_words(&one_line(&e)))
}

/// An error loading a run.
pub fn load(e: LoadError) -> PyErr {
    raise(load_kind(&e), python_words(&one_line(&e)))
}

/// An error applying a run to images or exporting it.
pub fn inference(e: InferenceError) -> PyErr {
    let kind = match &e {
        InferenceError::Load(e) => load_kind(e),
        InferenceError::Report(e) => report_kind(e),
        InferenceError::Invalid { .. } => Kind::Value,
        _ => Kind::Engine,
    };
    raise(kind, one_line(&e))
}

/// An error drawing a report.
pub fn report(e: ReportError) -> PyErr {
    raise(report_kind(&e), one_line(&e))
}

/// An error reading a data set.
pub fn data(e: DataError) -> PyErr {
    raise(data_kind(&e), one_line(&e))
}

/// A sweep's error (an interrupt is handled by `sweep`).
pub fn sweep(e: SweepError) -> PyErr {
    let kind = match &e {
        SweepError::Spec { .. } | SweepError::Config { .. } => Kind::Config,
        SweepError::Run(r) => run_kind(r),
        _ if io_not_found(&e) => Kind::NotFound,
        _ => Kind::Engine,
    };
    raise(kind, python_words(&one_line(&e)))
}

/// The command line's flags in a message, said as the Python arguments that do the same.
pub fn python_words(message: &str) -> String {
    message
        .replace("pass --resume to continue it, --force to start over (deleting it), or --out", "pass resume=True to continue it, force=True to start over (deleting it), or out=")
        .replace("start it over with --force instead of --resume", "start it over with force=True instead of resume=True")
        .replace("resume with the saved config, or start over with --force", "resume with the saved config, or start over with force=True")
        .replace("train again with --force", "train again with force=True")
        .replace("pass --force to run this one there", "pass force=True to run this one there")
}
