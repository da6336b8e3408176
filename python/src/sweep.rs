//! `sweep()`: a sweep file's trials as ordinary run directories, through the same planning,
//! launching and summary as the `sweep` command. Each trial runs in a process of its own, as the
//! command runs them: `python -m mnist_burn._cli train ...`, the same engine through this package.

use std::ffi::OsString;
use std::path::PathBuf;

use mnist_experiments::{Local, SweepError, SweepOptions};
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;

use crate::errors;
use crate::wait::{panic_error, run_released};

/// Runs the sweep file `spec` into `out` (default `artifacts/<name>`), `jobs` trials at once,
/// each as `python -m mnist_burn._cli` of `python` (the interpreter running this); returns the
/// sweep directory. Ctrl-C stops the running trials at their last checkpoint (the same call
/// resumes them) and raises `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (spec, python, out=None, jobs=1, force=false, max_trials=None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    spec: PathBuf,
    python: PathBuf,
    out: Option<PathBuf>,
    jobs: usize,
    force: bool,
    max_trials: Option<u64>,
) -> PyResult<String> {
    if jobs == 0 {
        return Err(PyValueError::new_err("jobs=0: expected at least 1"));
    }
    if max_trials == Some(0) {
        return Err(PyValueError::new_err("max_trials=0: expected at least 1"));
    }
    let prefix = |command: &str| -> Vec<OsString> { ["-m", "mnist_burn._cli", command].map(OsString::from).to_vec() };
    let mut local = Local::new(jobs, python.clone(), python);
    local.train_args = prefix("train");
    local.eval_args = prefix("eval");
    let opts = SweepOptions { spec, out, force, dry_run: false, max_trials };
    // The sweep prints its own lines (on the process's stdout, which Jupyter's kernel shows); it
    // sends no messages.
    let released = run_released(py, move |_tx| mnist_experiments::launch(&opts, &local, false), |_, _| Ok(()))?;
    match released.result {
        Err(panic) => Err(panic_error(&*panic)),
        Ok(Err(e @ (SweepError::Interrupted { .. } | SweepError::Planning { .. }))) => Err(PyKeyboardInterrupt::new_err(e.to_string().replace("rerun the same command", "call sweep() again"))),
        Ok(Err(e)) => Err(released.interrupted.unwrap_or_else(|| errors::sweep(e))),
        Ok(Ok(outcome)) => match released.interrupted {
            Some(e) => Err(e),
            None => Ok(outcome.dir.display().to_string()),
        },
    }
}
