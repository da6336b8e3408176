//! Opening the run directory: a new run is checked first and created only once data and model
//! are checked too; `--resume` locks the run, checks the config against the saved one (a new
//! `training.epochs` alone extends the run) and continues from its last checkpoint exactly.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use mnist_data::NormStats;
use mnist_models::Model;

use mnist_config::{Config, Experiment};
use mnist_runs::metrics;
use mnist_runs::run_dir::{CONFIG_FILE, Checkpoint, RunDir, RunError, RunInfo, RunLock, TrainState};
use mnist_runs::{hooks, tensorboard};

use super::TrainOptions;
use super::epoch::events_error;
use crate::TrainError;
use crate::ema::WeightAverage;

/// The run `--resume` continues: its directory (locked) and the checkpoint and facts to start from.
pub(super) struct Resumed {
    run: RunDir,
    lock: RunLock,
    checkpoint: Checkpoint,
    info: RunInfo,
    /// When `--resume` changes the run's epochs: the saved config's, and the config to save.
    extend: Option<(usize, Config)>,
}

impl Resumed {
    /// The normalization the run was trained with (the data is normalized the same way again).
    pub(super) fn norm_stats(&self) -> NormStats {
        self.info.norm_stats
    }
}

/// For `--resume`, opens and locks the run directory and returns what to continue from; for a new
/// run, only checks that the directory may be created: nothing is written (or, with `--force`,
/// deleted) until the data and the model have been checked too.
pub(super) fn open_or_resume(experiment: &Experiment, opts: &TrainOptions) -> Result<Option<Resumed>, TrainError> {
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
    let differences = mnist_config::differences(saved.config(), &mine);
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

/// Creates the directory of a new run (replacing an old one with `--force`) and saves its
/// config; a resumed run's directory is already there, and an extended one records its new
/// total. Returns the run, locked, and the checkpoint a resumed run continues from.
pub(super) fn create_or_extend(
    experiment: &Experiment,
    opts: &TrainOptions,
    resumed: Option<Resumed>,
) -> Result<(RunDir, RunLock, Option<Checkpoint>), TrainError> {
    match resumed {
        Some(Resumed { run, lock, checkpoint, info, extend }) => {
            if let Some((from, config)) = &extend {
                extend_run(&run, &info, config, *from)?;
            }
            Ok((run, lock, Some(checkpoint)))
        }
        None => {
            let run = RunDir::create(&opts.out, opts.force)?;
            let lock = run.lock()?;
            run.write_config(&experiment.config().to_toml())?;
            Ok((run, lock, None))
        }
    }
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

/// Continues from `checkpoint`: its weights into `model`, its optimizer state into `optim`, its
/// training state and, with `training.ema`, the average of the weights (`model.bpk`, the trained
/// weights then in `training.bpk`); `metrics.csv` and the event file are rewritten from the
/// checkpoint's history.
pub(super) fn restore(
    model: Model,
    optim: ModuleOptimizer,
    checkpoint: &Checkpoint,
    run: &RunDir,
    config: &Config,
) -> Result<(Model, ModuleOptimizer, TrainState, Option<WeightAverage>), TrainError> {
    hooks::set_epoch(checkpoint.state.epoch);
    hooks::point("load");
    let saved = mnist_runs::load::load_weights(model.clone(), checkpoint, &config.model, run.path())?;
    let (model, average) = match config.training.ema {
        Some(decay) => {
            // The average is read before the trained weights load: a clone shares batch
            // normalization's running statistics with the model it came from, so loading into
            // the model would change the clone's.
            let average = WeightAverage::start(&saved, decay);
            let path = checkpoint.training_weights_file();
            let trained = model.try_load_file(&path).map_err(|e| TrainError::Weights { path, reason: e.to_string() })?;
            (trained, Some(average))
        }
        None => (saved, None),
    };
    let optim = optim.load(checkpoint.optimizer_file()).map_err(|e| TrainError::Weights {
        path: checkpoint.optimizer_file(),
        reason: e.to_string(),
    })?;
    let mut state = TrainState { model: Some(config.model.clone()), ..checkpoint.state.clone() };
    // metrics.csv may lag its checkpoint if the process died between the two writes.
    run.write_metrics(&state.history)?;
    // The event file may hold a record cut by the kill, or times of an older writer.
    tensorboard::RunTimes::read(run.path()).fill(&mut state.history);
    let board = run.file(tensorboard::TENSORBOARD_DIR);
    tensorboard::write_scalars(&board, &metrics::scalars(&state.history)).map_err(events_error(&board))?;
    Ok((model, optim, state, average))
}
