//! The differences between two configs, key by key (what `--resume` reports when the config given
//! is not the one saved in the run).

use crate::schema::Config;

/// A key whose value differs between the config saved in a run and the one given now.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The dotted key: `training.learning_rate`.
    pub key: String,
    /// Its value in the saved config, in TOML syntax; `None` when it is not set there.
    pub saved: Option<String>,
    /// Its value in the config given now.
    pub given: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        write!(f, "{} = {} in the run, {} now", self.key, show(&self.saved), show(&self.given))
    }
}

/// Every key whose value differs between `saved` and `given`, by dotted key in the order of the
/// file; arrays are compared whole (`model.hidden = [64] in the run, [128] now`).
pub fn differences(saved: &Config, given: &Config) -> Vec<Difference> {
    let (Ok(a), Ok(b)) = (toml::Value::try_from(saved), toml::Value::try_from(given)) else {
        // Only an integer beyond TOML's (a seed > 2^63 - 1 set from code) fails to convert.
        return if saved == given { Vec::new() } else { vec![Difference { key: "(config)".into(), saved: None, given: None }] };
    };
    let mut out = Vec::new();
    diff_values("", Some(&a), Some(&b), &mut out);
    out
}

fn diff_values(key: &str, a: Option<&toml::Value>, b: Option<&toml::Value>, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for k in keys {
                let sub = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                diff_values(&sub, a.get(k), b.get(k), out);
            }
        }
        (a, b) if a != b => out.push(Difference { key: key.into(), saved: a.map(|v| v.to_string()), given: b.map(|v| v.to_string()) }),
        _ => {}
    }
}


