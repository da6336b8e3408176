//! Figure 8, `pca_components.png`, `pca_variance.png`, `pca.csv` and `pca.json`: the principal
//! components of the normalized training split beside a single-layer encoder's weights, their
//! explained variance, and the PCA bound (the test MSE per pixel of reconstructing from `k` =
//! latent-size components, which no linear autoencoder with a `k`-dimensional code can beat).

use burn::prelude::*;
use mnist_models::Task;
use serde::Serialize;

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{PIXELS, TileRow, rows_figure, stretch};
use crate::pca::Pca;
use crate::plot::{Corner, PALETTE, Panel, Series, titled_panels_figure};
use crate::tensors::{read_f32, reconstruct_all, upload_images};

/// The components figure.
pub const FILE: &str = "pca_components.png";
/// The explained-variance figure.
pub const VARIANCE_FILE: &str = "pca_variance.png";
/// Every component's variance.
pub const CSV_FILE: &str = "pca.csv";
/// The summary.
pub const JSON_FILE: &str = "pca.json";
/// Components drawn at most.
pub const MAX_SHOWN: usize = 16;
/// Components drawn at least.
pub const MIN_SHOWN: usize = 10;
/// Components on the variance chart.
pub const VARIANCE_SHOWN: usize = 50;

/// What the PCA of a run found, as printed and saved in `pca.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PcaSummary {
    /// Latent size of the run: the number of components of the bound.
    pub k: usize,
    /// Training images the PCA was fitted on.
    pub fit_samples: usize,
    /// Test images the bound and the run's error were measured on.
    pub test_samples: usize,
    /// Variance along the first components (normalized units²), up to 10.
    pub explained_variance: Vec<f64>,
    /// Their share of the total variance.
    pub explained_variance_ratio: Vec<f64>,
    /// Share of the variance kept by the first `k` components.
    pub cumulative_ratio_k: f64,
    /// PCA reconstruction error with `k` components on the test set: mean squared error per
    /// pixel in the run's normalized units, the same units as its test MSE.
    pub bound_test_mse: f64,
    /// The same on the training set the PCA was fitted on.
    pub bound_train_mse: f64,
    /// The run's own test MSE reconstructing clean test images through its code, same units.
    pub run_test_mse: Option<f64>,
}

impl PcaSummary {
    /// The lines printed by `report`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "PCA of {} training images (normalized as the run):\n",
            self.fit_samples
        );
        s += "  component  explained variance  ratio\n";
        for (i, (v, r)) in self
            .explained_variance
            .iter()
            .zip(&self.explained_variance_ratio)
            .enumerate()
        {
            s += &format!("  {:>9}  {:>18.4}  {:.4}\n", i + 1, v, r);
        }
        s += &format!(
            "  PCA bound, k = {} components ({:.1}% of the variance): test MSE {:.6} per pixel (train {:.6})",
            self.k,
            100.0 * self.cumulative_ratio_k,
            self.bound_test_mse,
            self.bound_train_mse
        );
        if let Some(run) = self.run_test_mse {
            s += &format!(
                "\n  this run, latent size {}: test MSE {:.6} per pixel (clean inputs)",
                self.k, run
            );
        }
        s
    }
}

/// Normalized training pixels as `[n, 784]` on the device.
fn training_matrix(ctx: &Context<'_>) -> Tensor<2> {
    let train = &ctx.data.train_host;
    upload_images(ctx.stats().apply(&train.pixels), &ctx.loaded.device)
        .reshape([train.len(), PIXELS])
}

/// Draws the figures and writes the files for autoencoders.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    if ctx.task() == Task::Classifier {
        out.skip(
            FILE,
            "the PCA bound concerns autoencoders; this model is a classifier",
        );
        return Ok(());
    }
    let Some(k) = ctx.codes.as_ref().map(|c| c.dim) else {
        out.skip(FILE, "the model has no latent code");
        return Ok(());
    };
    if k >= PIXELS {
        // k components of 784-pixel images reconstruct every image exactly: a bound of 0.
        out.skip(
            FILE,
            format!(
                "the code has {k} values, no fewer than the {PIXELS} pixels: PCA with that many \
                 components reconstructs every image exactly, so there is no bound to compare with"
            ),
        );
        return Ok(());
    }
    if ctx.data.train_host.len() < 2 {
        out.skip(FILE, "fewer than two training images");
        return Ok(());
    }
    let train = training_matrix(ctx);
    let pca = Pca::fit(train.clone())?;
    let test = ctx.data.test.clean();
    let test_samples = test.dims()[0];
    let test_flat = test.clone().reshape([test_samples, PIXELS]);
    let bound_test_mse = pca.reconstruction_mse(test_flat.clone(), k)?;
    let bound_train_mse = pca.reconstruction_mse(train, k)?;
    let run_test_mse = match reconstruct_all(&ctx.loaded.model, &test)? {
        Some(reconstructed) => {
            let clean = read_f32(test_flat, "test images")?;
            let n = clean.len().max(1) as f64;
            Some(
                clean
                    .iter()
                    .zip(&reconstructed)
                    .map(|(&a, &b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
                    / n,
            )
        }
        None => None,
    };
    let top = 10.min(pca.dim);
    let summary = PcaSummary {
        k,
        fit_samples: pca.samples,
        test_samples,
        explained_variance: pca.explained_variance[..top].to_vec(),
        explained_variance_ratio: pca.explained_variance_ratio[..top].to_vec(),
        cumulative_ratio_k: pca.cumulative_ratio(k),
        bound_test_mse,
        bound_train_mse,
        run_test_mse,
    };

    // Components beside the encoder weights, when the first dense layer is the code itself.
    let shown = k.clamp(MIN_SHOWN, MAX_SHOWN).min(pca.dim);
    let components: Vec<Vec<f32>> = (0..shown).map(|j| stretch(pca.component(j))).collect();
    let mut rows = vec![TileRow::new(format!("components 1-{shown}"), components)];
    let mut with_weights = false;
    if let Some(w) = ctx.loaded.model.first_dense_weights() {
        let [inputs, units] = w.dims();
        if inputs == PIXELS && units == k {
            let values = read_f32(w, "encoder weights")?;
            let tiles = (0..units.min(MAX_SHOWN))
                .map(|u| {
                    stretch(
                        &(0..PIXELS)
                            .map(|p| values[p * units + u])
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            rows.push(TileRow::new(
                format!("encoder units 1-{}", units.min(MAX_SHOWN)),
                tiles,
            ));
            with_weights = true;
        }
    }
    let png = rows_figure(
        FILE,
        &ctx.title(&format!("principal components 1-{shown} of the training set")),
        &rows,
        2,
    )?;
    let beside = if with_weights {
        " Below: the encoder's weights for each code unit, which span the same subspace when the autoencoder is linear and well trained."
    } else {
        ""
    };
    out.figure(
        FILE,
        "Principal components",
        format!(
            "The first {shown} principal components of the {} normalized training images, stretched to black-white.{beside} PCA bound with k = {k}: test MSE {bound_test_mse:.6} per pixel{}.",
            pca.samples,
            run_test_mse.map(|m| format!("; this run reaches {m:.6}")).unwrap_or_default()
        ),
        png,
    );

    let shown_var = VARIANCE_SHOWN.min(pca.dim);
    let ratio: Vec<(f64, f64)> = (0..shown_var)
        .map(|j| ((j + 1) as f64, pca.explained_variance_ratio[j]))
        .collect();
    let cumulative: Vec<(f64, f64)> = (0..shown_var)
        .map(|j| ((j + 1) as f64, pca.cumulative_ratio(j + 1)))
        .collect();
    let mut cumulative_series = vec![Series::new("cumulative", cumulative, PALETTE[1])];
    if k <= shown_var {
        cumulative_series.push(Series::new(
            format!("k = {k} (the code size)"),
            vec![(k as f64, 0.0), (k as f64, pca.cumulative_ratio(k))],
            PALETTE[3],
        ));
    }
    let panels = [
        Panel {
            title: "Explained variance ratio".into(),
            x_label: "component".into(),
            y_label: "ratio".into(),
            integer_x: true,
            x_axis: Default::default(),
            series: vec![Series::new("per component", ratio, PALETTE[0])],
            legend: Corner::UpperRight,
        },
        Panel {
            title: "Cumulative explained variance".into(),
            x_label: "components kept".into(),
            y_label: "ratio".into(),
            integer_x: true,
            x_axis: Default::default(),
            series: cumulative_series,
            legend: Corner::LowerRight,
        },
    ];
    out.figure(
        VARIANCE_FILE,
        "PCA explained variance",
        format!("Share of the training set's variance along each of the first {shown_var} principal components, and kept by the first k."),
        titled_panels_figure(VARIANCE_FILE, &ctx.title("PCA of the training set: explained variance"), &panels)?,
    );

    let mut csv =
        String::from("component,explained_variance,explained_variance_ratio,cumulative_ratio\n");
    let mut cumulative = 0.0;
    for (j, (v, r)) in pca
        .explained_variance
        .iter()
        .zip(&pca.explained_variance_ratio)
        .enumerate()
    {
        cumulative += r;
        csv += &format!("{},{v},{r},{cumulative}\n", j + 1);
    }
    out.file(CSV_FILE, csv.into_bytes());
    out.file(
        JSON_FILE,
        serde_json::to_vec_pretty(&summary).expect("the summary serializes"),
    );
    out.pca = Some(summary);
    Ok(())
}
