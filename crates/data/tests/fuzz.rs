//! Property-based fuzz tests of the data readers: IDX image and label files, raw and
//! gzip-compressed, valid then mutated (bit flips, overwritten bytes, header counts set huge, wrong
//! magic, truncations, extensions), gzip streams that are themselves corrupt, arbitrary bytes, and
//! whole data directories through `DataSource::load`. Every case must give a typed error or a
//! value that holds together, never a panic, and no single allocation larger than the input
//! justifies. Case count and seed: see `fuzz_support` (`MNIST_BURN_FUZZ_CASES`,
//! `MNIST_BURN_FUZZ_SEED`); `scripts/fuzz.sh` runs the long campaign.

mod fuzz_support;

use std::io::{Read, Write};

use fuzz_support::{MIB, Mutation, check_allocation, largest_allocation, mutations, run};
use mnist_data::{DataError, DataSource, FILE_NAMES, idx};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// How many bytes a file yields once decompressed (as far as its gzip stream goes before an
/// error), or its own length when it is not gzip: what the reader may legitimately hold.
fn content_len(file: &[u8]) -> usize {
    if !file.starts_with(&[0x1f, 0x8b]) {
        return file.len();
    }
    let mut decoder = flate2::read::GzDecoder::new(file);
    let mut buf = [0u8; 8192];
    let mut total = 0;
    while let Ok(n) = decoder.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}

/// The allocation bound of one IDX read: the file (read whole), the gzip output buffer (reserved
/// at 8x the file, then doubled as it fills, so up to twice the decompressed length), and the
/// pixel or label copy; 4x each leaves room for `Vec`'s doubling.
fn idx_bound(file: &[u8]) -> usize {
    4 * (8 * file.len() + 2 * content_len(file)) + MIB
}

/// A file to read: a valid IDX buffer, mutated, optionally gzip-compressed, and the compressed
/// stream optionally mutated in turn.
#[derive(Debug, Clone)]
struct FileCase {
    /// Mutations of the IDX bytes.
    idx_ops: Vec<Mutation>,
    /// Compress after mutating.
    gzip: bool,
    /// Mutations of the gzip stream (ignored when not compressed).
    gzip_ops: Vec<Mutation>,
}

fn file_case() -> impl Strategy<Value = FileCase> {
    (mutations(), any::<bool>(), prop_oneof![3 => Just(Vec::new()), 1 => mutations()])
        .prop_map(|(idx_ops, gzip, gzip_ops)| FileCase { idx_ops, gzip, gzip_ops })
}

impl FileCase {
    /// The file's bytes from a valid IDX buffer with a `head`-byte header.
    fn build(&self, valid: Vec<u8>, head: usize) -> Vec<u8> {
        let bytes = fuzz_support::mutate(valid, &self.idx_ops, head);
        if self.gzip {
            // The gzip header is 10 bytes; mutations there hit its magic, flags and sizes.
            fuzz_support::mutate(gzip(&bytes), &self.gzip_ops, 10)
        } else {
            bytes
        }
    }

    fn untouched(&self) -> bool {
        self.idx_ops.is_empty() && (!self.gzip || self.gzip_ops.is_empty())
    }
}

/// Small image sets: up to 5 images of up to 6x6 pixels.
fn images() -> impl Strategy<Value = (usize, usize, usize, Vec<u8>)> {
    (0usize..6, 0usize..7, 0usize..7).prop_flat_map(|(n, r, c)| {
        prop::collection::vec(any::<u8>(), n * r * c).prop_map(move |pixels| (n, r, c, pixels))
    })
}

fn labels() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..10, 0..40)
}

fn fail(what: &str, message: String) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {message}"))
}

#[test]
fn idx_images() {
    let dir = fuzz_support::scratch_dir();
    let path = dir.path().join("images-idx3-ubyte");
    run("idx_images", (images(), file_case()), |((n, r, c, pixels), case)| {
        let file = case.build(idx::encode_images(n, r, c, &pixels), 16);
        std::fs::write(&path, &file).unwrap();
        let (result, largest) = largest_allocation(|| idx::read_images(&path));
        check_allocation("read_images", largest, idx_bound(&file))?;
        match result {
            Ok(img) => {
                fuzz_support::accepted();
                if img.rows == 0 || img.cols == 0 || img.pixels.len() != img.count * img.rows * img.cols {
                    return Err(fail("read_images", format!("accepted an inconsistent set: {} images of {}x{} with {} pixels", img.count, img.rows, img.cols, img.pixels.len())));
                }
            }
            Err(e) => {
                // A valid file must load; an error must name the file.
                if case.untouched() && r > 0 && c > 0 {
                    return Err(fail("read_images", format!("refused a valid file: {e}")));
                }
                if !e.to_string().contains(&*path.to_string_lossy()) {
                    return Err(fail("read_images", format!("the error does not name the file: {e}")));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn idx_labels() {
    let dir = fuzz_support::scratch_dir();
    let path = dir.path().join("labels-idx1-ubyte");
    run("idx_labels", (labels(), file_case()), |(labels, case)| {
        let file = case.build(idx::encode_labels(&labels), 8);
        std::fs::write(&path, &file).unwrap();
        let (result, largest) = largest_allocation(|| idx::read_labels(&path));
        check_allocation("read_labels", largest, idx_bound(&file))?;
        match result {
            Ok(read) => {
                fuzz_support::accepted();
                if read.iter().any(|&l| l > 9) {
                    return Err(fail("read_labels", format!("accepted labels outside 0..=9: {read:?}")));
                }
                if case.untouched() && read != labels {
                    return Err(fail("read_labels", format!("read {read:?} from a valid file of {labels:?}")));
                }
            }
            Err(e) => {
                if case.untouched() {
                    return Err(fail("read_labels", format!("refused a valid file: {e}")));
                }
                if !e.to_string().contains(&*path.to_string_lossy()) {
                    return Err(fail("read_labels", format!("the error does not name the file: {e}")));
                }
            }
        }
        Ok(())
    });
}

/// Bytes that are no IDX file at all: arbitrary, or behind a gzip magic (so the decoder sees
/// random headers, flags and deflate blocks), or a valid gzip member followed by garbage.
fn arbitrary_file() -> impl Strategy<Value = Vec<u8>> {
    let any_bytes = || prop::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        any_bytes(),
        any_bytes().prop_map(|b| [&[0x1f, 0x8b][..], &b].concat()),
        any_bytes().prop_map(|b| [&[0x1f, 0x8b, 8, 0][..], &b].concat()),
        (any_bytes(), any_bytes()).prop_map(|(a, b)| [gzip(&a), b].concat()),
        // An IDX header of any type byte and dimension count, with the bytes it promises.
        (prop_oneof![Just(1u8), Just(3), any::<u8>()], prop::collection::vec(0u32..5, 0..4)).prop_map(|(b, dims)| {
            let n: u32 = dims.iter().product();
            let body = (0..n).map(|i| (i % 11) as u8);
            [0, 0, 8, b].into_iter().chain(dims.iter().flat_map(|d| d.to_be_bytes())).chain(body).collect()
        }),
    ]
}

#[test]
fn idx_arbitrary_bytes() {
    let dir = fuzz_support::scratch_dir();
    let path = dir.path().join("file.gz");
    run("idx_arbitrary_bytes", arbitrary_file(), |file| {
        std::fs::write(&path, &file).unwrap();
        let bound = idx_bound(&file);
        let (raw, largest) = largest_allocation(|| idx::read_maybe_gzip(&path));
        check_allocation("read_maybe_gzip", largest, bound)?;
        if let Ok(raw) = &raw
            && file.starts_with(&[0x1f, 0x8b])
            && raw.len() > content_len(&file)
        {
            return Err(fail("read_maybe_gzip", format!("returned {} bytes, more than the stream holds", raw.len())));
        }
        let (images, largest) = largest_allocation(|| idx::read_images(&path));
        check_allocation("read_images", largest, bound)?;
        let (labels, largest) = largest_allocation(|| idx::read_labels(&path));
        check_allocation("read_labels", largest, bound)?;
        if images.is_ok() || labels.is_ok() {
            fuzz_support::accepted();
        }
        if let Ok(img) = images
            && img.pixels.len() != img.count * img.rows * img.cols
        {
            return Err(fail("read_images", "accepted an inconsistent set".into()));
        }
        if let Ok(l) = labels
            && l.iter().any(|&v| v > 9)
        {
            return Err(fail("read_labels", "accepted a label outside 0..=9".into()));
        }
        Ok(())
    });
}

/// A data directory of four files, one of which (or none) is mutated.
#[derive(Debug, Clone)]
struct DirCase {
    target: usize,
    case: FileCase,
    /// Replace the file by a directory instead (not a regular file).
    directory: bool,
}

#[test]
fn data_source_load() {
    let dir = fuzz_support::scratch_dir();
    let root = dir.path();
    let pixels: Vec<u8> = (0..5 * 12).map(|i| (i * 7 % 256) as u8).collect();
    let valid = [
        idx::encode_images(5, 4, 3, &pixels),
        idx::encode_labels(&[0, 1, 2, 3, 4]),
        idx::encode_images(3, 4, 3, &pixels[..36]),
        idx::encode_labels(&[5, 6, 7]),
    ];
    let strategy = (0usize..4, file_case(), prop::bool::weighted(0.02))
        .prop_map(|(target, case, directory)| DirCase { target, case, directory });
    run("data_source_load", strategy, |c| {
        let mut total = 0;
        for (i, bytes) in valid.iter().enumerate() {
            let path = root.join(FILE_NAMES[i]);
            if path.is_dir() {
                std::fs::remove_dir(&path).unwrap();
            }
            if i == c.target && c.directory {
                let _ = std::fs::remove_file(&path);
                std::fs::create_dir(&path).unwrap();
                continue;
            }
            let head = if i % 2 == 0 { 16 } else { 8 };
            // Only the target is mutated; the others keep the compression choice, so a set mixes
            // gzip and raw files as real ones may.
            let file = if i == c.target {
                c.case.build(bytes.clone(), head)
            } else if c.case.gzip {
                gzip(bytes)
            } else {
                bytes.clone()
            };
            total += idx_bound(&file);
            std::fs::write(&path, &file).unwrap();
        }
        let (result, largest) = largest_allocation(|| DataSource { dir: root.to_path_buf(), verify: None }.load());
        check_allocation("DataSource::load", largest, total)?;
        match result {
            Ok(set) => {
                fuzz_support::accepted();
                for split in [&set.train, &set.test] {
                    if split.pixels.len() != split.labels.len() * split.rows * split.cols || split.labels.iter().any(|&l| l > 9) {
                        return Err(fail("DataSource::load", "accepted an inconsistent split".into()));
                    }
                }
                if (set.train.rows, set.train.cols) != (set.test.rows, set.test.cols) {
                    return Err(fail("DataSource::load", "accepted splits of different image sizes".into()));
                }
            }
            Err(e) => {
                if c.case.untouched() && !c.directory {
                    return Err(fail("DataSource::load", format!("refused a valid set: {e}")));
                }
                // The error names one of the four files (or says which two disagree).
                if !FILE_NAMES.iter().any(|n| e.to_string().contains(n)) {
                    return Err(fail("DataSource::load", format!("the error names none of the files: {e}")));
                }
            }
        }
        // A named set is verified by checksum first: these files never match, whatever they hold.
        let named = DataSource { dir: root.to_path_buf(), verify: Some(mnist_data::NamedSet::Mnist) }.load();
        if !matches!(named, Err(DataError::Checksum { .. } | DataError::Io { .. })) {
            return Err(fail("DataSource::load", format!("a named set passed verification: {named:?}")));
        }
        Ok(())
    });
}
