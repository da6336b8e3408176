//! Phase 1 of a sweep: plan it, hand its unfinished trials to a launcher, and finish the way the
//! launcher's answer calls for: jobs that ended here are summarized at once (failures listed with
//! the ends of their logs), jobs a scheduler queued are collected later (`--collect`) or, with
//! `--wait`, at once.

use std::time::Instant;

use crate::collect::{collect, summarize_dir};
use crate::error::io;
use crate::launcher::{Launcher, Outcome, Submitted, Sweep, tail};
use crate::plan::{Plan, plan, sweep_dir};
use crate::spec::Spec;
use crate::{SweepError, SweepOptions, SweepOutcome, hparams};

/// Reads the sweep file, builds every trial's config (refusing bad keys and values before
/// anything runs), then hands the unfinished trials to `launcher` (finished ones are skipped,
/// interrupted ones resumed) and summarizes what ended. Progress goes to stdout. Failed trials
/// are listed with the tail of their log and make the result an error, after the others ran. A
/// stop request (SIGINT, SIGTERM; see [`Launcher::submit`]) ends it early with
/// [`SweepError::Interrupted`]. When the launcher queued the trials on a scheduler, returns once
/// it accepted them, or, with `wait`, once they ended and were collected ([`collect`]).
pub fn launch(opts: &SweepOptions, launcher: &dyn Launcher, wait: bool) -> Result<SweepOutcome, SweepError> {
    let Some(plan) = plan(opts)? else {
        let spec = Spec::load(&opts.spec, opts.max_trials)?;
        return Ok(SweepOutcome { dir: sweep_dir(opts, &spec), trials: spec.trials() as usize, ran: 0 });
    };
    let Plan { spec, trials, dir, jobs, lock } = plan;
    // The remote jobs find everything by absolute paths, from any working directory on any node.
    let dir = if launcher.remote() { std::path::absolute(&dir).map_err(io("resolve", &dir))? } else { dir };
    let n = jobs.len();
    let sweep = Sweep { spec: &spec, dir: &dir, trials: &trials };
    let started = Instant::now();
    let mut ended = 0;
    let mut failures: Vec<Outcome> = Vec::new();
    let submitted = launcher.submit(sweep, jobs, &mut |o: Outcome| {
        ended += 1;
        // The trial shows in TensorBoard's HParams tab as soon as it is done; a failure here is
        // only reported, as the rewrite after the summary tries again and fails the sweep.
        if let (Ok(_), Some(t)) = (&o.result, trials.iter().find(|t| t.name == o.job.name))
            && let Err(e) = hparams::write_trial(&spec, t, &o.job.dir)
        {
            eprintln!("warning: HParams event file of {}: {e}", o.job.dir.display());
        }
        if o.result.is_err() {
            failures.push(o);
        }
    })?;
    if let Submitted::Queued { hint } = submitted {
        // The jobs never take the sweep's lock; collecting them does.
        drop(lock);
        if wait {
            let collect_opts = SweepOptions { out: Some(dir.clone()), ..opts.clone() };
            return collect(&collect_opts, launcher, true).map(|o| SweepOutcome { ran: n, ..o });
        }
        println!("{hint}");
        return Ok(SweepOutcome { dir, trials: trials.len(), ran: n });
    }
    summarize_dir(&dir, &spec, &trials)?;
    if n > 0 {
        println!("{} trials in {:.1} s; summary in {}", n, started.elapsed().as_secs_f64(), dir.join("summary.md").display());
    }
    if let Some(signal) = mnist_runs::stop::requested() {
        return Err(SweepError::Interrupted { signal: signal.name(), stopped: failures.len(), not_started: n - ended });
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("trial {} failed: {}; last lines of {}:", f.job.name, f.result.as_ref().err().map(String::as_str).unwrap_or(""), f.job.log.display());
            for line in tail(&f.job.log, 10) {
                eprintln!("    {line}");
            }
        }
        let names = failures.iter().map(|f| f.job.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(SweepError::Failed { failed: failures.len(), total: trials.len(), names });
    }
    Ok(SweepOutcome { dir, trials: trials.len(), ran: n })
}
