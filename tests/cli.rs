//! End-to-end tests of `train` and `eval` as a newcomer runs them: every seed config validates with
//! the Keras parameter count, the smoke config trains, `eval` reproduces the final test metric,
//! runs are never overwritten silently. Killing and resuming runs is tested in `reliability.rs`.

mod common;

use common::{root, run, snapshot, test_line_metrics};

/// Each seed config and the total Keras printed for it (the models issue's table).
const SEED_TOTALS: &[(&str, &str)] = &[
    ("softmax.toml", "7,850"),
    ("mlp.toml", "55,050"),
    ("mlp_500_300_l2_1e-4.toml", "545,810"),
    ("mlp_500_300_l2_1e-3.toml", "545,810"),
    ("mlp_500_300_l2_1e-2.toml", "545,810"),
    ("cnn.toml", "281,674"),
    ("linear_ae_2.toml", "3,922"),
    ("linear_ae_64.toml", "101,200"),
    ("single_layer_ae.toml", "50,992"),
    ("deep_denoising_ae.toml", "293,072"),
    ("denoising_ae.toml", "226,416"),
    ("hidden225_ae.toml", "353,809"),
    ("conv_ae.toml", "4,385"),
    ("conv_denoising_ae.toml", "28,353"),
    ("strided_conv_dae.toml", "178,001"),
    ("vae.toml", "807,700"),
];

#[test]
fn every_config_validates_and_seed_totals_match_keras() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with('#'), "{} must open with a comment saying how to run it", path.display());
        let rel = format!("configs/{}", path.file_name().unwrap().to_string_lossy());
        let (code, stdout, stderr) = run("train", &["--config", &rel, "--dry-run"]);
        assert_eq!(code, 0, "{rel}: {stderr}");
        let last = stdout.lines().last().unwrap_or_default();
        assert!(last.starts_with("Total params: "), "{rel}: {stdout}");
        if let Some((_, total)) = SEED_TOTALS.iter().find(|(f, _)| rel == format!("configs/{f}")) {
            assert_eq!(last, format!("Total params: {total}"), "{rel}");
        }
        seen += 1;
    }
    assert!(seen >= SEED_TOTALS.len(), "only {seen} configs found");
}

#[test]
fn smoke_trains_end_to_end_and_eval_reproduces_the_test_metric() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    let out_s = out.display().to_string();
    let (code, stdout, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out_s]);
    assert_eq!(code, 0, "{stderr}");
    for f in ["config.toml", "run.json", "metrics.csv", "checkpoints/epoch-0001/model.bpk", "checkpoints/epoch-0002/state.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(!out.join("train.lock").exists(), "the lock is released");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 2 * 2, "{metrics}");
    let (loss, acc) = test_line_metrics(&stdout);
    assert!(acc > 0.5, "a trained MLP beats chance: {acc}");

    let (code, json, stderr) = run("eval", &["--run", &out_s, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    assert!((v["accuracy"].as_f64().unwrap() - acc).abs() < 5e-5, "{json} vs {acc}");
    assert!((v["loss"].as_f64().unwrap() - loss).abs() < 5e-5, "{json} vs {loss}");
    assert_eq!(v["samples"], 500);

    let (code, text, _) = run("eval", &["--run", &out_s, "--checkpoint", "best", "--split", "validation"]);
    assert_eq!(code, 0);
    assert!(text.contains("validation split, 200 samples"), "{text}");
}

#[test]
fn eval_mean_code_decodes_a_vaes_mean_and_is_refused_for_other_models() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(
        dir.path(),
        "vae.toml",
        &format!(
            "[experiment]\nname = \"tiny_vae\"\n[data]\ndir = \"{}\"\ntrain_limit = 600\ntest_limit = 200\n\
             [model]\nkind = \"vae\"\nencoder = [{{ units = 32 }}]\nlatent_dim = 2\ndecoder = [{{ units = 32 }}]\n\
             [training]\nepochs = 1\nbatch_size = 50\nloss = \"bce\"\nlearning_rate = 0.001\noptimizer = {{ kind = \"adam\" }}\n",
            common::root().join("data/mnist").display()
        ),
    );
    let out = dir.path().join("vae").display().to_string();
    let (code, _, stderr) = run("train", &["--config", &config, "--out", &out]);
    assert_eq!(code, 0, "{stderr}");
    let eval = |extra: &[&str]| -> serde_json::Value {
        let (code, json, stderr) = run("eval", &[&["--run", out.as_str(), "--json"][..], extra].concat());
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str(json.trim()).expect("one JSON object")
    };
    let sampled = eval(&[]);
    let mean = eval(&["--mean-code"]);
    assert_eq!(mean["code"], "mean");
    assert!(sampled.get("code").is_none());
    // The KL term depends on the encoder's mean and log-variance only; the reconstruction term
    // changes with the code decoded.
    assert!((mean["kl"].as_f64().unwrap() - sampled["kl"].as_f64().unwrap()).abs() < 1e-9, "{mean} {sampled}");
    assert_ne!(mean["reconstruction"], sampled["reconstruction"]);

    let mlp = dir.path().join("smoke").display().to_string();
    let (code, _, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &mlp, "--epochs", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run("eval", &["--run", &mlp, "--mean-code"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--mean-code applies to VAEs") && stderr.contains("mlp"), "{stderr}");
}

#[test]
fn without_a_terminal_progress_is_plain_lines() {
    let dir = tempfile::tempdir().unwrap();
    // stderr is a pipe here, as in a log file or a notebook cell: no bars, no escape codes, and
    // the per-epoch lines on stdout.
    let out = dir.path().join("plain").display().to_string();
    let (code, stdout, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out]);
    assert_eq!(code, 0, "{stderr}");
    for epoch in ["epoch   1/2  train loss", "epoch   2/2  train loss"] {
        assert!(stdout.contains(epoch), "{epoch:?} missing from\n{stdout}");
    }
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\r'), "bar drawing on a pipe: {stderr:?}");
    // With --progress-every 0 a line at every step where the loss is read (every 10 steps and
    // at the end of each epoch: 1,800 samples in batches of 64 are 29 steps), whatever the speed.
    let out = dir.path().join("lines").display().to_string();
    let (code, stdout, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out, "--progress-every", "0"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("progress: ")).collect();
    let steps: Vec<&str> = lines.iter().map(|l| l.split(" (").next().unwrap()).collect();
    assert_eq!(steps, [
        "progress: epoch 1/2, step 10/29", "progress: epoch 1/2, step 20/29", "progress: epoch 1/2, step 29/29",
        "progress: epoch 2/2, step 10/29", "progress: epoch 2/2, step 20/29", "progress: epoch 2/2, step 29/29",
    ], "{stderr}");
    assert!(lines.iter().all(|l| l.contains("elapsed") && l.contains("loss ")), "{stderr}");
    assert!(lines[5].contains("run 100%"), "{}", lines[5]);
    assert!(stdout.contains("epoch   2/2"), "{stdout}");
    let (code, _, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out, "--force", "--progress-every=-1"]);
    assert!(code != 0 && stderr.contains("--progress-every -1: expected a number of seconds >= 0"), "{stderr}");
}

#[test]
fn an_existing_run_is_never_overwritten_silently() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.display().to_string();
    assert_eq!(run("train", &["--config", "configs/smoke.toml", "--out", &out_s, "--epochs", "1"]).0, 0);
    let before = snapshot(&out);
    let (code, _, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out_s]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists") && stderr.contains("--resume") && stderr.contains("--force"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(snapshot(&out), before, "nothing changed");
    // --resume of a finished run is refused too, and --force starts over.
    let (code, _, stderr) = run("train", &["--config", "configs/smoke.toml", "--out", &out_s, "--epochs", "1", "--resume"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already finished"), "{stderr}");
    assert_eq!(snapshot(&out), before);
    assert_eq!(run("train", &["--config", "configs/smoke.toml", "--out", &out_s, "--force"]).0, 0);
    assert!(out.join("checkpoints/epoch-0002").is_dir());
}
