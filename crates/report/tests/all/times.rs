//! TensorBoard wall times written by `report`: every point at the time its row was recorded
//! (kept in the last checkpoint's history, never in `metrics.csv`), and for runs written before
//! times were kept, times rebuilt from the rows' durations instead of one time shared by all.
//! The run directories are written by hand: no training, no model needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use mnist_report::report::write_tensorboard;
use mnist_report::tensorboard::{Scalar, event_files, read_events, write_scalars};
use mnist_runs::metrics::{MetricRow, Metrics, to_csv};

fn row(epoch: usize, split: &str, seconds: f64, time: Option<f64>) -> MetricRow {
    MetricRow {
        epoch,
        split: split.into(),
        metrics: Metrics { loss: 1.0 / epoch as f64, reconstruction: None, kl: None, l2: None, l1: None, accuracy: Some(0.9), mse: None, psnr: None },
        learning_rate: 0.01,
        seconds,
        time,
    }
}

/// A run directory holding `config.toml` (created at `start`), `metrics.csv`, the last
/// checkpoint's `state.json` with `history`, `steps.csv` and the event file an older writer left
/// (every record at one time, which must not survive).
fn make_run(dir: &Path, history: &[MetricRow], steps_csv: &str, start: f64) -> PathBuf {
    let run = dir.join("run");
    let last = run.join(format!(
        "checkpoints/epoch-{:04}",
        history.last().unwrap().epoch
    ));
    std::fs::create_dir_all(&last).unwrap();
    let config = std::fs::File::create(run.join("config.toml")).unwrap();
    config
        .set_modified(UNIX_EPOCH + Duration::from_secs_f64(start))
        .unwrap();
    std::fs::write(run.join("metrics.csv"), to_csv(history)).unwrap();
    let state = serde_json::json!({
        "epoch": history.last().unwrap().epoch, "global_step": 4, "best_epoch": 1,
        "best_value": 0.5, "stale_epochs": 0, "stopped": false, "history": history,
    });
    std::fs::write(
        last.join("state.json"),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();
    std::fs::write(run.join("steps.csv"), steps_csv).unwrap();
    let flat = [
        Scalar::new(1_900_000_000.0, 1, "train/loss", 1.0),
        Scalar::new(1_900_000_000.0, 2, "train/loss", 0.5),
    ];
    write_scalars(&run.join("tensorboard"), &flat).unwrap();
    run
}

/// Runs the report's TensorBoard writing; returns the wall time of every `(tag, step)` written
/// and of the file-version record.
fn report_times(run: &Path) -> (BTreeMap<(String, i64), f64>, f64) {
    let path = write_tensorboard(run).unwrap();
    assert_eq!(
        event_files(&run.join("tensorboard")).unwrap(),
        vec![path.clone()]
    );
    let events = read_events(&path).unwrap();
    let mut times = BTreeMap::new();
    for e in &events[1..] {
        for (tag, _) in &e.values {
            assert!(
                times.insert((tag.clone(), e.step), e.wall_time).is_none(),
                "{tag} at {} twice",
                e.step
            );
        }
    }
    (times, events[0].wall_time)
}

#[test]
fn report_keeps_each_points_recorded_time() {
    let dir = tempfile::tempdir().unwrap();
    // Irregular spacing: nothing a reconstruction from durations would give.
    let history = [
        row(1, "train", 10.0, Some(1_700_000_010.25)),
        row(1, "validation", 2.0, Some(1_700_000_012.5)),
        row(2, "train", 10.0, Some(1_700_000_035.0)),
        row(2, "validation", 2.0, Some(1_700_000_037.0)),
    ];
    let steps =
        "step,loss,nonzero_fraction,time\n1,0.5,0.25,1700000005.000\n2,0.4,0.25,1700000010.125\n";
    let run = make_run(dir.path(), &history, steps, 1_600_000_000.0);
    let (times, first) = report_times(&run);

    for r in &history {
        for column in ["loss", "accuracy", "learning_rate", "seconds"] {
            let tag = format!("{}/{column}", r.split);
            assert_eq!(
                times[&(tag, r.epoch as i64)],
                r.time.unwrap(),
                "{} {} {column}",
                r.split,
                r.epoch
            );
        }
    }
    assert_eq!(times[&("step/loss".into(), 1)], 1_700_000_005.0);
    assert_eq!(
        times[&("step/nonzero_fraction".into(), 2)],
        1_700_000_010.125
    );
    let distinct: std::collections::BTreeSet<u64> = times.values().map(|t| t.to_bits()).collect();
    assert_eq!(
        distinct.len(),
        6,
        "one time per row and per step: {times:?}"
    );
    // The file-version record, where TensorBoard's Relative axis starts, is at the earliest point.
    assert_eq!(first, 1_700_000_005.0);
}

#[test]
fn report_rebuilds_times_of_runs_written_before_they_were_kept() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_600_000_000.0;
    let history = [
        row(1, "train", 10.0, None),
        row(1, "validation", 2.0, None),
        row(2, "train", 10.0, None),
        row(2, "validation", 2.0, None),
    ];
    // The per-step log of that time had no `time` column.
    let steps = "step,loss,nonzero_fraction\n1,0.5,\n2,0.4,\n3,0.3,\n4,0.2,\n";
    let run = make_run(dir.path(), &history, steps, start);
    let (times, _) = report_times(&run);

    // From the run's creation, each row ends its pass's duration after the previous one.
    let at = |tag: &str, step: i64| times[&(tag.to_string(), step)];
    assert_eq!(
        [
            at("train/loss", 1),
            at("validation/loss", 1),
            at("train/loss", 2),
            at("validation/loss", 2)
        ],
        [start + 10.0, start + 12.0, start + 22.0, start + 24.0]
    );
    // Steps spread evenly from the first training pass's start to the last one's end.
    assert_eq!(
        [1, 2, 3, 4].map(|s| at("step/loss", s)),
        [5.5, 11.0, 16.5, 22.0].map(|d| start + d)
    );

    // A second report reads those times back from the event file it wrote: nothing moves.
    let (again, _) = report_times(&run);
    assert_eq!(again, times);
}
