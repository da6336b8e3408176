//! `noise-sweep`: the noise sweep of a denoising autoencoder feeding a classifier: accuracy on noisy and
//! denoised test images and their PSNR, per noise level, as a CSV, a table and a plot.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use mnist_inference::noise_sweep::DEFAULT_LEVELS;
use mnist_inference::{NoiseSweepKind, NoiseSweepOptions, run_noise_sweep};

/// Sweep noise levels through a denoiser and a classifier.
///
/// For each level the test images are corrupted (as [0, 1] grey levels), and the classifier's
/// accuracy is measured on the noisy images and on the denoiser's outputs; the PSNR of both
/// against the clean images is reported too. The two runs may normalize differently: images pass
/// between them as grey levels. Writes noise_sweep.csv and noise_sweep.png (default: into the
/// denoiser's plots/ directory) and prints a table.
#[derive(Debug, Parser)]
#[command(name = "noise-sweep", version, about, long_about)]
struct Args {
    /// Run directory of the denoising autoencoder.
    #[arg(long, value_name = "DIR")]
    denoiser: PathBuf,
    /// Run directory of the classifier.
    #[arg(long, value_name = "DIR")]
    classifier: PathBuf,
    /// Noise levels, comma-separated: the fraction of pixels replaced (salt-and-pepper) or the
    /// standard deviation in grey levels, 1 = black to white (gaussian) [default: 0,0.2,0.4,0.6,0.8,1]
    #[arg(long, value_delimiter = ',', value_name = "LEVELS")]
    levels: Vec<f32>,
    /// The corruption.
    #[arg(long, value_enum, default_value_t = NoiseArg::SaltAndPepper)]
    noise: NoiseArg,
    /// Checkpoint of both runs: `best`, `last`, or the path of a checkpoint directory.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// Backend: flex, ndarray, wgpu or vulkan (default: each run's, else the best compiled).
    #[arg(long)]
    device: Option<String>,
    /// Use only the first N test images (default: the denoiser's test_limit, else all 10,000).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Directory for noise_sweep.csv and noise_sweep.png (default: <DENOISER>/plots).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed of the noise.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NoiseArg {
    /// Each pixel turns black or white with probability LEVEL.
    SaltAndPepper,
    /// Gaussian noise of standard deviation LEVEL grey levels, clipped to [0, 1].
    Gaussian,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        let opts = NoiseSweepOptions {
            denoiser: args.denoiser.clone(),
            classifier: args.classifier.clone(),
            levels: if args.levels.is_empty() {
                DEFAULT_LEVELS.to_vec()
            } else {
                args.levels.clone()
            },
            noise: match args.noise {
                NoiseArg::SaltAndPepper => NoiseSweepKind::SaltAndPepper,
                NoiseArg::Gaussian => NoiseSweepKind::Gaussian,
            },
            checkpoint: args.checkpoint.clone(),
            device: args.device.clone(),
            limit: args.limit,
            out: args.out.clone(),
            seed: args.seed,
        };
        let outcome = run_noise_sweep(&opts)?;
        print!("{}", outcome.table());
        println!(
            "wrote {} and {}",
            outcome.csv.display(),
            outcome.png.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
