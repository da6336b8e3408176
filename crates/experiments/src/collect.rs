//! Phase 2 of a sweep, whichever launcher ran it: its trials' state read from their run
//! directories, the summary, figures and TensorBoard HParams data of those that finished, and the
//! ones that did not, explained by their launcher (`sweep --collect` for Slurm).

use std::path::Path;

use mnist_runs::TestResult;

use crate::error::io;
use crate::launcher::{Launcher, Sweep};
use crate::lock::lock;
use crate::plan::{State, state, sweep_dir};
use crate::spec::Spec;
use crate::summary::Summary;
use crate::trial::{self, Trial};
use crate::{SweepError, SweepOptions, SweepOutcome, figures, hparams, record, reference, summary};

/// Summarizes the sweep `launcher` submitted from its trial directories (as the local launcher's
/// summary); with `wait`, first waits until its last submission has nothing queued or running.
/// Trials not finished are an error: explained by the launcher (log ends) when its submission is
/// done (rerunning the sweep submits only those), counted when it still runs.
pub fn collect(opts: &SweepOptions, launcher: &dyn Launcher, wait: bool) -> Result<SweepOutcome, SweepError> {
    let spec = Spec::load(&opts.spec, opts.max_trials)?;
    let trials = trial::expand(&spec)?;
    let dir = sweep_dir(opts, &spec);
    let sweep = Sweep { spec: &spec, dir: &dir, trials: &trials };
    let pending = launcher.collect(sweep, wait)?;
    let _lock = lock(&dir)?;
    record::check(&dir, &spec, &trials, false)?;
    let unfinished: Vec<&Trial> = trials.iter().filter(|t| !matches!(state(t, &dir.join(&t.name), false), Ok(State::Done))).collect();
    summarize_dir(&dir, &spec, &trials)?;
    let finished = trials.len() - unfinished.len();
    println!("sweep {}: {finished} of {} trials finished; summary in {}", spec.name, trials.len(), dir.join("summary.md").display());
    if unfinished.is_empty() {
        return Ok(SweepOutcome { dir, trials: trials.len(), ran: 0 });
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if pending.running > 0 {
        return Err(SweepError::Launcher(format!(
            "job {} still has {} task{} queued or running; {} trial{} not finished yet: collect again later, or pass --wait",
            pending.id,
            pending.running,
            plural(pending.running),
            unfinished.len(),
            plural(unfinished.len())
        )));
    }
    for t in &unfinished {
        for line in launcher.unfinished(sweep, &t.name) {
            eprintln!("{line}");
        }
    }
    let names = unfinished.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    Err(SweepError::Launcher(format!(
        "{} of {} trials did not finish: {names}; `sweep --config {} --launcher {}` submits only those",
        unfinished.len(),
        trials.len(),
        opts.spec.display(),
        launcher.name()
    )))
}

/// Summary, figures and TensorBoard HParams data of the finished trials in `dir` (each with a
/// test result).
pub fn summarize_dir(dir: &Path, spec: &Spec, trials: &[Trial]) -> Result<Summary, SweepError> {
    let mut summary = summary::summarize(spec, trials, |t| TestResult::read(&dir.join(&t.name)));
    summary.references.extend(reference::pca_bound(dir, spec, trials, &summary)?);
    summary.write(dir, &spec.name)?;
    figures::write(dir, spec, trials, &summary)?;
    // Every finished trial, those of earlier invocations too, then the experiment that lists them.
    for t in trials {
        let trial_dir = dir.join(&t.name);
        hparams::write_trial(spec, t, &trial_dir).map_err(io("write HParams event file in", &trial_dir))?;
    }
    hparams::write_experiment(spec, trials, dir).map_err(io("write HParams event file in", dir))?;
    Ok(summary)
}
