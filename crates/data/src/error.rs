//! The one error type of the data crate: every variant names the file (or field) and says what is
//! wrong and what was expected.

use std::path::PathBuf;

/// Everything that can go wrong while loading, checking or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The directory of a data set does not exist.
    #[error("data directory {path} does not exist (expected a folder holding the four MNIST-style IDX files)")]
    MissingDirectory {
        /// The directory that was looked for.
        path: PathBuf,
    },
    /// A named set is in none of the folders it is looked for in.
    #[error("data set {set} is not on this machine (looked in {looked}); fetch it with: {command}")]
    MissingSet {
        /// The set's name.
        set: &'static str,
        /// The folders looked in, comma-separated.
        looked: String,
        /// The command that fetches it.
        command: String,
    },
    /// An image-folder set (LFW) read as IDX files.
    #[error("data set {set} is a folder of images, not IDX files; read it with an [data.images] table")]
    NotIdxSet {
        /// The set's name.
        set: &'static str,
    },
    /// A file that must be there is not.
    #[error("data file {path} does not exist")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// The operating system refused a read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{path} is not a valid gzip stream (truncated or corrupt): {source}")]
    Gzip {
        /// The file being decompressed.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The file is neither gzip nor IDX.
    #[error("{path} is neither gzip nor IDX (it starts with bytes {head:02x?}; expected 1f 8b or 00 00 08 ..)")]
    NotIdx {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        head: Vec<u8>,
    },
    /// An IDX file with the wrong magic number for its role.
    #[error("{path} has IDX magic number {found} but {expected} was expected ({what})")]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What the file was supposed to hold.
        what: &'static str,
    },
    /// The header promises more (or fewer) bytes than the file holds.
    #[error("{path} is truncated or padded: its header promises {expected} bytes, the file holds {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies (header included).
        expected: usize,
        /// Bytes actually there.
        found: usize,
    },
    /// An image file with an empty or unexpected size.
    #[error("{path} holds images of {rows}x{cols} pixels; {expected}")]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
        /// What was expected instead.
        expected: String,
    },
    /// A split without a single sample.
    #[error("{path} holds no samples; expected at least one image")]
    Empty {
        /// The image file.
        path: PathBuf,
    },
    /// A label outside 0..=9.
    #[error("{path}: label {value} at index {index} is outside 0..=9")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Sample index.
        index: usize,
        /// The label found.
        value: u8,
    },
    /// Images and labels disagree on the number of samples.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// How many images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// How many labels.
        label_count: usize,
    },
    /// A file of a named data set differs from the published original.
    #[error("{path} does not match the published {set} file: sha256 {found}, expected {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The named set.
        set: &'static str,
        /// The digest found.
        found: String,
        /// The published digest.
        expected: &'static str,
    },
    /// A setting outside its valid range.
    #[error("{field} = {value} is invalid: expected {expected}")]
    InvalidSetting {
        /// The setting's name, as written in a config.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
}
