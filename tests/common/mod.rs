//! Helpers shared by the end-to-end tests: run the real binaries from the repository root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the binaries resolve `configs/` and `data/` from there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for one of the binaries, run from the repository root.
pub fn bin(name: &str) -> Command {
    let path = match name {
        "train" => env!("CARGO_BIN_EXE_train"),
        "eval" => env!("CARGO_BIN_EXE_eval"),
        "report" => env!("CARGO_BIN_EXE_report"),
        other => panic!("no binary {other}"),
    };
    let mut cmd = Command::new(path);
    cmd.current_dir(root());
    // The CPU backend unless a test names another: a GPU build (CI builds with `wgpu`) would
    // otherwise default to the slow software Vulkan driver, and resumed runs are compared
    // bit-for-bit on the CPU.
    cmd.env("MNIST_BURN_DEVICE", "flex");
    cmd
}

/// Runs a binary with `args`; returns (exit code, stdout, stderr).
pub fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    output(bin(name).args(args))
}

/// Runs a prepared command (e.g. [`bin`] with its environment changed); returns (exit code,
/// stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a config file into `dir` and returns its path as a string.
pub fn write_config(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every file under `dir` with its bytes, to check that nothing changed.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The loss and accuracy of the `test ...` line `train` prints.
pub fn test_line_metrics(stdout: &str) -> (f64, f64) {
    let line = stdout.lines().find(|l| l.starts_with("test ")).expect("train prints a test line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let loss = words[words.iter().position(|w| *w == "loss").unwrap() + 1].parse().unwrap();
    let acc = words[words.iter().position(|w| *w == "acc").unwrap() + 1].parse().unwrap();
    (loss, acc)
}

// ---------------------------------------------------------------------------------------------
// Runs stopped at a named point (the trainer's test hooks, `mnist_trainer::hooks`)

/// A `train` process told to pause at named fault points; each pause creates a file named after
/// its point in `markers`, and the process waits there until it gets a signal or is killed.
pub struct Paused {
    /// The process.
    pub child: std::process::Child,
    /// Where its pauses are announced.
    pub markers: tempfile::TempDir,
}

/// Starts `train --config CONFIG --out OUT EXTRA...` (CPU backend, stdout discarded, stderr kept)
/// with the test hooks set to pause at `points` (e.g. `["step@170", "shutdown"]`).
pub fn spawn_paused(config: &Path, out: &Path, extra: &[&str], points: &[&str]) -> Paused {
    let markers = tempfile::tempdir().unwrap();
    let child = bin("train")
        .args(["--config", &config.display().to_string(), "--out", &out.display().to_string()])
        .args(extra)
        .env("MNIST_BURN_TEST_PAUSE_AT", points.join(","))
        .env("MNIST_BURN_TEST_MARKER_DIR", markers.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    Paused { child, markers }
}

impl Paused {
    /// Waits until the process is paused at `point` and returns true, or returns false when it
    /// exits without reaching it. No deadline: the process either reaches the point or ends.
    pub fn reached(&mut self, point: &str) -> bool {
        let marker = self.markers.path().join(point);
        loop {
            if marker.exists() {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                // It may have paused and been woken in between: the marker settles that.
                return marker.exists();
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// [`Paused::reached`], failing the test with the process's stderr when the point is not reached.
    #[track_caller]
    pub fn wait_for(&mut self, point: &str) {
        if !self.reached(point) {
            let mut stderr = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            panic!("train exited ({:?}) before reaching {point}:\n{stderr}", self.child.try_wait());
        }
    }

    /// Sends `signal` (`INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to exit; returns (exit code, stderr).
    pub fn finish(self) -> (Option<i32>, String) {
        let out = self.child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `metrics.csv` without its timing column (`seconds`, the last): what must be identical
/// between an interrupted-and-resumed run and an uninterrupted one.
pub fn metrics_without_seconds(run_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

/// Every checkpoint's `state.json` parses and its weights are there, and `metrics.csv` parses
/// with a whole number of epochs; returns the epochs of the checkpoints.
#[track_caller]
pub fn assert_readable(run_dir: &Path) -> Vec<u64> {
    let mut epochs = Vec::new();
    for entry in std::fs::read_dir(run_dir.join("checkpoints")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("epoch-") {
            assert!(name.starts_with(".tmp-") || name.starts_with(".trash-"), "unexpected {name}");
            continue;
        }
        let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path.join("state.json")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/state.json does not parse: {e}"));
        epochs.push(state["epoch"].as_u64().unwrap());
        for f in ["model.bpk", "optimizer.bpk"] {
            assert!(std::fs::metadata(path.join(f)).unwrap().len() > 0, "{name}/{f} is empty");
        }
    }
    if let Ok(text) = std::fs::read_to_string(run_dir.join("metrics.csv")) {
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("epoch,split,loss"), "{text}");
        let rows: Vec<&str> = lines.collect();
        assert!(rows.len().is_multiple_of(2), "metrics.csv holds half an epoch:\n{text}");
        for row in rows {
            assert_eq!(row.split(',').count(), 12, "a cut metrics row: {row}");
            row.split(',').next().unwrap().parse::<u64>().unwrap();
        }
    }
    epochs.sort();
    epochs
}

/// Every point of the run's TensorBoard event file as (tag, step, value bits), sorted, less the
/// timings (`*/seconds`); the run must have exactly one event file, and it must decode whole.
pub fn event_points(run_dir: &Path) -> Vec<(String, i64, u32)> {
    use mnist_trainer::tensorboard::{event_files, read_events};
    let files = event_files(&run_dir.join("tensorboard")).unwrap();
    assert_eq!(files.len(), 1, "one event file in {}: {files:?}", run_dir.display());
    let mut points: Vec<(String, i64, u32)> = read_events(&files[0])
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .flat_map(|e| e.values.into_iter().map(move |(tag, v)| (tag, e.step, v.to_bits())))
        .filter(|(tag, _, _)| !tag.ends_with("/seconds"))
        .collect();
    points.sort();
    points
}

/// The path of the binary `name` (one `bin()` does not list), built with the tests.
pub fn bin_path(name: &str) -> &'static str {
    match name {
        "sweep" => env!("CARGO_BIN_EXE_sweep"),
        "noise-sweep" => env!("CARGO_BIN_EXE_noise-sweep"),
        "serve" => env!("CARGO_BIN_EXE_serve"),
        other => panic!("no binary {other}"),
    }
}
