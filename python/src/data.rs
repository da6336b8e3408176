//! `datasets.load`: a named set's splits as raw pixels and labels, found as `train` finds it (the
//! data home, then the project's `data/` from the working directory up) or downloaded into the
//! data home as `data fetch` does, its files checked against their published sha256 either way.

use std::path::PathBuf;

use mnist_data::{DataSource, NAMED_SETS, NamedSet, home};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;
use crate::wait::released;

/// The names `load_named_set` takes.
#[pyfunction]
pub fn named_sets() -> Vec<&'static str> {
    NAMED_SETS.iter().filter(|s| s.is_idx()).map(|s| s.name()).collect()
}

type SplitBytes<'py> = (Bound<'py, PyBytes>, Bound<'py, PyBytes>);

/// `((train_pixels, train_labels), (test_pixels, test_labels), (channels, rows, cols), dir)`:
/// the set `name`, downloaded first (when `download`) if it is nowhere on this machine.
#[pyfunction]
#[pyo3(signature = (name, download=true))]
pub fn load_named_set<'py>(py: Python<'py>, name: &str, download: bool) -> PyResult<(SplitBytes<'py>, SplitBytes<'py>, (usize, usize, usize), String)> {
    let set = NamedSet::from_name(name).filter(|s| s.is_idx()).ok_or_else(|| {
        PyValueError::new_err(format!("unknown data set {name:?}; expected one of {}", named_sets().join(", ")))
    })?;
    let (dataset, dir) = released(py, move || {
        let roots: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
        let dir = match home::locate(set, &roots) {
            Ok(dir) => dir,
            Err(missing) if !download => return Err(errors::data(missing)),
            Err(_) => {
                let target = home::data_home().ok_or_else(|| PyValueError::new_err("no data home: set the MNIST_BURN_DATA environment variable to a folder"))?;
                let mirror = std::env::var(mnist_fetch::MIRROR_ENV).ok().filter(|m| !m.is_empty());
                let plan = mnist_fetch::plan(set, &target, mirror.as_deref());
                mnist_fetch::fetch(&plan, mnist_fetch::Progress::Bar).map_err(|e| errors::EngineError::new_err(errors::one_line(&e)))?;
                plan.dest.clone()
            }
        };
        let dataset = DataSource { dir: dir.clone(), verify: Some(set) }.load().map_err(errors::data)?;
        Ok((dataset, dir))
    })?;
    let (train, test) = (&dataset.train, &dataset.test);
    let shape = (train.channels, train.rows, train.cols);
    Ok((
        (PyBytes::new(py, &train.pixels), PyBytes::new(py, &train.labels)),
        (PyBytes::new(py, &test.pixels), PyBytes::new(py, &test.labels)),
        shape,
        dir.display().to_string(),
    ))
}
