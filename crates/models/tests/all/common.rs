//! Helpers shared by the tests.

use burn::prelude::*;
use burn::tensor::Distribution;
use mnist_models::ModelConfig;

/// Parses the `[model]` table of a TOML document, as the trainer does.
pub fn parse(toml_text: &str) -> ModelConfig {
    #[derive(serde::Deserialize)]
    struct File {
        model: ModelConfig,
    }
    match toml::from_str::<File>(toml_text) {
        Ok(file) => file.model,
        Err(err) => panic!("config does not parse: {err}\n{toml_text}"),
    }
}

/// The error message of a TOML document that must not parse.
pub fn parse_error(toml_text: &str) -> String {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct File {
        model: ModelConfig,
    }
    match toml::from_str::<File>(toml_text) {
        Ok(file) => panic!("config parsed but should not: {file:?}"),
        Err(err) => err.to_string(),
    }
}

/// A batch of 2 random images in [0, 1].
pub fn images(device: &Device) -> Tensor<4> {
    Tensor::random([2, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device)
}

/// Reads a tensor back as a flat `Vec<f32>`.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap()
}

/// Reads a 1-element tensor back.
pub fn scalar(tensor: Tensor<1>) -> f32 {
    let values = values(tensor);
    assert_eq!(values.len(), 1, "expected a scalar");
    values[0]
}

/// Asserts two slices agree within `tol` relative to the largest magnitude (plus a tiny
/// absolute floor), reporting the worst element.
pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let (worst, i) = actual
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (a, e))| ((a - e).abs(), i))
        .fold((0f32, 0usize), |acc, x| if x.0 > acc.0 { x } else { acc });
    assert!(
        worst <= tol * scale,
        "{what}: element {i} differs: {} vs {} (scale {scale})",
        actual[i],
        expected[i]
    );
}
