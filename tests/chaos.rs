//! Chaos resume: trains a small config while killing it with SIGKILL at random fault points
//! (model loading, mid-epoch steps, shutting down after a signal, checkpoint writes, pruning, and
//! the writes of `config.toml`, `run.json`, `state.json`, `metrics.csv` and TensorBoard records),
//! resuming after each kill, and checks that every run ends with exactly the metrics, weights and
//! test figures of an uninterrupted run, and that every kind of point was hit.
//!
//! The suite runs a short variant (10 kills, one per kind of point: a campaign takes every kind
//! first). `scripts/chaos-resume.sh` runs a long one: `MNIST_BURN_CHAOS_KILLS` sets the number of
//! kills, `MNIST_BURN_CHAOS_SEED` the seed that picks the points (the suite's is fixed, so its
//! points are the same on every machine).
//!
//! Each kill lands at a point the trainer's test hooks pause at (`mnist_runs::hooks`), so
//! which moment is hit depends on the seed alone, never on the machine's speed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{assert_readable, kept_checkpoints, metrics_without_seconds, run, spawn_paused, validation_losses, write_config};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Four epochs of 45 steps (1,080 training images in batches of 24) on real MNIST, keeping two
/// checkpoints so that saving later epochs prunes (which ones follows from the validation losses:
/// the best epoch is never pruned).
const CONFIG: &str = r#"[experiment]
name = "chaos"
seed = 31

[data]
set = "mnist"

validation_fraction = 0.1
train_limit = 1200
test_limit = 300

[model]
kind = "mlp"
hidden = [64]
dropout = 0.2

[training]
epochs = 4
batch_size = 24
loss = "cross_entropy"
learning_rate = 0.05
optimizer = { kind = "sgd", momentum = 0.9 }
keep_checkpoints = 2
"#;
const EPOCHS: usize = 4;
const STEPS_PER_EPOCH: usize = 45;
/// `training.keep_checkpoints` of [`CONFIG`].
const KEEP_CHECKPOINTS: usize = 2;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v}: expected a whole number")),
        Err(_) => default,
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// What must be bit-identical between two runs: metrics without the timings, the final weights
/// and `eval`'s full-precision test metrics. (The optimizer state is keyed by Burn's random
/// parameter ids, so its file differs between any two runs; a wrong state after a resume shows
/// in the metrics of the epochs trained with it.)
#[derive(Debug, PartialEq)]
struct Outcome {
    metrics: Vec<String>,
    weights: Vec<u8>,
    test: String,
}

fn outcome(run_dir: &Path) -> Outcome {
    let last = run_dir.join(format!("checkpoints/epoch-{EPOCHS:04}"));
    let (code, stdout, stderr) = run("eval", &["--run", &s(run_dir), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let mut test: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    test.as_object_mut().unwrap().remove("run");
    test.as_object_mut().unwrap().remove("checkpoint");
    Outcome {
        metrics: metrics_without_seconds(run_dir),
        weights: without_param_ids(std::fs::read(last.join("model.bpk")).unwrap()),
        test: test.to_string(),
    }
}

/// A burnpack file with the values of its `param_id` fields zeroed: Burn draws a random id for
/// every parameter when a model is built, so two runs' files differ there and nowhere else. The
/// header is CBOR: the key is the text `param_id` (0x68 + 8 bytes), its value a u64 (0x1b + 8 bytes).
fn without_param_ids(mut bytes: Vec<u8>) -> Vec<u8> {
    const KEY: &[u8] = b"\x68param_id";
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(KEY.len()).position(|w| w == KEY) {
        let value = at + found + KEY.len();
        assert_eq!(bytes.get(value), Some(&0x1b), "a param_id that is not a CBOR u64");
        bytes[value + 1..value + 9].fill(0);
        at = value + 9;
    }
    assert!(at > 0, "no param_id in the file: the masking no longer fits Burn's format");
    bytes
}

/// The epoch of the run's last complete checkpoint (0: none, or no run yet).
fn last_checkpoint(run_dir: &Path) -> usize {
    if !run_dir.join("checkpoints").is_dir() {
        return 0;
    }
    assert_readable(run_dir).last().map_or(0, |e| *e as usize)
}

/// The kinds of fault point (every point of `mnist_runs::hooks`). A campaign first takes them
/// in this order, each at the first launch that can reach it, so even a short one hits every
/// kind; once each is hit, it picks among those the launch can reach at random. The order puts
/// the kinds that leave the run where it was (or move it little) first, and those that a run
/// with every epoch checkpointed can still reach last.
const KINDS: [&str; 10] = [
    "write:config.toml",
    "step",
    "shutdown",
    "checkpoint",
    "write:state.json",
    "prune",
    "tensorboard",
    "load",
    "write:metrics.csv",
    "write:run.json",
];

/// Whether a launch continuing a run after epoch `done` (0: a fresh `--force` launch) passes a
/// point of `kind`; `prunes` are the epochs whose saving removes a checkpoint.
fn reachable(kind: &str, done: usize, prunes: &[usize]) -> bool {
    if done == EPOCHS {
        // Every epoch is checkpointed: resuming only loads, rewrites metrics.csv and marks the run
        // finished in run.json.
        return matches!(kind, "load" | "write:metrics.csv" | "write:run.json");
    }
    match kind {
        // Written when a run starts, which only a fresh launch does.
        "write:config.toml" => done == 0,
        "load" => done > 0,
        "prune" => prunes.iter().any(|&e| e > done),
        _ => true,
    }
}

/// The points a launch continuing after epoch `done` pauses at to reach a point of `kind`, in
/// order: the test signals the process at each but the last, and kills it at the last.
fn pick_points(rng: &mut StdRng, kind: &str, done: usize, prunes: &[usize]) -> Vec<String> {
    let any_step = |rng: &mut StdRng| format!("step@{}", rng.random_range(done * STEPS_PER_EPOCH + 1..=EPOCHS * STEPS_PER_EPOCH));
    let epoch = |rng: &mut StdRng| rng.random_range(done + 1..=EPOCHS);
    match kind {
        "step" => vec![any_step(rng)],
        // `shutdown` pauses once a stop signal is seen: a step point first, SIGINT there.
        "shutdown" => vec![any_step(rng), "shutdown".into()],
        "load" => vec![format!("load@{done}")],
        // Points other than `step` are numbered with the epoch being trained, 0 before the first.
        "write:config.toml" => vec!["write:config.toml@0".into()],
        // run.json is written when a run starts and once more at the very end, when the run is
        // marked finished.
        "write:run.json" => vec![format!("write:run.json@{}", if done == 0 && rng.random_bool(0.5) { 0 } else { EPOCHS })],
        // Resuming rewrites metrics.csv (numbered with the checkpoint's epoch), then every epoch does.
        "write:metrics.csv" if done == EPOCHS => vec![format!("write:metrics.csv@{EPOCHS}")],
        "write:metrics.csv" => vec![format!("write:metrics.csv@{}", rng.random_range(done.max(1)..=EPOCHS))],
        "prune" => {
            let later: Vec<usize> = prunes.iter().copied().filter(|&e| e > done).collect();
            vec![format!("prune@{}", later[rng.random_range(0..later.len())])]
        }
        other => vec![format!("{other}@{}", epoch(rng))],
    }
}

#[test]
fn sigkill_at_random_points_then_resume_ends_bit_identical_to_an_uninterrupted_run() {
    let kills = env_number("MNIST_BURN_CHAOS_KILLS", 10);
    let seed = env_number("MNIST_BURN_CHAOS_SEED", 2026);
    assert!(kills >= KINDS.len() as u64, "MNIST_BURN_CHAOS_KILLS={kills}: a campaign needs at least {} kills to hit every kind of fault point", KINDS.len());
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let config = PathBuf::from(write_config(dir.path(), "chaos.toml", CONFIG));

    let whole = dir.path().join("whole");
    let (code, stdout, stderr) = run("train", &["--config", &s(&config), "--out", &s(&whole)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("done: {EPOCHS} epochs, {} steps", EPOCHS * STEPS_PER_EPOCH)), "{stdout}");
    let expected = outcome(&whole);
    // Which epochs' saving prunes follows from the uninterrupted run's validation losses.
    let kept = kept_checkpoints(&validation_losses(&expected.metrics), KEEP_CHECKPOINTS);
    assert_eq!(assert_readable(&whole), kept[EPOCHS - 1].0, "the uninterrupted run keeps the checkpoints its metrics.csv implies");
    let prunes: Vec<usize> = (1..=EPOCHS).filter(|&e| kept[e - 1].1).collect();
    assert!(!prunes.is_empty(), "no epoch's saving prunes a checkpoint (validation losses {:?}, keep {KEEP_CHECKPOINTS}): the config no longer reaches `prune`", validation_losses(&expected.metrics));

    let mut rng = StdRng::seed_from_u64(seed);
    let mut hits: BTreeMap<&str, usize> = KINDS.iter().map(|k| (*k, 0)).collect();
    let (mut killed, mut runs, mut launches) = (0, 0, 0);
    let out = dir.path().join("chaos");
    while killed < kills {
        // One run, killed again and again until it finishes; then a fresh one.
        runs += 1;
        let _ = std::fs::remove_dir_all(&out);
        let mut killed_after_the_last_epoch = false;
        loop {
            let done = last_checkpoint(&out);
            let flag = if done > 0 { "--resume" } else { "--force" };
            launches += 1;
            // With every epoch checkpointed one kill is enough (loading, metrics.csv or the final
            // run.json): then the run finishes and a new one starts, so the kills spread over
            // every stage of many runs.
            if killed >= kills || (done == EPOCHS && killed_after_the_last_epoch) {
                let (code, _, stderr) = run("train", &["--config", &s(&config), "--out", &s(&out), flag]);
                assert_eq!(code, 0, "run {runs} (seed {seed}): the last launch, from epoch {done}, failed: {stderr}");
                break;
            }
            killed_after_the_last_epoch |= done == EPOCHS;
            let can = |k: &&str| reachable(k, done, &prunes);
            let kind = match KINDS.iter().find(|k| hits[*k] == 0 && can(k)) {
                Some(k) => *k,
                None => {
                    let choices: Vec<&str> = KINDS.iter().copied().filter(|k| can(&k)).collect();
                    choices[rng.random_range(0..choices.len())]
                }
            };
            let points = pick_points(&mut rng, kind, done, &prunes);
            let mut paused = spawn_paused(&config, &out, &[flag], &points.iter().map(String::as_str).collect::<Vec<_>>());
            for (i, point) in points.iter().enumerate() {
                // Every point picked lies on the launch's way: not reaching it is a failure.
                paused.wait_for(point);
                if i + 1 < points.len() {
                    paused.signal("INT");
                }
            }
            paused.kill();
            killed += 1;
            *hits.get_mut(kind).unwrap() += 1;
            let after = last_checkpoint(&out);
            let at = points.join(" then ");
            println!("chaos: run {runs}, kill {killed} ({kind}): {flag} from epoch {done}, killed at {at}, checkpoint {after} left");
            assert!(after >= done, "killed at {at}: checkpoint {after} after {done}");
        }
        let got = outcome(&out);
        assert_eq!(got.metrics, expected.metrics, "run {runs} (seed {seed}): metrics.csv differs from the uninterrupted run's");
        assert_eq!(got.test, expected.test, "run {runs} (seed {seed}): test metrics differ");
        assert!(got.weights == expected.weights, "run {runs} (seed {seed}): the final weights differ");
        let events = common::event_points(&out);
        assert_eq!(events, common::event_points(&whole), "run {runs} (seed {seed}): TensorBoard points differ");
    }
    println!("chaos: {killed} kills over {runs} runs ({launches} launches, seed {seed}): {hits:?}; every run ended bit-identical");
    let missed: Vec<&str> = KINDS.iter().copied().filter(|k| hits[k] == 0).collect();
    assert!(missed.is_empty(), "{killed} kills (seed {seed}) never hit {missed:?}: every kind of fault point must be hit at least once; hits: {hits:?}");
}
