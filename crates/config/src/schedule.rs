//! `training.schedule`: the learning-rate schedules a config can name, their defaults and checks.
//! The rates themselves are computed by the trainer (`mnist_trainer::schedule`).

use serde::{Deserialize, Serialize};

/// Learning-rate schedule: `constant`, `step`, `exponential` and `cosine` are evaluated at the
/// start of each epoch (0-based); `one_cycle` and `warmup_cosine` at every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor per decay.
        gamma: f64,
    },
    /// Multiply by `gamma` every epoch.
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// Cosine from the base rate down to `min` over all epochs.
    Cosine {
        /// Final learning rate.
        #[serde(default)]
        min: f64,
    },
    /// Per step: PyTorch's `OneCycleLR` (cosine annealing, two phases), peaking at the base
    /// learning rate after `pct_start` of all steps.
    OneCycle {
        /// Fraction of the steps spent rising to the peak, in (0, 1).
        #[serde(default = "one_cycle_pct_start")]
        pct_start: f64,
        /// The first rate is the base rate divided by this.
        #[serde(default = "one_cycle_div_factor")]
        div_factor: f64,
        /// The last rate is the first rate divided by this.
        #[serde(default = "one_cycle_final_div_factor")]
        final_div_factor: f64,
    },
    /// Per step: linear warm-up to the base rate over `warmup_fraction` of all steps, then a
    /// cosine down to `min` at the last step.
    WarmupCosine {
        /// Fraction of the steps spent warming up, in [0, 1).
        #[serde(default = "warmup_fraction")]
        warmup_fraction: f64,
        /// Final learning rate.
        #[serde(default)]
        min: f64,
    },
}

fn one_cycle_pct_start() -> f64 {
    0.3
}
fn one_cycle_div_factor() -> f64 {
    25.0
}
fn one_cycle_final_div_factor() -> f64 {
    1e4
}
fn warmup_fraction() -> f64 {
    0.05
}

impl Schedule {
    /// Whether the rate changes at every step (`one_cycle`, `warmup_cosine`) rather than once
    /// per epoch.
    pub fn per_step(&self) -> bool {
        matches!(self, Schedule::OneCycle { .. } | Schedule::WarmupCosine { .. })
    }

    /// Whether the rate of an epoch depends on the total number of epochs (a cosine decays over
    /// all of them): a finished run can then not be extended to more epochs and end as a run that
    /// was given them from the start would.
    pub fn depends_on_epochs(&self) -> bool {
        match self {
            Schedule::Constant | Schedule::Step { .. } | Schedule::Exponential { .. } => false,
            Schedule::Cosine { .. } | Schedule::OneCycle { .. } | Schedule::WarmupCosine { .. } => true,
        }
    }

    /// The schedule's `kind` in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step { .. } => "step",
            Schedule::Exponential { .. } => "exponential",
            Schedule::Cosine { .. } => "cosine",
            Schedule::OneCycle { .. } => "one_cycle",
            Schedule::WarmupCosine { .. } => "warmup_cosine",
        }
    }
}

/// Checks the numbers of the per-step schedules; on failure the key (inside
/// `training.schedule`) and what is expected.
pub fn validate(schedule: &Schedule, learning_rate: f64) -> Result<(), (&'static str, String)> {
    match *schedule {
        Schedule::OneCycle { pct_start, div_factor, final_div_factor } => {
            if !(pct_start > 0.0 && pct_start < 1.0) {
                return Err(("pct_start", format!("= {pct_start} must be strictly between 0 and 1")));
            }
            for (key, v) in [("div_factor", div_factor), ("final_div_factor", final_div_factor)] {
                if !(v.is_finite() && v >= 1.0) {
                    return Err((key, format!("= {v} must be a finite number >= 1")));
                }
            }
        }
        Schedule::WarmupCosine { warmup_fraction, min } => {
            if !(warmup_fraction.is_finite() && (0.0..1.0).contains(&warmup_fraction)) {
                return Err(("warmup_fraction", format!("= {warmup_fraction} must be in [0, 1)")));
            }
            if !(min.is_finite() && min >= 0.0 && min <= learning_rate) {
                return Err(("min", format!("= {min} must be between 0 and the learning rate")));
            }
        }
        _ => {}
    }
    Ok(())
}

