//! Integration tests of the report crate: tiny models trained in temporary directories, then
//! their figures, files, TensorBoard logs, noise sweep and safetensors export checked.

mod common;
mod errors;
mod export;
mod report;
mod sweep;
mod times;
mod sweep_figures;
