//! A saved run, loaded once and kept: its model answers numpy arrays (`predict`, `encode`,
//! `decode`, `reconstruct`), evaluates a split as `eval` does, exports its weights as `export`
//! does and draws its figures as `report` does.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use mnist_data::images_tensor;
use mnist_models::Task;
use mnist_report::tensors::{decode_all, probabilities_all, read_f32, reconstruct_all, to_grey};
use mnist_runs::evaluate::{Code, EVAL_BATCH};
use mnist_runs::{EvalSplit, LoadedRun};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays::{Dtype, normalized, to_bytes, values};
use crate::errors;
use crate::wait::released;

/// A run loaded for use from Python.
#[pyclass(frozen, module = "mnist_burn._native")]
pub struct NativeRun {
    /// The model and what it needs; behind a lock so the interpreter can be released while it
    /// computes (the lock is never contended: calls on one run come one at a time).
    run: Mutex<LoadedRun>,
    /// The checkpoint asked for (`best`, `last` or a path), for export and report.
    checkpoint: String,
    /// The backend asked for.
    device: Option<String>,
}

/// Loads the run in `dir` from its `checkpoint` (`last`, `best` or a checkpoint directory).
#[pyfunction]
#[pyo3(signature = (dir, checkpoint="last".to_string(), device=None))]
pub fn load_run(py: Python<'_>, dir: PathBuf, checkpoint: String, device: Option<String>) -> PyResult<NativeRun> {
    let c = checkpoint.clone();
    let d = device.clone();
    let run = released(py, move || mnist_runs::load_run(&dir, &c, d.as_deref()).map_err(errors::load))?;
    Ok(NativeRun { run: Mutex::new(run), checkpoint, device })
}

/// `eval --json`'s object for the run in `dir`: the trial commands of a Python sweep use it.
#[pyfunction]
pub fn cli_eval_json(py: Python<'_>, dir: PathBuf) -> PyResult<String> {
    let run = load_run(py, dir.clone(), "last".into(), None)?;
    let metrics = run.evaluate(py, "test", false)?;
    let r = run.lock();
    let mut value: serde_json::Value = serde_json::from_str(&metrics).map_err(|e| errors::EngineError::new_err(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("run".into(), dir.display().to_string().into());
        obj.insert("checkpoint".into(), r.checkpoint.dir.display().to_string().into());
        obj.insert("epoch".into(), r.checkpoint.state.epoch.into());
        obj.insert("split".into(), "test".into());
        obj.insert("model".into(), r.experiment.config().model.kind().into());
    }
    Ok(value.to_string())
}

impl NativeRun {
    fn lock(&self) -> MutexGuard<'_, LoadedRun> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `n` images of the run's input shape as the model's normalized input tensor.
    fn images(run: &LoadedRun, bytes: &[u8], n: usize, dtype: &str) -> PyResult<burn::prelude::Tensor<4>> {
        let shape = run.info.input_shape;
        let pixels = normalized(bytes, Dtype::parse(dtype)?, n * shape.iter().product::<usize>(), &run.info.norm_stats)?;
        Ok(images_tensor(pixels, n, shape, &run.device))
    }
}

fn report_error(e: mnist_report::ReportError) -> PyErr {
    errors::report(e)
}

#[pymethods]
impl NativeRun {
    /// JSON of what the Python layer needs to know: the run directory, the resolved config, the
    /// input shape, the task, class names, the checkpoint and its epoch, the latent width.
    fn info_json(&self) -> String {
        let r = self.lock();
        let c = r.experiment.config();
        serde_json::json!({
            "dir": r.run.path().display().to_string(),
            "config": c,
            "input_shape": r.info.input_shape,
            "task": match c.model.task() { Task::Classifier => "classifier", _ => "autoencoder" },
            "kind": c.model.kind(),
            "classes": r.info.classes,
            "checkpoint": r.checkpoint.dir.display().to_string(),
            "epoch": r.checkpoint.state.epoch,
            "latent_dim": c.model.latent_dim_for(r.info.input_shape),
            "samples_code": r.model.samples_code(),
            "backend": r.backend.name(),
            "finished": r.info.finished,
            "norm_stats": r.info.norm_stats,
        })
        .to_string()
    }

    /// The metrics of a split (`test` or `validation`) as JSON, as `eval --json` prints them.
    #[pyo3(signature = (split="test", mean_code=false))]
    fn evaluate(&self, py: Python<'_>, split: &str, mean_code: bool) -> PyResult<String> {
        let split = match split {
            "test" => EvalSplit::Test,
            "validation" => EvalSplit::Validation,
            other => return Err(PyValueError::new_err(format!("split={other:?}: expected \"test\" or \"validation\""))),
        };
        released(py, || {
            let r = self.lock();
            if mean_code && !r.model.samples_code() {
                return Err(PyValueError::new_err(format!("mean_code=True applies to VAEs, which sample their code; this run is a {}", r.experiment.config().model.kind())));
            }
            let data = r.data().map_err(errors::load)?;
            let metrics = r.evaluate_code(&data, split, if mean_code { Code::Mean } else { Code::Sampled });
            serde_json::to_string(&metrics).map_err(|e| errors::EngineError::new_err(e.to_string()))
        })
    }

    /// Classifiers: the probability of each class of `n` images, `n × classes` float32 bytes.
    fn probabilities<'py>(&self, py: Python<'py>, images: &[u8], n: usize, dtype: &str) -> PyResult<(Bound<'py, PyBytes>, usize)> {
        let (bytes, classes) = released(py, || {
            let r = self.lock();
            // No images: one blank one tells the number of classes, so the result is `(0, classes)`.
            let input = if n == 0 { Self::images(&r, &vec![0; r.info.input_shape.iter().product()], 1, "uint8")? } else { Self::images(&r, images, n, dtype)? };
            let mut probs = probabilities_all(&r.model, &input).map_err(report_error)?.ok_or_else(|| PyValueError::new_err("this run is an autoencoder; it has no classes to predict (use reconstruct or encode)"))?;
            let classes = probs.first().map_or(0, Vec::len);
            probs.truncate(n);
            Ok((to_bytes(&probs.concat()), classes))
        })?;
        Ok((PyBytes::new(py, &bytes), classes))
    }

    /// Autoencoders: the code of `n` images (VAE: its mean), `n × latent` float32 bytes.
    fn encode<'py>(&self, py: Python<'py>, images: &[u8], n: usize, dtype: &str) -> PyResult<(Bound<'py, PyBytes>, usize)> {
        let (bytes, dim) = released(py, || {
            let r = self.lock();
            let input = Self::images(&r, images, n, dtype)?;
            let (mut codes, mut dim) = (Vec::new(), r.experiment.config().model.latent_dim_for(r.info.input_shape).unwrap_or(0));
            for start in (0..n).step_by(EVAL_BATCH) {
                let len = EVAL_BATCH.min(n - start);
                let code = r.model.encode(input.clone().narrow(0, start, len)).ok_or_else(|| PyValueError::new_err("this run is a classifier; it has no code (use predict)"))?;
                dim = code.dims()[1];
                codes.extend(read_f32(code, "codes").map_err(report_error)?);
            }
            Ok((to_bytes(&codes), dim))
        })?;
        Ok((PyBytes::new(py, &bytes), dim))
    }

    /// Autoencoders: `n` codes of width `dim` (float32 bytes) decoded into images, grey levels in
    /// [0, 1], `n × channels × height × width` float32 bytes.
    fn decode<'py>(&self, py: Python<'py>, codes: &[u8], n: usize, dim: usize) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = released(py, || {
            let r = self.lock();
            let want = r.experiment.config().model.latent_dim_for(r.info.input_shape);
            if want.is_some_and(|w| w != dim) {
                return Err(PyValueError::new_err(format!("codes of width {dim}: this run's code has {} values per image", want.unwrap_or(0))));
            }
            let z = values(codes, Dtype::F32, n * dim, "codes")?;
            if let Some((i, x)) = z.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(PyValueError::new_err(format!("codes: value {x} at flat index {i}; expected finite numbers")));
            }
            let out = decode_all(&r.model, &z, dim, &r.device).map_err(report_error)?.ok_or_else(|| PyValueError::new_err("this run is a classifier; it has no decoder"))?;
            Ok(to_bytes(&to_grey(&out, &r.info.norm_stats)))
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Autoencoders: `n` images through the code and back (VAE: its mean), grey levels in [0, 1].
    fn reconstruct<'py>(&self, py: Python<'py>, images: &[u8], n: usize, dtype: &str) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = released(py, || {
            let r = self.lock();
            let input = Self::images(&r, images, n, dtype)?;
            let out = reconstruct_all(&r.model, &input).map_err(report_error)?.ok_or_else(|| PyValueError::new_err("this run is a classifier; it has no reconstruction (use predict)"))?;
            Ok(to_bytes(&to_grey(&out, &r.info.norm_stats)))
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the weights to `out` as `export` does (safetensors, PyTorch's layout, and the JSON
    /// beside it); returns the tensor names in the file.
    fn export(&self, py: Python<'_>, out: PathBuf) -> PyResult<Vec<String>> {
        let dir = self.lock().run.path().to_path_buf();
        let (checkpoint, device) = (self.checkpoint.clone(), self.device.clone());
        released(py, move || {
            let outcome = mnist_inference::export::export_run(&dir, &checkpoint, &out, device.as_deref()).map_err(errors::inference)?;
            Ok(outcome.tensors.into_iter().map(|t| t.name).collect())
        })
    }

    /// Draws the run's figures as `report` does; returns the paths written (figures, then the
    /// other files, the TensorBoard file and the HTML page).
    #[pyo3(signature = (manifold_range=4.0, html=true, tensorboard=true))]
    fn report(&self, py: Python<'_>, manifold_range: f32, html: bool, tensorboard: bool) -> PyResult<Vec<String>> {
        if !(manifold_range.is_finite() && manifold_range > 0.0) {
            return Err(PyValueError::new_err(format!("manifold_range={manifold_range}: expected a number > 0")));
        }
        let dir = self.lock().run.path().to_path_buf();
        let opts = mnist_report::ReportOptions { checkpoint: self.checkpoint.clone(), device: self.device.clone(), manifold_range, html, tensorboard, ..Default::default() };
        released(py, move || {
            let outcome = mnist_report::generate_report(&dir, &opts).map_err(report_error)?;
            let mut paths: Vec<String> = outcome.figures.iter().map(|f| f.path.display().to_string()).collect();
            paths.extend(outcome.files.iter().map(|p| p.display().to_string()));
            paths.extend(outcome.tensorboard.iter().chain(outcome.html.iter()).map(|p| p.display().to_string()));
            Ok(paths)
        })
    }
}
