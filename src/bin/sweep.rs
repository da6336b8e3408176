//! `sweep`: runs a hyperparameter sweep (a sweep file: base config, overrides, grid axes, repeats)
//! as ordinary run directories `<sweep dir>/<trial>`, a few trials at a time here or as a Slurm
//! job array, and summarizes them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use mnist_experiments::{Launcher, Local, Slurm, SlurmOptions, SweepError, SweepOptions};

/// Run a sweep: every grid point × repeat of a sweep file is one `train` run.
///
/// Trials go to artifacts/<sweep name>/<trial> (or --out); rerunning the same command skips
/// finished trials and resumes interrupted ones. summary.csv and summary.md hold the mean, std,
/// min, max and n of each final test metric per grid point. See configs/sweeps/l2.toml.
///
/// A sweep of more than 100000 trials is refused before any is built, unless --max-trials (or
/// sweep.max_trials in the sweep file) allows it.
///
/// `--launcher slurm` submits the unfinished trials to Slurm as one job array instead (resources
/// from the sweep file's [slurm] table or the flags below) and returns; `--collect` summarizes it
/// later, `--wait` waits for the array first.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Sweep file, e.g. configs/sweeps/l2.toml.
    #[arg(long, value_name = "PATH", required_unless_present = "run_trial")]
    config: Option<PathBuf>,
    /// Where the trials run: here (`local`) or as a Slurm job array (`slurm`).
    #[arg(long, value_enum, default_value_t = LauncherKind::Local)]
    launcher: LauncherKind,
    /// Trials run at once by the local launcher; the cores are split between them.
    #[arg(long, default_value_t = 1, value_name = "N")]
    jobs: usize,
    /// Run this spec in a sweep directory that holds a different one (trials whose config changed
    /// start over; the others are kept).
    #[arg(long)]
    force: bool,
    /// Sweep directory (default: artifacts/<sweep name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Check the sweep file, build every trial's config and list the trials; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Refuse a sweep of more than N trials (grid points × repeats), counted before any is built
    /// [default: the sweep file's sweep.max_trials, else 100000].
    #[arg(long, value_name = "N")]
    max_trials: Option<u64>,
    /// Summarize a sweep submitted to Slurm from its trial directories; failed trials are listed
    /// with the end of their logs.
    #[arg(long, conflicts_with_all = ["dry_run", "force"])]
    collect: bool,
    /// With --launcher slurm or --collect: wait until the job array has no task queued or running
    /// (polling `squeue`), then collect.
    #[arg(long)]
    wait: bool,
    /// Slurm partition (sbatch --partition).
    #[arg(long, value_name = "NAME", help_heading = "Slurm")]
    partition: Option<String>,
    /// Time limit per trial, in Slurm's syntax (sbatch --time), e.g. 30 or 1:00:00.
    #[arg(long, value_name = "TIME", help_heading = "Slurm")]
    time: Option<String>,
    /// CPUs per trial (sbatch --cpus-per-task); the trial trains with as many threads.
    #[arg(long, value_name = "N", help_heading = "Slurm")]
    cpus_per_task: Option<u32>,
    /// Memory per trial (sbatch --mem), e.g. 4G.
    #[arg(long, value_name = "SIZE", help_heading = "Slurm")]
    mem: Option<String>,
    /// Trials running at once on the cluster (sbatch --array=...%N).
    #[arg(long, value_name = "N", help_heading = "Slurm")]
    max_parallel: Option<u32>,
    /// A further #SBATCH line, e.g. --sbatch=--account=ml (repeatable).
    #[arg(long = "sbatch", value_name = "OPTION", help_heading = "Slurm", allow_hyphen_values = true)]
    sbatch: Vec<String>,
    /// Run one trial of the sweep in --out and exit: what each Slurm array task runs.
    #[arg(long, value_name = "TRIAL", requires = "out", hide = true)]
    run_trial: Option<String>,
}

/// The launchers `--launcher` names: each one implements `mnist_experiments::Launcher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LauncherKind {
    Local,
    Slurm,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        if args.jobs == 0 {
            anyhow::bail!("--jobs 0: expected at least 1");
        }
        if args.max_trials == Some(0) {
            anyhow::bail!("--max-trials 0: expected at least 1");
        }
        if args.max_parallel == Some(0) || args.cpus_per_task == Some(0) {
            anyhow::bail!("--max-parallel and --cpus-per-task: expected at least 1");
        }
        // The trials run the `train` and `eval` built with this binary, next to it.
        let me = std::env::current_exe()?;
        let [train, eval] = ["train", "eval"].map(|name| me.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX)));
        for bin in [&train, &eval] {
            if !args.dry_run && !args.collect && !bin.is_file() {
                anyhow::bail!("cannot find {} next to {}; build it (`cargo build --bins`)", bin.display(), me.display());
            }
        }
        // SIGINT and SIGTERM stop the sweep cleanly: while the trials are being built, at once
        // (no trial started); later, no new trial starts, the running ones are told to stop (they
        // checkpoint), and a rerun resumes them.
        mnist_cli::stop_on_signals();
        let mut local = Local::new(args.jobs, train, eval);
        let result = if let Some(trial) = &args.run_trial {
            // A Slurm array task: Slurm signals the trial's `train` itself, and the task's CPUs
            // are what the script exported.
            local.forward_signals = false;
            if let Some(n) = std::env::var("RAYON_NUM_THREADS").ok().and_then(|n| n.parse().ok()) {
                local.cores = n;
            }
            let dir = args.out.clone().expect("clap requires --out");
            mnist_experiments::run_trial(&dir, trial, &local).map(drop)
        } else {
            let spec = args.config.clone().expect("clap requires --config");
            let opts = SweepOptions { spec, out: args.out.clone(), force: args.force, dry_run: args.dry_run, max_trials: args.max_trials };
            let slurm = Slurm {
                flags: SlurmOptions {
                    partition: args.partition.clone(),
                    time: args.time.clone(),
                    cpus_per_task: args.cpus_per_task,
                    mem: args.mem.clone(),
                    max_parallel: args.max_parallel,
                    extra: args.sbatch.clone(),
                },
                sweep_bin: me.clone(),
            };
            // `--collect` gathers what a scheduler ran: with the default launcher, Slurm's.
            let kind = if args.collect && args.launcher == LauncherKind::Local { LauncherKind::Slurm } else { args.launcher };
            let launcher: &dyn Launcher = match kind {
                LauncherKind::Local => &local,
                LauncherKind::Slurm => &slurm,
            };
            if args.collect {
                mnist_experiments::collect(&opts, launcher, args.wait).map(drop)
            } else {
                if args.wait && !launcher.remote() {
                    anyhow::bail!("--wait applies to --launcher slurm and --collect; the local launcher always waits");
                }
                mnist_experiments::launch(&opts, launcher, args.wait).map(drop)
            }
        };
        match result {
            Ok(()) => Ok(ExitCode::SUCCESS),
            // Stopped while running trials, or while planning them: the shell's status for the signal.
            Err(e @ (SweepError::Interrupted { .. } | SweepError::Planning { .. })) => {
                eprintln!("error: {e}");
                let code = mnist_runs::stop::requested().map_or(1, |s| s.exit_code());
                Ok(ExitCode::from(code))
            }
            Err(e) => Err(e.into()),
        }
    })
}
