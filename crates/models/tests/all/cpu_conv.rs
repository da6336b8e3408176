//! The `flex` convolution kernels (`cpu_conv`) against Burn's own `Conv2d` / `ConvTranspose2d`:
//! same outputs and same gradients for the input, the kernel and the bias, over strides,
//! `same`/`valid` padding (odd and even), kernel sizes and channel counts.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::{Distribution, s};
use mnist_models::cpu_conv;
use mnist_models::layers::{ConvBlock, ConvTransposeBlock};
use mnist_models::{Activation, ConvLayer, Padding};

use crate::common::{assert_close, irregular, values};

/// What each case compares: the block's output and the gradients of `sum(output · g)` for a
/// random `g`, through the fast path (`forward_linear`) and through Burn's module.
struct Grads {
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

fn layer(filters: usize, kernel_size: usize, stride: usize, padding: Padding) -> ConvLayer {
    ConvLayer {
        filters,
        kernel_size,
        stride,
        padding,
        activation: Activation::Linear,
        batch_norm: false,
        pool: 1,
    }
}

/// Runs `f` on `x` (tracked) and returns the output and the gradients of `sum(y · g)` with
/// respect to `x`, `weight` and `bias` (read through `params`).
fn grads<F, P>(x: &Tensor<4>, f: F, params: P) -> Grads
where
    F: Fn(Tensor<4>) -> Tensor<4>,
    P: Fn(&burn::tensor::Gradients) -> (Tensor<4>, Tensor<1>),
{
    let x = x.clone().require_grad();
    let y = f(x.clone());
    // A fixed, irregular `g`, the same for both paths.
    let g = irregular(y.dims(), &y.device());
    let gradients = (y.clone() * g).sum().backward();
    let (dw, db) = params(&gradients);
    Grads {
        y: values(y),
        dx: values(x.grad(&gradients).expect("input gradient")),
        dw: values(dw),
        db: values(db),
    }
}

fn compare(fast: Grads, burn: Grads, what: &str) {
    // Both sum the same products in different orders: agreement to float rounding, relative to
    // the largest element (a bias gradient sums hundreds of terms, hence 5e-5 and not 1e-6).
    let tol = 5e-5;
    assert_close(&fast.y, &burn.y, tol, &format!("{what}: output"));
    assert_close(&fast.dx, &burn.dx, tol, &format!("{what}: input gradient"));
    assert_close(&fast.dw, &burn.dw, tol, &format!("{what}: kernel gradient"));
    assert_close(&fast.db, &burn.db, tol, &format!("{what}: bias gradient"));
}

fn random_bias(block_bias: &mut Option<Param<Tensor<1>>>, device: &Device) {
    let bias = block_bias.take().expect("blocks have a bias");
    let n = bias.dims()[0];
    *block_bias = Some(Param::from_tensor(Tensor::random(
        [n],
        Distribution::Normal(0.0, 1.0),
        device,
    )));
}

/// A batch of 3 random `size × size` inputs with `channels` channels.
fn input(channels: usize, size: usize, device: &Device) -> Tensor<4> {
    Tensor::random([3, channels, size, size], Distribution::Normal(0.0, 1.0), device)
}

/// Reads a block's kernel and bias gradients out of a backward pass.
fn param_grads<'a>(
    weight: &'a Param<Tensor<4>>,
    bias: &'a Option<Param<Tensor<1>>>,
) -> impl Fn(&burn::tensor::Gradients) -> (Tensor<4>, Tensor<1>) + Copy + 'a {
    move |g| {
        (
            weight.grad(g).expect("kernel gradient"),
            bias.as_ref().expect("blocks have a bias").grad(g).expect("bias gradient"),
        )
    }
}

#[test]
fn convolution_matches_burn_in_value_and_gradients() {
    let device = Device::flex().autodiff();
    // (channels, size, filters, kernel, stride, padding)
    let cases = [
        (1, 28, 32, 3, 1, Padding::Valid),
        (3, 9, 4, 3, 1, Padding::Same),
        (2, 10, 5, 3, 2, Padding::Same), // odd total padding: the extra row at the bottom
        (2, 9, 3, 3, 2, Padding::Same),
        (3, 11, 2, 5, 2, Padding::Valid),
        (2, 8, 3, 4, 1, Padding::Same), // even kernel: asymmetric at stride 1
        (2, 7, 3, 2, 3, Padding::Same),
    ];
    for (channels, size, filters, kernel, stride, padding) in cases {
        let what =
            format!("conv c{channels} {size}x{size} f{filters} k{kernel} s{stride} {padding:?}");
        let mut block = ConvBlock::new(channels, &layer(filters, kernel, stride, padding), &device);
        random_bias(&mut block.conv.bias, &device);
        let x = input(channels, size, &device);
        let params = param_grads(&block.conv.weight, &block.conv.bias);
        assert!(
            cpu_conv::runs_on(&x),
            "the fast path must be the one under test"
        );
        let fast = grads(&x, |x| block.forward_linear(x), params);
        let burn = grads(&x, |x| block.conv.forward(x), params);
        assert_eq!(values(block.forward_linear(x.clone())).len(), fast.y.len());
        compare(fast, burn, &what);
    }
}

#[test]
fn transposed_convolution_matches_burn_in_value_and_gradients() {
    let device = Device::flex().autodiff();
    // (channels, size, filters, kernel, stride, padding)
    let cases = [
        (4, 7, 3, 3, 2, Padding::Same), // odd excess: one row cropped at the end
        (3, 5, 2, 3, 1, Padding::Same),
        (2, 4, 3, 4, 2, Padding::Same), // even excess: symmetric
        (2, 5, 3, 3, 2, Padding::Valid),
        (64, 7, 32, 3, 2, Padding::Same),
    ];
    for (channels, size, filters, kernel, stride, padding) in cases {
        let what =
            format!("conv_t c{channels} {size}x{size} f{filters} k{kernel} s{stride} {padding:?}");
        let mut block =
            ConvTransposeBlock::new(channels, &layer(filters, kernel, stride, padding), &device);
        random_bias(&mut block.conv.bias, &device);
        let x = input(channels, size, &device);
        let params = param_grads(&block.conv.weight, &block.conv.bias);
        // Burn's module, cropped at the end as the block does off `flex`.
        let reference = |x: Tensor<4>| {
            let y = block.conv.forward(x);
            let [_, _, h, w] = y.dims();
            y.slice(s![.., .., 0..h - block.crop_end, 0..w - block.crop_end])
        };
        assert!(
            cpu_conv::runs_on(&x),
            "the fast path must be the one under test"
        );
        let fast = grads(&x, |x| block.forward_linear(x), params);
        let burn = grads(&x, reference, params);
        let expected = match padding {
            Padding::Same => size * stride,
            Padding::Valid => (size - 1) * stride + kernel,
        };
        assert_eq!(
            fast.y.len(),
            3 * filters * expected * expected,
            "{what}: output size"
        );
        compare(fast, burn, &what);
    }
}

#[test]
fn untracked_inputs_run_the_fast_path_without_autodiff() {
    // Inference (`model.valid()`, plain `flex`) goes through the same kernels.
    let device = Device::flex();
    let block = ConvBlock::new(2, &layer(3, 3, 1, Padding::Same), &device);
    let x = Tensor::<4>::random([2, 2, 6, 6], Distribution::Normal(0.0, 1.0), &device);
    assert!(cpu_conv::runs_on(&x));
    assert_close(
        &values(block.forward_linear(x.clone())),
        &values(block.conv.forward(x)),
        1e-5,
        "inference output",
    );
}
