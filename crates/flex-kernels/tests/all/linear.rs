//! The fused `flex` dense layer (`linear`) against Burn's own `Linear`: same output and same
//! gradients for the input, the kernel and the bias, over sizes small and large enough for the
//! matrix products to be split over threads, with and without a tracked input.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use mnist_flex_kernels::linear;

use crate::common::{assert_close, irregular, values};

/// A `Linear(d_in, d_out)` with random kernel and bias (Burn's default bias would be zero-ish).
fn layer(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(d_in, d_out).init(device);
    layer.bias = Some(Param::from_tensor(Tensor::random(
        [d_out],
        Distribution::Normal(0.0, 1.0),
        device,
    )));
    layer
}

/// The output of `f` and the gradients of `sum(y · g)` for a fixed irregular `g`: with respect
/// to `x` (when `track_x`), the kernel and the bias.
fn run(
    layer: &Linear,
    x: &Tensor<2>,
    track_x: bool,
    f: impl Fn(Tensor<2>) -> Tensor<2>,
) -> [Option<Vec<f32>>; 4] {
    let x = if track_x {
        x.clone().require_grad()
    } else {
        x.clone()
    };
    let y = f(x.clone());
    let g = irregular(y.dims(), &y.device());
    let grads = (y.clone() * g).sum().backward();
    let bias = layer.bias.as_ref().expect("the layer has a bias");
    [
        Some(values(y)),
        x.grad(&grads).map(values),
        layer.weight.grad(&grads).map(values),
        bias.grad(&grads).map(values),
    ]
}

#[test]
fn fused_linear_matches_burn_in_value_and_gradients() {
    let device = Device::flex().autodiff();
    // (batch, d_in, d_out): tiny, odd, a VAE head, and the MLP 500-300's first layer, whose
    // products gemm spreads over threads.
    let cases = [(1, 3, 2), (3, 7, 5), (17, 64, 2), (128, 784, 500)];
    for (batch, d_in, d_out) in cases {
        for track_x in [true, false] {
            let what = format!("{batch}x{d_in} -> {d_out}, input tracked: {track_x}");
            let layer = layer(d_in, d_out, &device);
            let x = Tensor::<2>::random([batch, d_in], Distribution::Normal(0.0, 1.0), &device);
            let bias = layer.bias.as_ref().unwrap();
            let fused = |x: Tensor<2>| {
                linear::linear(&x, layer.weight.val(), bias.val())
                    .expect("flex takes the fused path")
            };
            let fast = run(&layer, &x, track_x, fused);
            let burn = run(&layer, &x, track_x, |x| layer.forward(x));
            let names = [
                "output",
                "input gradient",
                "kernel gradient",
                "bias gradient",
            ];
            for ((fast, burn), name) in fast.iter().zip(&burn).zip(names) {
                match (fast, burn) {
                    // Sums of up to 784 products in different orders: float rounding.
                    (Some(f), Some(b)) => assert_close(f, b, 2e-5, &format!("{what}: {name}")),
                    (None, None) => {}
                    _ => panic!("{what}: {name} present on one path only"),
                }
            }
            assert_eq!(fast[1].is_some(), track_x, "{what}: input gradient");
        }
    }
}

#[test]
fn fused_linear_takes_strided_inputs_and_runs_without_autodiff() {
    let device = Device::flex();
    let layer = layer(6, 4, &device);
    // A transposed view: not contiguous in memory.
    let x = Tensor::<2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device).transpose();
    let bias = layer.bias.as_ref().unwrap();
    let fused = linear::linear(&x, layer.weight.val(), bias.val()).expect("fused path");
    assert_close(
        &values(fused),
        &values(layer.forward(x)),
        1e-5,
        "inference output",
    );
}

#[test]
fn mismatched_shapes_are_left_to_burn() {
    let device = Device::flex();
    let x = Tensor::<2>::zeros([2, 3], &device);
    let weight = Tensor::<2>::zeros([4, 5], &device);
    assert!(linear::linear(&x, weight.clone(), Tensor::zeros([5], &device)).is_none());
    let weight = Tensor::<2>::zeros([3, 5], &device);
    assert!(linear::linear(&x, weight, Tensor::zeros([4], &device)).is_none());
}
