//! `report`: draws every figure that applies to a run into `<run>/plots/`, writes its TensorBoard
//! event file and the self-contained page `<run>/report.html`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use mnist_report::{ReportOptions, generate_report};

/// Draw the figures of a trained run (PNG, no Python needed), its TensorBoard logs and an HTML report.
///
/// Writes into <RUN>/plots/ every figure that applies to the run (a note says why the others don't):
///   loss_curves.png          loss per epoch (+ accuracy; + reconstruction and KL for a VAE)
///   steps.png                per-step loss and active hidden units (runs with per_step_log)
///   confusion.png, .csv      confusion matrix on the test set (classifiers)
///   reconstructions.png      10 test digits and their reconstructions (autoencoders)
///   denoising.png            originals, noisy inputs, denoised outputs (runs trained with noise)
///   latent_scatter.png       test codes coloured by digit (2-D, or first 2 principal components)
///   latent_manifold.png      30x30 digits decoded over a latent grid (2-D latents)
///   samples.png              10x10 digits decoded from random latent points
///   weights_first_layer.png  first dense layer's units as 28x28 tiles
///   weights_last_layer.png   last dense layer's (transposed) units as 28x28 tiles
///   pca_components.png       principal components of the training set (+ encoder weights)
///   pca_variance.png, pca.csv, pca.json   explained variance and the PCA bound (autoencoders)
/// and <RUN>/tensorboard/ (every scalar of metrics.csv and steps.csv) and <RUN>/report.html.
#[derive(Debug, Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Args {
    /// Run directory written by `train`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// `best`, `last`, or the path of a checkpoint directory.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// Backend: flex, ndarray, wgpu or vulkan (default: the run's, else the best compiled).
    #[arg(long)]
    device: Option<String>,
    /// Half-width R of the VAE's latent manifold grid, which spans [-R, R]² (plain
    /// autoencoders use the range of their test codes instead).
    #[arg(long, value_name = "R", default_value_t = 4.0)]
    manifold_range: f32,
    /// Do not write report.html.
    #[arg(long)]
    no_html: bool,
    /// Do not write the TensorBoard event file.
    #[arg(long)]
    no_tensorboard: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        if !(args.manifold_range.is_finite() && args.manifold_range > 0.0) {
            bail!(
                "invalid --manifold-range {}: expected a number > 0",
                args.manifold_range
            );
        }
        let opts = ReportOptions {
            checkpoint: args.checkpoint.clone(),
            device: args.device.clone(),
            manifold_range: args.manifold_range,
            html: !args.no_html,
            tensorboard: !args.no_tensorboard,
        };
        let outcome = generate_report(&args.run, &opts)?;
        println!(
            "{}: {}",
            args.run.display(),
            mnist_trainer::train::describe(&outcome.test)
        );
        for f in &outcome.figures {
            println!("  wrote {} ({}x{})", f.path.display(), f.width, f.height);
        }
        for path in &outcome.files {
            println!("  wrote {}", path.display());
        }
        for s in &outcome.skipped {
            println!("  note: {} not drawn: {}", s.figure, s.reason);
        }
        if let Some(pca) = &outcome.pca {
            println!("{}", pca.describe());
        }
        if let Some(path) = &outcome.tensorboard {
            println!(
                "  wrote {} (view with `tensorboard --logdir {}`)",
                path.display(),
                args.run.join("tensorboard").display()
            );
        }
        if let Some(path) = &outcome.html {
            println!("  wrote {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}
