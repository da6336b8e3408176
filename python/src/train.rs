//! `train()`: one experiment from a TOML config into a run directory, through the trainer's one
//! loop (`mnist_trainer::train`), as the `train` command runs it.

use std::path::PathBuf;

use mnist_config::{Experiment, Override};
use mnist_trainer::progress::{Event, Observer, ProgressMode};
use mnist_trainer::{TrainError, TrainOptions};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::errors;
use crate::wait::{Message, panic_error, run_released};

/// Trains `config` into `out` (default `artifacts/<experiment name>`), the config changed by
/// `overrides` (`(label, "KEY=VALUE")` pairs, VALUE a TOML value), `epochs` and `seed`.
/// `on_event(kind, text)` is called on this thread for each `"step"` (JSON of where the run is),
/// `"epoch"` (JSON of the epoch's metric rows) and `"line"` (a line the run reports). Returns
/// the run directory. Ctrl-C stops training at the next step and raises `KeyboardInterrupt`; the
/// run resumes with `resume=True`.
#[pyfunction]
#[pyo3(signature = (config, overrides, out=None, epochs=None, seed=None, device=None, resume=false, force=false, on_event=None))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    config: PathBuf,
    overrides: Vec<(String, String)>,
    out: Option<PathBuf>,
    epochs: Option<u64>,
    seed: Option<u64>,
    device: Option<String>,
    resume: bool,
    force: bool,
    on_event: Option<Py<PyAny>>,
) -> PyResult<String> {
    if resume && force {
        return Err(pyo3::exceptions::PyValueError::new_err("resume=True and force=True contradict each other: resume continues the run, force deletes it"));
    }
    let experiment = experiment(&config, &overrides, epochs, seed, device)?;
    let out = out.unwrap_or_else(|| PathBuf::from(mnist_runs::run_dir::RUNS_DIR).join(&experiment.config().experiment.name));
    if out.as_os_str().is_empty() {
        return Err(pyo3::exceptions::PyValueError::new_err("out is empty; expected the path of a run directory"));
    }
    let work_out = out.clone();
    let released = run_released(
        py,
        move |tx| {
            let observer = Observer::new(move |event| {
                let message = match event {
                    Event::Step(s) => Message::Step(
                        serde_json::json!({
                            "epoch": s.epoch, "epochs": s.epochs, "step": s.step, "steps": s.steps,
                            "elapsed": s.elapsed, "eta": s.eta, "message": s.message,
                        })
                        .to_string(),
                    ),
                    Event::Epoch(rows) => {
                        // Wait until Python has handled the epoch (see `Message::Epoch`); a
                        // receiver that is gone has stopped listening, and training goes on.
                        let (ack, handled) = std::sync::mpsc::channel();
                        if tx.send(Message::Epoch(serde_json::to_string(rows).unwrap_or_else(|_| "[]".into()), ack)).is_ok() {
                            let _ = handled.recv();
                        }
                        return;
                    }
                    Event::Line(line) => Message::Line(line.to_string()),
                };
                // The receiver is gone only once Python stopped listening; training goes on.
                let _ = tx.send(message);
            });
            let opts = TrainOptions { out: work_out, resume, force, progress: ProgressMode::Off, observer: Some(observer) };
            mnist_trainer::train(&experiment, &opts)
        },
        |py, message| {
            let Some(callback) = &on_event else { return Ok(()) };
            let (kind, text) = match message {
                Message::Step(t) => ("step", t),
                Message::Epoch(t, _) => ("epoch", t),
                Message::Line(t) => ("line", t),
            };
            callback.call1(py, (kind, text)).map(drop)
        },
    )?;
    if let Some(e) = released.failed {
        return Err(e);
    }
    match released.result {
        Err(panic) => Err(panic_error(&*panic)),
        Ok(Err(TrainError::Interrupted { run_dir, epoch, .. })) => Err(interrupted(released.interrupted, &run_dir, epoch)),
        Ok(Err(e)) => Err(released.interrupted.unwrap_or_else(|| errors::train(e))),
        Ok(Ok(outcome)) => match released.interrupted {
            // Ctrl-C during the final evaluation: the run finished all the same.
            Some(_) => Err(PyKeyboardInterrupt::new_err(format!("interrupted, but training had finished: the run is complete in {}", outcome.run_dir.display()))),
            None => Ok(outcome.run_dir.display().to_string()),
        },
    }
}

/// The experiment of `config` with the overrides, checked as the `train` command checks it.
pub fn experiment(config: &std::path::Path, overrides: &[(String, String)], epochs: Option<u64>, seed: Option<u64>, device: Option<String>) -> PyResult<Experiment> {
    let mut all = overrides.iter().map(|(label, arg)| Override::parse_labelled(arg, label.clone())).collect::<Result<Vec<_>, _>>().map_err(errors::config)?;
    if epochs == Some(0) {
        return Err(pyo3::exceptions::PyValueError::new_err("epochs=0: expected at least 1"));
    }
    if let Some(n) = epochs {
        all.push(Override::integer("epochs=", "training.epochs", n).map_err(errors::config)?);
    }
    if let Some(n) = seed {
        all.push(Override::integer("seed=", "experiment.seed", n).map_err(errors::config)?);
    }
    if let Some(d) = &device {
        d.parse::<mnist_backend::Backend>().map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("device={d:?}: {e}")))?;
    }
    Experiment::load_with(config, &all).and_then(|e| e.with_device(device)).map_err(errors::config)
}

/// The `KeyboardInterrupt` of a stopped run, saying how to go on from Python.
fn interrupted(original: Option<PyErr>, run_dir: &std::path::Path, completed: usize) -> PyErr {
    let dir = run_dir.display();
    let message = if completed == 0 {
        format!("interrupted during epoch 1, before any epoch completed: there is nothing to resume; start again with train(config, out={dir:?}, force=True)", dir = dir.to_string())
    } else {
        format!(
            "interrupted during epoch {}; the {completed} completed epoch(s) are checkpointed in {dir}: continue with train(config, out={:?}, resume=True)",
            completed + 1,
            dir.to_string()
        )
    };
    // Raised as the interpreter's own `KeyboardInterrupt`, with its traceback, but saying where
    // the run stands.
    let _ = original;
    PyKeyboardInterrupt::new_err(message)
}
