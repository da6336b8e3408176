//! Figure 10, `noise_sweep.png` (written by `noise-sweep`): the classifier's accuracy on noisy and
//! on denoised test images against the noise level, beside the PSNR of both against the clean
//! images. It takes plain rows: the sweep itself is computed by the inference crate.

use crate::canvas::Png;
use crate::error::ReportError;
use crate::plot::{Corner, PALETTE, Panel, Series, panels_figure};

/// File name of the figure.
pub const FILE: &str = "noise_sweep.png";

/// The measurements at one noise level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// The noise level (the x axis).
    pub level: f64,
    /// Classifier accuracy on the noisy images.
    pub accuracy_noisy: f64,
    /// Classifier accuracy on the denoised images.
    pub accuracy_denoised: f64,
    /// PSNR (dB) of the noisy images against the clean ones.
    pub psnr_noisy: f64,
    /// PSNR (dB) of the denoised images against the clean ones.
    pub psnr_denoised: f64,
}

/// Draws the two panels: `x_label` names the noise level, `accuracy_clean` is the classifier's
/// accuracy on the clean images (a flat line).
pub fn plot(x_label: &str, rows: &[Row], accuracy_clean: f64) -> Result<Png, ReportError> {
    let level = |r: &Row| r.level;
    let (lo, hi) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(level(r)), hi.max(level(r)))
        });
    let panels = [
        Panel {
            title: "Classifier accuracy".into(),
            x_label: x_label.into(),
            y_label: "accuracy".into(),
            integer_x: false,
            x_axis: Default::default(),
            series: vec![
                Series::new(
                    "noisy",
                    rows.iter().map(|r| (level(r), r.accuracy_noisy)).collect(),
                    PALETTE[3],
                ),
                Series::new(
                    "denoised",
                    rows.iter()
                        .map(|r| (level(r), r.accuracy_denoised))
                        .collect(),
                    PALETTE[2],
                ),
                Series::new(
                    "clean images",
                    vec![(lo, accuracy_clean), (hi, accuracy_clean)],
                    PALETTE[7],
                ),
            ],
            legend: Corner::LowerLeft,
        },
        Panel {
            title: "PSNR against the clean images".into(),
            x_label: x_label.into(),
            y_label: "PSNR (dB)".into(),
            integer_x: false,
            x_axis: Default::default(),
            series: vec![
                Series::new(
                    "noisy",
                    rows.iter().map(|r| (level(r), r.psnr_noisy)).collect(),
                    PALETTE[3],
                ),
                Series::new(
                    "denoised",
                    rows.iter().map(|r| (level(r), r.psnr_denoised)).collect(),
                    PALETTE[2],
                ),
            ],
            legend: Corner::UpperRight,
        },
    ];
    panels_figure(FILE, &panels)
}
