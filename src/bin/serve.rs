//! `serve`: a local web page over a folder of runs: every run, live, with its report and curves,
//! and a playground where every model answers a digit drawn with the mouse or a finger.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Serve a web page over a folder of runs, on this machine only unless --host says otherwise.
///
/// The runs page lists every run under --runs (training now, finished, interrupted), opens their
/// reports and overlays their curves; the playground sends a drawn digit to every run at once.
/// Nothing is written or deleted; only files inside the runs folder are served.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Folder of run directories (and sweeps).
    #[arg(long, default_value = mnist_runs::run_dir::RUNS_DIR, value_name = "DIR")]
    runs: PathBuf,
    /// Port; 0 picks a free one.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Address to listen on. Anything but loopback lets other machines use the page.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    open: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mnist_cli::run_main(move || {
        if !args.host.is_loopback() {
            eprintln!("warning: listening on {}: every machine that can reach this one can use the page and read the files of {}", args.host, args.runs.display());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let open = args.open;
        runtime.block_on(mnist_serve::serve(&args.runs, SocketAddr::new(args.host, args.port), |bound| {
            let url = format!("http://{bound}/");
            println!("serving {} at {url} (playground: {url}playground); Ctrl-C stops", args.runs.display());
            if open {
                let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
                if std::process::Command::new(opener).arg(&url).spawn().is_err() {
                    eprintln!("note: could not start {opener}; open {url} yourself");
                }
            }
        }))?;
        Ok(ExitCode::SUCCESS)
    })
}
