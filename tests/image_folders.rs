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
fn images_that_do_not_fit_the_models_name_the_keys_to_set() {
    let t = tempfile::tempdir().unwrap();
    let images = t.path().join("big");
    std::fs::create_dir_all(images.join("a")).unwrap();
    std::fs::create_dir_all(images.join("b")).unwrap();
    for i in 0..50u8 {
        let class = if i % 2 == 0 { "a" } else { "b" };
        image::RgbImage::from_pixel(40, 30, image::Rgb([i * 5, 0, 0])).save(images.join(class).join(format!("{i}.png"))).unwrap();
    }
    let cfg = write_config(t.path(), "big.toml", &config(&images, "kind = \"mlp\"", "cross_entropy", "channels = 3"));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("run"));
    assert_ne!(code, 0);
    assert!(stderr.contains("30x40") && stderr.contains("channels = 1 and size = [28, 28]"), "{stderr}");

    let cfg = write_config(t.path(), "fits.toml", &config(&images, "kind = \"mlp\"", "cross_entropy", "size = [28, 28]\ncrop = true\ntest_fraction = 0.4"));
    let (code, stdout, stderr) = train(t.path(), &cfg, &t.path().join("run"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let cfg = write_config(t.path(), "bad.toml", &config(&images, "kind = \"mlp\"", "cross_entropy", "channels = 4"));
    let (code, _, stderr) = train(t.path(), &cfg, &t.path().join("run4"));
    assert_ne!(code, 0);
    assert!(stderr.contains("data.images.channels") && stderr.contains("1 (grey) or 3 (RGB)"), "{stderr}");
}
