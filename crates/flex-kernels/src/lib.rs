//! Our CPU kernels for Burn's `flex` backend, each registered as a Burn backend extension with a
//! hand-written backward pass: convolutions, max pooling, dense layers, the element-wise passes
//! (sigmoid, BCE, dropout, the L2 sum of squares) and the fused optimizer updates. Every entry
//! point takes Burn tensors and returns `None` (or `false`) on any other device, where callers
//! keep Burn's own ops; so GPU builds never run this code. Knows nothing of models or training:
//! `mnist-models`' layers and `mnist-trainer`'s optimizers call in.
//!
//! Outputs and gradients match Burn's own ops to float rounding (`tests/all/`, and the unit
//! tests of the kernels and of [`optim`]); see the crate's README.
//!
//! May import: no workspace crate.

pub mod conv;
mod matmul;
pub mod linear;
pub mod optim;
pub mod pointwise;
pub mod pool;
mod shared;
