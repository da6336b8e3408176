//! Example values for the keys whose type a user cannot guess from the name, shared by the
//! error messages (`messages`) and the generated reference (`reference`).

/// Examples of values for the keys whose type a user cannot guess from the name: tables tagged by
/// `kind`, tables, arrays. Each one is checked by a test to parse as the key's type.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("training.schedule", r#"{ kind = "step", every = 10, gamma = 0.5 }"#),
    ("training.optimizer", r#"{ kind = "adam", beta_1 = 0.9 }"#),
    ("training.early_stopping", r#"{ patience = 5, monitor = "val_loss", min_delta = 0.0 }"#),
    ("data.train_noise", r#"{ kind = "gaussian", factor = 0.5 }"#),
    ("data.eval_noise", r#"{ kind = "salt_and_pepper", level = 0.2 }"#),
    ("model.hidden", "[64, 64]"),
    ("model.encoder", r#"[{ units = 64, activation = "relu" }]"#),
    ("model.decoder", r#"[{ units = 64, activation = "relu" }]"#),
];

/// The example value of `key` (dotted, with any `[i]` index removed), if one is listed.
pub fn example(key: &str) -> Option<&'static str> {
    let key = strip_indices(key);
    EXAMPLES.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

pub(crate) fn strip_indices(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut depth = 0;
    for c in key.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
