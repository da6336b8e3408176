//! Integration tests of the `flex` kernels, one binary (Burn links slowly): each kernel against
//! Burn's own op on the same inputs, in value and in gradients.

mod common;
mod conv;
mod linear;
mod pointwise;
mod pool;
