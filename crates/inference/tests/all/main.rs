//! Integration tests of the inference crate: tiny models trained in temporary directories, then
//! their safetensors export and the noise sweep through a denoiser and a classifier checked.

// The report tests' helpers (train a tiny run, decode a PNG), shared rather than copied.
#[path = "../../../report/tests/all/common.rs"]
#[allow(dead_code)]
mod common;
mod export;
mod noise_sweep;
