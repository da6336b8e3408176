//! Applying a trained run to images: what a run answers about one image ([`Answer`], shared by
//! `predict` and `serve`'s playground), `predict` on image files, the noise sweep (a denoiser
//! feeding a classifier, per noise level) and `export` (the weights as safetensors in PyTorch's
//! layouts, with the `num_batches_tracked` counters PyTorch's batch normalizations keep).
//!
//! Owns: the per-image answer and its computation (`answer`), the one preparation of a user's
//! picture of a digit (`digit`: polarity, paper level, contrast, fit and centre as MNIST), `predict` (`predict`), the noise
//! sweep's numbers, CSV and table (`noise_sweep`; its figure is drawn by `mnist-report` from plain
//! rows), safetensors export (`export`, `batch_norm_export`) and their error type (`error`).
//! `predict`, `noise-sweep`, `export` and `serve` use it.
//!
//! May import: `mnist-config`, `mnist-data`, `mnist-models`, `mnist-runs`, and `mnist-report`
//! (device read-back and grey-level helpers, the noise sweep's figure). Never the trainer, nor
//! `serve`; `mnist-report` never imports this crate.

pub mod answer;
pub mod batch_norm_export;
pub mod digit;
pub mod error;
pub mod export;
pub mod noise_sweep;
pub mod predict;

pub use answer::{Answer, ClassProbability, Output, answer_drawing, answer_images};
pub use error::InferenceError;
pub use export::{ExportOutcome, ExportedTensor, export_run, save_safetensors};
pub use noise_sweep::{NoiseSweepKind, NoiseSweepOptions, NoiseSweepOutcome, NoiseSweepRow, run_noise_sweep};
pub use predict::{PredictOptions, predict};
