//! `predict`: applies a trained run to image files. A picture for a run trained on MNIST-like
//! digits goes through the digit preparation (`crate::digit`, as the playground's drawings);
//! otherwise (and with `--raw`) each image is converted exactly as the run's data was (channels,
//! size, crop), then normalized as in training; decoded in parallel and run
//! through the model in batches; classifiers give the top-k class probabilities, autoencoders
//! their code and a reconstruction written as PNG (denoisers: the denoised image), VAEs the mean
//! and log-variance of the code.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use mnist_data::{ImageOptions, NamedSet};
use mnist_models::Task;
use mnist_report::ReportError;
use mnist_runs::{LoadError, LoadedRun};
use rayon::prelude::*;

use crate::answer::{Answer, Output, answer_images, top_classes};
use crate::digit::Polarity;
use crate::error::InferenceError;

/// Image files per forward pass. Not `mnist_runs::EVAL_BATCH` (a split already on the device,
/// batched to bound the device memory of an evaluation): these are decoded on the host, and each
/// pass's outputs are written before the next; a pass of another size could also round
/// differently in the matrix products.
const FILES_PER_PASS: usize = 1000;

/// What `predict` is asked to do.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Image files and folders (folders are read recursively, sorted).
    pub inputs: Vec<PathBuf>,
    /// Where reconstructions (autoencoders) and, when asked, the model's inputs are written.
    pub out: PathBuf,
    /// Invert grey levels first (dark strokes on a light background, as drawn on paper, become
    /// MNIST's light on dark); without it a prepared picture is inverted when its border is light.
    pub invert: bool,
    /// Keep today's plain conversion (resize the whole picture), not the digit preparation.
    pub raw: bool,
    /// Also write what the model saw, `<stem>.input.png`, into `out`.
    pub save_inputs: bool,
    /// How many classes to report per image.
    pub top_k: usize,
}

/// Whether pictures for `run` go through the digit preparation (`crate::digit`) by default:
/// runs trained on an MNIST-like set of 28 × 28 grey images (a named set, not an image folder).
pub fn prepares_digits(run: &LoadedRun) -> bool {
    run.info.input_shape == [1, crate::digit::SIDE, crate::digit::SIDE] && run.experiment.config().data.images.is_none()
}

/// The image settings of a run: its `[data.images]` (crop), and the channels and size of the
/// images its model was built for (any picture is resized to them).
pub fn run_image_options(run: &LoadedRun) -> ImageOptions {
    let [c, h, w] = run.info.input_shape;
    let images = run.experiment.config().data.images.clone().unwrap_or_default();
    ImageOptions { channels: c, size: Some([h, w]), ..images }
}

/// The class names of a run, in label order.
pub fn class_names(run: &LoadedRun) -> Vec<String> {
    if !run.info.classes.is_empty() {
        return run.info.classes.clone();
    }
    match run.experiment.config().data.set {
        Some(NamedSet::FashionMnist) => ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"].map(String::from).to_vec(),
        _ => (0..mnist_models::NUM_CLASSES).map(|d| d.to_string()).collect(),
    }
}

/// Whether `predict` writes images for `run`: autoencoders write their reconstructions (denoisers
/// the denoised images) into `--out`; classifiers only what their model saw, when asked.
pub fn writes_images(run: &LoadedRun) -> bool {
    run.experiment.config().model.task() != Task::Classifier
}

fn data_error(e: mnist_data::DataError) -> InferenceError {
    InferenceError::Load(LoadError::from(e))
}

/// Runs the model of `run` on every image of `opts.inputs`: one [`Answer`] per file, in file
/// order, with its `file` and either its `top` classes or the PNG its output was written to. Every
/// file is decoded before any output is written, so a bad file stops the command with nothing
/// written.
pub fn predict(run: &LoadedRun, opts: &PredictOptions) -> Result<Vec<Answer>, InferenceError> {
    if opts.top_k == 0 {
        return Err(InferenceError::Invalid { option: "--top", reason: "0: at least one class must be reported".into() });
    }
    let files = mnist_data::image_files(&opts.inputs).map_err(data_error)?;
    let options = run_image_options(run);
    let shape = run.info.input_shape;
    let per_image = shape.iter().product::<usize>();
    // Raw pixel values 0..=255 (as f32) in the model's shape: through the digit preparation (a
    // photographed or drawn digit made MNIST-like), or resized whole as the run's data was.
    let prepared = !opts.raw && prepares_digits(run);
    let polarity = if opts.invert { Polarity::Invert } else { Polarity::Auto };
    let decoded: Vec<Vec<f32>> = files
        .par_iter()
        .map(|f| {
            if prepared {
                let (pixels, [h, w]) = mnist_data::decode_grey(f)?;
                let grey: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
                Ok(crate::digit::prepare(&grey, w, h, polarity).into_iter().map(|g| g * 255.0).collect())
            } else {
                let pixels = mnist_data::decode_image(f, &options)?;
                Ok(pixels.iter().map(|&p| f32::from(if opts.invert { 255 - p } else { p })).collect())
            }
        })
        .collect::<Result<_, mnist_data::DataError>>()
        .map_err(data_error)?;
    let stats = run.info.norm_stats;
    let denoiser = run.experiment.config().data.train_noise.is_some();
    let classes = class_names(run);
    if writes_images(run) || opts.save_inputs {
        std::fs::create_dir_all(&opts.out).map_err(InferenceError::io("create", &opts.out))?;
    }
    let mut used_names = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(files.len());
    for (chunk_files, chunk) in files.chunks(FILES_PER_PASS).zip(decoded.chunks(FILES_PER_PASS)) {
        let n = chunk.len();
        let mut values = Vec::with_capacity(n * per_image);
        for (file, pixels) in chunk_files.iter().zip(chunk) {
            values.extend(pixels.iter().map(|&p| stats.apply_one(p)));
            if opts.save_inputs {
                let name = unique_name(file, "input", &mut used_names);
                let bytes: Vec<u8> = pixels.iter().map(|&p| p.round().clamp(0.0, 255.0) as u8).collect();
                write_png(&opts.out.join(name), &bytes, shape)?;
            }
        }
        let images = Tensor::<4>::from_data(TensorData::new(values, [n, shape[0], shape[1], shape[2]]), &run.device);
        for (file, mut answer) in chunk_files.iter().zip(answer_images(run, images, true)?) {
            answer.file = Some(file.clone());
            // Classifiers: the named top classes, not every probability.
            if let Some(p) = answer.probabilities.take() {
                answer.top = Some(top_classes(&p, opts.top_k, &classes));
            }
            // Autoencoders: the output as a PNG, and its path in place of its pixels.
            if let Some(Output::Pixels(grey)) = &answer.output {
                let name = unique_name(file, if denoiser { "denoised" } else { "reconstruction" }, &mut used_names);
                let path = opts.out.join(name);
                let bytes: Vec<u8> = grey.iter().map(|&g| (g * 255.0).round() as u8).collect();
                write_png(&path, &bytes, shape)?;
                answer.output = Some(Output::File(path));
            }
            out.push(answer);
        }
    }
    Ok(out)
}

/// `<stem>.<what>.png`, with `-2`, `-3`, ... when two inputs share a stem.
fn unique_name(file: &Path, what: &str, used: &mut std::collections::HashSet<String>) -> String {
    let stem = file.file_stem().map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
    let mut name = format!("{stem}.{what}.png");
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{stem}-{n}.{what}.png");
        n += 1;
    }
    name
}

/// Writes `[channels, h, w]` bytes as a grey or RGB PNG, through a temporary file renamed into
/// place (a cut write leaves no half image).
fn write_png(path: &Path, pixels: &[u8], [c, h, w]: [usize; 3]) -> Result<(), InferenceError> {
    let (w32, h32) = (w as u32, h as u32);
    let buffer = if c == 1 {
        image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(w32, h32, pixels.to_vec()).expect("h x w grey bytes"))
    } else {
        let plane = h * w;
        let hwc: Vec<u8> = (0..plane).flat_map(|i| [pixels[i], pixels[plane + i], pixels[2 * plane + i]]).collect();
        image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w32, h32, hwc).expect("h x w x 3 bytes"))
    };
    let mut bytes = Vec::new();
    buffer.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| ReportError::Draw { figure: path.display().to_string(), reason: e.to_string() })?;
    let tmp = path.with_extension("png.tmp");
    std::fs::write(&tmp, &bytes).map_err(InferenceError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(InferenceError::io("write", path))
}

/// One line per image: the top classes with their probabilities, or the code and the PNG written.
pub fn describe(p: &Answer) -> String {
    let list = |v: &[f32]| v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ");
    let mut line = format!("{}:", p.file.as_deref().unwrap_or(Path::new("image")).display());
    if let Some(top) = &p.top {
        line += &top.iter().map(|c| format!(" {} {:.3}", c.class, c.probability)).collect::<Vec<_>>().join(",");
    }
    match (&p.mean, &p.log_var, &p.code) {
        (Some(m), Some(v), _) => line += &format!(" mean [{}] log_var [{}]", list(m), list(v)),
        (_, _, Some(code)) => line += &format!(" code [{}]", list(code)),
        _ => {}
    }
    if let Some(Output::File(out)) = &p.output {
        line += &format!(" → {}", out.display());
    }
    line
}
