//! Optimizers that Burn lacks (and Burn's Adam and SGD with a fused CPU update), written as Burn [`Optimizer`](burn::optim::Optimizer)s so they plug
//! into [`ModuleOptimizer`](burn::optim::ModuleOptimizer) and its burnpack save/load like Burn's own.

pub mod adadelta;
pub mod adam;
pub mod adamw;
pub mod nadam;
pub mod sgd;

/// The fused `flex` updates of Adam, Nadam and SGD (in `mnist-flex-kernels`, with the other
/// kernels); the optimizers here decide when to call them.
pub use mnist_flex_kernels::optim as cpu;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaState};
pub use adam::{FusedAdam, FusedAdamConfig};
pub use nadam::{Nadam, NadamConfig, NadamState};
pub use sgd::{FusedSgd, FusedSgdConfig};

/// Shared harness for the optimizer tests: a fixed `Linear(3, 2)` trained on a fixed least-squares
/// problem, with the same problem written in plain `f64` for the reference implementations.
#[cfg(test)]
pub(crate) mod testing {
    use burn::module::Param;
    use burn::nn::Linear;
    use burn::optim::{GradientsParams, LearningRate, ModuleOptimizer};
    use burn::prelude::*;

    /// Inputs, `[batch = 4, d_input = 3]`.
    const X: [[f64; 3]; 4] = [
        [0.5, -1.0, 2.0],
        [1.5, 0.25, -0.5],
        [-1.0, 0.75, 1.0],
        [0.2, -0.3, 0.4],
    ];
    /// Targets, `[batch = 4, d_output = 2]`.
    const T: [[f64; 2]; 4] = [[1.0, -2.0], [0.5, 0.0], [-1.5, 1.0], [2.0, 0.5]];
    /// Initial weight, `[d_input = 3, d_output = 2]` (Burn's `Linear` computes `x W + b`).
    const W0: [[f64; 2]; 3] = [[0.8, -0.6], [0.35, 1.2], [-0.9, 0.45]];
    /// Initial bias, `[d_output = 2]`.
    const B0: [f64; 2] = [0.3, -0.7];

    /// Number of scalar parameters: the 6 weights then the 2 biases.
    pub(crate) const N_PARAMS: usize = 8;

    /// An element-wise optimizer written in plain `f64`, applied to the flat parameter vector.
    pub(crate) trait Reference {
        /// One update of `params` (in place) given `grads` of the same length.
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]);
    }

    /// The autodiff CPU device the tests run on.
    pub(crate) fn device() -> Device {
        Device::flex().autodiff()
    }

    /// The `Linear(3, 2)` with the fixed initial parameters.
    pub(crate) fn linear(device: &Device) -> Linear {
        let w: Vec<f32> = W0.iter().flatten().map(|&v| v as f32).collect();
        let b: Vec<f32> = B0.iter().map(|&v| v as f32).collect();
        Linear {
            weight: Param::from_data(TensorData::new(w, [3, 2]), device),
            bias: Some(Param::from_data(TensorData::new(b, [2]), device)),
        }
    }

    /// The initial parameters, flattened (weights row-major, then biases).
    pub(crate) fn initial_params() -> Vec<f64> {
        W0.iter().flatten().chain(B0.iter()).copied().collect()
    }

    /// The least-squares loss `0.5 * sum((x W + b - t)^2)` of the model, on the tape.
    pub(crate) fn loss(model: &Linear, device: &Device) -> Tensor<1> {
        let x: Vec<f32> = X.iter().flatten().map(|&v| v as f32).collect();
        let t: Vec<f32> = T.iter().flatten().map(|&v| v as f32).collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [4, 3]), device);
        let t = Tensor::<2>::from_data(TensorData::new(t, [4, 2]), device);
        (model.forward(x) - t).square().sum().mul_scalar(0.5)
    }

    /// The loss value, read back.
    pub(crate) fn loss_value(model: &Linear, device: &Device) -> f64 {
        f64::from(loss(model, device).into_scalar::<f32>())
    }

    /// The gradients of [`loss`] for the model's parameters.
    pub(crate) fn grads(model: &Linear, device: &Device) -> GradientsParams {
        GradientsParams::from_grads(loss(model, device).backward(), model)
    }

    /// The model's parameters, flattened like [`initial_params`].
    pub(crate) fn params(model: &Linear) -> Vec<f64> {
        let mut out: Vec<f64> = model
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        let bias = model.bias.as_ref().unwrap().val().into_data();
        out.extend(bias.try_to_vec::<f32>().unwrap().into_iter().map(f64::from));
        out
    }

    /// The gradient of the least-squares loss at `params`, in `f64`.
    pub(crate) fn reference_grads(params: &[f64]) -> Vec<f64> {
        let w = |i: usize, j: usize| params[i * 2 + j];
        let mut g = vec![0.0; N_PARAMS];
        for (x, t) in X.iter().zip(T.iter()) {
            for (j, &target) in t.iter().enumerate() {
                let y: f64 = x.iter().enumerate().map(|(i, &xi)| xi * w(i, j)).sum();
                let r = y + params[6 + j] - target;
                for (i, &xi) in x.iter().enumerate() {
                    g[i * 2 + j] += xi * r;
                }
                g[6 + j] += r;
            }
        }
        g
    }

    /// Take `steps` steps with `optim` on the Burn model and with `reference` on the `f64`
    /// parameters, checking after every step that each parameter agrees within a relative
    /// `1e-5`, and that each parameter's displacement from its start agrees within a relative
    /// `1e-3` (so a small but wrong update cannot hide behind the size of the parameter).
    pub(crate) fn assert_matches_reference(
        mut optim: ModuleOptimizer,
        mut reference: impl Reference,
        lr: LearningRate,
        steps: usize,
    ) {
        let device = device();
        let mut model = linear(&device);
        let start = initial_params();
        let mut expected = start.clone();

        for step in 1..=steps {
            let g = reference_grads(&expected);
            reference.step(lr, &mut expected, &g);
            let grads = grads(&model, &device);
            model = optim.step(lr, model, grads);

            let actual = params(&model);
            for (k, ((&a, &e), &s)) in actual.iter().zip(&expected).zip(&start).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * e.abs(),
                    "step {step}, parameter {k}: got {a}, reference {e}"
                );
                let (da, de) = (a - s, e - s);
                assert!(
                    (da - de).abs() <= 1e-3 * de.abs() + 1e-7,
                    "step {step}, parameter {k}: moved {da}, reference moved {de}"
                );
            }
        }
    }

    /// Check that the optimizer state survives a burnpack file round trip: after `warmup` steps
    /// the state is saved and loaded into a fresh optimizer from `create`, and the next step
    /// taken by the reloaded optimizer equals the one taken by the original. Also checks that a
    /// fresh optimizer without the state would have stepped differently, so the comparison means
    /// something, and that the record holds `tensors_per_param` tensors for each of the two
    /// parameters.
    pub(crate) fn assert_state_round_trips(
        create: impl Fn() -> ModuleOptimizer,
        lr: LearningRate,
        warmup: usize,
        tensors_per_param: usize,
    ) {
        let device = device();
        let mut model = linear(&device);
        let mut original = create();
        for _ in 0..warmup {
            let g = grads(&model, &device);
            model = original.step(lr, model, g);
        }
        assert_eq!(original.to_record().len(), 2 * tensors_per_param);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.bpk");
        original.save(&path).unwrap();
        let mut reloaded = create().load(&path).unwrap();
        let bytes = original.into_bytes().unwrap();
        let mut from_bytes = create().from_bytes(bytes).unwrap();
        let mut fresh = create();

        let expected = params(&original.step(lr, model.clone(), grads(&model, &device)));
        let actual = params(&reloaded.step(lr, model.clone(), grads(&model, &device)));
        let actual_bytes = params(&from_bytes.step(lr, model.clone(), grads(&model, &device)));
        let without_state = params(&fresh.step(lr, model.clone(), grads(&model, &device)));

        for (k, ((&e, &a), &b)) in expected.iter().zip(&actual).zip(&actual_bytes).enumerate() {
            assert!(
                (e - a).abs() <= 1e-7,
                "parameter {k}: original {e}, reloaded from file {a}"
            );
            assert!(
                (e - b).abs() <= 1e-7,
                "parameter {k}: original {e}, reloaded from bytes {b}"
            );
        }
        let max_gap = expected
            .iter()
            .zip(&without_state)
            .map(|(e, w)| (e - w).abs())
            .fold(0.0, f64::max);
        assert!(
            max_gap > 1e-5,
            "a fresh optimizer stepped like the restored one (gap {max_gap}); the test is void"
        );
    }

    /// Take `steps` steps and return the loss before the first and after each step.
    pub(crate) fn loss_curve(
        mut optim: ModuleOptimizer,
        lr: LearningRate,
        steps: usize,
    ) -> Vec<f64> {
        let device = device();
        let mut model = linear(&device);
        let mut curve = vec![loss_value(&model, &device)];
        for _ in 0..steps {
            let g = grads(&model, &device);
            model = optim.step(lr, model, g);
            curve.push(loss_value(&model, &device));
        }
        curve
    }
}
