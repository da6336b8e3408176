//! Pictures and numbers that take several trained runs at once, for sweeps: one row of
//! reconstructions per run under the same test digits, and the PCA bound at each run's code size.
//! Each run is loaded as `report --run` loads it (its last checkpoint, its own normalization), on
//! the CPU.

use std::path::{Path, PathBuf};

use mnist_runs::load_run;

use crate::canvas::Png;
use crate::error::ReportError;
use crate::grid::{PIXELS, TileRow, rows_figure};
use crate::pca::Pca;
use crate::tensors::{first_tiles, reconstruct_all, tiles, to_grey, upload_images};

/// File name of the reconstruction rows in `<sweep>/plots/`.
pub const RECONSTRUCTIONS_FILE: &str = "reconstructions.png";
/// Test digits per row.
pub const COUNT: usize = 10;
/// Each image pixel becomes a `SCALE × SCALE` block.
const SCALE: usize = 2;

/// The first [`COUNT`] test digits in a top row, then one row per run (labelled by its `label`)
/// of its reconstructions of them; runs without a decoder (classifiers) are left out. `None` when
/// no run reconstructs.
pub fn reconstruction_rows(runs: &[(String, PathBuf)]) -> Result<Option<Png>, ReportError> {
    let mut rows = Vec::new();
    for (label, dir) in runs {
        let loaded = load_run(dir, "last", Some("flex"))?;
        let data = loaded.data()?;
        let clean = &data.test.clean();
        let n = COUNT.min(clean.dims()[0]);
        let Some(reconstructed) = reconstruct_all(&loaded.model, &clean.clone().narrow(0, 0, n))? else {
            continue;
        };
        if rows.is_empty() {
            rows.push(TileRow::new("original", first_tiles(clean, n, &data.stats)?));
        }
        rows.push(TileRow::new(label.clone(), tiles(&to_grey(&reconstructed, &data.stats))));
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let title = format!("Reconstructions of the first {COUNT} test digits, one row per grid point");
    Ok(Some(rows_figure(RECONSTRUCTIONS_FILE, &title, &rows, SCALE)?))
}

/// The PCA bound at each of `ks`: the test MSE per pixel, in the run's normalized units, of
/// reconstructing the test images from `k` principal components of the training split, which no
/// linear autoencoder with a `k`-value code can beat. The data (set, normalization, split) is
/// `run_dir`'s; the numbers are those `report --run` writes as `bound_test_mse` in `pca.json`.
/// A `k` of 784 or more gives 0.
pub fn pca_bounds(run_dir: &Path, ks: &[usize]) -> Result<Vec<f64>, ReportError> {
    let loaded = load_run(run_dir, "last", Some("flex"))?;
    let data = loaded.data()?;
    let train = &data.train_host;
    if train.len() < 2 {
        return Err(ReportError::WrongRun { path: run_dir.to_path_buf(), reason: "the PCA bound needs at least two training images".into() });
    }
    let fit = upload_images(data.stats.apply(&train.pixels), &loaded.device).reshape([train.len(), PIXELS]);
    let pca = Pca::fit(fit)?;
    let test = data.test.clean();
    let test = test.clone().reshape([test.dims()[0], PIXELS]);
    ks.iter().map(|&k| if k >= PIXELS { Ok(0.0) } else { pca.reconstruction_mse(test.clone(), k) }).collect()
}
