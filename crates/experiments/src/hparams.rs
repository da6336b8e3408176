//! TensorBoard's HParams data for a sweep, so `tensorboard --logdir <sweep dir>` lists every trial
//! with its varied keys, its seed and its final metrics in the HParams tab.
//!
//! TensorBoard treats each directory holding event files as a run. A trial's run is
//! `<trial>/tensorboard/`, where `train` writes its scalars; the plugin takes a run that holds a
//! `_hparams_/session_start_info` value for a session and reads that session's metrics from the
//! same run's scalars. So each finished trial gets one more event file there,
//! `events.out.tfevents.<t>.sweep-hparams` (the trainer leaves files without its own marker alone): the
//! session's start and end info plus the final test metrics (`test/<metric>`, from `test.json`)
//! as scalars at the trained epoch. The sweep directory itself (the run `.`) gets
//! `events.out.tfevents.<t>.hparams-experiment`: the experiment, which lists the hyperparameters
//! with their values and the metrics the tab shows.
//!
//! The messages are those of the plugin's `plugin_data.proto` and `api.proto`, hand-encoded as the
//! trainer encodes its events (field numbers as in TensorBoard 2.x):
//! `HParamsPluginData { version = 1, experiment = 2, session_start_info = 3, session_end_info = 4 }`,
//! `SessionStartInfo { hparams = 1 (map<string, google.protobuf.Value>), group_name = 4,
//! start_time_secs = 5 }`, `SessionEndInfo { status = 1, end_time_secs = 2 }`,
//! `Experiment { time_created_secs = 3, hparam_infos = 4, metric_infos = 5 }`,
//! `HParamInfo { name = 1, type = 4, domain_discrete = 5 (ListValue { values = 1 }) }`,
//! `MetricInfo { name = 1: MetricName { group = 1, tag = 2 } }`,
//! `google.protobuf.Value { number_value = 2, string_value = 3, bool_value = 4 }`.
//! Every file is rewritten whole, under a name that depends only on what it holds, so rerunning
//! a finished sweep leaves the same files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use mnist_runs::protobuf::{put_bytes, put_double, put_varint_field};
use mnist_runs::{TEST_FILE, TestResult};
use mnist_runs::tensorboard::{self, PluginValue, Scalar, TENSORBOARD_DIR};

use crate::spec::{Spec, TEST_METRICS};
use crate::trial::{Trial, value_text};

/// The plugin's name in `SummaryMetadata.plugin_data`.
pub const PLUGIN_NAME: &str = "hparams";
/// How a trial's HParams event file name ends. TensorBoard's Python loader reads a run's files in
/// name order and, while watching, never goes back to a file named before the one it reads: with
/// `<t>` the time `test.json` was written (never before the trainer's file's time) and `s` after
/// the `m` of the trainer's `mnist-burn`, the file sorts after the trainer's even within one second.
pub const SESSION_SUFFIX: &str = "sweep-hparams";
/// How the sweep's experiment event file name ends.
pub const EXPERIMENT_SUFFIX: &str = "hparams-experiment";
const EXPERIMENT_TAG: &str = "_hparams_/experiment";
const SESSION_START_TAG: &str = "_hparams_/session_start_info";
const SESSION_END_TAG: &str = "_hparams_/session_end_info";
/// The validation metric listed besides the test metrics: the trainer's own scalar, last epoch.
const VALIDATION_LOSS: &str = "validation/loss";

/// A hyperparameter's value, as `google.protobuf.Value` carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum HValue {
    /// `number_value = 2` (integers too).
    Number(f64),
    /// `string_value = 3`.
    Text(String),
    /// `bool_value = 4`.
    Bool(bool),
}

impl HValue {
    /// `v` as the axis of `values` shows it: numbers when every value of the axis is one, bools
    /// when every one is, text (as trial names write it) otherwise, so that one hyperparameter
    /// has one type in the tab, as the plugin expects.
    pub fn of(v: &toml::Value, values: &[toml::Value]) -> HValue {
        let number = |v: &toml::Value| match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(x) => Some(*x),
            _ => None,
        };
        if values.iter().all(|v| number(v).is_some())
            && let Some(x) = number(v)
        {
            return HValue::Number(x);
        }
        if values.iter().all(toml::Value::is_bool)
            && let toml::Value::Boolean(b) = v
        {
            return HValue::Bool(*b);
        }
        HValue::Text(value_text(v))
    }

    /// `HParamInfo.type`: `DATA_TYPE_STRING = 1`, `DATA_TYPE_BOOL = 2`, `DATA_TYPE_FLOAT64 = 3`.
    fn data_type(&self) -> u64 {
        match self {
            HValue::Text(_) => 1,
            HValue::Bool(_) => 2,
            HValue::Number(_) => 3,
        }
    }

    /// The `google.protobuf.Value` message.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            HValue::Number(x) => put_double(&mut out, 2, *x),
            HValue::Text(s) => put_bytes(&mut out, 3, s.as_bytes()),
            HValue::Bool(b) => put_varint_field(&mut out, 4, *b as u64),
        }
        out
    }
}

/// A trial's hyperparameters: the sweep's varied keys (dotted, as in `[grid]`), then `seed`.
pub fn hparams_of(spec: &Spec, trial: &Trial) -> Vec<(String, HValue)> {
    let mut out: Vec<(String, HValue)> = spec.grid.iter().zip(&trial.values).map(|(a, v)| (a.key.clone(), HValue::of(v, &a.values))).collect();
    out.push(("seed".into(), HValue::Number(trial.seed as f64)));
    out
}

/// `HParamsPluginData { session_start_info = 3: SessionStartInfo { hparams, group_name,
/// start_time_secs } }` (`version = 0`, the default, is left out as protobuf does).
pub fn session_start_info(hparams: &[(String, HValue)], group_name: &str, start_time_secs: f64) -> Vec<u8> {
    let mut info = Vec::new();
    for (name, value) in hparams {
        // A map entry is a message { key = 1, value = 2 }.
        let mut entry = Vec::new();
        put_bytes(&mut entry, 1, name.as_bytes());
        put_bytes(&mut entry, 2, &value.encode());
        put_bytes(&mut info, 1, &entry);
    }
    put_bytes(&mut info, 4, group_name.as_bytes());
    put_double(&mut info, 5, start_time_secs);
    let mut out = Vec::new();
    put_bytes(&mut out, 3, &info);
    out
}

/// `HParamsPluginData { session_end_info = 4: SessionEndInfo { status = STATUS_SUCCESS (1),
/// end_time_secs } }`.
pub fn session_end_info(end_time_secs: f64) -> Vec<u8> {
    let mut info = Vec::new();
    put_varint_field(&mut info, 1, 1);
    put_double(&mut info, 2, end_time_secs);
    let mut out = Vec::new();
    put_bytes(&mut out, 4, &info);
    out
}

/// `HParamsPluginData { experiment = 2: Experiment { time_created_secs, hparam_infos,
/// metric_infos } }`: each hyperparameter with its type and the values it takes (its discrete
/// domain; the first value gives the type), each metric by its scalar tag.
pub fn experiment(hparams: &[(String, Vec<HValue>)], metric_tags: &[String], time_created_secs: f64) -> Vec<u8> {
    let mut exp = Vec::new();
    put_double(&mut exp, 3, time_created_secs);
    for (name, values) in hparams {
        let mut info = Vec::new();
        put_bytes(&mut info, 1, name.as_bytes());
        if let Some(first) = values.first() {
            put_varint_field(&mut info, 4, first.data_type());
        }
        let mut list = Vec::new();
        for v in values {
            put_bytes(&mut list, 1, &v.encode());
        }
        put_bytes(&mut info, 5, &list);
        put_bytes(&mut exp, 4, &info);
    }
    for tag in metric_tags {
        let mut name = Vec::new();
        put_bytes(&mut name, 2, tag.as_bytes());
        let mut info = Vec::new();
        put_bytes(&mut info, 1, &name);
        put_bytes(&mut exp, 5, &info);
    }
    let mut out = Vec::new();
    put_bytes(&mut out, 2, &exp);
    out
}

/// A finished trial's final test metrics: its test result (`test.json`), when it has one, and when
/// that was written.
fn test_json(trial_dir: &Path) -> Option<(TestResult, f64)> {
    let result = TestResult::read(trial_dir)?;
    Some((result, modified(&trial_dir.join(TEST_FILE))?))
}

fn modified(path: &Path) -> Option<f64> {
    let t = fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
}

/// The `test/<metric>` scalars of a test result, at its epoch.
fn test_scalars(result: &TestResult, wall_time: f64) -> Vec<Scalar> {
    let epoch = i64::try_from(result.epoch).unwrap_or(i64::MAX);
    TEST_METRICS.iter().filter_map(|k| Some(Scalar::new(wall_time, epoch, format!("test/{k}"), result.metric(k)? as f32))).collect()
}

/// Writes the HParams event file of the finished trial in `trial_dir` (one with a `test.json`) into
/// its `tensorboard/`, replacing an earlier one; `None` for a trial not finished. Its time (and
/// name) is that of `test.json`; the session starts when the run was created.
pub fn write_trial(spec: &Spec, trial: &Trial, trial_dir: &Path) -> io::Result<Option<PathBuf>> {
    let Some((metrics, done)) = test_json(trial_dir) else {
        return Ok(None);
    };
    let start = tensorboard::RunTimes::read(trial_dir).start().unwrap_or(done);
    let values = [
        PluginValue { tag: SESSION_START_TAG.into(), plugin_name: PLUGIN_NAME.into(), content: session_start_info(&hparams_of(spec, trial), &trial.name, start) },
        PluginValue { tag: SESSION_END_TAG.into(), plugin_name: PLUGIN_NAME.into(), content: session_end_info(done) },
    ];
    let path = trial_dir.join(TENSORBOARD_DIR).join(tensorboard::event_file_name(done, SESSION_SUFFIX));
    tensorboard::write_event_file(&path, done, &values, &test_scalars(&metrics, done))?;
    remove_others(&path, SESSION_SUFFIX)?;
    Ok(Some(path))
}

/// Writes the sweep's experiment event file into `sweep_dir`, replacing an earlier one: every
/// hyperparameter with the values of the grid, `seed` with the trials' seeds, and as metrics each
/// test metric some finished trial has plus `validation/loss`. Its time (and name) is that of the
/// newest `test.json`; `None` when no trial has finished.
pub fn write_experiment(spec: &Spec, trials: &[Trial], sweep_dir: &Path) -> io::Result<Option<PathBuf>> {
    let found: Vec<(TestResult, f64)> = trials.iter().filter_map(|t| test_json(&sweep_dir.join(&t.name))).collect();
    let Some(newest) = found.iter().map(|(_, t)| *t).reduce(f64::max) else {
        return Ok(None);
    };
    let mut hparams: Vec<(String, Vec<HValue>)> = spec.grid.iter().map(|a| (a.key.clone(), a.values.iter().map(|v| HValue::of(v, &a.values)).collect())).collect();
    let mut seeds: Vec<u64> = trials.iter().map(|t| t.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    hparams.push(("seed".into(), seeds.into_iter().map(|s| HValue::Number(s as f64)).collect()));
    let mut tags: Vec<String> = TEST_METRICS.iter().filter(|k| found.iter().any(|(m, _)| m.metric(k).is_some())).map(|k| format!("test/{k}")).collect();
    tags.push(VALIDATION_LOSS.into());
    let value = PluginValue { tag: EXPERIMENT_TAG.into(), plugin_name: PLUGIN_NAME.into(), content: experiment(&hparams, &tags, newest) };
    let path = sweep_dir.join(tensorboard::event_file_name(newest, EXPERIMENT_SUFFIX));
    tensorboard::write_event_file(&path, newest, &[value], &[])?;
    remove_others(&path, EXPERIMENT_SUFFIX)?;
    Ok(Some(path))
}

/// Removes the event files beside `path` that end with `.<suffix>`: earlier versions of it.
fn remove_others(path: &Path, suffix: &str) -> io::Result<()> {
    let Some(dir) = path.parent() else { return Ok(()) };
    let end = format!(".{suffix}");
    for entry in fs::read_dir(dir)? {
        let other = entry?.path();
        let name = other.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if other != path && name.starts_with("events.out.tfevents.") && name.ends_with(&end) {
            fs::remove_file(&other)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoded field: varint, 8 bytes, or a length-delimited payload.
    #[derive(Debug, PartialEq)]
    enum F {
        V(u64),
        D(f64),
        B(Vec<u8>),
    }

    /// The fields of one message, in order, decoded from their tags by hand.
    fn fields(mut b: &[u8]) -> Vec<(u64, F)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0;
            for shift in (0..64).step_by(7) {
                let byte = b[0];
                *b = &b[1..];
                v |= ((byte & 0x7f) as u64) << shift;
                if byte < 0x80 {
                    break;
                }
            }
            v
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let f = match key & 7 {
                0 => F::V(varint(&mut b)),
                1 => {
                    let x = f64::from_le_bytes(b[..8].try_into().unwrap());
                    b = &b[8..];
                    F::D(x)
                }
                2 => {
                    let n = varint(&mut b) as usize;
                    let p = b[..n].to_vec();
                    b = &b[n..];
                    F::B(p)
                }
                w => panic!("wire type {w}"),
            };
            out.push((key >> 3, f));
        }
        out
    }

    /// The one length-delimited field of `b`, checking its number.
    fn only(b: &[u8], field: u64) -> Vec<u8> {
        match &fields(b)[..] {
            [(n, F::B(p))] if *n == field => p.clone(),
            other => panic!("expected only field {field}, got {other:?}"),
        }
    }

    #[test]
    fn session_start_info_decodes_field_by_field() {
        let hparams = vec![("training.learning_rate".to_string(), HValue::Number(0.1)), ("model.kind".to_string(), HValue::Text("mlp".into())), ("flag".to_string(), HValue::Bool(true))];
        let info = fields(&only(&session_start_info(&hparams, "g", 12.5), 3));
        assert_eq!(info.len(), 5);
        let entry = |i: usize| match &info[i] {
            (1, F::B(e)) => fields(e),
            other => panic!("{other:?}"),
        };
        assert_eq!(entry(0), [(1, F::B(b"training.learning_rate".to_vec())), (2, F::B([0x11].into_iter().chain(0.1f64.to_le_bytes()).collect()))]);
        assert_eq!(entry(1)[1], (2, F::B(vec![0x1a, 3, b'm', b'l', b'p'])));
        assert_eq!(entry(2)[1], (2, F::B(vec![0x20, 1])));
        assert_eq!(info[3], (4, F::B(b"g".to_vec())));
        assert_eq!(info[4], (5, F::D(12.5)));
        assert_eq!(fields(&only(&session_end_info(20.0), 4)), [(1, F::V(1)), (2, F::D(20.0))]);
    }

    #[test]
    fn experiment_lists_hparams_with_domains_and_metrics() {
        let hparams = vec![("lr".to_string(), vec![HValue::Number(0.1), HValue::Number(0.2)]), ("opt".to_string(), vec![HValue::Text("sgd".into())])];
        let exp = fields(&only(&experiment(&hparams, &["test/loss".into()], 7.0), 2));
        assert_eq!(exp[0], (3, F::D(7.0)));
        let F::B(lr) = &exp[1].1 else { panic!() };
        let lr = fields(lr);
        assert_eq!(exp[1].0, 4);
        assert_eq!(lr[0], (1, F::B(b"lr".to_vec())));
        assert_eq!(lr[1], (4, F::V(3)), "DATA_TYPE_FLOAT64");
        let F::B(domain) = &lr[2].1 else { panic!() };
        assert_eq!(lr[2].0, 5);
        assert_eq!(fields(domain).len(), 2);
        let F::B(opt) = &exp[2].1 else { panic!() };
        assert_eq!(fields(opt)[1], (4, F::V(1)), "DATA_TYPE_STRING");
        let F::B(metric) = &exp[3].1 else { panic!() };
        assert_eq!(exp[3].0, 5);
        assert_eq!(fields(&only(metric, 1)), [(2, F::B(b"test/loss".to_vec()))]);
    }

    #[test]
    fn axis_values_keep_one_type() {
        let nums = [toml::Value::Integer(1), toml::Value::Float(0.5)];
        assert_eq!(HValue::of(&nums[0], &nums), HValue::Number(1.0));
        let mixed = [toml::Value::Integer(1), "a".into()];
        assert_eq!(HValue::of(&mixed[0], &mixed), HValue::Text("1".into()));
        let lists = [toml::Value::Array(vec![8.into()])];
        assert_eq!(HValue::of(&lists[0], &lists), HValue::Text("[8]".into()));
        let bools = [toml::Value::Boolean(false)];
        assert_eq!(HValue::of(&bools[0], &bools), HValue::Bool(false));
    }

    #[test]
    fn files_are_written_for_finished_trials_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), "[experiment]\nname = \"t\"\nseed = 3\n[model]\nkind = \"mlp\"\nhidden = [8]\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n").unwrap();
        let spec = Spec::parse("[sweep]\nbase = \"base.toml\"\nrepeats = 2\n[grid]\n\"training.learning_rate\" = [0.1, 0.2]\n", &dir.path().join("s.toml")).unwrap();
        let trials = crate::trial::expand(&spec).unwrap();
        let sweep = dir.path().join("sweep");
        assert_eq!(write_experiment(&spec, &trials, &sweep).unwrap(), None, "nothing finished");
        let t = &trials[1];
        let trial_dir = sweep.join(&t.name);
        assert_eq!(write_trial(&spec, t, &trial_dir).unwrap(), None);
        std::fs::create_dir_all(&trial_dir).unwrap();
        let result = r#"{"loss": 0.5, "accuracy": 0.75, "samples": 100, "run": "t", "checkpoint": "t/checkpoints/epoch-0004", "epoch": 4, "split": "test", "model": "mlp"}"#;
        std::fs::write(trial_dir.join("test.json"), result).unwrap();
        let path = write_trial(&spec, t, &trial_dir).unwrap().unwrap();
        assert!(path.starts_with(trial_dir.join("tensorboard")) && path.to_string_lossy().ends_with(".sweep-hparams"), "{}", path.display());
        // After the trainer's file of the same second, in name order (see `SESSION_SUFFIX`).
        assert!(path.file_name().unwrap().to_string_lossy().into_owned() > tensorboard::event_file_name(modified(&trial_dir.join("test.json")).unwrap(), "mnist-burn.99"));
        let events = tensorboard::read_events(&path).unwrap();
        assert_eq!(events.len(), 4, "version, session info, 2 metrics");
        assert_eq!(events[2].values, [("test/loss".to_string(), 0.5)]);
        assert_eq!((events[3].step, &events[3].values[..]), (4, &[("test/accuracy".to_string(), 0.75)][..]));
        // Rewritten: the same name, still one file; the trainer's file list does not see it.
        assert_eq!(write_trial(&spec, t, &trial_dir).unwrap().unwrap(), path);
        assert!(tensorboard::event_files(&trial_dir.join("tensorboard")).unwrap().is_empty());
        let stale = trial_dir.join("tensorboard").join(tensorboard::event_file_name(1.0, SESSION_SUFFIX));
        std::fs::write(&stale, b"").unwrap();
        write_trial(&spec, t, &trial_dir).unwrap();
        assert!(!stale.exists() && path.exists());
        assert_eq!(hparams_of(&spec, t), [("training.learning_rate".to_string(), HValue::Number(0.1)), ("seed".to_string(), HValue::Number(4.0))]);

        let exp = write_experiment(&spec, &trials, &sweep).unwrap().unwrap();
        assert_eq!(exp.parent(), Some(sweep.as_path()));
        assert!(exp.to_string_lossy().ends_with(".hparams-experiment"));
        assert_eq!(tensorboard::read_events(&exp).unwrap().len(), 2);
    }
}
