//! Figure 10, `noise_sweep.png` (written by `sweep`): the classifier's accuracy on noisy and on
//! denoised test images against the noise level, beside the PSNR of both against the clean images.

use crate::canvas::Png;
use crate::error::ReportError;
use crate::plot::{Corner, PALETTE, Panel, Series, panels_figure};
use crate::sweep::{PNG_FILE, SweepNoise, SweepRow};

/// Draws the two panels.
pub fn plot(noise: SweepNoise, rows: &[SweepRow], accuracy_clean: f64) -> Result<Png, ReportError> {
    let level = |r: &SweepRow| r.level as f64;
    let x_label = match noise {
        SweepNoise::SaltAndPepper => "salt-and-pepper level (fraction of pixels replaced)",
        SweepNoise::Gaussian => "Gaussian noise std (grey levels)",
    };
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
    panels_figure(PNG_FILE, &panels)
}
