//! Integration tests of the report crate: tiny models trained in temporary directories, then
//! their figures, files and TensorBoard logs checked.

mod common;
mod denoiser_classifier;
mod errors;
mod report;
mod times;
mod sweep_figures;
