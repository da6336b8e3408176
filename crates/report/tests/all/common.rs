//! Shared helpers: train a tiny run from a TOML body in a temporary directory, and decode PNGs.

use std::path::{Path, PathBuf};

use mnist_config::Experiment;
use mnist_trainer::{TrainOptions, train};

/// The MNIST files of the repository.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/mnist")
        .canonicalize()
        .expect("data/mnist exists")
}

/// Writes `[experiment]` + `[data]` (MNIST from the repository, `data_extra` appended) + `rest`
/// as a config in `dir`, trains it into `dir/<name>` and returns the run directory. The run is
/// pinned to the CPU backend, so a GPU build (CI's) does not train it on software Vulkan.
pub fn train_run(dir: &Path, name: &str, data_extra: &str, rest: &str) -> PathBuf {
    let config = format!(
        "device = \"flex\"\n\n[experiment]\nname = \"{name}\"\nseed = 7\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\n{data_extra}\n{rest}",
        data_dir().display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let experiment = Experiment::load(&path).unwrap();
    let out = dir.join(name);
    let opts = TrainOptions {
        out: out.clone(),
        resume: false,
        force: true,
        progress: mnist_trainer::progress::ProgressMode::Off,
        observer: None,
    };
    train(&experiment, &opts).unwrap();
    out
}

/// Decodes a PNG file.
pub fn load_png(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{} is not a valid PNG: {e}", path.display()))
        .to_rgb8()
}

/// The first `n` raw test images of MNIST (784 bytes each).
pub fn raw_test_images(n: usize) -> Vec<u8> {
    let data = mnist_data::DataSource {
        dir: data_dir(),
        verify: None,
    }
    .load()
    .unwrap();
    data.test.take(n).pixels
}

/// A denoising autoencoder (salt-and-pepper noise) and a classifier on standardized images (unlike
/// the denoiser, so anything chaining them must convert through grey levels), trained in `dir`:
/// (denoiser run, classifier run).
pub fn train_denoiser_and_classifier(dir: &Path) -> (PathBuf, PathBuf) {
    const DAE: &str = "[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 16, activation = \"relu\" }]\noutput_activation = \"sigmoid\"\n\n\
[training]\nepochs = 2\nbatch_size = 50\nloss = \"bce\"\nlearning_rate = 0.003\noptimizer = { kind = \"adam\" }\nper_step_log = true\nlog_every = 10\n";
    const MLP: &str = "[model]\nkind = \"mlp\"\nhidden = [32]\n\n\
[training]\nepochs = 3\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n";
    let dae = train_run(
        dir,
        "dae",
        "normalization = \"unit\"\ntrain_limit = 1000\ntest_limit = 100\ntrain_noise = { kind = \"salt_and_pepper\", level = 0.4 }\n",
        DAE,
    );
    let mlp = train_run(dir, "mlp", "normalization = \"standardize\"\ntrain_limit = 1000\ntest_limit = 100\n", MLP);
    (dae, mlp)
}
