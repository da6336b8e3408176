//! Reliability of `train` and `eval` (issue 7): every broken config, data file, checkpoint, run
//! directory and command line is refused with one `error: ...` line that names the problem and a
//! non-zero exit code, never a panic, and leaves what earlier runs wrote untouched; a loss that
//! turns non-finite stops the run; Ctrl-C and SIGKILL leave a run that resumes to exactly the
//! metrics of an uninterrupted one.
//!
//! Bad inputs are built in temporary directories: a tiny synthetic raw-IDX data set (fast to
//! train on), corrupted copies of it and of `data/mnist`, and corrupted copies of a finished run.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{assert_readable, bin, kept_checkpoints, metrics_without_seconds, run, snapshot, spawn_paused, validation_losses, write_config};

// ---------------------------------------------------------------------------------------------
// Fixtures

const FILES: [&str; 4] = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

/// A raw IDX image file (magic 2051) of `count` synthetic `rows x cols` images: image `i` shows a
/// bar whose position encodes its label `i % 10`.
fn idx_images(count: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    for i in 0..count {
        let label = i % 10;
        for r in 0..rows {
            for c in 0..cols {
                let bar = c * 10 / cols.max(1) == label;
                let noise = ((i * 31 + r * 7 + c * 13) % 17) as u8;
                out.push(if bar { 200 + noise } else { noise });
            }
        }
    }
    out
}

/// A raw IDX label file (magic 2049) of `count` labels `i % 10`.
fn idx_labels(count: usize) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 1];
    out.extend_from_slice(&(count as u32).to_be_bytes());
    out.extend((0..count).map(|i| (i % 10) as u8));
    out
}

/// Writes a valid tiny data set (300 training, 100 test images of 28x28) under the standard names.
fn tiny_set(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(FILES[0]), idx_images(300, 28, 28)).unwrap();
    std::fs::write(dir.join(FILES[1]), idx_labels(300)).unwrap();
    std::fs::write(dir.join(FILES[2]), idx_images(100, 28, 28)).unwrap();
    std::fs::write(dir.join(FILES[3]), idx_labels(100)).unwrap();
    dir.to_path_buf()
}

/// A valid config training a small MLP for 2 epochs on the data set in `data_dir` (no `set`, so
/// the files are not checked against MNIST's checksums).
fn tiny_config(data_dir: &Path) -> String {
    format!(
        r#"[experiment]
name = "tiny"
seed = 5

[data]
dir = "{}"
train_limit = 300
test_limit = 100

[model]
kind = "mlp"
hidden = [16]

[training]
epochs = 2
batch_size = 50
loss = "cross_entropy"
learning_rate = 0.1
optimizer = {{ kind = "sgd" }}
"#,
        data_dir.display()
    )
}

/// `text` with `from` replaced by `to`; `from` must occur (a typo must not make a case vacuous).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the config:\n{text}");
    text.replacen(from, to, 1)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A scratch directory with the tiny data set and a finished run of the tiny config in `run/`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        tiny_set(&dir.path().join("data"));
        let scratch = Scratch { dir };
        let config = scratch.config("tiny.toml", &scratch.base());
        let out = scratch.run_dir();
        let (code, _, stderr) = run("train", &["--config", &config, "--out", &s(&out)]);
        assert_eq!(code, 0, "the tiny run trains: {stderr}");
        scratch
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    fn run_dir(&self) -> PathBuf {
        self.path("run")
    }

    fn base(&self) -> String {
        tiny_config(&self.data())
    }

    fn config(&self, name: &str, text: &str) -> String {
        write_config(self.dir.path(), name, text)
    }

    /// A copy of the finished run under `name`.
    fn copy_run(&self, name: &str) -> PathBuf {
        let to = self.path(name);
        copy_dir(&self.run_dir(), &to);
        to
    }

    /// A copy of the finished run under `name`, marked unfinished, as a run killed after its
    /// last checkpoint and before its final `run.json` is: `--resume` accepts it.
    fn unfinished_run(&self, name: &str) -> PathBuf {
        let to = self.copy_run(name);
        let info = std::fs::read_to_string(to.join("run.json")).unwrap();
        std::fs::write(to.join("run.json"), edit(&info, "\"finished\": true", "\"finished\": false")).unwrap();
        to
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// Asserts a clean refusal: a non-zero exit code that is not a panic's (101) or an abort's,
/// nothing about a panic or a backtrace, stderr a single `error: ...` line (clap's usage errors
/// may add usage lines after theirs), and every `needle` in it.
#[track_caller]
fn refused(case: &str, (code, _stdout, stderr): &(i32, String, String), needles: &[&str]) {
    assert!(*code != 0 && *code != 101 && *code != -1, "{case}: exit code {code}, stderr:\n{stderr}");
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE", "internal failure", "memory allocation"] {
        assert!(!stderr.contains(bad), "{case}: stderr mentions {bad:?}:\n{stderr}");
    }
    // Progress lines (stderr is a pipe here) may come first on a slow machine: they are not errors.
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("progress: ")).collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("error: ")), "{case}: stderr does not start with `error: `:\n{stderr}");
    // clap's usage errors (exit code 2) add a usage hint after their `error:` line.
    if *code == 2 {
        assert_eq!(lines.iter().filter(|l| l.starts_with("error")).count(), 1, "{case}: more than one error:\n{stderr}");
    } else {
        assert_eq!(lines.len(), 1, "{case}: the error is not one line:\n{stderr}");
    }
    for needle in needles {
        assert!(stderr.contains(needle), "{case}: stderr does not name {needle:?}:\n{stderr}");
    }
}

fn train(args: &[&str]) -> (i32, String, String) {
    run("train", args)
}

fn eval(args: &[&str]) -> (i32, String, String) {
    run("eval", args)
}

// ---------------------------------------------------------------------------------------------
// Config

/// Runs a bad config twice: into a fresh directory (which must not appear) and with `--force`
/// into the finished run (which must not change).
#[track_caller]
fn config_refused(sc: &Scratch, case: &str, text: &str, needles: &[&str]) {
    let config = sc.config(&format!("{case}.toml"), text);
    let before = snapshot(&sc.run_dir());
    let fresh = sc.path(&format!("out-{case}"));
    let out = train(&["--config", &config, "--out", &s(&fresh)]);
    let mut needles = needles.to_vec();
    needles.push(&config);
    refused(case, &out, &needles);
    assert!(!fresh.exists(), "{case}: a run directory was created");
    let out = train(&["--config", &config, "--out", &s(&sc.run_dir()), "--force"]);
    refused(&format!("{case} --force"), &out, &needles);
    assert_eq!(snapshot(&sc.run_dir()), before, "{case}: --force changed the previous run");
}

#[test]
fn config_syntax_errors_name_the_file_line_and_column() {
    let sc = Scratch::new();
    let base = sc.base();
    config_refused(&sc, "unterminated_string", &edit(&base, "kind = \"mlp\"", "kind = \"mlp"), &["line 11", "column"]);
    config_refused(&sc, "unclosed_array", &edit(&base, "hidden = [16]", "hidden = [16"), &["line 14", "expected `]`"]);
    config_refused(&sc, "duplicate_key", &edit(&base, "epochs = 2", "epochs = 2\nepochs = 3"), &["duplicate key", "epochs"]);
    config_refused(&sc, "garbage", "\u{1}\u{2} this is not TOML {{{", &["line 1"]);
    config_refused(&sc, "array_of_tables", &edit(&base, "[model]", "[[model]]"), &["[model]", "line 10"]);
}

#[test]
fn config_unknown_keys_wrong_types_and_missing_keys_are_named() {
    let sc = Scratch::new();
    let base = sc.base();
    config_refused(&sc, "unknown_key", &edit(&base, "hidden = [16]", "hidden = [16]\nhiden = 3"), &["unknown key `model.hiden` (did you mean `hidden`?)", "line 13", "`hidden`"]);
    config_refused(&sc, "unknown_section", &format!("{base}\n[extra]\nx = 1\n"), &["unknown key `extra`", "`training`"]);
    config_refused(&sc, "string_for_number", &edit(&base, "epochs = 2", "epochs = \"two\""), &["training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found the string \"two\"", "line 15"]);
    config_refused(&sc, "float_for_integer", &edit(&base, "epochs = 2", "epochs = 1e9"), &["training.epochs: expected a whole number (0 or more)", "found 1000000000", "line 15"]);
    config_refused(&sc, "negative_batch", &edit(&base, "batch_size = 50", "batch_size = -1"), &["training.batch_size: expected a whole number (0 or more), e.g. batch_size = 10; found -1", "line 16"]);
    config_refused(&sc, "huge_integer", &edit(&base, "epochs = 2", "epochs = 99999999999999999999999"), &["line 15", "too large"]);
    config_refused(&sc, "number_for_string", &edit(&base, "kind = \"mlp\"", "kind = 5"), &["model.kind", "found 5", "line 11"]);
    config_refused(&sc, "string_for_array", &edit(&base, "hidden = [16]", "hidden = \"16\""), &["model.hidden: expected an array, e.g. hidden = [64, 64]; found the string \"16\""]);
    config_refused(&sc, "missing_batch_size", &edit(&base, "batch_size = 50\n", ""), &["missing key `batch_size` in [training]"]);
    config_refused(&sc, "missing_model_kind", &edit(&base, "kind = \"mlp\"\n", ""), &["missing key `kind` in [model]"]);
    config_refused(&sc, "missing_experiment", &edit(&base, "[experiment]\nname = \"tiny\"\nseed = 5\n", ""), &["missing key `experiment`"]);
    config_refused(&sc, "missing_training", &base[..base.find("[training]").unwrap()], &["missing key `training`"]);
}

#[test]
fn an_empty_missing_directory_or_binary_config_is_refused() {
    let sc = Scratch::new();
    config_refused(&sc, "empty", "", &["is empty"]);
    config_refused(&sc, "blank", "\n  \n", &["is empty"]);
    let before = snapshot(&sc.run_dir());
    let dir = sc.path("a_directory.toml");
    std::fs::create_dir(&dir).unwrap();
    refused("directory", &train(&["--config", &s(&dir), "--out", &s(&sc.run_dir()), "--force"]), &[&s(&dir), "is a directory"]);
    let missing = sc.path("missing.toml");
    refused("missing", &train(&["--config", &s(&missing)]), &[&s(&missing), "No such file"]);
    refused("endless", &train(&["--config", "/dev/zero", "--out", &s(&sc.run_dir()), "--force"]), &["/dev/zero", "larger than 1 MiB"]);
    let binary = sc.path("binary.toml");
    std::fs::write(&binary, b"[experiment]\nname = \"\xff\xfe\"\n").unwrap();
    refused("not UTF-8", &train(&["--config", &s(&binary), "--out", &s(&sc.run_dir()), "--force"]), &[&s(&binary), "line 2", "0xff", "UTF-8"]);
    assert_eq!(snapshot(&sc.run_dir()), before);
}

#[test]
fn config_values_out_of_range_are_refused_with_the_field_and_the_range() {
    let sc = Scratch::new();
    let base = sc.base();
    let ae = edit(
        &edit(&base, "kind = \"mlp\"\nhidden = [16]", "kind = \"dense_autoencoder\"\nencoder = [{ units = 8 }]\noutput_activation = \"sigmoid\""),
        "cross_entropy",
        "mse",
    );
    let vae = edit(&edit(&base, "kind = \"mlp\"\nhidden = [16]", "kind = \"vae\"\nlatent_dim = 0"), "cross_entropy", "mse");
    let data = |extra: &str| edit(&base, "train_limit = 300", &format!("{extra}\ntrain_limit = 300"));
    let training = |from: &str, to: &str| edit(&base, from, to);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("lr_zero", training("learning_rate = 0.1", "learning_rate = 0.0"), vec!["training.learning_rate", "> 0"]),
        ("lr_negative", training("learning_rate = 0.1", "learning_rate = -0.5"), vec!["training.learning_rate", "-0.5"]),
        ("lr_nan", training("learning_rate = 0.1", "learning_rate = nan"), vec!["training.learning_rate", "NaN", "finite"]),
        ("lr_inf", training("learning_rate = 0.1", "learning_rate = inf"), vec!["training.learning_rate", "inf", "finite"]),
        ("batch_zero", training("batch_size = 50", "batch_size = 0"), vec!["training.batch_size", "at least 1"]),
        ("epochs_zero", training("epochs = 2", "epochs = 0"), vec!["training.epochs", "at least 1"]),
        ("latent_zero", vae, vec!["latent_dim", "at least 1"]),
        ("units_zero", edit(&ae, "units = 8", "units = 0"), vec!["encoder[0].units", "at least 1"]),
        ("hidden_zero", training("hidden = [16]", "hidden = [0]"), vec!["hidden[0]", "at least 1"]),
        ("dropout_one", training("hidden = [16]", "hidden = [16]\ndropout = 1.0"), vec!["dropout", "[0, 1)"]),
        ("dropout_negative", training("hidden = [16]", "hidden = [16]\ndropout = -0.1"), vec!["dropout", "-0.1", "[0, 1)"]),
        ("dropout_nan", training("hidden = [16]", "hidden = [16]\ndropout = nan"), vec!["dropout", "[0, 1)"]),
        ("noise_above_one", data("train_noise = { kind = \"salt_and_pepper\", level = 1.5 }"), vec!["data.train_noise.level", "1.5", "[0, 1]"]),
        ("noise_negative", data("eval_noise = { kind = \"salt_and_pepper\", level = -0.2 }"), vec!["data.eval_noise.level", "-0.2", "[0, 1]"]),
        ("noise_std_negative", data("train_noise = { kind = \"gaussian\", std = -1.0 }"), vec!["data.train_noise.std", "-1"]),
        ("validation_zero", data("validation_fraction = 0.0"), vec!["data.validation_fraction", "between 0 and 1"]),
        ("validation_one", data("validation_fraction = 1.0"), vec!["data.validation_fraction", "between 0 and 1"]),
        ("validation_above_one", data("validation_fraction = 1.5"), vec!["data.validation_fraction", "1.5"]),
        ("validation_negative", data("validation_fraction = -0.1"), vec!["data.validation_fraction", "-0.1"]),
        ("validation_too_small", data("validation_fraction = 0.0001"), vec!["data.validation_fraction", "at least one sample"]),
        ("train_limit_zero", training("train_limit = 300", "train_limit = 0"), vec!["train_limit", "at least 1"]),
        ("l2_negative", training("epochs = 2", "epochs = 2\nl2 = -1.0"), vec!["training.l2", ">= 0"]),
        ("gamma_negative", training("epochs = 2", "epochs = 2\nschedule = { kind = \"exponential\", gamma = -1.0 }"), vec!["training.schedule.gamma"]),
        ("momentum_above_one", training("{ kind = \"sgd\" }", "{ kind = \"sgd\", momentum = 1.5 }"), vec!["training.optimizer.momentum"]),
        ("patience_zero", training("epochs = 2", "epochs = 2\nearly_stopping = { patience = 0 }"), vec!["training.early_stopping.patience"]),
        ("name_with_slash", training("name = \"tiny\"", "name = \"../escape\""), vec!["experiment.name", "../escape"]),
        ("batch_larger_than_split", training("batch_size = 50", "batch_size = 301"), vec!["training.batch_size", "301", "300 samples"]),
        (
            "batch_larger_than_train_after_validation",
            edit(&data("validation_fraction = 0.5"), "batch_size = 50", "batch_size = 200"),
            vec!["training.batch_size", "150 samples"],
        ),
    ];
    for (case, text, needles) in cases {
        config_refused(&sc, case, &text, &needles);
    }
}

#[test]
fn incompatible_choices_and_unknown_kinds_are_refused_with_the_reason() {
    let sc = Scratch::new();
    let base = sc.base();
    let ae = |activation: &str, loss: &str| {
        edit(
            &edit(&base, "kind = \"mlp\"\nhidden = [16]", &format!("kind = \"dense_autoencoder\"\nencoder = [{{ units = 8 }}]\noutput_activation = \"{activation}\"")),
            "\"cross_entropy\"",
            &format!("\"{loss}\""),
        )
    };
    let standardized = |text: String| edit(&text, "train_limit = 300", "normalization = \"standardize\"\ntrain_limit = 300");
    config_refused(&sc, "bce_standardized", &standardized(ae("sigmoid", "bce")), &["training.loss", "bce", "standardize"]);
    config_refused(&sc, "bce_without_sigmoid", &ae("linear", "bce"), &["training.loss", "sigmoid"]);
    config_refused(&sc, "cross_entropy_autoencoder", &ae("sigmoid", "cross_entropy"), &["training.loss", "cross_entropy", "autoencoder"]);
    config_refused(&sc, "mse_classifier", &edit(&base, "\"cross_entropy\"", "\"mse\""), &["training.loss", "classifier"]);
    config_refused(&sc, "beta_classifier", &edit(&base, "epochs = 2", "epochs = 2\nbeta = 4.0"), &["training.beta", "variational"]);
    config_refused(
        &sc,
        "accuracy_autoencoder",
        &edit(&ae("sigmoid", "mse"), "epochs = 2", "epochs = 2\nearly_stopping = { monitor = \"val_accuracy\", patience = 2 }"),
        &["training.early_stopping.monitor", "classifier"],
    );
    config_refused(
        &sc,
        "unknown_kind",
        &edit(&base, "kind = \"mlp\"", "kind = \"transformer\""),
        &["unknown value \"transformer\"", "softmax_regression", "mlp", "cnn", "dense_autoencoder", "conv_autoencoder", "strided_conv_autoencoder", "vae", "conv_vae"],
    );
    config_refused(&sc, "unknown_optimizer", &edit(&base, "{ kind = \"sgd\" }", "{ kind = \"lbfgs\" }"), &["lbfgs", "adam"]);
    config_refused(&sc, "unknown_normalization", &edit(&base, "train_limit = 300", "normalization = \"zscore\"\ntrain_limit = 300"), &["zscore", "standardize"]);
    config_refused(&sc, "unknown_set", &edit(&base, "train_limit = 300", "set = \"cifar\"\ntrain_limit = 300"), &["cifar", "fashion-mnist"]);
    config_refused(&sc, "unknown_device", &format!("device = \"tpu\"\n{base}"), &["device", "tpu", "flex"]);
    config_refused(&sc, "model_too_large_for_memory", &edit(&base, "hidden = [16]", "hidden = [200000, 200000]"), &["parameters", "MiB", "smaller model"]);
}

/// Byte-level mutations of a valid config (truncations, flipped bytes, deleted, doubled and
/// rewritten lines): each either validates or is refused cleanly, never with a panic.
#[test]
fn mutated_configs_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_config(&dir.path().join("data")).into_bytes();
    let lines: Vec<&[u8]> = base.split(|&b| b == b'\n').collect();
    let values: [&[u8]; 10] = [b"-1", b"0", b"1e309", b"nan", b"18446744073709551616", b"\"\"", b"[]", b"{}", b"true", b"[[1], \"a\"]"];
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    for i in 0..120 {
        let mutated: Vec<u8> = match i % 5 {
            0 => base[..next(base.len())].to_vec(),
            1 => {
                let mut b = base.clone();
                let at = next(b.len());
                b[at] = [b'=', b'[', b'"', b'\n', 0xff, b'x', b'}', b'#'][next(8)];
                b
            }
            2 => {
                let skip = next(lines.len());
                lines.iter().enumerate().filter(|(j, _)| *j != skip).map(|(_, l)| l.to_vec()).collect::<Vec<_>>().join(&b'\n')
            }
            3 => {
                let twice = next(lines.len());
                lines.iter().enumerate().flat_map(|(j, l)| if j == twice { vec![l.to_vec(), l.to_vec()] } else { vec![l.to_vec()] }).collect::<Vec<_>>().join(&b'\n')
            }
            _ => {
                let with_value: Vec<usize> = (0..lines.len()).filter(|&j| lines[j].contains(&b'=')).collect();
                let j = with_value[next(with_value.len())];
                let key = lines[j].split(|&b| b == b'=').next().unwrap().to_vec();
                lines
                    .iter()
                    .enumerate()
                    .map(|(k, l)| if k == j { [key.as_slice(), b"= ", values[next(values.len())]].concat() } else { l.to_vec() })
                    .collect::<Vec<_>>()
                    .join(&b'\n')
            }
        };
        let path = dir.path().join(format!("mutant-{i}.toml"));
        std::fs::write(&path, &mutated).unwrap();
        let out = train(&["--config", &s(&path), "--dry-run"]);
        if out.0 != 0 {
            refused(&format!("mutant {i}:\n{}\n", String::from_utf8_lossy(&mutated)), &out, &[]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// A copy of the tiny data set under `name` with `change` applied, and a config reading it.
fn broken_data(sc: &Scratch, name: &str, change: impl FnOnce(&Path)) -> (PathBuf, String) {
    let dir = tiny_set(&sc.path(name));
    change(&dir);
    let config = sc.config(&format!("{name}.toml"), &tiny_config(&dir));
    (dir, config)
}

#[track_caller]
fn data_refused(sc: &Scratch, name: &str, change: impl FnOnce(&Path), needles: &[&str]) {
    let (dir, config) = broken_data(sc, name, change);
    let data_before = if dir.is_dir() { snapshot(&dir) } else { Vec::new() };
    let run_before = snapshot(&sc.run_dir());
    let fresh = sc.path(&format!("out-{name}"));
    refused(name, &train(&["--config", &config, "--out", &s(&fresh)]), needles);
    assert!(!fresh.exists(), "{name}: a run directory was created");
    refused(name, &train(&["--config", &config, "--out", &s(&sc.run_dir()), "--force"]), needles);
    assert_eq!(snapshot(&sc.run_dir()), run_before, "{name}: --force changed the previous run");
    if dir.is_dir() {
        assert_eq!(snapshot(&dir), data_before, "{name}: the data changed");
    }
}

#[test]
fn missing_truncated_and_foreign_data_files_are_named() {
    let sc = Scratch::new();
    let real = common::root().join("data/mnist");
    data_refused(&sc, "no_dir", |d| std::fs::remove_dir_all(d).unwrap(), &["no_dir", "does not exist"]);
    data_refused(&sc, "no_file", |d| std::fs::remove_file(d.join(FILES[3])).unwrap(), &[FILES[3], "does not exist"]);
    data_refused(&sc, "file_is_dir", |d| {
        std::fs::remove_file(d.join(FILES[1])).unwrap();
        std::fs::create_dir(d.join(FILES[1])).unwrap();
    }, &[FILES[1], "not a regular file"]);
    data_refused(&sc, "dir_is_file", |d| {
        std::fs::remove_dir_all(d).unwrap();
        std::fs::write(d, "not a directory").unwrap();
    }, &["dir_is_file", "expected a directory"]);
    data_refused(&sc, "truncated_gzip", |d| {
        let gz = std::fs::read(real.join(FILES[3])).unwrap();
        std::fs::write(d.join(FILES[3]), &gz[..gz.len() / 2]).unwrap();
    }, &[FILES[3], "gzip", "truncated"]);
    data_refused(&sc, "gzip_header_only", |d| std::fs::write(d.join(FILES[1]), [0x1f, 0x8b]).unwrap(), &[FILES[1], "gzip"]);
    data_refused(&sc, "not_idx", |d| std::fs::write(d.join(FILES[0]), "<html>404 Not Found</html>").unwrap(), &[FILES[0], "neither gzip nor IDX"]);
    data_refused(&sc, "empty_file", |d| std::fs::write(d.join(FILES[2]), b"").unwrap(), &[FILES[2], "neither gzip nor IDX"]);
    data_refused(&sc, "labels_as_images", |d| std::fs::copy(d.join(FILES[1]), d.join(FILES[0])).map(drop).unwrap(), &[FILES[0], "magic number 2049", "2051"]);
    data_refused(&sc, "images_as_labels", |d| std::fs::copy(d.join(FILES[2]), d.join(FILES[3])).map(drop).unwrap(), &[FILES[3], "magic number 2051", "2049"]);
    data_refused(&sc, "truncated_raw", |d| {
        let bytes = std::fs::read(d.join(FILES[0])).unwrap();
        std::fs::write(d.join(FILES[0]), &bytes[..bytes.len() - 1000]).unwrap();
    }, &[FILES[0], "truncated"]);
    data_refused(&sc, "truncated_header", |d| std::fs::write(d.join(FILES[0]), [0, 0, 8, 3, 0, 0]).unwrap(), &[FILES[0], "truncated"]);
    data_refused(&sc, "header_overflow", |d| {
        let mut bytes = vec![0, 0, 8, 3];
        bytes.extend([0xff; 12]);
        std::fs::write(d.join(FILES[0]), bytes).unwrap();
    }, &[FILES[0], "truncated"]);
    data_refused(&sc, "count_mismatch", |d| std::fs::write(d.join(FILES[1]), idx_labels(299)).unwrap(), &[FILES[0], "300 images", FILES[1], "299 labels"]);
    data_refused(&sc, "test_size_differs", |d| std::fs::write(d.join(FILES[2]), idx_images(100, 28, 27)).unwrap(), &[FILES[2], "28x27", "28x28"]);
    data_refused(&sc, "bad_label", |d| {
        let mut labels = idx_labels(300);
        labels[8 + 17] = 11;
        std::fs::write(d.join(FILES[1]), labels).unwrap();
    }, &[FILES[1], "label 11", "index 17"]);
    data_refused(&sc, "no_test_samples", |d| {
        std::fs::write(d.join(FILES[2]), idx_images(0, 28, 28)).unwrap();
        std::fs::write(d.join(FILES[3]), idx_labels(0)).unwrap();
    }, &[FILES[2], "no samples"]);
}

#[test]
fn a_named_set_whose_files_differ_from_the_published_ones_is_refused() {
    let sc = Scratch::new();
    let dir = tiny_set(&sc.path("fake-mnist"));
    let text = edit(&tiny_config(&dir), "train_limit", "set = \"mnist\"\ntrain_limit");
    let config = sc.config("checksum.toml", &text);
    let before = snapshot(&sc.run_dir());
    let out = train(&["--config", &config, "--out", &s(&sc.run_dir()), "--force"]);
    refused("checksum", &out, &[FILES[0], "does not match the published mnist file", "sha256", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"]);
    assert_eq!(snapshot(&sc.run_dir()), before);
}

#[test]
fn eval_of_a_run_whose_data_broke_names_the_file() {
    let sc = Scratch::new();
    std::fs::write(sc.data().join(FILES[2]), b"gone").unwrap();
    let before = snapshot(&sc.run_dir());
    refused("eval, data broke", &eval(&["--run", &s(&sc.run_dir())]), &[FILES[2], "neither gzip nor IDX"]);
    assert_eq!(snapshot(&sc.run_dir()), before);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and run directories

/// Runs `eval` on a broken copy of the finished run, and `train --resume` on a broken unfinished
/// copy: both refuse, naming `needles`, and change nothing.
#[track_caller]
fn run_refused(sc: &Scratch, name: &str, change: impl Fn(&Path), needles: &[&str], also_resume: bool) {
    let finished = sc.copy_run(&format!("{name}-eval"));
    change(&finished);
    let before = snapshot(&finished);
    refused(&format!("eval {name}"), &eval(&["--run", &s(&finished)]), needles);
    assert_eq!(snapshot(&finished), before, "eval {name} changed the run");
    if also_resume {
        let unfinished = sc.unfinished_run(&format!("{name}-resume"));
        change(&unfinished);
        let before = snapshot(&unfinished);
        let config = sc.config("resume.toml", &sc.base());
        refused(&format!("resume {name}"), &train(&["--config", &config, "--out", &s(&unfinished), "--resume"]), needles);
        assert_eq!(snapshot(&unfinished), before, "train --resume {name} changed the run");
    }
}

fn last_checkpoint(run: &Path) -> PathBuf {
    run.join("checkpoints/epoch-0002")
}

fn truncate(path: &Path, len: usize) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..len.min(bytes.len())]).unwrap();
}

#[test]
fn missing_or_truncated_checkpoints_are_named() {
    let sc = Scratch::new();
    let model = |r: &Path| last_checkpoint(r).join("model.bpk");
    let state = |r: &Path| last_checkpoint(r).join("state.json");
    run_refused(&sc, "model_missing", |r| std::fs::remove_file(model(r)).unwrap(), &["epoch-0002/model.bpk", "does not exist"], true);
    run_refused(&sc, "model_empty", |r| truncate(&model(r), 0), &["epoch-0002/model.bpk", "truncated"], true);
    run_refused(&sc, "model_half", |r| truncate(&model(r), std::fs::metadata(model(r)).unwrap().len() as usize / 2), &["epoch-0002/model.bpk", "truncated"], true);
    run_refused(&sc, "model_garbage", |r| std::fs::write(model(r), vec![0x5a; 4096]).unwrap(), &["epoch-0002/model.bpk", "not a Burn weight file"], true);
    let unfinished = sc.unfinished_run("optimizer_garbage-resume");
    std::fs::write(last_checkpoint(&unfinished).join("optimizer.bpk"), b"nope").unwrap();
    let before = snapshot(&unfinished);
    let config = sc.config("resume.toml", &sc.base());
    refused("resume optimizer", &train(&["--config", &config, "--out", &s(&unfinished), "--resume"]), &["epoch-0002/optimizer.bpk"]);
    assert_eq!(snapshot(&unfinished), before);
    run_refused(&sc, "state_truncated", |r| truncate(&state(r), 20), &["epoch-0002/state.json", "corrupt"], true);
    run_refused(&sc, "state_empty", |r| truncate(&state(r), 0), &["epoch-0002/state.json", "corrupt"], true);
    run_refused(&sc, "state_wrong_type", |r| std::fs::write(state(r), "{\"epoch\": \"two\"}").unwrap(), &["epoch-0002/state.json", "corrupt"], true);
    run_refused(&sc, "state_missing", |r| std::fs::remove_file(state(r)).unwrap(), &["epoch-0002/state.json"], true);
    run_refused(&sc, "no_checkpoints", |r| std::fs::remove_dir_all(r.join("checkpoints")).unwrap(), &["no checkpoint"], true);
    run_refused(&sc, "checkpoints_is_a_file", |r| {
        std::fs::remove_dir_all(r.join("checkpoints")).unwrap();
        std::fs::write(r.join("checkpoints"), b"x").unwrap();
    }, &["no checkpoint"], true);
}

#[test]
fn a_best_checkpoint_that_is_gone_is_named() {
    let sc = Scratch::new();
    let r = sc.copy_run("best-gone");
    // The last checkpoint names epoch 1 as the best, whose checkpoint is gone.
    let state_path = last_checkpoint(&r).join("state.json");
    let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state["best_epoch"] = 1.into();
    std::fs::write(&state_path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    std::fs::remove_dir_all(r.join("checkpoints/epoch-0001")).unwrap();
    let before = snapshot(&r);
    refused("best gone", &eval(&["--run", &s(&r), "--checkpoint", "best"]), &["epoch-0001", "best", "--checkpoint last"]);
    assert_eq!(eval(&["--run", &s(&r), "--checkpoint", "last"]).0, 0);
    assert_eq!(snapshot(&r), before);
}

#[test]
fn checkpoint_paths_that_are_not_checkpoints_are_refused() {
    let sc = Scratch::new();
    let before = snapshot(&sc.run_dir());
    let run = s(&sc.run_dir());
    refused("nonsense", &eval(&["--run", &run, "--checkpoint", "nonsense"]), &["nonsense", "not a checkpoint directory", "best, last"]);
    let file = sc.path("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    refused("a file", &eval(&["--run", &run, "--checkpoint", &s(&file)]), &["notes.txt", "not a checkpoint directory"]);
    refused("the run itself", &eval(&["--run", &run, "--checkpoint", &run]), &["not a checkpoint directory"]);
    let ok = eval(&["--run", &run, "--checkpoint", &s(&sc.run_dir().join("checkpoints/epoch-0001/model.bpk"))]);
    assert_eq!(ok.0, 0, "a model file names its checkpoint: {}", ok.2);
    assert_eq!(snapshot(&sc.run_dir()), before);
}

#[test]
fn a_checkpoint_of_another_model_kind_or_size_says_which() {
    let sc = Scratch::new();
    // Another kind: a softmax regression run's checkpoint, given to eval of the MLP run.
    let softmax = sc.path("softmax");
    let text = edit(&sc.base(), "kind = \"mlp\"\nhidden = [16]", "kind = \"softmax_regression\"");
    let config = sc.config("softmax.toml", &text);
    assert_eq!(train(&["--config", &config, "--out", &s(&softmax)]).0, 0);
    let before = (snapshot(&sc.run_dir()), snapshot(&softmax));
    let foreign = s(&softmax.join("checkpoints/epoch-0002"));
    refused("another kind", &eval(&["--run", &s(&sc.run_dir()), "--checkpoint", &foreign]), &["softmax_regression model", "mlp model (", "hidden = [16]"]);
    // Another size: the run's saved config edited from 16 to 32 hidden units.
    run_refused(&sc, "edited_size", |r| {
        let config = std::fs::read_to_string(r.join("config.toml")).unwrap();
        std::fs::write(r.join("config.toml"), edit(&config, "hidden = [16]", "hidden = [32]")).unwrap();
    }, &["epoch-0002/model.bpk", "hidden = [16]", "hidden = [32]"], false);
    // --resume of a run whose last checkpoint was copied in from another model.
    let unfinished = sc.unfinished_run("foreign-resume");
    copy_dir(&softmax.join("checkpoints/epoch-0002"), &unfinished.join("checkpoints/epoch-0009"));
    let before_resume = snapshot(&unfinished);
    let config = sc.config("resume.toml", &sc.base());
    refused("resume foreign", &train(&["--config", &config, "--out", &s(&unfinished), "--resume"]), &["epoch-0009/model.bpk", "softmax_regression model", "mlp model"]);
    assert_eq!(snapshot(&unfinished), before_resume);
    assert_eq!((snapshot(&sc.run_dir()), snapshot(&softmax)), before);
}

#[test]
fn run_directories_with_broken_or_missing_files_are_named() {
    let sc = Scratch::new();
    let config = |r: &Path| r.join("config.toml");
    run_refused(&sc, "config_garbage", |r| std::fs::write(config(r), "garbage = [").unwrap(), &["config.toml", "line "], true);
    run_refused(&sc, "config_invalid", |r| {
        let text = std::fs::read_to_string(config(r)).unwrap();
        std::fs::write(config(r), edit(&text, "learning_rate = 0.1", "learning_rate = -0.1")).unwrap();
    }, &["config.toml", "training.learning_rate", "-0.1"], false);
    run_refused(&sc, "config_unknown_kind", |r| {
        let text = std::fs::read_to_string(config(r)).unwrap();
        std::fs::write(config(r), edit(&text, "kind = \"mlp\"", "kind = \"perceptron\"")).unwrap();
    }, &["config.toml", "perceptron", "softmax_regression"], false);
    run_refused(&sc, "config_empty", |r| std::fs::write(config(r), "").unwrap(), &["config.toml", "is empty"], true);
    run_refused(&sc, "config_binary", |r| std::fs::write(config(r), [0xde, 0xad, 0xbe, 0xef]).unwrap(), &["config.toml", "UTF-8"], true);
    run_refused(&sc, "config_missing", |r| std::fs::remove_file(config(r)).unwrap(), &["not a run directory"], true);
    run_refused(&sc, "run_json_missing", |r| std::fs::remove_file(r.join("run.json")).unwrap(), &["run.json"], false);
    run_refused(&sc, "run_json_corrupt", |r| truncate(&r.join("run.json"), 30), &["run.json", "corrupt"], true);
    run_refused(&sc, "run_json_nonsense", |r| {
        let text = std::fs::read_to_string(r.join("run.json")).unwrap();
        std::fs::write(r.join("run.json"), edit(&text, "\"scale\": 255.0", "\"scale\": 0.0")).unwrap();
    }, &["run.json", "scale"], false);

    // A run whose saved config was edited differs from the config given to --resume.
    let unfinished = sc.unfinished_run("edited-resume");
    let text = std::fs::read_to_string(config(&unfinished)).unwrap();
    std::fs::write(config(&unfinished), edit(&text, "learning_rate = 0.1", "learning_rate = 0.2")).unwrap();
    let before = snapshot(&unfinished);
    let given = sc.config("resume.toml", &sc.base());
    refused("edited config", &train(&["--config", &given, "--out", &s(&unfinished), "--resume"]), &["differs from the config saved in the run"]);
    assert_eq!(snapshot(&unfinished), before);

    // metrics.csv is derived data: eval does not need it, --resume writes it again.
    let no_metrics = sc.copy_run("no-metrics");
    std::fs::remove_file(no_metrics.join("metrics.csv")).unwrap();
    assert_eq!(eval(&["--run", &s(&no_metrics)]).0, 0);
    let unfinished = sc.unfinished_run("no-metrics-resume");
    std::fs::remove_file(unfinished.join("metrics.csv")).unwrap();
    let (code, _, stderr) = train(&["--config", &given, "--out", &s(&unfinished), "--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(metrics_without_seconds(&unfinished), metrics_without_seconds(&sc.run_dir()));
}

#[test]
fn missing_runs_and_resume_of_finished_or_never_started_runs_are_refused() {
    let sc = Scratch::new();
    let config = sc.config("tiny.toml", &sc.base());
    let missing = sc.path("no-such-run");
    refused("eval missing", &eval(&["--run", &s(&missing)]), &["no-such-run", "no such directory"]);
    refused("resume missing", &train(&["--config", &config, "--out", &s(&missing), "--resume"]), &["no-such-run", "no such directory"]);
    assert!(!missing.exists());
    let empty = sc.path("empty-dir");
    std::fs::create_dir(&empty).unwrap();
    refused("eval not a run", &eval(&["--run", &s(&empty)]), &["empty-dir", "not a run directory"]);
    let file = sc.path("a-file");
    std::fs::write(&file, "x").unwrap();
    refused("eval a file", &eval(&["--run", &s(&file)]), &["a-file", "not a directory"]);

    let before = snapshot(&sc.run_dir());
    refused("resume finished", &train(&["--config", &config, "--out", &s(&sc.run_dir()), "--resume"]), &["already finished", "eval --run"]);
    assert_eq!(snapshot(&sc.run_dir()), before);

    // Never started: the directory and config of a run, nothing else.
    let never = sc.path("never");
    std::fs::create_dir_all(never.join("checkpoints")).unwrap();
    std::fs::copy(sc.run_dir().join("config.toml"), never.join("config.toml")).unwrap();
    let before = snapshot(&never);
    refused("resume never started", &train(&["--config", &config, "--out", &s(&never), "--resume"]), &["never", "no checkpoint yet", "--force"]);
    refused("eval never started", &eval(&["--run", &s(&never)]), &["never", "run.json", "never started"]);
    assert_eq!(snapshot(&never), before);
}

#[test]
fn out_paths_that_are_files_or_foreign_directories_are_left_alone() {
    let sc = Scratch::new();
    let config = sc.config("tiny.toml", &sc.base());
    let file = sc.path("precious.txt");
    std::fs::write(&file, "do not delete").unwrap();
    for flags in [&[][..], &["--force"][..], &["--resume"][..]] {
        let mut args = vec!["--config", &config, "--out"];
        let f = s(&file);
        args.push(&f);
        args.extend_from_slice(flags);
        refused(&format!("--out file {flags:?}"), &train(&args), &["precious.txt", "not a directory"]);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "do not delete");
    let foreign = sc.path("photos");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("cat.jpg"), "meow").unwrap();
    let before = snapshot(&foreign);
    refused("foreign dir", &train(&["--config", &config, "--out", &s(&foreign)]), &["photos", "already exists"]);
    refused("foreign dir --force", &train(&["--config", &config, "--out", &s(&foreign), "--force"]), &["photos", "not a run directory"]);
    assert_eq!(snapshot(&foreign), before);
    refused("empty --out", &train(&["--config", &config, "--out", ""]), &["--out"]);
}

/// The unprivileged user the read-only test runs `train` as when the test itself runs as root
/// (for whom permissions do not apply): `nobody`.
const UNPRIVILEGED: &str = "65534";

/// How this machine runs a command without the privilege to ignore file permissions: nothing to
/// add when the test has no such privilege; as root, `setpriv` (util-linux) or `runuser` to drop
/// to [`UNPRIVILEGED`]. Fails the test, naming what is missing, when neither can.
fn unprivileged_prefix(privileged: bool) -> Vec<String> {
    if !privileged {
        return Vec::new();
    }
    let candidates: [Vec<String>; 2] = [
        vec!["setpriv".into(), format!("--reuid={UNPRIVILEGED}"), format!("--regid={UNPRIVILEGED}"), "--clear-groups".into()],
        ["runuser", "-u", "nobody", "--"].map(String::from).to_vec(),
    ];
    let mut tried = Vec::new();
    for prefix in candidates {
        let out = std::process::Command::new(&prefix[0]).args(&prefix[1..]).args(["id", "-u"]).output();
        match out {
            Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() != "0" => return prefix,
            Ok(o) => tried.push(format!("`{} id -u`: {} {}", prefix.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => tried.push(format!("`{}`: {e}", prefix[0])),
        }
    }
    panic!(
        "this test runs as a user that file permissions do not stop (root), and cannot drop that privilege to check a \
         read-only location: it needs util-linux's `setpriv` or `runuser` and the right to change user (CAP_SETUID). Tried:\n{}",
        tried.join("\n")
    );
}

#[test]
fn a_read_only_location_is_reported_not_panicked_on() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    // Everything the unprivileged user needs is readable by all: the scratch directory (0700 when
    // created), the data, the config and the binary (linked or copied next to them, as the build
    // directory may lie where that user cannot go, e.g. under /root).
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    mode(dir, 0o755);
    let data = tiny_set(&dir.join("data"));
    let config = write_config(dir, "tiny.toml", &tiny_config(&data));
    let binary = dir.join("train");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_train"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_train"), &binary).unwrap();
    }
    mode(&binary, 0o755);
    for p in [&data.join(FILES[0]), &data.join(FILES[1]), &data.join(FILES[2]), &data.join(FILES[3]), &PathBuf::from(&config)] {
        mode(p, 0o644);
    }
    mode(&data, 0o755);
    let locked = dir.join("read-only");
    std::fs::create_dir(&locked).unwrap();
    mode(&locked, 0o555);

    // Root (or anyone with CAP_DAC_OVERRIDE) writes into a read-only directory anyway: then
    // `train` runs as an unprivileged user, and must be refused like anybody else.
    let privileged = std::fs::write(locked.join("probe"), "x").is_ok();
    let _ = std::fs::remove_file(locked.join("probe"));
    let prefix = unprivileged_prefix(privileged);
    let as_user = |program: &str| {
        let mut cmd = std::process::Command::new(prefix.first().map_or(program, String::as_str));
        cmd.args(prefix.iter().skip(1)).args(if prefix.is_empty() { None } else { Some(program) });
        cmd.current_dir(dir).env("MNIST_BURN_DEVICE", "flex").env("HOME", dir);
        cmd
    };
    // The user reaches everything the run reads, and is refused a write into the directory.
    let reach = common::output(as_user("sh").args(["-c", r#"test -r "$1" && test -x "$2" && test -r "$3" && ! touch "$4/probe" 2>/dev/null"#, "sh", &config]).arg(&binary).arg(data.join(FILES[0])).arg(&locked));
    assert_eq!(
        reach.0, 0,
        "as {}, the scratch directory {} must be readable and {} not writable (check the modes of its parent directories): {}",
        if privileged { format!("uid {UNPRIVILEGED}") } else { "this user".into() },
        dir.display(),
        locked.display(),
        reach.2
    );

    let out = locked.join("run");
    let result = common::output(as_user(&s(&binary)).args(["--config", &config, "--out", &s(&out)]));
    refused("read-only parent", &result, &["read-only", &s(&out), "Permission denied"]);
    assert!(!out.exists(), "a run directory appeared in the read-only directory");
    mode(&locked, 0o755);
}

// ---------------------------------------------------------------------------------------------
// Command line

#[test]
fn command_line_mistakes_are_refused() {
    let sc = Scratch::new();
    let config = sc.config("tiny.toml", &sc.base());
    let run_dir = s(&sc.run_dir());
    let before = snapshot(&sc.run_dir());
    refused("unknown flag", &train(&["--config", &config, "--learning-rate", "3"]), &["--learning-rate"]);
    refused("missing --config", &train(&[]), &["--config"]);
    refused("--config without value", &train(&["--config"]), &["--config"]);
    refused("--resume and --force", &train(&["--config", &config, "--resume", "--force"]), &["--resume", "--force"]);
    refused("--epochs -1", &train(&["--config", &config, "--epochs", "-1"]), &["--epochs", "-1"]);
    refused("--epochs x", &train(&["--config", &config, "--epochs", "x"]), &["--epochs"]);
    refused("--epochs 0", &train(&["--config", &config, "--epochs", "0"]), &["--epochs 0", "at least 1"]);
    refused("eval unknown flag", &eval(&["--run", &run_dir, "--fast"]), &["--fast"]);
    refused("eval missing --run", &eval(&[]), &["--run"]);
    refused("eval --split", &eval(&["--run", &run_dir, "--split", "train"]), &["train", "test", "validation"]);
    assert_eq!(snapshot(&sc.run_dir()), before);
}

#[test]
fn devices_missing_from_the_build_name_the_cargo_feature() {
    let sc = Scratch::new();
    let config = sc.config("tiny.toml", &sc.base());
    let run_dir = s(&sc.run_dir());
    let before = snapshot(&sc.run_dir());
    refused("unknown device", &train(&["--config", &config, "--device", "tpu"]), &["tpu", "flex, ndarray, wgpu, vulkan"]);
    refused("eval unknown device", &eval(&["--run", &run_dir, "--device", "tpu"]), &["tpu", "flex"]);
    // The default build holds `flex` only; a GPU backend must say how to get it.
    let wgpu_compiled = train(&["--config", &config, "--device", "wgpu", "--dry-run"]).0 == 0;
    if !wgpu_compiled {
        for device in ["wgpu", "vulkan", "ndarray"] {
            let feature = format!("--features {device}");
            refused(device, &train(&["--config", &config, "--out", &run_dir, "--force", "--device", device]), &[device, "not compiled", &feature]);
            refused(device, &eval(&["--run", &run_dir, "--device", device]), &[device, &feature]);
            let text = format!("device = \"{device}\"\n{}", sc.base());
            let in_config = sc.config(&format!("{device}.toml"), &text);
            refused(device, &train(&["--config", &in_config, "--out", &run_dir, "--force"]), &[device, &feature]);
        }
    }
    assert_eq!(snapshot(&sc.run_dir()), before);
}

/// Runs `name` with `MNIST_BURN_DEVICE` set to `value`.
fn with_device_env(name: &str, value: &str, args: &[&str]) -> (i32, String, String) {
    common::output(bin(name).env("MNIST_BURN_DEVICE", value).args(args))
}

#[test]
fn the_device_environment_variable_is_a_default_that_flags_and_configs_override() {
    let sc = Scratch::new();
    let config = sc.config("tiny.toml", &sc.base());
    let run_dir = s(&sc.run_dir());
    let before = snapshot(&sc.run_dir());
    // A bad value is refused with the variable's name, before anything is touched.
    refused("env tpu", &with_device_env("train", "tpu", &["--config", &config, "--out", &run_dir, "--force"]), &["MNIST_BURN_DEVICE", "tpu", "flex"]);
    refused("eval env tpu", &with_device_env("eval", "tpu", &["--run", &run_dir]), &["MNIST_BURN_DEVICE", "tpu"]);
    assert_eq!(snapshot(&sc.run_dir()), before);
    // `--device` and the config's `device` both take precedence over it.
    let (code, _, stderr) = with_device_env("train", "tpu", &["--config", &config, "--device", "flex", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    let in_config = sc.config("flex.toml", &format!("device = \"flex\"\n{}", sc.base()));
    let (code, _, stderr) = with_device_env("train", "tpu", &["--config", &in_config, "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    // Set to the CPU backend, it is the one a run uses.
    let (code, stdout, stderr) = with_device_env("train", "flex", &["--config", &config, "--out", &run_dir, "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(" on flex ("), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Numerics

/// Parses `... in epoch N (between steps A and B) ...`.
fn epoch_and_steps(stderr: &str) -> (u64, u64, u64) {
    let word_after = |w: &str| -> u64 {
        let at = stderr.find(w).unwrap_or_else(|| panic!("no {w:?} in {stderr}")) + w.len();
        stderr[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    (word_after("in epoch "), word_after("between steps "), word_after(" and "))
}

#[test]
fn a_loss_that_explodes_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let sc = Scratch::new();
    // The learning rate is multiplied by 10^5 every epoch: fine in epoch 1, NaN or infinite soon.
    let text = edit(
        &edit(&edit(&sc.base(), "epochs = 2", "epochs = 6\nlog_every = 2\nschedule = { kind = \"exponential\", gamma = 1e5 }"), "learning_rate = 0.1", "learning_rate = 0.01"),
        "train_limit = 300",
        "normalization = \"standardize\"\ntrain_limit = 300",
    );
    let config = sc.config("explodes.toml", &text);
    let out = sc.path("explodes");
    let result = train(&["--config", &config, "--out", &s(&out)]);
    refused("non-finite loss", &result, &["the loss became", "in epoch", "between steps", "lower the learning rate"]);
    let (epoch, first, last) = epoch_and_steps(&result.2);
    assert!(epoch >= 2, "the loss exploded in epoch 1; the test needs a later epoch: {}", result.2);
    // 6 steps an epoch: the steps named lie in that epoch.
    assert!((epoch - 1) * 6 < first && first <= last && last <= epoch * 6, "{}", result.2);
    assert!(result.2.contains(&format!("checkpoint of epoch {} ", epoch - 1)), "{}", result.2);
    let epochs = assert_readable(&out);
    assert_eq!(epochs.last(), Some(&(epoch - 1)), "the last checkpoint is that of the epoch before");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count() as u64, 1 + 2 * (epoch - 1), "{metrics}");
    // The good checkpoint holds the weights that produced its recorded validation loss.
    let (code, json, stderr) = eval(&["--run", &s(&out), "--checkpoint", "last", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let recorded: f64 = metrics.lines().last().unwrap().split(',').nth(2).unwrap().parse().unwrap();
    let evaluated = v["loss"].as_f64().unwrap();
    assert!(evaluated.is_finite() && ((evaluated - recorded) / recorded).abs() < 1e-4, "{evaluated} vs {recorded}");
    let info = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(info.contains("\"finished\": false"), "{info}");
    assert!(!out.join("train.lock").exists());
}

// ---------------------------------------------------------------------------------------------
// Interruption: SIGINT, SIGTERM, SIGKILL, and two trainers on one run
//
// Every interruption lands at a point the test names, through the trainer's test hooks
// (`MNIST_BURN_TEST_PAUSE_AT`, see `mnist_runs::hooks`): the process pauses there, says so with
// a marker file, and waits for the signal. Nothing depends on how fast the machine is.

/// Four epochs of 113 steps (1,800 training images in batches of 16) on real MNIST.
const RESUMABLE: &str = r#"[experiment]
name = "resumable"
seed = 23

[data]
set = "mnist"

validation_fraction = 0.1
train_limit = 2000
test_limit = 500

[model]
kind = "mlp"
hidden = [128]
dropout = 0.2

[training]
epochs = 4
batch_size = 16
loss = "cross_entropy"
learning_rate = 0.05
optimizer = { kind = "sgd", momentum = 0.9 }
keep_checkpoints = 2
"#;

/// Steps per epoch of [`RESUMABLE`]; [`reference`] checks it.
const STEPS_PER_EPOCH: usize = 113;
/// `training.keep_checkpoints` of [`RESUMABLE`].
const KEEP_CHECKPOINTS: usize = 2;
/// A step in the middle of epoch 2.
const MID_EPOCH_2: &str = "step@170";

/// The config file of [`RESUMABLE`] and the metrics of its uninterrupted run, computed once.
fn reference() -> (&'static PathBuf, &'static Vec<String>) {
    static REFERENCE: OnceLock<(tempfile::TempDir, PathBuf, Vec<String>)> = OnceLock::new();
    let (_, config, metrics) = REFERENCE.get_or_init(|| {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let config = PathBuf::from(write_config(dir.path(), "resumable.toml", RESUMABLE));
        let out = dir.path().join("whole");
        let (code, stdout, stderr) = train(&["--config", &s(&config), "--out", &s(&out)]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(&format!("done: 4 epochs, {} steps", 4 * STEPS_PER_EPOCH)), "{stdout}");
        let metrics = metrics_without_seconds(&out);
        assert_eq!(metrics.len(), 1 + 2 * 4);
        let kept = kept_checkpoints(&validation_losses(&metrics), KEEP_CHECKPOINTS);
        assert_eq!(assert_readable(&out), kept[3].0, "the run keeps the checkpoints its validation losses imply");
        (dir, config, metrics)
    });
    (config, metrics)
}

fn finish_with_resume(config: &Path, out: &Path) {
    let (code, stdout, stderr) = train(&["--config", &s(config), "--out", &s(out), "--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Resuming"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The `error:` lines of a stopped run's stderr (exactly one is expected).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error: ")).collect()
}

/// SIGINT (Ctrl-C) and SIGTERM (a scheduler) in the middle of epoch 2: the run stops before the
/// next step with the shell's status for the signal, keeps epoch 1, and resumes to exactly the
/// uninterrupted run's metrics.
#[test]
fn sigint_and_sigterm_stop_cleanly_and_resume_reaches_the_uninterrupted_metrics() {
    let (config, whole) = reference();
    for (signal, code, words) in [("INT", 130, "interrupted (SIGINT) during epoch 2"), ("TERM", 143, "terminated (SIGTERM) during epoch 2")] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("interrupted");
        let mut paused = spawn_paused(config, &out, &[], &[MID_EPOCH_2]);
        paused.wait_for(MID_EPOCH_2);
        paused.signal(signal);
        let (status, stderr) = paused.finish();
        assert_eq!(status, Some(code), "SIG{signal}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let error = error_lines(&stderr);
        assert_eq!(error.len(), 1, "{stderr}");
        assert!(error[0].contains(words) && error[0].contains("--resume") && error[0].contains(&s(&out)), "{stderr}");
        assert!(!out.join("train.lock").exists(), "the lock is released");
        assert_eq!(assert_readable(&out), vec![1], "SIG{signal}: epoch 1 is kept, epoch 2 is not");
        assert_eq!(metrics_without_seconds(&out)[..], whole[..3], "epoch 1 matches the uninterrupted run");
        finish_with_resume(config, &out);
        assert_eq!(&metrics_without_seconds(&out), whole, "SIG{signal}");
    }
}

#[test]
fn a_signal_before_the_first_checkpoint_says_there_is_nothing_to_resume() {
    let (config, _) = reference();
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("early");
        let mut paused = spawn_paused(config, &out, &[], &["step@1"]);
        paused.wait_for("step@1");
        paused.signal(signal);
        let (status, stderr) = paused.finish();
        assert_eq!(status, Some(code), "{stderr}");
        assert!(stderr.contains("before any epoch completed") && stderr.contains("--force"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.join("train.lock").exists());
        refused("resume after an early stop", &train(&["--config", &s(config), "--out", &s(&out), "--resume"]), &["no checkpoint yet"]);
    }
}

/// A second signal while the run is shutting down, or while it is writing its files after the
/// first, ends the process at once; whatever was written stays readable and the run resumes to
/// the uninterrupted metrics.
#[test]
fn a_second_signal_during_shutdown_exits_at_once_and_corrupts_nothing() {
    let (config, whole) = reference();
    // 1. Both signals mid-epoch: the second lands while the run is stopping.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("twice");
    let mut paused = spawn_paused(config, &out, &[], &[MID_EPOCH_2, "shutdown"]);
    paused.wait_for(MID_EPOCH_2);
    paused.signal("TERM");
    paused.wait_for("shutdown");
    paused.signal("TERM");
    let (status, stderr) = paused.finish();
    assert_eq!(status, Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM again: exiting now"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(assert_readable(&out), vec![1]);
    finish_with_resume(config, &out);
    assert_eq!(&metrics_without_seconds(&out), whole);

    // 2. The first signal during epoch 2's checkpoint write (which completes), the second while
    //    metrics.csv is written under its temporary name: it exits there, with the checkpoint of
    //    epoch 2 in place and metrics.csv still at epoch 1.
    let out = dir.path().join("twice-mid-write");
    let mut paused = spawn_paused(config, &out, &[], &["checkpoint@2", "write:metrics.csv@2"]);
    paused.wait_for("checkpoint@2");
    paused.signal("INT");
    paused.wait_for("write:metrics.csv@2");
    paused.signal("INT");
    let (status, stderr) = paused.finish();
    assert_eq!(status, Some(130), "{stderr}");
    assert!(stderr.contains("SIGINT again: exiting now"), "{stderr}");
    assert_eq!(assert_readable(&out), vec![1, 2]);
    assert_eq!(metrics_without_seconds(&out)[..], whole[..3], "metrics.csv is the old one, whole");
    finish_with_resume(config, &out);
    assert_eq!(&metrics_without_seconds(&out), whole);
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "the resumed run removes the killed write's temporary file: {leftovers:?}");
}

#[test]
fn sigkill_at_every_kind_of_point_loses_nothing_and_resume_matches() {
    let (config, whole) = reference();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed");

    // 1. Killed inside the first checkpoint write: nothing to resume, the half-written checkpoint
    //    is invisible.
    let mut paused = spawn_paused(config, &out, &[], &["checkpoint@1"]);
    paused.wait_for("checkpoint@1");
    paused.kill();
    assert!(assert_readable(&out).is_empty());
    assert!(out.join("checkpoints/.tmp-epoch-0001/model.bpk").exists(), "killed with the files written, before the rename");
    assert!(out.join("train.lock").exists(), "SIGKILL leaves the lock file behind");
    refused("resume with no checkpoint", &train(&["--config", &s(config), "--out", &s(&out), "--resume"]), &["no checkpoint yet"]);

    // 2. Restarted (the stale lock is no obstacle) and killed in the middle of epoch 2.
    let mut paused = spawn_paused(config, &out, &["--force"], &[MID_EPOCH_2]);
    paused.wait_for(MID_EPOCH_2);
    paused.kill();
    assert_eq!(assert_readable(&out), vec![1], "killed in epoch 2");
    let metrics_before = std::fs::read(out.join("metrics.csv")).unwrap();

    // 3. Resumed, then killed at each kind of point in turn; every time the checkpoints and
    //    metrics stay readable and only grow. Which checkpoints are on disk after each save
    //    follows from the uninterrupted run's validation losses (the best epoch is never pruned).
    let kept = kept_checkpoints(&validation_losses(whole), KEEP_CHECKPOINTS);
    let after = |epoch: usize| kept[epoch - 1].0.clone();
    assert!(
        kept[2].1,
        "the test kills at prune@3, but saving epoch 3 prunes nothing: epoch 1 is still the best (validation losses {:?})",
        validation_losses(whole)
    );
    let points = [
        ("checkpoint@3", after(2)),        // epoch 3's checkpoint half written
        ("load@2", after(2)),              // loading the weights to resume from
        ("prune@3", after(3)),             // epoch 3 saved, the oldest checkpoint half deleted
        ("tensorboard@4", after(4)),       // TensorBoard records half appended
        ("write:metrics.csv@4", after(4)), // metrics.csv half rewritten (on resuming)
    ];
    for (point, epochs) in points {
        let mut paused = spawn_paused(config, &out, &["--resume"], &[point]);
        paused.wait_for(point);
        paused.kill();
        assert_eq!(assert_readable(&out), epochs, "killed at {point}");
        assert!(std::fs::read(out.join("metrics.csv")).unwrap().starts_with(&metrics_before[..metrics_before.len() - 1]), "killed at {point}");
    }
    finish_with_resume(config, &out);
    assert_eq!(&metrics_without_seconds(&out), whole, "the resumed run ends with the uninterrupted run's metrics");
    let (code, _, stderr) = eval(&["--run", &s(&out)]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_second_trainer_on_a_run_in_use_is_refused_and_a_crashed_runs_lock_is_not_stuck() {
    let (config, whole) = reference();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    let mut first = spawn_paused(config, &out, &[], &[MID_EPOCH_2]);
    first.wait_for(MID_EPOCH_2);
    let pid = first.child.id().to_string();
    for flags in [&[][..], &["--resume"][..], &["--force"][..]] {
        let mut args = vec!["--config".to_string(), s(config), "--out".into(), s(&out)];
        args.extend(flags.iter().map(|f| f.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&format!("second trainer {flags:?}"), &train(&args), &["in use by another `train` process", &pid]);
        assert!(out.join("config.toml").is_file() && out.join("checkpoints/epoch-0001").is_dir(), "the second trainer deleted the run");
    }
    // The first one crashes: its lock file stays, but locks nobody out.
    first.kill();
    assert!(out.join("train.lock").exists());
    assert_readable(&out);
    finish_with_resume(config, &out);
    assert!(!out.join("train.lock").exists());
    assert_eq!(&metrics_without_seconds(&out), whole);
}

/// `eval` and `report` on a run that `train` is training read its last checkpoint, and leave
/// what the trainer writes alone (the event file it appends to is not replaced under it).
#[test]
fn eval_and_report_on_a_run_being_trained_leave_it_alone() {
    let (config, whole) = reference();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live");
    let mut paused = spawn_paused(config, &out, &[], &[MID_EPOCH_2]);
    paused.wait_for(MID_EPOCH_2);
    let events = mnist_runs::tensorboard::event_files(&out.join("tensorboard")).unwrap();
    let before = std::fs::read(&events[0]).unwrap();
    let (code, stdout, stderr) = eval(&["--run", &s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("(epoch 1)"), "{stdout}");
    let (code, _, stderr) = run("report", &["--run", &s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.join("report.html").is_file());
    assert_eq!(mnist_runs::tensorboard::event_files(&out.join("tensorboard")).unwrap(), events);
    assert_eq!(std::fs::read(&events[0]).unwrap(), before, "the live event file was rewritten");
    paused.signal("TERM");
    assert_eq!(paused.finish().0, Some(143));
    finish_with_resume(config, &out);
    assert_eq!(&metrics_without_seconds(&out), whole);
}

#[test]
fn a_lock_file_left_with_a_dead_or_reused_pid_does_not_block() {
    let sc = Scratch::new();
    let unfinished = sc.unfinished_run("stale");
    // pid 1 is alive (init): a pid check alone would refuse forever.
    std::fs::write(unfinished.join("train.lock"), "1").unwrap();
    let config = sc.config("tiny.toml", &sc.base());
    let (code, _, stderr) = train(&["--config", &config, "--out", &s(&unfinished), "--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!unfinished.join("train.lock").exists());
    let garbage = sc.copy_run("garbage-lock");
    std::fs::write(garbage.join("train.lock"), "not a pid").unwrap();
    let (code, _, stderr) = train(&["--config", &config, "--out", &s(&garbage), "--force"]);
    assert_eq!(code, 0, "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// A full disk

/// The variable that lets the full-disk test pass on a machine that cannot mount a private tmpfs
/// (no user namespaces and not root): it then says that the check was opted out.
const NO_TMPFS: &str = "MNIST_BURN_TEST_NO_TMPFS";

/// Runs `train` with its run directory on a private tmpfs of `size` (a mount namespace of its
/// own, so no trace is left on the machine), then copies what it wrote to `copy`; returns
/// `train`'s exit code and stderr. Where this machine does not allow such a mount, the test fails
/// naming what is missing, unless [`NO_TMPFS`]`=1` opts out of the check: then it returns `None`.
fn train_on_small_disk(config: &Path, size: &str, copy: &Path) -> Option<(i32, String)> {
    let disk = tempfile::tempdir().unwrap();
    let script = r#"mount -t tmpfs -o size="$1" tmpfs "$2" || exit 97
"$3" --config "$4" --out "$2/run"; code=$?
cp -a "$2/run" "$5" && exit $code"#;
    // A user namespace mapping us to root where unprivileged users may create one; a plain mount
    // namespace where we are root already (and user namespaces are off).
    let mut failures = Vec::new();
    for flags in [&["--mount", "--map-root-user"][..], &["--mount"][..]] {
        let out = std::process::Command::new("unshare")
            .args(flags)
            .args(["sh", "-c", script, "sh", size])
            .arg(disk.path())
            .arg(env!("CARGO_BIN_EXE_train"))
            .arg(config)
            .arg(copy)
            .current_dir(common::root())
            .env("MNIST_BURN_DEVICE", "flex")
            .output();
        let out = match out {
            Ok(out) => (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => {
                failures.push(format!("`unshare` cannot be run: {e}"));
                break;
            }
        };
        if out.0 == 97 || (out.0 == 1 && out.1.contains("unshare")) {
            failures.push(format!("`unshare {}` then `mount -t tmpfs`: exit {}, {}", flags.join(" "), out.0, out.1.trim()));
            continue;
        }
        return Some(out);
    }
    let lacks = format!(
        "this machine cannot mount a private tmpfs for the full-disk check: it needs util-linux's `unshare` and either user \
         namespaces open to this user (kernel.unprivileged_userns_clone, user.max_user_namespaces) or root with CAP_SYS_ADMIN.\n{}",
        failures.join("\n")
    );
    if std::env::var(NO_TMPFS).is_ok_and(|v| v == "1") {
        println!("full-disk check opted out ({NO_TMPFS}=1): {lacks}");
        return None;
    }
    panic!("{lacks}\nSet {NO_TMPFS}=1 to opt out of this check on such a machine (docs/testing.md).");
}

/// The disk fills up while epoch 2's checkpoint is written: `train` stops with one error line
/// naming the file and the cause, epoch 1 stays whole, and the run resumes elsewhere to the
/// uninterrupted metrics.
#[test]
fn a_full_disk_stops_training_with_a_clear_error_and_keeps_the_last_checkpoint() {
    let (config, whole) = reference();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copied");
    // One checkpoint of this model is 400 KB of weights and 400 KB of momentum: the disk holds
    // one, not two.
    let Some((code, stderr)) = train_on_small_disk(config, "1200k", &copy) else {
        // Opted out, and said so (`MNIST_BURN_TEST_NO_TMPFS=1` on a machine without the mount).
        return;
    };
    refused("full disk", &(code, String::new(), stderr.clone()), &["No space left on device"]);
    assert_eq!(assert_readable(&copy), vec![1], "epoch 1 is kept whole: {stderr}");
    assert_eq!(metrics_without_seconds(&copy)[..], whole[..3]);
    finish_with_resume(config, &copy);
    assert_eq!(&metrics_without_seconds(&copy), whole);
}
