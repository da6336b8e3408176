//! `predict`: applies a trained run to image files. Each image is converted exactly as the run's
//! data was (channels, size, crop, the training normalization), decoded in parallel and run
//! through the model in batches; classifiers give the top-k class probabilities, autoencoders
//! their code and a reconstruction written as PNG (denoisers: the denoised image), VAEs the mean
//! and log-variance of the code.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use mnist_data::{ImageOptions, NamedSet};
use mnist_models::Task;
use mnist_trainer::{LoadedRun, TrainError};
use rayon::prelude::*;
use serde::Serialize;

use crate::ReportError;
use crate::tensors::read_f32;

/// Images per forward pass.
const BATCH: usize = 1000;

/// What `predict` is asked to do.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Image files and folders (folders are read recursively, sorted).
    pub inputs: Vec<PathBuf>,
    /// Where reconstructions are written (autoencoders; classifiers write nothing, see
    /// [`ignored_out_warning`]).
    pub out: PathBuf,
    /// Invert grey levels first (dark strokes on a light background, as drawn on paper, become
    /// MNIST's light on dark).
    pub invert: bool,
    /// How many classes to report per image.
    pub top_k: usize,
}

/// One class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassProbability {
    /// The label index.
    pub label: usize,
    /// The class name (the digit for MNIST).
    pub class: String,
    /// Softmax probability.
    pub probability: f32,
}

/// The result for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The image file.
    pub file: PathBuf,
    /// Classifiers: the `top_k` most probable classes, most probable first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<Vec<ClassProbability>>,
    /// Autoencoders: the code (VAE: its mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Vec<f32>>,
    /// VAEs: the mean of the code's Gaussian.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f32>>,
    /// VAEs: its log-variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_var: Option<Vec<f32>>,
    /// Autoencoders: the PNG written with the reconstruction (denoisers: the denoised image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
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
/// the denoised images) into `--out`; classifiers write nothing, so `--out` means nothing to them.
pub fn writes_images(run: &LoadedRun) -> bool {
    run.experiment.config().model.task() != Task::Classifier
}

/// The warning `predict` prints when `--out` was given for a run that writes no images (a
/// classifier), naming the folder and the run; `None` when the run writes its images there.
pub fn ignored_out_warning(run: &LoadedRun, run_dir: &Path, out: &Path) -> Option<String> {
    (!writes_images(run)).then(|| {
        format!(
            "warning: --out {} is ignored: run {} is a classifier ({}), which writes no images; --out is the folder for an autoencoder's reconstructions",
            out.display(),
            run_dir.display(),
            run.experiment.config().model.kind()
        )
    })
}

fn data_error(e: mnist_data::DataError) -> ReportError {
    ReportError::Train(TrainError::from(e))
}

/// Runs the model of `run` on every image of `opts.inputs`. Every file is decoded before any
/// output is written, so a bad file stops the command with nothing written.
pub fn predict(run: &LoadedRun, opts: &PredictOptions) -> Result<Vec<Prediction>, ReportError> {
    if opts.top_k == 0 {
        return Err(ReportError::Invalid { option: "--top", reason: "0: at least one class must be reported".into() });
    }
    let files = mnist_data::image_files(&opts.inputs).map_err(data_error)?;
    let options = run_image_options(run);
    let shape = run.info.input_shape;
    let per_image = shape.iter().product::<usize>();
    let decode_options = options;
    let decoded: Vec<Vec<u8>> = files.par_iter().map(|f| mnist_data::decode_image(f, &decode_options)).collect::<Result<_, _>>().map_err(data_error)?;
    let stats = run.info.norm_stats;
    let task = run.experiment.config().model.task();
    let denoiser = run.experiment.config().data.train_noise.is_some();
    let classes = class_names(run);
    if writes_images(run) {
        std::fs::create_dir_all(&opts.out).map_err(ReportError::io("create", &opts.out))?;
    }
    let mut used_names = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(files.len());
    for (chunk_files, chunk) in files.chunks(BATCH).zip(decoded.chunks(BATCH)) {
        let n = chunk.len();
        let mut values = Vec::with_capacity(n * per_image);
        for pixels in chunk {
            values.extend(pixels.iter().map(|&p| stats.apply_one(if opts.invert { 255 - p } else { p } as f32)));
        }
        let images = Tensor::<4>::from_data(TensorData::new(values, [n, shape[0], shape[1], shape[2]]), &run.device);
        match task {
            Task::Classifier => {
                let output = run.model.forward(images);
                let logits = output.logits().cloned().expect("a classifier gives logits");
                let probs = read_f32(burn::tensor::activation::softmax(logits, 1), "probabilities")?;
                let k = classes.len().max(1);
                for (file, p) in chunk_files.iter().zip(probs.chunks(k)) {
                    let mut order: Vec<usize> = (0..p.len()).collect();
                    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
                    let top = order.iter().take(opts.top_k).map(|&l| ClassProbability { label: l, class: classes.get(l).cloned().unwrap_or_else(|| l.to_string()), probability: p[l] }).collect();
                    out.push(Prediction { file: file.clone(), top: Some(top), code: None, mean: None, log_var: None, output: None });
                }
            }
            _ => {
                let output = run.model.forward(images.clone());
                let ae = output.autoencoder().expect("an autoencoder gives a reconstruction");
                let (mean, log_var) = match (&ae.mean, &ae.log_var) {
                    (Some(m), Some(v)) => (Some(read_f32(m.clone(), "means")?), Some(read_f32(v.clone(), "log-variances")?)),
                    _ => (None, None),
                };
                // Through the code (a VAE's mean, not a random sample), as `report` does.
                let code = run.model.encode(images).expect("an autoencoder encodes");
                let dim = code.dims()[1];
                let recon = read_f32(run.model.decode(code.clone()).expect("an autoencoder decodes"), "reconstructions")?;
                let code = read_f32(code, "codes")?;
                for (i, file) in chunk_files.iter().enumerate() {
                    let name = unique_name(file, if denoiser { "denoised" } else { "reconstruction" }, &mut used_names);
                    let path = opts.out.join(name);
                    let grey: Vec<u8> = recon[i * per_image..(i + 1) * per_image].iter().map(|&v| (stats.to_unit(v).clamp(0.0, 1.0) * 255.0).round() as u8).collect();
                    write_png(&path, &grey, shape)?;
                    let part = |v: &Option<Vec<f32>>| v.as_ref().map(|v| v[i * dim..(i + 1) * dim].to_vec());
                    out.push(Prediction { file: file.clone(), top: None, code: Some(code[i * dim..(i + 1) * dim].to_vec()), mean: part(&mean), log_var: part(&log_var), output: Some(path) });
                }
            }
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
fn write_png(path: &Path, pixels: &[u8], [c, h, w]: [usize; 3]) -> Result<(), ReportError> {
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
    std::fs::write(&tmp, &bytes).map_err(ReportError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(ReportError::io("write", path))
}

/// One line per image: the top classes with their probabilities, or the code and the PNG written.
pub fn describe(p: &Prediction) -> String {
    let list = |v: &[f32]| v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ");
    let mut line = format!("{}:", p.file.display());
    if let Some(top) = &p.top {
        line += &top.iter().map(|c| format!(" {} {:.3}", c.class, c.probability)).collect::<Vec<_>>().join(",");
    }
    match (&p.mean, &p.log_var, &p.code) {
        (Some(m), Some(v), _) => line += &format!(" mean [{}] log_var [{}]", list(m), list(v)),
        (_, _, Some(code)) => line += &format!(" code [{}]", list(code)),
        _ => {}
    }
    if let Some(out) = &p.output {
        line += &format!(" → {}", out.display());
    }
    line
}
