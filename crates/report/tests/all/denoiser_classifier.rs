//! A denoising autoencoder (per-step log) and a classifier on another normalization: their
//! reports (denoising, per-step curves, weights, PCA with encoder weights, confusion matrix). The
//! noise sweep through both is tested in the inference crate.

use mnist_report::figures::{confusion, denoising, mistakes};
use mnist_report::grid::{LABEL_WIDTH, MARGIN, TITLE_HEIGHT, figure_size};
use mnist_report::plot::{HEADING_HEIGHT, PANEL_HEIGHT, PANEL_WIDTH};
use mnist_report::{ReportOptions, generate_report};

use crate::common::{load_png, raw_test_images, train_denoiser_and_classifier};

fn size(outcome: &mnist_report::ReportOutcome, file: &str) -> Option<(u32, u32)> {
    outcome
        .figures
        .iter()
        .find(|f| f.path.ends_with(file))
        .map(|f| (f.width, f.height))
}

#[test]
fn denoiser_and_classifier_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (dae, mlp) = train_denoiser_and_classifier(dir.path());

    // The denoiser's report.
    let report = generate_report(&dae, &ReportOptions::default()).unwrap();
    assert_eq!(
        size(&report, "denoising.png"),
        Some(figure_size(denoising::COUNT, 3, denoising::SCALE, true))
    );
    assert_eq!(size(&report, "denoising.png"), Some((1080, 320)));
    assert_eq!(
        size(&report, "steps.png"),
        Some((2 * PANEL_WIDTH, PANEL_HEIGHT + HEADING_HEIGHT))
    );
    assert_eq!(
        size(&report, "weights_first_layer.png"),
        Some(figure_size(16, 1, 2, false))
    );
    // Latent 16 = the single encoder layer: the encoder weights sit under the components.
    assert_eq!(
        size(&report, "pca_components.png"),
        Some(figure_size(16, 2, 2, true))
    );
    assert!(size(&report, "latent_scatter.png").is_some());
    // 16-D codes: a t-SNE map beside the PCA scatter, of the same size.
    assert_eq!(size(&report, "latent_tsne.png"), size(&report, "latent_scatter.png"));
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.figure == "latent_manifold.png" && s.reason.contains("16 dimensions"))
    );
    assert!(report.skipped.iter().any(|s| s.figure == "confusion.png"));
    // Row 1 holds the clean digits, row 2 the same digits with salt-and-pepper noise: each of its
    // pixels is the clean value, black or white.
    let img = load_png(&dae.join("plots/denoising.png"));
    let raw = raw_test_images(10);
    let (left, top) = (MARGIN + LABEL_WIDTH, MARGIN + TITLE_HEIGHT);
    let (mut kept, mut flipped) = (0, 0);
    for digit in 0..10u32 {
        for r in 0..28u32 {
            for c in 0..28u32 {
                let x = left + digit * 88 + c * 3 + 1;
                let clean = raw[(digit * 784 + r * 28 + c) as usize];
                assert_eq!(img.get_pixel(x, top + r * 3 + 1).0[0], clean);
                let noisy = img.get_pixel(x, top + 88 + r * 3 + 1).0[0];
                assert!(
                    noisy == clean || noisy == 0 || noisy == 255,
                    "noisy pixel {noisy} vs clean {clean}"
                );
                if noisy == clean {
                    kept += 1
                } else {
                    flipped += 1
                }
            }
        }
    }
    // About 40% of the pixels are replaced, half of them by their own (mostly black) value.
    let changed = flipped as f64 / (kept + flipped) as f64;
    assert!(changed > 0.1 && changed < 0.35, "{changed}");
    let steps = std::fs::read_to_string(dae.join("steps.csv")).unwrap();
    assert_eq!(steps.lines().count(), 1 + 2 * 20, "2 epochs of 20 steps");

    // The classifier's report: the confusion matrix agrees with the test accuracy.
    let report = generate_report(&mlp, &ReportOptions::default()).unwrap();
    assert_eq!(
        size(&report, "confusion.png"),
        Some((confusion::WIDTH, confusion::HEIGHT))
    );
    assert_eq!(
        size(&report, "weights_first_layer.png"),
        Some(figure_size(6, 6, 2, false))
    );
    for absent in [
        "reconstructions.png",
        "samples.png",
        "latent_scatter.png",
        "pca_components.png",
        "weights_last_layer.png",
    ] {
        assert!(
            report.skipped.iter().any(|s| s.figure == absent),
            "{absent} should be skipped"
        );
    }
    let csv = std::fs::read_to_string(mlp.join("plots/confusion.csv")).unwrap();
    let rows: Vec<Vec<u64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows.iter().flatten().sum::<u64>(), 100);
    let diagonal: u64 = (0..10).map(|d| rows[d][d]).sum();
    let accuracy = report.test.accuracy.unwrap();
    assert!(
        (diagonal as f64 / 100.0 - accuracy).abs() < 1e-9,
        "{diagonal} vs {accuracy}"
    );
    let loss = load_png(&mlp.join("plots/loss_curves.png"));
    assert_eq!(
        (loss.width(), loss.height()),
        (2 * PANEL_WIDTH, PANEL_HEIGHT + HEADING_HEIGHT),
        "loss and accuracy panels under the run's heading"
    );
    // The most confident mistakes: as many as the confusion matrix has errors (at most 16), each
    // a true/predicted pair the matrix counts, most confident first, in a figure of that size.
    let listed: Vec<(usize, usize, f64)> = std::fs::read_to_string(mlp.join("plots/mistakes.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    let errors = (100 - diagonal) as usize;
    assert_eq!(listed.len(), errors.min(mistakes::COUNT));
    for &(t, p, confidence) in &listed {
        assert!(t != p && rows[t][p] > 0, "{t} -> {p}");
        assert!(confidence > 0.0 && confidence <= 1.0);
    }
    assert!(listed.windows(2).all(|w| w[0].2 >= w[1].2), "{listed:?}");
    assert_eq!(size(&report, "mistakes.png"), Some(mistakes::figure_size(listed.len())));
}
