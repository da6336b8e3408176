//! `export`: writes a run's trained weights as safetensors, laid out for PyTorch, with the
//! resolved config and tensor list as JSON beside it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mnist_inference::export_run;

/// Export a trained run's weights as a safetensors file a PyTorch user can load.
///
/// Dense kernels are stored as PyTorch's nn.Linear stores them, [out_features, in_features];
/// convolution kernels as nn.Conv2d / nn.ConvTranspose2d do. The resolved config, normalization
/// and tensor list are written beside it as FILE.json (FILE with the extension .json).
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Run directory written by `train`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// The safetensors file to write (overwritten if it exists).
    #[arg(long, value_name = "FILE.safetensors")]
    out: PathBuf,
    /// `best`, `last`, or the path of a checkpoint directory.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// Backend: flex, ndarray, wgpu or vulkan (default: the run's, else the best compiled).
    #[arg(long)]
    device: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        let outcome = export_run(
            &args.run,
            &args.checkpoint,
            &args.out,
            args.device.as_deref(),
        )?;
        println!(
            "wrote {} ({} tensors) and {}",
            outcome.path.display(),
            outcome.tensors.len(),
            outcome.json.display()
        );
        for t in &outcome.tensors {
            println!("  {:<40} {:?} {}", t.name, t.shape, t.dtype);
        }
        Ok(ExitCode::SUCCESS)
    })
}
