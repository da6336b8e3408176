//! `mnist_burn._native`: the engine's crates as a Python extension module. It calls the same
//! library functions as the command-line tools (never the tools themselves); the Python layer in
//! `py_src/mnist_burn` checks arrays, builds DataFrames and progress bars, and is what users import.
//!
//! What crosses the boundary is kept plain: paths and strings in, JSON text, raw little-endian
//! bytes and shapes out (numpy reads them without a copy through `frombuffer`). That keeps the
//! module on the stable ABI (abi3), where numpy's C API and the buffer protocol are not at hand.
//!
//! Long work (training, sweeps, evaluation, reports) runs with the interpreter released
//! ([`wait::run_released`]): other Python threads go on, and Ctrl-C stops it as it stops the CLI.

use pyo3::prelude::*;

mod arrays;
mod data;
mod digits;
mod errors;
mod run;
mod sweep;
mod train;
mod wait;

/// Training allocates and frees tens of megabytes per step; mimalloc keeps freed memory for
/// reuse, as in the command-line tools (see `mnist_cli::ALLOCATOR`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The engine's work runs on rayon's pool (as `mnist_cli::run_main` does), with the stack the
    // tools give it; fails only if the pool already exists, which then keeps its settings.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(8 << 20).build_global();
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(run::load_run, m)?)?;
    m.add_class::<run::NativeRun>()?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_named_set, m)?)?;
    m.add_function(wrap_pyfunction!(data::named_sets, m)?)?;
    m.add_function(wrap_pyfunction!(run::cli_eval_json, m)?)?;
    m.add_function(wrap_pyfunction!(digits::prepare_digits, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
