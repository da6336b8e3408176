//! Bad input gives one clear error naming the file: a missing run, a corrupt log.

use mnist_report::{ReportError, ReportOptions, generate_report};

use crate::common::train_run;

#[test]
fn missing_run_and_corrupt_logs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = generate_report(&missing, &ReportOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let run = train_run(
        dir.path(),
        "tiny",
        "normalization = \"unit\"\ntrain_limit = 200\ntest_limit = 20\n",
        "[model]\nkind = \"softmax_regression\"\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n",
    );
    let metrics = run.join("metrics.csv");
    std::fs::write(&metrics, "epoch,split,loss\nnot a number,train,x\n").unwrap();
    let err = generate_report(&run, &ReportOptions::default()).unwrap_err();
    assert!(matches!(err, ReportError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("metrics.csv is corrupt"), "{err}");

    std::fs::remove_file(&metrics).unwrap();
    std::fs::write(
        run.join("steps.csv"),
        "step,loss,nonzero_fraction\n1,abc,\n",
    )
    .unwrap();
    let err = generate_report(&run, &ReportOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("steps.csv is corrupt: line 2"),
        "{err}"
    );

    // Without the logs, the figures that need them are skipped, not errors.
    std::fs::remove_file(run.join("steps.csv")).unwrap();
    let outcome = generate_report(&run, &ReportOptions::default()).unwrap();
    assert!(
        outcome
            .skipped
            .iter()
            .any(|s| s.figure == "loss_curves.png")
    );
    assert!(
        outcome
            .figures
            .iter()
            .any(|f| f.path.ends_with("weights_first_layer.png")),
        "softmax weights: 10 tiles in a row"
    );
}
