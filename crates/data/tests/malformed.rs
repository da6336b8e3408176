//! Every malformed-file case, built from a valid file in a temporary directory, yields the right
//! typed error naming the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use mnist_data::{DataError, DataSource, FILE_NAMES, NamedSet, idx};

/// Writes a tiny valid raw-IDX data set (5 training and 3 test images of 4x3 pixels).
fn tiny_set(dir: &Path) {
    let pixels: Vec<u8> = (0..5 * 12).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join(FILE_NAMES[0]), idx::encode_images(5, 4, 3, &pixels)).unwrap();
    std::fs::write(dir.join(FILE_NAMES[1]), idx::encode_labels(&[0, 1, 2, 3, 4])).unwrap();
    std::fs::write(dir.join(FILE_NAMES[2]), idx::encode_images(3, 4, 3, &pixels[..36])).unwrap();
    std::fs::write(dir.join(FILE_NAMES[3]), idx::encode_labels(&[5, 6, 7])).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn load(dir: &Path) -> Result<mnist_data::Dataset, DataError> {
    DataSource { dir: dir.to_path_buf(), verify: None }.load()
}

fn path(dir: &Path, i: usize) -> PathBuf {
    dir.join(FILE_NAMES[i])
}

#[test]
fn a_valid_raw_and_a_valid_gzip_set_both_load() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    let raw = load(dir.path()).unwrap();
    for i in 0..4 {
        let bytes = std::fs::read(path(dir.path(), i)).unwrap();
        std::fs::write(path(dir.path(), i), gzip(&bytes)).unwrap();
    }
    let gz = load(dir.path()).unwrap();
    assert_eq!((&raw.train, &raw.test), (&gz.train, &gz.test));
    // A directory read as it is reports the sha256 of the files it read: other bytes, other sums.
    assert_eq!(raw.checksums.len(), 4);
    for ((raw_path, raw_sum), (gz_path, gz_sum)) in raw.checksums.iter().zip(&gz.checksums) {
        assert_eq!(raw_path, gz_path);
        assert_eq!(raw_sum.len(), 64);
        assert_ne!(raw_sum, gz_sum);
    }
    assert_eq!(gz.train.len(), 5);
    assert_eq!(gz.test.labels, vec![5, 6, 7]);
    assert_eq!((gz.train.rows, gz.train.cols), (4, 3));
}

#[test]
fn missing_directory_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, DataError::MissingDirectory { .. }), "{err}");
    tiny_set(dir.path());
    std::fs::remove_file(path(dir.path(), 3)).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(&err, DataError::MissingFile { path } if path.ends_with(FILE_NAMES[3])), "{err}");
    assert!(err.to_string().contains("t10k-labels"));
}

#[test]
fn truncated_raw_file() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    let bytes = std::fs::read(path(dir.path(), 0)).unwrap();
    std::fs::write(path(dir.path(), 0), &bytes[..bytes.len() - 5]).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Truncated { expected: 76, found: 71, .. }), "{err}");
    assert!(err.to_string().contains("train-images"), "{err}");
}

#[test]
fn truncated_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    let gz = gzip(&std::fs::read(path(dir.path(), 0)).unwrap());
    std::fs::write(path(dir.path(), 0), &gz[..gz.len() / 2]).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err}");
}

#[test]
fn corrupted_magic_number() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    let mut bytes = std::fs::read(path(dir.path(), 2)).unwrap();
    bytes[3] = 0x01; // 0x0801: a label file's magic where images are expected
    std::fs::write(path(dir.path(), 2), &bytes).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::WrongMagic { found: 2049, expected: 2051, .. }), "{err}");
}

#[test]
fn plain_text_is_neither_gzip_nor_idx() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    std::fs::write(path(dir.path(), 1), "0,1,2,3,4\n").unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::NotIdx { .. }), "{err}");
    assert!(err.to_string().contains("train-labels"), "{err}");
}

#[test]
fn image_and_label_counts_disagree() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    std::fs::write(path(dir.path(), 1), idx::encode_labels(&[0, 1, 2, 3])).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::CountMismatch { image_count: 5, label_count: 4, .. }), "{err}");
}

#[test]
fn a_label_outside_the_digits() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    std::fs::write(path(dir.path(), 1), idx::encode_labels(&[0, 1, 12, 3, 4])).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::BadLabel { index: 2, value: 12, .. }), "{err}");
}

#[test]
fn a_named_set_rejects_files_that_differ_from_the_original() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path());
    let err = DataSource { dir: dir.path().to_path_buf(), verify: Some(NamedSet::Mnist) }.load().unwrap_err();
    assert!(matches!(err, DataError::Checksum { set: "mnist", .. }), "{err}");
    assert!(err.to_string().contains(NamedSet::Mnist.sha256()[0]), "{err}");
}
