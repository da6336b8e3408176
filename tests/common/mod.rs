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
