//! `export`: names, shapes and values of the safetensors file, the JSON beside it, and the
//! tensor names of every model kind (the table of docs/export.md).

use burn::prelude::*;
use mnist_inference::export::{read_header, sidecar_path};
use mnist_inference::{export_run, save_safetensors};
use mnist_models::ModelConfig;
use mnist_runs::load_run;

use crate::common::train_run;

/// The f32 values of tensor `name` in a safetensors file.
fn tensor_values(path: &std::path::Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let info = &header[name];
    assert_eq!(info["dtype"], "F32");
    let start = 8 + len + info["data_offsets"][0].as_u64().unwrap() as usize;
    let end = 8 + len + info["data_offsets"][1].as_u64().unwrap() as usize;
    bytes[start..end]
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn mlp_weights_round_trip_in_pytorch_layout() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_run(
        dir.path(),
        "mlp",
        "normalization = \"unit\"\ntrain_limit = 300\ntest_limit = 50\n",
        "[model]\nkind = \"mlp\"\nhidden = [12]\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n",
    );
    let out = dir.path().join("export/mlp.safetensors");
    let outcome = export_run(&run, "last", &out, None).unwrap();
    let names: Vec<(&str, &[usize])> = outcome
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("hidden.0.linear.bias", &[12][..]),
            ("hidden.0.linear.weight", &[12, 784][..]),
            ("output.bias", &[10][..]),
            ("output.weight", &[10, 12][..]),
        ]
    );
    assert_eq!(read_header(&out).unwrap(), outcome.tensors);

    // Values: the file holds Burn's [in, out] kernel transposed to PyTorch's [out, in].
    let loaded = load_run(&run, "last", None).unwrap();
    let kernel: Vec<f32> = loaded
        .model
        .first_dense_weights()
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap(); // [784, 12]
    let stored = tensor_values(&out, "hidden.0.linear.weight"); // [12, 784]
    assert_eq!(stored.len(), 784 * 12);
    for unit in 0..12 {
        for pixel in [0, 300, 783] {
            assert_eq!(stored[unit * 784 + pixel], kernel[pixel * 12 + unit]);
        }
    }
    assert!(stored.iter().any(|&v| v != 0.0));

    // The JSON beside it: the resolved config, normalization and tensor list.
    assert_eq!(outcome.json, sidecar_path(&out));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.json).unwrap()).unwrap();
    assert_eq!(json["weights"], "mlp.safetensors");
    assert_eq!(json["model_kind"], "mlp");
    assert_eq!(json["config"]["model"]["kind"], "mlp");
    assert_eq!(json["config"]["model"]["hidden"][0], 12);
    assert_eq!(json["config"]["data"]["train_limit"], 300);
    assert_eq!(json["norm_stats"]["kind"], "unit");
    assert_eq!(json["tensors"].as_array().unwrap().len(), 4);
}

/// `(name, shape)` of every tensor exported for a `[model]` table.
fn exported(model_toml: &str) -> Vec<(String, Vec<usize>)> {
    let config: ModelConfig = toml::from_str(model_toml).unwrap();
    let model = config.try_init(&Device::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_safetensors(&model, config.kind(), &path)
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.shape))
        .collect()
}

fn table(rows: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    rows.iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect()
}

/// The names docs/export.md documents, one model per kind.
#[test]
fn every_kind_exports_the_documented_names() {
    assert_eq!(
        exported("kind = \"softmax_regression\""),
        table(&[("dense.bias", &[10]), ("dense.weight", &[10, 784])])
    );
    assert_eq!(
        exported("kind = \"mlp\"\nhidden = [64, 32]"),
        table(&[
            ("hidden.0.linear.bias", &[64]),
            ("hidden.0.linear.weight", &[64, 784]),
            ("hidden.1.linear.bias", &[32]),
            ("hidden.1.linear.weight", &[32, 64]),
            ("output.bias", &[10]),
            ("output.weight", &[10, 32]),
        ])
    );
    assert_eq!(
        exported("kind = \"cnn\""),
        table(&[
            ("conv.0.conv.bias", &[32]),
            ("conv.0.conv.weight", &[32, 1, 3, 3]),
            ("conv.1.conv.bias", &[64]),
            ("conv.1.conv.weight", &[64, 32, 3, 3]),
            ("dense.0.linear.bias", &[64]),
            ("dense.0.linear.weight", &[64, 4096]),
            ("output.bias", &[10]),
            ("output.weight", &[10, 64]),
        ])
    );
    assert_eq!(
        exported(
            "kind = \"dense_autoencoder\"\nencoder = [{ units = 128 }, { units = 32 }]\ndecoder = [{ units = 128 }]"
        ),
        table(&[
            ("decoder.0.linear.bias", &[128]),
            ("decoder.0.linear.weight", &[128, 32]),
            ("encoder.0.linear.bias", &[128]),
            ("encoder.0.linear.weight", &[128, 784]),
            ("encoder.1.linear.bias", &[32]),
            ("encoder.1.linear.weight", &[32, 128]),
            ("output.bias", &[784]),
            ("output.weight", &[784, 128]),
        ])
    );
    assert_eq!(
        exported(
            "kind = \"vae\"\nencoder = [{ units = 512 }]\nlatent_dim = 2\ndecoder = [{ units = 512 }]"
        ),
        table(&[
            ("decoder.0.linear.bias", &[512]),
            ("decoder.0.linear.weight", &[512, 2]),
            ("encoder.0.linear.bias", &[512]),
            ("encoder.0.linear.weight", &[512, 784]),
            ("log_var.bias", &[2]),
            ("log_var.weight", &[2, 512]),
            ("mean.bias", &[2]),
            ("mean.weight", &[2, 512]),
            ("output.bias", &[784]),
            ("output.weight", &[784, 512]),
        ])
    );
}

/// Prints the names of the convolutional autoencoders (documented in docs/export.md); checked for
/// the parts PyTorch users map: convolution kernels keep Burn's (= PyTorch's) layout.
#[test]
fn convolutional_autoencoders_keep_pytorch_conv_layouts() {
    let conv_ae = exported(
        "kind = \"conv_autoencoder\"\nencoder = [{ filters = 16 }, { filters = 8 }, { filters = 8 }]\ndecoder = [{ filters = 8 }, { filters = 8 }, { filters = 16, padding = \"valid\" }]\npool_padding = \"same\"",
    );
    println!("conv_autoencoder: {conv_ae:?}");
    assert!(conv_ae.contains(&("encoder.0.conv.weight".into(), vec![16, 1, 3, 3])));
    assert!(conv_ae.contains(&("output.conv.weight".into(), vec![1, 16, 3, 3])));
    let strided = exported(
        "kind = \"strided_conv_autoencoder\"\nencoder = [{ filters = 32, stride = 2 }, { filters = 64, stride = 2 }]\nlatent_dim = 16\ndecoder = [{ filters = 64, stride = 2 }, { filters = 32, stride = 2 }]",
    );
    println!("strided_conv_autoencoder: {strided:?}");
    assert!(strided.contains(&("encoder.conv.1.conv.weight".into(), vec![64, 32, 3, 3])));
    assert!(strided.contains(&("latent.linear.weight".into(), vec![16, 3136])));
    assert!(strided.contains(&("decoder.dense.linear.weight".into(), vec![3136, 16])));
    // ConvTranspose2d: [in_channels, out_channels, k, k], as in PyTorch.
    assert!(strided.contains(&("decoder.conv.0.conv.weight".into(), vec![64, 64, 3, 3])));
    assert!(strided.contains(&("decoder.output.conv.weight".into(), vec![32, 1, 3, 3])));
    let conv_vae = exported("kind = \"conv_vae\"");
    println!("conv_vae: {conv_vae:?}");
    assert!(conv_vae.contains(&("mean.weight".into(), vec![2, 16])));
    assert!(conv_vae.contains(&("hidden.0.linear.weight".into(), vec![16, 3136])));
}

/// Batch normalization after dense and convolution layers: the export holds PyTorch's names
/// (`weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked` = the training steps),
/// the running statistics are the trained ones saved in the checkpoint (not the initial 0 and
/// 1), and the loaded model's eval-mode logits are what PyTorch must reproduce. With
/// `MNIST_BURN_KEEP_EXPORT=DIR` the files are kept in `DIR/<kind>/` with `check.json` (inputs and
/// Burn's logits) for `scripts/check_batchnorm_export.py` (run by scripts/check-batchnorm-export.sh).
#[test]
fn batch_norm_export_matches_burn() {
    let cases = [
        ("mlp", "[model]\nkind = \"mlp\"\nhidden = [16, 12]\nbatch_norm = true\n"),
        (
            "cnn",
            "[model]\nkind = \"cnn\"\nconv = [{ filters = 4, kernel_size = 5, padding = \"valid\", batch_norm = true, pool = 2 }, { filters = 6, batch_norm = true }]\npool_size = 2\ndense = [12]\ndense_batch_norm = true\n",
        ),
    ];
    let keep = std::env::var_os("MNIST_BURN_KEEP_EXPORT").map(std::path::PathBuf::from);
    for (kind, model) in cases {
        let dir = tempfile::tempdir().unwrap();
        let run = train_run(
            dir.path(),
            kind,
            "normalization = \"standardize\"\ntrain_limit = 300\ntest_limit = 50\n",
            &format!("{model}\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.05\noptimizer = {{ kind = \"sgd\", momentum = 0.9 }}\n"),
        );
        let out = dir.path().join("export/model.safetensors");
        let outcome = export_run(&run, "last", &out, None).unwrap();
        let find = |name: &str| outcome.tensors.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{kind}: no {name} in {:?}", outcome.tensors));
        let prefixes: Vec<&str> = match kind {
            "mlp" => vec!["hidden.0.bn", "hidden.1.bn"],
            _ => vec!["conv.0.bn", "conv.1.bn", "dense.0.bn"],
        };
        for prefix in &prefixes {
            for p in ["weight", "bias", "running_mean", "running_var"] {
                assert_eq!(find(&format!("{prefix}.{p}")).dtype, "F32");
            }
            let counter = find(&format!("{prefix}.num_batches_tracked"));
            assert_eq!((counter.dtype.as_str(), counter.shape.as_slice()), ("I64", &[][..]));
        }
        // Every tensor is a parameter or a buffer PyTorch knows: nothing else (no Burn flags).
        let expected = match kind { "mlp" => 2 * 5 + 3 * 2, _ => 3 * 5 + 4 * 2 };
        assert_eq!(outcome.tensors.len(), expected, "{kind}: {:?}", outcome.tensors);
        // 300 samples in batches of 50: 6 training steps, each one batch through every BN.
        let bytes = std::fs::read(&out).unwrap();
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
        for prefix in &prefixes {
            let info = &header[format!("{prefix}.num_batches_tracked")];
            let start = 8 + len + info["data_offsets"][0].as_u64().unwrap() as usize;
            assert_eq!(i64::from_le_bytes(bytes[start..start + 8].try_into().unwrap()), 6);
            // The running statistics moved from their initial 0 (mean) and 1 (variance).
            let mean = tensor_values(&out, &format!("{prefix}.running_mean"));
            let var = tensor_values(&out, &format!("{prefix}.running_var"));
            assert!(mean.iter().any(|m| m.abs() > 1e-3), "{prefix}: running mean still 0: {mean:?}");
            assert!(var.iter().any(|v| (v - 1.0).abs() > 1e-3), "{prefix}: running variance still 1: {var:?}");
        }

        // Eval-mode logits of the loaded checkpoint: the running statistics, not the batch's.
        let loaded = load_run(&run, "last", None).unwrap();
        let device = Device::flex();
        device.seed(5);
        let x = Tensor::<4>::random([6, 1, 28, 28], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let logits = |x: Tensor<4>| match loaded.model.forward(x) {
            mnist_models::ModelOutput::Logits(l) => l.into_data().try_to_vec::<f32>().unwrap(),
            _ => panic!("a classifier"),
        };
        let all = logits(x.clone());
        // Per-sample: the first image alone gives the same logits as within the batch, which
        // batch statistics would not.
        let first = logits(x.clone().narrow(0, 0, 1));
        for (a, b) in first.iter().zip(&all[..10]) {
            assert!((a - b).abs() < 1e-4, "{kind}: eval output depends on the batch: {a} vs {b}");
        }
        if let Some(keep) = &keep {
            let d = keep.join(kind);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(&out, d.join("model.safetensors")).unwrap();
            std::fs::copy(sidecar_path(&out), d.join("model.json")).unwrap();
            let inputs = x.into_data().try_to_vec::<f32>().unwrap();
            let check = serde_json::json!({ "shape": [6, 1, 28, 28], "inputs": inputs, "logits": all });
            std::fs::write(d.join("check.json"), check.to_string()).unwrap();
        }
    }
}
