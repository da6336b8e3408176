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
    /// The folder of an image data set does not exist.
    #[error("image folder {path} does not exist (expected class folders <class>/*.png|jpg|jpeg|bmp, or images directly in it)")]
    MissingImageFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A folder without a single image file.
    #[error("{path} holds no image (expected class folders <class>/*.png|jpg|jpeg|bmp, or .png, .jpg, .jpeg or .bmp files directly in it)")]
    NoImages {
        /// The folder.
        path: PathBuf,
    },
    /// A class folder without a single image file.
    #[error("class folder {path} holds no image (.png, .jpg, .jpeg or .bmp); remove it or add images")]
    EmptyClass {
        /// The class folder.
        path: PathBuf,
    },
    /// Images and class folders side by side.
    #[error("{path} holds both images ({image}) and class folders ({folder}); put every image in a class folder, or use a flat folder of images only")]
    MixedFolder {
        /// The folder.
        path: PathBuf,
        /// One image directly in it.
        image: PathBuf,
        /// One class folder.
        folder: PathBuf,
    },
    /// A folder that links back to one of its ancestors.
    #[error("{path} leads back to {target}, a folder it is inside of (a symlink loop); remove the link")]
    SymlinkLoop {
        /// The folder reached.
        path: PathBuf,
        /// Where it really is.
        target: PathBuf,
    },
    /// A file that cannot be decoded as an image.
    #[error("{path}: {reason} (set data.images.unreadable = \"skip\" to leave such files out)")]
    BadImage {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file given on its own (to `predict`) that cannot be decoded as an image.
    #[error("{path}: {reason}")]
    UnreadableImage {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Images of different sizes without a target size.
    #[error("{path} is {}x{} pixels but {first} is {}x{}; set data.images.size = [height, width] to resize them all", size[1], size[0], first_size[1], first_size[0])]
    MixedSizes {
        /// The first image.
        first: PathBuf,
        /// Its `[height, width]`.
        first_size: [usize; 2],
        /// The image that differs.
        path: PathBuf,
        /// Its `[height, width]`.
        size: [usize; 2],
    },
    /// `train/` and `test/` with different classes.
    #[error("{train} has the classes [{train_classes}] but {test} has [{test_classes}]; both need the same class folders")]
    ClassMismatch {
        /// The training folder.
        train: PathBuf,
        /// The test folder.
        test: PathBuf,
        /// Its classes.
        train_classes: String,
        /// Its classes.
        test_classes: String,
    },
    /// A flat folder (no labels) for a classifier.
    #[error("{path} is a flat folder of images without class folders, so it has no labels: a classifier needs {path}/<class>/*.png (an autoencoder can use a flat folder)")]
    FlatForClassifier {
        /// The folder.
        path: PathBuf,
    },
    /// Too few or too many classes for a classifier.
    #[error("{path} has {count} class folder(s) ({names}); a classifier needs between 2 and 10")]
    ClassCount {
        /// The folder.
        path: PathBuf,
        /// How many classes.
        count: usize,
        /// Their names.
        names: String,
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
