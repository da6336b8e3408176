//! Reading a config: TOML text (with `--set` overrides applied to its document) into a [`Config`],
//! with errors that name the file, line and key in TOML words.

use std::path::Path;

use crate::error::ConfigError;
use crate::messages;
use crate::overrides::Override;
use crate::schema::Config;

impl Config {
    /// Parses TOML text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Err(ConfigError::Empty { path: path.to_path_buf() });
        }
        toml::from_str(text).map_err(|e| {
            let mut start = e.span().map_or(0, |s| s.start);
            // Inside a table tagged by `kind` ([model], optimizers, noise) serde reports unknown
            // fields at the table: point at the key's own line when it is found there.
            if let (Some(span), Some(key)) = (e.span(), e.message().strip_prefix("unknown field `").and_then(|m| m.split('`').next())) {
                let body = text.get(span.clone()).unwrap_or_default();
                let mut offset = 0;
                for l in body.split_inclusive('\n') {
                    let trimmed = l.trim_start();
                    if trimmed.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                        start = span.start + offset + (l.len() - trimmed.len());
                        break;
                    }
                    offset += l.len();
                }
            }
            let (line, column) = if e.span().is_some() { line_col(text, start) } else { (1, 1) };
            // TOML's own messages span lines ("invalid array\nexpected `]`"): keep the error one line.
            let raw = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
            // serde does not say which key a schema error belongs to: name it from the text, then
            // say what serde reported in TOML words (config_messages).
            let key = match e.span() {
                Some(span) if is_schema_error(&raw) => key_at(text, start).map(|k| refine_key(text, span, k, &raw)),
                _ => None,
            };
            let message = schema_message(&raw, key.as_deref());
            ConfigError::Parse { path: path.to_path_buf(), line, column, message }
        })
    }

    /// The TOML text of this config (what is saved in a run directory).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a Config always serializes to TOML")
    }
}

/// The beginnings of serde's messages about the schema (types, keys, choices), as opposed to
/// TOML syntax.
const SCHEMA_ERRORS: [&str; 9] = ["invalid type", "invalid value", "invalid length", "missing field", "unknown variant", "unknown field", "number too large", "wanted string or table", "data did not match"];

fn is_schema_error(message: &str) -> bool {
    SCHEMA_ERRORS.iter().any(|p| message.starts_with(p))
}

/// A schema error of serde in TOML words, prefixed with the key it is about (an unknown or a
/// missing key names its key itself).
fn schema_message(raw: &str, key: Option<&str>) -> String {
    if !is_schema_error(raw) {
        return raw.to_string();
    }
    let restated = messages::restate(raw, key);
    match key {
        Some(key) if !raw.starts_with("unknown field") && !raw.starts_with("missing field") => format!("{key}: {restated}"),
        _ => restated,
    }
}

/// The value serde says it found, as written in TOML (`"two"`, `-3`, `true`); `None` for a table,
/// an array or a message without one.
fn found_literal(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        return rest.split('`').next().map(|v| format!("\"{v}\""));
    }
    let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "))?;
    let found = rest.split(", expected ").next()?;
    if let Some(s) = found.strip_prefix("string ") {
        return Some(s.to_string());
    }
    ["integer ", "floating point ", "boolean "].iter().find_map(|p| found.strip_prefix(p)).map(|v| v.trim_matches('`').to_string())
}

/// Narrows `key` from a table to the key inside it that holds the value serde complained about:
/// inside a table tagged by `kind` ([model], an optimizer, a schedule, noise) serde reports the
/// whole table, so `[model]` becomes `model.hidden` when `hidden = ["a"]` holds the `"a"` it
/// found (and `training.optimizer` becomes `training.optimizer.momentum`). Unchanged when the
/// value is not found once in the table's text.
fn refine_key(text: &str, span: std::ops::Range<usize>, key: String, message: &str) -> String {
    let Some(literal) = found_literal(message) else { return key };
    let body = text.get(span).unwrap_or_default();
    let table = key.trim_start_matches('[').trim_end_matches(']').to_string();
    let is_table = key.starts_with('[') || body.trim_start().starts_with('{');
    if !is_table {
        return key;
    }
    let mut hits = Vec::new();
    for line in body.lines() {
        // Each `ident = value` of the line: the value runs to the next `ident =`.
        let eqs: Vec<usize> = line.match_indices('=').map(|(i, _)| i).collect();
        for (n, &eq) in eqs.iter().enumerate() {
            let ident: String = line[..eq].trim_end().chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<Vec<_>>().into_iter().rev().collect();
            if ident.is_empty() {
                continue;
            }
            let end = eqs.get(n + 1).map_or(line.len(), |&next| line[..next].trim_end().trim_end_matches(|c: char| c.is_alphanumeric() || c == '_').len());
            let value = &line[eq + 1..end.max(eq + 1)];
            let value_tokens = value.split(|c: char| ",[]{} ".contains(c)).filter(|t| !t.is_empty());
            if value_tokens.into_iter().any(|t| t == literal) || (literal.starts_with('"') && value.contains(&literal)) {
                hits.push(ident);
            }
        }
    }
    hits.dedup();
    match hits.as_slice() {
        [one] if one != &table && !table.ends_with(&format!(".{one}")) => format!("{table}.{one}"),
        _ => key,
    }
}

/// The key written on the line of `offset` (`training.epochs`), or the table whose header is on it
/// (`[training]`); `None` for a line that is neither (a value continued over several lines).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..)?.lines().next().unwrap_or_default().trim();
    if line.starts_with('[') {
        let name = line.trim_start_matches('[').split(']').next()?.trim();
        return (!name.is_empty()).then(|| format!("[{name}]"));
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() || key.len() == line.len() || !key.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return None;
    }
    let table = text.get(..line_start)?.lines().rev().map(str::trim).find(|l| l.starts_with('['));
    Some(match table.and_then(|t| t.trim_start_matches('[').split(']').next()) {
        Some(t) if !t.trim().is_empty() => format!("{}.{key}", t.trim()),
        _ => key.to_string(),
    })
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Config {
    /// Parses TOML text with `overrides` applied to its document first, in order: an override is
    /// typed and checked for unknown keys by the same deserialization as the file, and an error it
    /// causes names it (`--set training.learning_rate=abc: ...`) instead of a line of the file.
    /// An error the file has on its own is reported as [`Config::parse`] reports it.
    pub fn parse_with(text: &str, path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
        let Some(last) = overrides.last() else { return Config::parse(text, path) };
        if text.trim().is_empty() {
            return Err(ConfigError::Empty { path: path.to_path_buf() });
        }
        // TOML syntax is the file's alone: report it with its line and column.
        let doc: toml::Table = match text.parse() {
            Ok(doc) => doc,
            Err(e) => return Err(Config::parse(text, path).err().unwrap_or_else(|| file_parse_error(path, e.message()))),
        };
        let (rendered, e) = match deserialize_with(&doc, overrides)? {
            Ok(config) => return Ok(config),
            Err(failed) => failed,
        };
        // The override at fault is the last one without which the error is not the same.
        let same_error = |others: &[Override]| matches!(deserialize_with(&doc, others), Ok(Err((_, other))) if other.message() == e.message());
        let culprit = match (0..overrides.len()).rev().find(|&i| !same_error(&[&overrides[..i], &overrides[i + 1..]].concat())) {
            Some(i) => &overrides[i],
            None => match Config::parse(text, path) {
                // No single override's: the file's own error, reported with its line.
                Err(own) => return Err(own),
                // Several overrides together.
                Ok(_) => last,
            },
        };
        let raw = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
        let message = schema_message(&raw, schema_error_key(&rendered, &e).as_deref());
        Err(ConfigError::Override { arg: culprit.label.clone(), message })
    }
}

/// `doc` with `overrides` applied, deserialized from its TOML text as the file is: serde's errors
/// then carry a position in that text from which the key is read back (deserializing the table
/// itself reports none). A failure comes with the text.
fn deserialize_with(doc: &toml::Table, overrides: &[Override]) -> Result<Result<Config, (String, toml::de::Error)>, ConfigError> {
    let mut doc = doc.clone();
    for o in overrides {
        o.apply(&mut doc)?;
    }
    let rendered = toml::to_string(&doc).map_err(|e| ConfigError::Override {
        arg: overrides.last().map_or_else(|| "--set".into(), |o| o.label.clone()),
        message: e.to_string(),
    })?;
    Ok(toml::from_str::<Config>(&rendered).map_err(|e| (rendered, e)))
}

fn file_parse_error(path: &Path, message: &str) -> ConfigError {
    ConfigError::Parse { path: path.to_path_buf(), line: 1, column: 1, message: message.lines().collect::<Vec<_>>().join(", ") }
}

/// The field of serde's `unknown field `x`, expected ...`.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `").and_then(|m| m.split('`').next())
}

/// The dotted key a schema error of `text` (a document written by `toml::to_string`: one key per
/// line under `[table]` headers) is about: the key itself, or for an unknown field the table's
/// name and the field, or the table of a missing field.
fn schema_error_key(text: &str, e: &toml::de::Error) -> Option<String> {
    let span = e.span()?;
    let field = unknown_field(e.message());
    // A struct reports its unknown field at the key; a table tagged by `kind` at the whole table:
    // find the key's line in it (as `Config::parse` does).
    let mut start = span.start;
    if let Some(field) = field {
        let mut offset = 0;
        for l in text.get(span.clone()).unwrap_or_default().split_inclusive('\n') {
            let trimmed = l.trim_start();
            if trimmed.strip_prefix(field).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                start = span.start + offset + (l.len() - trimmed.len());
                break;
            }
            offset += l.len();
        }
    }
    let at = refine_key(text, span.clone(), key_at(text, start)?, e.message());
    // A table header: the unknown key is the table itself (`[trainin]`) or one inside it, and a
    // missing or mistyped field belongs to the table.
    let Some(table) = at.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else { return Some(at) };
    Some(match field {
        Some(field) if table != field && !table.ends_with(&format!(".{field}")) => format!("{table}.{field}"),
        _ => table.to_string(),
    })
}
