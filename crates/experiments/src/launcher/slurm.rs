//! The Slurm launcher: a sweep's unfinished trials as one job array. Each array task runs
//! `sweep --out DIR --run-trial NAME` (`run_trial`), which brings that one trial to the
//! finished state exactly as the local launcher does (start, resume or only evaluate), so a
//! cancelled, preempted or requeued task continues where it stopped. Nothing waits on the cluster:
//! the trial directories are the state, `squeue` only says whether a submission still has tasks
//! queued or running (accounting, `sacct`, is often off on small clusters).
//!
//! Submitting (phase 1) writes the script and `sbatch`es it; collecting (phase 2, `--collect`)
//! waits for the last array with `--wait` and explains the trials that did not finish. The sweep
//! directory keeps, under `slurm/`, each submission's script (`job-<n>.sbatch`, readable and
//! submittable by hand) and `submissions.json` (job ids and the trials of each array).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::{Job, Launcher, Outcome, Pending, Submitted, Sweep, job_counts, tail};
use crate::SweepError;
use crate::plan::{LOGS_DIR, log_path};
use crate::spec::SlurmOptions;

/// Folder of the Slurm files in the sweep directory.
pub const DIR: &str = "slurm";
/// The submissions, oldest first.
pub const SUBMISSIONS_FILE: &str = "submissions.json";

/// Seconds between two looks at `squeue` while waiting.
const POLL_SECONDS: u64 = 2;

/// Submits to Slurm: the resources are the sweep file's `[slurm]` table with `flags` over it.
#[derive(Debug, Clone)]
pub struct Slurm {
    /// The resources given on the command line, each replacing the file's.
    pub flags: SlurmOptions,
    /// The `sweep` binary the array tasks run (visible on the compute nodes).
    pub sweep_bin: PathBuf,
}

impl Launcher for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn remote(&self) -> bool {
        true
    }

    /// Refused while an earlier array of the sweep still has tasks, without Slurm's client
    /// commands, or for a sweep directory the compute nodes cannot see.
    fn submit(&self, sweep: Sweep<'_>, jobs: Vec<Job>, _ended: &mut dyn FnMut(Outcome)) -> Result<Submitted, SweepError> {
        let (name, dir, total) = (&sweep.spec.name, sweep.dir, sweep.trials.len());
        if jobs.is_empty() {
            println!("sweep {name}: all {total} trials already finished in {}", dir.display());
            return Ok(Submitted::Ended);
        }
        let options = sweep.spec.slurm.merged(&self.flags);
        require_client()?;
        refuse_if_active(dir)?;
        check_shared(dir, nodes()?)?;
        let names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
        let (job, script) = submit(name, dir, &names, &options, &self.sweep_bin)?;
        println!(
            "sweep {name}: submitted job array {job} to Slurm: {} of {total} trials ({}), {} CPU{} each; script {}",
            names.len(),
            job_counts(&jobs),
            options.cpus(),
            if options.cpus() == 1 { "" } else { "s" },
            script.display()
        );
        let hint = format!("follow it with `squeue -j {job}`; `sweep --config {} --out {} --collect` summarizes (add --wait to wait for the array)", sweep.spec.file.display(), dir.display());
        Ok(Submitted::Queued { hint })
    }

    /// The last array of the sweep; with `wait`, polls `squeue` until it has no task queued or
    /// running. A stop request ends the wait (the array goes on).
    fn collect(&self, sweep: Sweep<'_>, wait: bool) -> Result<Pending, SweepError> {
        let submissions = submissions(sweep.dir)?;
        let Some(last) = submissions.last() else {
            return Err(SweepError::Launcher(format!(
                "{} holds no submission of this sweep to Slurm ({DIR}/{SUBMISSIONS_FILE} is missing); submit it first with `sweep --config {} --launcher slurm`",
                sweep.dir.display(),
                sweep.spec.file.display()
            )));
        };
        let mut running = active_tasks(&last.job)?;
        if wait && running > 0 {
            println!("waiting for job {} ({running} task{} queued or running)...", last.job, if running == 1 { "" } else { "s" });
            while running > 0 {
                std::thread::sleep(std::time::Duration::from_secs(POLL_SECONDS));
                if let Some(signal) = mnist_runs::stop::requested() {
                    return Err(SweepError::Launcher(format!("stopped waiting ({}); job {} goes on: `sweep --collect` later", signal.name(), last.job)));
                }
                running = active_tasks(&last.job)?;
            }
        }
        Ok(Pending { id: last.job.clone(), running })
    }

    /// The array task that ran the trial last, and the ends of its log and of Slurm's output.
    fn unfinished(&self, sweep: Sweep<'_>, name: &str) -> Vec<String> {
        let dir = sweep.dir;
        let log = log_path(dir, name);
        let submissions = submissions(dir).unwrap_or_default();
        let index = submissions.iter().rev().find_map(|s| Some((s, s.trials.iter().position(|n| n == name)?)));
        let mut lines = vec![match index {
            Some((s, i)) => format!("trial {name} did not finish in job {}_{i}; last lines of {} and of its Slurm output:", s.job, log.display()),
            None => format!("trial {name} was never submitted (it was added, or finished, when the last array was submitted); last lines of {}:", log.display()),
        }];
        lines.extend(tail(&log, 10).into_iter().map(|l| format!("    {l}")));
        if let Some((s, i)) = index {
            let out = dir.join(LOGS_DIR).join(format!("slurm-{}_{i}.out", s.job));
            lines.extend(tail(&out, 5).into_iter().map(|l| format!("    {l}")));
            if !out.exists() && !log.exists() {
                lines.push(format!(
                    "    (no log: the task never started, was cancelled while queued, or could not see {}, which must be on a file system the compute nodes share)",
                    dir.display()
                ));
            }
        }
        lines
    }
}

/// One `sbatch` of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm's job id of the array.
    pub job: String,
    /// The script submitted.
    pub script: PathBuf,
    /// The trial of each array index.
    pub trials: Vec<String>,
}

/// The submissions of the sweep in `dir`, oldest first (none when it was never submitted).
pub fn submissions(dir: &Path) -> Result<Vec<Submission>, SweepError> {
    let path = dir.join(DIR).join(SUBMISSIONS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| SweepError::NotATrial { path, reason: format!("it is not a list of submissions ({e})") }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(SweepError::Io { action: "read", path, source }),
    }
}

fn save_submissions(dir: &Path, all: &[Submission]) -> Result<(), SweepError> {
    let text = serde_json::to_string_pretty(all).expect("submissions serialize");
    mnist_runs::run_dir::write_atomic(&dir.join(DIR).join(SUBMISSIONS_FILE), text.as_bytes())?;
    Ok(())
}

/// Single quotes for the shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The job-array script: one task per trial in `trials`, each running `sweep` (the binary at
/// `sweep`, which must be visible on the compute nodes, as `dir` must) on its trial.
pub fn script(name: &str, dir: &Path, trials: &[String], options: &SlurmOptions, sweep: &Path) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("# Sweep {name}: one array task per unfinished trial, written by `sweep --launcher slurm`.\n");
    s += "# Each task trains its trial (resuming it when it has a checkpoint) and evaluates it; submit again\n";
    s += "# by hand with `sbatch <this file>` or rerun `sweep --launcher slurm`; `sweep --collect` summarizes.\n";
    s += &format!("#SBATCH --job-name={}\n", name.replace(char::is_whitespace, "_"));
    let cap = options.max_parallel.map(|n| format!("%{n}")).unwrap_or_default();
    s += &format!("#SBATCH --array=0-{}{cap}\n", trials.len().saturating_sub(1));
    s += &format!("#SBATCH --cpus-per-task={}\n", options.cpus());
    if let Some(p) = &options.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(t) = &options.time {
        s += &format!("#SBATCH --time={t}\n");
    }
    if let Some(m) = &options.mem {
        s += &format!("#SBATCH --mem={m}\n");
    }
    s += &format!("#SBATCH --output={}\n", dir.join("logs").join("slurm-%A_%a.out").display());
    s += "#SBATCH --open-mode=append\n";
    for line in &options.extra {
        let line = line.trim();
        let line = line.strip_prefix("#SBATCH").map(str::trim).unwrap_or(line);
        s += &format!("#SBATCH {line}\n");
    }
    s += "set -eu\n";
    s += "TRIALS=(\n";
    for t in trials {
        s += &format!("  {}\n", quote(t));
    }
    s += ")\n";
    s += "# The trainer's thread pool gets the task's CPUs.\n";
    s += &format!("export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\n", options.cpus());
    s += &format!("exec {} --out {} --run-trial \"${{TRIALS[$SLURM_ARRAY_TASK_ID]}}\"\n", quote(&sweep.display().to_string()), quote(&dir.display().to_string()));
    s
}

/// `program`'s path on `PATH`, if any.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(program)).find(|p| p.is_file()))
}

/// Refuses to go on without Slurm's client commands.
pub fn require_client() -> Result<(), SweepError> {
    match ["sbatch", "squeue", "sinfo"].into_iter().find(|p| on_path(p).is_none()) {
        Some(missing) => Err(SweepError::Launcher(format!(
            "the Slurm launcher needs Slurm's client commands (sbatch, squeue, sinfo) on PATH, and `{missing}` is not there: run it on a machine of your cluster (a login node), or use --launcher local"
        ))),
        None => Ok(()),
    }
}

/// Runs a Slurm command; its stdout, or an error naming it with its own message.
fn slurm(program: &str, args: &[&str]) -> Result<String, SweepError> {
    let Some(path) = on_path(program) else {
        return Err(SweepError::Launcher(format!(
            "the Slurm launcher needs Slurm's `{program}` on PATH, and there is none: run it on a machine of your cluster (a login node), or use --launcher local"
        )));
    };
    let out = Command::new(&path).args(args).output().map_err(|e| SweepError::Launcher(format!("cannot run {}: {e}", path.display())))?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    if !out.status.success() {
        let said = text(&out.stderr);
        let said = if said.is_empty() { text(&out.stdout) } else { said };
        return Err(SweepError::Launcher(format!("`{program} {}` failed ({}): {said}", args.join(" "), out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits `script`; Slurm's job id.
pub fn sbatch(script: &Path) -> Result<String, SweepError> {
    let path = script.display().to_string();
    let out = slurm("sbatch", &["--parsable", &path]).map_err(|e| match e {
        SweepError::Launcher(m) if m.starts_with("`sbatch") => SweepError::Launcher(format!("sbatch refused the job array {path}: {}", m.split_once("): ").map_or(m.as_str(), |(_, said)| said))),
        other => other,
    })?;
    // `--parsable`: `<id>` or `<id>;<cluster>`.
    let id = out.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SweepError::Launcher(format!("sbatch accepted {path} but printed no job id: {:?}", out.trim())));
    }
    Ok(id)
}

/// Tasks of `job` still queued, running or completing (`squeue` lists only those); 0 once it is
/// done, including when Slurm has forgotten it.
pub fn active_tasks(job: &str) -> Result<usize, SweepError> {
    match slurm("squeue", &["-h", "-r", "-j", job, "-o", "%i"]) {
        Ok(out) => Ok(out.lines().filter(|l| !l.trim().is_empty()).count()),
        Err(SweepError::Launcher(m)) if m.contains("Invalid job id") => Ok(0),
        Err(e) => Err(e),
    }
}

/// Cancels nothing, refuses to submit while an earlier array of the sweep still runs: two arrays
/// would train the same trial at once.
pub fn refuse_if_active(dir: &Path) -> Result<(), SweepError> {
    if let Some(last) = submissions(dir)?.last() {
        let n = active_tasks(&last.job)?;
        if n > 0 {
            return Err(SweepError::Launcher(format!(
                "job {} of this sweep still has {n} task{} queued or running; wait for it (`sweep --collect --wait`) or cancel it (`scancel {}`) before submitting again",
                last.job,
                if n == 1 { "" } else { "s" },
                last.job
            )));
        }
    }
    Ok(())
}

/// Folders that are local to each machine on a cluster.
const NODE_LOCAL: [&str; 5] = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local"];

/// Refuses a sweep directory that the compute nodes cannot see: one on a node-local folder when
/// the cluster has more than one node (`nodes`).
pub fn check_shared(dir: &Path, nodes: usize) -> Result<(), SweepError> {
    let local = NODE_LOCAL.iter().find(|l| dir.starts_with(l));
    match local {
        Some(l) if nodes > 1 => Err(SweepError::Launcher(format!(
            "the sweep directory {} is under {l}, which each of the cluster's {nodes} nodes has its own copy of: it must be on a shared file system that the compute nodes see (your home or a project folder); pass --out",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Nodes in the cluster, from `sinfo`.
pub fn nodes() -> Result<usize, SweepError> {
    let out = slurm("sinfo", &["-h", "-N", "-o", "%N"])?;
    let mut names: Vec<&str> = out.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    names.sort_unstable();
    names.dedup();
    Ok(names.len())
}

/// Writes the script for `trials` as `slurm/job-<n>.sbatch`, submits it and records the
/// submission; the job id.
pub fn submit(name: &str, dir: &Path, trials: &[String], options: &SlurmOptions, sweep: &Path) -> Result<(String, PathBuf), SweepError> {
    let folder = dir.join(DIR);
    std::fs::create_dir_all(&folder).map_err(|source| SweepError::Io { action: "create", path: folder.clone(), source })?;
    let mut all = submissions(dir)?;
    let path = folder.join(format!("job-{}.sbatch", all.len() + 1));
    mnist_runs::run_dir::write_atomic(&path, script(name, dir, trials, options, sweep).as_bytes())?;
    let job = sbatch(&path)?;
    all.push(Submission { job: job.clone(), script: path.clone(), trials: trials.to_vec() });
    save_submissions(dir, &all)?;
    Ok((job, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_one_array_task_per_trial() {
        let options = SlurmOptions { partition: Some("gpu".into()), time: Some("1:00:00".into()), cpus_per_task: Some(4), mem: Some("8G".into()), max_parallel: Some(2), extra: vec!["--account=ml".into(), "#SBATCH --qos=short".into()] };
        let s = script("l2", Path::new("/home/u/artifacts/l2"), &["training.l2=1e-6,seed=42".into(), "it's".into()], &options, Path::new("/opt/mnist/sweep"));
        for line in [
            "#SBATCH --array=0-1%2",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=8G",
            "#SBATCH --output=/home/u/artifacts/l2/logs/slurm-%A_%a.out",
            "#SBATCH --account=ml",
            "#SBATCH --qos=short",
            "  'training.l2=1e-6,seed=42'",
            r"  'it'\''s'",
            "export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-4}\"",
            "exec '/opt/mnist/sweep' --out '/home/u/artifacts/l2' --run-trial \"${TRIALS[$SLURM_ARRAY_TASK_ID]}\"",
        ] {
            assert!(s.lines().any(|l| l == line), "{line:?} missing from:\n{s}");
        }
        // Every #SBATCH line comes before the first command, as sbatch requires.
        let first_command = s.lines().position(|l| l == "set -eu").unwrap();
        assert!(s.lines().skip(first_command).all(|l| !l.starts_with("#SBATCH")), "{s}");
        let bare = script("x", Path::new("/d"), &["a".into()], &SlurmOptions::default(), Path::new("/s"));
        assert!(bare.contains("#SBATCH --array=0-0\n#SBATCH --cpus-per-task=1\n#SBATCH --output="), "{bare}");
        assert!(!bare.contains("--partition") && !bare.contains("--time") && !bare.contains("--mem"), "{bare}");
    }

    #[test]
    fn node_local_folders_are_refused_on_clusters_of_several_nodes() {
        assert!(check_shared(Path::new("/tmp/sweep"), 1).is_ok());
        assert!(check_shared(Path::new("/home/u/sweep"), 8).is_ok());
        let e = check_shared(Path::new("/tmp/sweep"), 8).unwrap_err().to_string();
        assert!(e.contains("/tmp/sweep is under /tmp") && e.contains("must be on a shared file system"), "{e}");
    }
}
