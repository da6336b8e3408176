//! What a GPU training step costs, counted rather than timed, on Mesa's software Vulkan (CI has no
//! GPU; counts of kernels and cache entries are the same there as on a real one):
//! - a second process finds every autotune result of the first in the GPU cache
//!   (`MNIST_BURN_GPU_CACHE`), so it tunes nothing and changes nothing there, read from CubeCL's
//!   own records and autotune log;
//! - the kernels one training step launches stay within a budget per model (`bench`'s
//!   `kernels_per_step`, from CubeCL's launch hook).
//!
//! Compiled kernels are cached only as SPIR-V (a build with `vulkan`): `wgpu`'s WGSL is compiled
//! by the driver in every process. Mesa 22.3's lavapipe crashes compiling CubeCL's SPIR-V reduce
//! kernels, so CI builds `wgpu` alone and `scripts/gpu-check.sh` checks the SPIR-V cache on a real
//! GPU.
#![cfg(feature = "wgpu")]

mod common;

use std::path::Path;

use mnist_backend::gpu_cache::{self, Contents};

/// A copy of a seed config that reads 2,000 training images (14 batches of 128 per epoch: the
/// counted steps never reach the last, partial batch, whose new shapes are tuned again).
fn small_seed_config(dir: &Path, name: &str) {
    let text = std::fs::read_to_string(common::root().join("configs").join(format!("{name}.toml"))).unwrap();
    let text = text.replacen("[data]\n", "[data]\ntrain_limit = 2000\ntest_limit = 500\n", 1);
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

/// Runs `bench` for `model` of `configs` on `wgpu` from `cwd` (where a `cubecl.toml` may set
/// CubeCL's logging), with `env` set (`MNIST_BURN_GPU_CACHE` names the GPU cache, else the
/// default applies); returns its JSON line.
fn bench(configs: &Path, model: &str, env: (&str, &Path), cwd: &Path, steps: usize) -> serde_json::Value {
    let (code, stdout, stderr) = common::output(
        std::process::Command::new(common::bin_path("bench"))
            .current_dir(cwd)
            .env_remove("MNIST_BURN_GPU_CACHE")
            .env(env.0, env.1)
            // The project's MNIST, from a working folder outside the project.
            .env("MNIST_BURN_DATA", common::root().join("data"))
            .env_remove("CUBECL_DEBUG_LOG")
            .args(["--model", model, "--device", "wgpu", "--warmup", "3", "--steps", &steps.to_string(), "--profile", "--configs"])
            .arg(configs),
    );
    assert_eq!(
        code, 0,
        "bench on wgpu failed; without a GPU, install Mesa's software Vulkan driver \
         (Debian: apt-get install mesa-vulkan-drivers), as .ci/run does:\n{stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("one JSON line ({e}):\n{stdout}"))
}

fn contents(cache: &Path) -> Contents {
    gpu_cache::contents(&cache.join(gpu_cache::DATABASE)).unwrap()
}

/// Lines of `file` that contain `needle` (0 when CubeCL wrote no file).
fn lines_with(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file).map(|t| t.lines().filter(|l| l.contains(needle)).count()).unwrap_or(0)
}

#[test]
fn a_second_process_tunes_nothing_and_adds_nothing_to_the_gpu_cache() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    // The default GPU cache: the platform cache folder's `mnist-burn/gpu` (XDG's on Linux).
    let xdg = dir.path().join("xdg-cache");
    let cache = xdg.join("mnist-burn").join("gpu");
    std::fs::create_dir_all(&configs).unwrap();
    small_seed_config(&configs, "mlp");
    // CubeCL's logs, through its own configuration file, one working folder per process.
    let logged = |name: &str| {
        let cwd = dir.path().join(name);
        std::fs::create_dir_all(&cwd).unwrap();
        let log = |kind: &str| cwd.join(format!("{kind}.log")).display().to_string();
        let toml = format!("[autotune.logger]\nlevel = \"minimal\"\nfile = {:?}\n", log("autotune"));
        std::fs::write(cwd.join("cubecl.toml"), toml).unwrap();
        cwd
    };

    let first = logged("first");
    bench(&configs, "mlp", ("XDG_CACHE_HOME", &xdg), &first, 2);
    let after_first = contents(&cache);
    assert_eq!(after_first.sessions, 1, "the first process is recorded: {after_first:?}");
    assert!(after_first.entries("autotune") > 0, "the first process tuned kernels and kept the results: {after_first:?}");
    assert!(lines_with(&first.join("autotune.log"), "Fastest result") > 0, "CubeCL's autotune log names what the first process tuned");
    // Ours, not CubeCL's default (`target/` of a Cargo workspace, else `cubecl` in the same cache).
    assert!(!xdg.join("cubecl").exists() && !first.join("target").exists());

    let second = logged("second");
    // Named by the environment variable this time: the same folder.
    bench(&configs, "mlp", ("MNIST_BURN_GPU_CACHE", &cache), &second, 2);
    let after_second = contents(&cache);
    // CubeCL keeps a session only when it changed the cache: a kernel compiled or a shape tuned.
    assert_eq!(after_second, after_first, "the second process added nothing to the cache");
    assert_eq!(lines_with(&second.join("autotune.log"), "Fastest result"), 0, "the second process tuned nothing");
}

/// Kernels per training step, by seed model, with `wgpu` on lavapipe and a warm cache: the counts
/// of 2026-12-07, after the one-pass cross-entropy (MLP 47.9, CNN 78.7, VAE 67.0;
/// docs/performance.md), rounded up, with a few kernels to spare for Burn's fusion drawing a
/// boundary elsewhere. A change may lower them and must not raise them.
const BUDGETS: [(&str, f64); 3] = [("mlp", 50.0), ("cnn", 82.0), ("vae", 70.0)];

#[test]
fn a_training_step_launches_no_more_kernels_than_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let mut report = String::new();
    for (model, budget) in BUDGETS {
        small_seed_config(&configs, model);
        // Counted in a second process, once the first has tuned every kernel: autotune's trial
        // launches are counted too, and fused kernels are tuned when first run, which may be
        // inside the timed steps of a cold process.
        let cache = dir.path().join("cache");
        bench(&configs, model, ("MNIST_BURN_GPU_CACHE", &cache), dir.path(), 1);
        let line = bench(&configs, model, ("MNIST_BURN_GPU_CACHE", &cache), dir.path(), 10);
        let per_step = line["kernels_per_step"].as_f64().unwrap_or_else(|| panic!("no kernels_per_step: {line}"));
        report += &format!("{model}: {per_step} kernels per step (budget {budget}); {}\n", line["kernels"]);
        assert!(per_step > 0.0, "a step on wgpu launches kernels: {line}");
    }
    for (model, budget) in BUDGETS {
        let line = report.lines().find(|l| l.starts_with(&format!("{model}:"))).unwrap();
        let per_step: f64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(per_step <= budget, "{model} launches more kernels per step than its budget:\n{report}");
    }
    eprintln!("{report}");
}
