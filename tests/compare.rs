//! End-to-end test of `report --compare`: two tiny runs that differ in their learning rate,
//! compared into a folder; a path that is not a run is answered with one error line naming it.

mod common;

use std::path::Path;

fn config(dir: &Path) -> String {
    let data = common::root().join("data/mnist");
    let text = format!(
        "[experiment]\nname = \"tiny\"\nseed = 5\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\ntrain_limit = 300\ntest_limit = 100\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 2\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = {{ kind = \"sgd\" }}\n",
        data.display()
    );
    common::write_config(dir, "tiny.toml", &text)
}

#[test]
fn compare_overlays_two_runs_and_lists_the_differing_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let runs: Vec<String> = ["0.1", "0.02"]
        .iter()
        .map(|lr| {
            let out = tmp.path().join(format!("lr{lr}")).display().to_string();
            let (code, _, err) = common::run("train", &["--config", &cfg, "--out", &out, "--set", &format!("training.learning_rate={lr}")]);
            assert_eq!(code, 0, "{err}");
            out
        })
        .collect();
    let out = tmp.path().join("cmp");
    let (code, stdout, stderr) = common::run("report", &["--compare", &runs[0], &runs[1], "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("training.learning_rate: 0.1 | 0.02"), "{stdout}");

    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    let row = html.split("<tr>").find(|r| r.contains("training.learning_rate")).unwrap_or_else(|| panic!("no learning-rate row in {html}"));
    assert!(row.contains("<td>0.1</td>") && row.contains("<td>0.02</td>"), "{row}");
    // Only the learning rate and the output folder's name can differ; the data and model agree.
    assert!(!html.contains("<code>model.hidden</code>"), "{html}");
    // Final metrics: each run's last validation epoch and its test metrics, evaluated here.
    assert!(html.contains("lr0.1: validation, epoch 2") && html.contains("lr0.02: test (last checkpoint, 100 samples)"), "{html}");
    assert!(html.contains("<img src=\"data:image/png;base64,"), "the figure is embedded");
    let png = image::open(out.join("compare.png")).expect("compare.png decodes");
    // Two panels (loss and accuracy: the runs are classifiers), 600 × 420 each.
    assert_eq!((png.width(), png.height()), (1200, 420));

    // A path that is not a run directory: one error line that names it.
    let (code, _, stderr) = common::run("report", &["--compare", &runs[0], &tmp.path().display().to_string()]);
    assert_ne!(code, 0);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains(&tmp.path().display().to_string()) && stderr.contains("not a run directory"), "{stderr}");
}
