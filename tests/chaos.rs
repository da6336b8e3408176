//! Chaos resume: trains a small config while killing it with SIGKILL at random fault points
//! (model loading, mid-epoch steps, checkpoint writes, pruning, `metrics.csv` and TensorBoard
//! writes), resuming after each kill, and checks that every run ends with exactly the metrics,
//! weights and test figures of an uninterrupted run.
//!
//! The suite runs a short variant (10 kills). `scripts/chaos-resume.sh` runs a long one:
//! `MNIST_BURN_CHAOS_KILLS` sets the number of kills, `MNIST_BURN_CHAOS_SEED` the seed that picks
//! the points (the suite's is fixed, so its points are the same on every machine).
//!
//! Each kill lands at a point the trainer's test hooks pause at (`mnist_trainer::hooks`), so
//! which moment is hit depends on the seed alone, never on the machine's speed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{assert_readable, metrics_without_seconds, run, spawn_paused, write_config};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Four epochs of 45 steps (1,080 training images in batches of 24) on real MNIST, keeping two
/// checkpoints so saving epochs 3 and 4 prunes.
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

/// The kinds of fault point, in the order the kills go through them (so even a short campaign
/// hits each): `load` needs a checkpoint to resume from, so it falls back to a step before one.
const KINDS: [&str; 8] = ["step", "checkpoint", "load", "write:metrics.csv", "tensorboard", "prune", "write:state.json", "write:run.json"];

/// A fault point of `kind` at a random epoch or step that a run continuing after epoch `done`
/// can reach.
fn pick_point(rng: &mut StdRng, kind: &str, done: usize) -> String {
    if done == EPOCHS {
        // Every epoch is checkpointed; resuming only loads, rewrites metrics.csv and finishes.
        return ["load", "write:metrics.csv", "write:run.json"][rng.random_range(0..3)].to_string() + &format!("@{EPOCHS}");
    }
    let epoch = rng.random_range(done + 1..=EPOCHS);
    match kind {
        "load" if done > 0 => format!("load@{done}"),
        "step" | "load" => format!("step@{}", rng.random_range(done * STEPS_PER_EPOCH + 1..=EPOCHS * STEPS_PER_EPOCH)),
        // Saving epochs 3 and 4 prunes (two are kept), unless the oldest is the best.
        "prune" => format!("prune@{}", epoch.max(3)),
        // run.json is rewritten once more at the very end, when the run is marked finished.
        "write:run.json" => format!("write:run.json@{EPOCHS}"),
        other => format!("{other}@{epoch}"),
    }
}

#[test]
fn sigkill_at_random_points_then_resume_ends_bit_identical_to_an_uninterrupted_run() {
    let kills = env_number("MNIST_BURN_CHAOS_KILLS", 10);
    let seed = env_number("MNIST_BURN_CHAOS_SEED", 2026);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let config = PathBuf::from(write_config(dir.path(), "chaos.toml", CONFIG));

    let whole = dir.path().join("whole");
    let (code, stdout, stderr) = run("train", &["--config", &s(&config), "--out", &s(&whole)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("done: {EPOCHS} epochs, {} steps", EPOCHS * STEPS_PER_EPOCH)), "{stdout}");
    let expected = outcome(&whole);

    let mut rng = StdRng::seed_from_u64(seed);
    let mut hits: BTreeMap<String, usize> = BTreeMap::new();
    let (mut killed, mut runs, mut launches, mut rotation) = (0, 0, 0, 0);
    let out = dir.path().join("chaos");
    while killed < kills {
        // One run, killed again and again until it finishes; then a fresh one.
        runs += 1;
        let _ = std::fs::remove_dir_all(&out);
        let mut killed_after_the_last_epoch = false;
        loop {
            let done = last_checkpoint(&out);
            let flags: &[&str] = if done > 0 { &["--resume"] } else { &["--force"] };
            // With every epoch checkpointed one kill is enough (loading, metrics.csv or the final
            // run.json): then the run finishes and a new one starts, so the kills spread over
            // every stage of many runs.
            let finish = killed >= kills || (done == EPOCHS && killed_after_the_last_epoch);
            killed_after_the_last_epoch |= done == EPOCHS;
            let kind = KINDS[rotation % KINDS.len()];
            let point = if finish { "none".into() } else { pick_point(&mut rng, kind, done) };
            launches += 1;
            let mut paused = spawn_paused(&config, &out, flags, &[&point]);
            if paused.reached(&point) {
                paused.kill();
                killed += 1;
                if point.starts_with(kind) {
                    rotation += 1;
                }
                *hits.entry(point.split('@').next().unwrap().to_string()).or_default() += 1;
                let after = last_checkpoint(&out);
                assert!(after >= done, "killed at {point}: checkpoint {after} after {done}");
                continue;
            }
            // The point lies beyond where this run went (a pruning that keeps the best epoch):
            // it finished instead.
            let (status, stderr) = paused.finish();
            assert_eq!(status, Some(0), "the run with pause point {point} failed: {stderr}");
            break;
        }
        let got = outcome(&out);
        assert_eq!(got.metrics, expected.metrics, "run {runs} (seed {seed}): metrics.csv differs from the uninterrupted run's");
        assert_eq!(got.test, expected.test, "run {runs} (seed {seed}): test metrics differ");
        assert!(got.weights == expected.weights, "run {runs} (seed {seed}): the final weights differ");
        let events = common::event_points(&out);
        assert_eq!(events, common::event_points(&whole), "run {runs} (seed {seed}): TensorBoard points differ");
    }
    println!("chaos: {killed} kills over {runs} runs ({launches} launches, seed {seed}): {hits:?}; every run ended bit-identical");
}
