//! The `flex` max-pooling kernel (`pool`) against Burn's own `MaxPool2d`: same outputs and
//! same input gradients over window sizes, `same`/`valid` padding (a window hanging over the
//! edge takes its real pixels only) and plane sizes, tracked and untracked.

use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2dConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use mnist_flex_kernels::pool::{self, PoolGeometry};

use crate::common::{assert_close, irregular, values};

/// The output and the gradient of `sum(y · g)` with respect to `x`, for a fixed irregular `g`.
fn output_and_grad(x: &Tensor<4>, f: impl Fn(Tensor<4>) -> Tensor<4>) -> (Vec<f32>, Vec<f32>) {
    let x = x.clone().require_grad();
    let y = f(x.clone());
    let g = irregular(y.dims(), &y.device());
    let gradients = (y.clone() * g).sum().backward();
    (
        values(y),
        values(x.grad(&gradients).expect("input gradient")),
    )
}

#[test]
fn max_pooling_matches_burn_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    // (channels, height, width, size, same padding): the seed CNN's 24 → 8, the conv AE's
    // 28 → 14 → 7 → 4 (`same` pads 7 to 8 at the end), the speedrun's 24 → 12 and 10 → 5 (the
    // 2×2 fast path, also with an odd row and column left out), and odd shapes.
    let cases = [
        (4, 24, 24, 3, false),
        (3, 28, 28, 2, true),
        (5, 7, 7, 2, true),
        (2, 7, 9, 3, true),
        (2, 10, 7, 3, false), // the last row and columns fall outside every window
        (1, 5, 5, 1, false),
        (3, 24, 24, 2, false),
        (2, 10, 10, 2, false),
        (2, 9, 11, 2, false),
    ];
    let (mut cut, mut kept) = (0, 0);
    for (channels, h, w, size, same) in cases {
        let what = format!("pool c{channels} {h}x{w} k{size} same={same}");
        let x = Tensor::<4>::random([2, channels, h, w], Distribution::Normal(0.0, 1.0), &device);
        // Ties, which must go to the first element of a window in both: half the values clamped
        // to 0 (as after a ReLU).
        let x = x.clamp_min(0.0);
        let burn_padding = if same {
            PaddingConfig2d::Same
        } else {
            PaddingConfig2d::Valid
        };
        let module = MaxPool2dConfig::new([size, size])
            .with_strides([size, size])
            .with_padding(burn_padding)
            .init();
        // TensorFlow's `same`: the odd extra row/column at the end.
        let pad = |n: usize| {
            let total = if same {
                (n.div_ceil(size) * size).saturating_sub(n)
            } else {
                0
            };
            [total / 2, total - total / 2]
        };
        let geometry = PoolGeometry {
            kernel: [size, size],
            stride: [size, size],
            padding: [pad(h), pad(w)],
        };
        let fast = output_and_grad(&x, |x| {
            pool::max_pool2d(&x, geometry).expect("the fast path must be the one under test")
        });
        let burn = output_and_grad(&x, |x| module.forward(x));
        // Both pick the same element of each window: equal, not merely close.
        assert_close(&fast.0, &burn.0, 0.0, &format!("{what}: output"));
        assert_close(&fast.1, &burn.1, 0.0, &format!("{what}: input gradient"));
        // With a ReLU folded in: Burn's ReLU, then its pooling. Shifted down by 1, about a
        // sixth of the inputs stay positive, so some whole windows are cut to 0 (their gradient
        // stopped) and others are not.
        let x_signed = x.clone() - 1.0;
        let fused = output_and_grad(&x_signed, |x| {
            pool::max_pool2d_relu(&x, geometry).expect("the fused path must be the one under test")
        });
        let burn_relu = output_and_grad(&x_signed, |x| module.forward(burn::tensor::activation::relu(x)));
        assert_close(&fused.0, &burn_relu.0, 0.0, &format!("{what}: relu output"));
        assert_close(&fused.1, &burn_relu.1, 0.0, &format!("{what}: relu input gradient"));
        cut += fused.0.iter().filter(|&&v| v == 0.0).count();
        kept += fused.0.iter().filter(|&&v| v > 0.0).count();
        // Inference (no autodiff) gives the same output.
        let plain = pool::max_pool2d(&x.clone().inner(), geometry).expect("flex");
        assert_close(
            &values(plain),
            &burn.0,
            0.0,
            &format!("{what}: untracked output"),
        );
    }
    assert!(cut > 100 && kept > 100, "the ReLU cut {cut} windows and kept {kept}: both must occur");
}

#[test]
fn windows_that_do_not_fit_fall_back() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 1, 2, 2], &device);
    let too_big = PoolGeometry {
        kernel: [3, 3],
        stride: [3, 3],
        padding: [[0, 0], [0, 0]],
    };
    assert!(pool::max_pool2d(&x, too_big).is_none());
    // A window could lie entirely in the padding: no max to take.
    let all_padding = PoolGeometry {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [[2, 0], [0, 0]],
    };
    assert!(pool::max_pool2d(&x, all_padding).is_none());
}
