//! `data`: fetches the named data sets into the data home and lists where each one is found.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mnist_data::{NAMED_SETS, NamedSet, home};
use mnist_fetch::{MIRROR_ENV, Outcome, Progress};

/// Fetch the named data sets (mnist, fashion-mnist, kmnist, lfw) and show where they are.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download a named set into the data home, verified against its pinned sha256.
    Fetch {
        /// mnist, fashion-mnist, kmnist or lfw.
        name: String,
        /// A mirror: the base URL the file names are appended to (default: $MNIST_BURN_MIRROR,
        /// else the official locations).
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// The data home to write to (default: $MNIST_BURN_DATA, else ~/.cache/mnist-burn/data).
        #[arg(long, value_name = "DIR")]
        home: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// List the named sets and the folder each is read from (or that it is missing).
    List,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        match args.command {
            Command::Fetch { name, mirror, home, quiet } => {
                let set = NamedSet::from_name(&name).with_context(|| {
                    format!("unknown data set {name:?}; expected one of {}", NAMED_SETS.map(NamedSet::name).join(", "))
                })?;
                let home = home.or_else(home::data_home).context("no data home: set MNIST_BURN_DATA or pass --home DIR")?;
                let mirror = mirror.or_else(|| std::env::var(MIRROR_ENV).ok().filter(|m| !m.is_empty()));
                let plan = mnist_fetch::plan(set, &home, mirror.as_deref());
                let progress = if quiet { Progress::Quiet } else { Progress::Bar };
                for (file, outcome) in mnist_fetch::fetch(&plan, progress)? {
                    match outcome {
                        Outcome::Downloaded(url) => println!("{file}: downloaded from {url}, sha256 verified"),
                        Outcome::AlreadyThere => println!("{file}: already there, sha256 verified"),
                    }
                }
                println!("{} is in {}", set.name(), plan.dest.display());
            }
            Command::List => {
                let roots: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
                match home::data_home() {
                    Some(h) => println!("data home: {} (set {} to change it)", h.display(), home::DATA_HOME_ENV),
                    None => println!("data home: none (set {})", home::DATA_HOME_ENV),
                }
                for set in NAMED_SETS {
                    match home::locate(set, &roots) {
                        Ok(dir) => println!("{:<14} {}", set.name(), dir.display()),
                        Err(_) => println!("{:<14} missing: {}", set.name(), home::fetch_command(set)),
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
