//! The optimizer section of a config (`[training.optimizer] kind = "adam"`), with Keras' defaults
//! and its checks (the trainer builds the optimizer itself: `mnist_trainer::optimizer::build`).

use serde::{Deserialize, Serialize};

/// An optimizer and its hyper-parameters (the learning rate lives in `[training]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.
    Sgd {
        /// Momentum factor; 0 disables momentum.
        #[serde(default)]
        momentum: f64,
        /// Nesterov momentum (needs `momentum > 0`).
        #[serde(default)]
        nesterov: bool,
        /// Weight decay added to the gradient (`g + wd * w`).
        #[serde(default)]
        weight_decay: f64,
    },
    /// Adam (Kingma and Ba), with Keras' epsilon 1e-7 by default.
    Adam {
        /// First-moment decay.
        #[serde(default = "beta_1")]
        beta_1: f64,
        /// Second-moment decay.
        #[serde(default = "beta_2")]
        beta_2: f64,
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
    },
    /// Adam with decoupled weight decay (Loshchilov and Hutter).
    Adamw {
        /// First-moment decay.
        #[serde(default = "beta_1")]
        beta_1: f64,
        /// Second-moment decay.
        #[serde(default = "beta_2")]
        beta_2: f64,
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
        /// Decoupled weight decay.
        #[serde(default = "adamw_decay")]
        weight_decay: f64,
    },
    /// RMSprop (Hinton), Keras' defaults.
    Rmsprop {
        /// Decay of the squared-gradient average.
        #[serde(default = "rho")]
        rho: f64,
        /// Momentum factor.
        #[serde(default)]
        momentum: f64,
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
        /// Normalize by the gradient's estimated variance.
        #[serde(default)]
        centered: bool,
    },
    /// Adagrad (Duchi et al.).
    Adagrad {
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
    },
    /// Nadam: Adam with Nesterov momentum (Dozat), as Keras implements it.
    Nadam {
        /// First-moment decay.
        #[serde(default = "beta_1")]
        beta_1: f64,
        /// Second-moment decay.
        #[serde(default = "beta_2")]
        beta_2: f64,
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
    },
    /// Adadelta (Zeiler), as Keras implements it; use learning rate 1.0 for the original method.
    Adadelta {
        /// Decay of the running averages.
        #[serde(default = "adadelta_rho")]
        rho: f64,
        /// Numerical stabilizer.
        #[serde(default = "epsilon")]
        epsilon: f64,
    },
}

fn beta_1() -> f64 {
    0.9
}
fn beta_2() -> f64 {
    0.999
}
fn epsilon() -> f64 {
    1e-7
}
fn adamw_decay() -> f64 {
    0.004
}
fn rho() -> f64 {
    0.9
}
fn adadelta_rho() -> f64 {
    0.95
}

impl OptimizerConfig {
    /// Checks every hyper-parameter; on failure returns the key and what is expected.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let unit = |name: &'static str, v: f64| {
            if (0.0..1.0).contains(&v) { Ok(()) } else { Err((name, format!("= {v} must be in [0, 1)"))) }
        };
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err((name, format!("= {v} must be a finite number > 0"))) }
        };
        let non_negative = |name: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 { Ok(()) } else { Err((name, format!("= {v} must be a finite number >= 0"))) }
        };
        match *self {
            OptimizerConfig::Sgd { momentum, nesterov, weight_decay } => {
                unit("momentum", momentum)?;
                non_negative("weight_decay", weight_decay)?;
                if nesterov && momentum == 0.0 {
                    return Err(("nesterov", "= true needs momentum > 0".into()));
                }
            }
            OptimizerConfig::Adam { beta_1, beta_2, epsilon } | OptimizerConfig::Nadam { beta_1, beta_2, epsilon } => {
                unit("beta_1", beta_1)?;
                unit("beta_2", beta_2)?;
                positive("epsilon", epsilon)?;
            }
            OptimizerConfig::Adamw { beta_1, beta_2, epsilon, weight_decay } => {
                unit("beta_1", beta_1)?;
                unit("beta_2", beta_2)?;
                positive("epsilon", epsilon)?;
                non_negative("weight_decay", weight_decay)?;
            }
            OptimizerConfig::Rmsprop { rho, momentum, epsilon, .. } => {
                unit("rho", rho)?;
                unit("momentum", momentum)?;
                positive("epsilon", epsilon)?;
            }
            OptimizerConfig::Adagrad { epsilon } => positive("epsilon", epsilon)?,
            OptimizerConfig::Adadelta { rho, epsilon } => {
                unit("rho", rho)?;
                positive("epsilon", epsilon)?;
            }
        }
        Ok(())
    }

    /// The config's name as written in TOML.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Adamw { .. } => "adamw",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
            OptimizerConfig::Adagrad { .. } => "adagrad",
            OptimizerConfig::Nadam { .. } => "nadam",
            OptimizerConfig::Adadelta { .. } => "adadelta",
        }
    }
}
