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
//!
//! Writing lives in `write` (the trainer's event file, other tools' files), reading in `read`
//! (events, scalars, and the times a run's files hold); both are re-exported here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

mod read;
mod write;

pub use read::{RunTimes, read_events, read_intact_events, read_scalars};
pub use write::{PluginValue, append_scalars, event_file_name, write_event_file, write_scalars};

/// The first record of every event file; TensorBoard reads the format version from it.
pub const FILE_VERSION: &str = "brain.Event:2";

/// What every event file name contains (TensorBoard only reads files whose name does).
const EVENT_FILE_MARKER: &str = "tfevents";

/// What the names of the trainer's own event files contain; [`event_files`] lists only those, so
/// [`write_scalars`] never removes, and [`append_scalars`] never appends to, another tool's file.
pub const OWN_FILE_MARKER: &str = ".mnist-burn.";

/// The directory of the event file inside a run.
pub const TENSORBOARD_DIR: &str = "tensorboard";

/// One scalar point (defined with the metric rows it is drawn from).
pub use crate::metrics::Scalar;

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

#[cfg(test)]
mod tests {
    use super::read::{Fields, Payload};
    use super::write::encode_event;
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
