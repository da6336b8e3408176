//! `bench`: training throughput of every seed model (or one) on the chosen device, one JSON line
//! per model. Each model runs in its own process so its peak memory is its own.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use mnist_backend::Backend;
use mnist_config::Experiment;
use mnist_trainer::bench::BenchOptions;

/// Measure training throughput (samples/s, ms/step, peak memory) of the seed models.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Benchmark only this model: a config name in --configs (e.g. `mlp`, `cnn`, `vae`).
    #[arg(long)]
    model: Option<String>,
    /// Backend: flex, ndarray, wgpu or vulkan (default: the best compiled).
    #[arg(long)]
    device: Option<String>,
    /// Timed steps per model.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps per model (autotuning, allocations).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Folder of configs; every `*.toml` in it but `smoke.toml` is a seed model.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Also report, on a GPU backend, the kernels of a training step by name (`kernels`).
    #[arg(long)]
    profile: bool,
}

fn main() -> ExitCode {
    // The start of the process, near enough: `first_step_s` counts from here.
    let started = Instant::now();
    let args = Args::parse();
    mnist_cli::run_main(move || {
        // The same default as `train`: a GPU build without a hardware adapter benchmarks `flex`.
        let (backend, _) = Backend::open(args.device.as_deref())?;
        if let Some(name) = &args.model {
            let path = args.configs.join(format!("{name}.toml"));
            if !path.is_file() {
                bail!("no config {} (expected one of the names of the *.toml files in {})", path.display(), args.configs.display());
            }
            let experiment = Experiment::load(&path)?;
            let result = mnist_trainer::bench::bench(name, &experiment, backend, BenchOptions { warmup: args.warmup, steps: args.steps, profile: args.profile, started })
                .with_context(|| format!("benchmarking {}", path.display()))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        let mut names: Vec<String> = std::fs::read_dir(&args.configs)
            .with_context(|| format!("reading {}", args.configs.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()).filter(|_| e.path().extension().is_some_and(|x| x == "toml")))
            .filter(|n| n != "smoke")
            .collect();
        names.sort();
        let exe = std::env::current_exe().context("locating the bench binary")?;
        let mut failed = 0;
        for name in names {
            // A child per model: its peak RSS is that model's alone.
            let status = Command::new(&exe)
                .args(["--model", &name, "--device", backend.name(), "--steps", &args.steps.to_string(), "--warmup", &args.warmup.to_string()])
                .args(args.profile.then_some("--profile"))
                .arg("--configs")
                .arg(&args.configs)
                .status()
                .with_context(|| format!("running the benchmark of {name}"))?;
            if !status.success() {
                failed += 1;
            }
        }
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
