//! The steps of one epoch: the training steps (stopping cleanly on a signal, reading the sums back
//! every `log_every` steps), validation, the best epoch and early stopping, the epoch's files
//! (checkpoint, `metrics.csv`, TensorBoard events) and its line.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use mnist_data::derive_seed;
use mnist_models::Model;

use mnist_config::Monitor;
use mnist_runs::evaluate::{Accumulator, Averages, EVAL_BATCH, describe, eval_seed, evaluate};
use mnist_runs::metrics::{self, MetricRow};
use mnist_runs::run_dir::{RunDir, RunError, TRAINING_WEIGHTS_FILE};
use mnist_runs::{hooks, stop, tensorboard};

use super::{Session, train_step};
use crate::TrainError;
use crate::progress::Progress;
use crate::schedule::Rates;

/// One pass of an epoch over a split: its averages, how long it took, and when it ended.
pub(super) struct Pass {
    averages: Averages,
    seconds: f64,
    /// Seconds since the Unix epoch.
    time: f64,
}

/// The training pass of an epoch, the learning rate of its last step, and its first step.
pub(super) struct Trained {
    pass: Pass,
    lr: f64,
    first_step: usize,
}

/// What the epoch's validation decided.
pub(super) struct Verdict {
    /// A new best of the monitored metric.
    improved: bool,
    /// Early stopping ends the run here.
    early: bool,
}

impl Session<'_> {
    /// The training steps of the next epoch: the device seeded and fresh noise drawn for it, then
    /// every batch (augmented) through [`train_step`]. Returns the trained model. A stop signal
    /// ends the run before the next step; a loss that is no longer finite, at the next read-back.
    pub(super) fn run_epoch(&mut self, mut model: Model, progress: &mut Progress) -> Result<(Model, Trained), TrainError> {
        let c = self.experiment.config();
        let t = &c.training;
        let seed = c.experiment.seed;
        let pixels: usize = self.data.shape.iter().product();
        let epoch = self.state.epoch;
        hooks::set_epoch(epoch + 1);
        // Randomness per epoch comes from (seed, epoch): a resumed run draws exactly what an
        // uninterrupted one would (dropout masks, VAE samples, shuffling, fresh noise). Seeding
        // the autodiff device seeds the backend underneath it, so one call covers both.
        self.train_device.seed(derive_seed(seed, "device", epoch as u64));
        self.data.refresh_noise(self.experiment, epoch);
        let epoch_lr = t.schedule.rate(t.learning_rate, epoch, t.epochs);
        // Per-step schedules run over every step of the run (cut by `training.steps`).
        let total_steps = (t.epochs * self.data.train.len().div_ceil(t.batch_size)).min(t.steps.unwrap_or(usize::MAX));
        let mut lr = t.schedule.step_rate(t.learning_rate, self.state.global_step, total_steps, epoch_lr);
        let batches = self.data.train.batches(t.batch_size, t.shuffle.then(|| derive_seed(seed, "shuffle", epoch as u64)));
        let remaining = t.steps.map_or(usize::MAX, |s| s.saturating_sub(self.state.global_step));
        let steps = batches.steps().min(remaining);
        progress.start_epoch(epoch, steps);
        let epoch_start = Instant::now();
        let first_step = self.state.global_step + 1;
        let mut acc = Accumulator::default();
        for (i, batch) in batches.take(steps).enumerate() {
            hooks::step(self.state.global_step + 1);
            if let Some(signal) = stop::requested() {
                progress.abandon();
                // Nothing of this epoch is saved: the last checkpoint and metrics.csv already
                // agree, so the run resumes from there as if this epoch had never started.
                hooks::unnumbered("shutdown");
                return Err(TrainError::Interrupted { signal, run_dir: self.run.path().to_path_buf(), epoch: self.state.epoch });
            }
            let n = batch.len();
            lr = t.schedule.step_rate(t.learning_rate, self.state.global_step, total_steps, epoch_lr);
            let batch = self.augment.apply(batch, derive_seed(seed, "augment", self.state.global_step as u64));
            let b;
            (model, b) = train_step(model, &mut self.optim, &self.objective, batch, lr, self.wants_sparsity);
            if let Some(log) = self.steps_log.as_mut() {
                log.push(b.terms.reconstruction.clone().unwrap_or_else(|| b.terms.total.clone()).inner(), b.sparsity);
            }
            acc.add(&b.terms, b.correct, b.squared_error, n);
            self.state.global_step += 1;
            if let Some(average) = self.average.as_mut() {
                average.update(&model, self.state.global_step);
            }
            if (i + 1) % t.log_every == 0 || i + 1 == steps {
                // The only host synchronization of the loop: every `log_every` steps.
                let so_far = acc.read(&self.data.stats, pixels);
                // The average is finite until a non-finite step enters it: name that check window.
                let window_start = self.state.global_step - i % t.log_every;
                check_finite(&so_far, epoch + 1, (window_start, self.state.global_step), self.run.path())?;
                let rate = acc.samples() as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
                progress.step(i + 1, format!("{} · {:.0} samples/s", describe(&so_far), rate));
                if let Some(log) = self.steps_log.as_mut() {
                    log.flush(self.state.global_step)?;
                }
            }
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        let time = metrics::now_unix();
        let averages = acc.read(&self.data.stats, pixels);
        check_finite(&averages, epoch + 1, (first_step, self.state.global_step), self.run.path())?;
        Ok((model, Trained { pass: Pass { averages, seconds, time }, lr, first_step }))
    }

    /// The trained model (the average of its weights with `training.ema`) on the validation split.
    pub(super) fn validate(&self, model: &Model, trained: &Trained) -> Result<Pass, TrainError> {
        let seed = self.experiment.config().experiment.seed;
        let steps = (trained.first_step, self.state.global_step);
        let start = Instant::now();
        let averages = evaluate(&self.evaluated(model), &self.data.validation, &self.objective, &self.data.stats, EVAL_BATCH, eval_seed(seed, "validation"));
        check_finite(&averages, self.state.epoch + 1, steps, self.run.path())?;
        let seconds = start.elapsed().as_secs_f64();
        let time = metrics::now_unix();
        Ok(Pass { averages, seconds, time })
    }

    /// Counts the epoch as done and adds its two metric rows (training, validation) to the
    /// history; returns where they are in it.
    pub(super) fn record(&mut self, trained: &Trained, validated: &Pass) -> Range<usize> {
        self.state.epoch += 1;
        let new_rows = self.state.history.len();
        self.state.history.push(row(self.state.epoch, "train", &trained.pass, trained.lr));
        self.state.history.push(row(self.state.epoch, "validation", validated, trained.lr));
        new_rows..self.state.history.len()
    }

    /// Keeps the best epoch of the monitored validation metric, and decides whether training
    /// stops here: early stopping's patience run out, or the step limit reached.
    pub(super) fn track_best(&mut self, validated: &Pass) -> Verdict {
        let t = &self.experiment.config().training;
        let state = &mut self.state;
        let val = &validated.averages;
        let (monitored, higher_is_better) = match t.early_stopping.as_ref().map(|e| e.monitor) {
            Some(Monitor::ValAccuracy) => (val.accuracy.unwrap_or(0.0), true),
            _ => (val.loss, false),
        };
        let min_delta = t.early_stopping.as_ref().map_or(0.0, |e| e.min_delta);
        let improved = match state.best_value {
            None => true,
            Some(best) if higher_is_better => monitored > best + min_delta,
            Some(best) => monitored < best - min_delta,
        };
        if improved {
            state.best_value = Some(monitored);
            state.best_epoch = Some(state.epoch);
            state.stale_epochs = 0;
        } else {
            state.stale_epochs += 1;
        }
        let early = t.early_stopping.as_ref().is_some_and(|e| state.stale_epochs >= e.patience);
        let out_of_steps = t.steps.is_some_and(|s| state.global_step >= s);
        state.stopped = early || out_of_steps;
        Verdict { improved, early }
    }

    /// Writes the epoch out: the checkpoint (weights, optimizer, state; with `training.ema` the
    /// average as `model.bpk` and the trained weights beside it), `metrics.csv`, and the
    /// `new_rows` of the history as TensorBoard points.
    pub(super) fn save_epoch(&self, model: &Model, new_rows: Range<usize>) -> Result<(), TrainError> {
        let t = &self.experiment.config().training;
        let o = &self.optim;
        let evaluated = self.average.as_ref().map(|average| average.apply(model));
        self.run.save_checkpoint(&self.state, t.keep_checkpoints, |dir| {
            match evaluated {
                Some(average) => {
                    average.save_file(dir.join("model.bpk")).map_err(|e| e.to_string())?;
                    model.clone().save_file(dir.join(TRAINING_WEIGHTS_FILE)).map_err(|e| e.to_string())?;
                }
                None => model.clone().save_file(dir.join("model.bpk")).map_err(|e| e.to_string())?,
            }
            o.save(dir.join("optimizer.bpk")).map_err(|e| e.to_string())
        })?;
        self.run.write_metrics(&self.state.history)?;
        append_events(&self.run, &self.state.history[new_rows])?;
        Ok(())
    }

    /// The epoch's line (and early stopping's), printed between the progress bars.
    pub(super) fn print_epoch(&self, progress: &Progress, trained: &Trained, validated: &Pass, verdict: &Verdict) {
        let t = &self.experiment.config().training;
        let train = &trained.pass;
        let line = format!(
            "epoch {:>3}/{}  train {}  |  val {}  |  lr {:.3e}  {:.1}s ({:.0} samples/s){}",
            self.state.epoch,
            t.epochs,
            describe(&train.averages),
            describe(&validated.averages),
            trained.lr,
            train.seconds,
            train.averages.samples as f64 / train.seconds.max(1e-9),
            if verdict.improved { "  *best" } else { "" },
        );
        progress.say(&line);
        if verdict.early {
            progress.say(&format!("early stopping: no improvement of the monitored metric for {} epochs", self.state.stale_epochs));
        }
    }
}

/// The metric row of `pass` in `epoch`, trained at learning rate `lr`.
fn row(epoch: usize, split: &str, pass: &Pass, lr: f64) -> MetricRow {
    MetricRow {
        epoch,
        split: split.into(),
        metrics: pass.averages.metrics,
        learning_rate: lr,
        seconds: pass.seconds,
        time: Some(pass.time),
    }
}

fn check_finite(a: &Averages, epoch: usize, steps: (usize, usize), run: &Path) -> Result<(), TrainError> {
    if a.loss.is_finite() {
        Ok(())
    } else {
        Err(TrainError::NonFinite { epoch, first_step: steps.0, last_step: steps.1, value: a.loss, run_dir: run.to_path_buf() })
    }
}

/// The error of a failed write of the event files in `board`.
pub(super) fn events_error(board: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { action: "write TensorBoard events in", path: board.to_path_buf(), source }
}

/// Appends the points of `rows` (the epoch just finished) to the run's event file, as a live
/// TensorBoard writer does. Two writes, with the test hook `tensorboard@E` between them, so a
/// test can kill the process with half the epoch's points written (a resume rewrites the file).
fn append_events(run: &RunDir, rows: &[MetricRow]) -> Result<(), RunError> {
    let board = run.file(tensorboard::TENSORBOARD_DIR);
    let points = metrics::scalars(rows);
    let (first, second) = points.split_at(points.len() / 2);
    tensorboard::append_scalars(&board, first).map_err(events_error(&board))?;
    hooks::point("tensorboard");
    tensorboard::append_scalars(&board, second).map_err(events_error(&board))?;
    Ok(())
}
