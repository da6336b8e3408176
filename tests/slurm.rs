//! End-to-end tests of `sweep --launcher slurm` against a real single-node Slurm (`sbatch`,
//! `squeue`, `scancel`; started by `scripts/slurm.sh up`, which `.ci/run` runs and these tests run
//! themselves when `sinfo` does not answer): a sweep submitted, cancelled while a trial is paused
//! at a test hook, resubmitted and collected ends with the local launcher's summary; bad inputs
//! are refused with one line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Makes sure a Slurm answers, starting the single-node one if need be (once per test binary).
fn slurm_up() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = UP.get_or_init(|| {
        let answers = || Command::new("sinfo").arg("-h").output().is_ok_and(|o| o.status.success());
        if answers() {
            return Ok(());
        }
        let out = Command::new("bash").arg(common::root().join("scripts/slurm.sh")).arg("up").output().map_err(|e| e.to_string())?;
        if answers() {
            Ok(())
        } else {
            Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        }
    });
    if let Err(e) = up {
        panic!("these tests need a Slurm: `scripts/slurm.sh up` (root, Debian's slurm-wlm) failed:\n{e}");
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn sweep(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(common::bin_path("sweep"));
    cmd.current_dir(common::root()).env("MNIST_BURN_DEVICE", "flex").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::output(&mut cmd)
}

/// Two grid points of a tiny MLP, two epochs of 6 steps each.
fn sweep_file(dir: &Path) -> String {
    let base = format!(
        "[experiment]\nname = \"tiny\"\nseed = 11\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\nnormalization = \"unit\"\ntrain_limit = 300\ntest_limit = 100\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 2\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n",
        common::root().join("data/mnist").display()
    );
    common::write_config(dir, "base.toml", &base);
    common::write_config(dir, "s.toml", "[sweep]\nname = \"tiny\"\nbase = \"base.toml\"\nmetrics = [\"test.accuracy\", \"test.loss\"]\n[grid]\n\"training.learning_rate\" = [0.05, 0.1]\n")
}

/// The job id from `sweep --launcher slurm`'s output.
fn job_id(stdout: &str) -> String {
    let after = stdout.split("submitted job array ").nth(1).unwrap_or_else(|| panic!("no job id in: {stdout}"));
    after.split_whitespace().next().unwrap().to_string()
}

/// Tasks of `job` that `squeue` still lists.
fn queued(job: &str) -> usize {
    let out = Command::new("squeue").args(["-h", "-r", "-j", job, "-o", "%i"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}

/// Waits until `done` holds; the state of a real cluster is only ever polled (every 100 ms). The
/// suite's bound on waits, far above any normal one, turns a hang into a failure naming `what`.
fn wait_until(what: &str, done: impl FnMut() -> bool) {
    common::wait_until(what, common::WAIT_BOUND, std::time::Duration::from_millis(100), done);
}

fn cores() -> String {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string()
}

#[test]
fn a_cancelled_array_resumes_on_resubmission_and_collects_like_the_local_launcher() {
    slurm_up();
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path());
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("cluster"));
    // The same trials here, one at a time with every core...
    let (code, stdout, stderr) = sweep(&["--config", &file, "--out", &s(&local)], &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // ...and on Slurm, one task at a time with as many CPUs, the first trial told to pause at
    // step 8 (epoch 2, after its first checkpoint).
    let markers = tempfile::tempdir().unwrap();
    let cpus = cores();
    let submit = ["--config", &file, "--out", &s(&cluster), "--launcher", "slurm", "--max-parallel", "1", "--cpus-per-task", &cpus];
    let (code, stdout, stderr) = sweep(&submit, &[("MNIST_BURN_TEST_PAUSE_AT", "step@8"), ("MNIST_BURN_TEST_MARKER_DIR", &s(markers.path()))]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("2 of 2 trials (2 to start, 0 to resume, 0 to evaluate)"), "{stdout}");
    let job = job_id(&stdout);
    let script = std::fs::read_to_string(cluster.join("slurm/job-1.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-1%1") && script.contains(&format!("#SBATCH --cpus-per-task={cpus}")), "{script}");
    wait_until("the first trial to pause at step 8", || markers.path().join("step@8").exists());
    // The array is still running: collecting says so and names no failure.
    let (code, _, stderr) = sweep(&["--config", &file, "--out", &s(&cluster), "--collect"], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("job {job} still has 2 tasks queued or running")), "{stderr}");
    // Cancelled: Slurm sends SIGTERM to the running task (the paused trial stops cleanly) and
    // drops the queued one.
    assert!(Command::new("scancel").arg(&job).status().unwrap().success());
    wait_until("the cancelled array to leave the queue", || queued(&job) == 0);
    let first = cluster.join("training.learning_rate=0.05,seed=11");
    let log = std::fs::read_to_string(cluster.join("logs/training.learning_rate=0.05,seed=11.log")).unwrap();
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(first.join("checkpoints").is_dir() && !first.join("test.json").exists());
    assert!(!cluster.join("training.learning_rate=0.1,seed=11").exists(), "the queued trial never started");
    let (code, _, stderr) = sweep(&["--config", &file, "--out", &s(&cluster), "--collect"], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("did not finish in job {job}_0")) && stderr.contains("2 of 2 trials did not finish"), "{stderr}");
    // Resubmitted: the interrupted trial resumes, the other starts; --wait collects.
    let (code, stdout, stderr) = sweep(&[&submit[..], &["--wait"]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("2 of 2 trials (1 to start, 1 to resume, 0 to evaluate)") && stdout.contains("2 of 2 trials finished"), "{stdout}");
    assert!(std::fs::read_to_string(cluster.join("slurm/job-2.sbatch")).unwrap().contains("#SBATCH --array=0-1%1"));
    // Resumed bit for bit: the same metrics, so the same summary as the local launcher's.
    assert_eq!(common::metrics_without_seconds(&first), common::metrics_without_seconds(&local.join("training.learning_rate=0.05,seed=11")));
    let summary = |d: &Path| std::fs::read_to_string(d.join("summary.csv")).unwrap();
    assert_eq!(summary(&cluster), summary(&local));
    // Nothing left to do: a third submission submits nothing.
    let (code, stdout, stderr) = sweep(&submit, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("all 2 trials already finished") && !stdout.contains("submitted"), "{stdout}");
}

#[test]
fn slurm_bad_inputs_are_refused_with_one_line() {
    slurm_up();
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path());
    let out = tmp.path().join("out");
    let one_line = |case: &str, (code, _, stderr): &(i32, String, String), needles: &[&str]| {
        assert_ne!(*code, 0, "{case}: accepted");
        assert!(stderr.starts_with("error: ") && stderr.lines().count() == 1, "{case}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{case}: {n:?} missing from {stderr}");
        }
    };
    one_line("collect before any submission", &sweep(&["--config", &file, "--out", &s(&out), "--collect"], &[]), &["holds no submission of this sweep to Slurm", "--launcher slurm"]);
    // No Slurm client on PATH.
    let empty = tempfile::tempdir().unwrap();
    one_line(
        "no sbatch",
        &sweep(&["--config", &file, "--out", &s(&out), "--launcher", "slurm"], &[("PATH", &s(empty.path()))]),
        &["needs Slurm's client commands", "`sbatch` is not there", "--launcher local"],
    );
    one_line(
        "unknown partition",
        &sweep(&["--config", &file, "--out", &s(&out), "--launcher", "slurm", "--partition", "no_such_partition"], &[]),
        &["sbatch refused the job array", "invalid partition specified: no_such_partition"],
    );
    // Nothing ran: no trial directory, no submission recorded.
    let entries: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(entries.iter().all(|p| !p.file_name().unwrap().to_string_lossy().starts_with("training.")), "{entries:?}");
    assert!(!out.join("slurm/submissions.json").exists());
    one_line("--wait without Slurm", &sweep(&["--config", &file, "--out", &s(&out), "--wait"], &[]), &["--wait applies to --launcher slurm and --collect"]);
}
