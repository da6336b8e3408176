//! Serde's error messages restated in the words of a TOML file: `expected usize` becomes "a whole
//! number (0 or more)", `expected internally tagged enum Schedule` "a table with a `kind` key" and
//! an example, `unknown field` "unknown key". The config parser names the key; this module only
//! rewrites what serde says about it, so no Rust type name reaches a user.

use crate::examples::example;

/// What serde expects, in TOML words; `key` (dotted) is the key the value belongs to, when known,
/// for an example.
pub fn expected_in_toml(expected: &str, key: Option<&str>) -> String {
    let leaf = key.map(|k| k.trim_start_matches('[').trim_end_matches(']')).map(|k| k.rsplit('.').next().unwrap_or(k).split('[').next().unwrap_or(k).to_string());
    let eg = |value: &str| match &leaf {
        Some(leaf) if !leaf.is_empty() => format!(", e.g. {leaf} = {value}"),
        _ => format!(", e.g. {value}"),
    };
    let listed = key.and_then(example);
    let word = expected.trim();
    let unsigned = ["usize", "u64", "u32", "u16", "u8"];
    let signed = ["isize", "i64", "i32", "i16", "i8"];
    if unsigned.contains(&word) {
        return format!("a whole number (0 or more){}", eg("10"));
    }
    if signed.contains(&word) {
        return format!("a whole number{}", eg("10"));
    }
    if word == "f64" || word == "f32" {
        return format!("a number{}", eg("0.01"));
    }
    if word == "a boolean" || word == "bool" {
        return format!("true or false{}", eg("true"));
    }
    if word == "path string" {
        return format!("a path in quotes{}", eg("\"data/mnist\""));
    }
    if word.starts_with("a string") || word == "a borrowed string" || word == "a character" {
        return format!("a string in quotes{}", eg("\"...\""));
    }
    if word == "a sequence" || word.starts_with("a sequence") || word.starts_with("an array") {
        return format!("an array{}", eg(listed.unwrap_or("[64, 32]")));
    }
    if (word == "wanted string or table" || word.starts_with("enum ")) && listed.is_none() {
        return match key.and_then(|k| crate::reference::choices(k.trim_start_matches('[').trim_end_matches(']'))) {
            Some(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                format!("one of {}{}", quoted.join(", "), eg(&quoted[0]))
            }
            None => format!("one of the names this key takes, in quotes{}", eg("\"...\"")),
        };
    }
    if word.starts_with("internally tagged enum") || word == "wanted string or table" {
        return match listed {
            Some(v) => format!("a table with a `kind` key{}", eg(v)),
            None => "a table with a `kind` key".to_string(),
        };
    }
    if word.starts_with("struct ") || word == "a map" || word == "map" {
        return match listed {
            Some(v) => format!("a table{}", eg(v)),
            None => "a table of keys".to_string(),
        };
    }
    if word.starts_with("enum ") || word.starts_with("variant identifier") {
        return "one of the names listed for this key, in quotes".to_string();
    }
    // Already words (`a valid ...`) or a list of choices: keep it.
    word.to_string()
}

/// serde's description of the value it found (`string "two"`, ``integer `-3` ``, `map`), in
/// TOML words: `the string "two"`, `-3`, `a table`.
pub fn found_in_toml(found: &str) -> String {
    let found = found.trim();
    let literal = |prefix: &str| found.strip_prefix(prefix).map(|v| v.trim().trim_matches('`').to_string());
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    for prefix in ["integer", "floating point", "boolean"] {
        if let Some(v) = literal(prefix) {
            return v;
        }
    }
    match found {
        "map" => "a table".into(),
        "sequence" => "an array".into(),
        "unit value" => "an empty value".into(),
        other => other.to_string(),
    }
}

/// The closest of `choices` to `word` by edit distance, when it is close (a typo, `directory`
/// for `dir`): at most a third of the longer word differs, or one is the start of the other.
pub fn closest<'a>(word: &str, choices: &[&'a str]) -> Option<&'a str> {
    choices
        .iter()
        .map(|c| (*c, edit_distance(word, c)))
        .filter(|(c, d)| *d * 3 <= word.len().max(c.len()) || (c.len() >= 3 && word.starts_with(c)) || (word.len() >= 3 && c.starts_with(word)))
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The names of serde's ``expected one of `a`, `b` `` / ``expected `a` or `b` `` list.
fn choices(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// Rewrites one serde message about `key` (dotted; `[table]` for a table, `None` when not
/// known) in TOML words. Messages that are not serde's (TOML syntax) come back unchanged.
pub fn restate(message: &str, key: Option<&str>) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("expected {}; found {}", expected_in_toml(expected, key), found_in_toml(found));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((value, list)) = rest.split_once('`') {
            let names = choices(list);
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            let hint = closest(value, &names).map(|c| format!(" (did you mean \"{c}\"?)")).unwrap_or_default();
            return format!("unknown value \"{value}\"{hint}; expected one of {}", quoted.join(", "));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, list)) = rest.split_once('`') {
            let names = choices(list);
            let hint = closest(field, &names).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
            let keys: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let shown = match key.map(|k| k.trim_start_matches('[').trim_end_matches(']')) {
                Some(k) if k == field || k.ends_with(&format!(".{field}")) => k.to_string(),
                Some(k) => format!("{k}.{field}"),
                None => field.to_string(),
            };
            return if keys.is_empty() {
                format!("unknown key `{shown}`: this table takes no keys")
            } else {
                format!("unknown key `{shown}`{hint}, expected one of {}", keys.join(", "))
            };
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let table = key.map(|k| k.trim_start_matches('[').trim_end_matches(']'));
        let example = table.and_then(example).map(|v| format!(", e.g. {} = {v}", table.unwrap_or_default().rsplit('.').next().unwrap_or_default())).unwrap_or_default();
        return match (key, table) {
            (Some(k), _) if k.starts_with('[') => format!("missing key `{field}` in {k}{example}"),
            (_, Some(t)) => format!("missing key `{field}` in {t}{example}"),
            _ => format!("missing key `{field}`"),
        };
    }
    if message == "wanted string or table" {
        return format!("expected {}", expected_in_toml(message, key));
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{EXAMPLES, strip_indices};

    /// No Rust type names or serde jargon in a restated message.
    fn in_user_words(text: &str) {
        for jargon in ["usize", "u64", "f64", "f32", "struct ", "enum ", "internally tagged", "a sequence", "a map", "field `", "variant", "Schedule", "EarlyStopping", "OptimizerConfig", "Noise"] {
            assert!(!text.contains(jargon), "{jargon:?} in {text:?}");
        }
    }

    #[test]
    fn each_serde_shape_is_restated() {
        let cases = [
            ("invalid type: string \"two\", expected usize", Some("training.epochs"), "expected a whole number (0 or more), e.g. epochs = 10; found the string \"two\""),
            ("invalid value: integer `-3`, expected usize", Some("training.epochs"), "expected a whole number (0 or more), e.g. epochs = 10; found -3"),
            ("invalid type: floating point `1.5`, expected u64", Some("experiment.seed"), "expected a whole number (0 or more), e.g. seed = 10; found 1.5"),
            ("invalid type: string \"x\", expected f64", Some("training.optimizer"), "expected a number, e.g. optimizer = 0.01; found the string \"x\""),
            ("invalid type: integer `1`, expected a boolean", Some("training.shuffle"), "expected true or false, e.g. shuffle = true; found 1"),
            ("invalid type: string \"cosine\", expected internally tagged enum Schedule", Some("training.schedule"), "expected a table with a `kind` key, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }; found the string \"cosine\""),
            ("invalid type: integer `3`, expected struct EarlyStopping", Some("training.early_stopping"), "expected a table, e.g. early_stopping = { patience = 5, monitor = \"val_loss\", min_delta = 0.0 }; found 3"),
            ("invalid type: integer `32`, expected a sequence", Some("model.hidden"), "expected an array, e.g. hidden = [64, 64]; found 32"),
            ("invalid type: map, expected usize", Some("training.epochs"), "expected a whole number (0 or more), e.g. epochs = 10; found a table"),
            ("invalid type: integer `3`, expected path string", Some("data.dir"), "expected a path in quotes, e.g. dir = \"data/mnist\"; found 3"),
            ("unknown variant `cosin`, expected one of `constant`, `step`, `exponential`, `cosine`", Some("training.schedule"), "unknown value \"cosin\" (did you mean \"cosine\"?); expected one of \"constant\", \"step\", \"exponential\", \"cosine\""),
            ("unknown variant `acc`, expected `val_loss` or `val_accuracy`", None, "unknown value \"acc\"; expected one of \"val_loss\", \"val_accuracy\""),
            ("missing field `kind`", Some("training.schedule"), "missing key `kind` in training.schedule, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }"),
            ("missing field `batch_size`", Some("[training]"), "missing key `batch_size` in [training]"),
            ("unknown field `directory`, expected one of `set`, `dir`, `normalization`", Some("data.directory"), "unknown key `data.directory` (did you mean `dir`?), expected one of `set`, `dir`, `normalization`"),
            ("unknown field `foo`, expected `every` or `gamma`", Some("training.schedule"), "unknown key `training.schedule.foo`, expected one of `every`, `gamma`"),
            ("unknown field `x`, expected one of `name`, `seed`", Some("[extra]"), "unknown key `extra.x`, expected one of `name`, `seed`"),
            ("unknown field `extra`, expected one of `experiment`, `data`", Some("[extra]"), "unknown key `extra`, expected one of `experiment`, `data`"),
            ("wanted string or table", Some("data.normalization"), "expected one of \"unit\", \"min_max\", \"standardize\", e.g. normalization = \"unit\""),
            ("wanted string or table", Some("data.train_noise"), "expected a table with a `kind` key, e.g. train_noise = { kind = \"gaussian\", factor = 0.5 }"),
        ];
        for (serde, key, want) in cases {
            let got = restate(serde, key);
            assert_eq!(got, want, "{serde}");
            in_user_words(&got);
        }
        // TOML syntax errors are already in TOML words.
        assert_eq!(restate("duplicate key `epochs`", None), "duplicate key `epochs`");
    }

    const BASE: &str = "[experiment]\nname = \"x\"\nseed = 7\n\n[data]\nset = \"mnist\"\nnormalization = \"unit\"\n\n[model]\nkind = \"mlp\"\nhidden = [32]\n\n[training]\nepochs = 2\nbatch_size = 64\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n";

    /// The message of the config `BASE` with `from` replaced by `to`, without the file and line.
    fn file_error(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = crate::Config::parse(&text, std::path::Path::new("c.toml")).err().unwrap_or_else(|| panic!("{to:?} was accepted")).to_string();
        e.split_once(": ").map(|(_, m)| m.to_string()).unwrap()
    }

    #[test]
    fn each_error_shape_of_a_file_is_named_and_in_toml_words() {
        let cases = [
            // wrong type
            ("epochs = 2", "epochs = \"two\"", "training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found the string \"two\""),
            ("epochs = 2", "epochs = 1.5", "training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found 1.5"),
            // negative for unsigned
            ("epochs = 2", "epochs = -3", "training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found -3"),
            ("seed = 7", "seed = true", "experiment.seed: expected a whole number (0 or more), e.g. seed = 10; found true"),
            ("epochs = 2", "epochs = 2\nshuffle = 1", "training.shuffle: expected true or false, e.g. shuffle = true; found 1"),
            // value where a table belongs
            ("epochs = 2", "epochs = 2\nschedule = \"cosine\"", "training.schedule: expected a table with a `kind` key, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }; found the string \"cosine\""),
            ("epochs = 2", "epochs = 2\nearly_stopping = 3", "training.early_stopping: expected a table, e.g. early_stopping = { patience = 5, monitor = \"val_loss\", min_delta = 0.0 }; found 3"),
            ("optimizer = { kind = \"sgd\" }", "optimizer = \"sgd\"", "training.optimizer: expected a table with a `kind` key, e.g. optimizer = { kind = \"adam\", beta_1 = 0.9 }; found the string \"sgd\""),
            // table where a value belongs
            ("epochs = 2", "epochs = { n = 2 }", "training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found a table"),
            // inside tables tagged by `kind`: the key inside is named
            ("hidden = [32]", "hidden = 32", "model.hidden: expected an array, e.g. hidden = [64, 64]; found 32"),
            ("hidden = [32]", "hidden = [\"a\"]", "model.hidden: expected a whole number (0 or more), e.g. hidden = 10; found the string \"a\""),
            ("optimizer = { kind = \"sgd\" }", "optimizer = { kind = \"sgd\", momentum = \"x\" }", "training.optimizer.momentum: expected a number, e.g. momentum = 0.01; found the string \"x\""),
            // unknown variant
            ("epochs = 2", "epochs = 2\nschedule = { kind = \"cosin\" }", "training.schedule: unknown value \"cosin\" (did you mean \"cosine\"?); expected one of \"constant\", \"step\", \"exponential\", \"cosine\""),
            ("normalization = \"unit\"", "normalization = \"units\"", "data.normalization: unknown value \"units\" (did you mean \"unit\"?); expected one of \"unit\", \"min_max\", \"standardize\""),
            ("hidden = [32]", "hidden = [32]\nactivation = \"gelu\"", "model.activation: unknown value \"gelu\" (did you mean \"relu\"?); expected one of \"linear\", \"relu\", \"sigmoid\", \"tanh\""),
            // missing tag, missing key
            ("epochs = 2", "epochs = 2\nschedule = { gamma = 0.5 }", "missing key `kind` in training.schedule, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }"),
            ("epochs = 2", "epochs = 2\nschedule = { kind = \"step\", every = 2 }", "missing key `gamma` in training.schedule, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }"),
            ("batch_size = 64\n", "", "missing key `batch_size` in [training]"),
            // unknown key
            ("set = \"mnist\"", "set = \"mnist\"\ndirectory = \"x\"", "unknown key `data.directory` (did you mean `dir`?), expected one of `set`, `dir`, `normalization`"),
            ("epochs = 2", "epochs = 2\nschedule = { kind = \"step\", every = 2, gamma = 0.5, foo = 1 }", "unknown key `training.schedule.foo`, expected one of `every`, `gamma`"),
            // a plain name where a number is
            ("normalization = \"unit\"", "normalization = 3", "data.normalization: expected one of \"unit\", \"min_max\", \"standardize\", e.g. normalization = \"unit\""),
            ("set = \"mnist\"", "set = 3", "data.set: expected one of \"mnist\", \"fashion-mnist\", \"kmnist\", \"lfw\", e.g. set = \"mnist\""),
        ];
        for (from, to, want) in cases {
            let got = file_error(from, to);
            assert!(got.starts_with(want), "{to:?}:\n got  {got}\n want {want}");
            in_user_words(&got);
        }
    }

    #[test]
    fn examples_parse_as_their_keys_type() {
        for (key, value) in EXAMPLES {
            let (table, leaf) = key.split_once('.').unwrap();
            let mut doc: toml::Table = BASE.parse().unwrap();
            if table == "model" && leaf != "hidden" {
                doc["model"] = toml::Value::Table("kind = \"vae\"\nlatent_dim = 2\nencoder = []\ndecoder = []".parse().unwrap());
                let other = if leaf == "encoder" { "decoder" } else { "encoder" };
                doc["model"][other] = doc["model"]["encoder"].clone();
                doc["model"][other] = "v = [{ units = 8 }]".parse::<toml::Table>().unwrap()["v"].clone();
            }
            let parsed: toml::Table = format!("v = {value}").parse().unwrap();
            doc[table].as_table_mut().unwrap().insert(leaf.to_string(), parsed["v"].clone());
            let text = toml::to_string(&doc).unwrap();
            crate::Config::parse(&text, std::path::Path::new("c.toml")).unwrap_or_else(|e| panic!("{key} = {value}: {e}\n{text}"));
        }
    }

    #[test]
    fn typos_find_their_key() {
        assert_eq!(closest("directory", &["set", "dir", "normalization"]), Some("dir"));
        assert_eq!(closest("learning_rat", &["learning_rate", "loss"]), Some("learning_rate"));
        assert_eq!(closest("zzz", &["set", "dir"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(strip_indices("model.encoder[1].units"), "model.encoder.units");
    }
}
