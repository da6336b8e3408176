//! `sweep.toml`, the sweep's record in its directory: its spec with the axes expanded and every
//! trial's resolved config. A rerun with a different spec is refused (unless `--force`), and a
//! Slurm array task finds its trial's config there.

use std::path::Path;

use mnist_runs::run_dir::write_atomic;
use serde::{Deserialize, Serialize};

use crate::SweepError;
use crate::error::io;
use crate::spec::Spec;
use crate::trial::Trial;

/// The sweep's record in its directory.
pub const RECORD_FILE: &str = "sweep.toml";

/// The identity of a sweep, saved as `sweep.toml`: its spec with the axes expanded and every
/// trial's resolved config, so an edited base config counts as a different sweep too. The
/// metrics to summarize are left out: changing them changes no trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    sweep: RecordSweep,
    set: toml::Table,
    grid: Vec<RecordAxis>,
    trial: Vec<RecordTrial>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordSweep {
    name: String,
    base: String,
    repeats: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordAxis {
    key: String,
    values: Vec<toml::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordTrial {
    name: String,
    config: String,
}

impl Record {
    /// The record of `spec` expanded into `trials`.
    pub fn of(spec: &Spec, trials: &[Trial]) -> Record {
        let base = std::fs::canonicalize(&spec.base).unwrap_or_else(|_| spec.base.clone());
        Record {
            sweep: RecordSweep { name: spec.name.clone(), base: base.display().to_string(), repeats: spec.repeats },
            set: spec.set.iter().cloned().collect(),
            grid: spec.grid.iter().map(|a| RecordAxis { key: a.key.clone(), values: a.values.clone() }).collect(),
            trial: trials.iter().map(|t| RecordTrial { name: t.name.clone(), config: t.config.clone() }).collect(),
        }
    }

    /// The first way `self` (saved) differs from `now`.
    fn difference(&self, now: &Record) -> Option<String> {
        if self.sweep.base != now.sweep.base {
            return Some(format!("base {} there, {} now", self.sweep.base, now.sweep.base));
        }
        if self.sweep.repeats != now.sweep.repeats {
            return Some(format!("repeats = {} there, {} now", self.sweep.repeats, now.sweep.repeats));
        }
        if self.set != now.set {
            return Some("its [set] differs".into());
        }
        if self.grid != now.grid {
            return Some("its [grid] differs".into());
        }
        if self.trial != now.trial {
            return Some("the base config or the trials' configs differ".into());
        }
        None
    }

    /// Writes the record into the sweep directory `dir`, under a comment that says what it is.
    pub fn write(&self, dir: &Path) -> Result<(), SweepError> {
        let header = "# The sweep this directory holds, written by `sweep`: rerunning it with a different spec is refused unless --force.\n";
        write_atomic(&dir.join(RECORD_FILE), (header.to_string() + &toml::to_string(self).expect("a record serializes")).as_bytes())?;
        Ok(())
    }

    /// The record in the sweep directory `dir`, which must hold one.
    pub fn read(dir: &Path) -> Result<Record, SweepError> {
        let path = dir.join(RECORD_FILE);
        let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
        toml::from_str(&text).map_err(|e| SweepError::NotATrial { path: path.clone(), reason: format!("not a sweep record ({})", e.message()) })
    }

    /// Trial `name` as recorded, without its grid values (only its name and config are kept).
    pub fn trial(&self, name: &str) -> Option<Trial> {
        let saved = self.trial.iter().find(|t| t.name == name)?;
        Some(Trial { name: saved.name.clone(), point: String::new(), values: Vec::new(), seed: 0, config: saved.config.clone() })
    }
}

/// Refuses a directory whose record is another sweep's, unless `force`.
pub fn check(dir: &Path, spec: &Spec, trials: &[Trial], force: bool) -> Result<(), SweepError> {
    let record_path = dir.join(RECORD_FILE);
    if !record_path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&record_path).map_err(io("read", &record_path))?;
    let saved: Option<Record> = toml::from_str(&text).ok();
    let what = match &saved {
        Some(saved) => saved.difference(&Record::of(spec, trials)),
        None => Some(format!("{} is not a sweep record", record_path.display())),
    };
    match (what, force) {
        (Some(what), false) => Err(SweepError::Different { dir: dir.to_path_buf(), what }),
        _ => Ok(()),
    }
}
