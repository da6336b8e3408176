//! The optional per-step log (`steps.csv`: step, reconstruction error, fraction of non-zero hidden
//! units), buffered on the device and written every `log_every` steps.

use std::io::Write;

use burn::prelude::*;

use crate::run_dir::{RunDir, RunError, STEPS_FILE, write_atomic};

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
        let mut kept = String::from("step,loss,nonzero_fraction\n");
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines().skip(1) {
                let step = line.split(',').next().and_then(|s| s.parse::<usize>().ok());
                // A line cut by a crash has fewer than three fields: drop it.
                if step.is_some_and(|s| s <= global_step) && line.split(',').count() == 3 {
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
        let mut text = String::new();
        for i in 0..count {
            let sparsity = values.get(count + i).copied().unwrap_or(f32::NAN);
            let sparsity = if sparsity.is_nan() { String::new() } else { sparsity.to_string() };
            text += &format!("{},{},{}\n", last_step + 1 - count + i, values.get(i).copied().unwrap_or(f32::NAN), sparsity);
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|source| RunError::Io { action: "append to", path: self.path.clone(), source })?;
        file.write_all(text.as_bytes()).map_err(|source| RunError::Io { action: "append to", path: self.path.clone(), source })
    }
}
