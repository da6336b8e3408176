//! The metrics of a model on a split ([`Metrics`], what an evaluation averages), metric rows (one
//! per epoch and split) and their CSV form, `metrics.csv` in a run directory.

use serde::{Deserialize, Serialize};

/// A model's metrics on a split (or on the training steps of an epoch): the objective and the
/// terms the model has; the others are empty. Evaluations average them (`evaluate::Averages`),
/// metric rows and `test.json` record them, each metric a field of its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The training objective (penalties included).
    pub loss: f64,
    /// Reconstruction term (autoencoders).
    pub reconstruction: Option<f64>,
    /// KL term (VAE).
    pub kl: Option<f64>,
    /// L2 kernel penalty, already weighted.
    pub l2: Option<f64>,
    /// L1 latent-activity penalty, already weighted.
    pub l1: Option<f64>,
    /// Fraction classified correctly (classifiers).
    pub accuracy: Option<f64>,
    /// Mean squared reconstruction error in normalized units (autoencoders).
    pub mse: Option<f64>,
    /// Peak signal-to-noise ratio in dB on [0, 1] grey levels (autoencoders).
    pub psnr: Option<f64>,
}

impl Metrics {
    /// Every metric with its name, in the order of `metrics.csv`'s columns (`loss` always set).
    pub fn named(&self) -> [(&'static str, Option<f64>); 8] {
        [
            ("loss", Some(self.loss)),
            ("reconstruction", self.reconstruction),
            ("kl", self.kl),
            ("l2", self.l2),
            ("l1", self.l1),
            ("accuracy", self.accuracy),
            ("mse", self.mse),
            ("psnr", self.psnr),
        ]
    }
}

/// The metrics of one split after one epoch. Terms a model does not have are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// `train`, `validation` or `test`.
    pub split: String,
    /// The metrics, as fields of the row itself in `state.json` (`"loss": .., "kl": ..`).
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Learning rate during the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch's training (or evaluation) pass.
    pub seconds: f64,
    /// When the row was recorded (its pass ended), in seconds since the Unix epoch: the wall time
    /// of its TensorBoard points. Kept in checkpoints' `state.json` but never in `metrics.csv`,
    /// whose columns are what interrupted and uninterrupted runs are compared on; absent in runs
    /// written before it was recorded (see [`fill_times`] for what stands in for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
}

/// The columns of `metrics.csv`: a [`MetricRow`] without its `time`, its metrics as columns of
/// their own. Written and read through serde field by field, so numbers are formatted exactly as
/// before `time` existed; spelled out because the `csv` crate neither writes a header for a
/// nested struct nor reads empty cells into a flattened one.
#[derive(Serialize, Deserialize)]
struct CsvRow {
    epoch: usize,
    split: String,
    loss: f64,
    reconstruction: Option<f64>,
    kl: Option<f64>,
    l2: Option<f64>,
    l1: Option<f64>,
    accuracy: Option<f64>,
    mse: Option<f64>,
    psnr: Option<f64>,
    learning_rate: f64,
    seconds: f64,
}

impl From<&MetricRow> for CsvRow {
    fn from(r: &MetricRow) -> Self {
        let Metrics { loss, reconstruction, kl, l2, l1, accuracy, mse, psnr } = r.metrics;
        CsvRow {
            epoch: r.epoch,
            split: r.split.clone(),
            loss,
            reconstruction,
            kl,
            l2,
            l1,
            accuracy,
            mse,
            psnr,
            learning_rate: r.learning_rate,
            seconds: r.seconds,
        }
    }
}

impl From<CsvRow> for MetricRow {
    fn from(r: CsvRow) -> Self {
        let CsvRow { epoch, split, loss, reconstruction, kl, l2, l1, accuracy, mse, psnr, learning_rate, seconds } = r;
        MetricRow {
            epoch,
            split,
            metrics: Metrics { loss, reconstruction, kl, l2, l1, accuracy, mse, psnr },
            learning_rate,
            seconds,
            time: None,
        }
    }
}

/// The current time in seconds since the Unix epoch (0 on a clock set before 1970): what
/// [`MetricRow::time`] and TensorBoard's `wall_time` hold.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// CSV text with a header row.
pub fn to_csv(rows: &[MetricRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // serde writes the header with the first record; an empty history still gets one.
        w.write_record([
            "epoch", "split", "loss", "reconstruction", "kl", "l2", "l1", "accuracy", "mse", "psnr", "learning_rate", "seconds",
        ])
        .expect("writing to memory cannot fail");
    }
    for row in rows {
        w.serialize(CsvRow::from(row)).expect("writing to memory cannot fail");
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// One scalar point: a value of the curve `tag` at `step`, recorded at `wall_time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// Seconds since the Unix epoch when the value was recorded (TensorBoard's Wall axis; its
    /// Relative axis counts from the first point of the run).
    pub wall_time: f64,
    /// Training step or epoch (the x axis in TensorBoard).
    pub step: i64,
    /// Curve name, e.g. `train/loss`; a `/` groups curves in TensorBoard.
    pub tag: String,
    /// The value.
    pub value: f32,
}

impl Scalar {
    /// A point of `tag` at `step`, recorded at `wall_time` (seconds since the Unix epoch).
    pub fn new(wall_time: f64, step: i64, tag: impl Into<String>, value: f32) -> Self {
        Scalar {
            wall_time,
            step,
            tag: tag.into(),
            value,
        }
    }
}

/// The TensorBoard scalars of metric rows: every column as `<split>/<column>` at step = epoch,
/// with the row's `time` as wall time. Rows without one get the reconstruction of
/// [`fill_times`] (no other source, no start: the last of them is placed at the current time).
pub fn scalars(rows: &[MetricRow]) -> Vec<Scalar> {
    let mut times: Vec<Option<f64>> = rows.iter().map(|r| r.time).collect();
    reconstruct(&mut times, rows, None);
    let mut out = Vec::new();
    for (r, time) in rows.iter().zip(times) {
        let wall_time = time.unwrap_or_else(now_unix);
        let columns = r.metrics.named().into_iter().chain([("learning_rate", Some(r.learning_rate)), ("seconds", Some(r.seconds))]);
        for (name, value) in columns {
            if let Some(v) = value {
                out.push(Scalar::new(wall_time, r.epoch as i64, format!("{}/{name}", r.split), v as f32));
            }
        }
    }
    out
}

/// Parses `metrics.csv` text. Its rows have no `time` (the file never holds one).
pub fn from_csv(text: &str) -> Result<Vec<MetricRow>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes()).deserialize::<CsvRow>().map(|r| r.map(MetricRow::from)).collect()
}

/// Gives every row without a `time` one, in this order:
/// 1. `known(row)`: a time recorded elsewhere for the same row (a checkpoint's history, the run's
///    event file), see `tensorboard::RunTimes`;
/// 2. a reconstruction from `seconds`, the duration of each row's pass: after a row with a time,
///    the next ends `seconds` later; before one, the previous ended this row's `seconds` earlier;
///    with no time at all, the first row ends its `seconds` after `start` or, without `start`,
///    the last row ends now.
///
/// The reconstruction only counts the passes themselves (not checkpoint writes or data loading),
/// so it is a lower bound of the real spacing, but it keeps TensorBoard's Relative and Wall axes
/// monotone and proportional to training time, where one shared time flattened them.
pub fn fill_times(rows: &mut [MetricRow], known: impl Fn(&MetricRow) -> Option<f64>, start: Option<f64>) {
    let mut times: Vec<Option<f64>> = rows.iter().map(|r| r.time.or_else(|| known(r))).collect();
    reconstruct(&mut times, rows, start);
    for (row, time) in rows.iter_mut().zip(times) {
        row.time = time;
    }
}

/// Step 2 of [`fill_times`] over `times` (one per row, `None` where unknown): fills every entry.
fn reconstruct(times: &mut [Option<f64>], rows: &[MetricRow], start: Option<f64>) {
    if times.is_empty() {
        return;
    }
    if times.iter().all(Option::is_none) {
        match start {
            Some(start) => times[0] = Some(start + rows[0].seconds),
            None => times[times.len() - 1] = Some(now_unix()),
        }
    }
    let first_known = times.iter().position(Option::is_some).expect("one time is set above");
    // Backwards from the first known time: the previous row ended when this one's pass began.
    for i in (0..first_known).rev() {
        times[i] = times[i + 1].map(|t| t - rows[i + 1].seconds);
    }
    // Forwards from each known time.
    for i in first_known + 1..times.len() {
        if times[i].is_none() {
            times[i] = times[i - 1].map(|t| t + rows[i].seconds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_csv_with_empty_terms() {
        let rows = vec![
            MetricRow {
                epoch: 1,
                split: "train".into(),
                metrics: Metrics {
                    loss: 0.5,
                    reconstruction: None,
                    kl: None,
                    l2: Some(0.01),
                    l1: None,
                    accuracy: Some(0.9),
                    mse: None,
                    psnr: None,
                },
                learning_rate: 0.1,
                seconds: 2.5,
                time: None,
            },
            MetricRow {
                epoch: 1,
                split: "validation".into(),
                metrics: Metrics {
                    loss: 150.0,
                    reconstruction: Some(140.0),
                    kl: Some(10.0),
                    l2: None,
                    l1: None,
                    accuracy: None,
                    mse: Some(0.02),
                    psnr: Some(17.0),
                },
                learning_rate: 0.1,
                seconds: 0.5,
                time: None,
            },
        ];
        let text = String::from_utf8(to_csv(&rows)).unwrap();
        assert!(text.starts_with("epoch,split,loss,reconstruction,kl,l2,l1,accuracy,mse,psnr,learning_rate,seconds\n"));
        assert!(text.contains("1,train,0.5,,,0.01,,0.9,,,0.1,2.5"));
        assert_eq!(from_csv(&text).unwrap(), rows);
        assert!(String::from_utf8(to_csv(&[])).unwrap().starts_with("epoch,split,loss"));
    }

    /// The header `metrics.csv` has always had: interrupted and uninterrupted runs are compared
    /// on these columns, so `time` must never appear among them.
    const HEADER: &str = "epoch,split,loss,reconstruction,kl,l2,l1,accuracy,mse,psnr,learning_rate,seconds\n";

    fn row(epoch: usize, split: &str, seconds: f64, time: Option<f64>) -> MetricRow {
        MetricRow {
            epoch,
            split: split.into(),
            metrics: Metrics {
                loss: 1.0 / epoch as f64,
                reconstruction: None,
                kl: None,
                l2: None,
                l1: None,
                accuracy: Some(0.5),
                mse: None,
                psnr: None,
            },
            learning_rate: 0.01,
            seconds,
            time,
        }
    }

    #[test]
    fn times_stay_out_of_the_csv() {
        let timed = vec![row(1, "train", 2.0, Some(1_700_000_000.5)), row(1, "validation", 0.5, Some(1_700_000_001.0))];
        let untimed: Vec<MetricRow> = timed.iter().map(|r| MetricRow { time: None, ..r.clone() }).collect();
        let text = String::from_utf8(to_csv(&timed)).unwrap();
        assert_eq!(text, String::from_utf8(to_csv(&untimed)).unwrap());
        assert!(text.starts_with(HEADER), "{text}");
        assert_eq!(text.lines().nth(1), Some("1,train,1.0,,,,,0.5,,,0.01,2.0"));
        assert!(String::from_utf8(to_csv(&[])).unwrap().starts_with(HEADER));
        // A file written before times existed (the same columns) reads back, without times.
        let old = format!("{HEADER}1,train,1.0,,,,,0.5,,,0.01,2.0\n");
        assert_eq!(from_csv(&old).unwrap(), vec![row(1, "train", 2.0, None)]);
    }

    #[test]
    fn times_are_kept_in_state_json_and_optional_there() {
        let timed = row(2, "train", 1.0, Some(1_700_000_123.456_789));
        let json = serde_json::to_string(&timed).unwrap();
        assert!(json.contains("\"time\":1700000123.456789"), "{json}");
        assert_eq!(serde_json::from_str::<MetricRow>(&json).unwrap(), timed);
        // Untimed rows write no `time`, and checkpoints written before it existed still load.
        assert!(!serde_json::to_string(&row(2, "train", 1.0, None)).unwrap().contains("time"));
        let old_state = r#"{"epoch": 1, "global_step": 4, "best_epoch": 1, "best_value": 0.5,
            "stale_epochs": 0, "stopped": false, "history": [{"epoch": 1, "split": "train",
            "loss": 1.0, "reconstruction": null, "kl": null, "l2": null, "l1": null,
            "accuracy": 0.5, "mse": null, "psnr": null, "learning_rate": 0.01, "seconds": 2.0}]}"#;
        // The rows of such a `state.json` (its other fields are run_dir's `TrainState`).
        let state: serde_json::Value = serde_json::from_str(old_state).unwrap();
        let history: Vec<MetricRow> = serde_json::from_value(state["history"].clone()).unwrap();
        assert_eq!(history, vec![row(1, "train", 2.0, None)]);
    }

    /// `state.json` keeps the form it had before the metrics were grouped in [`Metrics`]: every
    /// metric a field of the row, in the same order, so checkpoints of either version load.
    #[test]
    fn rows_keep_their_json_form() {
        let mut timed = row(2, "train", 1.5, Some(100.25));
        timed.metrics.kl = Some(0.125);
        let json = serde_json::to_string(&timed).unwrap();
        let old = r#"{"epoch":2,"split":"train","loss":0.5,"reconstruction":null,"kl":0.125,"l2":null,"l1":null,"accuracy":0.5,"mse":null,"psnr":null,"learning_rate":0.01,"seconds":1.5,"time":100.25}"#;
        assert_eq!(json, old);
        assert_eq!(serde_json::from_str::<MetricRow>(old).unwrap(), timed);
        // Pretty-printed, as checkpoints are written, the same way too.
        let pretty = "{\n  \"epoch\": 2,\n  \"split\": \"train\",\n  \"loss\": 0.5,\n  \"reconstruction\": null,\n  \"kl\": 0.125,\n  \"l2\": null,\n  \"l1\": null,\n  \"accuracy\": 0.5,\n  \"mse\": null,\n  \"psnr\": null,\n  \"learning_rate\": 0.01,\n  \"seconds\": 1.5,\n  \"time\": 100.25\n}";
        assert_eq!(serde_json::to_string_pretty(&timed).unwrap(), pretty);
    }

    #[test]
    fn scalars_carry_their_rows_times() {
        let rows = vec![row(1, "train", 2.0, Some(100.0)), row(1, "validation", 0.5, Some(100.5))];
        let points = scalars(&rows);
        assert!(points.iter().filter(|p| p.tag.starts_with("train/")).all(|p| p.wall_time == 100.0));
        assert!(points.iter().filter(|p| p.tag.starts_with("validation/")).all(|p| p.wall_time == 100.5));
    }

    #[test]
    fn missing_times_come_from_elsewhere_then_from_durations() {
        let untimed = |seconds: [f64; 4]| -> Vec<MetricRow> {
            [(1, "train"), (1, "validation"), (2, "train"), (2, "validation")]
                .iter()
                .zip(seconds)
                .map(|(&(e, s), secs)| row(e, s, secs, None))
                .collect()
        };
        // A source knows epoch 2's training row: the others are placed around it by durations.
        let mut rows = untimed([10.0, 1.0, 20.0, 2.0]);
        rows[1].time = Some(111.0);
        fill_times(&mut rows, |r| (r.epoch == 2 && r.split == "train").then_some(500.0), Some(0.0));
        let times: Vec<f64> = rows.iter().map(|r| r.time.unwrap()).collect();
        assert_eq!(times, [110.0, 111.0, 500.0, 502.0], "own time, backwards, known, forwards");

        // Nothing known: forwards from the start.
        let mut rows = untimed([10.0, 1.0, 20.0, 2.0]);
        fill_times(&mut rows, |_| None, Some(1000.0));
        let times: Vec<f64> = rows.iter().map(|r| r.time.unwrap()).collect();
        assert_eq!(times, [1010.0, 1011.0, 1031.0, 1033.0]);

        // Nothing known and no start: the last row ends now, the others before it.
        let before = now_unix();
        let points = scalars(&untimed([10.0, 1.0, 20.0, 2.0]));
        let last = points.last().unwrap().wall_time;
        assert!(last >= before && last <= now_unix());
        assert_eq!(points[0].wall_time, last - 23.0);
    }
}
