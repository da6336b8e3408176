//! One trial of a sweep on its own, as an array task of a Slurm submission runs it
//! (`sweep --out DIR --run-trial NAME`): its config is the one the sweep recorded in its directory,
//! so the task needs nothing but the sweep directory; it runs through the local launcher's pool.

use std::path::Path;

use crate::SweepError;
use crate::launcher::{Local, Outcome, describe, job_counts};
use crate::plan::{State, job, state};
use crate::record::Record;

/// Brings one trial of the sweep in `dir` to the finished state with `local` (start, resume or
/// only evaluate). A finished trial is left as it is.
pub fn run_trial(dir: &Path, name: &str, local: &Local) -> Result<(), SweepError> {
    let record = Record::read(dir)?;
    let Some(trial) = record.trial(name) else {
        return Err(SweepError::NotATrial { path: dir.join(name), reason: format!("the sweep in {} has no trial {name:?}", dir.display()) });
    };
    let start = match state(&trial, &dir.join(name), false)? {
        State::Done => {
            println!("trial {name} already finished");
            return Ok(());
        }
        State::Todo(start) => start,
    };
    let job = job(dir, name, start);
    println!("trial {name}: {}", job_counts(std::slice::from_ref(&job)));
    let mut result = None;
    local.run_jobs(vec![job], &mut |o: Outcome| {
        println!("trial {name}: {} ({:.1} s)", o.result.as_ref().map(describe).unwrap_or_else(|e| format!("FAILED: {e}")), o.seconds);
        result = Some(o.result);
    });
    if let Some(signal) = mnist_runs::stop::requested() {
        return Err(SweepError::Interrupted { signal: signal.name(), stopped: 1, not_started: 0 });
    }
    match result {
        Some(Ok(_)) => Ok(()),
        _ => Err(SweepError::Failed { failed: 1, total: 1, names: name.to_string() }),
    }
}
