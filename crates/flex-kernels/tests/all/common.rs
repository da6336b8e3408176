//! Helpers shared by the kernel tests.

use burn::prelude::*;

/// A fixed, irregular tensor of `dims` (`sin(0.37·i)` in order): a weighting of a layer's output
/// before a backward pass, so that every output element gets a different gradient.
pub fn irregular<const D: usize>(dims: [usize; D], device: &Device) -> Tensor<D> {
    let n = dims.iter().product::<usize>() as i64;
    Tensor::<1, Int>::arange(0..n, device).float().mul_scalar(0.37).sin().reshape(dims)
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
