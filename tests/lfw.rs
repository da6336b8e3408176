//! `configs/lfw_conv_ae.toml` on a small generated face-like folder laid out as `data fetch lfw`
//! leaves LFW (`<data home>/lfw/<Person>/<Person>_0001.jpg` and the completion marker): the set
//! is found by name, the 250x250 colour JPEGs become 64x64 grey inputs, the autoencoder trains
//! and `report` draws its 64x64 reconstructions.

mod common;

use std::path::Path;

use common::{bin, output};

/// `people x per_person` 250x250 JPEGs of a light oval face with two eyes and a mouth on a
/// coloured background; each picture shifts and shades them a little.
fn faces(lfw: &Path, people: usize, per_person: usize) {
    for p in 0..people {
        let name = format!("Person_{p:02}");
        let dir = lfw.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_person {
            let (dx, dy) = ((i * 7 % 21) as f32 - 10.0, (p * 5 % 15) as f32 - 7.0);
            let skin = 150 + (p * 17 % 80) as u8;
            let img = image::RgbImage::from_fn(250, 250, |x, y| {
                let (fx, fy) = (x as f32 - 125.0 - dx, y as f32 - 125.0 - dy);
                let face = (fx / 60.0).powi(2) + (fy / 80.0).powi(2) <= 1.0;
                let eye = |ex: f32| ((fx - ex).powi(2) + (fy + 20.0).powi(2)) < 100.0;
                let mouth = fx.abs() < 25.0 && (fy - 35.0).abs() < 5.0;
                if face && (eye(-22.0) || eye(22.0) || mouth) {
                    image::Rgb([40, 30, 30])
                } else if face {
                    image::Rgb([skin, skin - 30, skin - 50])
                } else {
                    image::Rgb([(x / 3) as u8, 90, (y / 3) as u8 + 40])
                }
            });
            img.save(dir.join(format!("{name}_{:04}.jpg", i + 1))).unwrap();
        }
    }
    std::fs::write(lfw.join(".complete"), "generated for the test\n").unwrap();
}

#[test]
fn the_lfw_config_trains_on_face_like_pictures_and_reports_reconstructions() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    faces(&home.join("lfw"), 12, 10);
    let run = t.path().join("lfw_run").display().to_string();
    let cfg = common::root().join("configs/lfw_conv_ae.toml").display().to_string();
    let (code, stdout, stderr) = output(bin("train").current_dir(t.path()).env("MNIST_BURN_DATA", &home).args([
        "--config", &cfg, "--out", &run, "--no-progress", "--set", "training.epochs=2", "--set", "training.batch_size=16",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("data: image folder {} (120 images, 12 classes: Person_00", home.join("lfw").display())), "{stdout}");
    assert!(stdout.contains("96 training / 24 validation (test set) / 24 test"), "{stdout}");
    assert!(stdout.contains("; 1x64x64)"), "{stdout}");

    let figures = t.path().join("lfw_run").join("plots");
    let (code, stdout, stderr) = output(bin("report").current_dir(t.path()).env("MNIST_BURN_DATA", &home).args(["--run", &run]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Two rows of ten 64x64 tiles (scale 1) with 4-pixel gaps, beside the row labels.
    let recon = image::open(figures.join("reconstructions.png")).unwrap();
    assert_eq!(recon.height(), 2 * 12 + 36 + 2 * 64 + 4, "{}x{}", recon.width(), recon.height());
}
