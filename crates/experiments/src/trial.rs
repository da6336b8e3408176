//! Expanding a sweep into trials: the grid's points × the repeats, each an ordinary config (the base
//! with overrides), every one built and validated before anything runs.

use mnist_config::{Experiment, Override};

use crate::SweepError;
use crate::spec::Spec;

/// One trial: one grid point, one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Its directory's name inside the sweep directory: the varied keys and the seed,
    /// `training.l2=1e-6,seed=42`.
    pub name: String,
    /// The name of its grid point (the varied keys without the seed; `base` without axes): trials
    /// that differ only in their seed share it and are summarized together.
    pub point: String,
    /// The grid point's values, one per axis, in the order of the spec's axes.
    pub values: Vec<toml::Value>,
    /// The seed it trains with: the seed of the base config (after `[set]` and the grid) + repeat.
    pub seed: u64,
    /// The resolved config, as `train` writes it into a run directory.
    pub config: String,
}

/// Every trial of the sweep, grid points in order (the first axis varies slowest), repeats inside
/// each point. Each trial's config is built by the code that reads config files
/// ([`Experiment::load_with`]), so an unknown key or a value of the wrong type anywhere in the grid
/// is refused here, naming the sweep file and the key, before any trial runs.
///
/// A stop request (SIGINT, SIGTERM) ends it after the trial being built, with
/// [`SweepError::Planning`]. The test hook `plan` (`MNIST_BURN_TEST_PAUSE_AT=plan`, see
/// `mnist_runs::hooks`) pauses it once the first trial is built, until a stop signal arrives.
pub fn expand(spec: &Spec) -> Result<Vec<Trial>, SweepError> {
    let config_error = |source| SweepError::Config { file: spec.file.clone(), source };
    let fixed: Vec<Override> = spec.set.iter().map(|(k, v)| make_override("[set]", k, v.clone())).collect();
    let total = spec.trials();
    let mut trials = Vec::new();
    for index in 0..spec.points() {
        let values = point_values(spec, index);
        let mut overrides = fixed.clone();
        for (axis, value) in spec.grid.iter().zip(&values) {
            overrides.push(make_override("[grid]", &axis.key, value.clone()));
        }
        let experiment = Experiment::load_with(&spec.base, &overrides).map_err(config_error)?;
        let base_seed = experiment.config().experiment.seed;
        let point_parts: Vec<String> = spec.grid.iter().zip(&values).map(|(a, v)| format!("{}={}", a.key, value_text(v))).collect();
        let point = if point_parts.is_empty() { "base".to_string() } else { point_parts.join(",") };
        for repeat in 0..spec.repeats {
            let seed = base_seed.checked_add(repeat).ok_or_else(|| SweepError::Spec {
                file: spec.file.clone(),
                message: format!("the seed {base_seed} + repeat {repeat} overflows"),
            })?;
            let mut with_seed = overrides.clone();
            let label = format!("{}: seed {seed} (repeat {repeat})", spec.file.display());
            with_seed.push(Override::at(label, "experiment.seed", toml::Value::Integer(seed as i64)).expect("a valid key"));
            let config = Experiment::load_with(&spec.base, &with_seed).map_err(config_error)?.config().to_toml();
            // `model.encoder[2].units` names a directory as `model.encoder.2.units`: brackets
            // are glob characters in a shell.
            let mut parts: Vec<String> = spec.grid.iter().zip(&values).map(|(a, v)| format!("{}={}", a.key.replace('[', ".").replace(']', ""), value_text(v))).collect();
            parts.push(format!("seed={seed}"));
            trials.push(Trial { name: safe_name(&parts.join(",")), point: point.clone(), values: values.clone(), seed, config });
            if trials.len() == 1 {
                mnist_runs::hooks::unnumbered("plan");
            }
            check_stop(trials.len(), total, "trials built")?;
        }
    }
    // Sanitizing or shortening could map two trials to one directory: refuse rather than mix them.
    let mut names: Vec<&str> = trials.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(SweepError::Spec { file: spec.file.clone(), message: format!("two trials would share the directory {:?}; make the grid's values distinct", w[0]) });
    }
    Ok(trials)
}

/// An override as the trainer takes it; its label starts every error about it.
fn make_override(table: &str, key: &str, value: toml::Value) -> Override {
    let label = format!("{table} \"{key}\" = {}", value_text(&value));
    Override::at(label, key, value).expect("the spec checked its keys")
}

/// Ends planning with [`SweepError::Planning`] once a stop signal was received; `done` of `total`
/// are `what` (`trials built`) so far.
pub fn check_stop(done: usize, total: u64, what: &'static str) -> Result<(), SweepError> {
    match mnist_runs::stop::requested() {
        Some(signal) => Err(SweepError::Planning { signal: signal.name(), done, total, what }),
        None => Ok(()),
    }
}

/// The values of grid point `index` (0-based) of the cartesian product of the axes, the first axis
/// varying slowest; made one at a time, so the product is never held in memory.
fn point_values(spec: &Spec, mut index: u64) -> Vec<toml::Value> {
    let mut values = Vec::with_capacity(spec.grid.len());
    for axis in spec.grid.iter().rev() {
        let len = axis.values.len() as u64;
        values.push(axis.values[(index % len) as usize].clone());
        index /= len;
    }
    values.reverse();
    values
}

/// A value as a trial name shows it: floats in Rust's shortest round-trip form (`1e-6`, `0.1`),
/// strings without quotes, lists and tables compactly.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) => format!("{x:?}"),
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => format!("[{}]", a.iter().map(value_text).collect::<Vec<_>>().join(",")),
        toml::Value::Table(t) => format!("{{{}}}", t.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// A directory name: characters other than letters, digits and `._,=+-` become `_`, a leading dot
/// too (no hidden directories); names over 120 bytes are cut and end in a hash of the whole name,
/// so they stay unique and stable from run to run.
pub fn safe_name(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "._,=+-".contains(c) { c } else { '_' }).collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.len() > 120 {
        // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
        s.truncate(100);
        s = format!("{s}~{hash:016x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[experiment]\nname = \"tiny\"\nseed = 7\n\n[model]\nkind = \"mlp\"\nhidden = [16]\n\n[training]\nepochs = 2\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n";

    fn spec(sweep: &str) -> Result<(tempfile::TempDir, Spec), SweepError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), BASE).unwrap();
        let s = Spec::parse(sweep, &dir.path().join("s.toml"))?;
        Ok((dir, s))
    }

    #[test]
    fn the_grid_times_the_repeats_are_the_trials() {
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\nrepeats = 2\n[set]\n\"training.epochs\" = 1\n[grid]\n\"training.l2\" = [1e-6, 0.001]\n\"model.hidden\" = [[8], [4, 4]]\n").unwrap();
        let trials = expand(&s).unwrap();
        let names: Vec<&str> = trials.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, [
            "model.hidden=_8_,training.l2=1e-6,seed=7",
            "model.hidden=_8_,training.l2=1e-6,seed=8",
            "model.hidden=_8_,training.l2=0.001,seed=7",
            "model.hidden=_8_,training.l2=0.001,seed=8",
            "model.hidden=_4,4_,training.l2=1e-6,seed=7",
            "model.hidden=_4,4_,training.l2=1e-6,seed=8",
            "model.hidden=_4,4_,training.l2=0.001,seed=7",
            "model.hidden=_4,4_,training.l2=0.001,seed=8",
        ]);
        assert_eq!(trials[1].point, "model.hidden=[8],training.l2=1e-6");
        assert_eq!(trials[1].seed, 8);
        let c = &trials[7].config;
        assert!(c.contains("seed = 8") && c.contains("l2 = 0.001") && c.contains("epochs = 1"), "{c}");
        // No axes: one point, the base.
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\nrepeats = 3\n").unwrap();
        let trials = expand(&s).unwrap();
        assert_eq!(trials.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["seed=7", "seed=8", "seed=9"]);
        assert_eq!(trials[0].point, "base");
    }

    #[test]
    fn an_axis_may_vary_one_element_of_a_list() {
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\n[grid]\n\"model.hidden[0]\" = [8, 32]\n").unwrap();
        let trials = expand(&s).unwrap();
        assert_eq!(trials.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["model.hidden.0=8,seed=7", "model.hidden.0=32,seed=7"]);
        assert_eq!(trials[1].point, "model.hidden[0]=32");
        assert!(trials[1].config.contains("hidden = [32]"), "{}", trials[1].config);
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\n[grid]\n\"model.hidden[1]\" = [8]\n").unwrap();
        let e = expand(&s).unwrap_err().to_string();
        assert!(e.contains("[grid] \"model.hidden[1]\" = 8: model.hidden has 1 element, so it has no [1]"), "{e}");
    }

    #[test]
    fn bad_keys_and_types_are_refused_before_anything_runs() {
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\n[grid]\n\"training.l3\" = [1.0]\n").unwrap();
        let e = expand(&s).unwrap_err().to_string();
        assert!(e.contains("s.toml: [grid] \"training.l3\" = 1.0: unknown key `training.l3`"), "{e}");
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\n[grid]\n\"training.epochs\" = [1, \"two\"]\n").unwrap();
        let e = expand(&s).unwrap_err().to_string();
        assert!(e.contains("[grid] \"training.epochs\" = two:") && e.contains("expected a whole number (0 or more)"), "{e}");
        let (_d, s) = spec("[sweep]\nbase = \"base.toml\"\n[set]\n\"training.epochs\" = 0\n").unwrap();
        let e = expand(&s).unwrap_err().to_string();
        assert!(e.contains("[set] \"training.epochs\" = 0") && e.contains("at least 1"), "{e}");
    }

    #[test]
    fn names_are_safe_and_stable() {
        assert_eq!(safe_name("training.l2=1e-6,seed=1"), "training.l2=1e-6,seed=1");
        assert_eq!(safe_name("data.dir=../x y"), "data.dir=.._x_y");
        assert_eq!(safe_name(".hidden"), "_hidden");
        let long = "k=".to_string() + &"v".repeat(200);
        let a = safe_name(&long);
        assert!(a.len() < 130 && a == safe_name(&long) && a != safe_name(&(long.clone() + "w")), "{a}");
        assert_eq!(value_text(&toml::Value::Float(0.00025075)), "0.00025075");
        assert_eq!(value_text(&"adam".into()), "adam");
    }
}
