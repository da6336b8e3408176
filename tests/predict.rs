//! `predict` on image files: a classifier trained on MNIST reads digits drawn dark on light at
//! another size (the digit preparation finds the paper light; `--raw` resizes whole, as before,
//! and then needs `--invert`), `--out` saves what the model saw, an autoencoder writes its
//! reconstructions, a VAE prints mean and log-variance, `--json` is parseable, and a bad file
//! stops it with nothing written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, output, write_config};
use mnist_data::{DataSource, NamedSet};

fn predict(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_predict"));
    cmd.current_dir(common::root()).env("MNIST_BURN_DEVICE", "flex").args(args);
    output(&mut cmd)
}

fn train(dir: &Path, name: &str, model: &str, loss: &str, extra_data: &str) -> PathBuf {
    train_with(dir, name, model, loss, extra_data, "learning_rate = 0.1\noptimizer = { kind = \"sgd\" }")
}

fn train_with(dir: &Path, name: &str, model: &str, loss: &str, extra_data: &str, optimizer: &str) -> PathBuf {
    let text = format!(
        "[experiment]\nname = \"{name}\"\nseed = 4\n\n[data]\nset = \"mnist\"\ntrain_limit = 3000\ntest_limit = 100\n{extra_data}\n\n[model]\n{model}\n\n\
         [training]\nepochs = 2\nbatch_size = 50\nloss = \"{loss}\"\n{optimizer}\n"
    );
    let cfg = write_config(dir, &format!("{name}.toml"), &text);
    let out = dir.join(name);
    let (code, stdout, stderr) = output(bin("train").args(["--config", &cfg, "--out", &out.display().to_string(), "--no-progress"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    out
}

/// The first `n` MNIST test digits as 84x84 PNGs, dark strokes on white (as drawn on paper), and
/// their labels.
fn drawn_digits(dir: &Path, n: usize) -> Vec<u8> {
    let data = DataSource { dir: common::root().join("data/mnist"), verify: Some(NamedSet::Mnist) }.load().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let px = data.test.image(i);
        let img = image::GrayImage::from_fn(84, 84, |x, y| image::Luma([255 - px[(y / 3 * 28 + x / 3) as usize]]));
        img.save(dir.join(format!("digit_{i:02}.png"))).unwrap();
    }
    data.test.labels[..n].to_vec()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_classifier_reads_digits_drawn_on_paper_with_invert() {
    let t = tempfile::tempdir().unwrap();
    let run = train(t.path(), "mlp", "kind = \"mlp\"\nhidden = [64]", "cross_entropy", "");
    let digits = t.path().join("drawn");
    let labels = drawn_digits(&digits, 40);
    let accuracy = |flags: &[&str]| {
        let mut args = vec!["--run".to_string(), s(&run), "--json".into(), "--top".into(), "2".into(), s(&digits)];
        args.extend(flags.iter().map(|f| f.to_string()));
        let (code, stdout, stderr) = predict(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let predictions = v["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 40);
        let mut correct = 0;
        for (p, &label) in predictions.iter().zip(&labels) {
            let top = p["top"].as_array().unwrap();
            assert_eq!(top.len(), 2);
            let (p0, p1) = (top[0]["probability"].as_f64().unwrap(), top[1]["probability"].as_f64().unwrap());
            assert!((0.0..=1.0).contains(&p0) && p1 <= p0, "{p}");
            correct += usize::from(top[0]["class"].as_str().unwrap() == label.to_string());
        }
        correct as f64 / 40.0
    };
    // Prepared (the default), the light paper is found and inverted; --invert says so outright.
    let prepared = accuracy(&[]);
    assert!(prepared >= 0.75, "accuracy of the prepared digits {prepared}");
    assert_eq!(accuracy(&["--invert"]), prepared);
    // Resized whole (--raw), the paper's white reads as ink unless --invert.
    let inverted = accuracy(&["--raw", "--invert"]);
    assert!(inverted >= 0.75, "accuracy with --raw --invert {inverted}");
    assert!(accuracy(&["--raw"]) < inverted - 0.3, "with --raw and without --invert the paper's white reads as ink");

    // Text output: one line per image with the classes and probabilities.
    let (code, stdout, stderr) = predict(&["--run", &s(&run), "--invert", &s(&digits.join("digit_00.png"))]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(&format!("{}: {} 0.", s(&digits.join("digit_00.png")), labels[0])), "{stdout}");
    assert!(stderr.contains("images/s"), "{stderr}");
    assert!(!stderr.contains("warning:"), "no --out, nothing to warn about: {stderr}");

    // --out saves what the model saw: the digit made MNIST-like, light ink on black, centred.
    let out = t.path().join("classifier-out");
    let (code, stdout, stderr) = predict(&["--run", &s(&run), "--out", &s(&out), &s(&digits.join("digit_00.png"))]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    let seen = image::open(out.join("digit_00.input.png")).unwrap().to_luma8();
    assert_eq!(seen.dimensions(), (28, 28));
    assert!(seen.pixels().any(|p| p.0[0] >= 250), "the strokes are white");
    assert!((0..28).all(|i| seen.get_pixel(i, 0).0[0] == 0 && seen.get_pixel(0, i).0[0] == 0), "the margin is black");
    // Only what the model saw is written there.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn autoencoders_write_reconstructions_and_a_vae_prints_mean_and_log_variance() {
    let t = tempfile::tempdir().unwrap();
    let digits = t.path().join("drawn");
    drawn_digits(&digits, 3);
    let ae = train(t.path(), "dae", "kind = \"dense_autoencoder\"\nencoder = [{ units = 8 }]\noutput_activation = \"sigmoid\"", "bce", "train_noise = { kind = \"gaussian\", factor = 0.3 }");
    let out = t.path().join("recon");
    let (code, stdout, stderr) = predict(&["--run", &s(&ae), "--invert", "--out", &s(&out), &s(&digits)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains("code [") && stdout.contains(&s(&out.join("digit_01.denoised.png"))), "{stdout}");
    for i in 0..3 {
        let img = image::open(out.join(format!("digit_{i:02}.denoised.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (28, 28));
    }

    let vae = train_with(t.path(), "vae", "kind = \"vae\"\nencoder = [{ units = 32 }]\nlatent_dim = 2\ndecoder = [{ units = 32 }]\noutput_activation = \"sigmoid\"", "bce", "", "learning_rate = 0.001\noptimizer = { kind = \"adam\" }");
    let (code, stdout, stderr) = predict(&["--run", &s(&vae), "--json", "--out", &s(&t.path().join("vae-out")), &s(&digits.join("digit_02.png"))]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let p = &v["predictions"][0];
    assert_eq!(p["mean"].as_array().unwrap().len(), 2, "{p}");
    assert_eq!(p["log_var"].as_array().unwrap().len(), 2, "{p}");
    assert_eq!(p["mean"], p["code"], "the code of a VAE is its mean");
    assert!(Path::new(p["output"].as_str().unwrap()).is_file());
}

#[test]
fn a_bad_file_stops_predict_with_nothing_written() {
    let t = tempfile::tempdir().unwrap();
    let digits = t.path().join("drawn");
    drawn_digits(&digits, 2);
    std::fs::write(digits.join("broken.png"), b"<html>not a picture</html>").unwrap();
    let ae = train(t.path(), "ae", "kind = \"dense_autoencoder\"\nencoder = [{ units = 8 }]\noutput_activation = \"sigmoid\"", "bce", "");
    let out = t.path().join("recon");
    let (code, stdout, stderr) = predict(&["--run", &s(&ae), "--out", &s(&out), &s(&digits)]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains(&s(&digits.join("broken.png"))) && stderr.contains("not a PNG, JPEG or BMP"), "{stderr}");
    assert!(!out.exists(), "an output folder was written");
    let (code, _, stderr) = predict(&["--run", &s(&ae), &s(&t.path().join("nope.png"))]);
    assert_ne!(code, 0);
    assert!(stderr.contains("nope.png") && stderr.contains("does not exist"), "{stderr}");
}
