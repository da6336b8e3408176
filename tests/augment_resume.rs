//! A run with the new training options together (on-device augmentation drawn per step, a
//! per-step one-cycle schedule, label smoothing, AdamW, batch normalization with its running
//! statistics) stopped mid-epoch by SIGTERM and resumed ends with exactly the metrics of the
//! uninterrupted run; and the augmentation does change the training. The same with elastic
//! distortion and an average of the weights (`training.ema`), which validation sees and the
//! training does not.
//!
//! The model is an MLP, which keeps the test fast; convolutions are as reproducible (their
//! gradients are summed in a fixed order on any thread count, tested in `mnist-flex-kernels`).

mod common;

use std::path::Path;

use common::{bin, metrics_without_seconds, output, spawn_paused, write_config};

const CONFIG: &str = r#"[experiment]
name = "augmented"
seed = 5

[data]
set = "mnist"
normalization = "standardize"
validation_fraction = 0.1
train_limit = 1000
test_limit = 200
augment = { shift = 2, rotation = 10, scale = 0.1 }

[model]
kind = "mlp"
hidden = [32, 16]
dropout = 0.1
batch_norm = true

[training]
epochs = 3
batch_size = 50
loss = "cross_entropy"
label_smoothing = 0.1
learning_rate = 0.01
schedule = { kind = "one_cycle", pct_start = 0.3 }
optimizer = { kind = "adamw", weight_decay = 0.01 }
log_every = 1
"#;

/// 900 training samples in batches of 50.
const STEPS_PER_EPOCH: usize = 18;

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn train(config: &str, out: &Path, extra: &[&str]) -> String {
    let (code, stdout, stderr) = output(bin("train").args(["--config", config, "--out", &s(out), "--no-progress"]).args(extra));
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Stops a run of `config` by SIGTERM in the middle of epoch 2, resumes it from the checkpoint of
/// epoch 1, and checks that it ends with the `reference` metrics.
fn assert_resumes_exactly(config: &str, out: &Path, reference: &[String]) {
    let point = format!("step@{}", STEPS_PER_EPOCH + STEPS_PER_EPOCH / 2);
    let mut paused = spawn_paused(Path::new(config), out, &["--no-progress"], &[&point]);
    paused.wait_for(&point);
    paused.signal("TERM");
    let (status, stderr) = paused.finish();
    assert_eq!(status, Some(143), "{stderr}");
    let stdout = train(config, out, &["--resume"]);
    assert!(stdout.contains("Resuming"), "{stdout}");
    assert_eq!(metrics_without_seconds(out), reference, "the resumed run differs from the uninterrupted one");
}

#[test]
fn an_augmented_one_cycle_run_resumes_exactly_and_augmentation_matters() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "augmented.toml", CONFIG);
    let whole = dir.path().join("whole");
    let stdout = train(&config, &whole, &[]);
    assert!(stdout.contains(&format!("done: 3 epochs, {} steps", 3 * STEPS_PER_EPOCH)), "{stdout}");
    let reference = metrics_without_seconds(&whole);
    assert_eq!(reference.len(), 1 + 2 * 3);

    assert_resumes_exactly(&config, &dir.path().join("interrupted"), &reference);

    // Without the augmentation the training metrics differ (so the check above covers it).
    let plain = write_config(dir.path(), "plain.toml", &CONFIG.replace("augment = { shift = 2, rotation = 10, scale = 0.1 }\n", ""));
    let out = dir.path().join("plain");
    train(&plain, &out, &[]);
    let without = metrics_without_seconds(&out);
    assert_ne!(without[1], reference[1], "augmentation changed nothing in the first epoch's training metrics");
    // Validation images are never moved: same model at the start, same validation split; only
    // the training differs, so the rows differ but both are valid metrics lines.
    assert_eq!(without.len(), reference.len());
}

#[test]
fn an_averaged_elastic_run_resumes_exactly_and_only_validation_sees_the_average() {
    let dir = tempfile::tempdir().unwrap();
    let with_elastic = CONFIG.replace("scale = 0.1 }", "scale = 0.1, elastic = { alpha = 34, sigma = 4 } }");
    assert_ne!(with_elastic, CONFIG);
    let averaged = with_elastic.replace("log_every = 1\n", "log_every = 1\nema = 0.99\n");
    let config = write_config(dir.path(), "averaged.toml", &averaged);
    let whole = dir.path().join("whole");
    train(&config, &whole, &[]);
    let reference = metrics_without_seconds(&whole);
    // Every checkpoint holds the average (model.bpk) and the trained weights (training.bpk).
    for epoch in ["epoch-0002", "epoch-0003"] {
        for file in ["model.bpk", "training.bpk"] {
            assert!(whole.join("checkpoints").join(epoch).join(file).is_file(), "{epoch}/{file} missing");
        }
    }
    assert_resumes_exactly(&config, &dir.path().join("interrupted"), &reference);

    // The same run without the average: the same training, step for step (its rows are equal),
    // and other validation metrics (the average is what validation evaluates).
    let plain = write_config(dir.path(), "plain.toml", &with_elastic);
    let out = dir.path().join("plain");
    train(&plain, &out, &[]);
    let without = metrics_without_seconds(&out);
    assert_eq!(without.len(), reference.len());
    for (row, (a, b)) in without.iter().zip(&reference).enumerate().skip(1) {
        if a.contains(",train,") {
            assert_eq!(a, b, "row {row}: the average changed the training");
        } else {
            assert_ne!(a, b, "row {row}: validation did not see the average");
        }
    }
    // And the elastic distortion changed the training (against the run without it).
    let no_elastic = dir.path().join("no_elastic");
    train(&write_config(dir.path(), "no_elastic.toml", CONFIG), &no_elastic, &[]);
    assert_ne!(metrics_without_seconds(&no_elastic)[1], without[1], "the elastic distortion changed nothing");
}
