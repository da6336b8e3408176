//! The noise sweep through a denoising autoencoder and a classifier on another normalization:
//! per level, the classifier's accuracy on noisy and on denoised images and both PSNRs, its CSV
//! and plot, Gaussian levels, and the errors for swapped roles and levels out of range.

use mnist_inference::noise_sweep::DEFAULT_LEVELS;
use mnist_inference::{InferenceError, NoiseSweepKind, NoiseSweepOptions, run_noise_sweep};
use mnist_report::plot::{PANEL_HEIGHT, PANEL_WIDTH};
use mnist_runs::{EvalSplit, load_run};

use crate::common::{load_png, train_denoiser_and_classifier};

#[test]
fn noise_sweep_through_a_denoiser_and_a_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let (dae, mlp) = train_denoiser_and_classifier(dir.path());
    // The classifier's test accuracy, as its report computes it.
    let loaded = load_run(&mlp, "last", None).unwrap();
    let accuracy = loaded.evaluate(&loaded.data().unwrap(), EvalSplit::Test).accuracy.unwrap();

    // The sweep.
    let opts = NoiseSweepOptions {
        denoiser: dae.clone(),
        classifier: mlp.clone(),
        levels: vec![0.0, 0.5],
        noise: NoiseSweepKind::SaltAndPepper,
        checkpoint: "last".into(),
        device: None,
        limit: None,
        out: None,
        seed: 1,
    };
    let sweep = run_noise_sweep(&opts).unwrap();
    assert_eq!(sweep.samples, 100, "the denoiser's test_limit");
    assert_eq!(sweep.csv, dae.join("plots/noise_sweep.csv"));
    let png = load_png(&sweep.png);
    assert_eq!((png.width(), png.height()), (2 * PANEL_WIDTH, PANEL_HEIGHT));
    let csv = std::fs::read_to_string(&sweep.csv).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("salt_and_pepper,0,")
    );
    let (clean, noisy) = (&sweep.rows[0], &sweep.rows[1]);
    // Level 0 is the clean test set: the classifier's own accuracy despite the other normalization.
    assert!(clean.psnr_noisy.is_infinite());
    assert_eq!(clean.accuracy_noisy, sweep.accuracy_clean);
    assert!(
        (sweep.accuracy_clean - accuracy).abs() <= 0.02,
        "{} vs {accuracy}",
        sweep.accuracy_clean
    );
    assert!(
        clean.psnr_denoised.is_finite() && clean.psnr_denoised > 10.0,
        "{clean:?}"
    );
    // Half the pixels replaced: noisy images are far from clean, the denoiser brings them closer.
    assert!(noisy.psnr_noisy < 8.0, "{noisy:?}");
    assert!(noisy.psnr_denoised > noisy.psnr_noisy, "{noisy:?}");
    assert!(noisy.accuracy_noisy < sweep.accuracy_clean);
    assert!(sweep.table().contains("accuracy denoised"));

    // Gaussian levels and an explicit output directory.
    let out = dir.path().join("sweep");
    let gaussian = run_noise_sweep(&NoiseSweepOptions {
        noise: NoiseSweepKind::Gaussian,
        levels: DEFAULT_LEVELS.to_vec(),
        limit: Some(50),
        out: Some(out.clone()),
        ..opts.clone()
    })
    .unwrap();
    assert_eq!((gaussian.rows.len(), gaussian.samples), (6, 50));
    assert!(out.join("noise_sweep.csv").is_file() && out.join("noise_sweep.png").is_file());

    // Roles swapped: a clear error naming the run.
    let err = run_noise_sweep(&NoiseSweepOptions {
        denoiser: mlp.clone(),
        classifier: dae.clone(),
        ..opts.clone()
    })
    .unwrap_err();
    assert!(matches!(err, InferenceError::WrongRun { .. }), "{err}");
    assert!(
        err.to_string().contains("mlp") && err.to_string().contains("autoencoder"),
        "{err}"
    );
    let err = run_noise_sweep(&NoiseSweepOptions {
        levels: vec![1.5],
        ..opts
    })
    .unwrap_err();
    assert!(err.to_string().contains("--levels"), "{err}");
}
