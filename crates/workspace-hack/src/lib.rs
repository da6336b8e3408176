//! Holds no code: its Cargo.toml gives shared dependencies the features that `cargo test
//! --workspace` resolves, so that a crate built alone (the Python extension) reuses that build.
