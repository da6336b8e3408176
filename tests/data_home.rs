//! Runs do not depend on the working directory: a relative `dir` is read from the config file's
//! folder, named sets are found in the data home (`MNIST_BURN_DATA`) or the project's `data/`, a
//! missing named set says how to fetch it, and a folder read as it is has its sha256 printed.

mod common;

use std::path::Path;

use common::{bin, output, write_config};
use mnist_data::{FILE_NAMES, idx};
use sha2::{Digest, Sha256};

/// A tiny raw-IDX set (200 training, 50 test images of 28x28; image `i` is a bar at column
/// `2 * (i % 10)`, labelled `i % 10`).
fn tiny_set(dir: &Path) {
    tiny_set_of(dir, 28);
}

/// [`tiny_set`] with `side x side` images.
fn tiny_set_of(dir: &Path, side: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let images = |n: usize| {
        let pixels: Vec<u8> = (0..n).flat_map(|i| (0..side * side).map(move |p| if p % side / 2 == i % 10 { 220 } else { (p % 13) as u8 })).collect();
        idx::encode_images(n, side, side, &pixels)
    };
    let labels = |n: usize| idx::encode_labels(&(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>());
    std::fs::write(dir.join(FILE_NAMES[0]), images(200)).unwrap();
    std::fs::write(dir.join(FILE_NAMES[1]), labels(200)).unwrap();
    std::fs::write(dir.join(FILE_NAMES[2]), images(50)).unwrap();
    std::fs::write(dir.join(FILE_NAMES[3]), labels(50)).unwrap();
}

fn config(data: &str) -> String {
    format!(
        "[experiment]\nname = \"home\"\nseed = 1\n\n[data]\n{data}\ntrain_limit = 200\ntest_limit = 50\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\n\
         learning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n"
    )
}

/// Runs `train` in `cwd` with the data home set to `home`.
fn train_in(cwd: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    output(bin("train").current_dir(cwd).env("MNIST_BURN_DATA", home).args(args))
}

#[test]
fn a_relative_dir_is_read_from_the_config_folder_and_its_sha256_printed() {
    let t = tempfile::tempdir().unwrap();
    tiny_set(&t.path().join("sets").join("tiny"));
    let configs = t.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let cfg = write_config(&configs, "tiny.toml", &config("dir = \"../sets/tiny\""));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let (code, stdout, stderr) = train_in(elsewhere.path(), &t.path().join("no-home"), &["--config", &cfg, "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("read as it is"), "{stdout}");
    let sum: String = Sha256::digest(std::fs::read(t.path().join("sets/tiny").join(FILE_NAMES[0])).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(stdout.contains(&format!("{} {sum}", FILE_NAMES[0])), "{stdout}");
    // The run's saved config holds the absolute folder, so `eval` finds the data from anywhere.
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    let absolute = std::path::absolute(t.path().join("configs/../sets/tiny")).unwrap();
    assert!(saved.contains(&absolute.display().to_string()), "{saved}");
    let (code, stdout, stderr) = output(bin("eval").current_dir(elsewhere.path()).args(["--run", &out.display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn a_named_set_is_found_in_the_data_home_from_any_folder() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let mnist = home.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for f in FILE_NAMES {
        std::fs::copy(common::root().join("data/mnist").join(f), mnist.join(f)).unwrap();
    }
    let cfg = write_config(t.path(), "named.toml", &config("set = \"mnist\""));
    let out = t.path().join("run").display().to_string();
    let (code, stdout, stderr) = train_in(t.path(), &home, &["--config", &cfg, "--out", &out]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("data: mnist from {} (sha256 verified)", mnist.display())), "{stdout}");
}

#[test]
fn the_project_data_folder_is_found_from_a_config_inside_the_project() {
    // The repository's own configs, run from a folder outside it, with an empty data home.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run").display().to_string();
    let cfg = common::root().join("configs/smoke.toml").display().to_string();
    let (code, stdout, stderr) = train_in(t.path(), &t.path().join("empty-home"), &["--config", &cfg, "--out", &out, "--set", "training.epochs=1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("from {}", common::root().join("data").join("mnist").display())), "{stdout}");
}

#[test]
fn a_missing_named_set_gives_the_command_that_fetches_it() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let cfg = write_config(t.path(), "fashion.toml", &config("set = \"fashion-mnist\""));
    let out = t.path().join("run");
    let (code, stdout, stderr) = train_in(t.path(), &home, &["--config", &cfg, "--out", &out.display().to_string()]);
    assert_ne!(code, 0, "{stdout}");
    for needle in ["fashion-mnist", "is not on this machine", &home.join("fashion-mnist").display().to_string(), "cargo run --bin data -- fetch fashion-mnist"] {
        assert!(stderr.contains(needle), "{needle} missing from: {stderr}");
    }
    assert!(!out.exists(), "a run directory was created");
}

#[test]
fn idx_images_of_another_size_give_the_model_its_input_shape() {
    let t = tempfile::tempdir().unwrap();
    tiny_set_of(&t.path().join("s20"), 20);
    let cfg = write_config(t.path(), "s20.toml", &config("dir = \"s20\""));
    let out = t.path().join("run");
    let (code, stdout, stderr) = train_in(t.path(), &t.path().join("no-home"), &["--config", &cfg, "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // 400 inputs: 400·8 + 8 + 8·10 + 10 parameters.
    assert!(stdout.contains("(3,298 params)"), "{stdout}");
    let run = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(run.contains("20"), "{run}");
}
