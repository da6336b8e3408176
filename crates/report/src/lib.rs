//! Pictures and reports from run directories: every figure of the seed notebooks as a PNG, PCA,
//! the noise sweep, TensorBoard event files, a self-contained HTML page and safetensors export.
//!
//! Entry points: [`generate_report`] (the `report` command), [`run_sweep`] (`sweep`) and
//! [`export_run`] (`export`). Figures are drawn with `plotters` into RGB buffers and encoded with
//! `image`; text uses a font embedded in the binary, so no system font is ever needed.

pub mod across_runs;
pub mod batch_norm_export;
pub mod canvas;
pub mod compare;
pub mod error;
pub mod export;
pub mod figures;
pub mod grid;
pub mod html;
pub mod pca;
pub mod plot;
pub mod predict;
pub mod report;
pub mod runfiles;
pub mod sweep;
pub mod svg;
pub mod sweep_figures;
pub mod tensors;
pub mod text;

/// TensorBoard event files (written by the trainer every epoch and rewritten by `report`).
pub use mnist_trainer::tensorboard;

pub use canvas::Png;
pub use error::ReportError;
pub use export::{ExportOutcome, ExportedTensor, export_run, save_safetensors};
pub use figures::{Figure, Output};
pub use pca::Pca;
pub use predict::{PredictOptions, Prediction, predict};
pub use report::{ReportOptions, ReportOutcome, generate_report};
pub use sweep::{SweepNoise, SweepOptions, SweepOutcome, SweepRow, run_sweep};
