//! End-to-end tests of `sweep`'s bounds: a sweep is counted before any trial is built, refused
//! over its limit (`--max-trials`, `sweep.max_trials`) with one line and nothing written, and a
//! stop signal ends its planning at once with the shell's status for the signal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A small base config (only read when trials are built) and a sweep file over it, `body` after
/// the `[sweep]` table's `base` line; returns the sweep file's path.
fn sweep_file(dir: &Path, name: &str, body: &str) -> String {
    let data = common::root().join("data/mnist");
    let base = format!(
        "[experiment]\nname = \"tiny\"\nseed = 3\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\ntrain_limit = 300\ntest_limit = 100\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n",
        data.display()
    );
    common::write_config(dir, "base.toml", &base);
    common::write_config(dir, name, &format!("[sweep]\nname = \"bounds\"\nbase = \"base.toml\"\n{body}"))
}

fn sweep_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(common::bin_path("sweep"));
    cmd.current_dir(common::root()).env("MNIST_BURN_DEVICE", "flex").args(args);
    cmd
}

fn sweep(args: &[&str]) -> (i32, String, String) {
    common::output(&mut sweep_command(args))
}

/// 100,000 grid points × 1,000,000 repeats: the sweep that used to fill gigabytes while planning.
const HUGE: &str = "repeats = 1000000\n[grid]\n\"training.learning_rate\" = { linspace = [0.01, 0.1, 100000] }\n";

/// 2 learning rates × 2 repeats.
const FOUR: &str = "repeats = 2\n[grid]\n\"training.learning_rate\" = [0.05, 0.1]\n";

/// Runs `sweep --config FILE --out OUT EXTRA...` and checks it was refused with exactly one error
/// line naming the file and holding each of `expected`, leaving no sweep directory.
#[track_caller]
fn assert_refused(file: &str, out: &Path, extra: &[&str], expected: &[&str]) {
    let out_s = out.display().to_string();
    let (code, stdout, stderr) = sweep(&[&["--config", file, "--out", &out_s], extra].concat());
    assert_eq!(code, 1, "{extra:?}: {stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{extra:?}: {stderr}");
    assert!(stderr.starts_with(&format!("error: sweep {file}: this sweep has ")), "{extra:?}: {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{extra:?}: no {e:?} in {stderr}");
    }
    assert!(stdout.is_empty(), "{extra:?}: {stdout}");
    assert!(!out.exists(), "{extra:?}: the refused sweep created {}", out.display());
}

#[test]
fn a_huge_sweep_is_refused_from_its_count_with_one_line_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "huge.toml", HUGE);
    let out = tmp.path().join("out");
    let expected = [
        "this sweep has 100000000000 trials (100000 grid points × 1000000 repeats; [grid] \"training.learning_rate\": 100000 values), over the limit of 100000 trials",
        "--max-trials 100000000000",
        "sweep.max_trials",
    ];
    // Listed, run here or submitted to Slurm: refused alike before anything is built.
    for extra in [&["--dry-run"][..], &[], &["--launcher", "slurm"]] {
        assert_refused(&file, &out, extra, &expected);
    }
}

#[test]
fn a_huge_linspace_is_refused_without_making_its_values() {
    let tmp = tempfile::tempdir().unwrap();
    // 10^12 floats: 8 TB, which the process could not allocate; refused from the count.
    let file = sweep_file(tmp.path(), "wide.toml", "[grid]\n\"training.learning_rate\" = { linspace = [0, 1, 1000000000000] }\n");
    let out = tmp.path().join("out");
    assert_refused(&file, &out, &["--dry-run"], &["this sweep has 1000000000000 trials (1000000000000 grid points × 1 repeat;"]);
    // Even with a limit that would allow it, two such axes overflow any count.
    let big = "{ linspace = [0, 1, 9223372036854775807] }";
    let file = sweep_file(tmp.path(), "wider.toml", &format!("[grid]\n\"training.learning_rate\" = {big}\n\"training.l2\" = {big}\n"));
    assert_refused(&file, &out, &["--dry-run", "--max-trials", "18446744073709551615"], &["this sweep has more than 18446744073709551615 trials", "make the grid or sweep.repeats smaller"]);
}

#[test]
fn the_limit_is_set_by_the_flag_or_the_sweep_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "four.toml", FOUR);
    let out = tmp.path().join("out");
    let out_s = out.display().to_string();
    assert_refused(&file, &out, &["--dry-run", "--max-trials", "3"], &["this sweep has 4 trials (2 grid points × 2 repeats;", "over --max-trials 3;", "pass --max-trials 4"]);
    // The limit is checked for real runs too, before the directory is made.
    assert_refused(&file, &out, &["--max-trials", "3"], &["over --max-trials 3;"]);
    // At the limit, the trials are listed.
    let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &out_s, "--dry-run", "--max-trials", "4"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 trials") && stdout.contains("  training.learning_rate=0.1,seed=4"), "{stdout}");
    assert!(!out.exists());
    // The sweep file's key, which the flag overrides.
    let keyed = sweep_file(tmp.path(), "keyed.toml", &FOUR.replace("repeats = 2", "repeats = 2\nmax_trials = 3"));
    assert_refused(&keyed, &out, &["--dry-run"], &["over sweep.max_trials = 3;", "raise sweep.max_trials (or pass --max-trials 4)"]);
    let (code, stdout, stderr) = sweep(&["--config", &keyed, "--out", &out_s, "--dry-run", "--max-trials", "4"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 trials"), "{stdout}");
    // A limit of 0 is a mistake, named in the user's words.
    let (code, _, stderr) = sweep(&["--config", &file, "--dry-run", "--max-trials", "0"]);
    assert_eq!((code, stderr.trim()), (1, "error: --max-trials 0: expected at least 1"));
    let zero = sweep_file(tmp.path(), "zero.toml", "max_trials = 0\n");
    let (code, _, stderr) = sweep(&["--config", &zero, "--dry-run"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.trim(), format!("error: sweep {zero}: sweep.max_trials = 0 must be at least 1"));
}

/// Starts `sweep` on a 3-trial sweep with the test hook `plan` (it pauses once its first trial is
/// built), waits for it to pause there, sends `signal` and returns (exit code, stderr); the sweep
/// directory must not have been created.
fn stopped_while_planning(extra: &[&str], signal: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "plan.toml", "repeats = 3\n");
    let out: PathBuf = tmp.path().join("out");
    let markers = tempfile::tempdir().unwrap();
    let mut child = sweep_command(&[&["--config", file.as_str(), "--out", &out.display().to_string()], extra].concat())
        .env("MNIST_BURN_TEST_PAUSE_AT", "plan")
        .env("MNIST_BURN_TEST_MARKER_DIR", markers.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = markers.path().join("plan");
    let what = format!("sweep {extra:?} to pause at `plan` (marker {})", marker.display());
    // Some(true): paused there; Some(false): exited without pausing there.
    let reached = common::poll_within(common::WAIT_BOUND, Duration::from_millis(1), || {
        if marker.exists() {
            return Some(true);
        }
        child.try_wait().unwrap().map(|_| marker.exists())
    });
    if reached != Some(true) {
        if reached.is_none() {
            child.kill().unwrap();
        }
        let stderr = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned();
        match reached {
            None => common::hang(&what, common::WAIT_BOUND, &stderr),
            _ => panic!("{what}: it exited first:\n{stderr}"),
        }
    }
    assert!(Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap().success(), "kill -{signal}");
    let result = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.is_empty(), "{extra:?}: planning printed {stdout}");
    assert!(!out.exists(), "{extra:?}: the stopped sweep created {}", out.display());
    (result.status.code(), String::from_utf8_lossy(&result.stderr).into_owned())
}

#[test]
fn a_stop_signal_ends_planning_at_once_with_the_signals_status() {
    for (extra, signal, code) in [(&["--dry-run"][..], "TERM", 143), (&[][..], "TERM", 143), (&["--dry-run"][..], "INT", 130)] {
        let (status, stderr) = stopped_while_planning(extra, signal);
        assert_eq!(status, Some(code), "{extra:?} SIG{signal}: {stderr}");
        let error = format!("error: interrupted by SIG{signal} while planning the sweep (1 of 3 trials built); no trial started");
        assert_eq!(stderr.lines().filter(|l| *l == error).count(), 1, "{extra:?}: no {error:?} in {stderr}");
        // Besides the error, only the hook's line and the handler's (which may come before or
        // after the error: its thread prints once it has recorded the signal).
        let other = |l: &&str| !l.is_empty() && *l != error && !l.starts_with("test hook: paused at plan ") && !l.starts_with(&format!("SIG{signal}: stopping"));
        assert_eq!(stderr.lines().filter(other).count(), 0, "{extra:?}: {stderr}");
    }
}
