//! Where named sets live on this machine: the data home (`MNIST_BURN_DATA`, else the platform's
//! cache folder) and the project's `data/` folder, found from the config file's folder and the
//! working directory, so a run does not depend on where it was started.

use std::path::{Path, PathBuf};

use crate::{DataError, FILE_NAMES, NamedSet};

/// The environment variable naming the data home.
pub const DATA_HOME_ENV: &str = "MNIST_BURN_DATA";

/// The folder `data fetch` writes to and named sets are looked up in first: `$MNIST_BURN_DATA`
/// when set and not empty, else `<cache>/mnist-burn/data` (`~/.cache/mnist-burn/data` on Linux,
/// `~/Library/Caches/mnist-burn/data` on macOS, `%LOCALAPPDATA%\mnist-burn\data` on Windows).
/// `None` only when neither the variable nor a home folder is known.
pub fn data_home() -> Option<PathBuf> {
    match std::env::var_os(DATA_HOME_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|cache| cache.join("mnist-burn").join("data")),
    }
}

/// The one command that fetches `set` into the data home.
pub fn fetch_command(set: NamedSet) -> String {
    format!("cargo run --bin data -- fetch {}", set.name())
}

/// Whether `dir` holds `set` as `data fetch` leaves it: the four IDX files, or for an image set
/// the marker written once the archive was verified and unpacked.
pub fn is_complete(set: NamedSet, dir: &Path) -> bool {
    if set.is_idx() { FILE_NAMES.iter().all(|f| dir.join(f).is_file()) } else { dir.join(COMPLETE_MARKER).is_file() }
}

/// The file `data fetch` writes into an unpacked image set once every file is in place.
pub const COMPLETE_MARKER: &str = ".complete";

/// The folders looked in for `set`, in order: `home` (the data home), then `data/<set>` in each folder from
/// each of `roots` up to the file system's root (the config file's folder and the working
/// directory are the usual roots, so a project checkout's `data/` is found from anywhere in it).
pub fn candidates(set: NamedSet, home: Option<&Path>, roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = home.map(|home| home.join(set.name())).into_iter().collect();
    for root in roots {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        for folder in root.ancestors() {
            let dir = folder.join(set.default_dir());
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// The first of [`candidates`] (with the [`data_home`]) that holds `set` completely; a missing
/// set is an error that lists where it was looked for and gives the command that fetches it.
pub fn locate(set: NamedSet, roots: &[PathBuf]) -> Result<PathBuf, DataError> {
    locate_in(set, data_home().as_deref(), roots)
}

/// [`locate`] with the data home given.
pub fn locate_in(set: NamedSet, home: Option<&Path>, roots: &[PathBuf]) -> Result<PathBuf, DataError> {
    let looked = candidates(set, home, roots);
    looked.iter().find(|dir| is_complete(set, dir)).cloned().ok_or_else(|| DataError::MissingSet {
        set: set.name(),
        looked: looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        command: fetch_command(set),
    })
}
