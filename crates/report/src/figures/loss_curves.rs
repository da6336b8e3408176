//! Figure 3, `loss_curves.png`: training and validation loss per epoch, beside the accuracy
//! (classifiers) or the reconstruction and KL terms (VAE), from `metrics.csv`.

use mnist_runs::metrics::MetricRow;
use mnist_runs::run_dir::METRICS_FILE;

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::plot::{Corner, PALETTE, Panel, Series, titled_panels_figure};
use crate::runfiles::read_metrics;

/// File name in `plots/`.
pub const FILE: &str = "loss_curves.png";

/// `(epoch, value)` of one column of one split.
fn curve(
    rows: &[MetricRow],
    split: &str,
    column: fn(&MetricRow) -> Option<f64>,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.split == split)
        .filter_map(|r| column(r).map(|v| (r.epoch as f64, v)))
        .collect()
}

/// A panel of the training and validation curves of one column.
/// `rising` curves (accuracy) get their legend at the bottom.
fn panel(
    rows: &[MetricRow],
    title: &str,
    y_label: &str,
    validation: &str,
    rising: bool,
    column: fn(&MetricRow) -> Option<f64>,
) -> Option<Panel> {
    let train = curve(rows, "train", column);
    let valid = curve(rows, "validation", column);
    if train.is_empty() && valid.is_empty() {
        return None;
    }
    Some(Panel {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y_label.into(),
        integer_x: true,
        x_axis: Default::default(),
        series: vec![
            Series::new("train", train, PALETTE[0]),
            Series::new(validation, valid, PALETTE[1]),
        ],
        legend: if rising {
            Corner::LowerRight
        } else {
            Corner::UpperRight
        },
    })
}

/// Draws the figure from the run's `metrics.csv`.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let path = ctx.loaded.run.file(METRICS_FILE);
    let rows = match read_metrics(&path)? {
        Some(rows) if !rows.is_empty() => rows,
        _ => {
            out.skip(FILE, format!("{} holds no epoch yet", path.display()));
            return Ok(());
        }
    };
    let validation = if ctx.data.validation_is_test {
        "validation (test set)"
    } else {
        "validation"
    };
    let is_vae = rows.iter().any(|r| r.metrics.kl.is_some());
    let mut panels = Vec::new();
    panels.extend(panel(&rows, "Loss", "loss", validation, false, |r| {
        Some(r.metrics.loss)
    }));
    panels.extend(panel(
        &rows,
        "Accuracy",
        "accuracy",
        validation,
        true,
        |r| r.metrics.accuracy,
    ));
    if is_vae {
        panels.extend(panel(
            &rows,
            "Reconstruction term",
            "reconstruction",
            validation,
            false,
            |r| r.metrics.reconstruction,
        ));
        panels.extend(panel(
            &rows,
            "KL term",
            "KL divergence",
            validation,
            false,
            |r| r.metrics.kl,
        ));
    }
    let png = titled_panels_figure(FILE, &ctx.title("loss per epoch"), &panels)?;
    let parts: Vec<String> = panels.iter().map(|p| p.title.to_lowercase()).collect();
    out.figure(
        FILE,
        "Loss curves",
        format!(
            "Per epoch, training and {validation} curves: {}.",
            parts.join(", ")
        ),
        png,
    );
    Ok(())
}
