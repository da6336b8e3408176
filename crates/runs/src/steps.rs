//! The optional per-step log (`steps.csv`: step, reconstruction error, fraction of non-zero hidden
//! units, time), buffered on the device and written every `log_every` steps.
//!
//! `time` (seconds since the Unix epoch, last column) is when the values were read back and
//! written: the same for the `log_every` steps of one write, which is as precise as the log can
//! be without a synchronization per step. It is the wall time of the steps' TensorBoard points.
//! Logs written before it existed have three columns; their lines are kept as they are.

use std::io::Write;

use burn::prelude::*;

use crate::metrics::now_unix;
use crate::run_dir::{RunDir, RunError, STEPS_FILE, write_atomic};

/// The header of `steps.csv`.
pub const STEPS_HEADER: &str = "step,loss,nonzero_fraction,time";

/// Per-step values waiting on the device, and the file they go to.
#[derive(Debug)]
pub struct StepLog {
    path: std::path::PathBuf,
    pending: Vec<(Tensor<1>, Option<Tensor<1>>)>,
}

impl StepLog {
    /// Opens the log of `run`, keeping only the rows of the first `global_step` steps (a resumed
    /// run repeats the steps after its checkpoint).
    pub fn open(run: &RunDir, global_step: usize) -> Result<StepLog, RunError> {
        let path = run.file(STEPS_FILE);
        let mut kept = format!("{STEPS_HEADER}\n");
        if let Ok(text) = std::fs::read_to_string(&path) {
            // `split_inclusive` keeps each line's newline: a line without one was cut by a crash.
            for line in text.split_inclusive('\n').skip(1) {
                let Some(line) = line.strip_suffix('\n') else { continue };
                let step = line.split(',').next().and_then(|s| s.parse::<usize>().ok());
                // Four fields; three in a log written before times were recorded.
                let fields = line.split(',').count();
                if step.is_some_and(|s| s <= global_step) && (fields == 3 || fields == 4) {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
        }
        write_atomic(&path, kept.as_bytes())?;
        Ok(StepLog { path, pending: Vec::new() })
    }

    /// Queues one step's loss and sparsity (1-element tensors, not yet read).
    pub fn push(&mut self, loss: Tensor<1>, sparsity: Option<Tensor<1>>) {
        self.pending.push((loss, sparsity));
    }

    /// Reads the queued values in one synchronization and appends them; `last_step` is the
    /// global step of the newest queued value.
    pub fn flush(&mut self, last_step: usize) -> Result<(), RunError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let count = pending.len();
        let device = pending[0].0.device();
        let (losses, sparsities): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .map(|(l, s)| (l, s.unwrap_or_else(|| Tensor::full([1], f32::NAN, &device))))
            .unzip();
        let values = Tensor::cat(vec![Tensor::cat(losses, 0), Tensor::cat(sparsities, 0)], 0);
        let values: Vec<f32> = values.into_data().try_into_vec_as::<f32>().unwrap_or_default();
        let time = now_unix();
        let mut text = String::new();
        for i in 0..count {
            let sparsity = values.get(count + i).copied().unwrap_or(f32::NAN);
            let sparsity = if sparsity.is_nan() { String::new() } else { sparsity.to_string() };
            text += &format!("{},{},{},{time:.3}\n", last_step + 1 - count + i, values.get(i).copied().unwrap_or(f32::NAN), sparsity);
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|source| RunError::Io { action: "append to", path: self.path.clone(), source })?;
        file.write_all(text.as_bytes()).map_err(|source| RunError::Io { action: "append to", path: self.path.clone(), source })
    }
}
