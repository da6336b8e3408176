//! Bad configs are errors naming the field and the value, never panics.

use burn::prelude::*;
use mnist_models::{ModelConfig, ModelConfigError};

use crate::common::{parse, parse_error};

fn error(toml_text: &str) -> (ModelConfigError, String) {
    let config = parse(toml_text);
    let err = config.validate().expect_err("config should be rejected");
    assert_eq!(config.try_init(&Device::flex()).err(), Some(err.clone()));
    let message = err.to_string();
    (err, message)
}

#[test]
fn zero_latent_size() {
    let (err, message) = error(
        r#"
[model]
kind = "strided_conv_autoencoder"
encoder = [{ filters = 32, stride = 2 }]
latent_dim = 0
decoder = [{ filters = 32, stride = 2 }]
"#,
    );
    assert_eq!(
        err,
        ModelConfigError::Zero {
            field: "latent_dim".into()
        }
    );
    assert!(message.contains("`latent_dim` = 0"), "{message}");
    let (_, message) = error("[model]\nkind = \"vae\"\nlatent_dim = 0\n");
    assert!(message.contains("`latent_dim` = 0"), "{message}");
}

#[test]
fn empty_and_zero_layers() {
    let (err, _) = error("[model]\nkind = \"dense_autoencoder\"\nencoder = []\n");
    assert_eq!(
        err,
        ModelConfigError::NoLayers {
            field: "encoder".into()
        }
    );
    let (_, message) =
        error("[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 64 }, { units = 0 }]\n");
    assert!(message.contains("`encoder[1].units` = 0"), "{message}");
    let (_, message) = error("[model]\nkind = \"mlp\"\nhidden = [64, 0]\n");
    assert!(message.contains("`hidden[1]` = 0"), "{message}");
    let (_, message) = error("[model]\nkind = \"cnn\"\nconv = [{ filters = 0 }]\n");
    assert!(message.contains("`conv[0].filters` = 0"), "{message}");
}

#[test]
fn dropout_outside_unit_interval() {
    let (_, message) =
        error("[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 64, dropout = 1.0 }]\n");
    assert!(message.contains("`encoder[0].dropout` = 1"), "{message}");
    let (_, message) = error("[model]\nkind = \"mlp\"\ndropout = -0.1\n");
    assert!(message.contains("`dropout` = -0.1"), "{message}");
    let (_, message) = error("[model]\nkind = \"cnn\"\ndropout = 1.5\n");
    assert!(message.contains("`dropout` = 1.5"), "{message}");
}

#[test]
fn sizes_that_do_not_fit_28x28() {
    // Without the valid convolution the pooling decoder ends at 32×32.
    let (err, message) = error(
        r#"
[model]
kind = "conv_autoencoder"
encoder = [{ filters = 16 }, { filters = 8 }, { filters = 8 }]
decoder = [{ filters = 8 }, { filters = 8 }, { filters = 16 }]
"#,
    );
    assert_eq!(
        err,
        ModelConfigError::OutputSize {
            field: "decoder".into(),
            height: 32,
            width: 32,
            expected: "28x28".into(),
        }
    );
    assert!(message.contains("32x32"), "{message}");

    let (_, message) = error(
        "[model]\nkind = \"cnn\"\nconv = [{ filters = 8, kernel_size = 29, padding = \"valid\" }]\n",
    );
    assert!(message.contains("`conv[0].kernel_size` = 29"), "{message}");

    let (_, message) = error(
        r#"
[model]
kind = "strided_conv_autoencoder"
encoder = [{ filters = 32, stride = 2 }]
latent_dim = 8
decoder = [{ filters = 32, stride = 2, kernel_size = 1 }]
"#,
    );
    assert!(
        message.contains("`decoder[0].kernel_size` = 1"),
        "{message}"
    );
}

#[test]
fn transposed_upsampling_takes_its_stride_from_pool_size() {
    let (err, message) = error(
        r#"
[model]
kind = "conv_autoencoder"
encoder = [{ filters = 32 }, { filters = 32 }]
decoder = [{ filters = 32 }, { filters = 32, stride = 2 }]
upsampling = "transposed"
"#,
    );
    assert_eq!(
        err,
        ModelConfigError::TransposedStride {
            field: "decoder[1].stride".into(),
            stride: 2,
            pool_size: 2,
        }
    );
    assert!(message.contains("pool_size (2)"), "{message}");
}

#[test]
fn mirror_with_an_explicit_decoder() {
    let (err, _) = error(
        r#"
[model]
kind = "dense_autoencoder"
encoder = [{ units = 64 }, { units = 32 }]
decoder = [{ units = 64 }]
mirror = true
"#,
    );
    assert_eq!(err, ModelConfigError::MirrorWithDecoder { layers: 1 });
}

#[test]
fn unknown_fields_and_kinds_are_rejected_by_the_parser() {
    let message = parse_error("[model]\nkind = \"mlp\"\nhiden = [64]\n");
    assert!(message.contains("hiden"), "{message}");
    let message = parse_error("[model]\nkind = \"perceptron\"\n");
    assert!(message.contains("perceptron"), "{message}");
    let message = parse_error(
        "[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 8, activaton = \"relu\" }]\n",
    );
    assert!(message.contains("activaton"), "{message}");
    let message = parse_error(
        "[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 8, activation = \"gelu\" }]\n",
    );
    assert!(message.contains("gelu"), "{message}");
}

#[test]
fn kinds_are_the_serde_tags() {
    for kind in ModelConfig::KINDS {
        // Every kind with only defaults either parses or fails for a missing field, never for
        // an unknown variant.
        let text = format!("[model]\nkind = \"{kind}\"\n");
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct File {
            model: ModelConfig,
        }
        if let Err(err) = toml::from_str::<File>(&text) {
            assert!(err.to_string().contains("missing field"), "{kind}: {err}");
        }
    }
}
