//! `test.json`: the test metrics of a finished run, one typed record that `train` writes when it
//! finishes and every reader (sweeps, `report --compare`, TensorBoard's HParams) parses the same way.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::evaluate::Averages;
use crate::load::EvalSplit;
use crate::run_dir::{RunError, write_atomic};

/// The file in a run directory.
pub const TEST_FILE: &str = "test.json";

/// A model's metrics on a split, with where they come from: what `train` writes as `test.json`
/// and what `eval --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The metrics (loss and the terms the model has).
    #[serde(flatten)]
    pub metrics: Averages,
    /// The run directory, as it was named.
    pub run: String,
    /// The checkpoint directory whose weights were evaluated.
    pub checkpoint: String,
    /// That checkpoint's epoch.
    pub epoch: usize,
    /// The split evaluated.
    pub split: EvalSplit,
    /// The model kind (`mlp`, `vae`, ...).
    pub model: String,
    /// `mean` when a VAE decoded the mean of its code instead of a sample (`eval --mean-code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl TestResult {
    /// Writes `run_dir/test.json` atomically (a killed process leaves the old file or the new one).
    pub fn write(&self, run_dir: &Path) -> Result<(), RunError> {
        let text = serde_json::to_string_pretty(self).expect("a test result serializes to JSON");
        write_atomic(&run_dir.join(TEST_FILE), text.as_bytes())
    }

    /// Reads `run_dir/test.json`: `None` when the run has none yet (or an unreadable one, which a
    /// sweep treats as not yet evaluated).
    pub fn read(run_dir: &Path) -> Option<TestResult> {
        let text = std::fs::read_to_string(run_dir.join(TEST_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The value of metric `name` (`loss`, `accuracy`, `mse`, ...), when the model has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let m = &self.metrics;
        match name {
            "loss" => Some(m.loss),
            "reconstruction" => m.reconstruction,
            "kl" => m.kl,
            "l2" => m.l2,
            "l1" => m.l1,
            "accuracy" => m.accuracy,
            "mse" => m.mse,
            "psnr" => m.psnr,
            _ => None,
        }
    }
}
