//! Reader for the IDX format of MNIST-style files, gzip-compressed or raw, validating magic numbers,
//! dimensions and byte lengths before any pixel is used.

use std::io::Read;
use std::path::Path;

use crate::DataError;

/// Magic number of an IDX file of unsigned-byte labels (one dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX file of unsigned-byte images (three dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// The images of one IDX file: `count` images of `rows x cols` bytes, row-major, image after image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels in 0..=255.
    pub pixels: Vec<u8>,
}

/// Largest decompressed size accepted from a gzip file.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DataError::MissingFile { path: path.to_path_buf() },
        _ => DataError::Io { path: path.to_path_buf(), source },
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 8);
        // A cap well above any MNIST-style file (47 MB for MNIST's training images), so a corrupt
        // or hostile file cannot exhaust the memory.
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip { path: path.to_path_buf(), source })?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(DataError::Gzip {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!("it decompresses to more than {} MiB", MAX_DECOMPRESSED >> 20)),
            });
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Checks the header of an IDX buffer and returns its dimensions.
fn header(path: &Path, bytes: &[u8], magic: u32, what: &'static str) -> Result<Vec<usize>, DataError> {
    // Every IDX file starts with two zero bytes, then the element type (0x08: unsigned byte).
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::NotIdx { path: path.to_path_buf(), head: bytes.iter().take(4).copied().collect() });
    }
    let found = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if found != magic {
        return Err(DataError::WrongMagic { path: path.to_path_buf(), found, expected: magic, what });
    }
    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim;
    if bytes.len() < header_len {
        return Err(DataError::Truncated { path: path.to_path_buf(), expected: header_len, found: bytes.len() });
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let at = 4 + 4 * i;
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        })
        .collect();
    // Checked: a corrupt header can promise more bytes than `usize` holds.
    let expected = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_add(header_len));
    if expected != Some(bytes.len()) {
        return Err(DataError::Truncated { path: path.to_path_buf(), expected: expected.unwrap_or(usize::MAX), found: bytes.len() });
    }
    Ok(dims)
}

/// Reads an IDX image file (magic 2051), gzip-compressed or raw.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let bytes = read_maybe_gzip(path)?;
    let dims = header(path, &bytes, IMAGES_MAGIC, "an image file")?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadDimensions {
            path: path.to_path_buf(),
            rows,
            cols,
            expected: "images must have at least one row and one column".into(),
        });
    }
    Ok(IdxImages { count, rows, cols, pixels: bytes[16..].to_vec() })
}

/// Reads an IDX label file (magic 2049), gzip-compressed or raw; every label must be a digit 0..=9.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = read_maybe_gzip(path)?;
    header(path, &bytes, LABELS_MAGIC, "a label file")?;
    let labels = bytes[8..].to_vec();
    if let Some((index, &value)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(DataError::BadLabel { path: path.to_path_buf(), index, value });
    }
    Ok(labels)
}

/// Encodes images as an IDX buffer (uncompressed); used by tests and tools that write small sets.
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [count, rows, cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX buffer (uncompressed).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = LABELS_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
