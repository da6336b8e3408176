//! Reading event files (every record checked, or the whole records before a damaged one, as
//! TensorBoard reads them) and the times a run directory holds for its points ([`RunTimes`]).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use super::{Event, Scalar, TENSORBOARD_DIR, event_files, masked_crc32c};
use crate::metrics::{self, MetricRow};
use crate::protobuf::{FIXED32, FIXED64, LEN, VARINT};
use crate::run_dir::{CONFIG_FILE, RunDir};

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
pub(super) struct Parsed {
    events: Vec<Event>,
    /// Bytes of whole, valid records from the start.
    pub(super) intact_len: usize,
    /// What is wrong at `intact_len` (an `InvalidData` error naming the offset), if anything.
    damage: Option<io::Error>,
}

/// The records of `bytes` (the file `path`, named in errors) up to the first damaged one.
pub(super) fn parse_records(path: &Path, bytes: &[u8]) -> Parsed {
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
/// A minimal protobuf reader over one message.
pub(super) struct Fields<'a> {
    data: &'a [u8],
    at: usize,
}

/// A field's payload.
pub(super) enum Payload<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

impl<'a> Fields<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
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
    pub(super) fn next_field(&mut self) -> Result<Option<(u64, Payload<'a>)>, &'static str> {
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
