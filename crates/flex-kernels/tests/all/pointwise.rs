//! The `flex` sigmoid and summed BCE (`pointwise`): the polynomial `exp` and `ln(1 + e)`
//! against f64 over their whole ranges, the sigmoid's value and gradient against Burn's, and the
//! fused BCE sum against an f64 reference on sizes that exercise every chunk and lane split.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation;
use mnist_flex_kernels::pointwise::{self, exp, ln_1p_unit};

use crate::common::{assert_close, scalar, values};

#[test]
fn polynomial_exp_is_within_a_few_ulp_of_f64() {
    let mut worst = 0f64;
    for i in 0..=175_000 {
        let x = (-87.0 + i as f32 * 0.001).min(88.0);
        let want = (x as f64).exp();
        worst = worst.max(((exp(x) as f64) - want).abs() / want);
    }
    // 2⁻²³ ≈ 1.19e-7 is one ulp.
    assert!(worst < 3.0e-7, "worst relative error {worst:e}");
    // Saturated ends stay finite and ordered rather than wrapping.
    assert!(exp(-200.0) >= 0.0 && exp(-200.0) < 1e-37);
    assert!(exp(200.0).is_finite() && exp(200.0) > 1e38);
    assert_eq!(exp(0.0), 1.0);
}

#[test]
fn ln_1p_series_keeps_precision_down_to_tiny_arguments() {
    let mut worst = 0f64;
    let mut e = 1.0f32;
    while e > 1e-30 {
        for v in [e, e * 0.37, e * 0.71] {
            let want = (v as f64).ln_1p();
            worst = worst.max(((ln_1p_unit(v) as f64) - want).abs() / want);
        }
        e *= 0.5;
    }
    assert!(worst < 2.5e-7, "worst relative error {worst:e}");
    assert_eq!(ln_1p_unit(0.0), 0.0);
}

#[test]
fn sigmoid_matches_burn_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    // 3·5·7·11 elements: not a multiple of any lane or chunk width, plus the extremes.
    let mut x = values(Tensor::<4>::random([3, 5, 7, 11], Distribution::Normal(0.0, 8.0), &device));
    x[..6].copy_from_slice(&[-100.0, -30.0, -1e-4, 0.0, 30.0, 100.0]);
    let input = Tensor::<1>::from_floats(x.as_slice(), &device).reshape([3, 5, 7, 11]);
    let g = Tensor::<1, Int>::arange(0..x.len() as i64, &device).float().mul_scalar(0.1).cos().reshape([3, 5, 7, 11]);
    assert!(pointwise::runs_on(&input), "the fast path must be the one under test");
    let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let x = input.clone().require_grad();
        let y = f(x.clone());
        let grads = (y.clone() * g.clone()).sum().backward();
        (values(y), values(x.grad(&grads).unwrap()))
    };
    let (fast, fast_grad) = run(&|x| pointwise::sigmoid(&x).expect("flex"));
    let (burn, burn_grad) = run(&|x| activation::sigmoid(x));
    let exact: Vec<f32> = x.iter().map(|&v| (1.0 / (1.0 + (-(v as f64)).exp())) as f32).collect();
    assert_close(&fast, &exact, 3e-7, "sigmoid vs f64");
    assert_close(&fast, &burn, 3e-7, "sigmoid vs Burn's");
    assert_close(&fast_grad, &burn_grad, 1e-6, "sigmoid gradient vs Burn's");
    // Saturated: 1 exactly, and at most e⁻⁸⁸ (where `exp` clamps its argument) instead of e⁻¹⁰⁰.
    assert!(fast[5] == 1.0 && (0.0..1e-38).contains(&fast[0]), "saturation: {} {}", fast[0], fast[5]);
}

#[test]
fn fused_bce_sum_matches_an_f64_reference_on_every_split() {
    let device = Device::flex().autodiff();
    // 1,105 elements (a tail of 1 after the 8 lanes) and 31,360 (two rayon chunks).
    for shape in [[5, 1, 17, 13], [40, 1, 28, 28]] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 6.0), &device);
        let t = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
        let p = pointwise::sigmoid(&x).expect("flex");
        let x = x.require_grad();
        let sum = pointwise::bce_with_logits_sum(&x, &p, &t).expect("flex");
        let grads = sum.clone().backward();
        let (xs, ts, ps) = (values(x.clone()), values(t), values(p));
        let expected: f64 = xs
            .iter()
            .zip(&ts)
            .map(|(&x, &t)| {
                let (x, t) = (x as f64, t as f64);
                x.max(0.0) - t * x + (-x.abs()).exp().ln_1p()
            })
            .sum();
        let got = scalar(sum.inner()) as f64;
        assert!((got - expected).abs() < 2e-6 * expected, "{shape:?}: {got} vs {expected}");
        // d/dx Σ = p - t, exactly as computed from the forward sigmoid.
        let want: Vec<f32> = ps.iter().zip(&ts).map(|(p, t)| p - t).collect();
        assert_close(&values(x.grad(&grads).unwrap()), &want, 1e-7, "d sum / d logits");
    }
}

#[test]
fn fast_dropout_keeps_the_right_share_scales_it_and_routes_the_gradient_through_the_mask() {
    let device = Device::flex().autodiff();
    let n = 200_000;
    let ones = Tensor::<1>::ones([n], &device);
    assert!(pointwise::runs_on(&ones));
    let mask_of = |seed: u64| {
        device.seed(seed);
        let x = ones.clone().require_grad();
        let y = pointwise::dropout(&x, 0.3).expect("flex");
        let grads = y.clone().sum().backward();
        (values(y), values(x.grad(&grads).unwrap()))
    };
    let (y, dx) = mask_of(11);
    let keep = 1.0 / 0.7f32;
    // Kept elements are scaled by exactly 1 / (1 - p); the gradient is the same mask.
    assert!(y.iter().all(|&v| v == 0.0 || v == keep), "values other than 0 and 1/0.7");
    assert_eq!(y, dx, "gradient of sum(y) is the mask");
    let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    // 200,000 draws: one standard deviation of the share is 0.001.
    assert!((dropped - 0.3).abs() < 0.005, "dropped share {dropped}");
    // Neighbours are independent: both dropped about p² of the time.
    let both = y.windows(2).filter(|w| w[0] == 0.0 && w[1] == 0.0).count() as f64 / (n - 1) as f64;
    assert!((both - 0.09).abs() < 0.005, "both neighbours dropped {both}");
    // A fresh mask every call.
    assert_ne!(mask_of(12).0, y);
    // The mask is a pure function of the call's seed (drawn from the device's generator, so
    // `device.seed` repeats it in a single-threaded run; tests running in parallel share that
    // generator, so this checks the function itself).
    let mask = |seed: [u32; 2]| -> Vec<f32> {
        (0..1000).map(|i| pointwise::dropout_factor(seed, i, 0.7, keep)).collect()
    };
    assert_eq!(mask([3, 9]), mask([3, 9]));
    assert_ne!(mask([3, 9]), mask([3, 10]));
    assert_ne!(mask([3, 9]), mask([4, 9]));
}

#[test]
fn sum_of_squares_matches_f64_and_its_gradient_is_twice_the_input() {
    let device = Device::flex().autodiff();
    // 784 × 500 + 3: several chunks and a lane tail.
    let x = Tensor::<1>::random([392_003], Distribution::Normal(0.0, 0.05), &device).require_grad();
    assert!(pointwise::runs_on(&x));
    let sum = pointwise::sum_squares(&x).expect("flex").mul_scalar(0.5);
    let grads = sum.clone().backward();
    let xs = values(x.clone());
    let expected: f64 = xs.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() * 0.5;
    let got = scalar(sum.inner()) as f64;
    assert!((got - expected).abs() < 1e-6 * expected, "{got} vs {expected}");
    // d(0.5 Σ x²)/dx = x.
    assert_close(&values(x.grad(&grads).unwrap()), &xs, 1e-7, "gradient");
}
