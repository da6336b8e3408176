//! The losses against values computed by hand (or by independent f64 formulas).

use burn::prelude::*;
use mnist_models::{
    LossKind, Model, ModelOutput, Objective, bce_with_logits, correct_count, cross_entropy, cross_entropy_one_pass,
    cross_entropy_smoothed, kl_divergence, mse,
};

use crate::common::{assert_close, images, parse, scalar, values};
use crate::seeds::{HIDDEN_225_AE, MLP_64_64, SINGLE_LAYER_AE, VAE};

fn image4(values: [f32; 4], device: &Device) -> Tensor<4> {
    Tensor::<1>::from_floats(values, device).reshape([1, 1, 2, 2])
}

#[test]
fn mse_is_the_mean_of_squares() {
    let device = Device::flex();
    let pred = image4([0.0, 1.0, 2.0, 3.0], &device);
    let target = image4([1.0, 1.0, 1.0, 1.0], &device);
    // (1 + 0 + 1 + 4) / 4
    assert!((scalar(mse(pred, target)) - 1.5).abs() < 1e-6);
}

/// `-(t ln σ(x) + (1 - t) ln(1 - σ(x)))` straight from the definition, in f64.
fn bce_reference(x: f64, t: f64) -> f64 {
    let s = 1.0 / (1.0 + (-x).exp());
    -(t * s.ln() + (1.0 - t) * (1.0 - s).ln())
}

#[test]
fn bce_on_grey_targets() {
    let device = Device::flex();
    let logits = [0.0f32, 2.0, -1.0, 3.0];
    let targets = [0.5f32, 0.25, 0.9, 0.0];
    let loss = scalar(bce_with_logits(
        image4(logits, &device),
        image4(targets, &device),
    ));
    // By hand: ln 2 = 0.693147, 1.5 + ln(1 + e⁻²) = 1.626928, -0.1 + ln(1 + e) = 1.213262,
    // 3 + ln(1 + e⁻³) = 3.048587; mean 1.645481.
    assert!((loss - 1.645481).abs() < 1e-5, "{loss}");
    let reference: f64 = logits
        .iter()
        .zip(&targets)
        .map(|(&x, &t)| bce_reference(x as f64, t as f64))
        .sum::<f64>()
        / 4.0;
    assert!((loss as f64 - reference).abs() < 1e-5);
}

/// The previous formulation, through Burn's `log_sigmoid` and its own backward: the fused loss
/// must agree with it in value and gradient.
fn bce_through_log_sigmoid(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let log_p = burn::tensor::activation::log_sigmoid(logits.clone());
    (target.neg().add_scalar(1.0) * logits - log_p).mean()
}

#[test]
fn bce_gradient_is_sigmoid_minus_target_over_n_as_through_log_sigmoid() {
    let device = Device::flex().autodiff();
    let logits = [-100.0f32, -20.0, -3.0, -0.5, 0.0, 0.5, 3.0, 20.0, 100.0, 1e-3, -7.25, 12.0];
    let targets = [0.0f32, 1.0, 0.3, 0.9, 0.5, 0.0, 1.0, 0.2, 1.0, 0.75, 0.0, 0.6];
    let n = logits.len();
    let tensor = |v: [f32; 12]| Tensor::<1>::from_floats(v, &device).reshape([3, 1, 2, 2]);
    assert!(mnist_flex_kernels::pointwise::runs_on(&tensor(logits)), "flex takes the fused pass");
    let run = |loss: fn(Tensor<4>, Tensor<4>) -> Tensor<1>| {
        let x = tensor(logits).require_grad();
        let value = loss(x.clone(), tensor(targets));
        let grads = value.backward();
        (scalar(value.inner()), values(x.grad(&grads).expect("a gradient for the logits")))
    };
    let (fused, fused_grad) = run(bce_with_logits);
    let (reference, reference_grad) = run(bce_through_log_sigmoid);

    // f64 references: the mean of the definition, and d/dx = (σ(x) - t) / n.
    let expected: f64 = logits.iter().zip(&targets).map(|(&x, &t)| {
        // The definition rearranged (`bce_reference` loses ln σ(x) to rounding at |x| = 100).
        let (x, t) = (x as f64, t as f64);
        (1.0 - t) * x + (-x).max(0.0) + (-x.abs()).exp().ln_1p()
    }).sum::<f64>() / n as f64;
    let expected_grad: Vec<f32> = logits
        .iter()
        .zip(&targets)
        .map(|(&x, &t)| ((1.0 / (1.0 + (-(x as f64)).exp()) - t as f64) / n as f64) as f32)
        .collect();
    assert!((fused as f64 - expected).abs() < 1e-5 * expected, "fused {fused} vs {expected}");
    assert!((fused - reference).abs() < 1e-5 * reference, "fused {fused} vs log_sigmoid {reference}");
    assert_close(&fused_grad, &expected_grad, 1e-6, "d loss / d logits vs (σ(x) - t) / n");
    assert_close(&fused_grad, &reference_grad, 1e-6, "d loss / d logits vs log_sigmoid's");
}

#[test]
fn bce_is_stable_for_large_logits() {
    let device = Device::flex();
    let loss = bce_with_logits(
        image4([100.0, -100.0, 100.0, -100.0], &device),
        image4([1.0, 0.0, 0.0, 1.0], &device),
    );
    // Two perfect predictions (≈ 0) and two confident mistakes (≈ 100 each).
    let loss = scalar(loss);
    assert!(loss.is_finite());
    assert!((loss - 50.0).abs() < 1e-3, "{loss}");
}

#[test]
fn bce_is_minimal_at_the_grey_level() {
    // For a grey target t the loss is minimized by σ(x) = t, not by a hard 0/1.
    let device = Device::flex();
    let t = 0.3f32;
    let logit = (t / (1.0 - t)).ln();
    let at = |x: f32| {
        scalar(bce_with_logits(
            image4([x; 4], &device),
            image4([t; 4], &device),
        ))
    };
    assert!(at(logit) < at(logit + 0.1));
    assert!(at(logit) < at(logit - 0.1));
}

#[test]
fn kl_of_a_known_gaussian() {
    let device = Device::flex();
    // Sample 1: N((1, 0), diag(1, 4)); sample 2: N(0, I) (KL 0).
    let mean = Tensor::<1>::from_floats([1.0, 0.0, 0.0, 0.0], &device).reshape([2, 2]);
    let log_var = Tensor::<1>::from_floats([0.0, 4f32.ln(), 0.0, 0.0], &device).reshape([2, 2]);
    // KL = ½ Σ (σ² + μ² - 1 - ln σ²) = ½(1 + 1 - 1 - 0) + ½(4 - 1 - ln 4) = 1.306853;
    // batch mean (1.306853 + 0) / 2.
    let kl = scalar(kl_divergence(mean, log_var));
    assert!((kl - 0.653426).abs() < 1e-5, "{kl}");
}

#[test]
fn cross_entropy_and_accuracy() {
    let device = Device::flex();
    let logits = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 0.0, 0.0, 0.0], &device).reshape([2, 3]);
    let labels = Tensor::<1, Int>::from_ints([2, 0], &device);
    // -ln(e³ / (e + e² + e³)) = 0.407606 and ln 3 = 1.098612; mean 0.753109.
    let ce = scalar(cross_entropy(logits, labels));
    assert!((ce - 0.753109).abs() < 1e-5, "{ce}");

    let logits = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 5.0, 0.0, 0.0, 0.0, 1.0, 0.0], &device)
        .reshape([3, 3]);
    let labels = Tensor::<1, Int>::from_ints([2, 1, 1], &device);
    let correct = scalar(correct_count(logits, labels).float());
    assert_eq!(correct, 2.0);
}

#[test]
fn the_gpus_one_pass_cross_entropy_has_the_value_and_gradient_of_log_softmax_and_gather() {
    // The one-pass form runs on GPUs only; it is plain Burn, so it runs on `flex` here too, where
    // `cross_entropy_smoothed` takes the log_softmax + gather graph.
    let device = Device::flex().autodiff();
    let raw = [1.0f32, 2.0, 3.0, -4.0, 0.0, 0.5, -0.5, 0.25, 30.0, -30.0, 7.0, 7.0, 0.0, 0.0, 0.0, 100.0, -100.0, 3.0];
    let labels = [2i64, 0, 0, 1, 0, 2];
    let (batch, classes) = (6, 3);
    for epsilon in [0.0, 0.1] {
        let run = |one_pass: bool| {
            let x = Tensor::<1>::from_floats(raw, &device).reshape([batch, classes]).require_grad();
            let labels = Tensor::<1, Int>::from_ints(labels, &device);
            let value = if one_pass {
                cross_entropy_one_pass(x.clone(), labels, epsilon)
            } else {
                cross_entropy_smoothed(x.clone(), labels, epsilon)
            };
            let grads = value.backward();
            (scalar(value.inner()), values(x.grad(&grads).expect("a gradient for the logits")))
        };
        let (one_pass, one_pass_grad) = run(true);
        let (graph, graph_grad) = run(false);
        // f64 references: the mean of -Σ target·log softmax, and d/dx = (softmax - target) / batch.
        let (mut expected, mut expected_grad) = (0.0f64, Vec::new());
        for (row, &label) in raw.chunks(classes).zip(&labels) {
            let max = row.iter().fold(f64::MIN, |m, &v| m.max(v as f64));
            let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
            for (k, &v) in row.iter().enumerate() {
                let target = if k == label as usize { 1.0 - epsilon } else { 0.0 } + epsilon / classes as f64;
                expected -= target * (v as f64 - max - sum.ln()) / batch as f64;
                expected_grad.push((((v as f64 - max).exp() / sum - target) / batch as f64) as f32);
            }
        }
        assert!((one_pass as f64 - expected).abs() < 1e-5 * expected, "ε = {epsilon}: one pass {one_pass} vs {expected}");
        assert!((one_pass - graph).abs() < 1e-5 * graph, "ε = {epsilon}: one pass {one_pass} vs log_softmax + gather {graph}");
        assert_close(&one_pass_grad, &expected_grad, 1e-6, &format!("ε = {epsilon}: d loss / d logits vs (softmax - target) / batch"));
        assert_close(&one_pass_grad, &graph_grad, 1e-6, &format!("ε = {epsilon}: d loss / d logits vs log_softmax + gather's"));
    }
}

fn sum_of_squares(tensor: Tensor<2>) -> f64 {
    values(tensor).iter().map(|v| (*v as f64).powi(2)).sum()
}

#[test]
fn vae_objective_is_reconstruction_plus_beta_kl() {
    let device = Device::flex();
    device.seed(3);
    let model = parse(VAE).init(&device);
    let x = images(&device);
    let output = model.forward(x.clone());
    let ModelOutput::Autoencoder(out) = output.clone() else {
        panic!("a VAE returns an autoencoder output")
    };
    let objective = Objective {
        loss: LossKind::Bce,
        beta: 0.5,
        l2: 0.0,
        l1: 0.0,
        label_smoothing: 0.0,
    };
    let labels = Tensor::<1, Int>::zeros([2], &device);
    let terms = objective.compute(&model, output, x.clone(), labels);

    // Reconstruction: BCE summed over the 784 pixels per sample, batch mean.
    let logits = values(out.logits.unwrap());
    let targets = values(x);
    let reconstruction: f64 = logits
        .iter()
        .zip(&targets)
        .map(|(&l, &t)| bce_reference(l as f64, t as f64))
        .sum::<f64>()
        / 2.0;
    // KL from the definition.
    let mean = values(out.mean.unwrap());
    let log_var = values(out.log_var.unwrap());
    let kl: f64 = mean
        .iter()
        .zip(&log_var)
        .map(|(&m, &lv)| -0.5 * (1.0 + lv as f64 - (m as f64).powi(2) - (lv as f64).exp()))
        .sum::<f64>()
        / 2.0;

    let got_reconstruction = scalar(terms.reconstruction.unwrap()) as f64;
    let got_kl = scalar(terms.kl.unwrap()) as f64;
    let total = scalar(terms.total) as f64;
    assert!((got_reconstruction - reconstruction).abs() < 1e-3 * reconstruction);
    assert!((got_kl - kl).abs() < 1e-4 * kl.max(1.0));
    assert!((total - (reconstruction + 0.5 * kl)).abs() < 1e-3 * total);
    // Summed over pixels, so about 784 × the per-pixel mean (≈ 0.69 at initialization).
    assert!(reconstruction > 100.0, "{reconstruction}");
    assert!(terms.l1.is_none() && terms.l2.is_none());
}

#[test]
fn autoencoder_objective_is_a_mean_with_penalties() {
    let device = Device::flex();
    let model = parse(SINGLE_LAYER_AE).init(&device);
    let x = images(&device);
    let output = model.forward(x.clone());
    let ModelOutput::Autoencoder(out) = output.clone() else {
        panic!("an autoencoder output")
    };
    let objective = Objective {
        loss: LossKind::Mse,
        beta: 1.0,
        l2: 0.01,
        l1: 0.001,
        label_smoothing: 0.0,
    };
    let terms = objective.compute(&model, output, x.clone(), Tensor::zeros([2], &device));

    let reconstruction = scalar(mse(out.reconstruction, x)) as f64;
    let Model::DenseAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    // Kernels only: the encoder's [784, 32] and the output's [32, 784], no biases.
    let l2 = 0.01
        * (sum_of_squares(ae.encoder[0].linear.weight.val())
            + sum_of_squares(ae.output.weight.val()));
    let l1 = 0.001
        * values(out.latent)
            .iter()
            .map(|v| v.abs() as f64)
            .sum::<f64>()
        / 2.0;

    assert!((scalar(terms.reconstruction.unwrap()) as f64 - reconstruction).abs() < 1e-6);
    assert!((scalar(terms.l2.unwrap()) as f64 - l2).abs() < 1e-4 * l2);
    assert!((scalar(terms.l1.unwrap()) as f64 - l1).abs() < 1e-4 * l1.max(1e-6));
    let total = scalar(terms.total) as f64;
    assert!((total - (reconstruction + l2 + l1)).abs() < 1e-4 * total);
    assert!(terms.kl.is_none());
}

#[test]
fn kernel_l2_skips_biases() {
    let device = Device::flex();
    let model = parse(HIDDEN_225_AE).init(&device);
    let Model::DenseAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    let expected =
        sum_of_squares(ae.encoder[0].linear.weight.val()) + sum_of_squares(ae.output.weight.val());
    let got = scalar(model.kernel_l2()) as f64;
    assert!(
        (got - expected).abs() < 1e-4 * expected,
        "{got} vs {expected}"
    );
    // Convolution kernels count too (4-D weights).
    let cnn = parse(crate::seeds::CNN).init(&device);
    assert!(scalar(cnn.kernel_l2()) > 0.0);
}

#[test]
fn classifier_objective_is_cross_entropy() {
    let device = Device::flex();
    let model = parse(MLP_64_64).init(&device);
    let x = images(&device);
    let labels = Tensor::<1, Int>::from_ints([3, 7], &device);
    let output = model.forward(x.clone());
    let expected = scalar(cross_entropy(
        output.logits().unwrap().clone(),
        labels.clone(),
    ));
    let terms = Objective::new(LossKind::CrossEntropy).compute(&model, output, x, labels);
    assert!((scalar(terms.total) - expected).abs() < 1e-6);
    assert!(terms.reconstruction.is_none() && terms.kl.is_none());
}

/// Label smoothing against PyTorch's definition (`CrossEntropyLoss(label_smoothing=e)`): the
/// target distribution is `(1 - e)·onehot + e / C`, the loss its cross-entropy with the softmax,
/// batch mean. Written out in f64.
#[test]
fn smoothed_cross_entropy_matches_its_definition() {
    let device = Device::flex();
    let rows: [[f64; 4]; 3] = [[1.0, -2.0, 0.5, 3.0], [0.0, 0.0, 0.0, 0.0], [-1.5, 2.5, 0.25, -0.75]];
    let labels = [3i64, 1, 0];
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    for eps in [0.0, 0.1, 0.3] {
        let logits = Tensor::<2>::from_data(TensorData::new(flat.clone(), [3, 4]), &device);
        let l = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [3]), &device);
        let got = scalar(cross_entropy_smoothed(logits, l, eps)) as f64;
        let mut expected = 0.0;
        for (row, &label) in rows.iter().zip(&labels) {
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let log_z = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            for (k, v) in row.iter().enumerate() {
                let target = (1.0 - eps) * f64::from(u8::from(k as i64 == label)) + eps / 4.0;
                expected -= target * (v - log_z);
            }
        }
        expected /= 3.0;
        assert!((got - expected).abs() < 1e-5, "epsilon {eps}: {got} vs {expected}");
    }
    // Smoothing changes the value (so the comparison above is not of two plain cross-entropies).
    let logits = Tensor::<2>::from_data(TensorData::new(flat, [3, 4]), &device);
    let l = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [3]), &device);
    let plain = scalar(cross_entropy(logits.clone(), l.clone()));
    assert!((scalar(cross_entropy_smoothed(logits, l, 0.3)) - plain).abs() > 1e-3);
}
