//! The local launcher: up to `--jobs` trials at once as child processes of `sweep`, the machine's
//! cores split between them. Each job runs `train` (which saves the trial's `test.json` when it
//! finishes) and reads the result back; only a finished run without a test result is evaluated,
//! by one `eval --json`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use mnist_runs::{TestResult, stop};

use super::{Job, Launcher, Outcome, Pending, Start, Submitted, Sweep, describe, job_counts, tail};
use crate::SweepError;

/// Up to `jobs` trials at once as child processes of this one, the machine's cores split between
/// the trials that run at once (`RAYON_NUM_THREADS`, the thread pool `flex` and our kernels use).
#[derive(Debug, Clone)]
pub struct Local {
    /// Trials at once.
    pub jobs: usize,
    /// Cores to split.
    pub cores: usize,
    /// The `train` binary.
    pub train: PathBuf,
    /// Arguments before `train`'s own: empty for the binary; the Python package runs its trials
    /// as `python -m mnist_burn._cli train ...`, the same engine in a process of its own.
    pub train_args: Vec<OsString>,
    /// The `eval` binary, for finished runs without a test result.
    pub eval: PathBuf,
    /// Arguments before `eval`'s own (as `train_args`).
    pub eval_args: Vec<OsString>,
    /// Pass a stop signal this process receives on to the running trials. Off inside a Slurm
    /// task: Slurm signals every process of the job itself, and a second signal would make
    /// `train` exit without its clean stop.
    pub forward_signals: bool,
}

impl Local {
    /// A pool of `jobs` (at least 1) that splits the available cores evenly, at least one each.
    pub fn new(jobs: usize, train: PathBuf, eval: PathBuf) -> Local {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Local { jobs: jobs.max(1), cores, train, train_args: Vec::new(), eval, eval_args: Vec::new(), forward_signals: true }
    }

    /// Threads per trial when `running` trials run at once.
    fn threads(&self, running: usize) -> usize {
        (self.cores / running.max(1)).max(1)
    }

    /// How `n` jobs will run, for the sweep's start message: `2 at a time, 1 thread each`.
    pub fn describe(&self, n: usize) -> String {
        let at_once = self.jobs.min(n);
        let threads = self.threads(at_once);
        format!("{at_once} at a time, {threads} thread{} each", if threads == 1 { "" } else { "s" })
    }

    /// Runs every job, `self.jobs` at a time; calls `done` once per job that ran, in the order they
    /// end, on the caller's thread. After a stop request (`mnist_runs::stop`, SIGINT/SIGTERM) it
    /// starts no more jobs, passes the request on to the running ones (with `forward_signals`)
    /// and returns once they have stopped.
    pub fn run_jobs(&self, jobs: Vec<Job>, done: &mut dyn FnMut(Outcome)) {
        let workers = self.jobs.min(jobs.len());
        let threads = self.threads(workers);
        let queue = Mutex::new(VecDeque::from(jobs));
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let queue = &queue;
                scope.spawn(move || {
                    loop {
                        // After a stop request no trial starts; the running ones stop cleanly.
                        if stop::requested().is_some() {
                            break;
                        }
                        let Some(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { break };
                        let started = Instant::now();
                        let result = self.run(&job, threads);
                        let outcome = Outcome { job, result, seconds: started.elapsed().as_secs_f64() };
                        if tx.send(outcome).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for outcome in rx {
                done(outcome);
            }
        });
    }

    /// Brings one job to the finished state: `train` (unless the run only lacks its test result),
    /// then its test result as `train` saved it, else as `eval` computes it.
    fn run(&self, job: &Job, threads: usize) -> Result<TestResult, String> {
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&job.log).map_err(|e| format!("cannot open log {}: {e}", job.log.display()))?;
        if job.start != Start::EvalOnly {
            let mut cmd = Command::new(&self.train);
            cmd.args(&self.train_args).arg("--config").arg(&job.config).arg("--out").arg(&job.dir).arg("--no-progress");
            match job.start {
                Start::Resume => {
                    cmd.arg("--resume");
                }
                Start::Restart => {
                    cmd.arg("--force");
                }
                _ => {}
            }
            self.logged(&mut cmd, &mut log, threads, true).map(drop)?;
            if let Some(result) = TestResult::read(&job.dir) {
                return Ok(result);
            }
            // A `train` that saved no test result (one built before `train` wrote test.json):
            // evaluated as any finished run without one.
        }
        self.evaluate(job, &mut log, threads)
    }

    /// `eval --run DIR --json`, saved as the run's `test.json`: the recovery path for a finished
    /// run without a test result.
    fn evaluate(&self, job: &Job, log: &mut std::fs::File, threads: usize) -> Result<TestResult, String> {
        let mut cmd = Command::new(&self.eval);
        cmd.args(&self.eval_args).arg("--run").arg(&job.dir).arg("--json");
        let stdout = self.logged(&mut cmd, log, threads, false)?;
        let result: TestResult = serde_json::from_str(stdout.trim()).map_err(|e| format!("`eval --json` printed something that is not a test result ({e}): {}", stdout.trim()))?;
        // Written as `train` writes it (a temporary file, then a rename): a killed sweep leaves
        // either no test.json (the rerun evaluates again) or a whole one.
        result.write(&job.dir).map_err(|e| e.to_string())?;
        Ok(result)
    }

    /// Runs `cmd` with stderr (and stdout when `to_log`) appended to `log`; returns stdout when
    /// captured. A failure names the command and its exit status.
    fn logged(&self, cmd: &mut Command, log: &mut std::fs::File, threads: usize, to_log: bool) -> Result<String, String> {
        let line = format!("{} {}", cmd.get_program().to_string_lossy(), cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" "));
        let _ = writeln!(log, "=== sweep: {line}");
        let err = log.try_clone().map_err(|e| e.to_string())?;
        cmd.env("RAYON_NUM_THREADS", threads.to_string()).stdin(Stdio::null()).stderr(err);
        if to_log {
            cmd.stdout(log.try_clone().map_err(|e| e.to_string())?);
        } else {
            cmd.stdout(Stdio::piped());
        }
        // Its own process group: a Ctrl-C at the terminal reaches only the sweep, which passes
        // exactly one stop signal on (a second one would make `train` exit without its clean stop).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        let program = Path::new(cmd.get_program()).file_name().unwrap_or_default().to_string_lossy().into_owned();
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
        let mut forwarded = false;
        // Polled rather than waited for, so a stop request reaches the child within 10 ms; `eval`
        // prints one short line, far below what a pipe holds, so its stdout is read at the end.
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if let (Some(signal), false, true) = (stop::requested(), forwarded, self.forward_signals) {
                forwarded = true;
                let _ = Command::new("kill").arg(format!("-{}", signal.number())).arg(child.id().to_string()).status();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            use std::io::Read;
            let _ = out.read_to_end(&mut stdout);
        }
        if let Some(signal) = stop::requested() {
            return Err(format!("interrupted ({}): `{program}` exited with {status}", signal.name()));
        }
        if !status.success() {
            return Err(format!("`{program}` exited with {status}"));
        }
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    }
}

impl Launcher for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    /// Runs the jobs here, `self.jobs` at a time: one line per job as it ends (a bar with ETA on
    /// stderr when it is a terminal).
    fn submit(&self, sweep: Sweep<'_>, jobs: Vec<Job>, ended: &mut dyn FnMut(Outcome)) -> Result<Submitted, SweepError> {
        let (name, dir, total) = (&sweep.spec.name, sweep.dir, sweep.trials.len());
        let done = total - jobs.len();
        if jobs.is_empty() {
            println!("sweep {name}: {done} of {total} trials already finished in {}", dir.display());
            return Ok(Submitted::Ended);
        }
        let n = jobs.len();
        println!("sweep {name}: {total} trials in {} ({done} already finished, {}); {}", dir.display(), job_counts(&jobs), self.describe(n));
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(n as u64);
            bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} trials, {elapsed} elapsed, ETA {eta}").expect("a valid template"));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut count = 0;
        self.run_jobs(jobs, &mut |o: Outcome| {
            count += 1;
            let what = match &o.result {
                Ok(t) => describe(t),
                Err(e) => format!("FAILED: {e} (log: {})", o.job.log.display()),
            };
            let line = format!("[{count}/{n}] {}: {what} ({:.1} s)", o.job.name, o.seconds);
            // On stdout, the bar (on stderr) lifted out of the way, as for what `ended` prints.
            bar.suspend(|| println!("{line}"));
            bar.inc(1);
            bar.suspend(|| ended(o));
        });
        bar.finish_and_clear();
        Ok(Submitted::Ended)
    }

    /// Nothing is ever pending: every job ended within [`Launcher::submit`].
    fn collect(&self, _sweep: Sweep<'_>, _wait: bool) -> Result<Pending, SweepError> {
        Ok(Pending { id: String::new(), running: 0 })
    }

    fn unfinished(&self, sweep: Sweep<'_>, name: &str) -> Vec<String> {
        let log = crate::plan::log_path(sweep.dir, name);
        let mut lines = vec![format!("trial {name} did not finish; last lines of {}:", log.display())];
        lines.extend(tail(&log, 10).into_iter().map(|l| format!("    {l}")));
        lines
    }
}
