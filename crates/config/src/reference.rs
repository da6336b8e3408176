//! The config reference, `docs/config.md`, written from the JSON schema that `schemars` derives
//! from the config types themselves (their doc comments, serde names, defaults and choices), so
//! the reference cannot drift from what the parser accepts: a test regenerates it and fails when
//! the committed file differs. Refresh it with
//! `UPDATE_DOCS=1 cargo test -p mnist-config --lib reference`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value};

use crate::examples::EXAMPLES;
use crate::schema::Config;

/// Where the reference lives, relative to the workspace root.
pub const FILE: &str = "docs/config.md";

/// The command that rewrites [`FILE`] from the types.
pub const REFRESH: &str = "UPDATE_DOCS=1 cargo test -p mnist-config --lib reference";

/// A complete small config, shown at the top of the reference (a test parses it).
pub const EXAMPLE: &str = r#"[experiment]
name = "mlp"
seed = 42

[data]
set = "mnist"
normalization = "unit"
validation_fraction = 0.1

[model]
kind = "mlp"
hidden = [64, 64]

[training]
epochs = 10
batch_size = 128
loss = "cross_entropy"
learning_rate = 0.1
optimizer = { kind = "sgd", momentum = 0.9 }
schedule = { kind = "step", every = 5, gamma = 0.5 }
early_stopping = { patience = 3, monitor = "val_loss" }
"#;

/// The reference as Markdown.
pub fn markdown() -> String {
    let schema = serde_json::to_value(schemars::schema_for!(Config)).expect("a JSON schema is JSON");
    Reference::new(&schema).render()
}

struct Reference<'a> {
    root: &'a Value,
    defs: &'a Map<String, Value>,
    /// Every TOML path that holds a value of each table type (`$defs` name → paths, each with
    /// the model kinds that have it when it is inside a table tagged by `kind`), in the order
    /// first met.
    paths: BTreeMap<String, Vec<(String, Vec<String>)>>,
    order: Vec<String>,
    anchors: BTreeMap<String, String>,
    /// The string enums whose choices are already listed (listed once, at their first use).
    listed: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

/// What a value is, in TOML words, and the table type it refers to for its own section.
struct Kind {
    text: String,
    table: Option<String>,
    choices: Vec<(String, String)>,
    /// The enum the choices come from.
    choices_of: Option<String>,
}

impl<'a> Reference<'a> {
    fn new(root: &'a Value) -> Reference<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let defs = root.get("$defs").and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new));
        let mut r = Reference { root, defs, paths: BTreeMap::new(), order: Vec::new(), anchors: BTreeMap::new(), listed: Default::default() };
        for (key, prop) in properties(root) {
            r.collect(&key, prop, None);
        }
        r
    }

    fn def(&self, schema: &Value) -> Option<(&'a str, &'a Value)> {
        let name = schema.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
        let (name, def) = self.defs.get_key_value(name)?;
        Some((name.as_str(), def))
    }

    /// Records the paths of every table type reachable from `schema` at `path` (inside the
    /// variant `kind` of a tagged table, when given).
    fn collect(&mut self, path: &str, schema: &Value, kind: Option<&str>) {
        let schema = non_null(schema);
        if let Some(items) = schema.get("items") {
            return self.collect(path, items, kind);
        }
        let Some((name, def)) = self.def(schema) else { return };
        if !is_table(def) {
            return;
        }
        let known = self.paths.contains_key(name);
        let paths = self.paths.entry(name.to_string()).or_default();
        match paths.iter_mut().find(|(p, _)| p == path) {
            Some((_, kinds)) => kinds.extend(kind.map(str::to_string)),
            None => paths.push((path.to_string(), kind.map(str::to_string).into_iter().collect())),
        }
        if known {
            return;
        }
        self.order.push(name.to_string());
        let mut anchor = path.replace(['.', '_'], "-");
        while self.anchors.values().any(|a| *a == anchor) {
            anchor.push_str("-2");
        }
        self.anchors.insert(name.to_string(), anchor);
        let tagged = variants(def);
        for variant in tagged.clone().unwrap_or_else(|| vec![def]) {
            let kind = if tagged.is_some() { kind_const(variant) } else { kind };
            for (key, prop) in properties(variant) {
                self.collect(&format!("{path}.{key}"), prop, kind);
            }
        }
    }

    /// `model.encoder` (of the kinds that have it) for each path of a table type.
    fn where_used(&self, name: &str) -> Vec<String> {
        self.paths
            .get(name)
            .into_iter()
            .flatten()
            .map(|(path, kinds)| match kinds.as_slice() {
                [] => format!("`{path}`"),
                kinds => format!("`{path}` (kind {})", kinds.iter().map(|k| format!("`\"{k}\"`")).collect::<Vec<_>>().join(", ")),
            })
            .collect()
    }

    fn kind(&self, schema: &Value) -> Kind {
        let schema = non_null(schema);
        let plain = |text: &str| Kind { text: text.to_string(), table: None, choices: Vec::new(), choices_of: None };
        if let Some((name, def)) = self.def(schema) {
            if let Some(choices) = string_choices(def) {
                let text = choices.iter().map(|(v, _)| format!("`\"{v}\"`")).collect::<Vec<_>>().join(", ");
                return Kind { text: format!("one of {text}"), table: None, choices, choices_of: Some(name.to_string()) };
            }
            let text = if variants(def).is_some() { "table with `kind`" } else { "table" };
            return Kind { text: text.into(), table: Some(name.to_string()), choices: Vec::new(), choices_of: None };
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
            _ => Vec::new(),
        };
        match types.first().copied() {
            Some("integer") if schema.get("minimum").and_then(Value::as_f64) == Some(0.0) => plain("whole number ≥ 0"),
            Some("integer") => plain("whole number"),
            Some("number") => plain("number"),
            Some("boolean") => plain("`true` or `false`"),
            Some("string") => plain("string"),
            Some("array") => {
                let item = schema.get("items").map(|i| self.kind(i));
                match item {
                    Some(Kind { text, table, choices, choices_of }) => Kind { text: format!("array of {}", plural(&text)), table, choices, choices_of },
                    None => plain("array"),
                }
            }
            _ => plain("value"),
        }
    }

    /// The heading anchor of a table type's section.
    fn anchor(&self, name: &str) -> String {
        self.anchors.get(name).cloned().unwrap_or_default()
    }

    /// The rows of a table's keys (`kind` left out: it is the section's own subject).
    fn rows(&self, out: &mut String, table: &Value, path: &str) {
        let required: Vec<&str> = table.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let props = properties(table);
        if props.iter().all(|(k, _)| k == "kind") {
            out.push_str("No other keys.\n\n");
            return;
        }
        out.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
        let mut notes = String::new();
        // Required keys first, in the order the type declares them; then the others.
        let mut keys: Vec<&(String, &Value)> = required.iter().filter_map(|r| props.iter().find(|(k, _)| k == r)).collect();
        keys.extend(props.iter().filter(|(k, _)| !required.contains(&k.as_str())));
        for (key, prop) in keys {
            if key == "kind" {
                continue;
            }
            let kind = self.kind(prop);
            let mut text = kind.text.clone();
            if let Some(table) = &kind.table {
                text = format!("[{text}](#{})", self.anchor(table));
            }
            let default = match prop.get("default") {
                _ if required.contains(&key.as_str()) => "**required**".to_string(),
                Some(Value::Object(_)) => "see below".to_string(),
                Some(Value::Null) | None => "not set".to_string(),
                Some(v) => format!("`{}`", toml_literal(v)),
            };
            let _ = writeln!(out, "| `{key}` | {text} | {default} | {} |", cell(&description(prop)));
            let first_use = kind.choices_of.as_ref().is_some_and(|e| self.listed.borrow_mut().insert(e.clone()));
            if first_use && kind.choices.iter().any(|(_, d)| !d.is_empty()) {
                let _ = writeln!(notes, "- `{path}.{key}`:");
                for (value, meaning) in &kind.choices {
                    let _ = writeln!(notes, "  - `\"{value}\"`: {}", one_line(meaning));
                }
            }
        }
        out.push('\n');
        if !notes.is_empty() {
            out.push_str("Choices:\n\n");
            out.push_str(&notes);
            out.push('\n');
        }
    }

    /// The examples of the keys that hold this table type (only outside `[model]`, whose keys
    /// change meaning with the kind).
    fn examples(&self, out: &mut String, name: &str) {
        for (path, kinds) in self.paths.get(name).into_iter().flatten() {
            if !kinds.is_empty() {
                continue;
            }
            if let Some((_, value)) = EXAMPLES.iter().find(|(k, _)| k == path) {
                let leaf = path.rsplit('.').next().unwrap_or(path);
                let _ = writeln!(out, "Example: `{leaf} = {value}`\n");
            }
        }
    }

    /// A section for one table type: its keys, or for a table tagged by `kind` one sub-section
    /// per kind.
    fn section(&self, out: &mut String, name: &str, level: &str, title: &str) {
        let Some(def) = self.defs.get(name) else { return };
        let _ = writeln!(out, "<a id=\"{}\"></a>\n\n{level} {title}\n", self.anchor(name));
        let used = self.where_used(name);
        if used.len() > 1 || used.iter().any(|u| u.contains("(kind")) {
            let _ = writeln!(out, "Used by {}.\n", used.join("; "));
        }
        let text = description(def);
        if !text.is_empty() {
            let _ = writeln!(out, "{text}\n");
        }
        let path = self.paths.get(name).and_then(|p| p.first()).map(|p| p.0.clone()).unwrap_or_default();
        match variants(def) {
            Some(vs) => {
                let kinds: Vec<String> = vs.iter().filter_map(|v| kind_const(v)).map(|k| format!("`\"{k}\"`")).collect();
                let _ = writeln!(out, "`kind` (**required**): one of {}.\n", kinds.join(", "));
                self.examples(out, name);
                for v in vs {
                    let kind = kind_const(v).unwrap_or_default();
                    let _ = writeln!(out, "{level}# `kind = \"{kind}\"`\n");
                    let text = description(v);
                    if !text.is_empty() {
                        let _ = writeln!(out, "{text}\n");
                    }
                    self.rows(out, v, &path);
                }
            }
            None => {
                self.examples(out, name);
                self.rows(out, def, &path);
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Config reference\n\n\
             <!-- Generated from the config types by mnist-config's reference; do not edit.\n     Refresh: {REFRESH} -->\n\n\
             An experiment is one TOML file with the tables `[experiment]`, `[data]`, `[model]` and\n\
             `[training]` (and an optional top-level `device`). Unknown keys are refused, with the\n\
             keys that are allowed. Every key, its type, default and allowed values follow; values are\n\
             also checked when the file is loaded (ranges, and choices that must fit together, such as\n\
             the loss and the model). `train --set KEY=VALUE` sets any key below with the same syntax,\n\
             e.g. `--set training.schedule={{ kind = \"cosine\" }}`.\n\n\
             ```toml\n{EXAMPLE}```\n"
        );
        // The top level: the four tables in the order of the example, then the plain keys.
        let mut top = properties(self.root);
        top.sort_by_key(|(key, _)| EXAMPLE.find(&format!("[{key}]")).unwrap_or(usize::MAX));
        for (key, prop) in &top {
            if let Some((name, _)) = self.def(non_null(prop)) {
                self.section(&mut out, name, "##", &format!("`[{key}]`"));
            }
        }
        let plain: Vec<_> = top.iter().filter(|(_, p)| self.def(non_null(p)).is_none()).collect();
        if !plain.is_empty() {
            out.push_str("## Top-level keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n");
            for (key, prop) in plain {
                let _ = writeln!(out, "| `{key}` | {} | not set | {} |", self.kind(prop).text, cell(&description(prop)));
            }
            out.push('\n');
        }
        // Tables inside tables, in the order they were met.
        let sections: Vec<&String> = self.order.iter().filter(|n| !top.iter().any(|(_, p)| self.def(non_null(p)).map(|d| d.0) == Some(n.as_str()))).collect();
        for name in sections {
            let (first, _) = &self.paths[name][0];
            let listed: Vec<String> = self.paths[name].iter().map(|(p, _)| format!("`{p}`")).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let title = if self.is_list(first) { format!("Entries of {}", listed.join(", ")) } else { listed.join(", ") };
            self.section(&mut out, name, "##", &title);
        }
        out.trim_end().to_string() + "\n"
    }

    /// Whether the key at `path` holds an array (its entries are the tables).
    fn is_list(&self, path: &str) -> bool {
        let mut schema = self.root;
        for key in path.split('.') {
            let here = non_null(schema);
            let here = self.def(here).map_or(here, |(_, d)| d);
            let found = variants(here)
                .unwrap_or_else(|| vec![here])
                .into_iter()
                .find_map(|v| v.get("properties").and_then(|p| p.get(key)));
            match found {
                Some(next) => schema = next,
                None => return false,
            }
        }
        non_null(schema).get("items").is_some()
    }
}

/// The names a string key takes (`data.normalization` → `unit`, `min_max`, `standardize`),
/// from the schema; `None` for a key that is not such a choice. Keys inside `[model]` are looked
/// up in every kind that has them.
pub fn choices(key: &str) -> Option<Vec<String>> {
    let schema = serde_json::to_value(schemars::schema_for!(Config)).ok()?;
    let defs = schema.get("$defs")?.as_object()?;
    let resolve = |v: &Value| -> Value {
        let v = non_null(v);
        let v = v.get("items").unwrap_or(v);
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => defs.get(name).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut here = vec![schema.clone()];
    for part in key.split('.') {
        let part = part.split('[').next().unwrap_or(part);
        here = here
            .iter()
            .flat_map(|s| variants(s).map(|vs| vs.into_iter().cloned().collect()).unwrap_or_else(|| vec![s.clone()]))
            .filter_map(|s| s.get("properties").and_then(|p| p.get(part)).map(&resolve))
            .collect();
    }
    here.iter().find_map(string_choices).map(|c| c.into_iter().map(|(v, _)| v).collect())
}

/// `X` of `anyOf: [X, null]` (an optional key); the schema itself otherwise.
fn non_null(schema: &Value) -> &Value {
    match schema.get("anyOf").and_then(Value::as_array) {
        Some(options) => options.iter().find(|o| o.get("type").and_then(Value::as_str) != Some("null")).unwrap_or(schema),
        None => schema,
    }
}

/// The keys of an object schema, in the schema's (alphabetical) order.
fn properties(schema: &Value) -> Vec<(String, &Value)> {
    schema.get("properties").and_then(Value::as_object).map(|p| p.iter().map(|(k, v)| (k.clone(), v)).collect()).unwrap_or_default()
}

/// The variants of a table tagged by `kind`.
fn variants(def: &Value) -> Option<Vec<&Value>> {
    let options = def.get("oneOf")?.as_array()?;
    options.iter().all(|o| kind_const(o).is_some()).then(|| options.iter().collect())
}

fn kind_const(variant: &Value) -> Option<&str> {
    variant.get("properties")?.get("kind")?.get("const")?.as_str()
}

/// The names of an enum written as a string, with each one's meaning.
fn string_choices(def: &Value) -> Option<Vec<(String, String)>> {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| v.as_str().map(|s| (s.to_string(), String::new()))).collect();
    }
    def.get("oneOf")?.as_array()?.iter().map(|o| Some((o.get("const")?.as_str()?.to_string(), description(o)))).collect()
}

fn is_table(def: &Value) -> bool {
    def.get("type").and_then(Value::as_str) == Some("object") || variants(def).is_some()
}

fn description(schema: &Value) -> String {
    schema.get("description").and_then(Value::as_str).unwrap_or_default().trim().to_string()
}

/// A description on one line (doc comments wrap at 100 columns).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A description as a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn plural(text: &str) -> String {
    match text {
        "table" => "tables".into(),
        "table with `kind`" => "tables with `kind`".into(),
        "whole number ≥ 0" => "whole numbers ≥ 0".into(),
        "number" => "numbers".into(),
        "string" => "strings".into(),
        other => other.to_string(),
    }
}

/// A JSON default as TOML writes it.
fn toml_literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Array(items) => format!("[{}]", items.iter().map(toml_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(fields) => {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {}", toml_literal(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f}") }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(FILE)
    }

    #[test]
    fn config_reference_is_up_to_date() {
        let fresh = markdown();
        let path = committed_path();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == fresh, "{FILE} is out of date with the config types; refresh it with\n    {REFRESH}\nand commit it");
    }

    #[test]
    fn config_reference_covers_every_key_in_toml_words() {
        let text = markdown();
        // The keys users asked for, with their syntax.
        for needle in [
            "## `[data]`", "| `dir` |", "`\"fashion-mnist\"`", "## `[model]`", "### `kind = \"conv_vae\"`", "<a id=\"training-schedule\"></a>",
            "### `kind = \"step\"`", "| `gamma` | number | **required** |", "Example: `schedule = { kind = \"step\", every = 10, gamma = 0.5 }`",
            "<a id=\"training-early-stopping\"></a>", "| `patience` | whole number ≥ 0 | **required** |", "`\"val_accuracy\"`",
            "| `epochs` | whole number ≥ 0 | `10` |", "| `learning_rate` | number | **required** |", "Entries of `model.conv`, `model.decoder`, `model.encoder`", "| `kernel_size` |",
            "| `units` | whole number ≥ 0 | **required** |", "`kind` (**required**): one of `\"sgd\"`",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from the reference");
        }
        for rust in ["usize", "f64", "Option<", "Vec<", "EarlyStopping", "Schedule ", "OptimizerConfig", "DenseLayer", "`directory`"] {
            assert!(!text.contains(rust), "{rust:?} in the reference");
        }
        // Every key of every table of the schema has a row: the keys a serde error lists.
        let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap();
        let mut missing = Vec::new();
        for def in schema["$defs"].as_object().unwrap().values().chain([&schema]) {
            for table in variants(def).unwrap_or_else(|| vec![def]) {
                for (key, _) in properties(table) {
                    if key != "kind" && !text.contains(&format!("| `{key}` |")) && !text.contains(&format!("## `[{key}]`")) {
                        missing.push(key);
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys without a row: {missing:?}");
    }

    #[test]
    fn choices_of_a_key_come_from_the_types() {
        assert_eq!(choices("data.normalization").unwrap(), ["unit", "min_max", "standardize"]);
        assert_eq!(choices("model.encoder.activation").unwrap(), ["linear", "relu", "sigmoid", "tanh"]);
        assert_eq!(choices("training.early_stopping.monitor").unwrap(), ["val_loss", "val_accuracy"]);
        assert_eq!(choices("training.epochs"), None);
        assert_eq!(choices("training.nothing"), None);
    }

    #[test]
    fn the_example_config_is_valid() {
        let c = Config::parse(EXAMPLE, std::path::Path::new("example.toml")).unwrap();
        crate::Experiment::new(c, std::path::Path::new("example.toml")).unwrap();
    }
}
