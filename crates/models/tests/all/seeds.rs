//! Every model of the seed notebooks, written as the TOML a user writes: output shapes for a
//! batch of 2 and exactly the parameter count Keras printed.

use burn::module::Module;
use burn::prelude::*;
use mnist_models::{Model, ModelConfig, ModelOutput, Task};

use crate::common::{images, parse, values};

/// Builds the model, checks the summary's total, the `Total params` line, Burn's own count,
/// and the forward/encode/decode shapes for a batch of 2.
fn check(toml_text: &str, expected_params: usize) -> (ModelConfig, Model) {
    let config = parse(toml_text);
    config.validate().unwrap();
    let device = Device::flex();
    device.seed(7);
    let model = config.init(&device);

    let summary = model.summary();
    let text = summary.to_string();
    assert_eq!(
        summary.total_params(),
        expected_params,
        "summary total\n{text}"
    );
    assert_eq!(
        model.num_params(),
        expected_params,
        "Burn's parameter count\n{text}"
    );
    let total_line = format!(
        "Total params: {}",
        mnist_models::summary::group_thousands(expected_params)
    );
    assert_eq!(text.lines().last(), Some(total_line.as_str()), "{text}");

    let output = model.forward(images(&device));
    match (config.task(), output) {
        (Task::Classifier, ModelOutput::Logits(logits)) => {
            assert_eq!(logits.dims(), [2, 10]);
            assert!(model.encode(images(&device)).is_none());
        }
        (task, ModelOutput::Autoencoder(out)) => {
            let latent = config.latent_dim().unwrap();
            assert_eq!(out.reconstruction.dims(), [2, 1, 28, 28]);
            assert_eq!(out.latent.dims(), [2, latent]);
            assert_eq!(out.logits.is_some(), config.sigmoid_output());
            if let Some(logits) = &out.logits {
                assert_eq!(logits.dims(), [2, 1, 28, 28]);
            }
            if config.sigmoid_output() {
                let pixels = values(out.reconstruction.clone());
                assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
            }
            let is_vae = task == Task::VariationalAutoencoder;
            assert_eq!(out.mean.is_some(), is_vae);
            assert_eq!(out.log_var.is_some(), is_vae);
            if let (Some(mean), Some(log_var)) = (&out.mean, &out.log_var) {
                assert_eq!(mean.dims(), [2, latent]);
                assert_eq!(log_var.dims(), [2, latent]);
            }
            let code = model.encode(images(&device)).unwrap();
            assert_eq!(code.dims(), [2, latent]);
            let decoded = model.decode(code).unwrap();
            assert_eq!(decoded.dims(), [2, 1, 28, 28]);
            // The mean path (`eval --mean-code`) is exactly decode(encode(x)), with the same
            // mean and log-variance as the sampled forward pass; only VAEs have one.
            assert_eq!(model.samples_code(), is_vae);
            let x = images(&device);
            match model.forward_mean_code(x.clone()) {
                Some(ModelOutput::Autoencoder(mean_path)) => {
                    assert!(is_vae);
                    let by_parts = model.decode(model.encode(x.clone()).unwrap()).unwrap();
                    assert_eq!(values(mean_path.reconstruction), values(by_parts));
                    let ModelOutput::Autoencoder(sampled) = model.forward(x) else { unreachable!() };
                    assert_eq!(values(mean_path.mean.unwrap()), values(sampled.mean.unwrap()));
                    assert_eq!(values(mean_path.log_var.unwrap()), values(sampled.log_var.unwrap()));
                }
                Some(_) => panic!("the mean path of an autoencoder is an autoencoder output"),
                None => assert!(!is_vae),
            }
        }
        (task, _) => panic!("{task:?} produced the wrong output kind"),
    }
    (config, model)
}

pub const SOFTMAX_REGRESSION: &str = r#"
[model]
kind = "softmax_regression"
"#;

pub const MLP_64_64: &str = r#"
[model]
kind = "mlp"
hidden = [64, 64]
activation = "relu"
"#;

pub const MLP_500_300: &str = r#"
[model]
kind = "mlp"
hidden = [500, 300]
"#;

pub const CNN: &str = r#"
[model]
kind = "cnn"
conv = [
  { filters = 32, kernel_size = 3, padding = "valid" },
  { filters = 64, kernel_size = 3, padding = "valid" },
]
pool_size = 3
dropout = 0.4
dense = [64]
"#;

pub const LINEAR_AE_2: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 2, activation = "linear" }]
output_activation = "linear"
"#;

pub const LINEAR_AE_64: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 64, activation = "linear" }]
output_activation = "linear"
"#;

pub const SINGLE_LAYER_AE: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 32, activation = "relu" }]
output_activation = "sigmoid"
"#;

pub const DEEP_DENOISING_AE: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [
  { units = 256, activation = "relu" },
  { units = 128, activation = "sigmoid" },
  { units = 64, activation = "linear" },
]
output_activation = "linear"
"#;

pub const DENOISING_AE_128_96: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 128, activation = "relu" }, { units = 96, activation = "relu" }]
decoder = [{ units = 128, activation = "relu" }]
output_activation = "sigmoid"
"#;

pub const HIDDEN_225_AE: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 225, activation = "relu" }]
output_activation = "linear"
"#;

pub const DEEP_AE_DROPOUT: &str = r#"
[model]
kind = "dense_autoencoder"
encoder = [
  { units = 512, activation = "relu", dropout = 0.2 },
  { units = 256, activation = "relu", dropout = 0.2 },
  { units = 32, activation = "relu" },
]
mirror = true
output_activation = "sigmoid"
"#;

pub const CONV_AE_POOLING: &str = r#"
[model]
kind = "conv_autoencoder"
encoder = [{ filters = 16 }, { filters = 8 }, { filters = 8 }]
decoder = [{ filters = 8 }, { filters = 8 }, { filters = 16, padding = "valid" }]
pool_size = 2
pool_padding = "same"
output_activation = "sigmoid"
"#;

pub const CONV_DENOISING_AE: &str = r#"
[model]
kind = "conv_autoencoder"
encoder = [{ filters = 32 }, { filters = 32 }]
decoder = [{ filters = 32 }, { filters = 32 }]
"#;

/// keras.io's convolutional autoencoder: the denoising AE's layers, upsampling by transposed
/// convolutions of stride 2.
pub const CONV_AE_TRANSPOSED: &str = r#"
[model]
kind = "conv_autoencoder"
encoder = [{ filters = 32 }, { filters = 32 }]
decoder = [{ filters = 32 }, { filters = 32 }]
upsampling = "transposed"
"#;

pub const STRIDED_CONV_AE: &str = r#"
[model]
kind = "strided_conv_autoencoder"
encoder = [{ filters = 32, stride = 2 }, { filters = 64, stride = 2 }]
latent_dim = 16
decoder = [{ filters = 64, stride = 2 }, { filters = 32, stride = 2 }]
output_activation = "sigmoid"
"#;

pub const VAE: &str = r#"
[model]
kind = "vae"
encoder = [{ units = 512, activation = "relu" }]
latent_dim = 2
decoder = [{ units = 512, activation = "relu" }]
output_activation = "sigmoid"
"#;

pub const CONV_VAE: &str = r#"
[model]
kind = "conv_vae"
latent_dim = 2
"#;

#[test]
fn softmax_regression() {
    check(SOFTMAX_REGRESSION, 7_850);
}

#[test]
fn mlp_64_64() {
    check(MLP_64_64, 55_050);
}

#[test]
fn mlp_defaults_are_64_64() {
    let config = parse("[model]\nkind = \"mlp\"\n");
    assert_eq!(config, parse(MLP_64_64));
}

#[test]
fn mlp_500_300() {
    check(MLP_500_300, 545_810);
}

#[test]
fn cnn() {
    let (_, model) = check(CNN, 281_674);
    let rows = model.summary().rows;
    let shapes: Vec<_> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.output_shape.clone()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("Conv2D", vec![32, 26, 26]),
            ("Conv2D", vec![64, 24, 24]),
            ("MaxPooling2D", vec![64, 8, 8]),
            ("Dropout", vec![64, 8, 8]),
            ("Flatten", vec![4096]),
            ("Dense", vec![64]),
            ("Dense", vec![10]),
        ]
    );
}

#[test]
fn cnn_defaults_are_the_seed() {
    assert_eq!(parse("[model]\nkind = \"cnn\"\n"), parse(CNN));
}

#[test]
fn linear_autoencoder_latent_2() {
    check(LINEAR_AE_2, 3_922);
}

#[test]
fn linear_autoencoder_latent_64() {
    check(LINEAR_AE_64, 101_200);
}

#[test]
fn single_layer_autoencoder() {
    check(SINGLE_LAYER_AE, 50_992);
}

#[test]
fn deep_denoising_autoencoder() {
    check(DEEP_DENOISING_AE, 293_072);
}

#[test]
fn denoising_autoencoder_128_96() {
    check(DENOISING_AE_128_96, 226_416);
}

#[test]
fn hidden_225_autoencoder() {
    check(HIDDEN_225_AE, 353_809);
}

#[test]
fn deep_autoencoder_with_dropout() {
    // Encoder 784-512-256-32, mirrored decoder 32-256-512-784.
    let dense = |i: usize, o: usize| i * o + o;
    let expected = dense(784, 512)
        + dense(512, 256)
        + dense(256, 32)
        + dense(32, 256)
        + dense(256, 512)
        + dense(512, 784);
    let (_, model) = check(DEEP_AE_DROPOUT, expected);
    let kinds: Vec<_> = model
        .summary()
        .rows
        .iter()
        .map(|r| r.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "Dense", "Dropout", "Dense", "Dropout", "Dense", "Dense", "Dropout", "Dense",
            "Dropout", "Dense"
        ]
    );
}

#[test]
fn conv_autoencoder_pooling() {
    let (config, model) = check(CONV_AE_POOLING, 4_385);
    assert_eq!(config.latent_dim(), Some(8 * 4 * 4));
    let spatial: Vec<_> = model
        .summary()
        .rows
        .iter()
        .map(|r| r.output_shape[1])
        .collect();
    // 28 →conv 28 →pool 14 → 14 → 7 → 7 → 4 | 4 → up 8 → 8 → 16 →valid 14 → 28 → 28.
    assert_eq!(spatial, [28, 14, 14, 7, 7, 4, 4, 8, 8, 16, 14, 28, 28]);
}

#[test]
fn conv_denoising_autoencoder_pooling() {
    let (config, _) = check(CONV_DENOISING_AE, 28_353);
    assert_eq!(config.latent_dim(), Some(32 * 7 * 7));
}

#[test]
fn conv_autoencoder_transposed() {
    // keras.io's printout: 28,353 parameters, as the nearest-upsampling twin.
    let (config, model) = check(CONV_AE_TRANSPOSED, 28_353);
    assert_eq!(config.latent_dim(), Some(32 * 7 * 7));
    let rows = model.summary().rows;
    let layers: Vec<_> = rows.iter().map(|r| (r.kind.as_str(), r.output_shape[1])).collect();
    assert_eq!(
        layers,
        [
            ("Conv2D", 28),
            ("MaxPooling2D", 14),
            ("Conv2D", 14),
            ("MaxPooling2D", 7),
            ("Conv2DTranspose", 14),
            ("Conv2DTranspose", 28),
            ("Conv2D", 28),
        ]
    );
}

#[test]
fn strided_conv_autoencoder() {
    let (_, model) = check(STRIDED_CONV_AE, 178_001);
    let shapes: Vec<_> = model
        .summary()
        .rows
        .iter()
        .map(|r| r.output_shape.clone())
        .collect();
    assert_eq!(
        shapes,
        [
            vec![32, 14, 14],
            vec![64, 7, 7],
            vec![3136],
            vec![16],
            vec![3136],
            vec![64, 7, 7],
            vec![64, 14, 14],
            vec![32, 28, 28],
            vec![1, 28, 28],
        ]
    );
}

#[test]
fn dense_vae() {
    check(VAE, 807_700);
}

#[test]
fn dense_vae_defaults_are_the_seed() {
    assert_eq!(parse("[model]\nkind = \"vae\"\n"), parse(VAE));
}

#[test]
fn conv_vae_keras_io() {
    // keras.io: encoder 69,076 + decoder 65,089.
    check(CONV_VAE, 69_076 + 65_089);
}

#[test]
fn conv_vae_any_latent_size() {
    let (config, _) = check(
        "[model]\nkind = \"conv_vae\"\nlatent_dim = 10\n",
        69_076 - 2 * 34 + 2 * (16 * 10 + 10) + 65_089 - 9_408 + (10 * 3136 + 3136),
    );
    assert_eq!(config.latent_dim(), Some(10));
}

#[test]
fn summary_looks_like_keras() {
    let config = parse(MLP_64_64);
    let text = config.init(&Device::flex()).summary().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Model: \"mlp\"");
    assert!(lines[2].contains("Layer (type)") && lines[2].contains("Output Shape"));
    assert!(text.contains(" dense (Dense) "), "{text}");
    assert!(text.contains(" dense_1 (Dense) "), "{text}");
    assert!(text.contains("(None, 64)"), "{text}");
    assert!(text.contains("50,240"), "{text}");
    assert_eq!(lines.last(), Some(&"Total params: 55,050"));
}

#[test]
fn every_kind_is_listed_and_round_trips() {
    let seeds = [
        SOFTMAX_REGRESSION,
        MLP_64_64,
        CNN,
        HIDDEN_225_AE,
        CONV_AE_POOLING,
        STRIDED_CONV_AE,
        VAE,
        CONV_VAE,
    ];
    for (seed, kind) in seeds.iter().zip(ModelConfig::KINDS) {
        let config = parse(seed);
        assert_eq!(config.kind(), *kind);
        // What the trainer writes into a run directory reads back the same.
        #[derive(serde::Serialize)]
        struct File<'a> {
            model: &'a ModelConfig,
        }
        let written = toml::to_string(&File { model: &config }).unwrap();
        assert_eq!(parse(&written), config, "{written}");
    }
}

#[test]
fn first_and_last_dense_weights() {
    let device = Device::flex();
    let model = parse(DENOISING_AE_128_96).init(&device);
    assert_eq!(model.first_dense_weights().unwrap().dims(), [784, 128]);
    assert_eq!(model.last_dense_weights().unwrap().dims(), [128, 784]);
    let cnn = parse(CNN).init(&device);
    assert!(cnn.first_dense_weights().is_none());
    assert!(cnn.last_dense_weights().is_none());
    let softmax = parse(SOFTMAX_REGRESSION).init(&device);
    assert_eq!(softmax.first_dense_weights().unwrap().dims(), [784, 10]);
}

#[test]
fn keras_initialization() {
    // Glorot uniform: |w| ≤ sqrt(6 / (fan_in + fan_out)); biases zero.
    let device = Device::flex();
    let model = parse(HIDDEN_225_AE).init(&device);
    let Model::DenseAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    let limit = (6.0f32 / (784.0 + 225.0)).sqrt();
    let w = values(ae.encoder[0].linear.weight.val());
    assert!(w.iter().all(|v| v.abs() <= limit));
    // Spread over the whole range, not Burn's default (Kaiming, bound sqrt(1/784) ≈ 0.036).
    assert!(w.iter().any(|v| v.abs() > 0.9 * limit));
    let b = values(ae.encoder[0].linear.bias.as_ref().unwrap().val());
    assert!(b.iter().all(|v| *v == 0.0));

    // Convolutions: fans are k²·channels. Burn's default bound for this first conv would be
    // 1/3, above glorot's sqrt(6 / (9 + 288)) ≈ 0.142.
    let model = parse(STRIDED_CONV_AE).init(&device);
    let Model::StridedConvAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    let limit = (6.0f32 / (9.0 + 9.0 * 32.0)).sqrt();
    let w = values(ae.encoder.conv[0].conv.weight.val());
    assert!(w.iter().all(|v| v.abs() <= limit));
    // Transposed 64 → 64: glorot bound sqrt(6 / (9·64 + 9·64)) ≈ 0.072, Burn's default ≈ 0.042.
    let limit = (6.0f32 / (2.0 * 9.0 * 64.0)).sqrt();
    let w = values(ae.decoder.conv[0].conv.weight.val());
    assert!(w.iter().all(|v| v.abs() <= limit));
    assert!(w.iter().any(|v| v.abs() > 0.9 * limit));
    let b = values(ae.decoder.conv[0].conv.bias.as_ref().unwrap().val());
    assert!(b.iter().all(|v| *v == 0.0));
}
