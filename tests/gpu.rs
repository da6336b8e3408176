//! The GPU code path, compiled only with the `wgpu` feature: the smoke config trains on `wgpu`,
//! `eval` on `wgpu` reproduces its test metric, and the checkpoint evaluates the same on the CPU;
//! the MLP trains on the full MNIST training set, which is larger than one buffer may be.
//! CI runs it on Mesa's software Vulkan driver (`mesa-vulkan-drivers`), so it needs no GPU.
#![cfg(feature = "wgpu")]

mod common;

use common::{run, test_line_metrics};

/// `eval --json`'s loss and accuracy.
fn eval_metrics(run_dir: &str, device: &str) -> (f64, f64) {
    let (code, json, stderr) = run("eval", &["--run", run_dir, "--device", device, "--json"]);
    assert_eq!(code, 0, "eval --device {device}: {stderr}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    (v["loss"].as_f64().unwrap(), v["accuracy"].as_f64().unwrap())
}

#[test]
fn smoke_trains_on_wgpu_and_its_checkpoint_evaluates_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke-wgpu").display().to_string();
    let (code, stdout, stderr) = run("train", &["--config", "configs/smoke.toml", "--device", "wgpu", "--out", &out]);
    assert_eq!(
        code, 0,
        "training on wgpu failed; without a GPU, install Mesa's software Vulkan driver \
         (Debian: apt-get install mesa-vulkan-drivers), as .ci/run does:\n{stderr}"
    );
    assert!(stdout.contains(" on wgpu ("), "the header names the backend and adapter:\n{stdout}");
    let (loss, acc) = test_line_metrics(&stdout);
    assert!(acc > 0.5, "a trained MLP beats chance on wgpu: {acc}");

    // The GPU reproduces its own figure; the CPU agrees up to float reduction order.
    let (gpu_loss, gpu_acc) = eval_metrics(&out, "wgpu");
    assert!((gpu_loss - loss).abs() < 5e-5 && (gpu_acc - acc).abs() < 5e-5, "{gpu_loss} {gpu_acc} vs {loss} {acc}");
    let (cpu_loss, cpu_acc) = eval_metrics(&out, "flex");
    assert!((cpu_loss - loss).abs() < 1e-3, "flex loss {cpu_loss} vs wgpu {loss}");
    assert!((cpu_acc - acc).abs() <= 2.0 / 500.0, "flex accuracy {cpu_acc} vs wgpu {acc}");
}

#[test]
fn the_mlp_trains_on_full_mnist_on_wgpu_within_the_adapters_buffer_limit() {
    // 60,000 float images are 179 MiB, above the 128 MiB one storage buffer may hold under wgpu's
    // default limits (and more than Mesa's software Vulkan allocates at once): the split is held
    // in chunks on the GPU. 300 steps of the seed MLP, then the whole test set.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp-full").display().to_string();
    let args = ["--config", "configs/mlp.toml", "--set", "training.steps=300", "--out", &out];
    let (code, stdout, stderr) = run("train", &[&args[..], &["--device", "wgpu"]].concat());
    assert_eq!(code, 0, "full MNIST on wgpu:\n{stdout}\n{stderr}");
    assert!(stdout.contains("60000 training / 10000 validation (test set) / 10000 test samples"), "{stdout}");
    let (loss, acc) = test_line_metrics(&stdout);
    // The same 300 steps on the CPU land on nearly the same model (float sums differ in order).
    let cpu_out = dir.path().join("mlp-full-cpu").display().to_string();
    let cpu_args = ["--config", "configs/mlp.toml", "--set", "training.steps=300", "--out", &cpu_out, "--device", "flex"];
    let (code, cpu_stdout, stderr) = run("train", &cpu_args);
    assert_eq!(code, 0, "{stderr}");
    let (cpu_loss, cpu_acc) = test_line_metrics(&cpu_stdout);
    assert!(acc > 0.88, "300 steps of SGD reach about 0.9 test accuracy: {acc}");
    assert!((acc - cpu_acc).abs() < 0.01 && (loss - cpu_loss).abs() < 0.02, "wgpu {acc} {loss} vs flex {cpu_acc} {cpu_loss}");
}

#[test]
fn with_no_device_named_a_gpu_build_uses_a_hardware_adapter_and_never_a_software_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke-default").display().to_string();
    let (code, stdout, stderr) =
        common::output(common::bin("train").env_remove("MNIST_BURN_DEVICE").args(["--config", "configs/smoke.toml", "--epochs", "1", "--out", &out]));
    assert_eq!(code, 0, "{stderr}");
    let header = stdout.lines().next().unwrap_or_default();
    // CI has only Mesa's llvmpipe: the run moves to flex and says why. On a machine with a GPU it
    // stays on wgpu, on an adapter that is not llvmpipe.
    if stderr.contains("software rasterizer") {
        assert!(header.contains(" on flex "), "{header}\n{stderr}");
        assert!(stderr.contains("--device wgpu"), "the note says how to use the adapter anyway: {stderr}");
    } else {
        assert!(header.contains(" on wgpu (") && !header.contains("llvmpipe"), "{header}\n{stderr}");
    }
}
