//! Figures, HTML and PCA: every figure of the seed notebooks as a PNG (and the figures of sweeps
//! and of the noise sweep, from the numbers they are given), PCA, TensorBoard event files and a
//! self-contained HTML page, drawn from run directories.
//!
//! Entry point: [`generate_report`] (the `report` command). Figures are drawn with `plotters`
//! into RGB buffers and encoded with `image`; text uses a font embedded in the binary, so no
//! system font is ever needed.
//!
//! May import: `mnist-data`, `mnist-models`, `mnist-runs`. Never the trainer, nor
//! `mnist-inference` (which applies runs to images and draws the noise sweep through this crate).

pub mod across_runs;
pub mod canvas;
pub mod compare_figures;
pub mod error;
pub mod figures;
pub mod grey;
pub mod grid;
pub mod html;
pub mod pca;
pub mod plot;
pub mod report;
pub mod runfiles;
pub mod svg;
pub mod sweep_figures;
pub mod tensors;
pub mod text;

/// TensorBoard event files (written by the trainer every epoch and rewritten by `report`).
pub use mnist_runs::tensorboard;

pub use canvas::Png;
pub use error::ReportError;
pub use figures::{Figure, Output};
pub use pca::Pca;
pub use report::{ReportOptions, ReportOutcome, generate_report};
