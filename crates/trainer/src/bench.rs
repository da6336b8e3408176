//! Training-throughput benchmark of one experiment: warm-up steps, then a fixed number of timed
//! optimizer steps with the config's batch size on real MNIST batches already on the device. On a
//! GPU backend it also counts the kernels each step launches and times the start-up.

use std::collections::BTreeMap;
use std::time::Instant;

use mnist_data::derive_seed;
use serde::Serialize;

use mnist_backend::Backend;
use mnist_config::Experiment;
use mnist_runs::data::prepare;
use mnist_runs::evaluate::objective;

use crate::TrainError;
use crate::train::train_step;

/// One benchmark line.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The config's name (its file stem).
    pub model: String,
    /// The model kind.
    pub kind: String,
    /// Backend name.
    pub device: String,
    /// The device as Burn describes it (adapter on GPUs).
    pub adapter: String,
    /// Samples per step.
    pub batch_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Training samples per second, steady state.
    pub samples_per_s: f64,
    /// Milliseconds per step, steady state.
    pub ms_per_step: f64,
    /// Peak resident memory of the process so far, MiB (Linux; 0 elsewhere).
    pub peak_rss_mb: f64,
    /// Seconds from [`BenchOptions::started`] (the process's start) to the end of the first
    /// warm-up step: data loading, model set-up and, on a GPU, kernel compilation and autotuning
    /// of that step's kernels (absent without warm-up steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_step_s: Option<f64>,
    /// GPU kernels launched per timed step (absent on the CPU backends), from CubeCL's launch hook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels_per_step: Option<f64>,
    /// With [`BenchOptions::profile`]: kernels launched per timed step, by kernel name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels: Option<BTreeMap<String, f64>>,
    /// On a GPU backend, what the GPU cache holds once the steps are done (its sessions and
    /// entries per namespace): a process that found everything there adds nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_cache: Option<mnist_backend::gpu_cache::Contents>,
}

/// How to benchmark.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Untimed steps first (compilation, autotuning, allocations).
    pub warmup: usize,
    /// Timed steps.
    pub steps: usize,
    /// Also report the kernels of a step by name.
    pub profile: bool,
    /// When the process started, for [`BenchResult::first_step_s`].
    pub started: Instant,
}

/// Peak resident set size of this process in MiB, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Trains `experiment`'s model for `options.warmup` untimed and `options.steps` timed steps on
/// `backend`.
pub fn bench(name: &str, experiment: &Experiment, backend: Backend, options: BenchOptions) -> Result<BenchResult, TrainError> {
    let BenchOptions { warmup, steps, profile, started } = options;
    let c = experiment.config();
    let t = &c.training;
    let device = backend.device()?;
    device.seed(c.experiment.seed);
    let data = prepare(experiment, &device, None)?;
    let mut model = c.model.init(&device.clone().autodiff());
    let mut optim = crate::optimizer::build(&t.optimizer);
    let objective = objective(c);
    let mut batches = data.train.batches(t.batch_size, Some(derive_seed(c.experiment.seed, "bench", 0)));
    let mut next_batch = || {
        batches.next().unwrap_or_else(|| {
            // Epoch boundary: start over (the permutation upload is part of real training too).
            batches = data.train.batches(t.batch_size, Some(derive_seed(c.experiment.seed, "bench", 1)));
            batches.next().expect("the training split is not empty")
        })
    };
    let mut last = None;
    let mut first_step_s = None;
    for i in 0..warmup {
        let b;
        (model, b) = train_step(model, &mut optim, &objective, next_batch(), t.learning_rate, false);
        if i == 0 {
            let _: f32 = b.terms.total.clone().into_scalar();
            first_step_s = Some(started.elapsed().as_secs_f64());
        }
        last = Some(b.terms.total);
    }
    if let Some(loss) = last.take() {
        let _: f32 = loss.into_scalar();
    }
    let _ = device.sync();
    let gpu = backend.is_gpu();
    let counting = gpu.then(mnist_backend::launches::Counting::start);
    let start = Instant::now();
    let mut samples = 0;
    for _ in 0..steps {
        let batch = next_batch();
        samples += batch.len();
        let b;
        (model, b) = train_step(model, &mut optim, &objective, batch, t.learning_rate, false);
        last = Some(b.terms.total);
    }
    // Reading the last loss and syncing waits for every queued kernel.
    if let Some(loss) = last {
        let _: f32 = loss.into_scalar();
    }
    let _ = device.sync();
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let launches = counting.map(|c| c.finish());
    let per_step = |n: u64| n as f64 / steps.max(1) as f64;
    Ok(BenchResult {
        model: name.to_string(),
        kind: c.model.kind().to_string(),
        device: backend.name().to_string(),
        adapter: mnist_backend::describe(&device),
        batch_size: t.batch_size,
        steps,
        samples_per_s: samples as f64 / seconds,
        ms_per_step: seconds * 1000.0 / steps.max(1) as f64,
        peak_rss_mb: peak_rss_mb(),
        first_step_s,
        kernels_per_step: launches.as_ref().map(|l| per_step(l.total)),
        kernels: launches.filter(|_| profile).map(|l| l.by_kernel.into_iter().map(|(k, n)| (k, per_step(n))).collect()),
        gpu_cache: gpu.then(mnist_backend::gpu_cache::active_contents).and_then(Result::ok),
    })
}
