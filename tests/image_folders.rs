//! `train` and `eval` on folders of PNG images: class folders for a classifier, a flat folder for
//! an autoencoder, the decode cache on the second run, and the errors a new user meets first.

mod common;

use std::path::Path;

use common::{bin, output, write_config};

/// `per_class` 28x28 PNGs in each of `classes` class folders (or directly in `root` when
/// `flat`): class `k` is a bright vertical bar at column `2k + 4` on a noisy dark background.
fn pngs(root: &Path, classes: usize, per_class: usize, flat: bool) {
    for k in 0..classes {
        let dir = if flat { root.to_path_buf() } else { root.join(format!("class_{k}")) };
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let img = image::GrayImage::from_fn(28, 28, |x, y| {
                let bar = (x as usize).abs_diff(2 * k + 4) <= 1;
                image::Luma([if bar { 230 } else { ((x * 7 + y * 13 + i as u32 * 31) % 40) as u8 }])
            });
            img.save(dir.join(format!("{k}_{i}.png"))).unwrap();
        }
    }
}

fn config(dir: &Path, model: &str, loss: &str, images: &str) -> String {
    format!(
        "[experiment]\nname = \"folder\"\nseed = 3\n\n[data]\ndir = \"{}\"\n\n[data.images]\n{images}\n\n[model]\n{model}\n\n\
         [training]\nepochs = 3\nbatch_size = 20\nloss = \"{loss}\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n",
        dir.display()
    )
}

fn train(home: &Path, cfg: &str, out: &Path) -> (i32, String, String) {
    output(bin("train").current_dir(home).env("MNIST_BURN_DATA", home).args(["--config", cfg, "--out", &out.display().to_string(), "--no-progress"]))
}

#[test]
fn a_classifier_trains_on_class_folders_and_the_second_run_reads_the_cache() {
    let t = tempfile::tempdir().unwrap();
    let images = t.path().join("digits");
    pngs(&images, 10, 20, false);
    let cfg = write_config(t.path(), "folder.toml", &config(&images, "kind = \"mlp\"\nhidden = [32]", "cross_entropy", "test_fraction = 0.25"));
    let (code, stdout, stderr) = train(t.path(), &cfg, &t.path().join("run1"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("data: image folder {} (200 images, 10 classes: class_0, class_1", images.display())), "{stdout}");
    assert!(stdout.contains("150 training / 50 validation (test set) / 50 test"), "{stdout}");
    assert!(!stdout.contains("from the cache"), "{stdout}");
    // The bars are easy: three epochs separate them well above chance (0.1).
    let (_, acc) = common::test_line_metrics(&stdout);
    assert!(acc > 0.5, "test accuracy {acc}: {stdout}");

    let (code, stdout, stderr) = train(t.path(), &cfg, &t.path().join("run2"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("decoded images read from the cache"), "{stdout}");
    assert_eq!(common::test_line_metrics(&stdout).1, acc, "the cached pixels train the same model");

    let (code, stdout, stderr) = output(bin("eval").current_dir(t.path()).env("MNIST_BURN_DATA", t.path()).args(["--run", &t.path().join("run1").display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn an_autoencoder_trains_on_a_flat_folder_a_classifier_is_told_why_not() {
    let t = tempfile::tempdir().unwrap();
    let flat = t.path().join("flat");
    pngs(&flat, 5, 8, true);
    let ae = "kind = \"dense_autoencoder\"\nencoder = [{ units = 16 }]\noutput_activation = \"sigmoid\"";
    let cfg = write_config(t.path(), "ae.toml", &config(&flat, ae, "bce", ""));
    let (code, stdout, stderr) = train(t.path(), &cfg, &t.path().join("ae"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(40 images, flat, no labels; 1x28x28)"), "{stdout}");

    let cfg = write_config(t.path(), "mlp.toml", &config(&flat, "kind = \"mlp\"", "cross_entropy", ""));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("mlp"));
    assert_ne!(code, 0);
    assert!(stderr.contains("flat folder of images without class folders") && stderr.contains("a classifier needs"), "{stderr}");
    assert!(!t.path().join("mlp").exists());
}

#[test]
fn images_of_any_shape_train_and_a_layer_that_no_longer_fits_is_named() {
    let t = tempfile::tempdir().unwrap();
    let images = t.path().join("rgb");
    for i in 0..50u8 {
        let class = if i % 2 == 0 { "a" } else { "b" };
        std::fs::create_dir_all(images.join(class)).unwrap();
        let img = image::RgbImage::from_fn(40, 30, |x, _| if (x < 20) == (i % 2 == 0) { image::Rgb([200, i * 4, 0]) } else { image::Rgb([0, 0, 200]) });
        img.save(images.join(class).join(format!("{i}.png"))).unwrap();
    }
    // Colour 30x40 images as they are: a dense model flattens 3·30·40 values.
    let run = t.path().join("rgb_run");
    let cfg = write_config(t.path(), "rgb.toml", &config(&images, "kind = \"mlp\"\nhidden = [16]", "cross_entropy", "channels = 3"));
    let (code, stdout, stderr) = train(t.path(), &cfg, &run);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("3x30x40") && stdout.contains("(57,786 params)"), "{stdout}");
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    assert!(info.contains("\"input_shape\"") && info.contains("30"), "{info}");
    // eval, export (the JSON records the input shape) and report (image tiles skipped) follow it.
    let (code, stdout, stderr) = output(bin("eval").current_dir(t.path()).env("MNIST_BURN_DATA", t.path()).args(["--run", &run.display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let export = t.path().join("rgb.safetensors");
    let (code, stdout, stderr) = output(std::process::Command::new(env!("CARGO_BIN_EXE_export")).current_dir(t.path()).env("MNIST_BURN_DEVICE", "flex").args(["--run", &run.display().to_string(), "--out", &export.display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let sidecar: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(t.path().join("rgb.json")).unwrap()).unwrap();
    assert_eq!(sidecar["input_shape"], serde_json::json!([3, 30, 40]));
    let (code, stdout, stderr) = output(bin("report").current_dir(t.path()).env("MNIST_BURN_DATA", t.path()).args(["--run", &run.display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(run.join("plots/confusion.png").is_file());

    // The seed CNN on 6x6 images: 6 → 4 → 2 after its two 3x3 convolutions, too small for the
    // 3x3 pooling; the error names it.
    let cfg = write_config(t.path(), "cnn.toml", &config(&images, "kind = \"cnn\"", "cross_entropy", "size = [6, 6]"));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("cnn_run"));
    assert_ne!(code, 0);
    assert!(stderr.contains("pool_size") && stderr.contains("does not fit the 2x2 input") && stderr.contains("1x6x6 images"), "{stderr}");
    // The seed conv autoencoder's decoder ends at 60x60 on 64x64 images.
    let conv_ae = "kind = \"conv_autoencoder\"\nencoder = [{ filters = 16 }, { filters = 8 }, { filters = 8 }]\ndecoder = [{ filters = 8 }, { filters = 8 }, { filters = 16, padding = \"valid\" }]\npool_size = 2\npool_padding = \"same\"\noutput_activation = \"sigmoid\"";
    let cfg = write_config(t.path(), "ae.toml", &config(&images, conv_ae, "bce", "size = [64, 64]"));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("ae_run"));
    assert_ne!(code, 0);
    assert!(stderr.contains("`decoder`: these layers produce 60x60 images, but the model must output 64x64"), "{stderr}");
    assert!(!t.path().join("ae_run").exists() && !t.path().join("cnn_run").exists());

    let cfg = write_config(t.path(), "bad.toml", &config(&images, "kind = \"mlp\"", "cross_entropy", "channels = 4"));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("run4"));
    assert_ne!(code, 0);
    assert!(stderr.contains("data.images.channels") && stderr.contains("1 (grey) or 3 (RGB)"), "{stderr}");
}
