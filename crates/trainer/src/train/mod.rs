//! The one training loop for every model: seed, data on the device, model, optimizer,
//! `for epoch { train; validate; log; checkpoint; early-stop }`, final test evaluation.
//!
//! [`train`] tells a run as a story of named steps; they live beside it: opening, resuming and
//! extending a run directory in `resume`, the steps of one epoch in `epoch`, the rest here.

mod epoch;
mod resume;

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::Device;
use mnist_data::{Augment, Batch};
use mnist_models::{Model, Objective, Task};

use mnist_backend::Backend;
use mnist_config::Experiment;
use mnist_runs::data::{Prepared, prepare};
use mnist_runs::evaluate::{Averages, BatchTerms, EVAL_BATCH, batch_terms, describe, eval_seed, evaluate, objective};
use mnist_runs::run_dir::{RunDir, RunInfo, RunLock, TrainState};
use mnist_runs::steps::StepLog;
use mnist_runs::{EvalSplit, TestResult};

use crate::TrainError;
use crate::ema::WeightAverage;
use crate::progress::{Observer, Progress, ProgressMode};
use resume::{Resumed, create_or_extend, open_or_resume, restore};

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
    /// Told each logged step and each saved epoch (the Python package's progress and callback).
    pub observer: Option<Observer>,
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

/// Trains `experiment` into `opts.out`.
pub fn train(experiment: &Experiment, opts: &TrainOptions) -> Result<TrainOutcome, TrainError> {
    let started = Instant::now();
    let (backend, device) = Backend::open(experiment.config().device.as_deref())?;
    let resumed = open_or_resume(experiment, opts)?;
    let (data, train_device, model) = prepare_data_and_model(experiment, &backend, &device, resumed.as_ref())?;
    let (mut session, mut model) = Session::start(experiment, opts, &backend, data, train_device, model, resumed)?;
    let mut progress = session.progress(opts.progress).observed(opts.observer.clone());
    session.announce(&backend, &device, &model, &progress);

    while session.wants_another_epoch() {
        let trained;
        (model, trained) = session.run_epoch(model, &mut progress)?;
        let validated = session.validate(&model, &trained)?;
        let new_rows = session.record(&trained, &validated);
        let verdict = session.track_best(&validated);
        session.save_epoch(&model, new_rows.clone())?;
        progress.finish_epoch();
        progress.epoch_saved(&session.state.history[new_rows]);
        session.print_epoch(&progress, &trained, &validated, &verdict);
    }
    progress.finish();
    session.finish(&model, started, &progress)
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

/// Seeds the device, puts the data on it (a resumed run with the normalization it was trained
/// with) and builds the model for the data's `[channels, height, width]`, checking the splits,
/// the shape and the memory the model needs: nothing is written before all of them pass.
/// Returns the data, the device training runs on (with autodiff) and the model.
fn prepare_data_and_model(
    experiment: &Experiment,
    backend: &Backend,
    device: &Device,
    resumed: Option<&Resumed>,
) -> Result<(Prepared, Device, Model), TrainError> {
    let c = experiment.config();
    let t = &c.training;
    device.seed(c.experiment.seed);
    let data = prepare(experiment, device, resumed.map(Resumed::norm_stats))?;
    experiment.check_split(data.train.len())?;
    let train_device = device.clone().autodiff();
    // The model is built for the data's [channels, height, width]; layers that no longer fit
    // them are refused here, named, before anything is written.
    experiment.check_input_shape(data.shape)?;
    let model = c.model.init_for(data.shape, &train_device);
    // Parameters are allocated lazily: refuse a model that cannot fit before the allocator aborts.
    backend.check_memory(&model.summary(), t.batch_size, EVAL_BATCH, data.train.len() + data.validation.len() + data.test.len())?;
    Ok((data, train_device, model))
}

/// A run being trained: its directory (locked until the session ends), data, optimizer and
/// training state. The model is not held here: each epoch takes it and gives the trained one back.
struct Session<'a> {
    experiment: &'a Experiment,
    run: RunDir,
    /// What `run.json` says; `finished` once the test result is written.
    info: RunInfo,
    data: Prepared,
    /// The device the training steps run on (with autodiff), seeded every epoch.
    train_device: Device,
    optim: ModuleOptimizer,
    state: TrainState,
    objective: Objective,
    /// `steps.csv`, with `training.per_step_log`.
    steps_log: Option<StepLog>,
    /// `data.augment`, or the augmentation that changes nothing.
    augment: Augment,
    /// `training.ema`: the average of the weights, which validation, checkpoints and the test use.
    average: Option<WeightAverage>,
    /// Whether the step log records the latent units' sparsity (autoencoders).
    wants_sparsity: bool,
    /// The checkpoint directory a resumed run continues from.
    resumed_from: Option<PathBuf>,
    /// Dropped last of all fields, as the session ends.
    _lock: RunLock,
}

impl<'a> Session<'a> {
    /// With config, data and model checked: creates the run directory (or, resuming, extends
    /// it), records the run's facts, builds the optimizer and the training state (those of the
    /// checkpoint when resuming, its weights loaded into `model`) and opens the step log.
    fn start(
        experiment: &'a Experiment,
        opts: &TrainOptions,
        backend: &Backend,
        data: Prepared,
        train_device: Device,
        model: Model,
        resumed: Option<Resumed>,
    ) -> Result<(Session<'a>, Model), TrainError> {
        let c = experiment.config();
        // Only now, with config, data and model checked, is the run directory created (or replaced).
        let (run, lock, checkpoint) = create_or_extend(experiment, opts, resumed)?;
        let info = RunInfo {
            norm_stats: data.stats,
            split_sizes: [data.train.len(), data.validation.len(), data.test.len()],
            validation_is_test: data.validation_is_test,
            backend: backend.name().into(),
            finished: false,
            classes: data.classes.clone(),
            input_shape: data.shape,
        };
        if checkpoint.is_none() {
            run.write_info(&info)?;
        }
        let optim = crate::optimizer::build(&c.training.optimizer);
        let (model, optim, state, average) = match &checkpoint {
            Some(checkpoint) => restore(model, optim, checkpoint, &run, c)?,
            None => {
                let average = c.training.ema.map(WeightAverage::new);
                (model, optim, fresh_state(experiment), average)
            }
        };
        let steps_log = c.training.per_step_log.then(|| StepLog::open(&run, state.global_step)).transpose()?;
        let wants_sparsity = steps_log.is_some() && c.model.task() != Task::Classifier;
        let session = Session {
            experiment,
            run,
            info,
            data,
            train_device,
            optim,
            state,
            objective: objective(c),
            steps_log,
            augment: c.data.augment.clone().unwrap_or(Augment::none()),
            average,
            wants_sparsity,
            resumed_from: checkpoint.map(|checkpoint| checkpoint.dir),
            _lock: lock,
        };
        Ok((session, model))
    }

    /// The header: what trains (or resumes), on what, with which data, into which directory.
    fn announce(&self, backend: &Backend, device: &Device, model: &Model, progress: &Progress) {
        let c = self.experiment.config();
        let data = &self.data;
        let summary = model.summary();
        progress.say(&format!(
            "{} {}: {} ({} params) on {} ({}), {} training / {} validation{} / {} test samples → {}",
            if self.resumed_from.is_some() { "Resuming" } else { "Training" },
            c.experiment.name,
            c.model.kind(),
            mnist_models::summary::group_thousands(summary.total_params()),
            backend,
            mnist_backend::describe(device),
            data.train.len(),
            data.validation.len(),
            if data.validation_is_test { " (test set)" } else { "" },
            data.test.len(),
            self.run.path().display(),
        ));
        progress.say(&format!("  {}", data.origin));
        if let Some(dir) = &self.resumed_from {
            progress.say(&format!("  from checkpoint {} (epoch {}, step {})", dir.display(), self.state.epoch, self.state.global_step));
        }
    }

    /// The progress display, from the epoch the run is at.
    fn progress(&self, mode: ProgressMode) -> Progress {
        let t = &self.experiment.config().training;
        // `training.steps` can end the run before its last epoch: the bars count the epochs it runs.
        let steps_per_epoch = self.data.train.len().div_ceil(t.batch_size.max(1)).max(1);
        let epochs_to_run = t.steps.map_or(t.epochs, |s| t.epochs.min(s.div_ceil(steps_per_epoch)));
        Progress::new(mode, epochs_to_run, self.state.epoch)
    }

    /// Whether an epoch is left: not all trained, and no stop (early stopping, the step limit).
    fn wants_another_epoch(&self) -> bool {
        self.state.epoch < self.experiment.config().training.epochs && !self.state.stopped
    }

    /// The model that validation, the checkpoints' `model.bpk` and the test use, without
    /// autodiff: the average of the weights with `training.ema`, else the weights.
    fn evaluated(&self, model: &Model) -> Model {
        match &self.average {
            Some(average) => average.apply(model),
            None => model.valid(),
        }
    }

    /// The end of the run: the final model on the test split, `test.json`, then `run.json`
    /// marked finished.
    fn finish(&mut self, model: &Model, started: Instant, progress: &Progress) -> Result<TrainOutcome, TrainError> {
        let c = self.experiment.config();
        let t = &c.training;
        let test = evaluate(&self.evaluated(model), &self.data.test, &self.objective, &self.data.stats, EVAL_BATCH, eval_seed(c.experiment.seed, "test"));
        // test.json before run.json says finished: a finished run always has its test result. The
        // model is the one of the last epoch's checkpoint (every epoch is saved).
        let result = TestResult {
            metrics: test.clone(),
            run: self.run.path().display().to_string(),
            checkpoint: self.run.checkpoint_dir(self.state.epoch).display().to_string(),
            epoch: self.state.epoch,
            split: EvalSplit::Test,
            model: c.model.kind().to_string(),
            code: None,
        };
        result.write(self.run.path())?;
        self.info.finished = true;
        self.run.write_info(&self.info)?;
        progress.say(&format!("test  {}", describe(&test)));
        Ok(TrainOutcome {
            run_dir: self.run.path().to_path_buf(),
            epochs: self.state.epoch,
            steps: self.state.global_step,
            test,
            stopped_early: self.state.stopped && t.steps.is_none_or(|s| self.state.global_step < s),
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// The training state of a run before its first epoch.
fn fresh_state(experiment: &Experiment) -> TrainState {
    TrainState {
        epoch: 0,
        global_step: 0,
        best_epoch: None,
        best_value: None,
        stale_epochs: 0,
        stopped: false,
        history: Vec::new(),
        model: Some(experiment.config().model.clone()),
    }
}
