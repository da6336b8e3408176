//! An exponential moving average of a model's weights (`training.ema`, Keras' `use_ema`, timm's
//! `ModelEma`): updated after every optimizer step, and the model that validation, the
//! checkpoints' `model.bpk` and the test use.
//!
//! The average covers every float tensor of the model, batch normalization's running statistics
//! included (as timm averages buffers), and is kept by the module path of each tensor, so an
//! average read from a checkpoint meets the model's tensors whatever parameter ids they carry.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use mnist_models::Model;

/// The averaged weights, flattened, on the device without autodiff.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    decay: f64,
    values: HashMap<String, Tensor<1>>,
}

impl WeightAverage {
    /// An average with `decay` per step that starts at the weights of its first
    /// [`update`](Self::update). It does not read the model before: Burn initializes parameters
    /// lazily, at their first use, so reading them before the first step would draw them from
    /// another state of the device's generator and change the training.
    pub fn new(decay: f64) -> Self {
        WeightAverage { decay, values: HashMap::new() }
    }

    /// An average that starts at `model`'s weights (a checkpoint's saved average), with `decay`
    /// per step.
    pub fn start(model: &Model, decay: f64) -> Self {
        let mut average = WeightAverage::new(decay);
        // A new average takes the weights of its first update, whatever the step.
        average.update(model, 1);
        average
    }

    /// The decay of the update after optimizer step `step` (1-based): warmed up as
    /// `min(decay, (1 + step) / (10 + step))`, TensorFlow's `ExponentialMovingAverage` with
    /// `num_updates`, so the early average is not held at the random initial weights.
    pub fn decay_at(&self, step: usize) -> f64 {
        let step = step as f64;
        self.decay.min((1.0 + step) / (10.0 + step))
    }

    /// `average = d * average + (1 - d) * weights` for every tensor of `model`, with `d` the
    /// decay after optimizer step `step` (1-based, the run's global step).
    pub fn update(&mut self, model: &Model, step: usize) {
        let decay = self.decay_at(step);
        let mut update = Update { path: Vec::new(), values: &mut self.values, decay };
        model.visit(&mut update);
    }

    /// `model` (any device) with its weights replaced by the average, on the device without
    /// autodiff: the model to evaluate and save.
    pub fn apply(&self, model: &Model) -> Model {
        model.valid().map(&mut Replace { path: Vec::new(), values: &self.values })
    }
}

/// The names of the modules entered down to the tensor being visited, joined by dots.
fn key(path: &[String]) -> String {
    path.join(".")
}

/// The flattened tensor of `param`, without autodiff.
fn flat<const D: usize>(param: &Param<Tensor<D>>) -> Tensor<1> {
    let value = param.val().inner();
    let n = value.shape().num_elements();
    value.reshape([n])
}

struct Update<'a> {
    path: Vec<String>,
    values: &'a mut HashMap<String, Tensor<1>>,
    decay: f64,
}

impl ModuleVisitor for Update<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let weights = flat(param);
        let average = match self.values.remove(&key(&self.path)) {
            Some(average) => average.mul_scalar(self.decay).add(weights.mul_scalar(1.0 - self.decay)),
            // The first update of a new average starts it at the weights.
            None => weights,
        };
        self.values.insert(key(&self.path), average);
    }
}

struct Replace<'a> {
    path: Vec<String>,
    values: &'a HashMap<String, Tensor<1>>,
}

impl ModuleMapper for Replace<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.values.get(&key(&self.path)) {
            Some(average) => param.map(|value| {
                let shape = value.shape();
                average.clone().reshape(shape)
            }),
            None => param,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnist_models::{MlpConfig, ModelConfig};

    fn weights(model: &Model) -> HashMap<String, Vec<f32>> {
        let values = WeightAverage::start(model, 0.5).values;
        values.into_iter().map(|(k, v)| (k, v.into_data().try_to_vec::<f32>().unwrap())).collect()
    }

    /// A small MLP with batch normalization, freshly initialized (each call draws other weights).
    fn mlp() -> Model {
        ModelConfig::Mlp(MlpConfig { hidden: vec![5], batch_norm: true, ..MlpConfig::default() }).init_for([1, 4, 4], &Device::flex())
    }

    #[test]
    fn the_average_follows_the_formula_for_every_tensor_running_statistics_included() {
        let (a, b) = (mlp(), mlp());
        let mut average = WeightAverage::start(&a, 0.9);
        // Step 100: the warm-up bound (101 / 110) is above 0.9, so the decay is 0.9.
        assert_eq!(average.decay_at(100), 0.9);
        average.update(&b, 100);
        let (wa, wb, got) = (weights(&a), weights(&b), weights(&average.apply(&a)));
        assert_eq!(got.len(), wa.len());
        // Weights, biases, and batch normalization's gamma, beta, running mean and variance.
        assert!(got.len() >= 8, "{:?}", got.keys());
        for (name, values) in &got {
            for (k, v) in values.iter().enumerate() {
                let expected = 0.9 * wa[name][k] + 0.1 * wb[name][k];
                assert!((v - expected).abs() <= 1e-6, "{name}[{k}]: {v}, expected {expected}");
            }
        }
        // The models differ, so the test compares something.
        assert!(wa.iter().any(|(name, v)| *v != wb[name]));
    }

    #[test]
    fn a_new_average_starts_at_the_weights_of_its_first_update() {
        let (a, b) = (mlp(), mlp());
        let mut average = WeightAverage::new(0.9);
        average.update(&b, 1);
        assert_eq!(weights(&average.apply(&a)), weights(&b));
        // The second update averages.
        average.update(&a, 100);
        let (wa, wb, got) = (weights(&a), weights(&b), weights(&average.apply(&a)));
        let name = got.keys().find(|name| wa[*name] != wb[*name]).expect("a tensor that differs");
        let expected = 0.9 * wb[name][0] + 0.1 * wa[name][0];
        assert!((got[name][0] - expected).abs() <= 1e-6, "{name}: {}, expected {expected}", got[name][0]);
    }

    #[test]
    fn the_decay_is_warmed_up_over_the_first_steps() {
        let average = WeightAverage::start(&mlp(), 0.999);
        assert!((average.decay_at(1) - 2.0 / 11.0).abs() < 1e-12);
        assert!((average.decay_at(90) - 91.0 / 100.0).abs() < 1e-12);
        assert_eq!(average.decay_at(1_000_000), 0.999);
    }

    #[test]
    fn applying_the_average_keeps_the_model_and_its_structure() {
        let (a, b) = (mlp(), mlp());
        let average = WeightAverage::start(&b, 0.5);
        let before = weights(&a);
        assert_ne!(before, weights(&b));
        // The average of b applied to a is b's weights in a's structure.
        assert_eq!(weights(&average.apply(&a)), weights(&b));
        // a itself is untouched.
        assert_eq!(weights(&a), before);
    }
}
