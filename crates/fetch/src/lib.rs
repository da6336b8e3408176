//! Downloads the named data sets into the data home: every file is streamed to a temporary name
//! beside its final one, hashed on the way, and renamed only once its pinned sha256 matches, so a
//! cut or corrupt download leaves nothing behind. LFW's archive is unpacked the same way: into a
//! temporary folder, renamed when complete.
//!
//! May import: `mnist-data` (the data home and the sets' checksums). Used by the `data` binary only.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mnist_data::home::COMPLETE_MARKER;
use mnist_data::{FILE_NAMES, NamedSet};
use sha2::{Digest, Sha256};

/// The environment variable naming a mirror (a base URL the file names are appended to), as
/// `--mirror` does.
pub const MIRROR_ENV: &str = "MNIST_BURN_MIRROR";

/// The most bytes accepted for one file: far above the largest (LFW's 180 MB archive), so a
/// server that never stops sending cannot fill the disk.
const MAX_BYTES: u64 = 1 << 30;

/// One file to download: its name in the set's folder, its pinned sha256 and where to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// File name (also the last part of each mirror's URL).
    pub file: String,
    /// The published sha256, lowercase hex.
    pub sha256: String,
    /// URLs tried in order until one gives the right bytes.
    pub urls: Vec<String>,
}

/// What to fetch and where: the set's files, and whether the (single) file is an archive to unpack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The set's name (for messages).
    pub name: String,
    /// The folder the set ends up in: `<home>/<name>`.
    pub dest: PathBuf,
    /// The files.
    pub files: Vec<Remote>,
    /// Whether `files[0]` is a `.tgz` whose top folder is unpacked into `dest` (LFW), rather than
    /// files kept as they are.
    pub unpack: bool,
}

/// The official download locations of each set, tried in order (first the mirror the
/// maintainers or torchvision point to, then the original host).
fn official_bases(set: NamedSet) -> &'static [&'static str] {
    match set {
        // yann.lecun.com refuses most downloads today; torchvision's S3 copy is tried first.
        NamedSet::Mnist => &["https://ossci-datasets.s3.amazonaws.com/mnist", "http://yann.lecun.com/exdb/mnist"],
        NamedSet::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"],
        NamedSet::Kmnist => &["http://codh.rois.ac.jp/kmnist/dataset/kmnist"],
        NamedSet::Lfw => &["http://vis-www.cs.umass.edu/lfw"],
    }
}

/// LFW's archive and its sha256, as pinned by scikit-learn (`sklearn/datasets/_lfw.py`,
/// `ARCHIVE`), which downloads the same `lfw.tgz` from figshare (tried second here).
const LFW_ARCHIVE: &str = "lfw.tgz";
const LFW_SHA256: &str = "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0";
const LFW_FIGSHARE: &str = "https://ndownloader.figshare.com/files/5976018";

/// The plan for `set` under `home`; `mirror` (a base URL) replaces the official locations.
pub fn plan(set: NamedSet, home: &Path, mirror: Option<&str>) -> Plan {
    let urls = |file: &str| -> Vec<String> {
        match mirror {
            Some(base) => vec![format!("{}/{file}", base.trim_end_matches('/'))],
            None => {
                let mut urls: Vec<String> = official_bases(set).iter().map(|b| format!("{b}/{file}")).collect();
                if set == NamedSet::Lfw {
                    urls.push(LFW_FIGSHARE.into());
                }
                urls
            }
        }
    };
    let files = if set.is_idx() {
        FILE_NAMES.iter().zip(set.sha256()).map(|(f, sum)| Remote { file: (*f).into(), sha256: (*sum).into(), urls: urls(f) }).collect()
    } else {
        vec![Remote { file: LFW_ARCHIVE.into(), sha256: LFW_SHA256.into(), urls: urls(LFW_ARCHIVE) }]
    };
    Plan { name: set.name().into(), dest: home.join(set.name()), files, unpack: !set.is_idx() }
}

/// Why a set could not be fetched. Each says what was kept: nothing of a failed file.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, or the host does not answer.
    #[error("cannot download {url}: {reason} (no network here? another mirror can be given with --mirror URL or {MIRROR_ENV})")]
    Unreachable {
        /// The URL.
        url: String,
        /// What the HTTP client reported.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("cannot download {url}: the server answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The connection ended before the whole file arrived.
    #[error("the download of {url} was cut after {received} of {expected} bytes; nothing of it was kept")]
    Cut {
        /// The URL.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced (or "an unknown number of").
        expected: String,
    },
    /// The bytes arrived but are not the published file.
    #[error("{url} does not match the published {file}: sha256 {found}, expected {expected}; nothing of it was kept (a corrupt download or a wrong mirror)")]
    Checksum {
        /// The URL.
        url: String,
        /// The file's name.
        file: String,
        /// The digest of what arrived.
        found: String,
        /// The pinned digest.
        expected: String,
    },
    /// The server sent more than any file of a set can hold.
    #[error("{url} sent more than {} MiB; expected {file}, nothing of it was kept", MAX_BYTES >> 20)]
    TooLarge {
        /// The URL.
        url: String,
        /// The file's name.
        file: String,
    },
    /// Every URL of a file failed.
    #[error("could not fetch {file}:\n  {}", .attempts.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    AllFailed {
        /// The file's name.
        file: String,
        /// One error per URL tried.
        attempts: Vec<FetchError>,
    },
    /// A file already in the data home is not the published one; it is left alone.
    #[error("{path} is already there but is not the published file (sha256 {found}, expected {expected}); remove it and fetch again")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its digest.
        found: String,
        /// The pinned digest.
        expected: String,
    },
    /// A folder of an image set is there without the marker of a finished unpacking.
    #[error("{path} is already there but was not left by a finished fetch (no {COMPLETE_MARKER}); remove it and fetch again")]
    Incomplete {
        /// The folder.
        path: PathBuf,
    },
    /// The archive is not a gzip-compressed tar file of the expected layout.
    #[error("cannot unpack {path}: {reason}; nothing was kept")]
    Archive {
        /// The archive.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file system refused.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What a fetch did with each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Downloaded from this URL and verified.
    Downloaded(String),
    /// Already there with the right sha256.
    AlreadyThere,
}

/// Whether to draw progress bars (they are hidden anyway when stderr is not a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar per file on stderr.
    Bar,
    /// Nothing.
    Quiet,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FetchError + 'a {
    move |source| FetchError::Io { action, path: path.to_path_buf(), source }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_sha256(path: &Path) -> Result<String, FetchError> {
    let mut f = File::open(path).map_err(io("read", path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher).map_err(io("read", path))?;
    Ok(hex(&hasher.finalize()))
}

/// Fetches every file of `plan` (skipping those already there and verified), then unpacks an
/// archive set. Returns what happened to each file, in order.
pub fn fetch(plan: &Plan, progress: Progress) -> Result<Vec<(String, Outcome)>, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    if plan.unpack {
        return fetch_archive(&agent, plan, progress);
    }
    std::fs::create_dir_all(&plan.dest).map_err(io("create", &plan.dest))?;
    let mut out = Vec::new();
    for remote in &plan.files {
        let target = plan.dest.join(&remote.file);
        let outcome = fetch_file(&agent, remote, &target, progress)?;
        out.push((remote.file.clone(), outcome));
    }
    Ok(out)
}

/// Fetches one file to `target` unless it is already there and verified.
fn fetch_file(agent: &ureq::Agent, remote: &Remote, target: &Path, progress: Progress) -> Result<Outcome, FetchError> {
    if target.exists() {
        let found = file_sha256(target)?;
        if found == remote.sha256 {
            return Ok(Outcome::AlreadyThere);
        }
        return Err(FetchError::Foreign { path: target.to_path_buf(), found, expected: remote.sha256.clone() });
    }
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut attempts = Vec::new();
    for url in &remote.urls {
        match download(agent, url, remote, folder, progress) {
            Ok(tmp) => {
                // Renamed only now, verified: the final name never holds a partial file.
                tmp.persist_noclobber(target).map_err(|e| FetchError::Io { action: "rename into", path: target.to_path_buf(), source: e.error })?;
                return Ok(Outcome::Downloaded(url.clone()));
            }
            Err(e) => attempts.push(e),
        }
    }
    Err(match attempts.len() {
        1 => attempts.remove(0),
        _ => FetchError::AllFailed { file: remote.file.clone(), attempts },
    })
}

/// Streams `url` into a temporary file in `folder`, hashing it; returns it once its length and
/// sha256 are right. On any failure the temporary file is removed (dropped).
fn download(agent: &ureq::Agent, url: &str, remote: &Remote, folder: &Path, progress: Progress) -> Result<tempfile::NamedTempFile, FetchError> {
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => FetchError::Status { url: url.into(), status },
        other => FetchError::Unreachable { url: url.into(), reason: other.to_string() },
    })?;
    let body = response.into_body();
    let announced = body.content_length();
    let mut reader = body.into_reader();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", remote.file))
        .suffix(".part")
        .tempfile_in(folder)
        .map_err(io("create a temporary file in", folder))?;
    let bar = match progress {
        Progress::Bar => ProgressBar::new(announced.unwrap_or(0)),
        Progress::Quiet => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(remote.file.clone());
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let expected = || announced.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string());
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                bar.abandon();
                return Err(FetchError::Cut { url: url.into(), received, expected: expected() });
            }
        };
        received += n as u64;
        if received > MAX_BYTES {
            bar.abandon();
            return Err(FetchError::TooLarge { url: url.into(), file: remote.file.clone() });
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(io("write", tmp.path()))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if announced.is_some_and(|n| n != received) {
        return Err(FetchError::Cut { url: url.into(), received, expected: expected() });
    }
    let found = hex(&hasher.finalize());
    if found != remote.sha256 {
        return Err(FetchError::Checksum { url: url.into(), file: remote.file.clone(), found, expected: remote.sha256.clone() });
    }
    tmp.as_file().sync_all().map_err(io("write", tmp.path()))?;
    Ok(tmp)
}

/// Downloads the archive of an image set beside its folder, unpacks it into a temporary folder,
/// writes the marker and renames the folder into place; the archive is removed afterwards.
fn fetch_archive(agent: &ureq::Agent, plan: &Plan, progress: Progress) -> Result<Vec<(String, Outcome)>, FetchError> {
    let remote = &plan.files[0];
    if plan.dest.exists() {
        if plan.dest.join(COMPLETE_MARKER).is_file() {
            return Ok(vec![(remote.file.clone(), Outcome::AlreadyThere)]);
        }
        return Err(FetchError::Incomplete { path: plan.dest.clone() });
    }
    let home = plan.dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(home).map_err(io("create", home))?;
    let mut attempts = Vec::new();
    for url in &remote.urls {
        match download(agent, url, remote, home, progress) {
            Ok(archive) => {
                unpack(archive.path(), url, &plan.dest, &remote.sha256)?;
                return Ok(vec![(remote.file.clone(), Outcome::Downloaded(url.clone()))]);
            }
            Err(e) => attempts.push(e),
        }
    }
    Err(match attempts.len() {
        1 => attempts.remove(0),
        _ => FetchError::AllFailed { file: remote.file.clone(), attempts },
    })
}

/// Unpacks the regular files of a `.tgz` whose entries all sit under one top folder into `dest`
/// (without that folder), through a temporary folder beside it; links, devices and paths that
/// leave the folder are refused.
pub fn unpack(archive: &Path, source: &str, dest: &Path, sha256: &str) -> Result<(), FetchError> {
    let bad = |reason: String| FetchError::Archive { path: source.to_string(), reason };
    let home = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", dest.file_name().map_or_else(|| "set".into(), |n| n.to_string_lossy().into_owned())))
        .suffix(".unpacking")
        .tempdir_in(home)
        .map_err(io("create a temporary folder in", home))?;
    let file = File::open(archive).map_err(io("read", archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    let mut files = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!("{} is not a regular file (links and devices are not unpacked)", path.display())));
        }
        // `lfw/Name/Name_0001.jpg` → `Name/Name_0001.jpg`; every part must be a plain name.
        let mut parts = path.components();
        parts.next();
        let rel: PathBuf = parts.clone().collect();
        if rel.as_os_str().is_empty() || !parts.all(|c| matches!(c, Component::Normal(_))) || !path.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(format!("entry {} is not a file inside the archive's top folder", path.display())));
        }
        let out = tmp.path().join(&rel);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        entry.unpack(&out).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        files += 1;
    }
    if files == 0 {
        return Err(bad("it holds no file".into()));
    }
    std::fs::write(tmp.path().join(COMPLETE_MARKER), format!("{sha256}  {files} files\n")).map_err(io("write", tmp.path()))?;
    let kept = tmp.keep();
    std::fs::rename(&kept, dest).map_err(|source| {
        let _ = std::fs::remove_dir_all(&kept);
        FetchError::Io { action: "rename into", path: dest.to_path_buf(), source }
    })?;
    Ok(())
}
