//! Test hooks: named fault points where `train` can be told to stop and wait, so a test (or the
//! chaos script) kills or signals it at exactly the point it names, never at a moment picked by a
//! sleep.
//!
//! Two environment variables drive them; both are for tests and are documented in
//! `docs/testing.md`:
//! - `MNIST_BURN_TEST_PAUSE_AT`: comma-separated points, e.g. `step@37,shutdown`. A point is a
//!   name, optionally `@N`: `N` is the global step for `step`, the epoch (1-based) for the others.
//! - `MNIST_BURN_TEST_MARKER_DIR`: a directory where each pause creates a file named after the
//!   point (`step@37`), once the process is waiting there.
//! - `MNIST_BURN_TEST_PANIC_AT`: points (as above) where the process panics instead, so a test
//!   sees what becomes of a panic of the engine (the Python package turns it into an exception).
//!
//! A paused process waits until a first stop signal arrives (SIGINT or SIGTERM: it then goes on
//! and stops as it would have at that point) or it is killed; paused after the first signal, it
//! waits for the second, which exits at once. The points:
//!
//! | point | where |
//! |---|---|
//! | `load@E` | `--resume`, lock taken, before the weights of epoch `E`'s checkpoint are read |
//! | `step@N` | before optimizer step `N` (counted over the whole run, from 1) |
//! | `shutdown` | a stop signal was seen; the run is about to stop (a second signal exits at once) |
//! | `checkpoint@E` | epoch `E`'s checkpoint files are written, its directory not yet renamed into place |
//! | `prune@E` | saving epoch `E`: an old checkpoint renamed to `.trash-*`, not yet deleted |
//! | `write:FILE@E` | `FILE` (`metrics.csv`, `run.json`, `config.toml`) written under a temporary name, not yet renamed |
//! | `tensorboard@E` | half of epoch `E`'s TensorBoard records appended to the event file |
//! | `plan` | `sweep` only: its first trial built while planning (a stop signal then ends planning at once) |
//!
//! Without `MNIST_BURN_TEST_PAUSE_AT` every point costs one load of a cached `Option`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stop;

/// Points to pause at and where to announce a pause, read once from the environment.
struct Hooks {
    points: Vec<String>,
    marker_dir: Option<PathBuf>,
    panics: Vec<String>,
}

fn hooks() -> Option<&'static Hooks> {
    static HOOKS: OnceLock<Option<Hooks>> = OnceLock::new();
    HOOKS
        .get_or_init(|| {
            let list = |var: &str| -> Vec<String> {
                std::env::var(var).unwrap_or_default().split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
            };
            let (points, panics) = (list("MNIST_BURN_TEST_PAUSE_AT"), list("MNIST_BURN_TEST_PANIC_AT"));
            let marker_dir = std::env::var_os("MNIST_BURN_TEST_MARKER_DIR").map(PathBuf::from);
            (!points.is_empty() || !panics.is_empty()).then_some(Hooks { points, marker_dir, panics })
        })
        .as_ref()
}

/// The epoch the numbered points other than `step` refer to (set by the training loop).
static EPOCH: AtomicUsize = AtomicUsize::new(0);

/// Sets the epoch (1-based) that the points `checkpoint`, `prune`, `write:*`, `tensorboard` and
/// `load` are numbered with from now on.
pub fn set_epoch(epoch: usize) {
    EPOCH.store(epoch, Ordering::Relaxed);
}

/// A fault point numbered with the current epoch (see [`set_epoch`]).
pub fn point(name: &str) {
    numbered(name, EPOCH.load(Ordering::Relaxed));
}

/// The fault point before optimizer step `step` (1-based, over the whole run).
pub fn step(step: usize) {
    numbered("step", step);
}

/// A fault point with no number (`shutdown`).
pub fn unnumbered(name: &str) {
    if let Some(h) = hooks()
        && h.points.iter().any(|p| p == name)
    {
        pause(h, name);
    }
}

fn numbered(name: &str, n: usize) {
    let Some(h) = hooks() else { return };
    let full = format!("{name}@{n}");
    if h.panics.iter().any(|p| *p == full || p == name) {
        panic!("test hook: panic at {full}");
    }
    if h.points.iter().any(|p| *p == full || p == name) {
        pause(h, &full);
    }
}

/// Announces the pause, then waits for a stop signal (or death).
fn pause(h: &Hooks, point: &str) {
    let seen = stop::requested();
    eprintln!("test hook: paused at {point} (pid {})", std::process::id());
    if let Some(dir) = &h.marker_dir {
        // Written under another name and renamed, so a waiting test never sees a partial file.
        let tmp = dir.join(format!(".{point}.{}", std::process::id()));
        let written = std::fs::write(&tmp, std::process::id().to_string()).and_then(|()| std::fs::rename(&tmp, dir.join(point)));
        if let Err(e) = written {
            eprintln!("test hook: cannot create the marker for {point} in {}: {e}", dir.display());
        }
    }
    // Polling a flag, not a timed wait: the process leaves only when a first stop signal arrives
    // (after one, a pause lasts until the second signal exits the process, or a kill).
    while stop::requested() == seen {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
