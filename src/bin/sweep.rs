//! `sweep`: runs a hyperparameter sweep (a sweep file: base config, overrides, grid axes, repeats)
//! as ordinary run directories `<sweep dir>/<trial>`, a few trials at a time, and summarizes them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mnist_experiments::{Local, SweepOptions};

/// Run a sweep: every grid point × repeat of a sweep file is one `train` run.
///
/// Trials go to artifacts/<sweep name>/<trial> (or --out); rerunning the same command skips
/// finished trials and resumes interrupted ones. summary.csv and summary.md hold the mean, std,
/// min, max and n of each final test metric per grid point. See configs/sweeps/l2.toml.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Sweep file, e.g. configs/sweeps/l2.toml.
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
    /// Trials run at once; the cores are split between them.
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
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        if args.jobs == 0 {
            anyhow::bail!("--jobs 0: expected at least 1");
        }
        // The trials run the `train` and `eval` built with this binary, next to it.
        let me = std::env::current_exe()?;
        let [train, eval] = ["train", "eval"].map(|name| me.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX)));
        for bin in [&train, &eval] {
            if !args.dry_run && !bin.is_file() {
                anyhow::bail!("cannot find {} next to {}; build it (`cargo build --bins`)", bin.display(), me.display());
            }
        }
        let launcher = Local::new(args.jobs, train, eval);
        let opts = SweepOptions { spec: args.config.clone(), out: args.out.clone(), force: args.force, dry_run: args.dry_run };
        // SIGINT and SIGTERM stop the sweep cleanly: no new trial starts, the running ones are
        // told to stop (they checkpoint), and a rerun resumes them.
        mnist_cli::stop_on_signals();
        match mnist_experiments::run(&opts, &launcher) {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(e @ mnist_experiments::SweepError::Interrupted { .. }) => {
                eprintln!("error: {e}");
                let code = mnist_trainer::stop::requested().map_or(1, |s| s.exit_code());
                Ok(ExitCode::from(code))
            }
            Err(e) => Err(e.into()),
        }
    })
}
