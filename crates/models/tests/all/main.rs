//! Integration tests of the models crate, one binary (Burn links slowly): every seed model's
//! shapes and parameter count, the losses against hand-computed values, the hand-derived
//! gradient check, dropout in training and evaluation, layer semantics and config errors.

mod common;
mod config_errors;
mod dropout;
mod gradient;
mod layers;
mod losses;
mod seeds;
