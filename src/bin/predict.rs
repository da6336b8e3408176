//! `predict`: applies a trained run to image files (classifiers: top-k probabilities;
//! autoencoders: code and reconstruction; VAEs: mean and log-variance).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use mnist_inference::predict::{PredictOptions, describe, predict};
use mnist_runs::load_run;

/// Apply a trained run to PNG, JPEG or BMP images, converted exactly like the run's data.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Run directory written by `train`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Image files and folders (folders are read recursively).
    #[arg(value_name = "FILE_OR_FOLDER", required = true)]
    inputs: Vec<PathBuf>,
    /// `best`, `last`, or the path of a checkpoint directory.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// Dark strokes on a light background (a digit drawn on paper): invert the grey levels. For a
    /// run trained on MNIST-like digits a light background is detected anyway; this forces it.
    #[arg(long)]
    invert: bool,
    /// No digit preparation: resize the whole picture to the model's input, as the run's data was
    /// (by default a picture for a run trained on MNIST-like digits is inverted when its paper is
    /// light, cleared of the paper's grey, stretched to full contrast, cropped to the ink, fitted
    /// into 20 x 20 and centred by mass in 28 x 28, as MNIST was made and as the playground does).
    #[arg(long)]
    raw: bool,
    /// Classes reported per image (classifiers).
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Folder for what the model saw (`<stem>.input.png`, written when --out is given) and for an
    /// autoencoder's reconstructions (default: predictions).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Backend: flex, ndarray, wgpu or vulkan (default: the run's, else the best compiled).
    #[arg(long)]
    device: Option<String>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        let run = load_run(&args.run, &args.checkpoint, args.device.as_deref())?;
        let started = Instant::now();
        let out = args.out.clone().unwrap_or_else(|| PathBuf::from("predictions"));
        // The model's inputs are saved only into an --out the user wrote; the default folder is
        // never created for a classifier.
        let opts = PredictOptions { inputs: args.inputs.clone(), out, invert: args.invert, raw: args.raw, save_inputs: args.out.is_some(), top_k: args.top };
        let predictions = predict(&run, &opts)?;
        let seconds = started.elapsed().as_secs_f64();
        if args.json {
            let value = serde_json::json!({
                "run": args.run.display().to_string(),
                "model": run.experiment.config().model.kind(),
                "checkpoint": run.checkpoint.dir.display().to_string(),
                "predictions": predictions,
            });
            println!("{}", serde_json::to_string(&value)?);
        } else {
            for p in &predictions {
                println!("{}", describe(p));
            }
            eprintln!("{} images in {seconds:.2} s ({:.0} images/s)", predictions.len(), predictions.len() as f64 / seconds.max(1e-9));
        }
        Ok(ExitCode::SUCCESS)
    })
}
