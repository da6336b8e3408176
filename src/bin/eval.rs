//! `eval`: evaluates a saved run's checkpoint on the test or validation split.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, ValueEnum};
use mnist_runs::evaluate::Code;
use mnist_runs::{EvalSplit, load_run};

/// Evaluate a trained run, rebuilding its model from the run's saved config alone.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Run directory written by `train`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// `best`, `last`, or the path of a checkpoint directory.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// Split to evaluate.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,
    /// Backend: flex, ndarray, wgpu or vulkan (default: the run's, else the best compiled).
    #[arg(long)]
    device: Option<String>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// VAEs: decode the mean of the code instead of a sample (deterministic; the path of the
    /// report's reconstructions and of `decoder(mean)` in PyTorch). By default the code is
    /// sampled, as in training and in Keras' evaluation.
    #[arg(long)]
    mean_code: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SplitArg {
    Test,
    Validation,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        let loaded = load_run(&args.run, &args.checkpoint, args.device.as_deref())?;
        let split = match args.split {
            SplitArg::Test => EvalSplit::Test,
            SplitArg::Validation => EvalSplit::Validation,
        };
        if args.mean_code && !loaded.model.samples_code() {
            bail!(
                "--mean-code applies to VAEs (kind \"vae\" or \"conv_vae\"), which sample their code; {} is a {}, whose code is not sampled",
                args.run.display(),
                loaded.experiment.config().model.kind()
            );
        }
        let data = loaded.data()?;
        let code = if args.mean_code { Code::Mean } else { Code::Sampled };
        let metrics = loaded.evaluate_code(&data, split, code);
        if args.json {
            let mut value = serde_json::to_value(&metrics)?;
            let obj = value.as_object_mut().expect("metrics serialize to an object");
            obj.insert("run".into(), args.run.display().to_string().into());
            obj.insert("checkpoint".into(), loaded.checkpoint.dir.display().to_string().into());
            obj.insert("epoch".into(), loaded.checkpoint.state.epoch.into());
            obj.insert("split".into(), serde_json::to_value(split)?);
            obj.insert("model".into(), loaded.experiment.config().model.kind().into());
            if args.mean_code {
                obj.insert("code".into(), "mean".into());
            }
            println!("{}", serde_json::to_string(&value)?);
        } else {
            println!(
                "{} ({}), checkpoint {} (epoch {}), {} split, {} samples:",
                loaded.experiment.config().experiment.name,
                loaded.experiment.config().model.kind(),
                loaded.checkpoint.dir.display(),
                loaded.checkpoint.state.epoch,
                match split {
                    EvalSplit::Test => "test",
                    EvalSplit::Validation => "validation",
                },
                metrics.samples
            );
            if args.mean_code {
                println!("  (through the mean of the code, not a sample)");
            }
            println!("  {}", mnist_runs::evaluate::describe(&metrics));
            if let Some(mse) = metrics.mse {
                println!("  mse {mse:.6}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
