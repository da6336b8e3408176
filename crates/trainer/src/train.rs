//! The one training loop for every model: seed, data on the device, model, optimizer,
//! `for epoch { train; validate; log; checkpoint; early-stop }`, final test evaluation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use mnist_data::{Batch, derive_seed};
use mnist_models::{Model, Objective, Task};

use crate::backend::Backend;
use crate::config::{self, Config, Experiment, Monitor};
use crate::data::prepare;
use crate::evaluate::{Accumulator, Averages, BatchTerms, batch_terms, evaluate};
use crate::metrics::{self, MetricRow};
use crate::progress::{Progress, ProgressMode};
use crate::tensorboard;
use crate::{hooks, stop};
use crate::run_dir::{CONFIG_FILE, Checkpoint, RunDir, RunError, RunInfo, RunLock, TrainState};
use crate::steps::StepLog;
use crate::TrainError;

/// Batch size of evaluation passes: independent of training (no layer depends on it), large for
/// speed.
pub const EVAL_BATCH: usize = 500;

/// How `train` is run (the command line's flags).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue from the last checkpoint of `out`.
    pub resume: bool,
    /// Delete an existing run in `out` and start over.
    pub force: bool,
    /// How progress is shown on stderr (bars on a terminal, lines elsewhere, or none).
    pub progress: ProgressMode,
}

/// What a finished training run reports.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Metrics of the final model on the test split.
    pub test: Averages,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
}

/// The seed of evaluation passes on `split`: fixed per run, so `eval` reproduces `train`'s figures.
pub fn eval_seed(seed: u64, split: &str) -> u64 {
    derive_seed(seed, &format!("eval-{split}"), 0)
}

/// The objective an experiment trains.
pub fn objective(config: &Config) -> Objective {
    let t = &config.training;
    Objective { loss: t.loss, beta: t.beta, l2: t.l2, l1: t.l1, label_smoothing: t.label_smoothing }
}

fn row(epoch: usize, split: &str, a: &Averages, lr: f64, seconds: f64, time: f64) -> MetricRow {
    MetricRow {
        epoch,
        split: split.into(),
        loss: a.loss,
        reconstruction: a.reconstruction,
        kl: a.kl,
        l2: a.l2,
        l1: a.l1,
        accuracy: a.accuracy,
        mse: a.mse,
        psnr: a.psnr,
        learning_rate: lr,
        seconds,
        time: Some(time),
    }
}

/// One line of numbers for a split: `loss 0.1234 acc 0.9712` or `loss 150.2 recon 145.1 kl 5.1`.
pub fn describe(a: &Averages) -> String {
    let mut s = format!("loss {:.4}", a.loss);
    if let Some(acc) = a.accuracy {
        s += &format!(" acc {acc:.4}");
    }
    if let (Some(r), Some(kl)) = (a.reconstruction, a.kl) {
        s += &format!(" recon {r:.3} kl {kl:.3}");
    }
    if let Some(p) = a.psnr {
        s += &format!(" psnr {p:.2}dB");
    }
    s
}

fn check_finite(a: &Averages, epoch: usize, steps: (usize, usize), run: &Path) -> Result<(), TrainError> {
    if a.loss.is_finite() {
        Ok(())
    } else {
        Err(TrainError::NonFinite { epoch, first_step: steps.0, last_step: steps.1, value: a.loss, run_dir: run.to_path_buf() })
    }
}

fn events_error(board: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
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

/// One optimizer step on `batch` (forward, loss, backward, update); returns the updated model and
/// the batch's terms, still on the device. The training loop and `bench` share it.
pub fn train_step(
    model: Model,
    optim: &mut ModuleOptimizer,
    objective: &Objective,
    batch: Batch,
    lr: f64,
    with_sparsity: bool,
) -> (Model, BatchTerms) {
    let b = batch_terms(&model, objective, batch.autodiff(), with_sparsity);
    let grads = GradientsParams::from_grads(b.terms.total.backward(), &model);
    (optim.step(lr, model, grads), b)
}

/// The run `--resume` continues: its directory (locked) and the checkpoint and facts to start from.
struct Resumed {
    run: RunDir,
    lock: RunLock,
    checkpoint: Checkpoint,
    info: RunInfo,
    /// When `--resume` changes the run's epochs: the saved config's, and the config to save.
    extend: Option<(usize, Config)>,
}

/// For `--resume`, opens and locks the run directory and returns what to continue from; for a new
/// run, only checks that the directory may be created: nothing is written (or, with `--force`,
/// deleted) until the data and the model have been checked too.
fn open_run(experiment: &Experiment, opts: &TrainOptions) -> Result<Option<Resumed>, TrainError> {
    if !opts.resume {
        RunDir::check_create(&opts.out, opts.force)?;
        return Ok(None);
    }
    let run = RunDir::open(&opts.out)?;
    // Locked before anything is read, so a run in progress is reported as such.
    let lock = run.lock()?;
    run.remove_leftovers()?;
    let saved_path = run.file(CONFIG_FILE);
    let saved = Experiment::new(Config::parse(&run.read_config()?, &saved_path)?, &saved_path)?;
    let mut mine = experiment.config().clone();
    mine.device = saved.config().device.clone();
    let differences = config::differences(saved.config(), &mine);
    // A different `training.epochs` alone continues the run to the new total.
    let extend = !differences.is_empty() && differences.iter().all(|d| d.key == "training.epochs");
    if !differences.is_empty() && !extend {
        return Err(TrainError::ConfigMismatch { run_dir: opts.out.clone(), config: experiment.source().to_path_buf(), differences });
    }
    let info = run.read_info()?.ok_or_else(|| RunError::NothingToResume(opts.out.clone()))?;
    let last = run.last_checkpoint()?.ok_or_else(|| RunError::NothingToResume(opts.out.clone()))?;
    if extend {
        check_extension(saved.config(), &mine, &last.state, &opts.out)?;
        return Ok(Some(Resumed { run, lock, checkpoint: last, info, extend: Some((saved.config().training.epochs, mine)) }));
    }
    if info.finished || last.state.stopped {
        return Err(RunError::Finished(opts.out.clone()).into());
    }
    Ok(Some(Resumed { run, lock, checkpoint: last, info, extend: None }))
}

/// Whether a run saved with `saved` and stopped at `state` can continue to the epochs of
/// `given` and end exactly as a run given them from the start: more epochs than it has trained,
/// no stop that more epochs would not undo, and learning rates that do not depend on the total.
fn check_extension(saved: &Config, given: &Config, state: &TrainState, run_dir: &Path) -> Result<(), TrainError> {
    let (from, to, done) = (saved.training.epochs, given.training.epochs, state.epoch);
    let t = &saved.training;
    let reason = if to <= done {
        format!("it has already trained {done} epochs; give more, e.g. --epochs {}", done + 1)
    } else if let Some(steps) = t.steps.filter(|&s| state.global_step >= s) {
        format!("it stopped at training.steps = {steps}, which ends it whatever the epochs; train a new run (--force, or another --out) with more steps")
    } else if state.stopped {
        format!("early stopping ended it at epoch {done}, and would again at once; train a new run (--force, or another --out) to train longer")
    } else if t.schedule.depends_on_epochs() {
        format!(
            "its learning-rate schedule ({}) depends on the number of epochs, so its {done} epochs followed a {from}-epoch schedule, not a {to}-epoch one; train a new run (--force, or another --out) with --epochs {to}",
            t.schedule.kind()
        )
    } else {
        return Ok(());
    };
    Err(TrainError::CannotExtend { run_dir: run_dir.to_path_buf(), from, to, reason })
}

/// Records that a resumed run now trains to the epochs of `config`: `run.json` is marked
/// unfinished before the saved config gets the new total, so a process killed between the two
/// writes leaves a run that a plain `--resume`, or this one again, continues.
fn extend_run(run: &RunDir, info: &RunInfo, config: &Config, from: usize) -> Result<(), TrainError> {
    run.write_info(&RunInfo { finished: false, ..info.clone() })?;
    run.write_config(&config.to_toml())?;
    println!("Extending {}: training.epochs {from} → {}", run.path().display(), config.training.epochs);
    Ok(())
}

/// Trains `experiment` into `opts.out`.
pub fn train(experiment: &Experiment, opts: &TrainOptions) -> Result<TrainOutcome, TrainError> {
    let started = Instant::now();
    let c = experiment.config();
    let t = &c.training;
    let seed = c.experiment.seed;
    let (backend, device) = Backend::open(c.device.as_deref())?;

    let resumed = open_run(experiment, opts)?;
    device.seed(seed);
    let mut data = prepare(experiment, &device, resumed.as_ref().map(|r| r.info.norm_stats))?;
    experiment.check_split(data.train.len())?;
    let train_device = device.clone().autodiff();
    // The model is built for the data's [channels, height, width]; layers that no longer fit
    // them are refused here, named, before anything is written.
    experiment.check_input_shape(data.shape)?;
    let mut model = c.model.init_for(data.shape, &train_device);
    // Parameters are allocated lazily: refuse a model that cannot fit before the allocator aborts.
    backend.check_memory(&model.summary(), t.batch_size, data.train.len() + data.validation.len() + data.test.len())?;
    // Only now, with config, data and model checked, is the run directory created (or replaced).
    let (run, _lock, resumed) = match resumed {
        Some(Resumed { run, lock, checkpoint, info, extend }) => {
            if let Some((from, config)) = &extend {
                extend_run(&run, &info, config, *from)?;
            }
            (run, lock, Some((checkpoint, info)))
        }
        None => {
            let run = RunDir::create(&opts.out, opts.force)?;
            let lock = run.lock()?;
            run.write_config(&experiment.config().to_toml())?;
            (run, lock, None)
        }
    };
    let mut info = RunInfo {
        norm_stats: data.stats,
        split_sizes: [data.train.len(), data.validation.len(), data.test.len()],
        validation_is_test: data.validation_is_test,
        backend: backend.name().into(),
        finished: false,
        classes: data.classes.clone(),
        input_shape: data.shape,
    };
    if resumed.is_none() {
        run.write_info(&info)?;
    }

    let mut optim = t.optimizer.init();
    let mut state = TrainState {
        epoch: 0,
        global_step: 0,
        best_epoch: None,
        best_value: None,
        stale_epochs: 0,
        stopped: false,
        history: Vec::new(),
        model: Some(c.model.clone()),
    };
    if let Some((checkpoint, _)) = &resumed {
        hooks::set_epoch(checkpoint.state.epoch);
        hooks::point("load");
        model = crate::eval::load_weights(model, checkpoint, &c.model, run.path())?;
        optim = optim.load(checkpoint.optimizer_file()).map_err(|e| TrainError::Weights {
            path: checkpoint.optimizer_file(),
            reason: e.to_string(),
        })?;
        state = TrainState { model: Some(c.model.clone()), ..checkpoint.state.clone() };
        // metrics.csv may lag its checkpoint if the process died between the two writes.
        run.write_metrics(&state.history)?;
        // The event file may hold a record cut by the kill, or times of an older writer.
        tensorboard::RunTimes::read(run.path()).fill(&mut state.history);
        let board = run.file(tensorboard::TENSORBOARD_DIR);
        tensorboard::write_scalars(&board, &metrics::scalars(&state.history)).map_err(events_error(&board))?;
    }
    let mut steps_log = t.per_step_log.then(|| StepLog::open(&run, state.global_step)).transpose()?;

    let objective = objective(c);
    let summary = model.summary();
    println!(
        "{} {}: {} ({} params) on {} ({}), {} training / {} validation{} / {} test samples → {}",
        if resumed.is_some() { "Resuming" } else { "Training" },
        c.experiment.name,
        c.model.kind(),
        mnist_models::summary::group_thousands(summary.total_params()),
        backend,
        crate::backend::describe(&device),
        data.train.len(),
        data.validation.len(),
        if data.validation_is_test { " (test set)" } else { "" },
        data.test.len(),
        run.path().display(),
    );
    println!("  {}", data.origin);
    if let Some((checkpoint, _)) = &resumed {
        println!("  from checkpoint {} (epoch {}, step {})", checkpoint.dir.display(), state.epoch, state.global_step);
    }

    let pixels: usize = data.shape.iter().product();
    let augment = c.data.augment.clone().unwrap_or(mnist_data::Augment { shift: 0, rotation: 0.0, scale: 0.0 });
    let wants_sparsity = steps_log.is_some() && c.model.task() != Task::Classifier;
    // `training.steps` can end the run before its last epoch: the bars count the epochs it runs.
    let steps_per_epoch = data.train.len().div_ceil(t.batch_size.max(1)).max(1);
    let epochs_to_run = t.steps.map_or(t.epochs, |s| t.epochs.min(s.div_ceil(steps_per_epoch)));
    let mut progress = Progress::new(opts.progress, epochs_to_run, state.epoch);
    while state.epoch < t.epochs && !state.stopped {
        let epoch = state.epoch;
        hooks::set_epoch(epoch + 1);
        // Randomness per epoch comes from (seed, epoch): a resumed run draws exactly what an
        // uninterrupted one would (dropout masks, VAE samples, shuffling, fresh noise). Seeding
        // the autodiff device seeds the backend underneath it, so one call covers both.
        train_device.seed(derive_seed(seed, "device", epoch as u64));
        data.refresh_noise(experiment, epoch);
        let epoch_lr = t.schedule.rate(t.learning_rate, epoch, t.epochs);
        // Per-step schedules run over every step of the run (cut by `training.steps`).
        let total_steps = (t.epochs * data.train.len().div_ceil(t.batch_size)).min(t.steps.unwrap_or(usize::MAX));
        let mut lr = t.schedule.step_rate(t.learning_rate, state.global_step, total_steps, epoch_lr);
        let batches = data.train.batches(t.batch_size, t.shuffle.then(|| derive_seed(seed, "shuffle", epoch as u64)));
        let remaining = t.steps.map_or(usize::MAX, |s| s.saturating_sub(state.global_step));
        let steps = batches.steps().min(remaining);
        progress.start_epoch(epoch, steps);
        let epoch_start = Instant::now();
        let first_step = state.global_step + 1;
        let mut acc = Accumulator::default();
        for (i, batch) in batches.take(steps).enumerate() {
            hooks::step(state.global_step + 1);
            if let Some(signal) = stop::requested() {
                progress.abandon();
                // Nothing of this epoch is saved: the last checkpoint and metrics.csv already
                // agree, so the run resumes from there as if this epoch had never started.
                hooks::unnumbered("shutdown");
                return Err(TrainError::Interrupted { signal, run_dir: run.path().to_path_buf(), epoch: state.epoch });
            }
            let n = batch.len();
            lr = t.schedule.step_rate(t.learning_rate, state.global_step, total_steps, epoch_lr);
            let batch = augment.apply(batch, derive_seed(seed, "augment", state.global_step as u64));
            let b;
            (model, b) = train_step(model, &mut optim, &objective, batch, lr, wants_sparsity);
            if let Some(log) = steps_log.as_mut() {
                log.push(b.terms.reconstruction.clone().unwrap_or_else(|| b.terms.total.clone()).inner(), b.sparsity);
            }
            acc.add(&b.terms, b.correct, b.squared_error, n);
            state.global_step += 1;
            if (i + 1) % t.log_every == 0 || i + 1 == steps {
                // The only host synchronization of the loop: every `log_every` steps.
                let so_far = acc.read(&data.stats, pixels);
                // The average is finite until a non-finite step enters it: name that check window.
                let window_start = state.global_step - i % t.log_every;
                check_finite(&so_far, epoch + 1, (window_start, state.global_step), run.path())?;
                let rate = acc.samples() as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
                progress.step(i + 1, format!("{} · {:.0} samples/s", describe(&so_far), rate));
                if let Some(log) = steps_log.as_mut() {
                    log.flush(state.global_step)?;
                }
            }
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let train_time = metrics::now_unix();
        let train_avg = acc.read(&data.stats, pixels);
        check_finite(&train_avg, epoch + 1, (first_step, state.global_step), run.path())?;

        let eval_start = Instant::now();
        let val_avg = evaluate(&model.valid(), &data.validation, &objective, &data.stats, EVAL_BATCH, eval_seed(seed, "validation"));
        check_finite(&val_avg, epoch + 1, (first_step, state.global_step), run.path())?;
        let eval_seconds = eval_start.elapsed().as_secs_f64();
        let eval_time = metrics::now_unix();

        state.epoch = epoch + 1;
        let new_rows = state.history.len();
        state.history.push(row(state.epoch, "train", &train_avg, lr, train_seconds, train_time));
        state.history.push(row(state.epoch, "validation", &val_avg, lr, eval_seconds, eval_time));
        let (monitored, higher_is_better) = match t.early_stopping.as_ref().map(|e| e.monitor) {
            Some(Monitor::ValAccuracy) => (val_avg.accuracy.unwrap_or(0.0), true),
            _ => (val_avg.loss, false),
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

        let (m, o) = (&model, &optim);
        run.save_checkpoint(&state, t.keep_checkpoints, |dir| {
            m.clone().save_file(dir.join("model.bpk")).map_err(|e| e.to_string())?;
            o.save(dir.join("optimizer.bpk")).map_err(|e| e.to_string())
        })?;
        run.write_metrics(&state.history)?;
        append_events(&run, &state.history[new_rows..])?;
        progress.finish_epoch();
        let line = format!(
            "epoch {:>3}/{}  train {}  |  val {}  |  lr {:.3e}  {:.1}s ({:.0} samples/s){}",
            state.epoch,
            t.epochs,
            describe(&train_avg),
            describe(&val_avg),
            lr,
            train_seconds,
            train_avg.samples as f64 / train_seconds.max(1e-9),
            if improved { "  *best" } else { "" },
        );
        progress.suspend(|| {
            println!("{line}");
            if early {
                println!("early stopping: no improvement of the monitored metric for {} epochs", state.stale_epochs);
            }
        });
    }

    progress.finish();
    let test = evaluate(&model.valid(), &data.test, &objective, &data.stats, EVAL_BATCH, eval_seed(seed, "test"));
    info.finished = true;
    run.write_info(&info)?;
    println!("test  {}", describe(&test));
    Ok(TrainOutcome {
        run_dir: run.path().to_path_buf(),
        epochs: state.epoch,
        steps: state.global_step,
        test,
        stopped_early: state.stopped && t.steps.is_none_or(|s| state.global_step < s),
        seconds: started.elapsed().as_secs_f64(),
    })
}
