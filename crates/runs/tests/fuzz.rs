//! Property-based fuzz tests of the trainer's readers: the TOML config parser and validator
//! (every seed config of `configs/`, mutated as text and key by key), the run-directory readers
//! (`run.json`, `state.json` and the checkpoint lookups), the `model.bpk` weight loader, and
//! `load_run`, which `eval --run` goes through, over a whole mutated run directory. Every case must
//! give a typed error or a value that holds together, never a panic, and no single allocation
//! larger than the input justifies. Case count and seed: see `fuzz_support`
//! (`MNIST_BURN_FUZZ_CASES`, `MNIST_BURN_FUZZ_SEED`); `scripts/fuzz.sh` runs the long campaign.

#[path = "../../data/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::Device;
use burn::tensor::Tensor;
use fuzz_support::{MIB, Mutation, Pos, check_allocation, largest_allocation, mutation, pos, run};
use mnist_data::{NormStats, Normalization};
use mnist_models::{MlpConfig, ModelConfig};
use mnist_config::{Config, Experiment};
use mnist_runs::load::{load_run, load_weights};
use mnist_runs::run_dir::{CONFIG_FILE, Checkpoint, RUN_FILE, RunDir, RunInfo, TrainState};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Every seed config, as shipped.
const SEEDS: &[(&str, &str)] = &[
    ("cnn.toml", include_str!("../../../configs/cnn.toml")),
    ("conv_ae.toml", include_str!("../../../configs/conv_ae.toml")),
    ("conv_denoising_ae.toml", include_str!("../../../configs/conv_denoising_ae.toml")),
    ("conv_vae.toml", include_str!("../../../configs/conv_vae.toml")),
    ("deep_ae_dropout.toml", include_str!("../../../configs/deep_ae_dropout.toml")),
    ("deep_denoising_ae.toml", include_str!("../../../configs/deep_denoising_ae.toml")),
    ("denoising_ae.toml", include_str!("../../../configs/denoising_ae.toml")),
    ("hidden225_ae.toml", include_str!("../../../configs/hidden225_ae.toml")),
    ("linear_ae_2.toml", include_str!("../../../configs/linear_ae_2.toml")),
    ("linear_ae_2_pca.toml", include_str!("../../../configs/linear_ae_2_pca.toml")),
    ("linear_ae_64.toml", include_str!("../../../configs/linear_ae_64.toml")),
    ("mlp.toml", include_str!("../../../configs/mlp.toml")),
    ("mlp_500_300_l2_1e-2.toml", include_str!("../../../configs/mlp_500_300_l2_1e-2.toml")),
    ("mlp_500_300_l2_1e-3.toml", include_str!("../../../configs/mlp_500_300_l2_1e-3.toml")),
    ("mlp_500_300_l2_1e-4.toml", include_str!("../../../configs/mlp_500_300_l2_1e-4.toml")),
    ("single_layer_ae.toml", include_str!("../../../configs/single_layer_ae.toml")),
    ("smoke.toml", include_str!("../../../configs/smoke.toml")),
    ("softmax.toml", include_str!("../../../configs/softmax.toml")),
    ("strided_conv_dae.toml", include_str!("../../../configs/strided_conv_dae.toml")),
    ("vae.toml", include_str!("../../../configs/vae.toml")),
];

fn fail(what: &str, message: String) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {message}"))
}

/// The allocation bound of reading `len` bytes of text or JSON: the parsers' trees and strings
/// are a small multiple of their input; the constant covers serde's capped reservations.
fn text_bound(len: usize) -> usize {
    64 * len + MIB
}

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

/// TOML values written in place of another: numbers out of every range, non-finite floats,
/// wrong types, empty and very long arrays, nested and malformed ones.
fn toml_value_text() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "-1", "0", "1", "2", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "4294967296",
        "4294967295", "1_000_000_000_000", "0x7fffffffffffffff", "0o777", "0b1", "nan", "+nan", "-nan", "inf", "-inf",
        "-0.0", "1e308", "1e-320", "-1.5", "0.5", "1.0", "1e400", "\"\"", "\"mlp\"", "\"../x\"", "\".hidden\"", "\"flex\"",
        "\"wgpu\"", "\"x/y\"", "true", "false", "[]", "[0]", "[1, 2]", "[[]]", "[[[[[[1]]]]]]", "[\"a\", 1]", "{}",
        "{ kind = \"sgd\" }", "{ kind = \"gaussian\", std = -1.0 }", "{ kind = \"salt_and_pepper\", level = 2.0 }",
        "{ units = 0 }", "{ filters = 4294967296 }", "[{ filters = 0 }]", "[{ units = 18446744073709551615 }]",
        "1979-05-27T07:32:00Z", "'literal'", "\"\"\"multi\nline\"\"\"", "\"\\u0000\"", "\"\\uD800\"", "[", "{", "\"",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        6 => fixed,
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| format!("{v:?}")),
        1 => (any::<u32>(), 0usize..3000).prop_map(|(v, n)| format!("[{}]", vec![v.to_string(); n].join(", "))),
        1 => (0usize..400).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        1 => "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// TOML text inserted anywhere: section headers, stray keys, unbalanced brackets and quotes.
fn toml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\n[model]\n", "\n[training]\nepochs = 1\n", "\n[data]\n", "\n[experiment]\nname = \"x\"\n", "\nunknown = 1\n",
            "\n[[model]]\n", "\n[training.optimizer]\nkind = \"adam\"\n", "\n[data.train_noise]\nkind = \"gaussian\"\n",
            "\n[training.early_stopping]\npatience = 0\n", "\n[training.schedule]\nkind = \"step\"\nevery = 0\n",
            "\"\"\"", "'''", "#", "[", "]", "=", "{", "}", ",", "\n", "\r\n", "\t", "\0", "\u{feff}", "é", "\\",
            "\ndevice = \"vulkan\"\n", "\nkind = \"cnn\"\n", "a.b.c = 1\n", "\"quoted key\" = 2\n",
        ])
        .prop_map(str::to_string),
        toml_value_text(),
    ]
}

/// One change to a config's text.
#[derive(Debug, Clone)]
enum TextOp {
    /// A byte-level mutation (bit flip, truncation, ...); may break UTF-8.
    Bytes(Mutation),
    /// Insert a TOML fragment.
    Insert(Pos, String),
    /// Replace the value after the n-th `=` (up to the end of its line, or of its inline-table
    /// member) by another value.
    Value(usize, String),
    /// Delete the n-th line.
    DeleteLine(usize),
    /// Repeat the n-th line (duplicate keys).
    DuplicateLine(usize),
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        3 => mutation().prop_map(TextOp::Bytes),
        2 => (pos(), toml_fragment()).prop_map(|(p, f)| TextOp::Insert(p, f)),
        5 => (any::<usize>(), toml_value_text()).prop_map(|(n, v)| TextOp::Value(n, v)),
        1 => any::<usize>().prop_map(TextOp::DeleteLine),
        1 => any::<usize>().prop_map(TextOp::DuplicateLine),
    ]
}

fn apply_text_op(text: &mut Vec<u8>, op: &TextOp) {
    match op {
        TextOp::Bytes(m) => m.apply(text, text.len()),
        TextOp::Insert(p, fragment) => Mutation::Insert(p.clone(), fragment.as_bytes().to_vec()).apply(text, text.len()),
        TextOp::Value(n, value) => {
            let equals: Vec<usize> = text.iter().enumerate().filter(|(_, b)| **b == b'=').map(|(i, _)| i).collect();
            if equals.is_empty() {
                return;
            }
            let start = equals[n % equals.len()] + 1;
            let end = text[start..].iter().position(|b| matches!(b, b'\n' | b',' | b'}')).map_or(text.len(), |k| start + k);
            let replacement = format!(" {value}");
            text.splice(start..end, replacement.bytes());
        }
        TextOp::DeleteLine(n) | TextOp::DuplicateLine(n) => {
            let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let i = n % lines.len();
            if matches!(op, TextOp::DeleteLine(_)) {
                lines.remove(i);
            } else {
                let line = lines[i].clone();
                lines.insert(i, line);
            }
            *text = lines.join(&b'\n');
        }
    }
}

/// Checks what an accepted config promises: its saved TOML (what a run directory keeps) reads back
/// to the same experiment, and the model it describes builds and summarizes (what `--dry-run`
/// does) without allocating from the sizes it names; parameters are only materialized later,
/// after the trainer's memory check.
fn check_accepted(experiment: &Experiment, path: &Path, input_len: usize) -> Result<(), TestCaseError> {
    let c = experiment.config();
    let saved = c.to_toml();
    let again = Config::parse(&saved, path).and_then(|parsed| Experiment::new(parsed, path));
    match again {
        Ok(e) if e.config() == c => {}
        Ok(e) => return Err(fail("config", format!("the saved TOML reads back differently:\n{saved}\n{:?}", e.config()))),
        Err(e) => return Err(fail("config", format!("the saved TOML of an accepted config is refused: {e}\n{saved}"))),
    }
    let ((model, summary), largest) = largest_allocation(|| {
        let model = c.model.init(&Device::flex());
        let summary = model.summary();
        (model, summary)
    });
    check_allocation("model init and summary of an accepted config", largest, text_bound(input_len + saved.len()))?;
    // The parameter count the trainer budgets memory with must be the true one: counted again
    // from the (lazy, never materialized) parameter shapes without overflow, it must agree.
    let mut counted = ParamCount(Some(0));
    model.visit(&mut counted);
    if counted.0 != Some(summary.total_params() as u128) {
        return Err(fail("config", format!("the summary counts {} parameters but the model has {:?}:\n{saved}", summary.total_params(), counted.0)));
    }
    Ok(())
}

/// Sums the element counts of a module's parameters in `u128`, `None` on overflow.
struct ParamCount(Option<u128>);

impl ParamCount {
    fn add(&mut self, shape: burn::tensor::Shape) {
        let n = shape.as_slice().iter().try_fold(1u128, |n, &d| n.checked_mul(d as u128));
        self.0 = self.0.zip(n).and_then(|(total, n)| total.checked_add(n));
    }
}

impl ModuleVisitor for ParamCount {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.add(param.lazy_shape());
    }
}

/// Reads a config file the way `train --config` does, and directly from text the way `eval`
/// reads a run's saved config.
fn check_config(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    std::fs::write(path, bytes).unwrap();
    let (loaded, largest) = largest_allocation(|| Experiment::load(path));
    check_allocation("Experiment::load", largest, text_bound(bytes.len()))?;
    if let Ok(text) = std::str::from_utf8(bytes) {
        let (direct, largest) = largest_allocation(|| Config::parse(text, path).and_then(|c| Experiment::new(c, path)));
        check_allocation("Config::parse + Experiment::new", largest, text_bound(bytes.len()))?;
        if direct.is_ok() != loaded.is_ok() {
            return Err(fail("config", format!("Experiment::load and parse + new disagree: {loaded:?} vs {direct:?}")));
        }
    }
    match loaded {
        Ok(experiment) => {
            fuzz_support::accepted();
            check_accepted(&experiment, path, bytes.len())
        }
        Err(e) => {
            let message = e.to_string();
            if !message.contains(&*path.to_string_lossy()) || message.contains('\n') {
                return Err(fail("config", format!("the error must name the file on one line: {message:?}")));
            }
            Ok(())
        }
    }
}

#[test]
fn config_text() {
    let dir = fuzz_support::scratch_dir();
    let path = dir.path().join("config.toml");
    let strategy = (0..SEEDS.len(), prop::collection::vec(text_op(), 0..4));
    run("config_text", strategy, |(seed, ops)| {
        let mut text = SEEDS[seed].1.as_bytes().to_vec();
        for op in &ops {
            apply_text_op(&mut text, op);
        }
        let untouched = ops.is_empty();
        let result = check_config(&path, &text);
        if untouched && Experiment::load(&path).is_err() {
            return Err(fail("config", format!("the seed config {} is refused", SEEDS[seed].0)));
        }
        result
    });
}

/// A TOML value generated as a tree (for key-level mutations).
fn toml_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(-1i64), Just(0), Just(1), Just(1i64 << 32), any::<i64>()].prop_map(toml::Value::Integer),
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0), Just(1e308), Just(0.5), any::<f64>()]
            .prop_map(toml::Value::Float),
        prop::sample::select(vec!["", "mlp", "sgd", "relu", "sigmoid", "same", "valid", "gaussian", "flex", "val_accuracy", "x/y"])
            .prop_map(|s| toml::Value::String(s.to_string())),
        any::<bool>().prop_map(toml::Value::Boolean),
        (any::<u32>(), 0usize..2000).prop_map(|(v, n)| toml::Value::Array(vec![toml::Value::Integer(v as i64); n])),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(key(), inner, 0..3).prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

/// Keys of the schema (so inserted keys are often known ones in the wrong place) and unknown ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(vec![
            "kind", "hidden", "epochs", "steps", "batch_size", "learning_rate", "dropout", "encoder", "decoder", "filters",
            "kernel_size", "stride", "padding", "units", "latent_dim", "pool_size", "pool_padding", "mirror",
            "validation_fraction", "train_limit", "test_limit", "train_noise", "eval_noise", "level", "std", "factor",
            "mean", "clip", "schedule", "every", "gamma", "min", "early_stopping", "patience", "min_delta", "monitor",
            "beta", "l1", "l2", "momentum", "nesterov", "rho", "epsilon", "beta_1", "beta_2", "weight_decay", "centered",
            "log_every", "keep_checkpoints", "device", "seed", "name", "set", "dir", "normalization", "noise_mode",
            "activation", "output_activation", "output_kernel_size", "per_step_log", "shuffle", "loss", "optimizer",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_]{1,10}",
    ]
}

/// One key-level change: the n-th leaf (or table) of the parsed config replaced, removed, or given
/// a new key.
#[derive(Debug, Clone)]
enum KeyOp {
    Replace(usize, toml::Value),
    Remove(usize),
    Add(usize, String, toml::Value),
    /// The n-th value given another of its own type (so that the config still parses and the
    /// validator, not the parser, has to judge it): an integer or float from the edge values,
    /// an array resized, a string swapped, a boolean flipped.
    Perturb { n: usize, int: i64, float: f64, len: usize, string: String },
}

fn key_op() -> impl Strategy<Value = KeyOp> {
    let int = prop_oneof![
        prop::sample::select(vec![0i64, 1, 2, 3, -1, 28, 29, 64, 784, 1 << 20, 1 << 31, 1 << 32, 1 << 40, i64::MAX, i64::MIN]),
        any::<i64>(),
    ];
    let float = prop_oneof![
        prop::sample::select(vec![0.0, -0.0, 1.0, -1.0, 0.5, 0.999_999_9, 1e-9, 1e9, 1e308, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE]),
        any::<f64>(),
    ];
    let string = prop::sample::select(vec![
        "", "mlp", "cnn", "vae", "sgd", "adam", "relu", "sigmoid", "linear", "same", "valid", "gaussian", "salt_and_pepper",
        "fresh", "standardize", "min_max", "flex", "ndarray", "val_accuracy", "cosine", "step", "x/y", ".x", "fashion-mnist",
    ]);
    let perturb = (any::<usize>(), int, float, prop_oneof![0usize..4, 0usize..3000], string)
        .prop_map(|(n, int, float, len, string)| KeyOp::Perturb { n, int, float, len, string: string.to_string() });
    prop_oneof![
        8 => perturb,
        6 => (any::<usize>(), toml_value()).prop_map(|(n, v)| KeyOp::Replace(n, v)),
        2 => any::<usize>().prop_map(KeyOp::Remove),
        2 => (any::<usize>(), key(), toml_value()).prop_map(|(n, k, v)| KeyOp::Add(n, k, v)),
    ]
}

/// Paths to every value of a tree (tables, arrays and leaves), parents before children.
fn value_paths(value: &toml::Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                prefix.push(k.clone());
                out.push(prefix.clone());
                value_paths(v, prefix, out);
                prefix.pop();
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                prefix.push(format!("#{i}"));
                out.push(prefix.clone());
                value_paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The parent container of `path` and the last step, walked from `root`.
fn at_path<'a>(root: &'a mut toml::Value, path: &[String]) -> Option<&'a mut toml::Value> {
    let mut cur = root;
    for step in path {
        cur = match (cur, step.strip_prefix('#')) {
            (toml::Value::Array(a), Some(i)) => a.get_mut(i.parse::<usize>().ok()?)?,
            (toml::Value::Table(t), None) => t.get_mut(step)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn apply_key_op(root: &mut toml::Value, op: &KeyOp) {
    let mut paths = Vec::new();
    value_paths(root, &mut Vec::new(), &mut paths);
    if paths.is_empty() {
        return;
    }
    match op {
        KeyOp::Replace(n, v) => {
            if let Some(slot) = at_path(root, &paths[n % paths.len()]) {
                *slot = v.clone();
            }
        }
        KeyOp::Remove(n) => {
            let path = &paths[n % paths.len()];
            let (last, parent) = path.split_last().unwrap();
            match (at_path(root, parent), last.strip_prefix('#')) {
                (Some(toml::Value::Table(t)), None) => {
                    t.remove(last);
                }
                (Some(toml::Value::Array(a)), Some(i)) => {
                    a.remove(i.parse().unwrap());
                }
                _ => {}
            }
        }
        KeyOp::Perturb { n, int, float, len, string } => {
            if let Some(slot) = at_path(root, &paths[n % paths.len()]) {
                match slot {
                    toml::Value::Integer(v) => *v = *int,
                    toml::Value::Float(v) => *v = *float,
                    toml::Value::String(v) => v.clone_from(string),
                    toml::Value::Boolean(v) => *v = !*v,
                    toml::Value::Array(a) => match a.first().cloned() {
                        Some(first) => a.resize(*len, first),
                        None => a.clear(),
                    },
                    _ => {}
                }
            }
        }
        KeyOp::Add(n, k, v) => {
            // Into the n-th table (the root counts as one).
            let tables: Vec<&Vec<String>> = paths.iter().filter(|p| matches!(at_path(root, p), Some(toml::Value::Table(_)))).collect();
            let target: Vec<String> = if *n % (tables.len() + 1) == 0 { Vec::new() } else { tables[n % (tables.len() + 1) - 1].clone() };
            if let Some(toml::Value::Table(t)) = at_path(root, &target) {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

#[test]
fn config_values() {
    let dir = fuzz_support::scratch_dir();
    let path = dir.path().join("config.toml");
    let parsed: Vec<toml::Value> = SEEDS.iter().map(|(_, text)| toml::from_str(text).unwrap()).collect();
    let strategy = (0..SEEDS.len(), prop::collection::vec(key_op(), 1..4));
    run("config_values", strategy, |(seed, ops)| {
        let mut value = parsed[seed].clone();
        for op in &ops {
            apply_key_op(&mut value, op);
        }
        // A tree TOML cannot write (a table after values in an array, say) is not a config file.
        let Ok(text) = toml::to_string(&value) else { return Ok(()) };
        check_config(&path, text.as_bytes())
    });
}

// ---------------------------------------------------------------------------------------------
// Run directories
// ---------------------------------------------------------------------------------------------

/// Raw JSON written in place of a value: numbers out of every range, wrong types, deep nesting
/// (balanced and not), long strings and long digit runs.
fn json_value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "1e400", "-1e400", "-1", "-0", "0", "1.5", "18446744073709551616", "18446744073709551615", "9223372036854775808",
            "-9223372036854775809", "NaN", "Infinity", "null", "true", "\"\"", "\"x\"", "[]", "{}", "[1,2,3]", "{\"a\":1}",
            "\"\\ud800\"", "\"\\u0000\"", "0.0000000000000000000000000000000001e-400", "1e-400", "01", "+1", ".5", "1.", "-",
            "\"mlp\"", "{\"kind\":\"mlp\",\"hidden\":[4]}", "{\"kind\":\"mlp\",\"hidden\":[18446744073709551615]}",
        ])
        .prop_map(str::to_string),
        1 => (1usize..6000).prop_map(|n| format!("{}0{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..6000).prop_map(|n| "{\"a\":".repeat(n) + "0" + &"}".repeat(n)),
        1 => (1usize..6000).prop_map(|n| "[".repeat(n)),
        1 => (0usize..20000).prop_map(|n| format!("\"{}\"", "a".repeat(n))),
        1 => (1usize..2000).prop_map(|n| "9".repeat(n)),
        1 => any::<f64>().prop_map(|v| format!("{v:e}")),
    ]
}

/// One change to a JSON file: at the byte level, or a value (found by its position among all
/// values) replaced by raw JSON text.
#[derive(Debug, Clone)]
enum JsonOp {
    Bytes(Mutation),
    Value(usize, String),
}

fn json_op() -> impl Strategy<Value = JsonOp> {
    prop_oneof![mutation().prop_map(JsonOp::Bytes), (any::<usize>(), json_value_text()).prop_map(|(n, v)| JsonOp::Value(n, v))]
}

/// The JSON text of `value` with `ops` applied.
fn mutated_json(value: &serde_json::Value, ops: &[JsonOp]) -> Vec<u8> {
    let mut value = value.clone();
    // Value replacements go through a placeholder: the replacement text itself may be no JSON
    // (or JSON nested too deep for `serde_json::Value` to write).
    const HOLE: &str = "@@fuzz-hole@@";
    let mut holes = Vec::new();
    for op in ops {
        if let JsonOp::Value(n, text) = op {
            let mut pointers = Vec::new();
            json_pointers(&value, String::new(), &mut pointers);
            if let Some(slot) = value.pointer_mut(&pointers[n % pointers.len()]) {
                *slot = serde_json::Value::String(format!("{HOLE}{}", holes.len()));
                holes.push(text.clone());
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap();
    for (i, replacement) in holes.iter().enumerate().rev() {
        text = text.replace(&format!("\"{HOLE}{i}\""), replacement);
    }
    let mut bytes = text.into_bytes();
    for op in ops {
        if let JsonOp::Bytes(m) = op {
            m.apply(&mut bytes, 64);
        }
    }
    bytes
}

/// JSON pointers to every value below the root.
fn json_pointers(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| json_pointers(v, format!("{at}/{k}"), out)),
        serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| json_pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![3 => -10.0f64..10.0, 1 => Just(0.0), 1 => any::<f64>().prop_filter("finite (JSON)", |f| f.is_finite())]
}

// The run files are built as JSON and deserialized, not as struct literals: fields added later
// with a serde default (as run files grow) leave these generators valid.

fn run_info() -> impl Strategy<Value = RunInfo> {
    (
        prop::sample::select(vec![Normalization::Unit, Normalization::MinMax, Normalization::Standardize]),
        -300.0f32..300.0,
        0.001f32..300.0,
        any::<[u32; 3]>(),
        any::<bool>(),
        prop::sample::select(vec!["flex", "ndarray", "wgpu"]),
        any::<bool>(),
    )
        .prop_map(|(kind, offset, scale, sizes, validation_is_test, backend, finished)| {
            serde_json::from_value(serde_json::json!({
                "norm_stats": NormStats { kind, offset, scale },
                "split_sizes": sizes,
                "validation_is_test": validation_is_test,
                "backend": backend,
                "finished": finished,
            }))
            .expect("a valid run.json")
        })
}

fn metric_row() -> impl Strategy<Value = serde_json::Value> {
    (1usize..100, prop::sample::select(vec!["train", "validation", "test"]), float(), prop::option::of(float()), float()).prop_map(
        |(epoch, split, loss, accuracy, learning_rate)| {
            serde_json::json!({
                "epoch": epoch, "split": split, "loss": loss, "reconstruction": null, "kl": null, "l2": null, "l1": null,
                "accuracy": accuracy, "mse": null, "psnr": null, "learning_rate": learning_rate, "seconds": 1.5,
            })
        },
    )
}

fn tiny_model() -> ModelConfig {
    ModelConfig::Mlp(MlpConfig { hidden: vec![4], ..MlpConfig::default() })
}

/// A checkpoint's state after `epoch` epochs.
fn state(epoch: usize, best_epoch: Option<usize>, best_value: Option<f64>, history: Vec<serde_json::Value>, stopped: bool, model: Option<ModelConfig>) -> TrainState {
    serde_json::from_value(serde_json::json!({
        "epoch": epoch,
        "global_step": epoch * 10,
        "best_epoch": best_epoch,
        "best_value": best_value,
        "stale_epochs": 0,
        "stopped": stopped,
        "history": history,
        "model": model,
    }))
    .expect("a valid state.json")
}

fn train_state(epoch: usize) -> impl Strategy<Value = TrainState> {
    (prop::option::of(prop_oneof![Just(1usize), Just(2), Just(3), Just(usize::MAX)]), prop::option::of(float()), prop::collection::vec(metric_row(), 0..4), any::<bool>(), any::<bool>())
        .prop_map(move |(best_epoch, best_value, history, stopped, model)| state(epoch, best_epoch, best_value, history, stopped, model.then(tiny_model)))
}

/// A run directory with `config.toml` (the smoke config) and nothing else yet.
fn empty_run(root: &Path) -> RunDir {
    std::fs::write(root.join(CONFIG_FILE), SEEDS.iter().find(|(n, _)| *n == "smoke.toml").unwrap().1).unwrap();
    RunDir::open(root).unwrap()
}

#[test]
fn run_json() {
    let dir = fuzz_support::scratch_dir();
    let run_dir = empty_run(dir.path());
    let path = dir.path().join(RUN_FILE);
    let strategy = (run_info(), prop::collection::vec(json_op(), 0..4));
    run("run_json", strategy, |(info, ops)| {
        let bytes = mutated_json(&serde_json::to_value(&info).unwrap(), &ops);
        std::fs::write(&path, &bytes).unwrap();
        let (result, largest) = largest_allocation(|| run_dir.read_info());
        check_allocation("read_info", largest, text_bound(bytes.len()))?;
        match result {
            Ok(Some(read)) => {
                fuzz_support::accepted();
                let s = read.norm_stats;
                if !(s.offset.is_finite() && s.scale.is_finite() && s.scale > 0.0) {
                    return Err(fail("read_info", format!("accepted unusable norm_stats {s:?}")));
                }
                if ops.is_empty() && read != info {
                    return Err(fail("read_info", format!("read {read:?} back from {info:?}")));
                }
            }
            Ok(None) => return Err(fail("read_info", "run.json is there but was not read".into())),
            Err(e) => {
                if ops.is_empty() {
                    return Err(fail("read_info", format!("refused a valid run.json: {e}")));
                }
                if !e.to_string().contains(RUN_FILE) {
                    return Err(fail("read_info", format!("the error does not name run.json: {e}")));
                }
            }
        }
        Ok(())
    });
}

/// Checkpoints to lay out: `epoch-0001` with a mutated state, and optionally a valid
/// `epoch-0002` whose state names its best epoch.
#[derive(Debug, Clone)]
struct StateCase {
    first: TrainState,
    ops: Vec<JsonOp>,
    second: Option<TrainState>,
    /// An extra directory name in `checkpoints/` (ignored or read, never a panic).
    stray: Option<String>,
}

#[test]
fn state_json() {
    let dir = fuzz_support::scratch_dir();
    let run_dir = empty_run(dir.path());
    let checkpoints = dir.path().join("checkpoints");
    let stray = prop::option::weighted(
        0.1,
        prop::sample::select(vec!["epoch-", "epoch-+3", "epoch-99999999999999999999999", "epoch-0000", ".tmp-epoch-0003", "epoch-0003"]),
    );
    let strategy = (train_state(1), prop::collection::vec(json_op(), 0..4), prop::option::of(train_state(2)), stray)
        .prop_map(|(first, ops, second, stray)| StateCase { first, ops, second, stray: stray.map(str::to_string) });
    run("state_json", strategy, |case| {
        if checkpoints.exists() {
            std::fs::remove_dir_all(&checkpoints).unwrap();
        }
        let first = checkpoints.join("epoch-0001");
        std::fs::create_dir_all(&first).unwrap();
        let bytes = mutated_json(&serde_json::to_value(&case.first).unwrap(), &case.ops);
        std::fs::write(first.join("state.json"), &bytes).unwrap();
        std::fs::write(first.join("model.bpk"), b"").unwrap();
        let mut input = bytes.len();
        if let Some(second) = &case.second {
            let dir = checkpoints.join("epoch-0002");
            std::fs::create_dir_all(&dir).unwrap();
            let text = serde_json::to_vec(second).unwrap();
            input += text.len();
            std::fs::write(dir.join("state.json"), text).unwrap();
        }
        if let Some(name) = &case.stray {
            // Without a state.json: a half-written checkpoint.
            std::fs::create_dir_all(checkpoints.join(name)).unwrap();
        }
        let bound = text_bound(input);
        let (all, largest) = largest_allocation(|| run_dir.checkpoints());
        check_allocation("checkpoints", largest, bound)?;
        if all.is_ok() {
            fuzz_support::accepted();
        }
        if let Err(e) = &all
            && case.ops.is_empty()
            && case.stray.is_none()
        {
            return Err(fail("checkpoints", format!("refused valid checkpoints: {e}")));
        }
        for which in ["last", "best", first.to_str().unwrap(), first.join("model.bpk").to_str().unwrap()] {
            let (found, largest) = largest_allocation(|| run_dir.resolve_checkpoint(which));
            check_allocation("resolve_checkpoint", largest, bound)?;
            match found {
                Ok(c) => {
                    if !c.dir.join("state.json").is_file() {
                        return Err(fail("resolve_checkpoint", format!("{which}: resolved to {} without a state.json", c.dir.display())));
                    }
                    if which == "best"
                        && let Some(best) = all.as_ref().ok().and_then(|a| a.last()).and_then(|l| l.state.best_epoch)
                        && c.state.epoch != best
                    {
                        return Err(fail("resolve_checkpoint", format!("best is epoch {} but the state names {best}", c.state.epoch)));
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    if !message.contains("checkpoint") && !message.contains("state.json") {
                        return Err(fail("resolve_checkpoint", format!("{which}: the error names no checkpoint: {message}")));
                    }
                }
            }
        }
        let (_, largest) = largest_allocation(|| (run_dir.last_checkpoint(), run_dir.best_checkpoint()));
        check_allocation("last_checkpoint / best_checkpoint", largest, bound)?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// model.bpk
// ---------------------------------------------------------------------------------------------

/// The bytes of a real `model.bpk` of `config` (built, saved by Burn, read back).
fn model_file(config: &ModelConfig, dir: &Path) -> Vec<u8> {
    let path = dir.join("template.bpk");
    config.init(&Device::flex()).save_file(&path).unwrap();
    std::fs::read(&path).unwrap()
}

/// Where a burnpack's tensor data starts (its header and CBOR metadata come before): the region
/// that mutations aim at most.
fn burnpack_head(bytes: &[u8]) -> usize {
    let metadata = u32::from_le_bytes(bytes[6..10].try_into().unwrap()) as usize;
    10 + metadata
}

/// One change to a model file: at the byte level, or a dtype name in its metadata replaced (CBOR
/// stores them as short text strings, so a same-length swap keeps the file well-formed).
#[derive(Debug, Clone)]
enum BpkOp {
    Bytes(Mutation),
    Dtype(usize, &'static str),
    /// The header's metadata length (bytes 6..10, little-endian), anywhere up to Burn's own 100 MB
    /// limit and beyond.
    MetadataSize(u32),
}

fn bpk_op() -> impl Strategy<Value = BpkOp> {
    prop_oneof![
        8 => mutation().prop_map(BpkOp::Bytes),
        1 => (any::<usize>(), prop::sample::select(vec!["I32", "U32", "F64", "F16", "I64", "U64", "I16", "U16"])).prop_map(|(n, d)| BpkOp::Dtype(n, d)),
        1 => prop_oneof![0u32..1 << 16, 0u32..100 << 20, fuzz_support::edge_u32()].prop_map(BpkOp::MetadataSize),
    ]
}

fn apply_bpk_ops(mut bytes: Vec<u8>, ops: &[BpkOp], head: usize) -> Vec<u8> {
    for op in ops {
        match op {
            BpkOp::Bytes(m) => m.apply(&mut bytes, head),
            BpkOp::Dtype(n, name) => {
                let hits: Vec<usize> = bytes.windows(3).enumerate().filter(|(_, w)| *w == b"F32").map(|(i, _)| i).collect();
                if !hits.is_empty() {
                    let at = hits[n % hits.len()];
                    bytes[at..at + 3].copy_from_slice(name.as_bytes());
                }
            }
            BpkOp::MetadataSize(size) => Mutation::SetU32 { at: Pos::Any(6), value: *size, big_endian: false }.apply(&mut bytes, head),
        }
    }
    bytes
}

/// A loaded model must run: a forward pass on one blank image.
fn check_forward(model: &mnist_models::Model, device: &Device) -> Result<(), TestCaseError> {
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.forward(Tensor::<4>::zeros([1, 1, 28, 28], device));
    }));
    out.map_err(|_| fail("load_weights", "accepted weights that the model cannot run with".into()))
}

#[test]
fn model_bpk() {
    let dir = fuzz_support::scratch_dir();
    let config = tiny_model();
    let template = model_file(&config, dir.path());
    let head = burnpack_head(&template);
    let checkpoint_dir = dir.path().join("checkpoints").join("epoch-0001");
    std::fs::create_dir_all(&checkpoint_dir).unwrap();
    let device = Device::flex();
    let state = state(1, None, None, Vec::new(), false, Some(config.clone()));
    let checkpoint = Checkpoint { dir: checkpoint_dir.clone(), state };
    let strategy = prop::collection::vec(bpk_op(), 0..5);
    run("model_bpk", strategy, |ops| {
        let bytes = apply_bpk_ops(template.clone(), &ops, head);
        std::fs::write(checkpoint.model_file(), &bytes).unwrap();
        let model = config.init(&device);
        let (result, largest) = largest_allocation(|| load_weights(model, &checkpoint, &config, dir.path()));
        // The file is read at most whole, its tensors copied once more on loading.
        check_allocation("load_weights", largest, 16 * bytes.len() + MIB)?;
        match result {
            Ok(model) => {
                fuzz_support::accepted();
                check_forward(&model, &device)?
            }
            Err(e) => {
                if ops.is_empty() {
                    return Err(fail("load_weights", format!("refused a valid model.bpk: {e}")));
                }
                let message = e.to_string();
                if !message.contains("model.bpk") || message.contains('\n') {
                    return Err(fail("load_weights", format!("the error must name model.bpk on one line: {message:?}")));
                }
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// A whole run directory, as `eval --run` reads it
// ---------------------------------------------------------------------------------------------

/// Which file of the run to mutate, how (each file with the mutations of its own format), and
/// which checkpoint to ask for.
#[derive(Debug, Clone)]
struct RunCase {
    config: Vec<TextOp>,
    run_json: Vec<JsonOp>,
    state_json: Vec<JsonOp>,
    model: Vec<BpkOp>,
    which: usize,
}

impl RunCase {
    fn untouched(&self) -> bool {
        self.config.is_empty() && self.run_json.is_empty() && self.state_json.is_empty() && self.model.is_empty()
    }
}

fn run_case() -> impl Strategy<Value = RunCase> {
    // One file mutated per case (the others valid), so each reaches the readers after it.
    let target = 0usize..4;
    (
        target,
        prop::collection::vec(text_op(), 1..4),
        prop::collection::vec(json_op(), 1..4),
        prop::collection::vec(json_op(), 1..4),
        prop::collection::vec(bpk_op(), 1..4),
        0usize..3,
        prop::bool::weighted(0.05),
    )
        .prop_map(|(target, config, run_json, state_json, model, which, valid)| {
            let keep = |i: usize| !valid && target == i;
            RunCase {
                config: if keep(0) { config } else { Vec::new() },
                run_json: if keep(1) { run_json } else { Vec::new() },
                state_json: if keep(2) { state_json } else { Vec::new() },
                model: if keep(3) { model } else { Vec::new() },
                which,
            }
        })
}

#[test]
fn run_dir_load() {
    let dir = fuzz_support::scratch_dir();
    let root = dir.path().join("run");
    let config = tiny_model();
    let mut experiment: Config = toml::from_str(SEEDS.iter().find(|(n, _)| *n == "smoke.toml").unwrap().1).unwrap();
    experiment.model = config.clone();
    experiment.device = Some("flex".into());
    let epoch = PathBuf::from("checkpoints").join("epoch-0001");
    let info = serde_json::json!({
        "norm_stats": NormStats { kind: Normalization::Unit, offset: 0.0, scale: 255.0 },
        "split_sizes": [1800, 200, 500],
        "validation_is_test": false,
        "backend": "flex",
        "finished": true,
    });
    let state = serde_json::to_value(state(1, Some(1), Some(0.5), Vec::new(), false, Some(config.clone()))).unwrap();
    let config_text = experiment.to_toml().into_bytes();
    let model = model_file(&config, dir.path());
    let head = burnpack_head(&model);
    let device = Device::flex();
    run("run_dir_load", run_case(), |case| {
        let mut text = config_text.clone();
        for op in &case.config {
            apply_text_op(&mut text, op);
        }
        let files = [
            (PathBuf::from(CONFIG_FILE), text),
            (PathBuf::from(RUN_FILE), mutated_json(&info, &case.run_json)),
            (epoch.join("state.json"), mutated_json(&state, &case.state_json)),
            (epoch.join("model.bpk"), apply_bpk_ops(model.clone(), &case.model, head)),
        ];
        let mut total = 0;
        for (name, bytes) in &files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            total += bytes.len();
            std::fs::write(&path, bytes).unwrap();
        }
        let epoch = root.join("checkpoints").join("epoch-0001");
        let which = ["best", "last", epoch.to_str().unwrap()][case.which];
        let (result, largest) = largest_allocation(|| load_run(&root, which, Some("flex")));
        check_allocation("load_run", largest, 16 * total + 2 * MIB)?;
        match result {
            Ok(loaded) => {
                fuzz_support::accepted();
                check_forward(&loaded.model, &device)?
            }
            Err(e) => {
                if case.untouched() {
                    return Err(fail("load_run", format!("refused a valid run: {e}")));
                }
                if e.to_string().contains('\n') {
                    return Err(fail("load_run", format!("the error must be one line: {e:?}")));
                }
            }
        }
        Ok(())
    });
}
