//! End-to-end tests of `sweep`: a tiny grid run with two trials at once, summarized, resumed as a
//! no-op, refused when the spec changes, and its bad inputs each answered with one error line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn base_config(dir: &Path) -> String {
    let data = common::root().join("data/mnist");
    let text = format!(
        "[experiment]\nname = \"tiny\"\nseed = 3\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\nnormalization = \"unit\"\ntrain_limit = 300\ntest_limit = 100\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n",
        data.display()
    );
    common::write_config(dir, "base.toml", &text)
}

/// Writes a sweep file over `base.toml` with `body` after its `[sweep]` table's `base` line.
fn sweep_file(dir: &Path, name: &str, body: &str) -> String {
    base_config(dir);
    common::write_config(dir, name, &format!("[sweep]\nname = \"tiny\"\nbase = \"base.toml\"\n{body}"))
}

fn sweep(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(common::bin_path("sweep"));
    cmd.current_dir(common::root()).env("MNIST_BURN_DEVICE", "flex").args(args);
    common::output(&mut cmd)
}

/// The final test metrics of a run, from `eval --run DIR --json`: independent of the sweep's own
/// reading.
fn eval_json(run: &Path) -> serde_json::Value {
    let (code, out, err) = common::run("eval", &["--run", &run.display().to_string(), "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(String::from).collect()).collect())
}

const GRID: &str = "repeats = 2\nmetrics = [\"test.accuracy\", \"test.loss\"]\n[grid]\n\"training.learning_rate\" = [0.05, 0.1]\n";

#[test]
fn a_sweep_runs_its_trials_summarizes_them_and_resumes_as_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "tiny.toml", GRID);
    let out = tmp.path().join("out");
    let out_s = out.display().to_string();
    let (code, stdout, stderr) = sweep(&["--config", &file, "--jobs", "2", "--out", &out_s]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("4 trials") && stdout.contains("2 at a time"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with('[') && l.contains("/4] ")).count(), 4, "{stdout}");
    let names = ["training.learning_rate=0.05,seed=3", "training.learning_rate=0.05,seed=4", "training.learning_rate=0.1,seed=3", "training.learning_rate=0.1,seed=4"];
    let metrics: Vec<serde_json::Value> = names.iter().map(|n| eval_json(&out.join(n))).collect();
    // The seeds differ: the two trials of a point are not the same run.
    assert_ne!(metrics[0]["loss"], metrics[1]["loss"]);

    let (header, rows) = csv_rows(&out.join("summary.csv"));
    assert_eq!(header[0], "training.learning_rate");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    for (row, (point, pair)) in rows.iter().zip([("0.05", &metrics[0..2]), ("0.1", &metrics[2..4])]) {
        assert_eq!(row[0], point);
        for m in ["accuracy", "loss"] {
            assert_eq!(row[col(&format!("test.{m}.n"))], "2");
            let (a, b) = (pair[0][m].as_f64().unwrap(), pair[1][m].as_f64().unwrap());
            let mean: f64 = row[col(&format!("test.{m}.mean"))].parse().unwrap();
            assert!((mean - (a + b) / 2.0).abs() < 1e-12, "{m} mean {mean} vs {a}, {b}");
            let min: f64 = row[col(&format!("test.{m}.min"))].parse().unwrap();
            assert_eq!(min, a.min(b));
            let std: f64 = row[col(&format!("test.{m}.std"))].parse().unwrap();
            assert!((std - (a - b).abs() / 2f64.sqrt()).abs() < 1e-12, "{m} std {std}");
        }
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| training.learning_rate | test.accuracy mean ± std |"), "{md}");
    // The figures: each metric against the one varied key, and the mean validation curves.
    for (file, width) in [("test.accuracy_vs_training.learning_rate.png", 600), ("test.loss_vs_training.learning_rate.png", 600), ("val_curves.png", 1200)] {
        assert_eq!(png_size(&out.join("plots").join(file)), (width, 420), "{file}");
    }
    // TensorBoard's HParams data: the experiment at the top, a session file beside each trial's
    // own event file (which stays the trainer's one file), holding the final test metrics.
    let tfevents = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.contains("tfevents")).collect();
        names.sort();
        names
    };
    let top = tfevents(&out);
    assert!(top.len() == 1 && top[0].ends_with(".hparams-experiment"), "{top:?}");
    let board = out.join(names[0]).join("tensorboard");
    let files = tfevents(&board);
    assert!(files.len() == 2 && files[0].contains(".mnist-burn.") && files[1].ends_with(".sweep-hparams"), "{files:?}");
    assert!(!common::event_points(&out.join(names[0])).is_empty());
    let session = mnist_runs::tensorboard::read_scalars(&board.join(&files[1])).unwrap();
    let test: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join(names[0]).join("test.json")).unwrap()).unwrap();
    assert!(session.iter().any(|s| s.tag == "test/loss" && s.value == test["loss"].as_f64().unwrap() as f32), "{session:?}");

    // Rerunning the same command starts no trial.
    let before = common::snapshot(&out.join(names[0]));
    let (code, stdout, stderr) = sweep(&["--config", &file, "--jobs", "2", "--out", &out_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 of 4 trials already finished"), "{stdout}");
    assert!(!stdout.contains("/4]"), "{stdout}");
    assert_eq!(common::snapshot(&out.join(names[0])), before);

    // An interrupted trial (checkpointed, not finished) is resumed; a finished one whose test
    // metrics were not saved is only evaluated. Both end with the metrics they had.
    let interrupted = out.join(names[1]);
    let info_path = interrupted.join("run.json");
    let info = std::fs::read_to_string(&info_path).unwrap().replace("\"finished\": true", "\"finished\": false");
    std::fs::write(&info_path, info).unwrap();
    std::fs::remove_file(interrupted.join("test.json")).unwrap();
    std::fs::remove_file(out.join(names[2]).join("test.json")).unwrap();
    let (code, stdout, stderr) = sweep(&["--config", &file, "--jobs", "2", "--out", &out_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("(2 already finished, 0 to start, 1 to resume, 1 to evaluate)"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.contains("/2] ")).count(), 2, "{stdout}");
    assert!(std::fs::read_to_string(out.join("logs").join(format!("{}.log", names[1]))).unwrap().contains("--resume"));
    assert_eq!(eval_json(&interrupted)["loss"], metrics[1]["loss"]);
    let (_, again) = csv_rows(&out.join("summary.csv"));
    assert_eq!(again, rows);

    // A different spec in the same directory is refused, and nothing is touched.
    let changed = sweep_file(tmp.path(), "tiny.toml", &GRID.replace("repeats = 2", "repeats = 3"));
    let before = common::snapshot(&out).into_iter().filter(|(p, _)| !p.ends_with("sweep.lock")).collect::<Vec<_>>();
    let (code, _, stderr) = sweep(&["--config", &changed, "--out", &out_s]);
    assert_ne!(code, 0);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: sweep directory") && stderr.contains("holds a different sweep (repeats = 2 there, 3 now)") && stderr.contains("--force"), "{stderr}");
    let after = common::snapshot(&out).into_iter().filter(|(p, _)| !p.ends_with("sweep.lock")).collect::<Vec<_>>();
    assert_eq!(after, before);
    // With --force: only the new repeat of each point runs.
    let (code, stdout, stderr) = sweep(&["--config", &changed, "--out", &out_s, "--force", "--jobs", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("6 trials") && stdout.contains("4 already finished, 2 to start"), "{stdout}");
    let (_, rows) = csv_rows(&out.join("summary.csv"));
    assert!(rows.iter().all(|r| r[col("test.accuracy.n")] == "3"), "{rows:?}");
}

#[test]
fn a_failing_trial_is_reported_at_the_end_and_retried_by_a_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::root().join("data/mnist").display().to_string();
    let body = format!("[set]\n\"data.set\" = \"mnist\"\n[grid]\n\"data.dir\" = [\"{data}\", \"{}/no-data\"]\n", tmp.path().display());
    let file = sweep_file(tmp.path(), "fail.toml", &body);
    let out = tmp.path().join("out").display().to_string();
    let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &out]);
    assert_ne!(code, 0);
    assert!(stdout.lines().any(|l| l.starts_with("[1/2] ") || l.starts_with("[2/2] ")), "{stdout}");
    assert!(stdout.contains("FAILED: `train` exited"), "{stdout}");
    // The tail of the trial's log, then one error line naming it.
    assert!(stderr.contains("no-data"), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: 1 of 2 trials failed: data.dir=") && last.contains("rerun the same command to retry them"), "{stderr}");
    // The good trial is summarized.
    let (_, rows) = csv_rows(&PathBuf::from(&out).join("summary.csv"));
    assert_eq!(rows.len(), 2);
    // A rerun retries only the failed trial.
    let (code, stdout, _) = sweep(&["--config", &file, "--out", &out]);
    assert_ne!(code, 0);
    assert!(stdout.contains("1 already finished, 1 to start"), "{stdout}");
}

#[test]
fn bad_sweeps_are_refused_with_one_line_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (sweep_file(tmp.path(), "unknown.toml", "[grid]\n\"training.learnin_rate\" = [0.1]\n"), "unknown key `training.learnin_rate`"),
        (sweep_file(tmp.path(), "type.toml", "[grid]\n\"training.epochs\" = [1, \"two\"]\n"), "[grid] \"training.epochs\" = two"),
        (sweep_file(tmp.path(), "empty.toml", "[grid]\n\"training.learning_rate\" = []\n"), "\"training.learning_rate\" is an empty axis"),
        (sweep_file(tmp.path(), "zero.toml", "repeats = 0\n"), "sweep.repeats = 0 must be at least 1"),
        (common::write_config(tmp.path(), "nobase.toml", "[sweep]\nbase = \"missing.toml\"\n"), "no config file at"),
        (base_config(tmp.path()), "not a sweep file"),
        (tmp.path().join("absent.toml").display().to_string(), "cannot read it"),
    ];
    for (file, expected) in cases {
        let out = tmp.path().join("out");
        let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &out.display().to_string()]);
        assert_ne!(code, 0, "{file}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
        assert!(stderr.starts_with("error: sweep ") && stderr.contains(&file) && stderr.contains(expected), "{file}: {stderr}");
        assert!(!out.exists(), "{file} created the sweep directory");
    }
    let file = sweep_file(tmp.path(), "ok.toml", GRID);
    let (code, _, stderr) = sweep(&["--config", &file, "--jobs", "0"]);
    assert_ne!(code, 0);
    assert_eq!(stderr.trim(), "error: --jobs 0: expected at least 1");
    // --dry-run lists the trials and writes nothing.
    let out = tmp.path().join("dry");
    let (code, stdout, stderr) = sweep(&["--config", &file, "--dry-run", "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 trials") && stdout.contains("  training.learning_rate=0.1,seed=4"), "{stdout}");
    assert!(!out.exists());
}

#[test]
fn two_sweeps_on_one_directory_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "tiny.toml", GRID);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Another sweep holds the lock (the lock is an flock: the test takes it as `sweep` would).
    let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(out.join("sweep.lock")).unwrap();
    held.try_lock().unwrap();
    let (code, _, stderr) = sweep(&["--config", &file, "--out", &out.display().to_string()]);
    assert_ne!(code, 0);
    assert!(stderr.starts_with("error: sweep directory") && stderr.contains("in use by another `sweep` process"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn the_l2_sweep_file_expands_to_fifteen_trials() {
    let (code, stdout, stderr) = sweep(&["--config", "configs/sweeps/l2.toml", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("15 trials into artifacts/l2"), "{stdout}");
    for name in ["training.l2=1e-6,seed=42", "training.l2=0.00025075,seed=43", "training.l2=0.001,seed=44"] {
        assert!(stdout.contains(name), "{name}: {stdout}");
    }
}

#[test]
fn the_noise_sweep_keeps_its_own_name() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing").display().to_string();
    let mut cmd = Command::new(common::bin_path("noise-sweep"));
    cmd.current_dir(common::root()).args(["--denoiser", &missing, "--classifier", &missing]);
    let (code, _, stderr) = common::output(&mut cmd);
    assert_ne!(code, 0);
    assert!(stderr.starts_with("error: ") && stderr.contains("missing") && stderr.lines().count() == 1, "{stderr}");
    let (code, stdout, _) = common::output(Command::new(common::bin_path("noise-sweep")).arg("--help"));
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: noise-sweep [OPTIONS] --denoiser"), "{stdout}");
}

#[test]
fn a_stopped_sweep_stops_its_trials_cleanly_and_a_rerun_resumes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "stop.toml", "[set]\n\"training.epochs\" = 2\n");
    let out = tmp.path().join("out");
    let markers = tempfile::tempdir().unwrap();
    // The trial's `train` (which inherits the environment) pauses before step 8, in epoch 2, with
    // epoch 1 checkpointed; the sweep is then stopped as Slurm or systemd would stop it.
    let mut child = Command::new(common::bin_path("sweep"))
        .current_dir(common::root())
        .args(["--config", &file, "--out", &out.display().to_string()])
        .env("MNIST_BURN_DEVICE", "flex")
        .env("MNIST_BURN_TEST_PAUSE_AT", "step@8")
        .env("MNIST_BURN_TEST_MARKER_DIR", markers.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = markers.path().join("step@8");
    let paused = common::poll_within(common::WAIT_BOUND, std::time::Duration::from_millis(1), || {
        if marker.exists() {
            return Some(true);
        }
        child.try_wait().unwrap().map(|_| marker.exists())
    });
    if paused != Some(true) {
        let _ = child.kill();
        let result = child.wait_with_output().unwrap();
        let logs: String = std::fs::read_dir(out.join("logs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| format!("{}:\n{}\n", e.path().display(), std::fs::read_to_string(e.path()).unwrap_or_default()))
            .collect();
        let context = format!(
            "the sweep's stdout:\n{}\nits stderr:\n{}\nits trials' logs:\n{logs}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        if paused.is_none() {
            common::hang("the sweep's trial to pause at step 8", common::WAIT_BOUND, &context);
        }
        panic!("the sweep ended ({}) before its trial reached step 8; {context}", result.status);
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(143), "{stderr}");
    assert!(stderr.lines().last().unwrap().starts_with("error: interrupted by SIGTERM: 1 running trials stopped"), "{stderr}");
    let trial = out.join("seed=3");
    assert_eq!(common::assert_readable(&trial), [1]);
    let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("(0 already finished, 0 to start, 1 to resume, 0 to evaluate)"), "{stdout}");
    assert_eq!(eval_json(&trial)["epoch"], 2);
}

/// The size of a PNG file, which must decode.
fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{} is not a valid PNG: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn a_latent_sweep_sets_one_list_element_and_draws_the_pca_bound_and_reconstructions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::root().join("data/mnist");
    let base = format!(
        "[experiment]\nname = \"lin\"\nseed = 5\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\nnormalization = \"standardize\"\ntrain_limit = 400\ntest_limit = 100\n\n\
         [model]\nkind = \"dense_autoencoder\"\nencoder = [{{ units = 64, activation = \"linear\" }}]\n\n\
         [training]\nepochs = 1\nbatch_size = 50\nloss = \"mse\"\nlearning_rate = 0.001\noptimizer = {{ kind = \"adam\" }}\n",
        data.display()
    );
    common::write_config(tmp.path(), "base.toml", &base);
    let file = common::write_config(
        tmp.path(),
        "lat.toml",
        "[sweep]\nname = \"lat\"\nbase = \"base.toml\"\npca_bound = true\nmetrics = [\"test.mse\"]\n[grid]\n\"model.encoder[0].units\" = [2, 8]\n",
    );
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let names = ["model.encoder.0.units=2,seed=5", "model.encoder.0.units=8,seed=5"];
    for n in names {
        let config = std::fs::read_to_string(out.join(n).join("config.toml")).unwrap();
        let units = n.split('=').nth(1).unwrap().split(',').next().unwrap();
        assert!(config.contains(&format!("units = {units}")), "{n}: {config}");
    }
    // The bound in the summary is the one `report --run` finds for each trial on its own.
    let (header, rows) = csv_rows(&out.join("summary.csv"));
    assert_eq!((header[0].as_str(), header.last().unwrap().as_str()), ("model.encoder[0].units", "pca_bound"));
    for (row, n) in rows.iter().zip(names) {
        let run = out.join(n);
        let (code, _, err) = common::run("report", &["--run", &run.display().to_string()]);
        assert_eq!(code, 0, "{err}");
        let pca: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("plots/pca.json")).unwrap()).unwrap();
        let bound: f64 = row.last().unwrap().parse().unwrap();
        assert_eq!(bound, pca["bound_test_mse"].as_f64().unwrap(), "{n}");
        let mse: f64 = row[1].parse().unwrap();
        assert_eq!(mse, eval_json(&run)["mse"].as_f64().unwrap(), "{n}");
    }
    // A wider code loses less: the bound falls from k = 2 to k = 8.
    let bound = |r: &Vec<String>| r.last().unwrap().parse::<f64>().unwrap();
    assert!(bound(&rows[1]) < bound(&rows[0]), "{rows:?}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("PCA bound (test.mse)"), "{md}");
    png_size(&out.join("plots/test.mse_vs_model.encoder_0_.units.png"));
    // The original row and one row per grid point, under a title.
    let (w, h) = png_size(&out.join("plots/reconstructions.png"));
    let (_, one_row) = png_size(&out.join(names[0]).join("plots/reconstructions.png"));
    assert!(w > 10 * 28 && h > 3 * 28 * 2 && h != one_row, "{w}×{h}");
    // A classifier cannot be compared with PCA: refused before anything runs.
    let bad = common::write_config(tmp.path(), "bad.toml", &format!("[sweep]\nbase = \"base.toml\"\npca_bound = true\n[set]\n\"model\" = {{ kind = \"mlp\", hidden = [8] }}\n\"training.loss\" = \"cross_entropy\"\n"));
    let (code, _, stderr) = sweep(&["--config", &bad, "--out", &tmp.path().join("bad").display().to_string()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("sweep.pca_bound = true compares autoencoders with PCA") && stderr.lines().count() == 1, "{stderr}");
    assert!(!tmp.path().join("bad").exists());
}
