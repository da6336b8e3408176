//! Writing event files: the trainer's own (rewritten whole, or appended to epoch by epoch, a cut
//! record dropped first) and other tools' files holding plugin values (a sweep's HParams).

use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::read::parse_records;
use super::{EVENT_FILE_MARKER, FILE_VERSION, OWN_FILE_MARKER, Scalar, append_record, event_files};
use crate::metrics::now_unix as now;
use crate::protobuf::{put_bytes, put_double, put_float, put_varint_field};

/// Writes `scalars` as the trainer's only event file in `dir` (created if missing): its earlier
/// event files in `dir` are removed (other tools' files stay), so calling this again with a longer
/// history (on resume, or from a report) never shows a point twice, and a file cut by a killed
/// [`append_scalars`] is replaced whole. Each point keeps its own wall time; the file-version
/// record takes the earliest of them (now when there is none), so TensorBoard's Relative axis
/// starts at the run's first point. The file appears under its final name only once complete.
/// Returns its path.
pub fn write_scalars(dir: &Path, scalars: &[Scalar]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let wall_time = earliest(scalars);
    let mut bytes = Vec::new();
    append_record(
        &mut bytes,
        &encode_event(wall_time, 0, Some(FILE_VERSION), &[]),
    );
    bytes.extend_from_slice(&encode_records(scalars));
    let name = format!(
        "events.out.{EVENT_FILE_MARKER}.{}{OWN_FILE_MARKER}{}",
        wall_time as u64,
        std::process::id()
    );
    let path = dir.join(name);
    // The temporary name lacks the marker, so a TensorBoard watching `dir` never reads half a file.
    let tmp = dir.join(format!(".partial-events.{}", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    for old in event_files(dir)? {
        if old != path {
            fs::remove_file(old)?;
        }
    }
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Appends `scalars` to the event file of `dir`, creating it (as [`write_scalars`] does) when
/// there is none: what a live writer does, so a TensorBoard watching the run reads each epoch's
/// points as they come without the file being replaced under it. The records go out in one write,
/// then to disk. A process killed during an earlier append can have left a partial record at the
/// end; TensorBoard stops reading there, so it is cut off first and the new records follow the
/// last whole one (nothing complete is lost). Returns the file's path.
pub fn append_scalars(dir: &Path, scalars: &[Scalar]) -> io::Result<PathBuf> {
    let existing = if dir.is_dir() {
        event_files(dir)?
    } else {
        Vec::new()
    };
    // `write_scalars` leaves one file; should there be more, the newest name is the newest file.
    let Some(path) = existing.last() else {
        return write_scalars(dir, scalars);
    };
    let intact = parse_records(path, &fs::read(path)?).intact_len;
    let mut batch = Vec::new();
    if intact == 0 {
        // Not even the file-version record survived: the file restarts with it.
        append_record(
            &mut batch,
            &encode_event(earliest(scalars), 0, Some(FILE_VERSION), &[]),
        );
    }
    batch.extend_from_slice(&encode_records(scalars));
    let mut file = fs::OpenOptions::new().write(true).open(path)?;
    file.set_len(intact as u64)?;
    file.seek(SeekFrom::Start(intact as u64))?;
    file.write_all(&batch)?;
    file.sync_data()?;
    Ok(path.clone())
}

/// A summary value addressed to a TensorBoard plugin rather than to the scalars dashboard: its
/// data is the plugin's own serialized message, which TensorBoard hands to the plugin as is.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginValue {
    /// The tag, e.g. `_hparams_/session_start_info`.
    pub tag: String,
    /// The plugin, e.g. `hparams`.
    pub plugin_name: String,
    /// `SummaryMetadata.PluginData.content`: the plugin's message.
    pub content: Vec<u8>,
}

/// The name of an event file written at `wall_time` by the tool `suffix` (`sweep-hparams`):
/// `events.out.tfevents.<seconds>.<suffix>`. Without [`OWN_FILE_MARKER`], the trainer leaves it
/// alone.
pub fn event_file_name(wall_time: f64, suffix: &str) -> String {
    format!(
        "events.out.{EVENT_FILE_MARKER}.{}.{suffix}",
        wall_time as u64
    )
}

/// Writes the whole event file `path` (its directory created if missing): the file-version
/// record, one event holding `plugin_values` at step 0, then `scalars`, every record at
/// `wall_time` except the scalars (their own). As [`write_scalars`], it appears under its name
/// only once complete, replacing a file of that name.
pub fn write_event_file(
    path: &Path,
    wall_time: f64,
    plugin_values: &[PluginValue],
    scalars: &[Scalar],
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut bytes = Vec::new();
    append_record(
        &mut bytes,
        &encode_event(wall_time, 0, Some(FILE_VERSION), &[]),
    );
    if !plugin_values.is_empty() {
        append_record(&mut bytes, &encode_plugin_event(wall_time, plugin_values));
    }
    bytes.extend_from_slice(&encode_records(scalars));
    let tmp = dir.join(format!(".partial-events.{}", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// The time of the file-version record: the earliest point's, now when there is none.
fn earliest(scalars: &[Scalar]) -> f64 {
    scalars
        .iter()
        .map(|s| s.wall_time)
        .reduce(f64::min)
        .unwrap_or_else(now)
}

/// The records of `scalars`, one `Event` each.
fn encode_records(scalars: &[Scalar]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for s in scalars {
        append_record(
            &mut bytes,
            &encode_event(s.wall_time, s.step, None, &[(s.tag.as_str(), s.value)]),
        );
    }
    bytes
}

/// An `Event` record's bytes: its wall time, step (omitted at 0), file version and scalar values.
pub(super) fn encode_event(
    wall_time: f64,
    step: i64,
    file_version: Option<&str>,
    values: &[(&str, f32)],
) -> Vec<u8> {
    let mut out = Vec::new();
    put_double(&mut out, 1, wall_time);
    if step != 0 {
        // int64 is encoded as its two's-complement u64 (negative steps take 10 bytes).
        put_varint_field(&mut out, 2, step as u64);
    }
    if let Some(version) = file_version {
        put_bytes(&mut out, 3, version.as_bytes());
    }
    if !values.is_empty() {
        let mut summary = Vec::new();
        for (tag, value) in values {
            let mut v = Vec::new();
            put_bytes(&mut v, 1, tag.as_bytes());
            put_float(&mut v, 2, *value);
            put_bytes(&mut summary, 1, &v);
        }
        put_bytes(&mut out, 5, &summary);
    }
    out
}

/// An `Event` at step 0 whose summary holds `values`, each `Summary.Value { tag = 1,
/// metadata = 9: SummaryMetadata { plugin_data = 1: PluginData { plugin_name = 1, content = 2 },
/// data_class = 4 }, tensor = 8 }`. The tensor is the empty float tensor and the data class
/// "tensor", as TensorBoard's own summary writers set them for metadata-only values, so every
/// reader (the Python and the Rust data loader) accepts the value.
fn encode_plugin_event(wall_time: f64, values: &[PluginValue]) -> Vec<u8> {
    // TensorProto { dtype = 1: DT_FLOAT (1), tensor_shape = 2: { dim = 2: { size = 1: 0 } } }.
    const EMPTY_FLOAT_TENSOR: [u8; 6] = [0x08, 0x01, 0x12, 0x02, 0x12, 0x00];
    const DATA_CLASS_TENSOR: u64 = 2;
    let mut summary = Vec::new();
    for value in values {
        let mut plugin = Vec::new();
        put_bytes(&mut plugin, 1, value.plugin_name.as_bytes());
        put_bytes(&mut plugin, 2, &value.content);
        let mut metadata = Vec::new();
        put_bytes(&mut metadata, 1, &plugin);
        put_varint_field(&mut metadata, 4, DATA_CLASS_TENSOR);
        let mut v = Vec::new();
        put_bytes(&mut v, 1, value.tag.as_bytes());
        put_bytes(&mut v, 8, &EMPTY_FLOAT_TENSOR);
        put_bytes(&mut v, 9, &metadata);
        put_bytes(&mut summary, 1, &v);
    }
    let mut out = Vec::new();
    put_double(&mut out, 1, wall_time);
    put_bytes(&mut out, 5, &summary);
    out
}
