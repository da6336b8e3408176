//! Running the engine's long work with the interpreter released, while this (the calling) thread
//! delivers progress to Python and watches for Ctrl-C.
//!
//! The work runs on rayon's pool, as the command-line tools run it. The calling thread waits on a
//! channel with the interpreter released, so other Python threads run meanwhile; between messages,
//! and at least every [`POLL`], it takes the interpreter back to run Python's signal handlers.
//! A `KeyboardInterrupt` from them (Ctrl-C in a terminal, Jupyter's interrupt button) becomes the
//! engine's stop request, exactly what SIGINT is to the CLI: training stops before its next step
//! with every file consistent, and the run resumes exactly. The interrupt is raised once the work
//! has stopped. A callback that raises stops the work the same way, and its exception is raised;
//! a `KeyboardInterrupt` raised inside a callback (a Ctrl-C that landed while it ran) is the Ctrl-C.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use mnist_runs::{StopSignal, stop};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

/// Longest wait between two looks at Python's pending signals.
const POLL: Duration = Duration::from_millis(50);

/// What the work tells Python while it runs.
pub enum Message {
    /// A logged step: JSON of the progress snapshot.
    Step(String),
    /// A saved epoch: JSON of its metric rows, and the work's wait for it to be handled: training
    /// goes on only once the callback has run and Python's signals were looked at, so a callback
    /// that raises (or a Ctrl-C during it) stops training before the next step, as in Keras.
    Epoch(String, Sender<()>),
    /// A line the work reports (the header, an epoch's line, the test result).
    Line(String),
}

/// How the work ended.
pub struct Released<R> {
    /// Its result, or the panic it ended with.
    pub result: std::thread::Result<R>,
    /// The `KeyboardInterrupt` (or other signal handler's exception) that stopped it.
    pub interrupted: Option<PyErr>,
    /// The exception a message handler raised, which stopped it.
    pub failed: Option<PyErr>,
}

/// Runs `work` on rayon's pool with the interpreter released, handing each message it sends to
/// `on_message` on this thread (with the interpreter), until the work returns. Any earlier stop
/// request of this process is forgotten first: a notebook's Ctrl-C ends one call, not the next.
pub fn run_released<R: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce(Sender<Message>) -> R + Send + 'static,
    mut on_message: impl FnMut(Python<'_>, Message) -> PyResult<()>,
) -> PyResult<Released<R>> {
    stop::reset();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("mnist-burn".into())
        .spawn(move || std::panic::catch_unwind(AssertUnwindSafe(move || rayon::scope(move |_| work(tx)))))
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the engine's thread: {e}")))?;
    // `&Receiver` is not `Send`; the mutex makes the waiting closure so (it is never contended).
    let rx = Mutex::new(rx);
    let (mut interrupted, mut failed) = (None, None);
    loop {
        let got = py.detach(|| rx.lock().unwrap_or_else(|p| p.into_inner()).recv_timeout(POLL));
        let mut handled = None;
        match got {
            Ok(message) => {
                if let Message::Epoch(_, ack) = &message {
                    handled = Some(ack.clone());
                }
                if failed.is_none()
                    && let Err(e) = on_message(py, message)
                {
                    // A Ctrl-C that lands while a handler runs Python code is raised inside it by
                    // the interpreter: it is the same Ctrl-C, so it stops the work as one (with
                    // the message saying where the run stands), not as the handler's failure.
                    if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                        interrupted.get_or_insert(e);
                    } else {
                        failed = Some(e);
                    }
                    stop::request(StopSignal::Interrupt);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Err(e) = py.check_signals() {
            // A second Ctrl-C while the work stops changes nothing: it stops before its next step.
            if interrupted.is_none() {
                interrupted = Some(e);
                stop::request(StopSignal::Interrupt);
            }
        }
        if let Some(ack) = handled {
            // The work waits for this; gone only if it already ended.
            let _ = ack.send(());
        }
    }
    let result = py.detach(|| handle.join()).unwrap_or_else(Err);
    Ok(Released { result, interrupted, failed })
}

/// The text of a panic's payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown failure".into())
}

/// A panic of the engine as a Python exception (`RuntimeError`), never a crash of the interpreter.
pub fn panic_error(panic: &(dyn std::any::Any + Send)) -> PyErr {
    let message = panic_message(panic).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    crate::errors::EngineError::new_err(format!("internal failure in the engine: {message}"))
}

/// Runs `f`, a short call into the engine, with the interpreter released; a panic becomes a
/// Python exception.
pub fn released<R: Send>(py: Python<'_>, f: impl FnOnce() -> PyResult<R> + Send) -> PyResult<R> {
    py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(f))).unwrap_or_else(|panic| Err(panic_error(&*panic)))
}
