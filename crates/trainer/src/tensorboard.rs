//! TensorBoard event files written and read without TensorFlow: TFRecord framing with masked
//! CRC32C checksums around hand-encoded `Event` protobuf messages carrying scalar summaries.
//!
//! Only what scalars need is encoded: `Event { wall_time = 1, step = 2, file_version = 3,
//! summary = 5 }`, `Summary { value = 1 (repeated) }`, `Summary.Value { tag = 1,
//! simple_value = 2 }` (field numbers of TensorFlow's `event.proto` and `summary.proto`).
//!
//! Every point keeps its own wall time (when its metric row was recorded), so TensorBoard's
//! Relative and Wall axes show the run's real pace. The trainer appends each epoch's points to the
//! run's one event file, as TensorFlow's own writers do; a resume or a report rewrites it whole.
//!
//! Other tools may add event files of their own next to it (a sweep's HParams data, see
//! [`write_event_file`]): TensorBoard reads every event file of a directory as one run. The
//! trainer's functions only ever touch its own files, those named with [`OWN_FILE_MARKER`].

use std::collections::HashMap;
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::metrics::{self, MetricRow, now_unix as now};
use crate::protobuf::{FIXED32, FIXED64, LEN, VARINT, put_bytes, put_double, put_float, put_varint_field};
use crate::run_dir::{CONFIG_FILE, RunDir};

/// The first record of every event file; TensorBoard reads the format version from it.
pub const FILE_VERSION: &str = "brain.Event:2";

/// What every event file name contains (TensorBoard only reads files whose name does).
const EVENT_FILE_MARKER: &str = "tfevents";

/// What the names of the trainer's own event files contain; [`event_files`] lists only those, so
/// [`write_scalars`] never removes, and [`append_scalars`] never appends to, another tool's file.
pub const OWN_FILE_MARKER: &str = ".mnist-burn.";

/// The directory of the event file inside a run.
pub const TENSORBOARD_DIR: &str = "tensorboard";

/// One scalar point: a value of the curve `tag` at `step`, recorded at `wall_time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// Seconds since the Unix epoch when the value was recorded (TensorBoard's Wall axis; its
    /// Relative axis counts from the first point of the run).
    pub wall_time: f64,
    /// Training step or epoch (the x axis in TensorBoard).
    pub step: i64,
    /// Curve name, e.g. `train/loss`; a `/` groups curves in TensorBoard.
    pub tag: String,
    /// The value.
    pub value: f32,
}

impl Scalar {
    /// A point of `tag` at `step`, recorded at `wall_time` (seconds since the Unix epoch).
    pub fn new(wall_time: f64, step: i64, tag: impl Into<String>, value: f32) -> Self {
        Scalar {
            wall_time,
            step,
            tag: tag.into(),
            value,
        }
    }
}

/// One decoded `Event` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch when the event was written.
    pub wall_time: f64,
    /// Its step.
    pub step: i64,
    /// Set on the first record of a file only.
    pub file_version: Option<String>,
    /// `(tag, simple_value)` pairs of its summary.
    pub values: Vec<(String, f32)>,
}

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

/// What a run directory knows about when its points were recorded, for rows and steps that do
/// not carry a time of their own: runs written before times were kept, or `metrics.csv` read
/// alone (it never holds them). Every source is best effort: one that cannot be read (no
/// checkpoint yet, an event file cut by a kill) is skipped, never an error.
#[derive(Debug, Clone, Default)]
pub struct RunTimes {
    /// `(epoch, split)` → time, from the last checkpoint's history.
    checkpoint: HashMap<(usize, String), f64>,
    /// `(tag, step)` → wall time of that point in the run's event files, from files that kept
    /// per-point times.
    recorded: HashMap<(String, i64), f64>,
    /// When the run was created: the modification time of its `config.toml`, written once then.
    start: Option<f64>,
}

impl RunTimes {
    /// Gathers the times `run_dir` holds: its last checkpoint's history, its event files under
    /// `tensorboard/` and the creation of its `config.toml`.
    pub fn read(run_dir: &Path) -> RunTimes {
        let mut times = RunTimes::default();
        if let Ok(Some(last)) = RunDir::open(run_dir).and_then(|run| run.last_checkpoint()) {
            for row in &last.state.history {
                if let Some(t) = row.time {
                    times.checkpoint.insert((row.epoch, row.split.clone()), t);
                }
            }
        }
        for path in event_files(&run_dir.join(TENSORBOARD_DIR)).unwrap_or_default() {
            let Ok((events, _damage)) = read_intact_events(&path) else {
                continue;
            };
            // The writer before per-point times stamped every point of a file with the moment it
            // wrote the file: such times say nothing about the points, so they are not used.
            let mut points = events.iter().filter(|e| !e.values.is_empty());
            let first = points.next().map(|e| e.wall_time);
            if points.all(|e| Some(e.wall_time) == first) {
                continue;
            }
            for e in events {
                for (tag, _) in e.values {
                    times.recorded.entry((tag, e.step)).or_insert(e.wall_time);
                }
            }
        }
        times.start = fs::metadata(run_dir.join(CONFIG_FILE))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64());
        times
    }

    /// Gives every row without a `time` one: the same row's in the last checkpoint's history,
    /// else the wall time of its `<split>/loss` point in the event files, else the reconstruction
    /// of [`metrics::fill_times`] from the rows' durations, starting at the run's creation.
    pub fn fill(&self, rows: &mut [MetricRow]) {
        metrics::fill_times(
            rows,
            |r| {
                self.checkpoint
                    .get(&(r.epoch, r.split.clone()))
                    .copied()
                    .or_else(|| self.recorded(&format!("{}/loss", r.split), r.epoch as i64))
            },
            self.start,
        );
    }

    /// The wall time of the point `(tag, step)` in the run's event files, when they kept one.
    pub fn recorded(&self, tag: &str, step: i64) -> Option<f64> {
        self.recorded.get(&(tag.to_string(), step)).copied()
    }

    /// When the run was created (its `config.toml` written), if known.
    pub fn start(&self) -> Option<f64> {
        self.start
    }
}

/// The trainer's event files in `dir` (names containing `tfevents` and [`OWN_FILE_MARKER`]), sorted
/// by name; other tools' event files there are left out.
pub fn event_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.contains(EVENT_FILE_MARKER)
            && name.contains(OWN_FILE_MARKER)
            && !name.starts_with('.')
            && entry.file_type()?.is_file()
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Reads every record of an event file, checking both checksums of each.
/// A truncated or corrupt file is an `InvalidData` error naming the byte offset.
pub fn read_events(path: &Path) -> io::Result<Vec<Event>> {
    let parsed = parse_records(path, &fs::read(path)?);
    match parsed.damage {
        Some(err) => Err(err),
        None => Ok(parsed.events),
    }
}

/// Reads the whole records of an event file up to the first damaged one (a partial record left
/// by a killed writer, a checksum mismatch), as TensorBoard does; the damage, if any, comes with
/// them. Only an unreadable file is an error.
pub fn read_intact_events(path: &Path) -> io::Result<(Vec<Event>, Option<io::Error>)> {
    let parsed = parse_records(path, &fs::read(path)?);
    Ok((parsed.events, parsed.damage))
}

/// The events of an event file's bytes up to the first damaged record.
struct Parsed {
    events: Vec<Event>,
    /// Bytes of whole, valid records from the start.
    intact_len: usize,
    /// What is wrong at `intact_len` (an `InvalidData` error naming the offset), if anything.
    damage: Option<io::Error>,
}

fn parse_records(path: &Path, bytes: &[u8]) -> Parsed {
    let bad = |offset: usize, what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what} at byte {offset}", path.display()),
        )
    };
    let mut events = Vec::new();
    let mut at = 0;
    let damage = loop {
        if at >= bytes.len() {
            break None;
        }
        match parse_record(bytes, at, &bad) {
            Ok((event, next)) => {
                events.push(event);
                at = next;
            }
            Err(err) => break Some(err),
        }
    };
    Parsed {
        events,
        intact_len: at,
        damage,
    }
}

/// The record at `at`: its event and where the next record starts.
fn parse_record(
    bytes: &[u8],
    at: usize,
    bad: &dyn Fn(usize, &str) -> io::Error,
) -> io::Result<(Event, usize)> {
    let header = bytes
        .get(at..at + 12)
        .ok_or_else(|| bad(at, "truncated record header"))?;
    let len_bytes: [u8; 8] = header[..8].try_into().expect("slice of 8");
    let len_crc = u32::from_le_bytes(header[8..12].try_into().expect("slice of 4"));
    if masked_crc32c(&len_bytes) != len_crc {
        return Err(bad(at, "record length checksum mismatch"));
    }
    let len =
        usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad(at, "record too long"))?;
    let start = at + 12;
    let data = bytes
        .get(start..start.saturating_add(len))
        .ok_or_else(|| bad(at, "truncated record"))?;
    let crc_at = start + len;
    let data_crc = bytes
        .get(crc_at..crc_at + 4)
        .ok_or_else(|| bad(crc_at, "truncated record checksum"))?;
    if masked_crc32c(data) != u32::from_le_bytes(data_crc.try_into().expect("slice of 4")) {
        return Err(bad(at, "record data checksum mismatch"));
    }
    let event = decode_event(data)
        .map_err(|what| bad(start, &format!("malformed Event protobuf ({what})")))?;
    Ok((event, crc_at + 4))
}

/// Reads the scalar points of an event file, in file order.
pub fn read_scalars(path: &Path) -> io::Result<Vec<Scalar>> {
    Ok(read_events(path)?
        .into_iter()
        .flat_map(|e| {
            e.values.into_iter().map(move |(tag, value)| Scalar {
                wall_time: e.wall_time,
                step: e.step,
                tag,
                value,
            })
        })
        .collect())
}

/// TFRecord's checksum: CRC32C, rotated right by 15 bits plus a constant, so that a checksum of
/// data that itself contains checksums stays well distributed.
fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Appends one TFRecord: length (u64 LE), its masked CRC, the data, the data's masked CRC.
fn append_record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

fn encode_event(
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

/// A minimal protobuf reader over one message.
struct Fields<'a> {
    data: &'a [u8],
    at: usize,
}

/// A field's payload.
enum Payload<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

impl<'a> Fields<'a> {
    fn new(data: &'a [u8]) -> Self {
        Fields { data, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at).ok_or("truncated varint")?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let s = self.data.get(self.at..end).ok_or("truncated field")?;
        self.at = end;
        Ok(s)
    }

    /// The next `(field number, payload)`, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Payload<'a>)>, &'static str> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let payload = match (key & 7) as u8 {
            VARINT => Payload::Varint(self.varint()?),
            FIXED64 => Payload::Fixed64(self.take(8)?.try_into().expect("8 bytes")),
            LEN => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                Payload::Bytes(self.take(n)?)
            }
            FIXED32 => Payload::Fixed32(self.take(4)?.try_into().expect("4 bytes")),
            _ => return Err("unsupported wire type"),
        };
        Ok(Some((key >> 3, payload)))
    }
}

fn decode_event(data: &[u8]) -> Result<Event, &'static str> {
    let mut event = Event {
        wall_time: 0.0,
        step: 0,
        file_version: None,
        values: Vec::new(),
    };
    let mut fields = Fields::new(data);
    while let Some((field, payload)) = fields.next_field()? {
        match (field, payload) {
            (1, Payload::Fixed64(b)) => event.wall_time = f64::from_le_bytes(b),
            (2, Payload::Varint(v)) => event.step = v as i64,
            (3, Payload::Bytes(b)) => {
                event.file_version = Some(String::from_utf8_lossy(b).into_owned())
            }
            (5, Payload::Bytes(summary)) => {
                let mut values = Fields::new(summary);
                while let Some((field, payload)) = values.next_field()? {
                    if let (1, Payload::Bytes(value)) = (field, payload) {
                        event.values.extend(decode_value(value)?);
                    }
                }
            }
            // Other Event fields (log messages, graphs, ...) are not scalars: skipped.
            _ => {}
        }
    }
    Ok(event)
}

/// A `Summary.Value`: its tag and simple value, if it has one (images, histograms are skipped).
fn decode_value(data: &[u8]) -> Result<Option<(String, f32)>, &'static str> {
    let (mut tag, mut value) = (None, None);
    let mut fields = Fields::new(data);
    while let Some((field, payload)) = fields.next_field()? {
        match (field, payload) {
            (1, Payload::Bytes(b)) => tag = Some(String::from_utf8_lossy(b).into_owned()),
            (2, Payload::Fixed32(b)) => value = Some(f32::from_le_bytes(b)),
            _ => {}
        }
    }
    Ok(tag.zip(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // CRC32C("123456789") = 0xE3069283 (the standard check value), masked as TFRecord does.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(
            masked_crc32c(b"123456789"),
            0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn scalars_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            Scalar::new(1_700_000_000.25, 1, "train/loss", 0.5),
            Scalar::new(1_700_000_010.5, 2, "train/loss", 0.25),
            Scalar::new(1_700_000_011.0, -3, "x", f32::MAX),
        ];
        let path = write_scalars(dir.path(), &rows).unwrap();
        assert_eq!(read_scalars(&path).unwrap(), rows);
        let events = read_events(&path).unwrap();
        assert_eq!(events[0].file_version.as_deref(), Some(FILE_VERSION));
        // A second write replaces the first file.
        let again = write_scalars(dir.path(), &rows[..1]).unwrap();
        assert_eq!(event_files(dir.path()).unwrap(), vec![again.clone()]);
        assert_eq!(read_scalars(&again).unwrap(), rows[..1]);
    }

    #[test]
    fn corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_scalars(dir.path(), &[Scalar::new(1.0, 1, "a", 1.0)]).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = read_scalars(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    /// Points of `tag` at steps `steps`, one second apart from `t0`.
    fn points(tag: &str, steps: std::ops::Range<i64>, t0: f64) -> Vec<Scalar> {
        steps
            .map(|s| Scalar::new(t0 + s as f64, s, tag, s as f32 / 10.0))
            .collect()
    }

    #[test]
    fn points_keep_their_own_wall_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = points("train/loss", 2..4, 1_700_000_000.5);
        rows.extend(points("step/loss", 1..2, 1_700_000_000.5));
        let path = write_scalars(dir.path(), &rows).unwrap();
        let events = read_events(&path).unwrap();
        let times: Vec<f64> = events.iter().map(|e| e.wall_time).collect();
        // The file-version record takes the earliest point's time: Relative starts there.
        assert_eq!(
            times,
            [
                1_700_000_001.5,
                1_700_000_002.5,
                1_700_000_003.5,
                1_700_000_001.5
            ]
        );
        assert!(
            path.to_string_lossy().contains("tfevents.1700000001."),
            "{}",
            path.display()
        );
    }

    #[test]
    fn appends_continue_the_one_event_file() {
        let dir = tempfile::tempdir().unwrap();
        let board = dir.path().join("tensorboard");
        // The first append creates the file, with its file-version record.
        let first = append_scalars(&board, &points("a", 1..3, 100.0)).unwrap();
        let second = append_scalars(&board, &points("a", 3..5, 100.0)).unwrap();
        assert_eq!(first, second);
        assert_eq!(event_files(&board).unwrap(), vec![first.clone()]);
        let events = read_events(&first).unwrap();
        assert_eq!(
            events.iter().filter(|e| e.file_version.is_some()).count(),
            1
        );
        assert_eq!(events[0].file_version.as_deref(), Some(FILE_VERSION));
        assert_eq!(read_scalars(&first).unwrap(), points("a", 1..5, 100.0));

        // After a rewrite (what a resume does), appends go on in the new file.
        let rewritten = write_scalars(&board, &points("a", 1..3, 200.0)).unwrap();
        append_scalars(&board, &points("a", 3..4, 200.0)).unwrap();
        assert_eq!(event_files(&board).unwrap(), vec![rewritten.clone()]);
        assert_eq!(read_scalars(&rewritten).unwrap(), points("a", 1..4, 200.0));
    }

    #[test]
    fn a_cut_append_is_reported_then_cut_off_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_scalars(dir.path(), &points("a", 1..3, 0.0)).unwrap();
        let whole = fs::metadata(&path).unwrap().len();
        append_scalars(dir.path(), &points("a", 3..5, 0.0)).unwrap();
        // A kill in the middle of the append's write: its last record is partial.
        let full = fs::metadata(&path).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(full - 5)
            .unwrap();

        let err = read_events(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("truncated"), "{err}");
        let (intact, damage) = read_intact_events(&path).unwrap();
        assert_eq!(
            intact.len(),
            1 + 3,
            "the file version and the 3 whole points"
        );
        assert!(damage.is_some());
        assert!(whole < full);

        // The next append drops the partial record: the file reads whole again, each point once.
        append_scalars(dir.path(), &points("a", 4..6, 0.0)).unwrap();
        assert_eq!(read_scalars(&path).unwrap(), points("a", 1..6, 0.0));
    }

    #[test]
    fn other_tools_event_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        // Named to sort after the trainer's file, as a sweep's file written after training does.
        let foreign = dir.path().join(event_file_name(2e9, "hparams"));
        let plugin = PluginValue {
            tag: "_hparams_/x".into(),
            plugin_name: "hparams".into(),
            content: vec![1, 2, 3],
        };
        write_event_file(
            &foreign,
            2e9,
            &[plugin],
            &[Scalar::new(2e9, 3, "test/loss", 0.5)],
        )
        .unwrap();
        let own = append_scalars(dir.path(), &points("a", 1..3, 100.0)).unwrap();
        assert_ne!(own, foreign, "appends go to the trainer's own file");
        assert_eq!(event_files(dir.path()).unwrap(), vec![own.clone()]);
        let rewritten = write_scalars(dir.path(), &points("a", 1..2, 100.0)).unwrap();
        append_scalars(dir.path(), &points("a", 2..3, 100.0)).unwrap();
        assert_eq!(event_files(dir.path()).unwrap(), vec![rewritten.clone()]);
        assert!(foreign.is_file(), "the rewrite removed another tool's file");
        assert_eq!(read_scalars(&rewritten).unwrap(), points("a", 1..3, 100.0));

        // The foreign file: version record, the plugin event, then the scalar.
        let events = read_events(&foreign).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].file_version.as_deref(), Some(FILE_VERSION));
        assert!(events[1].values.is_empty(), "a plugin value is no scalar");
        assert_eq!(events[2].values, [("test/loss".to_string(), 0.5)]);
        assert_eq!(events[2].step, 3);
        // Its plugin value, field by field.
        let bytes = fs::read(&foreign).unwrap();
        let first = 12 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 4;
        let len = u64::from_le_bytes(bytes[first..first + 8].try_into().unwrap()) as usize;
        let event = &bytes[first + 12..first + 12 + len];
        /// The payloads of the length-delimited fields numbered `n`.
        fn field(data: &[u8], n: u64) -> Vec<&[u8]> {
            let mut f = Fields::new(data);
            let mut out = Vec::new();
            while let Some((k, p)) = f.next_field().unwrap() {
                if let (true, Payload::Bytes(b)) = (k == n, p) {
                    out.push(b);
                }
            }
            out
        }
        let value = field(field(event, 5)[0], 1)[0];
        assert_eq!(field(value, 1), [b"_hparams_/x".as_slice()]);
        assert_eq!(field(value, 8), [[8u8, 1, 0x12, 2, 0x12, 0].as_slice()]);
        let metadata = field(value, 9)[0];
        let plugin_data = field(metadata, 1)[0];
        assert_eq!(field(plugin_data, 1), [b"hparams".as_slice()]);
        assert_eq!(field(plugin_data, 2), [[1u8, 2, 3].as_slice()]);
        assert_eq!(
            &metadata[metadata.len() - 2..],
            [4 << 3, 2],
            "data_class = TENSOR"
        );
    }

    #[test]
    fn run_times_ignore_files_of_the_one_time_writer() {
        let dir = tempfile::tempdir().unwrap();
        let board = dir.path().join(TENSORBOARD_DIR);
        // What the writer before per-point times left: every point at the moment of writing (the
        // file-version record may differ, as with TensorFlow's writers).
        let path = write_scalars(
            &board,
            &[
                Scalar::new(50.0, 1, "train/loss", 1.0),
                Scalar::new(50.0, 2, "train/loss", 0.5),
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        append_record(&mut bytes, &encode_event(10.0, 0, Some(FILE_VERSION), &[]));
        bytes.extend_from_slice(&fs::read(&path).unwrap()[bytes.len()..]);
        fs::write(&path, bytes).unwrap();
        assert_eq!(read_events(&path).unwrap()[0].wall_time, 10.0);
        assert_eq!(RunTimes::read(dir.path()).recorded("train/loss", 1), None);
        write_scalars(&board, &points("train/loss", 1..3, 50.0)).unwrap();
        let times = RunTimes::read(dir.path());
        assert_eq!(times.recorded("train/loss", 2), Some(52.0));
        assert_eq!(times.start(), None, "no config.toml");
    }
}
