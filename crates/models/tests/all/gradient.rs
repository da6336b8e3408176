//! Burn's autodiff against backpropagation derived by hand, on the hidden-225 autoencoder:
//! `z = relu(x W + b)`, `y = z V + c`, `E = ||y - x0||²`.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::relu;
use mnist_models::Model;

use crate::common::{assert_close, parse, values};
use crate::seeds::HIDDEN_225_AE;

#[test]
fn hidden_225_gradients_match_hand_derived_backprop() {
    let device = Device::flex().autodiff();
    device.seed(11);
    let model = parse(HIDDEN_225_AE).init(&device);
    let Model::DenseAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    // Noisy input x, clean target x0 (as in a denoising autoencoder).
    let x0 = Tensor::<4>::random([2, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
    let noise = Tensor::<4>::random([2, 1, 28, 28], Distribution::Normal(0.0, 0.3), &device);
    let x = x0.clone() + noise;

    // Burn: forward, E, backward.
    let y = ae.forward(x.clone()).reconstruction; // linear output
    let error = (y - x0.clone()).square().sum();
    let grads = error.backward();
    let weight = &ae.encoder[0].linear.weight;
    let bias = ae.encoder[0].linear.bias.as_ref().unwrap();
    let out_weight = &ae.output.weight;
    let out_bias = ae.output.bias.as_ref().unwrap();
    let burn_dw = weight.val().grad(&grads).expect("dE/dW");
    let burn_db = bias.val().grad(&grads).expect("dE/db");
    let burn_dv = out_weight.val().grad(&grads).expect("dE/dV");
    let burn_dc = out_bias.val().grad(&grads).expect("dE/dc");

    // By hand, on plain tensors (no autodiff), rows are samples.
    let w = weight.val().inner(); // [784, 225]
    let b = bias.val().inner(); // [225]
    let v = out_weight.val().inner(); // [225, 784]
    let c = out_bias.val().inner(); // [784]
    let x = x.inner().flatten::<2>(1, 3); // [2, 784]
    let x0 = x0.inner().flatten::<2>(1, 3); // [2, 784]

    let pre = x.clone().matmul(w) + b.unsqueeze::<2>(); // [2, 225]
    let z = relu(pre); // [2, 225]
    let y = z.clone().matmul(v.clone()) + c.unsqueeze::<2>(); // [2, 784]
    let de_dy = (y - x0).mul_scalar(2.0); // dE/dy = 2 (y - x0)
    let de_dv = z.clone().transpose().matmul(de_dy.clone()); // zᵀ dE/dy  [225, 784]
    let de_dc = de_dy.clone().sum_dim(0).reshape([784]); // Σ over the batch of dE/dy
    let active = z.greater_elem(0.0).float(); // [z > 0]
    let de_dz = de_dy.matmul(v.transpose()) * active; // dE/dy Vᵀ ⊙ [z > 0]  [2, 225]
    let de_dw = x.transpose().matmul(de_dz.clone()); // xᵀ dE/dz  [784, 225]
    let de_db = de_dz.sum_dim(0).reshape([225]); // Σ over the batch of dE/dz

    assert_eq!(burn_dw.dims(), [784, 225]);
    assert_eq!(burn_dv.dims(), [225, 784]);
    let burn_db = values(burn_db);
    assert_close(&values(burn_dv), &values(de_dv), 1e-4, "dE/dV");
    assert_close(&values(burn_dc), &values(de_dc), 1e-4, "dE/dc");
    assert_close(&values(burn_dw), &values(de_dw), 1e-4, "dE/dW");
    assert_close(&burn_db, &values(de_db), 1e-4, "dE/db");
    // Not a vacuous comparison: some hidden units are active and some are not.
    let active_units = burn_db.iter().filter(|g| **g != 0.0).count();
    assert!(
        active_units > 0 && active_units < 225,
        "{active_units} active units"
    );
}
