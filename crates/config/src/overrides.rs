//! Command-line overrides of an experiment file: `--set KEY=VALUE`, parsed and applied to the TOML
//! document before it is deserialized, so an override is typed, checked for unknown keys and
//! validated by exactly the code that reads the file.

use crate::error::ConfigError;

/// One override: a dotted key of the experiment file and a TOML value for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// How it was written on the command line (`--set training.learning_rate=0.01`,
    /// `--epochs 5`): every error about it starts with this.
    pub label: String,
    /// The key, split at its dots and brackets: `model.encoder[2].units` is
    /// `[Key("model"), Key("encoder"), Index(2), Key("units")]`.
    pub key: Vec<KeyPart>,
    /// The value.
    pub value: toml::Value,
}

/// One step of a key's path: a table's key, or an element of an array (`[2]`; `[-1]` is the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    /// A key of a table.
    Key(String),
    /// An element of an array, counted from 0; negative counts from the end.
    Index(i64),
}

/// The example every syntax error points to.
const EXAMPLE: &str = "e.g. --set training.learning_rate=0.01 or --set model.hidden=[128,64]";

impl Override {
    /// Parses the argument of `--set`: `KEY=VALUE`, where KEY is a dotted path
    /// (`training.optimizer.momentum`) and VALUE is a TOML value (`0.01`, `[128, 64]`, `"adam"`,
    /// `{ kind = "sgd", momentum = 0.9 }`). A bare word that is not a TOML value (`adam`,
    /// `data/fashion`) is taken as a string, as Hydra does, so the shell's quotes are not needed
    /// around plain names.
    pub fn parse(arg: &str) -> Result<Override, ConfigError> {
        Override::parse_labelled(arg, format!("--set {arg}"))
    }

    /// [`Override::parse`], every error about it starting with `label` (how the caller's user
    /// wrote it: the Python package's `set={"training.epochs": 3}`).
    pub fn parse_labelled(arg: &str, label: String) -> Result<Override, ConfigError> {
        let fail = |message: String| ConfigError::Override { arg: label.clone(), message };
        let Some((key, text)) = arg.split_once('=') else {
            return Err(fail(format!("expected KEY=VALUE, {EXAMPLE}")));
        };
        let key = parse_key(key.trim()).map_err(fail)?;
        let value = parse_value(text.trim()).map_err(fail)?;
        Ok(Override { label, key, value })
    }

    /// An override that a flag stands for: `--epochs 5` is `training.epochs=5`. `n` must fit a
    /// TOML integer (at most 2^63 - 1), as it would in the file.
    pub fn integer(flag: &str, key: &str, n: u64) -> Result<Override, ConfigError> {
        let label = format!("{flag} {n}");
        let value = i64::try_from(n).map_err(|_| ConfigError::Override {
            arg: label.clone(),
            message: format!("the value is larger than {}, the largest integer a config holds", i64::MAX),
        })?;
        Ok(Override { label, key: key.split('.').map(|k| KeyPart::Key(k.into())).collect(), value: toml::Value::Integer(value) })
    }

    /// An override of `key` (a dotted key, with `[N]` for array elements) that a file, not the
    /// command line, holds (a sweep's `[grid]` and `[set]`); `label` starts every error about it.
    pub fn at(label: impl Into<String>, key: &str, value: toml::Value) -> Result<Override, String> {
        Ok(Override { label: label.into(), key: parse_key(key)?, value })
    }

    /// The key as written: `training.learning_rate`, `model.encoder[2].units`.
    pub fn path(&self) -> String {
        key_text(&self.key)
    }

    /// Sets the key in `doc`, creating the tables on its way that do not exist; a key on the way
    /// that holds a value other than a table, or an element of an array that is not there, is an
    /// error. Whether the key itself exists in the schema is left to deserialization, which lists
    /// the valid keys of its table when it does not: the schema, not this module, knows them.
    pub fn apply(&self, doc: &mut toml::Table) -> Result<(), ConfigError> {
        let mut root = toml::Value::Table(std::mem::take(doc));
        let result = self.set_in(&mut root, 0);
        *doc = match root {
            toml::Value::Table(t) => t,
            _ => unreachable!("the root stays a table"),
        };
        result.map_err(|message| ConfigError::Override { arg: self.label.clone(), message })
    }

    /// Sets `self.key[depth..]` inside `at`, the value at `self.key[..depth]`.
    fn set_in(&self, at: &mut toml::Value, depth: usize) -> Result<(), String> {
        let (part, rest) = self.key[depth..].split_first().expect("a parsed key has at least one part");
        let here = || key_text(&self.key[..depth]);
        match (part, at) {
            (KeyPart::Key(k), toml::Value::Table(table)) => {
                if rest.is_empty() {
                    table.insert(k.clone(), self.value.clone());
                    return Ok(());
                }
                if matches!(rest[0], KeyPart::Index(_)) && !table.contains_key(k) {
                    let at = key_text(&self.key[..=depth]);
                    return Err(format!("{at} is not set, so it has no element to change; set the whole array, e.g. --set {at}=[...]"));
                }
                let entry = table.entry(k.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                self.set_in(entry, depth + 1)
            }
            (KeyPart::Index(i), toml::Value::Array(items)) => {
                let n = items.len() as i64;
                let Some(slot) = (if *i < 0 { n + i } else { *i }).try_into().ok().and_then(|j: usize| items.get_mut(j)) else {
                    return Err(format!("{} has {n} element{}, so it has no [{i}] (elements count from [0]; [-1] is the last)", here(), if n == 1 { "" } else { "s" }));
                };
                if rest.is_empty() {
                    *slot = self.value.clone();
                    Ok(())
                } else {
                    self.set_in(slot, depth + 1)
                }
            }
            (KeyPart::Key(k), other) => {
                let hint = if other.is_array() { format!("; pick an element, e.g. {}[0].{k}, or set the whole array, e.g. --set {}=[...]", here(), here()) } else { String::new() };
                Err(format!("{} is {}, not a table, so it has no key {k}{hint}", here(), article(other.type_str())))
            }
            (KeyPart::Index(i), other) => Err(format!("{} is {}, not an array, so it has no element [{i}]", here(), article(other.type_str()))),
        }
    }
}

/// A key as written: parts joined by dots, elements in brackets (`model.encoder[2].units`).
pub fn key_text(parts: &[KeyPart]) -> String {
    let mut s = String::new();
    for p in parts {
        match p {
            KeyPart::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            KeyPart::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn article(kind: &str) -> String {
    let an = kind.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {kind}", if an { "an" } else { "a" })
}

/// `model.encoder[2].units` → `[Key("model"), Key("encoder"), Index(2), Key("units")]`: TOML bare
/// keys separated by dots, each followed by any number of `[N]` (`[-1]` is the last element).
pub fn parse_key(key: &str) -> Result<Vec<KeyPart>, String> {
    if key.is_empty() {
        return Err(format!("the key before `=` is empty; expected a dotted key, {EXAMPLE}"));
    }
    let bad = || format!("{key} is not a dotted key: its parts are letters, digits, `_` and `-` separated by dots, with [N] after a part for an element of an array (model.encoder[0].units), {EXAMPLE}");
    let mut parts = Vec::new();
    for segment in key.split('.') {
        let segment = segment.trim();
        let (name, mut indices) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(bad());
        }
        parts.push(KeyPart::Key(name.to_string()));
        while !indices.is_empty() {
            let Some((index, after)) = indices.strip_prefix('[').and_then(|r| r.split_once(']')) else { return Err(bad()) };
            let Ok(index) = index.trim().parse::<i64>() else { return Err(bad()) };
            parts.push(KeyPart::Index(index));
            indices = after;
        }
    }
    Ok(parts)
}

/// A TOML value; failing that, a bare word as a string.
fn parse_value(text: &str) -> Result<toml::Value, String> {
    if text.is_empty() {
        return Err(format!("the value after `=` is empty; expected a TOML value, {EXAMPLE} (a string: \"...\")"));
    }
    // Parsed as the value of a one-key document: the same parser, and the same syntax, as the
    // file's values. A value that ends the line early (`1\nb = 2`) would add keys: refused below.
    match format!("value = {text}").parse::<toml::Table>() {
        Ok(mut doc) if doc.len() == 1 => Ok(doc.remove("value").expect("the one key is `value`")),
        Ok(_) => Err(format!("{text:?} is more than one TOML value")),
        Err(_) if is_bare_word(text) => Ok(toml::Value::String(text.to_string())),
        Err(e) => {
            let reason = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
            Err(format!("{text} is not a TOML value ({reason}); write numbers as 0.01, lists as [128,64], tables as {{ kind = \"sgd\" }} and strings in quotes"))
        }
    }
}

/// A word that reads as a name or a path (`adam`, `val_loss`, `data/fashion`, `./runs`): taken as
/// a string. Anything else that TOML refuses (`[1,`, `1.2.3`, `"open`) is a mistake to report,
/// not a string to guess.
fn is_bare_word(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || "_./~".contains(c))
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "_-./~:+@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(arg: &str) -> toml::Value {
        Override::parse(arg).unwrap().value
    }

    fn error(arg: &str) -> String {
        Override::parse(arg).unwrap_err().to_string()
    }

    #[test]
    fn overrides_parse_toml_values() {
        assert_eq!(value("training.learning_rate=0.01"), toml::Value::Float(0.01));
        assert_eq!(value("training.epochs=3"), toml::Value::Integer(3));
        assert_eq!(value("model.hidden=[128,64]"), toml::Value::Array(vec![128.into(), 64.into()]));
        assert_eq!(value("training.shuffle=false"), toml::Value::Boolean(false));
        assert_eq!(value("experiment.name=\"two words\""), toml::Value::String("two words".into()));
        let table = value("training.optimizer={ kind = \"sgd\", momentum = 0.9 }");
        assert_eq!(table.get("kind"), Some(&toml::Value::String("sgd".into())));
        assert_eq!(table.get("momentum"), Some(&toml::Value::Float(0.9)));
        // Spaces around the key and the value, as a shell may leave them.
        let o = Override::parse(" training.l2 = 1e-3 ").unwrap();
        assert_eq!((o.path(), o.value, o.label.as_str()), ("training.l2".to_string(), toml::Value::Float(1e-3), "--set  training.l2 = 1e-3 "));
    }

    #[test]
    fn overrides_take_bare_words_as_strings() {
        assert_eq!(value("training.optimizer.kind=adam"), toml::Value::String("adam".into()));
        assert_eq!(value("data.dir=data/fashion"), toml::Value::String("data/fashion".into()));
        assert_eq!(value("data.dir=/tmp/mnist"), toml::Value::String("/tmp/mnist".into()));
        // What TOML reads is not a bare word: `true`, `inf`, numbers.
        assert_eq!(value("training.per_step_log=true"), toml::Value::Boolean(true));
        assert!(value("training.learning_rate=inf").as_float().is_some_and(f64::is_infinite));
        // The value keeps the `=` signs after the first.
        assert_eq!(value("experiment.name=\"a=b\""), toml::Value::String("a=b".into()));
    }

    #[test]
    fn overrides_with_bad_syntax_say_what_is_expected() {
        assert_eq!(error("training.epochs"), "--set training.epochs: expected KEY=VALUE, e.g. --set training.learning_rate=0.01 or --set model.hidden=[128,64]");
        assert!(error("=3").starts_with("--set =3: the key before `=` is empty"), "{}", error("=3"));
        assert!(error("training..epochs=3").contains("training..epochs is not a dotted key"));
        assert!(error("model.conv[x].filters=8").contains("model.conv[x].filters is not a dotted key"));
        assert!(error("model.conv[0.filters=8").contains("is not a dotted key"));
        assert!(error("model.[0]=8").contains("is not a dotted key"));
        assert!(error("training.epochs=").contains("the value after `=` is empty"));
        let e = error("model.hidden=[128,");
        assert!(e.starts_with("--set model.hidden=[128,: [128, is not a TOML value (invalid array"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(error("training.learning_rate=1.2.3").contains("1.2.3 is not a TOML value"));
        assert!(error("experiment.name=\"open").contains("is not a TOML value"));
        // A newline in the value cannot smuggle in a second key.
        assert!(error("training.epochs=1\nlearning_rate = 5").contains("more than one TOML value"));
    }

    #[test]
    fn overrides_apply_to_a_document() {
        let mut doc: toml::Table = "[training]\nepochs = 2\noptimizer = { kind = \"sgd\" }\n".parse().unwrap();
        Override::parse("training.epochs=7").unwrap().apply(&mut doc).unwrap();
        Override::parse("training.optimizer.momentum=0.9").unwrap().apply(&mut doc).unwrap();
        // Tables on the way that do not exist are created.
        Override::parse("training.early_stopping.patience=3").unwrap().apply(&mut doc).unwrap();
        Override::parse("device=flex").unwrap().apply(&mut doc).unwrap();
        let expected: toml::Table = "device = \"flex\"\n[training]\nepochs = 7\noptimizer = { kind = \"sgd\", momentum = 0.9 }\nearly_stopping = { patience = 3 }\n"
            .parse()
            .unwrap();
        assert_eq!(doc, expected);
        // A key below a value that is not a table.
        let e = Override::parse("training.epochs.x=1").unwrap().apply(&mut doc).unwrap_err().to_string();
        assert_eq!(e, "--set training.epochs.x=1: training.epochs is an integer, not a table, so it has no key x");
        doc.insert("hidden".into(), toml::Value::Array(vec![]));
        let e = Override::parse("hidden.units=1").unwrap().apply(&mut doc).unwrap_err().to_string();
        assert!(e.ends_with("hidden is an array, not a table, so it has no key units; pick an element, e.g. hidden[0].units, or set the whole array, e.g. --set hidden=[...]"), "{e}");
    }

    #[test]
    fn overrides_set_elements_of_arrays() {
        let key = |k: &str| Override::parse(&format!("{k}=1")).unwrap().key;
        assert_eq!(key("model.encoder[2].units"), [KeyPart::Key("model".into()), KeyPart::Key("encoder".into()), KeyPart::Index(2), KeyPart::Key("units".into())]);
        assert_eq!(key("a[0][-1]"), [KeyPart::Key("a".into()), KeyPart::Index(0), KeyPart::Index(-1)]);
        assert_eq!(Override::parse("model.encoder[ -1 ].units=3").unwrap().path(), "model.encoder[-1].units");
        let mut doc: toml::Table = "[model]\nhidden = [8, 16]\nencoder = [{ units = 512 }, { units = 2, activation = \"relu\" }]\n".parse().unwrap();
        Override::parse("model.encoder[1].units=32").unwrap().apply(&mut doc).unwrap();
        Override::parse("model.encoder[0].dropout=0.2").unwrap().apply(&mut doc).unwrap();
        Override::parse("model.hidden[-1]=4").unwrap().apply(&mut doc).unwrap();
        let expected: toml::Table = "[model]\nhidden = [8, 4]\nencoder = [{ units = 512, dropout = 0.2 }, { units = 32, activation = \"relu\" }]\n".parse().unwrap();
        assert_eq!(doc, expected);
        let fail = |arg: &str, doc: &mut toml::Table| Override::parse(arg).unwrap().apply(doc).unwrap_err().to_string();
        assert_eq!(fail("model.encoder[2].units=1", &mut doc), "--set model.encoder[2].units=1: model.encoder has 2 elements, so it has no [2] (elements count from [0]; [-1] is the last)");
        assert!(fail("model.encoder[-3].units=1", &mut doc).contains("has no [-3]"));
        assert_eq!(fail("model.decoder[0].units=1", &mut doc), "--set model.decoder[0].units=1: model.decoder is not set, so it has no element to change; set the whole array, e.g. --set model.decoder=[...]");
        assert_eq!(fail("model.encoder[0][1]=1", &mut doc), "--set model.encoder[0][1]=1: model.encoder[0] is a table, not an array, so it has no element [1]");
        // A failed override leaves the document as it was.
        assert_eq!(doc, expected);
    }

    #[test]
    fn flags_are_overrides_of_their_keys() {
        let o = Override::integer("--epochs", "training.epochs", 5).unwrap();
        assert_eq!((o.label.as_str(), o.path(), o.value), ("--epochs 5", "training.epochs".to_string(), toml::Value::Integer(5)));
        let e = Override::integer("--seed", "experiment.seed", u64::MAX).unwrap_err().to_string();
        assert_eq!(e, format!("--seed {}: the value is larger than {}, the largest integer a config holds", u64::MAX, i64::MAX));
    }

    const BASE: &str = "[experiment]\nname = \"tiny\"\n\n[model]\nkind = \"mlp\"\nhidden = [16]\n\n[training]\nepochs = 2\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n";

    fn load(text: &str, sets: &[&str]) -> Result<crate::Experiment, ConfigError> {
        let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
        crate::Experiment::parse_with(text, std::path::Path::new("x.toml"), &overrides)
    }

    fn load_error(text: &str, sets: &[&str]) -> String {
        load(text, sets).unwrap_err().to_string()
    }

    #[test]
    fn overrides_set_the_config_as_the_file_would() {
        let e = load(BASE, &["training.learning_rate=0.01", "model.hidden=[128,64]", "training.optimizer={ kind = \"sgd\", momentum = 0.9 }", "training.early_stopping.patience=3"]).unwrap();
        let c = e.config();
        assert_eq!(c.training.learning_rate, 0.01);
        assert_eq!(c.training.early_stopping.as_ref().map(|e| e.patience), Some(3));
        let toml = c.to_toml();
        assert!(toml.contains("hidden = [\n    128,\n    64,\n]") || toml.contains("hidden = [128, 64]"), "{toml}");
        assert!(toml.contains("momentum = 0.9"), "{toml}");
        // The same config as the file with those values written in it.
        let edited = BASE.replace("learning_rate = 0.1", "learning_rate = 0.01").replace("hidden = [16]", "hidden = [128, 64]")
            .replace("{ kind = \"sgd\" }", "{ kind = \"sgd\", momentum = 0.9 }") + "early_stopping = { patience = 3 }\n";
        assert_eq!(c, load(&edited, &[]).unwrap().config());
        // A later override of the same key wins; a bare word is a string.
        let c = load(BASE, &["training.epochs=3", "training.epochs=4", "training.optimizer.kind=adam"]).unwrap();
        assert_eq!(c.config().training.epochs, 4);
        assert_eq!(c.config().training.optimizer.name(), "adam");
        // An element of a list, typed and validated as the file's.
        let c = load(BASE, &["model.hidden[0]=32"]).unwrap();
        assert_eq!(c.config(), load(&BASE.replace("hidden = [16]", "hidden = [32]"), &[]).unwrap().config());
        let e = load_error(BASE, &["model.hidden[0]=0"]);
        assert!(e.starts_with("--set model.hidden[0]=0: model `hidden[0]` = 0"), "{e}");
        // An override may complete a file that lacks a required key.
        let c = load(&BASE.replace("learning_rate = 0.1\n", ""), &["training.learning_rate=0.5"]).unwrap();
        assert_eq!(c.config().training.learning_rate, 0.5);
    }

    #[test]
    fn overrides_of_unknown_keys_name_the_key_and_list_the_valid_ones() {
        let e = load_error(BASE, &["training.learning_rat=0.01"]);
        assert!(e.starts_with("--set training.learning_rat=0.01: unknown key `training.learning_rat` (did you mean `learning_rate`?), expected one of `epochs`, `steps`, `batch_size`"), "{e}");
        assert!(e.contains("`learning_rate`") && !e.contains('\n'), "{e}");
        let e = load_error(BASE, &["trainin.epochs=3"]);
        assert!(e.starts_with("--set trainin.epochs=3: unknown key `trainin` (did you mean `training`?), expected one of `experiment`, `data`, `model`, `training`"), "{e}");
        // Inside a table tagged by `kind`, and inside a table the override creates.
        let e = load_error(BASE, &["training.optimizer.momentun=0.9"]);
        assert!(e.starts_with("--set training.optimizer.momentun=0.9: unknown key `training.optimizer.momentun` (did you mean `momentum`?), expected"), "{e}");
        assert!(e.contains("`momentum`"), "{e}");
        let e = load_error(BASE, &["training.early_stopping.patiense=3"]);
        assert!(e.starts_with("--set training.early_stopping.patiense=3: unknown key `training.early_stopping.patiense` (did you mean `patience`?), expected one of `monitor`, `patience`, `min_delta`"), "{e}");
        // The first of several overrides is named when it is the one at fault.
        let e = load_error(BASE, &["model.hiden=[8]", "training.epochs=3"]);
        assert!(e.starts_with("--set model.hiden=[8]: unknown key `model.hiden`"), "{e}");
        let e = load_error(BASE, &["model.hidden=16", "model.dropout=0.1"]);
        assert!(e.starts_with("--set model.hidden=16: model.hidden: expected an array, e.g. hidden = [64, 64]; found 16"), "{e}");
        // A change of `kind` leaves keys the new model does not have.
        let e = load_error(BASE, &["model.kind=softmax_regression"]);
        assert!(e.starts_with("--set model.kind=softmax_regression: unknown key `model.hidden`"), "{e}");
    }

    #[test]
    fn overrides_of_the_wrong_type_or_value_are_named() {
        let e = load_error(BASE, &["training.learning_rate=\"fast\""]);
        assert_eq!(e, "--set training.learning_rate=\"fast\": training.learning_rate: expected a number, e.g. learning_rate = 0.01; found the string \"fast\"");
        let e = load_error(BASE, &["training.epochs=ten"]);
        assert_eq!(e, "--set training.epochs=ten: training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found the string \"ten\"");
        let e = load_error(BASE, &["training.epochs=-2"]);
        assert_eq!(e, "--set training.epochs=-2: training.epochs: expected a whole number (0 or more), e.g. epochs = 10; found -2");
        let e = load_error(BASE, &["training.schedule=cosine"]);
        assert_eq!(e, "--set training.schedule=cosine: training.schedule: expected a table with a `kind` key, e.g. schedule = { kind = \"step\", every = 10, gamma = 0.5 }; found the string \"cosine\"");
        let e = load_error(BASE, &["training.early_stopping=3"]);
        assert!(e.starts_with("--set training.early_stopping=3: training.early_stopping: expected a table, e.g. early_stopping = { patience = 5"), "{e}");
        let e = load_error(BASE, &["training.optimizer.momentum=high"]);
        assert_eq!(e, "--set training.optimizer.momentum=high: training.optimizer.momentum: expected a number, e.g. momentum = 0.01; found the string \"high\"");
        let e = load_error(BASE, &["model.hidden=16"]);
        assert_eq!(e, "--set model.hidden=16: model.hidden: expected an array, e.g. hidden = [64, 64]; found 16");
        let e = load_error(BASE, &["training.optimizer.kind=adamw2"]);
        assert!(e.starts_with("--set training.optimizer.kind=adamw2: ") && e.contains("unknown value \"adamw2\" (did you mean \"adamw\"?); expected one of \"sgd\", \"adam\""), "{e}");
        // Validation names the override too.
        let e = load_error(BASE, &["training.learning_rate=-1"]);
        assert_eq!(e, "--set training.learning_rate=-1: training.learning_rate = -1 must be a finite number > 0");
        let e = load_error(BASE, &["training.loss=mse"]);
        assert!(e.starts_with("--set training.loss=mse: training.loss = \"mse\" does not fit a classifier"), "{e}");
        // A table where a number belongs.
        let e = load_error(BASE, &["training.learning_rate.x=1"]);
        assert!(e.starts_with("--set training.learning_rate.x=1: training.learning_rate is a float, not a table"), "{e}");
    }

    #[test]
    fn overrides_leave_the_errors_of_the_file_to_the_file() {
        let broken = BASE.replace("batch_size = 50", "batch_size = \"50\"");
        let e = load_error(&broken, &["training.epochs=3"]);
        assert_eq!(e, "config x.toml, line 10, column 14: training.batch_size: expected a whole number (0 or more), e.g. batch_size = 10; found the string \"50\"");
        let e = load_error(&BASE.replace("epochs = 2", "epochs = 0"), &["training.learning_rate=0.5"]);
        assert_eq!(e, "config x.toml: training.epochs = 0 must be at least 1");
        let e = load_error("[experiment\n", &["training.epochs=3"]);
        assert!(e.starts_with("config x.toml, line 1"), "{e}");
        // The file's error is fixed by the override: no error.
        load(&BASE.replace("epochs = 2", "epochs = 0"), &["training.epochs=1"]).unwrap();
    }

    #[test]
    fn differences_list_each_key_with_both_values() {
        let saved = load(BASE, &[]).unwrap().config().clone();
        assert!(crate::differences(&saved, &saved).is_empty());
        let given = load(BASE, &["training.learning_rate=0.01", "model.hidden=[128]", "training.steps=100"]).unwrap().config().clone();
        let listed: Vec<String> = crate::differences(&saved, &given).iter().map(ToString::to_string).collect();
        assert_eq!(listed, [
            "model.hidden = [16] in the run, [128] now",
            "training.learning_rate = 0.1 in the run, 0.01 now",
            "training.steps = (not set) in the run, 100 now",
        ]);
        let given = load(BASE, &["training.optimizer={ kind = \"adam\" }"]).unwrap().config().clone();
        let d = crate::differences(&saved, &given);
        assert_eq!(d[0].to_string(), "training.optimizer.kind = \"sgd\" in the run, \"adam\" now");
    }
}
