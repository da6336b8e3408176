//! Reference values beside a sweep's metrics: with `sweep.pca_bound = true`, the PCA bound at each
//! grid point's code size, beside `test.mse` (seed 000: a linear autoencoder against PCA).

use std::path::{Path, PathBuf};

use mnist_config::Config;
use mnist_runs::TestResult;

use crate::SweepError;
use crate::spec::Spec;
use crate::summary::{Reference, Summary};
use crate::trial::Trial;

/// The code size of each trial, checked before anything runs: `sweep.pca_bound` needs an
/// autoencoder at every grid point.
pub fn check(spec: &Spec, trials: &[Trial]) -> Result<(), SweepError> {
    if !spec.pca_bound {
        return Ok(());
    }
    for t in trials {
        let config = trial_config(t);
        if config.as_ref().and_then(|c| c.model.latent_dim()).is_none() {
            let kind = config.map(|c| c.model.kind().to_string()).unwrap_or_default();
            return Err(SweepError::Spec {
                file: spec.file.clone(),
                message: format!("sweep.pca_bound = true compares autoencoders with PCA, but trial {} trains model.kind = {kind:?}, which has no code", t.name),
            });
        }
    }
    Ok(())
}

fn trial_config(t: &Trial) -> Option<Config> {
    Config::parse(&t.config, Path::new(&t.name)).ok()
}

/// The PCA bound of each summary row, computed on the data of the row's first finished trial (a
/// `test.json` in its directory) at its code size; one PCA per distinct data section. `None`
/// without `sweep.pca_bound`.
pub fn pca_bound(dir: &Path, spec: &Spec, trials: &[Trial], summary: &Summary) -> Result<Option<Reference>, SweepError> {
    if !spec.pca_bound {
        return Ok(None);
    }
    // Per row: the run whose data it uses and its code size.
    let mut wanted: Vec<Option<(PathBuf, Config, usize)>> = Vec::new();
    for row in &summary.rows {
        let found = trials.iter().filter(|t| t.values == row.values).find_map(|t| {
            let run = dir.join(&t.name);
            let config = trial_config(t)?;
            let k = config.model.latent_dim()?;
            TestResult::read(&run).is_some().then_some((run, config, k))
        });
        wanted.push(found);
    }
    let mut values = vec![None; wanted.len()];
    let mut done = vec![false; wanted.len()];
    for i in 0..wanted.len() {
        let Some((run, config, _)) = &wanted[i] else { continue };
        if done[i] {
            continue;
        }
        // Every row on the same data shares this PCA.
        let same: Vec<usize> = (i..wanted.len()).filter(|&j| wanted[j].as_ref().is_some_and(|(_, c, _)| c.data == config.data)).collect();
        let ks: Vec<usize> = same.iter().map(|&j| wanted[j].as_ref().expect("filtered").2).collect();
        let bounds = mnist_report::across_runs::pca_bounds(run, &ks)?;
        for (&j, b) in same.iter().zip(bounds) {
            values[j] = Some(b);
            done[j] = true;
        }
    }
    Ok(Some(Reference { column: "pca_bound".into(), label: "PCA bound".into(), metric: "mse".into(), values }))
}
