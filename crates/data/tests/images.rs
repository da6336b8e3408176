//! Image folders: the ImageFolder layout (class folders, flat, train/ and test/), conversion
//! (grey, RGB, transparency, resize, crop), the decode cache, and one clear error for each kind
//! of bad input (never a panic).

use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use mnist_data::{DataError, ImageFolder, ImageOptions, ImageSet, Unreadable};

/// Writes a `w x h` image filled with `rgb` in `format`.
fn write(path: &Path, w: u32, h: u32, rgb: [u8; 3], format: ImageFormat) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(w, h, Rgb(rgb)).save_with_format(path, format).unwrap();
}

fn grey(path: &Path, v: u8) {
    write(path, 28, 28, [v, v, v], ImageFormat::Png);
}

/// Three classes (`a`: 4 PNGs, `b`: 3 JPEGs, `c`: 3 BMPs), plus a text file that is ignored.
fn classes(root: &Path) {
    for i in 0..4 {
        grey(&root.join(format!("a/{i}.png")), 10 * i as u8);
    }
    for i in 0..3 {
        write(&root.join(format!("b/{i}.JPG")), 28, 28, [128; 3], ImageFormat::Jpeg);
        write(&root.join(format!("c/nested/{i}.bmp")), 28, 28, [250; 3], ImageFormat::Bmp);
    }
    std::fs::write(root.join("a/notes.txt"), "not an image, ignored").unwrap();
}

fn folder(root: &Path, options: ImageOptions) -> ImageFolder {
    ImageFolder { root: root.to_path_buf(), options }
}

fn load(root: &Path, options: ImageOptions, labels: bool) -> Result<ImageSet, DataError> {
    folder(root, options).load(labels, 7, None)
}

#[test]
fn class_folders_give_sorted_labels_and_a_seeded_test_split() {
    let t = tempfile::tempdir().unwrap();
    classes(t.path());
    let options = ImageOptions { test_fraction: 0.3, ..ImageOptions::default() };
    let set = load(t.path(), options.clone(), true).unwrap();
    assert_eq!(set.classes, ["a", "b", "c"]);
    assert_eq!(set.files, 10);
    let (train, test) = (&set.dataset.train, &set.dataset.test);
    assert_eq!((train.len(), test.len()), (7, 3));
    assert_eq!(train.shape(), [1, 28, 28]);
    let mut labels: Vec<u8> = train.labels.iter().chain(&test.labels).copied().collect();
    labels.sort();
    assert_eq!(labels, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    // Each image decodes to its grey level (JPEG within its rounding).
    for split in [train, test] {
        for i in 0..split.len() {
            let px = split.image(i);
            match split.labels[i] {
                0 => assert!(px.iter().all(|&p| p == px[0] && p % 10 == 0 && p <= 30), "{px:?}"),
                1 => assert!(px.iter().all(|&p| p.abs_diff(128) <= 2)),
                _ => assert!(px.iter().all(|&p| p == 250)),
            }
        }
    }
    // The same seed draws the same split; another seed another.
    assert_eq!(load(t.path(), options.clone(), true).unwrap(), set);
    let others = (8..14).filter(|&seed| folder(t.path(), options.clone()).load(true, seed, None).unwrap().dataset.test.labels != set.dataset.test.labels);
    assert!(others.count() > 0, "six other seeds all drew the same test split");
}

#[test]
fn train_and_test_folders_are_used_as_they_are() {
    let t = tempfile::tempdir().unwrap();
    grey(&t.path().join("train/cat/1.png"), 1);
    grey(&t.path().join("train/cat/2.png"), 2);
    grey(&t.path().join("train/dog/1.png"), 3);
    grey(&t.path().join("test/cat/1.png"), 4);
    grey(&t.path().join("test/dog/1.png"), 5);
    let set = load(t.path(), ImageOptions::default(), true).unwrap();
    assert_eq!(set.classes, ["cat", "dog"]);
    assert_eq!(set.dataset.train.labels, [0, 0, 1]);
    assert_eq!(set.dataset.test.labels, [0, 1]);
    assert_eq!(set.dataset.test.image(1)[0], 5);

    std::fs::rename(t.path().join("test/dog"), t.path().join("test/bird")).unwrap();
    let err = load(t.path(), ImageOptions::default(), true).unwrap_err().to_string();
    assert!(err.contains("[cat, dog]") && err.contains("[bird, cat]"), "{err}");
}

#[test]
fn colour_transparency_resizing_and_cropping() {
    let t = tempfile::tempdir().unwrap();
    let flat = t.path().join("flat");
    // 40 wide, 20 high: left half red, right half blue.
    let img = RgbImage::from_fn(40, 20, |x, _| if x < 20 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
    for i in 0..5 {
        img.save(flat.join(format!("{i}.png"))).unwrap_or_else(|_| {
            std::fs::create_dir_all(&flat).unwrap();
            img.save(flat.join(format!("{i}.png"))).unwrap();
        });
    }
    let rgb = ImageOptions { channels: 3, size: Some([10, 10]), test_fraction: 0.2, ..ImageOptions::default() };
    let set = load(&flat, rgb.clone(), false).unwrap();
    assert!(set.classes.is_empty());
    let train = &set.dataset.train;
    assert_eq!((train.shape(), train.len(), set.dataset.test.len()), ([3, 10, 10], 4, 1));
    // Channel after channel: red plane, green plane, blue plane; stretched, the left column is red.
    let px = train.image(0);
    assert_eq!((px[0], px[100], px[200]), (255, 0, 0));
    assert_eq!((px[9], px[109], px[209]), (0, 0, 255));
    // Cropped to the centre square first: columns 10..30, still half red, half blue.
    let cropped = load(&flat, ImageOptions { crop: true, ..rgb.clone() }, false).unwrap();
    let px = cropped.dataset.train.image(0);
    assert_eq!((px[0], px[9 + 200]), (255, 255));
    // Grey: the usual luma of pure blue is dark.
    let grey = load(&flat, ImageOptions { channels: 1, ..rgb }, false).unwrap();
    assert!(grey.dataset.train.image(0)[9] < 40);

    // A transparent background is drawn over white: black strokes stay black, the rest is white.
    let drawn = t.path().join("drawn");
    std::fs::create_dir_all(&drawn).unwrap();
    for i in 0..2 {
        RgbaImage::from_fn(28, 28, |x, _| if x == 14 { Rgba([0, 0, 0, 255]) } else { Rgba([0, 0, 0, 0]) }).save(drawn.join(format!("{i}.png"))).unwrap();
    }
    let set = load(&drawn, ImageOptions { test_fraction: 0.5, ..ImageOptions::default() }, false).unwrap();
    let px = set.dataset.train.image(0);
    assert_eq!((px[14], px[0]), (0, 255));
}

#[test]
fn the_second_load_reads_the_cache_until_a_file_changes() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("set");
    classes(&root);
    let cache = t.path().join("cache");
    let f = folder(&root, ImageOptions::default());
    let first = f.load(true, 1, Some(&cache)).unwrap();
    assert!(!first.from_cache);
    let second = f.load(true, 1, Some(&cache)).unwrap();
    assert!(second.from_cache);
    assert_eq!(second.dataset, first.dataset);
    // Other settings are another entry.
    let resized = folder(&root, ImageOptions { size: Some([8, 8]), ..ImageOptions::default() }).load(true, 1, Some(&cache)).unwrap();
    assert!(!resized.from_cache);
    assert_eq!(resized.dataset.train.shape(), [1, 8, 8]);
    // A file rewritten (other size) is decoded again.
    write(&root.join("a/0.png"), 28, 28, [77; 3], ImageFormat::Png);
    std::fs::OpenOptions::new().append(true).open(root.join("a/0.png")).unwrap().set_len(std::fs::metadata(root.join("a/0.png")).unwrap().len() + 1).unwrap();
    let third = f.load(true, 1, Some(&cache)).unwrap();
    assert!(!third.from_cache);
    // A cut cache file is not trusted: decoded again and rewritten.
    for entry in std::fs::read_dir(&cache).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    }
    let fourth = f.load(true, 1, Some(&cache)).unwrap();
    assert!(!fourth.from_cache);
    assert_eq!(fourth.dataset, third.dataset);
}

/// A PNG whose header promises `w x h` pixels (with valid CRCs) and whose data is one tiny chunk.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

#[track_caller]
fn refused(root: &Path, options: ImageOptions, labels: bool, needles: &[&str]) {
    let err = load(root, options, labels).unwrap_err().to_string();
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
}

/// A valid two-class folder with `bad` written as `a/bad.png`.
fn with_bad_file(t: &Path, name: &str, bad: &[u8]) -> PathBuf {
    let root = t.join(name);
    classes(&root);
    std::fs::write(root.join("a/bad.png"), bad).unwrap();
    root
}

#[test]
fn bad_files_are_named_or_skipped_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let mut real = Vec::new();
    RgbImage::from_pixel(28, 28, Rgb([9, 9, 9])).write_to(&mut std::io::Cursor::new(&mut real), ImageFormat::Png).unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("zero", Vec::new(), "empty (0 bytes)"),
        ("truncated", real[..real.len() / 2].to_vec(), "cannot be decoded"),
        ("text", b"<html>404 Not Found</html>".to_vec(), "not a PNG, JPEG or BMP"),
        ("bomb", png_header(30_000, 30_000), "decompression bomb"),
    ];
    for (name, bytes, needle) in cases {
        let root = with_bad_file(t.path(), name, &bytes);
        let bad = root.join("a/bad.png").display().to_string();
        refused(&root, ImageOptions::default(), true, &[&bad, needle, "unreadable = \"skip\""]);
        let set = load(&root, ImageOptions { unreadable: Unreadable::Skip, ..ImageOptions::default() }, true).unwrap();
        assert_eq!(set.skipped.len(), 1, "{name}");
        assert_eq!(set.skipped[0].0, root.join("a/bad.png"));
        assert_eq!(set.dataset.train.len() + set.dataset.test.len(), 10, "{name}");
    }
}

#[test]
fn bad_layouts_get_one_clear_error_each() {
    let t = tempfile::tempdir().unwrap();
    let p = |name: &str| t.path().join(name);

    refused(&p("nowhere"), ImageOptions::default(), false, &["nowhere", "does not exist"]);

    std::fs::create_dir_all(p("empty")).unwrap();
    refused(&p("empty"), ImageOptions::default(), false, &["empty", "holds no image"]);

    classes(&p("empty_class"));
    std::fs::create_dir_all(p("empty_class/d")).unwrap();
    std::fs::write(p("empty_class/d/readme.txt"), "x").unwrap();
    refused(&p("empty_class"), ImageOptions::default(), true, &["empty_class/d", "holds no image"]);

    grey(&p("one/only/1.png"), 1);
    grey(&p("one/only/2.png"), 2);
    refused(&p("one"), ImageOptions::default(), true, &["1 class folder(s) (only)", "between 2 and 10"]);
    assert_eq!(load(&p("one"), ImageOptions { test_fraction: 0.5, ..ImageOptions::default() }, false).unwrap().classes, ["only"]);

    grey(&p("flat/1.png"), 1);
    grey(&p("flat/2.png"), 2);
    refused(&p("flat"), ImageOptions::default(), true, &["flat folder", "no labels", "<class>/*.png"]);

    classes(&p("mixed"));
    grey(&p("mixed/loose.png"), 1);
    refused(&p("mixed"), ImageOptions::default(), true, &["loose.png", "both images"]);

    classes(&p("sizes"));
    write(&p("sizes/b/big.png"), 30, 20, [1; 3], ImageFormat::Png);
    refused(&p("sizes"), ImageOptions::default(), true, &["big.png is 30x20", "28x28", "data.images.size"]);
    assert_eq!(load(&p("sizes"), ImageOptions { size: Some([28, 28]), ..ImageOptions::default() }, true).unwrap().files, 11);

    grey(&p("tiny/a/1.png"), 1);
    grey(&p("tiny/b/1.png"), 1);
    refused(&p("tiny"), ImageOptions::default(), true, &["test_fraction", "at least one image in both"]);

    refused(&p("flat"), ImageOptions { channels: 2, ..ImageOptions::default() }, false, &["data.images.channels", "1 (grey) or 3 (RGB)"]);
    refused(&p("flat"), ImageOptions { crop: true, ..ImageOptions::default() }, false, &["data.images.crop"]);
    refused(&p("flat"), ImageOptions { size: Some([0, 28]), ..ImageOptions::default() }, false, &["data.images.size"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_named() {
    let t = tempfile::tempdir().unwrap();
    classes(t.path());
    std::os::unix::fs::symlink(t.path().join("a"), t.path().join("a/again")).unwrap();
    refused(t.path(), ImageOptions::default(), true, &["again", "symlink loop"]);
    std::fs::remove_file(t.path().join("a/again")).unwrap();
    std::os::unix::fs::symlink(t.path().join("c/self"), t.path().join("c/self")).unwrap();
    let err = load(t.path(), ImageOptions::default(), true);
    // A link to itself is neither a folder nor an image: ignored like any other non-image entry.
    assert_eq!(err.unwrap().files, 10);
}
