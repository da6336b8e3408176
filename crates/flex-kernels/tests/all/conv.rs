//! The `flex` convolution kernels (`conv`) against Burn's own `Conv2d` / `ConvTranspose2d`:
//! same outputs and same gradients for the input, the kernel and the bias, over strides,
//! `same`/`valid` padding (odd and even), kernel sizes and channel counts.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, s};
use mnist_flex_kernels::conv::{self, ConvGeometry};

use crate::common::{assert_close, irregular, values};

/// Keras' padding modes, as the models' layers use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Padding {
    Same,
    Valid,
}

/// Zero rows `[before, after]` of a convolution along one axis: `same` keeps `ceil(n / s)`
/// outputs and puts the odd row at the end, like TensorFlow.
fn conv_padding(padding: Padding, input: usize, kernel: usize, stride: usize) -> [usize; 2] {
    match padding {
        Padding::Same => {
            let output = input.div_ceil(stride);
            let total = ((output - 1) * stride + kernel).saturating_sub(input);
            [total / 2, total - total / 2]
        }
        Padding::Valid => [0, 0],
    }
}

/// What each case compares: the output and the gradients of `sum(output · g)` for a fixed,
/// irregular `g`, through the kernels and through Burn's module.
struct Grads {
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
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

/// A random bias of `n` values, so that the bias visibly enters both outputs.
fn random_bias(n: usize, device: &Device) -> Option<Param<Tensor<1>>> {
    Some(Param::from_tensor(Tensor::random([n], Distribution::Normal(0.0, 1.0), device)))
}

/// A batch of 3 random `size × size` inputs with `channels` channels.
fn input(channels: usize, size: usize, device: &Device) -> Tensor<4> {
    Tensor::random([3, channels, size, size], Distribution::Normal(0.0, 1.0), device)
}

/// Reads a module's kernel and bias gradients out of a backward pass.
fn param_grads<'a>(
    weight: &'a Param<Tensor<4>>,
    bias: &'a Option<Param<Tensor<1>>>,
) -> impl Fn(&burn::tensor::Gradients) -> (Tensor<4>, Tensor<1>) + Copy + 'a {
    move |g| {
        (
            weight.grad(g).expect("kernel gradient"),
            bias.as_ref().expect("modules have a bias").grad(g).expect("bias gradient"),
        )
    }
}

/// Burn's `Conv2d` with Keras' padding for `size × size` inputs (explicit, so that the odd
/// `same` row is at the end), a random bias, and the kernels' geometry for the same layer.
fn conv2d(
    channels: usize,
    size: usize,
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    device: &Device,
) -> (Conv2d, ConvGeometry) {
    let [begin, end] = conv_padding(padding, size, kernel, stride);
    let mut module = Conv2dConfig::new([channels, filters], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(begin, begin, end, end))
        .init(device);
    module.bias = random_bias(filters, device);
    let geometry = ConvGeometry {
        stride: [stride, stride],
        padding: [[begin, end], [begin, end]],
    };
    (module, geometry)
}

/// The kernels' convolution with `module`'s parameters.
fn fast_conv2d(module: &Conv2d, geometry: ConvGeometry, x: Tensor<4>) -> Tensor<4> {
    let bias = module.bias.as_ref().expect("bias").val();
    conv::conv2d(&x, module.weight.val(), bias, geometry).expect("the fast path")
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
        let (module, geometry) =
            conv2d(channels, size, filters, kernel, stride, padding, &device);
        let x = input(channels, size, &device);
        let params = param_grads(&module.weight, &module.bias);
        assert!(conv::runs_on(&x), "the fast path must be the one under test");
        let fast = grads(&x, |x| fast_conv2d(&module, geometry, x), params);
        let burn = grads(&x, |x| module.forward(x), params);
        let expected = match padding {
            Padding::Same => size.div_ceil(stride),
            Padding::Valid => (size - kernel) / stride + 1,
        };
        assert_eq!(fast.y.len(), 3 * filters * expected * expected, "{what}: output size");
        compare(fast, burn, &what);
    }
}

#[test]
fn transposed_convolution_matches_burn_in_value_and_gradients() {
    let device = Device::flex().autodiff();
    // (channels, size, filters, kernel, stride, padding)
    let cases: [(usize, usize, usize, usize, usize, Padding); 5] = [
        (4, 7, 3, 3, 2, Padding::Same), // odd excess: one row cropped at the end
        (3, 5, 2, 3, 1, Padding::Same),
        (2, 4, 3, 4, 2, Padding::Same), // even excess: symmetric
        (2, 5, 3, 3, 2, Padding::Valid),
        (64, 7, 32, 3, 2, Padding::Same),
    ];
    for (channels, size, filters, kernel, stride, padding) in cases {
        let what =
            format!("conv_t c{channels} {size}x{size} f{filters} k{kernel} s{stride} {padding:?}");
        // Keras' `same` output is `in * s`: of the full `(in - 1)·s + k`, `k - s` rows are
        // cropped, half at the start (Burn's padding), the odd one at the end.
        let excess = match padding {
            Padding::Same => kernel.saturating_sub(stride),
            Padding::Valid => 0,
        };
        let (symmetric, crop_end) = (excess / 2, excess % 2);
        let mut module: ConvTranspose2d =
            ConvTranspose2dConfig::new([channels, filters], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding([symmetric, symmetric])
                .init(&device);
        module.bias = random_bias(filters, &device);
        let x = input(channels, size, &device);
        let params = param_grads(&module.weight, &module.bias);
        let reference = |x: Tensor<4>| {
            let y = module.forward(x);
            let [_, _, h, w] = y.dims();
            y.slice(s![.., .., 0..h - crop_end, 0..w - crop_end])
        };
        let out = (size - 1) * stride + kernel - 2 * symmetric - crop_end;
        let geometry = ConvGeometry {
            stride: [stride, stride],
            padding: [[symmetric, symmetric + crop_end], [symmetric, symmetric + crop_end]],
        };
        let fast_path = |x: Tensor<4>| {
            let bias = module.bias.as_ref().expect("bias").val();
            conv::conv_transpose2d(&x, module.weight.val(), bias, geometry, [out, out])
                .expect("the fast path")
        };
        assert!(conv::runs_on(&x), "the fast path must be the one under test");
        let fast = grads(&x, fast_path, params);
        let burn = grads(&x, reference, params);
        let expected = match padding {
            Padding::Same => size * stride,
            Padding::Valid => (size - 1) * stride + kernel,
        };
        assert_eq!(fast.y.len(), 3 * filters * expected * expected, "{what}: output size");
        compare(fast, burn, &what);
    }
}

#[test]
fn untracked_inputs_run_the_fast_path_without_autodiff() {
    // Inference (`model.valid()`, plain `flex`) goes through the same kernels.
    let device = Device::flex();
    let (module, geometry) = conv2d(2, 6, 3, 3, 1, Padding::Same, &device);
    let x = Tensor::<4>::random([2, 2, 6, 6], Distribution::Normal(0.0, 1.0), &device);
    assert!(conv::runs_on(&x));
    assert_close(
        &values(fast_conv2d(&module, geometry, x.clone())),
        &values(module.forward(x)),
        1e-5,
        "inference output",
    );
}

#[test]
fn other_shapes_are_left_to_burn() {
    // A kernel wider than the padded input: the caller must fall back.
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 1, 3, 3], &device);
    let geometry = ConvGeometry { stride: [1, 1], padding: [[0, 0], [0, 0]] };
    let weight = Tensor::<4>::zeros([2, 1, 5, 5], &device);
    assert!(conv::conv2d(&x, weight, Tensor::zeros([2], &device), geometry).is_none());
}
