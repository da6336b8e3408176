//! TensorBoard event files written and read without TensorFlow: TFRecord framing with masked
//! CRC32C checksums around hand-encoded `Event` protobuf messages carrying scalar summaries.
//!
//! Only what scalars need is encoded: `Event { wall_time = 1, step = 2, file_version = 3,
//! summary = 5 }`, `Summary { value = 1 (repeated) }`, `Summary.Value { tag = 1,
//! simple_value = 2 }` (field numbers of TensorFlow's `event.proto` and `summary.proto`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The first record of every event file; TensorBoard reads the format version from it.
pub const FILE_VERSION: &str = "brain.Event:2";

/// What every event file name contains (TensorBoard only reads files whose name does).
const EVENT_FILE_MARKER: &str = "tfevents";

/// One scalar point: a value of the curve `tag` at `step`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// Training step or epoch (the x axis in TensorBoard).
    pub step: i64,
    /// Curve name, e.g. `train/loss`; a `/` groups curves in TensorBoard.
    pub tag: String,
    /// The value.
    pub value: f32,
}

impl Scalar {
    /// A point of `tag` at `step`.
    pub fn new(step: i64, tag: impl Into<String>, value: f32) -> Self {
        Scalar {
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

/// Writes `scalars` as the only event file of `dir` (created if missing): earlier event files in
/// `dir` are removed, so calling this again with a longer history (every epoch, or from a
/// report) never shows a point twice. The file appears under its final name only once complete.
/// Returns its path.
pub fn write_scalars(dir: &Path, scalars: &[Scalar]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let wall_time = now();
    let mut bytes = Vec::new();
    append_record(
        &mut bytes,
        &encode_event(wall_time, 0, Some(FILE_VERSION), &[]),
    );
    for s in scalars {
        append_record(
            &mut bytes,
            &encode_event(wall_time, s.step, None, &[(s.tag.as_str(), s.value)]),
        );
    }
    let name = format!(
        "events.out.{EVENT_FILE_MARKER}.{}.mnist-burn.{}",
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

/// The event files in `dir` (names containing `tfevents`), sorted by name.
pub fn event_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.contains(EVENT_FILE_MARKER)
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
    let bytes = fs::read(path)?;
    let bad = |offset: usize, what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what} at byte {offset}", path.display()),
        )
    };
    let mut events = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 12)
            .ok_or_else(|| bad(at, "truncated record header"))?;
        let len_bytes: [u8; 8] = header[..8].try_into().expect("slice of 8");
        let len_crc = u32::from_le_bytes(header[8..12].try_into().expect("slice of 4"));
        if masked_crc32c(&len_bytes) != len_crc {
            return Err(bad(at, "record length checksum mismatch"));
        }
        let len = usize::try_from(u64::from_le_bytes(len_bytes))
            .map_err(|_| bad(at, "record too long"))?;
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
        events.push(
            decode_event(data)
                .map_err(|what| bad(start, &format!("malformed Event protobuf ({what})")))?,
        );
        at = crc_at + 4;
    }
    Ok(events)
}

/// Reads the scalar points of an event file, in file order.
pub fn read_scalars(path: &Path) -> io::Result<Vec<Scalar>> {
    Ok(read_events(path)?
        .into_iter()
        .flat_map(|e| {
            e.values.into_iter().map(move |(tag, value)| Scalar {
                step: e.step,
                tag,
                value,
            })
        })
        .collect())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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

// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, ((field as u64) << 3) | wire as u64);
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode_event(
    wall_time: f64,
    step: i64,
    file_version: Option<&str>,
    values: &[(&str, f32)],
) -> Vec<u8> {
    let mut out = Vec::new();
    put_key(&mut out, 1, FIXED64);
    out.extend_from_slice(&wall_time.to_le_bytes());
    if step != 0 {
        put_key(&mut out, 2, VARINT);
        // int64 is encoded as its two's-complement u64 (negative steps take 10 bytes).
        put_varint(&mut out, step as u64);
    }
    if let Some(version) = file_version {
        put_bytes(&mut out, 3, version.as_bytes());
    }
    if !values.is_empty() {
        let mut summary = Vec::new();
        for (tag, value) in values {
            let mut v = Vec::new();
            put_bytes(&mut v, 1, tag.as_bytes());
            put_key(&mut v, 2, FIXED32);
            v.extend_from_slice(&value.to_le_bytes());
            put_bytes(&mut summary, 1, &v);
        }
        put_bytes(&mut out, 5, &summary);
    }
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
            Scalar::new(1, "train/loss", 0.5),
            Scalar::new(2, "train/loss", 0.25),
            Scalar::new(-3, "x", f32::MAX),
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
        let path = write_scalars(dir.path(), &[Scalar::new(1, "a", 1.0)]).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = read_scalars(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
