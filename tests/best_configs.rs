//! The configs of `configs/best/` and the speedrun: each validates (`train --dry-run`), opens with
//! a comment saying how to run it, holds out a validation split (so the test set is touched once)
//! and keeps to the limits the issue sets (the convolutional autoencoder within 30,000
//! parameters, no convolutions in the MLP, no hidden layer in the softmax regression).

mod common;

use common::{root, run};

#[test]
fn best_configs_validate_hold_out_validation_and_keep_their_limits() {
    let mut seen = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(root().join("configs/best")).unwrap().map(|e| e.unwrap().path()).collect();
    paths.push(root().join("configs/speedrun.toml"));
    for path in paths {
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let rel = path.strip_prefix(root()).unwrap().display().to_string();
        assert!(text.starts_with('#'), "{rel} must open with a comment saying how to run it");
        // `train --dry-run` validates the value; here only that the key is set.
        assert!(text.lines().any(|l| l.starts_with("validation_fraction = ")), "{rel}: no held-out validation split");
        let (code, stdout, stderr) = run("train", &["--config", &rel, "--dry-run"]);
        assert_eq!(code, 0, "{rel}: {stderr}");
        let total: usize = stdout.lines().find_map(|l| l.strip_prefix("Total params: ")).map(|n| n.replace(',', "").parse().unwrap()).unwrap_or_else(|| panic!("{rel}: {stdout}"));
        if rel.ends_with("conv_ae.toml") {
            assert!(total <= 30_000, "{rel}: {total} parameters, the goal allows 30,000");
        }
        if rel.ends_with("softmax.toml") {
            // Softmax regression: one dense layer, 784 · 10 weights and 10 biases.
            assert_eq!(total, 7_850, "{rel}: softmax regression has no hidden layer");
        }
        if rel.ends_with("mlp.toml") {
            let body: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
            assert!(body.contains(&"kind = \"mlp\"") && !body.iter().any(|l| l.contains("conv")), "{rel}: the MLP goal allows no convolutions");
        }
        // Batch normalizations: Keras' trainable / non-trainable split under the total.
        if text.contains("batch_norm = true") {
            let frozen: usize = stdout.lines().find_map(|l| l.strip_prefix("Non-trainable params: ")).map(|n| n.replace(',', "").parse().unwrap()).unwrap_or_else(|| panic!("{rel}: {stdout}"));
            let trained: usize = stdout.lines().find_map(|l| l.strip_prefix("Trainable params: ")).map(|n| n.replace(',', "").parse().unwrap()).unwrap_or_else(|| panic!("{rel}: {stdout}"));
            assert!(frozen > 0 && trained + frozen == total, "{rel}: {stdout}");
        }
        seen.push(rel);
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
}
