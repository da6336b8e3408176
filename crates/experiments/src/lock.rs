//! The sweep directory's lock (`sweep.lock`): one `sweep` process plans, runs or collects a sweep
//! at a time.

use std::path::Path;

use mnist_runs::run_dir::{RunLock, lock_file};

use crate::SweepError;
use crate::error::io;

/// The lock's file in the sweep directory.
pub const LOCK_FILE: &str = "sweep.lock";

/// The sweep directory's lock: the trainer's OS file lock ([`lock_file`]) on `sweep.lock`,
/// released when the process ends in any way, so a crash never leaves the directory blocked.
pub type SweepLock = RunLock;

/// Takes the lock of `dir` (created if need be).
pub fn lock(dir: &Path) -> Result<SweepLock, SweepError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    lock_file(&dir.join(LOCK_FILE))?.map_err(|pid| SweepError::Locked { path: dir.to_path_buf(), pid })
}
