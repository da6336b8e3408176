//! Integration tests of the inference crate: tiny models trained in temporary directories, then
//! their safetensors export and the noise sweep through a denoiser and a classifier checked.

mod common;
mod export;
mod noise_sweep;
