//! Reading the logs a run directory holds: `metrics.csv` (per epoch) and `steps.csv` (per step),
//! with errors that name the file.

use std::path::Path;

use mnist_runs::metrics::{MetricRow, from_csv};
use mnist_runs::steps::STEPS_HEADER;

use crate::error::ReportError;

/// The rows of `metrics.csv`; `None` when the file does not exist.
pub fn read_metrics(path: &Path) -> Result<Option<Vec<MetricRow>>, ReportError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(ReportError::io("read", path))?;
    from_csv(&text).map(Some).map_err(|e| ReportError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// One row of `steps.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRow {
    /// 1-based global step.
    pub step: u64,
    /// The training loss of that step.
    pub loss: f64,
    /// Fraction of non-zero latent units, when logged.
    pub nonzero_fraction: Option<f64>,
    /// When the value was written (seconds since the Unix epoch); absent in logs written before
    /// times were recorded.
    pub time: Option<f64>,
}

/// The rows of `steps.csv`; `None` when the file does not exist. Lines of three fields (no time)
/// are read too: logs written before times were recorded, and their lines a resumed run kept.
pub fn read_steps(path: &Path) -> Result<Option<Vec<StepRow>>, ReportError> {
    if !path.exists() {
        return Ok(None);
    }
    let corrupt = |line: usize, reason: &str| ReportError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let text = std::fs::read_to_string(path).map_err(ReportError::io("read", path))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if [STEPS_HEADER, "step,loss,nonzero_fraction"].contains(&header.trim()) => {}
        _ => {
            return Err(corrupt(1, &format!("expected the header `{STEPS_HEADER}`")));
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 3 && fields.len() != 4 {
            return Err(corrupt(i + 1, "expected 4 fields (3 without a time)"));
        }
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| corrupt(i + 1, &format!("`{s}` is not a number")))
        };
        let step = fields[0]
            .trim()
            .parse::<u64>()
            .map_err(|_| corrupt(i + 1, &format!("`{}` is not a step number", fields[0])))?;
        let nonzero_fraction = if fields[2].trim().is_empty() {
            None
        } else {
            Some(number(fields[2])?)
        };
        let time = match fields.get(3) {
            Some(t) if !t.trim().is_empty() => Some(number(t)?),
            _ => None,
        };
        rows.push(StepRow {
            step,
            loss: number(fields[1])?,
            nonzero_fraction,
            time,
        });
    }
    Ok(Some(rows))
}
