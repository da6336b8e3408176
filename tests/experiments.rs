//! End-to-end tests of changing experiments from the command line: `train --set KEY=VALUE`
//! overrides, `--resume` with a config that differs from the run's, and extending a run to more
//! epochs with `--resume --epochs N`. They run the real `train` binary on the first MNIST images.

mod common;

use std::path::Path;

use common::{metrics_without_seconds, run, snapshot, test_line_metrics, write_config};
use mnist_config::Config;
use mnist_config::differences;

/// A classifier small enough to train an epoch in about a second: 600 training images, batches
/// of 50 (12 steps an epoch), validated on 100 test images.
const TINY: &str = r#"[experiment]
name = "tiny"
seed = 11

[data]
train_limit = 600
test_limit = 100

[model]
kind = "mlp"
hidden = [16]

[training]
epochs = 2
batch_size = 50
loss = "cross_entropy"
learning_rate = 0.1
optimizer = { kind = "sgd" }
"#;

fn s(path: &Path) -> String {
    path.display().to_string()
}

fn train(args: &[&str]) -> (i32, String, String) {
    run("train", &[args, &["--no-progress"]].concat())
}

/// Trains `config` into `out` with `extra` flags and fails the test unless it succeeds.
#[track_caller]
fn trained(config: &str, out: &Path, extra: &[&str]) -> String {
    let (code, stdout, stderr) = train(&[&["--config", config, "--out", &s(out)], extra].concat());
    assert_eq!(code, 0, "train {extra:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// A refusal: a non-zero exit code (not a panic), one `error: ...` line naming every needle.
#[track_caller]
fn refused(case: &str, (code, _stdout, stderr): &(i32, String, String), needles: &[&str]) {
    assert!(*code != 0 && *code != 101 && *code != -1, "{case}: exit code {code}, stderr:\n{stderr}");
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE", "internal failure"] {
        assert!(!stderr.contains(bad), "{case}: stderr mentions {bad:?}:\n{stderr}");
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() == 1 && lines[0].starts_with("error: "), "{case}: not one `error: ` line:\n{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{case}: stderr does not name {needle:?}:\n{stderr}");
    }
}

#[test]
fn set_changes_the_training_and_the_saved_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let out = dir.path().join("run");
    let stdout = trained(&config, &out, &["--set", "training.epochs=1", "--set", "model.hidden[0]=8", "--set", "training.optimizer={ kind = \"sgd\", momentum = 0.5 }"]);
    // 784·8 + 8 + 8·10 + 10 weights, one epoch.
    assert!(stdout.contains("(6,370 params)"), "{stdout}");
    assert!(stdout.contains("epoch   1/1 "), "{stdout}");
    let saved_path = out.join("config.toml");
    let saved = Config::parse(&std::fs::read_to_string(&saved_path).unwrap(), &saved_path).unwrap();
    let file = Config::parse(TINY, Path::new(&config)).unwrap();
    let changed: Vec<String> = differences(&file, &saved).iter().map(ToString::to_string).collect();
    assert_eq!(changed, [
        "model.hidden = [16] in the run, [8] now",
        "training.epochs = 2 in the run, 1 now",
        "training.optimizer.momentum = 0.0 in the run, 0.5 now",
    ]);
    // The saved config reproduces the run: `--resume` with it (no overrides) finds nothing to change.
    let (code, _, stderr) = train(&["--config", &s(&out.join("config.toml")), "--out", &s(&out), "--resume"]);
    assert!(code != 0 && stderr.contains("already finished"), "{stderr}");
}

#[test]
fn bad_overrides_are_refused_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let out = dir.path().join("never");
    let set = |value: &str| train(&["--config", &config, "--out", &s(&out), "--set", value]);
    refused(
        "unknown key",
        &set("training.learning_rat=0.01"),
        &["--set training.learning_rat=0.01: unknown key `training.learning_rat` (did you mean `learning_rate`?), expected one of", "`learning_rate`", "`optimizer`"],
    );
    refused("unknown table", &set("trainig.epochs=3"), &["--set trainig.epochs=3: unknown key `trainig` (did you mean `training`?), expected one of `experiment`, `data`, `model`, `training`"]);
    refused("unknown key in a tagged table", &set("model.hiden=[8]"), &["unknown key `model.hiden`", "`hidden`"]);
    refused(
        "wrong type",
        &set("training.learning_rate=\"fast\""),
        &["--set training.learning_rate=\"fast\": training.learning_rate: expected a number, e.g. learning_rate = 0.01; found the string \"fast\""],
    );
    refused("bare word where a number belongs", &set("training.epochs=ten"), &["--set training.epochs=ten: training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found the string \"ten\""]);
    refused("invalid value", &set("training.learning_rate=-1"), &["--set training.learning_rate=-1: training.learning_rate = -1 must be a finite number > 0"]);
    refused("no =", &set("training.epochs"), &["--set training.epochs: expected KEY=VALUE, e.g. --set training.learning_rate=0.01"]);
    refused("bad TOML", &set("model.hidden=[8,"), &["--set model.hidden=[8,: [8, is not a TOML value (invalid array"]);
    refused("a value for a table", &set("training=3"), &["--set training=3: training: expected a table"]);
    refused("a key below a value", &set("training.epochs.max=3"), &["--set training.epochs.max=3: training.epochs is an integer, not a table"]);
    refused("an element past the end", &set("model.hidden[3]=8"), &["--set model.hidden[3]=8: model.hidden has 1 element, so it has no [3]"]);
    refused("--seed beyond TOML", &train(&["--config", &config, "--seed", &u64::MAX.to_string()]), &["--seed 18446744073709551615: the value is larger than"]);
    assert!(!out.exists(), "a refused override created the run directory");
    // The file's own mistakes are still reported at their line.
    let broken = write_config(dir.path(), "broken.toml", &TINY.replace("batch_size = 50", "batch_size = \"50\""));
    refused("the file's error", &train(&["--config", &broken, "--set", "training.epochs=1", "--dry-run"]), &["broken.toml, line 15", "training.batch_size"]);
    // A table value, and a table the file does not have, are accepted.
    let (code, stdout, stderr) = train(&["--config", &config, "--dry-run", "--set", "training.schedule={ kind = \"step\", every = 1, gamma = 0.5 }", "--set", "training.early_stopping.patience=2"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn resume_names_each_key_that_differs_and_extends_to_more_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let run_dir = dir.path().join("run");
    trained(&config, &run_dir, &[]);
    let before = snapshot(&run_dir);

    let resume = |extra: &[&str]| train(&[&["--config", &config, "--out", &s(&run_dir), "--resume"], extra].concat());
    refused(
        "other learning rate",
        &resume(&["--set", "training.learning_rate=0.01", "--set", "model.hidden=[32]"]),
        &[
            &format!("cannot resume {}: the config given differs from the config saved in the run ({}/config.toml): ", s(&run_dir), s(&run_dir)),
            "model.hidden = [16] in the run, [32] now; training.learning_rate = 0.1 in the run, 0.01 now; resume with the saved config, or start over with --force",
        ],
    );
    refused("other epochs and another key", &resume(&["--epochs", "4", "--seed", "3"]), &["experiment.seed = 11 in the run, 3 now; training.epochs = 2 in the run, 4 now"]);
    refused("fewer epochs", &resume(&["--epochs", "1"]), &["cannot extend", "from 2 to 1 epochs: it has already trained 2 epochs; give more, e.g. --epochs 3"]);
    refused("the same epochs", &resume(&["--epochs", "2"]), &["already finished"]);
    assert_eq!(snapshot(&run_dir), before, "a refused --resume changed the run");

    // Extended from 2 to 4 epochs, it ends as a run given 4 epochs from the start.
    let extended = resume(&["--epochs", "4"]);
    assert_eq!(extended.0, 0, "{}{}", extended.1, extended.2);
    assert!(extended.1.contains("training.epochs 2 → 4") && extended.1.contains("epoch   4/4 "), "{}", extended.1);
    let fresh_dir = dir.path().join("fresh");
    let fresh = trained(&config, &fresh_dir, &["--epochs", "4"]);
    assert_eq!(metrics_without_seconds(&run_dir), metrics_without_seconds(&fresh_dir));
    assert_eq!(metrics_without_seconds(&run_dir).len(), 1 + 4 * 2);
    assert_eq!(test_line_metrics(&extended.1), test_line_metrics(&fresh));
    let saved = std::fs::read_to_string(run_dir.join("config.toml")).unwrap();
    assert_eq!(saved, std::fs::read_to_string(fresh_dir.join("config.toml")).unwrap());
    let info = std::fs::read_to_string(run_dir.join("run.json")).unwrap();
    assert!(info.contains("\"finished\": true"), "{info}");
    // The run now holds 4 epochs: resuming it with 4 is resuming a finished run.
    refused("finished again", &resume(&["--epochs", "4"]), &["already finished"]);
}

#[test]
fn runs_whose_rates_depend_on_the_epochs_or_that_stopped_are_not_extended() {
    let dir = tempfile::tempdir().unwrap();
    let cosine = write_config(dir.path(), "cosine.toml", &TINY.replace("epochs = 2", "epochs = 1").replace("[training]\n", "[training]\nschedule = { kind = \"cosine\" }\n"));
    let run_dir = dir.path().join("cosine");
    trained(&cosine, &run_dir, &[]);
    let before = snapshot(&run_dir);
    refused(
        "cosine",
        &train(&["--config", &cosine, "--out", &s(&run_dir), "--resume", "--epochs", "3"]),
        &["cannot extend", "from 1 to 3 epochs: its learning-rate schedule (cosine) depends on the number of epochs", "--force"],
    );
    assert_eq!(snapshot(&run_dir), before);

    // `training.steps` = one epoch's 12 steps ends the run whatever its epochs.
    let steps = write_config(dir.path(), "steps.toml", &TINY.replace("epochs = 2", "epochs = 2\nsteps = 12"));
    let run_dir = dir.path().join("steps");
    let stdout = trained(&steps, &run_dir, &[]);
    assert!(stdout.contains("epoch   1/2 ") && !stdout.contains("epoch   2/2"), "{stdout}");
    let before = snapshot(&run_dir);
    refused("steps", &train(&["--config", &steps, "--out", &s(&run_dir), "--resume", "--epochs", "3"]), &["it stopped at training.steps = 12"]);
    assert_eq!(snapshot(&run_dir), before);
}

/// The config, loaded as `train` loads it, is the file with the overrides written in.
#[test]
fn the_saved_config_is_the_file_with_the_overrides_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let edited = write_config(dir.path(), "edited.toml", &TINY.replace("learning_rate = 0.1", "learning_rate = 0.05").replace("seed = 11", "seed = 4"));
    let sets = [
        mnist_config::Override::parse("training.learning_rate=0.05").unwrap(),
        mnist_config::Override::integer("--seed", "experiment.seed", 4).unwrap(),
    ];
    let with_sets = mnist_config::Experiment::load_with(Path::new(&config), &sets).unwrap();
    let from_file = mnist_config::Experiment::load(Path::new(&edited)).unwrap();
    assert_eq!(with_sets.config(), from_file.config());
    assert_eq!(with_sets.config().to_toml(), from_file.config().to_toml());
}
