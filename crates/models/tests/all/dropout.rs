//! Dropout is active while training (autodiff device) and off after `model.valid()`.

use burn::module::Module;
use burn::prelude::*;

use crate::common::{images, parse, values};

const DROPOUT_AE: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 256, activation = "relu", dropout = 0.5 }]
output_activation = "sigmoid"
"#;

#[test]
fn dropout_is_active_in_training_and_off_in_evaluation() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let model = parse(DROPOUT_AE).init(&device);
    let x = images(&device);

    // Evaluation: the inference copy, on the plain device; deterministic.
    let eval = model.valid();
    let x_plain = x.clone().inner();
    let clean = values(eval.encode(x_plain.clone()).unwrap());
    assert_eq!(clean, values(eval.encode(x_plain).unwrap()));

    // Training: each unit is either dropped (0) or kept and scaled by 1 / (1 - 0.5) = 2.
    let train_a = values(model.encode(x.clone()).unwrap());
    let train_b = values(model.encode(x).unwrap());
    let mut dropped = 0;
    let mut active = 0;
    for (&t, &v) in train_a.iter().zip(&clean) {
        if v > 0.0 {
            active += 1;
            if t == 0.0 {
                dropped += 1;
            } else {
                assert!(
                    (t - 2.0 * v).abs() <= 1e-5 * v.max(1.0),
                    "kept {t} vs clean {v}"
                );
            }
        } else {
            assert_eq!(t, 0.0);
        }
    }
    let rate = dropped as f64 / active as f64;
    assert!(active > 100, "{active} active units");
    assert!(
        (0.35..0.65).contains(&rate),
        "dropped {rate} of the active units"
    );
    // A fresh mask every pass.
    assert_ne!(train_a, train_b);
}
