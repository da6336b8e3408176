//! `report`: draws every figure that applies to a run into `<run>/plots/`, writes its TensorBoard
//! event file and the self-contained page `<run>/report.html`.

use std::path::{Path, PathBuf};
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
///   mistakes.png, .csv       the most confident mistakes, with true and predicted labels
///   reconstructions.png      10 test digits and their reconstructions (autoencoders)
///   denoising.png            originals, noisy inputs, denoised outputs (runs trained with noise)
///   latent_scatter.png       test codes coloured by digit (2-D, or first 2 principal components)
///   latent_tsne.png          a seeded t-SNE map of the test codes (codes wider than 2-D)
///   latent_manifold.png      30x30 digits decoded over a latent grid (2-D latents)
///   samples.png              10x10 digits decoded from random latent points
///   weights_first_layer.png  first dense layer's units as 28x28 tiles (the first --max-tiles)
///   weights_last_layer.png   last dense layer's (transposed) units as 28x28 tiles
///   pca_components.png       principal components of the training set (+ encoder weights)
///   pca_variance.png, pca.csv, pca.json   explained variance and the PCA bound (autoencoders)
/// and <RUN>/tensorboard/ (every scalar of metrics.csv and steps.csv) and <RUN>/report.html.
///
/// `report --compare RUN RUN ... [--out DIR]` compares runs instead: their per-epoch curves
/// overlaid (compare.png), final metrics and the config keys that differ (compare.html).
#[derive(Debug, Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Args {
    /// Run directory written by `train`.
    #[arg(long, value_name = "DIR", required_unless_present = "compare", conflicts_with = "compare")]
    run: Option<PathBuf>,
    /// Compare these run directories (two or more) instead of reporting on one.
    #[arg(long, value_name = "RUN", num_args = 2..)]
    compare: Vec<PathBuf>,
    /// Where --compare writes compare.png and compare.html [default: artifacts/compare].
    // Not a clap default, and `conflicts_with` rather than `requires = "compare"` (which clap
    // skips because `compare` conflicts with `run`): `--run X --out Y` must be refused.
    #[arg(long, value_name = "DIR", conflicts_with = "run")]
    out: Option<PathBuf>,
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
    /// Largest number of tiles in a weight mosaic: wider layers show their first N units, so
    /// the tiles stay readable on a slide.
    #[arg(long, value_name = "N", default_value_t = mnist_report::figures::DEFAULT_MAX_TILES as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_tiles: u64,
    /// Also write every figure as SVG beside its PNG (text and lines stay vectors; digit
    /// pixels are embedded as an image), for slides.
    #[arg(long)]
    svg: bool,
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
            max_tiles: usize::try_from(args.max_tiles).unwrap_or(usize::MAX),
            svg: args.svg,
        };
        let Some(run) = &args.run else {
            return compare(&args);
        };
        let outcome = generate_report(run, &opts)?;
        println!(
            "{}: {}",
            run.display(),
            mnist_runs::evaluate::describe(&outcome.test)
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
                run.join("tensorboard").display()
            );
        }
        if let Some(path) = &outcome.html {
            println!("  wrote {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `--compare`: the runs' final metrics and differing keys on stdout, the figure and page on disk.
fn compare(args: &Args) -> anyhow::Result<ExitCode> {
    let default_out = mnist_experiments::compare::default_out();
    let out: &Path = args.out.as_deref().unwrap_or(&default_out);
    let outcome = mnist_experiments::compare::compare_runs(&args.compare, out, args.device.as_deref())?;
    for r in &outcome.runs {
        let test = r.test.as_ref().map(|(t, from)| format!("; test ({from}): {}", mnist_runs::evaluate::describe(&t.metrics))).unwrap_or_default();
        println!("{} ({}): {} epochs{test}", r.label, r.dir.display(), r.metrics.iter().filter(|m| m.split == "validation").count());
    }
    if outcome.differing.is_empty() {
        println!("the runs' configs are the same");
    }
    for k in &outcome.differing {
        let values: Vec<&str> = k.values.iter().map(|v| v.as_deref().unwrap_or("(not set)")).collect();
        println!("  {}: {}", k.key, values.join(" | "));
    }
    println!("  wrote {}", outcome.png.display());
    println!("  wrote {}", outcome.html.display());
    Ok(ExitCode::SUCCESS)
}
