//! A run directory: the resolved config, run facts, checkpoints written atomically (temporary name,
//! then rename), `metrics.csv`, and a lock that keeps two trainers apart.

use std::io::Write;
use std::path::{Path, PathBuf};

use mnist_data::NormStats;
use serde::{Deserialize, Serialize};

use crate::metrics::MetricRow;

/// File name of the resolved config inside a run directory.
pub const CONFIG_FILE: &str = "config.toml";
/// File name of the run facts.
pub const RUN_FILE: &str = "run.json";
/// File name of the per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.csv";
/// File name of the per-step log.
pub const STEPS_FILE: &str = "steps.csv";
/// The folder runs go to by default: `train` writes `artifacts/<name>`, `sweep` its sweeps
/// `artifacts/<sweep name>`, and `serve` lists it.
pub const RUNS_DIR: &str = "artifacts";
const LOCK_FILE: &str = "train.lock";
const CHECKPOINTS: &str = "checkpoints";

/// Errors of the run directory.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An I/O failure, with the path concerned.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The run directory already holds a run.
    #[error("run directory {0} already exists; pass --resume to continue it, --force to start over (deleting it), or --out to choose another directory")]
    Exists(PathBuf),
    /// Not a run directory.
    #[error("{0} is not a run directory (no config.toml in it); expected a directory written by `train`")]
    NotARun(PathBuf),
    /// A file where a run directory was expected.
    #[error("{0} is a file, not a directory; expected a run directory (or a path where one can be created)")]
    NotADirectory(PathBuf),
    /// A run directory without `run.json`: training never got past loading its data.
    #[error("{0} has no run.json: its training never started (or the file was deleted); train it with `train --config ... --out {0} --force`")]
    NeverStarted(PathBuf),
    /// There is nothing to resume.
    #[error("cannot resume {0}: it has no checkpoint yet (no epoch completed), so there is nothing to resume; start it over with --force instead of --resume")]
    NothingToResume(PathBuf),
    /// The run is complete.
    #[error("cannot resume {0}: the run already finished; use `eval --run {0}`, or train again with --force")]
    Finished(PathBuf),
    /// Another trainer holds the lock.
    #[error("run directory {path} is in use by another `train` process (pid {pid}); wait for it to finish or stop it (its lock on {path}/train.lock ends when it exits, even if it crashes)")]
    Locked {
        /// The run directory.
        path: PathBuf,
        /// The holder.
        pid: u32,
    },
    /// A checkpoint that does not exist or cannot be read.
    #[error("checkpoint {path}: {reason}")]
    BadCheckpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A JSON file that cannot be parsed.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> RunError + 'a {
    move |source| RunError::Io { action, path: path.to_path_buf(), source }
}

/// Facts about a run that evaluation needs besides the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The normalization fitted on the training split.
    pub norm_stats: NormStats,
    /// Samples in the training, validation and test splits.
    pub split_sizes: [usize; 3],
    /// Whether validation used the test set.
    pub validation_is_test: bool,
    /// Backend the run trained on.
    pub backend: String,
    /// Whether training completed.
    pub finished: bool,
    /// Class names of an image-folder run, in label order (what `predict` prints); empty for IDX
    /// sets, whose labels are digits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// `[channels, height, width]` of the images the model was built for (runs written before
    /// it was recorded took MNIST's `[1, 28, 28]`).
    #[serde(default = "mnist_shape")]
    pub input_shape: [usize; 3],
}

fn mnist_shape() -> [usize; 3] {
    mnist_models::IMAGE_SHAPE
}

/// The training state saved with each checkpoint: enough to resume exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub global_step: usize,
    /// Epoch (1-based) of the best monitored value so far.
    pub best_epoch: Option<usize>,
    /// Best monitored value so far.
    pub best_value: Option<f64>,
    /// Epochs since the last improvement.
    pub stale_epochs: usize,
    /// Whether early stopping or the step limit ended training here.
    pub stopped: bool,
    /// Every metric row up to this checkpoint.
    pub history: Vec<MetricRow>,
    /// The `[model]` the weights belong to, so loading them into another model kind or size says
    /// which model they are from (absent in checkpoints written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<mnist_models::ModelConfig>,
}

/// The name of [`Checkpoint::training_weights_file`] in a checkpoint directory.
pub const TRAINING_WEIGHTS_FILE: &str = "training.bpk";

/// A checkpoint on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Its directory, `checkpoints/epoch-NNNN`.
    pub dir: PathBuf,
    /// Its state.
    pub state: TrainState,
}

impl Checkpoint {
    /// The model weights (Burn's burnpack format).
    pub fn model_file(&self) -> PathBuf {
        self.dir.join("model.bpk")
    }

    /// The optimizer state.
    pub fn optimizer_file(&self) -> PathBuf {
        self.dir.join("optimizer.bpk")
    }

    /// The weights the optimizer steps, saved beside `model.bpk` only when `training.ema` keeps
    /// an average of them (`model.bpk` then holds the average): what `--resume` continues.
    pub fn training_weights_file(&self) -> PathBuf {
        self.dir.join(TRAINING_WEIGHTS_FILE)
    }
}

/// An open run directory.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

/// `epoch-0007`: the name of an epoch's checkpoint directory.
fn checkpoint_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}")
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    // `NamedTempFile` is created in the same directory (same filesystem, so the rename is atomic)
    // under a name starting with `.tmp`, which no reader looks at.
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("create a temporary file in", dir))?;
    tmp.write_all(bytes).map_err(io("write", path))?;
    tmp.as_file().sync_all().map_err(io("sync", path))?;
    if let Some(name) = path.file_name() {
        crate::hooks::point(&format!("write:{}", name.to_string_lossy()));
    }
    tmp.persist(path).map_err(|e| RunError::Io { action: "replace", path: path.to_path_buf(), source: e.error })?;
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, RunError> {
    let text = std::fs::read_to_string(path).map_err(io("read", path))?;
    serde_json::from_str(&text).map_err(|e| RunError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("run files always serialize")
}

impl RunDir {
    /// Opens an existing run directory (for `eval`, `report`, `--resume`).
    pub fn open(path: &Path) -> Result<RunDir, RunError> {
        if path.is_file() {
            return Err(RunError::NotADirectory(path.to_path_buf()));
        }
        if !path.join(CONFIG_FILE).is_file() {
            if !path.exists() {
                return Err(RunError::Io {
                    action: "open run directory",
                    path: path.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                });
            }
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        Ok(RunDir { path: path.to_path_buf() })
    }

    /// Creates a fresh run directory; an existing one is refused unless `force` (which deletes it).
    pub fn create(path: &Path, force: bool) -> Result<RunDir, RunError> {
        RunDir::check_create(path, force)?;
        // Past the check, a non-empty directory is a run that `force` allows to delete.
        if path.is_dir() && std::fs::read_dir(path).map_err(io("read", path))?.next().is_some() {
            std::fs::remove_dir_all(path).map_err(io("delete", path))?;
        }
        std::fs::create_dir_all(path.join(CHECKPOINTS)).map_err(io("create", path))?;
        Ok(RunDir { path: path.to_path_buf() })
    }

    /// What [`RunDir::create`] would refuse, checked without touching anything: a file in the way,
    /// an existing run without `force`, or a run another `train` process holds (never deleted,
    /// even with `force`).
    pub fn check_create(path: &Path, force: bool) -> Result<(), RunError> {
        if !path.exists() {
            return Ok(());
        }
        if !path.is_dir() {
            return Err(RunError::NotADirectory(path.to_path_buf()));
        }
        if let Some(pid) = lock_holder(&path.join(LOCK_FILE)) {
            return Err(RunError::Locked { path: path.to_path_buf(), pid });
        }
        let is_empty = std::fs::read_dir(path).map_err(io("read", path))?.next().is_none();
        if is_empty {
            return Ok(());
        }
        if !force {
            return Err(RunError::Exists(path.to_path_buf()));
        }
        if !(path.join(CONFIG_FILE).is_file() || path.join(CHECKPOINTS).is_dir()) {
            // Refuse to wipe a directory that is not a run (a typo in --out must not delete data).
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        Ok(())
    }

    /// The pid of the `train` process training this run now, if one is.
    pub fn trainer(&self) -> Option<u32> {
        lock_holder(&self.file(LOCK_FILE))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of a file inside the run.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Saves the resolved config.
    pub fn write_config(&self, toml: &str) -> Result<(), RunError> {
        write_atomic(&self.file(CONFIG_FILE), toml.as_bytes())
    }

    /// The saved config's text.
    pub fn read_config(&self) -> Result<String, RunError> {
        let path = self.file(CONFIG_FILE);
        std::fs::read_to_string(&path).map_err(io("read", &path))
    }

    /// Saves the run facts.
    pub fn write_info(&self, info: &RunInfo) -> Result<(), RunError> {
        write_atomic(&self.file(RUN_FILE), &json(info))
    }

    /// The run facts, if training got far enough to write them.
    pub fn read_info(&self) -> Result<Option<RunInfo>, RunError> {
        let path = self.file(RUN_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let info: RunInfo = read_json(&path)?;
        let s = info.norm_stats;
        if !(s.offset.is_finite() && s.scale.is_finite() && s.scale > 0.0) {
            return Err(RunError::Corrupt {
                path,
                reason: format!("norm_stats offset {} and scale {}: expected finite numbers, scale > 0", s.offset, s.scale),
            });
        }
        // `eval` adds them up to size its memory check: counts whose sum overflows are corrupt.
        if info.split_sizes.iter().try_fold(0usize, |n, &s| n.checked_add(s)).is_none() {
            return Err(RunError::Corrupt {
                path,
                reason: format!("split_sizes {:?}: expected the sample counts of the training, validation and test splits", info.split_sizes),
            });
        }
        Ok(Some(info))
    }

    /// Rewrites `metrics.csv` from the whole history (atomically).
    pub fn write_metrics(&self, rows: &[MetricRow]) -> Result<(), RunError> {
        write_atomic(&self.file(METRICS_FILE), &crate::metrics::to_csv(rows))
    }

    /// Takes the training lock: an advisory lock (`flock`) on `train.lock` (see [`lock_file`]).
    pub fn lock(&self) -> Result<RunLock, RunError> {
        lock_file(&self.file(LOCK_FILE))?.map_err(|pid| RunError::Locked { path: self.path.clone(), pid })
    }

    /// Removes what processes killed in the middle of a write left behind: temporary files of
    /// atomic writes (`.tmp*`), half-written and half-deleted checkpoints (`.tmp-epoch-*`,
    /// `.trash-epoch-*`) and partial TensorBoard files (`.partial-*`). Readers ignore them
    /// anyway; call it only while holding the lock, so no live writer's file is taken.
    pub fn remove_leftovers(&self) -> Result<(), RunError> {
        for dir in [self.path.clone(), self.checkpoints_dir(), self.file("tensorboard")] {
            if dir.is_dir() {
                remove_leftovers(&dir)?;
            }
        }
        Ok(())
    }

    fn checkpoints_dir(&self) -> PathBuf {
        self.path.join(CHECKPOINTS)
    }

    /// The directory of epoch `epoch`'s checkpoint (1-based), whether or not it exists.
    pub fn checkpoint_dir(&self, epoch: usize) -> PathBuf {
        self.checkpoints_dir().join(checkpoint_name(epoch))
    }

    /// Every complete checkpoint, oldest first. Temporary (`.tmp-*`) and doomed (`.trash-*`)
    /// directories of interrupted writes and deletions are ignored (and cleaned up by the next save).
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, RunError> {
        let dir = self.checkpoints_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
            let entry = entry.map_err(io("read", &dir))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(n) = name.strip_prefix("epoch-").and_then(|n| n.parse::<usize>().ok()) {
                found.push((n, entry.path()));
            }
        }
        found.sort();
        let mut out = Vec::new();
        for (_, path) in found {
            out.push(Checkpoint { state: read_json(&path.join("state.json"))?, dir: path });
        }
        Ok(out)
    }

    /// The most recent checkpoint.
    pub fn last_checkpoint(&self) -> Result<Option<Checkpoint>, RunError> {
        Ok(self.checkpoints()?.pop())
    }

    /// The checkpoint of the best monitored value (per the last checkpoint's state).
    pub fn best_checkpoint(&self) -> Result<Option<Checkpoint>, RunError> {
        let all = self.checkpoints()?;
        let Some(best) = all.last().and_then(|c| c.state.best_epoch) else {
            return Ok(all.last().cloned());
        };
        match all.into_iter().find(|c| c.state.epoch == best) {
            Some(c) => Ok(Some(c)),
            None => Err(RunError::BadCheckpoint {
                path: self.checkpoint_dir(best),
                reason: format!("the last checkpoint's state.json names epoch {best} as the best, but its checkpoint is missing; use --checkpoint last"),
            }),
        }
    }

    /// Writes a checkpoint directory atomically: files go into a temporary directory that is
    /// renamed into place, then old checkpoints beyond `keep` (except the best) are removed.
    pub fn save_checkpoint(
        &self,
        state: &TrainState,
        keep: usize,
        write_weights: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<Checkpoint, RunError> {
        let root = self.checkpoints_dir();
        let name = checkpoint_name(state.epoch);
        let final_dir = root.join(&name);
        let tmp_dir = root.join(format!(".tmp-{name}"));
        remove_leftovers(&root)?;
        std::fs::create_dir_all(&tmp_dir).map_err(io("create", &tmp_dir))?;
        write_weights(&tmp_dir).map_err(|reason| RunError::BadCheckpoint { path: tmp_dir.clone(), reason })?;
        write_atomic(&tmp_dir.join("state.json"), &json(state))?;
        crate::hooks::point("checkpoint");
        if final_dir.exists() {
            // Re-saving an epoch (resume after a crash mid-epoch): replace it.
            remove_checkpoint_dir(&final_dir)?;
        }
        std::fs::rename(&tmp_dir, &final_dir).map_err(io("rename", &tmp_dir))?;
        sync_dir(&root);
        let checkpoint = Checkpoint { dir: final_dir, state: state.clone() };
        self.prune(keep, state.best_epoch)?;
        Ok(checkpoint)
    }

    fn prune(&self, keep: usize, best: Option<usize>) -> Result<(), RunError> {
        let all = self.checkpoints()?;
        let excess = all.len().saturating_sub(keep.max(1));
        for c in all.into_iter().take(excess) {
            if Some(c.state.epoch) != best {
                remove_checkpoint_dir(&c.dir)?;
            }
        }
        Ok(())
    }

    /// Resolves `best`, `last` or a path to a checkpoint directory (or its model file).
    pub fn resolve_checkpoint(&self, which: &str) -> Result<Checkpoint, RunError> {
        let found = match which {
            "last" => self.last_checkpoint()?,
            "best" => self.best_checkpoint()?,
            path => {
                let p = PathBuf::from(path);
                let dir = if p.is_file() { p.parent().map(Path::to_path_buf).unwrap_or_default() } else { p.clone() };
                if !dir.join("state.json").is_file() || !dir.join("model.bpk").is_file() {
                    return Err(RunError::BadCheckpoint {
                        path: p,
                        reason: "not a checkpoint directory (expected model.bpk and state.json in it); use best, last or a path like RUN/checkpoints/epoch-0003".into(),
                    });
                }
                Some(Checkpoint { state: read_json(&dir.join("state.json"))?, dir })
            }
        };
        found.ok_or_else(|| RunError::BadCheckpoint {
            path: self.checkpoints_dir(),
            reason: "the run has no checkpoint yet".into(),
        })
    }
}

/// Removes the leftovers of killed writers directly inside `dir` (see [`RunDir::remove_leftovers`]).
fn remove_leftovers(dir: &Path) -> Result<(), RunError> {
    for entry in std::fs::read_dir(dir).map_err(io("read", dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with(".tmp") || name.starts_with(".trash-") || name.starts_with(".partial-")) {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(io("remove", &path))?;
    }
    Ok(())
}

/// Deletes a checkpoint directory without ever leaving half of one under its `epoch-NNNN` name
/// (a process killed inside `remove_dir_all` would): it is renamed to `.trash-epoch-NNNN` first.
fn remove_checkpoint_dir(dir: &Path) -> Result<(), RunError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let trash = dir.with_file_name(format!(".trash-{name}"));
    if trash.exists() {
        std::fs::remove_dir_all(&trash).map_err(io("remove", &trash))?;
    }
    std::fs::rename(dir, &trash).map_err(io("rename", dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    crate::hooks::point("prune");
    std::fs::remove_dir_all(&trash).map_err(io("remove", &trash))
}

fn sync_dir(dir: &Path) {
    // Best effort: makes the rename durable on filesystems that need it; failure is harmless.
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// The pid of the live `train` process holding the lock at `path`, if one does.
fn lock_holder(path: &Path) -> Option<u32> {
    let file = std::fs::File::open(path).ok()?;
    match file.try_lock() {
        // Nobody holds it (the file may be a crashed run's leftover): unlocked again on drop.
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => {
            Some(std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0))
        }
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Whether `path` still names the open `file` (same device and inode).
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Takes an advisory lock (`flock`) on the file at `path` (created if missing), which the kernel
/// releases when the holder exits in any way (crash, SIGKILL, power loss), so a lock file left
/// behind never blocks a later process. The file holds the holder's pid, for messages. Returns
/// `Ok(Err(pid))` when another process holds it.
pub fn lock_file(path: &Path) -> Result<Result<RunLock, u32>, RunError> {
    for _ in 0..10 {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io("create", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Ok(Err(std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0)));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", path)(e)),
        }
        // The holder before us removes the file as it releases the lock: if the path no longer
        // names the file we locked, our lock guards nothing; open the path again.
        if !same_file(&file, path) {
            continue;
        }
        file.set_len(0).map_err(io("write", path))?;
        write!(file, "{}", std::process::id()).map_err(io("write", path))?;
        file.flush().map_err(io("write", path))?;
        return Ok(Ok(RunLock { path: path.to_path_buf(), _file: file }));
    }
    Ok(Err(0))
}

/// Held while training; removes the lock file, then releases the lock (by closing it), when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
