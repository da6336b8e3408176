//! The playground's real test digits: the first MNIST test images, found as `train` finds its
//! data. A run of the folder that reads MNIST says where: its `data.dir`, else the named set
//! `mnist` looked for in the data home and in a project's `data/mnist` above the run and the
//! working directory. With no such run (an empty folder, runs of other sets), the set is looked
//! for the same way from the runs folder and the working directory. Only the test files are read,
//! and their checksums are not compared (the digits are only shown; `train` and `eval` verify).

use std::path::{Path, PathBuf};

use mnist_data::{FILE_NAMES, NamedSet, home, idx};
use mnist_config::{Config, Experiment};
use serde::Serialize;

use mnist_inference::digit::SIDE;
use crate::runs;

/// One real test digit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digit {
    /// Its label, 0 to 9.
    pub label: u8,
    /// 28 × 28 grey levels in [0, 1], row-major, white ink on black.
    pub pixels: Vec<f32>,
}

/// What `/api/digits` answers: the digits and the folder they were read from, or no digits and
/// why (`missing`: where MNIST was looked for and the command that fetches it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Digits {
    /// The first test digits; empty when no MNIST was found.
    pub digits: Vec<Digit>,
    /// The folder holding the test files they were read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PathBuf>,
    /// Why there are no digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// The first `n` MNIST test digits for the runs folder `root` (see the module's doc), with the
/// data home `home` (`None`: there is none) and the working directory `cwd`.
pub fn find(root: &Path, home: Option<&Path>, cwd: Option<&Path>, n: usize) -> Digits {
    let cwd: Vec<PathBuf> = cwd.map(Path::to_path_buf).into_iter().collect();
    let mut tried = Vec::new();
    for run in runs::scan(root) {
        let dir = root.join(&run.name);
        let Some(folder) = run_mnist_folder(&dir, home, &cwd) else {
            continue;
        };
        if tried.contains(&folder) {
            continue;
        }
        if let Ok(digits) = read_test_digits(&folder, n) {
            return Digits {
                digits,
                source: Some(folder),
                missing: None,
            };
        }
        tried.push(folder);
    }
    let roots: Vec<PathBuf> = std::iter::once(root.to_path_buf()).chain(cwd).collect();
    let located = home::locate_in(NamedSet::Mnist, home, &roots).map_err(|e| e.to_string());
    match located.and_then(|folder| read_test_digits(&folder, n).map(|d| (folder, d))) {
        Ok((folder, digits)) => Digits {
            digits,
            source: Some(folder),
            missing: None,
        },
        Err(why) => Digits {
            digits: Vec::new(),
            source: None,
            missing: Some(why),
        },
    }
}

/// The folder of MNIST files the run in `dir` reads, as `train` found it: its `data.dir`
/// (absolute in a saved config; a relative one is read from the run's folder), else the named set
/// located from the run's folder and `cwd`. `None` for a run of another named set, of an image
/// folder, or whose data is not found.
fn run_mnist_folder(dir: &Path, home: Option<&Path>, cwd: &[PathBuf]) -> Option<PathBuf> {
    let path = dir.join("config.toml");
    let config = Config::parse(&std::fs::read_to_string(&path).ok()?, &path).ok()?;
    let experiment = Experiment::new(config, &path).ok()?;
    let data = &experiment.config().data;
    if data.images.is_some() || data.set.is_some_and(|s| s != NamedSet::Mnist) {
        return None;
    }
    match &data.dir {
        Some(folder) => Some(folder.clone()),
        None => {
            let roots: Vec<PathBuf> = std::iter::once(dir.to_path_buf())
                .chain(cwd.iter().cloned())
                .collect();
            home::locate_in(NamedSet::Mnist, home, &roots).ok()
        }
    }
}

/// The first `n` digits of the test files in `folder`; an error names the file and what is wrong
/// (28 × 28 images are expected: the playground draws at that size).
fn read_test_digits(folder: &Path, n: usize) -> Result<Vec<Digit>, String> {
    let (images, labels) = (folder.join(FILE_NAMES[2]), folder.join(FILE_NAMES[3]));
    let read = idx::read_images(&images).map_err(|e| e.to_string())?;
    if (read.rows, read.cols) != (SIDE, SIDE) {
        return Err(format!(
            "{} holds {} × {} images; the playground shows {SIDE} × {SIDE} digits",
            images.display(),
            read.rows,
            read.cols
        ));
    }
    let labels = idx::read_labels(&labels).map_err(|e| e.to_string())?;
    let count = n.min(read.count).min(labels.len());
    Ok(read
        .pixels
        .chunks_exact(SIDE * SIDE)
        .zip(labels)
        .take(count)
        .map(|(pixels, label)| Digit {
            label,
            pixels: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's `data/` folder, which holds `mnist/`.
    fn project_data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
    }

    /// The first ten labels of the MNIST test set.
    const FIRST_LABELS: [u8; 10] = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9];

    /// A run directory as the runs page sees one: only its `config.toml`, `[data]` being `data`.
    fn fake_run(dir: &Path, data: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let text = format!(
            "[experiment]\nname = \"x\"\nseed = 1\n\n[data]\n{data}\n\n[model]\nkind = \"mlp\"\nhidden = [8]\n\n\
             [training]\nepochs = 1\nbatch_size = 10\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n"
        );
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }

    fn labels(d: &Digits) -> Vec<u8> {
        d.digits.iter().map(|d| d.label).collect()
    }

    #[test]
    fn a_run_that_names_its_mnist_folder_is_read_first() {
        let t = tempfile::tempdir().unwrap();
        let runs = t.path().join("runs");
        let mnist = std::fs::canonicalize(project_data().join("mnist")).unwrap();
        fake_run(
            &runs.join("a"),
            &format!("set = \"mnist\"\ndir = \"{}\"", mnist.display()),
        );
        let empty_home = t.path().join("home");
        let d = find(&runs, Some(&empty_home), Some(t.path()), 12);
        assert_eq!(
            d.source.as_deref(),
            Some(mnist.as_path()),
            "{:?}",
            d.missing
        );
        assert_eq!(d.digits.len(), 12);
        assert_eq!(labels(&d)[..10], FIRST_LABELS);
        assert!(
            d.digits.iter().all(|d| d.pixels.len() == SIDE * SIDE
                && d.pixels.iter().all(|p| (0.0..=1.0).contains(p)))
        );
        assert!(
            d.digits[0].pixels.iter().any(|&p| p > 0.9),
            "a digit has ink"
        );
    }

    #[test]
    fn without_a_usable_run_the_data_home_is_used() {
        let t = tempfile::tempdir().unwrap();
        let runs = t.path().join("runs");
        // A run of another set, and one whose folder is gone: neither says where MNIST is.
        fake_run(&runs.join("fashion"), "set = \"fashion-mnist\"");
        fake_run(
            &runs.join("moved"),
            &format!(
                "set = \"mnist\"\ndir = \"{}\"",
                t.path().join("gone").display()
            ),
        );
        let home = std::fs::canonicalize(project_data()).unwrap();
        let d = find(&runs, Some(&home), Some(t.path()), 12);
        assert_eq!(d.source, Some(home.join("mnist")), "{:?}", d.missing);
        assert_eq!(labels(&d)[..10], FIRST_LABELS);
        // An empty folder too.
        let empty = t.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert_eq!(find(&empty, Some(&home), None, 3).digits.len(), 3);
    }

    #[test]
    fn no_mnist_anywhere_gives_no_digits_and_says_where_it_looked() {
        let t = tempfile::tempdir().unwrap();
        let runs = t.path().join("runs");
        fake_run(&runs.join("a"), "set = \"mnist\"");
        let home = t.path().join("home");
        let d = find(&runs, Some(&home), Some(t.path()), 12);
        assert!(d.digits.is_empty() && d.source.is_none());
        let missing = d.missing.unwrap();
        for needle in [
            "mnist is not on this machine",
            &home.join("mnist").display().to_string(),
            "data -- fetch mnist",
        ] {
            assert!(missing.contains(needle), "{needle} missing from: {missing}");
        }
    }
}
