//! Launchers decide only where and how a trial's `train` runs; everything else (which trials,
//! their configs, resuming, summaries) is the sweep's. Here the local pool of processes; the Slurm
//! launcher (`crate::slurm`) submits an array whose tasks each run one trial through this pool.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use mnist_trainer::stop;

/// How a trial's `train` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run directory.
    Fresh,
    /// Over a run that never checkpointed an epoch, or whose config the sweep replaced (`--force`).
    Restart,
    /// From the run's last checkpoint (`--resume`).
    Resume,
    /// The run finished but its final test metrics were not saved: only `eval`.
    EvalOnly,
}

/// One trial to bring to the finished state.
#[derive(Debug, Clone)]
pub struct Job {
    /// The trial's name.
    pub name: String,
    /// Its run directory.
    pub dir: PathBuf,
    /// Its resolved config file.
    pub config: PathBuf,
    /// Where its `train` and `eval` output goes (appended: earlier attempts' logs are kept).
    pub log: PathBuf,
    /// How it starts.
    pub start: Start,
}

/// What became of a job.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The job.
    pub job: Job,
    /// `Ok` with the final test metrics (the JSON object of `eval --json`), or what failed.
    pub result: Result<serde_json::Value, String>,
    /// Wall-clock seconds, `train` and `eval` together.
    pub seconds: f64,
}

/// Runs jobs somewhere and reports each as it ends.
pub trait Launcher {
    /// Runs every job; calls `done` once per job that ran, in the order they end, on the caller's
    /// thread. After a stop request (`mnist_trainer::stop`, SIGINT/SIGTERM) it starts no more jobs,
    /// passes the request on to the running ones and returns once they have stopped.
    fn launch(&self, jobs: Vec<Job>, done: &mut dyn FnMut(Outcome));
    /// How `n` jobs will run, for the sweep's start message, e.g. `2 at a time, 1 thread each`.
    fn describe(&self, n: usize) -> String;
}

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
    /// The `eval` binary.
    pub eval: PathBuf,
    /// Pass a stop signal this process receives on to the running trials. Off inside a Slurm
    /// task: Slurm signals every process of the job itself, and a second signal would make
    /// `train` exit without its clean stop.
    pub forward_signals: bool,
}

impl Local {
    /// A pool of `jobs` (at least 1) that splits the available cores evenly, at least one each.
    pub fn new(jobs: usize, train: PathBuf, eval: PathBuf) -> Local {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Local { jobs: jobs.max(1), cores, train, eval, forward_signals: true }
    }

    /// Threads per trial when `running` trials run at once.
    fn threads(&self, running: usize) -> usize {
        (self.cores / running.max(1)).max(1)
    }

    fn run(&self, job: &Job, threads: usize) -> Result<serde_json::Value, String> {
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&job.log).map_err(|e| format!("cannot open log {}: {e}", job.log.display()))?;
        if job.start != Start::EvalOnly {
            let mut cmd = Command::new(&self.train);
            cmd.arg("--config").arg(&job.config).arg("--out").arg(&job.dir).arg("--no-progress");
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
        }
        let mut cmd = Command::new(&self.eval);
        cmd.arg("--run").arg(&job.dir).arg("--json");
        let stdout = self.logged(&mut cmd, &mut log, threads, false)?;
        let metrics: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| format!("`eval --json` printed something that is not JSON ({e}): {}", stdout.trim()))?;
        // Saved through a temporary file and a rename, as the trainer writes its files: a killed
        // sweep leaves either no test.json (the rerun evaluates again) or a whole one.
        let text = serde_json::to_string_pretty(&metrics).expect("JSON values serialize");
        mnist_trainer::run_dir::write_atomic(&job.dir.join("test.json"), text.as_bytes()).map_err(|e| e.to_string())?;
        Ok(metrics)
    }

    /// Runs `cmd` with stderr (and stdout unless `capture`) appended to `log`; returns stdout when
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
    fn launch(&self, jobs: Vec<Job>, done: &mut dyn FnMut(Outcome)) {
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

    fn describe(&self, n: usize) -> String {
        let at_once = self.jobs.min(n);
        let threads = self.threads(at_once);
        format!("{at_once} at a time, {threads} thread{} each", if threads == 1 { "" } else { "s" })
    }
}
