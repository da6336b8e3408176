//! Metric rows (one per epoch and split) and their CSV form, `metrics.csv` in a run directory.

use serde::{Deserialize, Serialize};

use crate::tensorboard::Scalar;

/// The metrics of one split after one epoch. Terms a model does not have are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// `train`, `validation` or `test`.
    pub split: String,
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
    /// Learning rate during the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch's training (or evaluation) pass.
    pub seconds: f64,
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
        w.serialize(row).expect("writing to memory cannot fail");
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// The TensorBoard scalars of metric rows: every column as `<split>/<column>` at step = epoch.
pub fn scalars(rows: &[MetricRow]) -> Vec<Scalar> {
    let mut out = Vec::new();
    for r in rows {
        let columns = [
            ("loss", Some(r.loss)),
            ("reconstruction", r.reconstruction),
            ("kl", r.kl),
            ("l2", r.l2),
            ("l1", r.l1),
            ("accuracy", r.accuracy),
            ("mse", r.mse),
            ("psnr", r.psnr),
            ("learning_rate", Some(r.learning_rate)),
            ("seconds", Some(r.seconds)),
        ];
        for (name, value) in columns {
            if let Some(v) = value {
                out.push(Scalar::new(r.epoch as i64, format!("{}/{name}", r.split), v as f32));
            }
        }
    }
    out
}

/// Parses `metrics.csv` text.
pub fn from_csv(text: &str) -> Result<Vec<MetricRow>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes()).deserialize().collect()
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
                loss: 0.5,
                reconstruction: None,
                kl: None,
                l2: Some(0.01),
                l1: None,
                accuracy: Some(0.9),
                mse: None,
                psnr: None,
                learning_rate: 0.1,
                seconds: 2.5,
            },
            MetricRow {
                epoch: 1,
                split: "validation".into(),
                loss: 150.0,
                reconstruction: Some(140.0),
                kl: Some(10.0),
                l2: None,
                l1: None,
                accuracy: None,
                mse: Some(0.02),
                psnr: Some(17.0),
                learning_rate: 0.1,
                seconds: 0.5,
            },
        ];
        let text = String::from_utf8(to_csv(&rows)).unwrap();
        assert!(text.starts_with("epoch,split,loss,reconstruction,kl,l2,l1,accuracy,mse,psnr,learning_rate,seconds\n"));
        assert!(text.contains("1,train,0.5,,,0.01,,0.9,,,0.1,2.5"));
        assert_eq!(from_csv(&text).unwrap(), rows);
        assert!(String::from_utf8(to_csv(&[])).unwrap().starts_with("epoch,split,loss"));
    }
}
