//! `train`: trains one experiment from a TOML config into a run directory.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mnist_trainer::progress::ProgressMode;
use mnist_config::{Experiment, Override};
use mnist_trainer::{TrainOptions, train};

/// Train a model of the MNIST family from a TOML config (see configs/).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Experiment config, e.g. configs/mlp.toml.
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
    /// Backend: flex (CPU), ndarray, wgpu or vulkan; defaults to the config's, else the best compiled.
    #[arg(long)]
    device: Option<String>,
    /// Set a key of the config by its dotted path, typed and checked as in the file; repeatable.
    /// VALUE is a TOML value (0.01, [128,64], "adam", { kind = "sgd", momentum = 0.9 }); a bare
    /// word (adam, data/fashion) is taken as a string. E.g. --set training.learning_rate=0.01
    /// --set model.hidden=[128,64]. The run's config.toml holds the result.
    #[arg(long = "set", value_name = "KEY=VALUE", action = clap::ArgAction::Append)]
    set: Vec<String>,
    /// Override the number of epochs (--set training.epochs=N). With --resume, more epochs than
    /// the run was given extend it, unless its learning-rate schedule depends on the total.
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Override the seed (--set experiment.seed=N).
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Run directory (default: artifacts/<experiment name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in the run directory from its last checkpoint.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Delete an existing run in the run directory and start over.
    #[arg(long)]
    force: bool,
    /// Validate the config, print the model summary and exit without training.
    #[arg(long)]
    dry_run: bool,
    /// No progress display: only the per-epoch lines.
    #[arg(long, conflicts_with = "progress_every")]
    no_progress: bool,
    /// Progress as a plain line on stderr at most every SECONDS (0: at every logged step),
    /// instead of bars. When stderr is not a terminal (a log file, a notebook) lines are the
    /// default, every 10 seconds.
    #[arg(long, value_name = "SECONDS")]
    progress_every: Option<f64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        // Flags are checked as flags, before the config (whose errors name the file).
        if let Some(device) = &args.device {
            device.parse::<mnist_backend::Backend>().context("--device")?;
        }
        if let Some(s) = args.progress_every
            && !(s.is_finite() && s >= 0.0)
        {
            anyhow::bail!("--progress-every {s}: expected a number of seconds >= 0, e.g. --progress-every 30");
        }
        if args.epochs == Some(0) {
            anyhow::bail!("--epochs 0: expected at least 1");
        }
        let mut overrides = args.set.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
        if let Some(n) = args.epochs {
            overrides.push(Override::integer("--epochs", "training.epochs", n as u64)?);
        }
        if let Some(n) = args.seed {
            overrides.push(Override::integer("--seed", "experiment.seed", n)?);
        }
        let experiment = Experiment::load_with(&args.config, &overrides)?.with_device(args.device.clone())?;
        let c = experiment.config();
        if args.dry_run {
            let model = c.model.init_for(experiment.input_shape(), &burn::prelude::Device::flex());
            println!("{}: {} ({})", c.experiment.name, c.model.kind(), args.config.display());
            println!("{}", model.summary());
            mnist_backend::Backend::resolve(c.device.as_deref())?;
            return Ok(ExitCode::SUCCESS);
        }
        let out = args.out.clone().unwrap_or_else(|| PathBuf::from(mnist_runs::run_dir::RUNS_DIR).join(&c.experiment.name));
        if out.as_os_str().is_empty() {
            anyhow::bail!("--out is empty; expected the path of a run directory");
        }
        let opts = TrainOptions {
            out: out.clone(),
            resume: args.resume,
            force: args.force,
            progress: ProgressMode::choose(args.no_progress, args.progress_every, std::io::stderr().is_terminal()),
            observer: None,
        };
        mnist_cli::stop_on_signals();
        let outcome = train(&experiment, &opts).with_context(|| format!("training {}", args.config.display()))?;
        println!(
            "done: {} epochs, {} steps in {:.1}s; run directory {} (evaluate with `eval --run {}`)",
            outcome.epochs,
            outcome.steps,
            outcome.seconds,
            outcome.run_dir.display(),
            outcome.run_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
