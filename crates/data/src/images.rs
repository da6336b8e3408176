//! Image-folder data sets, the `ImageFolder` / `image_dataset_from_directory` convention:
//! `root/<class>/*.png|jpg|jpeg|bmp` (labels from the sorted class folder names) or a flat folder
//! of images (unlabelled: autoencoders only), with optional `train/` and `test/` subfolders, else a
//! seeded test split. Files are decoded once, in parallel, under decoding limits (a
//! decompression bomb is refused, not allocated), converted to grey or RGB, optionally
//! center-cropped and resized, and cached keyed by the file list, sizes and modification times.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{DataError, Dataset, Split};

/// The file extensions read (case-insensitive); other files are ignored, as Keras does.
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];
/// The widest and tallest image decoded: above any photo a model here is trained on, far below a
/// decompression bomb (a 30,000 x 30,000 PNG header is refused before any pixel is allocated).
pub const MAX_SIDE: u32 = 10_000;
/// The most memory one decoded image may take.
const MAX_ALLOC: u64 = 512 << 20;
/// The largest file read.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// The largest target side (`size`).
const MAX_TARGET_SIDE: usize = 1024;
/// Folders nested deeper than this inside a class folder are refused (a guard beside the
/// symlink-loop check).
const MAX_DEPTH: usize = 32;

/// What to do with a file that cannot be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unreadable {
    /// Stop with an error naming the file.
    #[default]
    Error,
    /// Leave it out; the run says how many were left out and names the first.
    Skip,
}

/// `[data.images]`: how the files of an image folder become model inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImageOptions {
    /// 1 (grey) or 3 (RGB). Colour images are converted to grey with the usual luma weights;
    /// transparent pixels are drawn over white, as an image viewer shows them.
    pub channels: usize,
    /// `[height, width]` every image is resized to (bilinear); without it every image must
    /// already have the same size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<[usize; 2]>,
    /// Before resizing, crop the largest centred region with the target's aspect ratio (no
    /// stretching); needs `size`.
    pub crop: bool,
    /// `error` (default): a file that cannot be decoded stops the run, named; `skip`: it is left
    /// out and counted.
    pub unreadable: Unreadable,
    /// Fraction of the images held out as the test split when the folder has no `train/` and
    /// `test/` subfolders (drawn by a permutation seeded with the experiment's seed).
    pub test_fraction: f64,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions { channels: 1, size: None, crop: false, unreadable: Unreadable::Error, test_fraction: 0.2 }
    }
}

impl ImageOptions {
    /// Checks every value; errors name the key as written in a config (`data.images.channels`).
    pub fn validate(&self) -> Result<(), DataError> {
        if !matches!(self.channels, 1 | 3) {
            return Err(DataError::InvalidSetting { field: "data.images.channels", value: self.channels.to_string(), expected: "1 (grey) or 3 (RGB)" });
        }
        if let Some([h, w]) = self.size
            && (!(1..=MAX_TARGET_SIDE).contains(&h) || !(1..=MAX_TARGET_SIDE).contains(&w))
        {
            return Err(DataError::InvalidSetting { field: "data.images.size", value: format!("[{h}, {w}]"), expected: "[height, width], each between 1 and 1024" });
        }
        if self.crop && self.size.is_none() {
            return Err(DataError::InvalidSetting { field: "data.images.crop", value: "true".into(), expected: "a target size to crop to: set data.images.size = [height, width]" });
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(DataError::InvalidSetting { field: "data.images.test_fraction", value: self.test_fraction.to_string(), expected: "a fraction strictly between 0 and 1" });
        }
        Ok(())
    }
}

/// A folder of images and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    /// The folder.
    pub root: PathBuf,
    /// How its files become inputs.
    pub options: ImageOptions,
}

/// An image folder, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// The training and test splits (no checksums: the cache key covers the files).
    pub dataset: Dataset,
    /// The class names in label order; empty for a flat folder.
    pub classes: Vec<String>,
    /// Files left out under `unreadable = "skip"`, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Image files found.
    pub files: usize,
    /// Whether the decoded pixels came from the cache.
    pub from_cache: bool,
}

/// One part of the folder (the whole folder, or its `train/` or `test/`): files and class indices.
#[derive(Debug)]
struct Listing {
    folder: PathBuf,
    classes: Option<Vec<String>>,
    files: Vec<(PathBuf, u32)>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io { path: path.to_path_buf(), source }
}

fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// The entries of `dir`, sorted, hidden ones left out.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if !hidden(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Every image file under `dir`, recursively, sorted; a folder that links back to one of its
/// ancestors (a symlink loop) is an error naming it.
fn walk(dir: &Path, ancestors: &mut Vec<PathBuf>, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let real = dir.canonicalize().map_err(io_error(dir))?;
    if ancestors.contains(&real) || ancestors.len() > MAX_DEPTH {
        return Err(DataError::SymlinkLoop { path: dir.to_path_buf(), target: real });
    }
    ancestors.push(real);
    for path in entries(dir)? {
        // `is_dir` follows links; a dangling link is neither a folder nor a file.
        if path.is_dir() {
            walk(&path, ancestors, out)?;
        } else if is_image(&path) {
            out.push(path);
        }
    }
    ancestors.pop();
    Ok(())
}

/// Lists one part: class folders (labelled) or images directly in `folder` (flat).
fn list(folder: &Path) -> Result<Listing, DataError> {
    let all = entries(folder)?;
    let dirs: Vec<&PathBuf> = all.iter().filter(|p| p.is_dir()).collect();
    let images: Vec<&PathBuf> = all.iter().filter(|p| !p.is_dir() && is_image(p)).collect();
    if !dirs.is_empty() && !images.is_empty() {
        return Err(DataError::MixedFolder { path: folder.to_path_buf(), image: images[0].clone(), folder: dirs[0].clone() });
    }
    if dirs.is_empty() {
        if images.is_empty() {
            return Err(DataError::NoImages { path: folder.to_path_buf() });
        }
        return Ok(Listing { folder: folder.to_path_buf(), classes: None, files: images.into_iter().map(|p| (p.clone(), 0)).collect() });
    }
    let mut classes = Vec::new();
    let mut files = Vec::new();
    let mut ancestors = vec![folder.canonicalize().map_err(io_error(folder))?];
    for (i, dir) in dirs.iter().enumerate() {
        let mut found = Vec::new();
        walk(dir, &mut ancestors, &mut found)?;
        if found.is_empty() {
            return Err(DataError::EmptyClass { path: (*dir).clone() });
        }
        classes.push(dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
        files.extend(found.into_iter().map(|p| (p, i as u32)));
    }
    Ok(Listing { folder: folder.to_path_buf(), classes: Some(classes), files })
}

/// Every image file in `paths`, in order: a file as it is (whatever its extension), a folder's
/// image files recursively and sorted. For `predict FILE_OR_FOLDER...`.
pub fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut Vec::new(), &mut found)?;
            if found.is_empty() {
                return Err(DataError::NoImages { path: path.clone() });
            }
            out.extend(found);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(DataError::MissingFile { path: path.clone() });
        }
    }
    Ok(out)
}

/// Decodes one image file as a run's data is converted: `[channels, h, w]` bytes, resized to
/// `options.size` when set; an unreadable file is an error naming it.
pub fn decode_image(path: &Path, options: &ImageOptions) -> Result<Vec<u8>, DataError> {
    decode(path, options).map(|(pixels, _)| pixels).map_err(|reason| DataError::UnreadableImage { path: path.to_path_buf(), reason })
}

/// Decodes one image file as grey levels at its own size: `[h, w]` bytes and `[h, w]` (a
/// photographed digit, before `mnist_inference::digit` prepares it); an unreadable file is an
/// error naming it.
pub fn decode_grey(path: &Path) -> Result<(Vec<u8>, [usize; 2]), DataError> {
    decode(path, &ImageOptions::default()).map_err(|reason| DataError::UnreadableImage { path: path.to_path_buf(), reason })
}

/// One file decoded: its `[channels, h, w]` bytes and `[h, w]`, or why it could not be.
type DecodedFile = Result<(Vec<u8>, [usize; 2]), String>;

/// Reads and decodes one file into `[channels, h, w]` bytes under the decoding limits.
fn decode(path: &Path, options: &ImageOptions) -> DecodedFile {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Err("the file is empty (0 bytes)".into());
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err("it is not a PNG, JPEG or BMP image".into());
    }
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => format!("it is larger than {MAX_SIDE}x{MAX_SIDE} pixels or needs more than {} MiB to decode (refused as a possible decompression bomb)", MAX_ALLOC >> 20),
        other => format!("it cannot be decoded: {other}"),
    })?;
    // Transparent pixels over white, as a viewer shows them.
    let rgba = img.to_rgba8();
    let over_white = |v: u8, a: u8| ((v as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8;
    let rgb = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        image::Rgb([over_white(p[0], p[3]), over_white(p[1], p[3]), over_white(p[2], p[3])])
    });
    let mut rgb = image::DynamicImage::ImageRgb8(rgb);
    if let Some([h, w]) = options.size {
        if options.crop {
            let (iw, ih) = (rgb.width() as u64, rgb.height() as u64);
            // The largest centred region with aspect w:h.
            let (cw, ch) = if iw * h as u64 > ih * w as u64 { ((ih * w as u64 / h as u64).max(1), ih) } else { (iw, (iw * h as u64 / w as u64).max(1)) };
            rgb = rgb.crop_imm(((iw - cw) / 2) as u32, ((ih - ch) / 2) as u32, cw as u32, ch as u32);
        }
        if (rgb.width() as usize, rgb.height() as usize) != (w, h) {
            rgb = rgb.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle);
        }
    }
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let pixels = match options.channels {
        1 => rgb.to_luma8().into_raw(),
        _ => {
            let hwc = rgb.to_rgb8().into_raw();
            (0..3).flat_map(|c| hwc.iter().skip(c).step_by(3).copied().collect::<Vec<_>>()).collect()
        }
    };
    Ok((pixels, [h, w]))
}

/// One decoded part: `[channels, h, w]` images, class indices, files left out.
#[derive(Debug, Clone, PartialEq)]
struct Decoded {
    shape: [usize; 2],
    pixels: Vec<u8>,
    classes: Vec<u32>,
    skipped: Vec<(PathBuf, String)>,
}

fn decode_part(listing: &Listing, options: &ImageOptions) -> Result<Decoded, DataError> {
    let results: Vec<DecodedFile> = listing.files.par_iter().map(|(path, _)| decode(path, options)).collect();
    let mut shape: Option<([usize; 2], &Path)> = None;
    let mut pixels = Vec::new();
    let mut classes = Vec::new();
    let mut skipped = Vec::new();
    for ((path, class), result) in listing.files.iter().zip(results) {
        match result {
            Ok((p, s)) => {
                match shape {
                    None => shape = Some((s, path)),
                    Some((first, first_path)) if first != s => {
                        return Err(DataError::MixedSizes { first: first_path.to_path_buf(), first_size: first, path: path.clone(), size: s });
                    }
                    _ => {}
                }
                pixels.extend_from_slice(&p);
                classes.push(*class);
            }
            Err(reason) => match options.unreadable {
                Unreadable::Error => return Err(DataError::BadImage { path: path.clone(), reason }),
                Unreadable::Skip => skipped.push((path.clone(), reason)),
            },
        }
    }
    let Some((shape, _)) = shape else {
        return Err(DataError::NoImages { path: listing.folder.clone() });
    };
    Ok(Decoded { shape, pixels, classes, skipped })
}

/// The cache key: the options, the folder and every file's path, size and modification time.
fn cache_key(folder: &ImageFolder, parts: &[Listing]) -> Result<String, DataError> {
    let mut h = Sha256::new();
    h.update(format!("mnist-burn image cache v1\n{:?}\n{}\n", folder.options, folder.root.display()));
    for (i, part) in parts.iter().enumerate() {
        for (path, class) in &part.files {
            let meta = std::fs::metadata(path).map_err(io_error(path))?;
            let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
            h.update(format!("{i} {class} {} {} {mtime}\n", path.display(), meta.len()));
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

const CACHE_MAGIC: &[u8; 8] = b"MBIMGC01";

fn write_cache(path: &Path, parts: &[Decoded]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        w.write_all(CACHE_MAGIC)?;
        w.write_all(&(parts.len() as u64).to_le_bytes())?;
        for p in parts {
            for n in [p.shape[0], p.shape[1], p.classes.len(), p.pixels.len(), p.skipped.len()] {
                w.write_all(&(n as u64).to_le_bytes())?;
            }
            for c in &p.classes {
                w.write_all(&c.to_le_bytes())?;
            }
            w.write_all(&p.pixels)?;
            for (path, reason) in &p.skipped {
                let line = format!("{}\t{reason}", path.display());
                w.write_all(&(line.len() as u64).to_le_bytes())?;
                w.write_all(line.as_bytes())?;
            }
        }
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads a cache file front to back; every read is bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn number(&mut self) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.take(8)?.try_into().ok()?)).ok()
    }
}

/// The cached parts, or `None` when the file is missing, cut or of another layout (it is then
/// rewritten).
fn read_cache(path: &Path, channels: usize) -> Option<Vec<Decoded>> {
    let bytes = std::fs::read(path).ok()?;
    let mut r = Cursor { bytes: &bytes, at: 0 };
    if r.take(8)? != CACHE_MAGIC {
        return None;
    }
    let count = r.number()?;
    if !(1..=2).contains(&count) {
        return None;
    }
    let mut parts = Vec::new();
    for _ in 0..count {
        let (h, w, n, len, skipped) = (r.number()?, r.number()?, r.number()?, r.number()?, r.number()?);
        if len != n.checked_mul(channels)?.checked_mul(h)?.checked_mul(w)? {
            return None;
        }
        let classes = r.take(n.checked_mul(4)?)?.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let pixels = r.take(len)?.to_vec();
        let mut skip = Vec::new();
        for _ in 0..skipped {
            let l = r.number()?;
            let line = std::str::from_utf8(r.take(l)?).ok()?;
            let (p, reason) = line.split_once('\t')?;
            skip.push((PathBuf::from(p), reason.to_string()));
        }
        parts.push(Decoded { shape: [h, w], pixels, classes, skipped: skip });
    }
    (r.at == bytes.len()).then_some(parts)
}

impl ImageFolder {
    /// Lists, decodes (or reads from `cache_dir`) and splits the folder. `labels`: the model is
    /// a classifier, which needs class folders (at least two, at most 10); `seed` draws the test
    /// split of a folder without `train/` and `test/`.
    pub fn load(&self, labels: bool, seed: u64, cache_dir: Option<&Path>) -> Result<ImageSet, DataError> {
        self.options.validate()?;
        let root = &self.root;
        if root.exists() && !root.is_dir() {
            return Err(DataError::Io { path: root.clone(), source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is a file; expected a folder of images or of class folders") });
        }
        if !root.is_dir() {
            return Err(DataError::MissingImageFolder { path: root.clone() });
        }
        let (train_dir, test_dir) = (root.join("train"), root.join("test"));
        let parts = if train_dir.is_dir() && test_dir.is_dir() { vec![list(&train_dir)?, list(&test_dir)?] } else { vec![list(root)?] };
        let classes = parts[0].classes.clone();
        if parts.len() == 2 {
            match (&classes, &parts[1].classes) {
                (Some(train), Some(test)) if train != test => {
                    return Err(DataError::ClassMismatch { train: train_dir, test: test_dir, train_classes: train.join(", "), test_classes: test.join(", ") });
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(DataError::ClassMismatch { train: train_dir, test: test_dir, train_classes: classes.as_ref().map_or("none (flat)".into(), |c| c.join(", ")), test_classes: parts[1].classes.as_ref().map_or("none (flat)".into(), |c| c.join(", ")) });
                }
                _ => {}
            }
        }
        if labels {
            match &classes {
                None => return Err(DataError::FlatForClassifier { path: parts[0].folder.clone() }),
                Some(c) if c.len() < 2 => return Err(DataError::ClassCount { path: parts[0].folder.clone(), count: c.len(), names: c.join(", ") }),
                Some(c) if c.len() > 10 => return Err(DataError::ClassCount { path: parts[0].folder.clone(), count: c.len(), names: format!("{}, ...", c[..3].join(", ")) }),
                _ => {}
            }
        }
        let files = parts.iter().map(|p| p.files.len()).sum();
        let cache_file = match cache_dir {
            Some(dir) => Some(dir.join(format!("{}.bin", cache_key(self, &parts)?))),
            None => None,
        };
        let cached = cache_file.as_deref().and_then(|f| read_cache(f, self.options.channels));
        let from_cache = cached.is_some();
        let decoded = match cached {
            Some(d) => d,
            None => {
                let d = parts.iter().map(|p| decode_part(p, &self.options)).collect::<Result<Vec<_>, _>>()?;
                if let Some(f) = &cache_file {
                    // A cache that cannot be written only costs the next run the decoding.
                    let _ = write_cache(f, &d);
                }
                d
            }
        };
        if decoded.len() == 2 && decoded[0].shape != decoded[1].shape {
            return Err(DataError::MixedSizes { first: train_dir, first_size: decoded[0].shape, path: test_dir, size: decoded[1].shape });
        }
        let class_count = classes.as_ref().map_or(0, Vec::len);
        // Labels 0..=9 exist only for up to 10 classes; an autoencoder on more (LFW's people)
        // does not use them.
        let label_of = |c: u32| if class_count <= 10 { c as u8 } else { 0 };
        let channels = self.options.channels;
        let to_split = |d: &Decoded| Split { channels, rows: d.shape[0], cols: d.shape[1], pixels: d.pixels.clone(), labels: d.classes.iter().map(|&c| label_of(c)).collect() };
        let skipped: Vec<(PathBuf, String)> = decoded.iter().flat_map(|d| d.skipped.clone()).collect();
        let (train, test) = match decoded.as_slice() {
            [train, test] => (to_split(train), to_split(test)),
            [all] => {
                let all = to_split(all);
                let n = all.len();
                let n_test = (n as f64 * self.options.test_fraction).round() as usize;
                if n_test == 0 || n_test >= n {
                    return Err(DataError::InvalidSetting {
                        field: "data.images.test_fraction",
                        value: format!("{} of {n} images", self.options.test_fraction),
                        expected: "a fraction that leaves at least one image in both training and test (or train/ and test/ subfolders)",
                    });
                }
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut StdRng::seed_from_u64(seed));
                let (test, train) = order.split_at_mut(n_test);
                test.sort_unstable();
                train.sort_unstable();
                (all.subset(train), all.subset(test))
            }
            _ => unreachable!("one or two parts are listed"),
        };
        Ok(ImageSet { dataset: Dataset { train, test, checksums: Vec::new() }, classes: classes.unwrap_or_default(), skipped, files, from_cache })
    }
}
