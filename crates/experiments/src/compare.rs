//! Comparing runs (`report --compare RUN RUN ...`): each run read back (config, `metrics.csv`, its
//! test result), the config keys that differ between them, and both written into one folder as the
//! report crate draws them ([`mnist_report::compare_figures`]): the curves overlaid in
//! `compare.png`, everything in a self-contained `compare.html`.

use std::path::{Path, PathBuf};

use mnist_config::{Config, differences};
use mnist_report::ReportError;
use mnist_report::compare_figures::{DrawnKey, DrawnRun, HTML_FILE, PNG_FILE, curves, page};
use mnist_report::runfiles::read_metrics;
use mnist_runs::metrics::MetricRow;
use mnist_runs::run_dir::{CONFIG_FILE, METRICS_FILE, RUNS_DIR};
use mnist_runs::{EvalSplit, LoadError, RunDir, TestResult, load_run};

/// Where the comparison goes without `--out`: `artifacts/compare`.
pub fn default_out() -> PathBuf {
    Path::new(RUNS_DIR).join("compare")
}

/// One run as the comparison sees it.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// Its directory.
    pub dir: PathBuf,
    /// Its name in the legend and the tables (the directory's name, or its path when two runs
    /// share a name).
    pub label: String,
    /// Its saved config.
    pub config: Config,
    /// `metrics.csv` (empty when it has no epoch yet).
    pub metrics: Vec<MetricRow>,
    /// Its test result, and which weights it is of: `last checkpoint` (from its `test.json`, or
    /// evaluated here for a run without one), else the checkpoint its `test.json` names.
    pub test: Option<(TestResult, String)>,
}

/// One config key that differs between the runs: its value in each (`None`: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifferingKey {
    /// The dotted key, `training.learning_rate`.
    pub key: String,
    /// Its value in each run, in TOML syntax, in the runs' order.
    pub values: Vec<Option<String>>,
}

/// What the comparison wrote.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// The runs, in the order given.
    pub runs: Vec<ComparedRun>,
    /// The keys that differ.
    pub differing: Vec<DifferingKey>,
    /// The figure's path.
    pub png: PathBuf,
    /// The page's path.
    pub html: PathBuf,
}

/// The file name of a path (`epoch-0002` of `run/checkpoints/epoch-0002`).
fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// The test result of `run`: its `test.json` (which `train` writes when it finishes), else, for a
/// run with a checkpoint, its last checkpoint evaluated here (the test split is 10,000 images at
/// most: seconds, against minutes to train the run); `None` for a run with no checkpoint yet.
fn test_result(run: &RunDir, config: &Config, device: Option<&str>) -> Result<Option<(TestResult, String)>, ReportError> {
    let last = run.last_checkpoint().map_err(LoadError::from)?;
    if let Some(saved) = TestResult::read(run.path()).filter(|t| t.split == EvalSplit::Test) {
        let checkpoint = name_of(Path::new(&saved.checkpoint));
        let from = match &last {
            Some(last) if name_of(&last.dir) == checkpoint => "last checkpoint".to_string(),
            _ => format!("checkpoint {checkpoint}"),
        };
        return Ok(Some((saved, from)));
    }
    if last.is_none() {
        return Ok(None);
    }
    let loaded = load_run(run.path(), "last", device)?;
    let data = loaded.data()?;
    let result = TestResult {
        metrics: loaded.evaluate(&data, EvalSplit::Test),
        run: run.path().display().to_string(),
        checkpoint: loaded.checkpoint.dir.display().to_string(),
        epoch: loaded.checkpoint.state.epoch,
        split: EvalSplit::Test,
        model: config.model.kind().to_string(),
        code: None,
    };
    Ok(Some((result, "last checkpoint".to_string())))
}

/// Reads one run: a path that is not a run directory is an error naming it.
fn read_run(dir: &Path, device: Option<&str>) -> Result<ComparedRun, ReportError> {
    let run = RunDir::open(dir).map_err(LoadError::from)?;
    let config_path = run.file(CONFIG_FILE);
    let config = Config::parse(&run.read_config().map_err(LoadError::from)?, &config_path).map_err(LoadError::from)?;
    let metrics = read_metrics(&run.file(METRICS_FILE))?.unwrap_or_default();
    let test = test_result(&run, &config, device)?;
    Ok(ComparedRun { dir: dir.to_path_buf(), label: name_of(dir), config, metrics, test })
}

/// The keys whose values differ between the runs: every run's config against the first's
/// ([`differences`]), merged in order of first appearance.
pub fn differing_keys(configs: &[&Config]) -> Vec<DifferingKey> {
    let mut out: Vec<DifferingKey> = Vec::new();
    let Some(first) = configs.first() else { return out };
    for (j, other) in configs.iter().enumerate().skip(1) {
        for d in differences(first, other) {
            let at = match out.iter().position(|k| k.key == d.key) {
                Some(at) => at,
                None => {
                    // Runs not compared yet on this key have the first run's value.
                    out.push(DifferingKey { key: d.key.clone(), values: vec![d.saved.clone(); configs.len()] });
                    out.len() - 1
                }
            };
            out[at].values[j] = d.given;
        }
    }
    out
}

/// Compares `runs` (at least two) into `out`: `compare.png` and `compare.html`. `device` is used
/// only for runs that must be evaluated (no `test.json`).
pub fn compare_runs(runs: &[PathBuf], out: &Path, device: Option<&str>) -> Result<CompareOutcome, ReportError> {
    if runs.len() < 2 {
        return Err(ReportError::Invalid { option: "--compare", reason: format!("{} run(s) given: expected two or more run directories", runs.len()) });
    }
    let mut compared = runs.iter().map(|r| read_run(r, device)).collect::<Result<Vec<_>, _>>()?;
    // Two runs of the same name in different folders: tell them apart by their paths.
    let labels: Vec<String> = compared.iter().map(|r| r.label.clone()).collect();
    for r in &mut compared {
        if labels.iter().filter(|l| **l == r.label).count() > 1 {
            r.label = r.dir.display().to_string();
        }
    }
    let differing = differing_keys(&compared.iter().map(|r| &r.config).collect::<Vec<_>>());
    let drawn: Vec<DrawnRun<'_>> = compared
        .iter()
        .map(|r| DrawnRun { label: &r.label, dir: &r.dir, model: r.config.model.kind(), metrics: &r.metrics, test: r.test.as_ref().map(|(t, from)| (&t.metrics, from.as_str())) })
        .collect();
    let keys: Vec<DrawnKey<'_>> = differing.iter().map(|k| DrawnKey { key: &k.key, values: &k.values }).collect();
    let png = curves(&drawn)?;
    std::fs::create_dir_all(out).map_err(ReportError::io("create", out))?;
    let png_path = out.join(PNG_FILE);
    png.write(&png_path)?;
    let html_path = out.join(HTML_FILE);
    std::fs::write(&html_path, page(&drawn, &keys, &png)).map_err(ReportError::io("write", &html_path))?;
    Ok(CompareOutcome { runs: compared, differing, png: png_path, html: html_path })
}
