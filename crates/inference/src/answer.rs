//! What a trained run answers about an image: [`Answer`], the one per-image result of `predict`
//! (image files) and of `serve`'s playground (a drawing), and computing it. Classifiers give the
//! probability of every class (`predict` keeps the top few, named); autoencoders their code (VAE:
//! its mean), the output decoded from it as grey levels (denoisers: the denoised image) and, when
//! asked, a VAE's mean and log-variance; a playground denoiser also the noisy input it was given.

use std::path::PathBuf;

use burn::prelude::*;
use burn::tensor::TensorData;
use mnist_data::Noise;
use mnist_models::Task;
use mnist_report::tensors::{read_f32, to_grey};
use mnist_runs::LoadedRun;
use serde::Serialize;

use crate::error::InferenceError;

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

/// An autoencoder's output image: its pixels, or the PNG file they were written to. In JSON, an
/// array of grey levels or a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// Grey levels in [0, 1], `[channels, height, width]` (the playground draws them).
    Pixels(Vec<f32>),
    /// The PNG written with them (`predict`).
    File(PathBuf),
}

/// What a run answers about one image. Which parts are set depends on the model and on the
/// caller: `predict` sets `file` and `top` (classifiers) or writes the output to a PNG and gives
/// its path (autoencoders); the playground gets every class's `probabilities`, the output's
/// pixels, and a denoiser's `noisy` input and `noise`. JSON holds the parts that are set.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Answer {
    /// The image file (`predict`); none for a drawing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Classifiers: the probability of each class, in label order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f32>>,
    /// Classifiers: the most probable classes, most probable first (`predict --top`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<Vec<ClassProbability>>,
    /// Denoisers in the playground: the input after the run's noise, grey levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noisy: Option<Vec<f32>>,
    /// Autoencoders: the code (VAE: its mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Vec<f32>>,
    /// VAEs: the mean of the code's Gaussian.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f32>>,
    /// VAEs: its log-variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_var: Option<Vec<f32>>,
    /// Autoencoders: the output decoded from the code (denoisers: the denoised image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// Denoisers in the playground: the run's noise, its kind and the strength used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<String>,
}

/// The `k` most probable classes of `probabilities`, most probable first (equal ones: the lower
/// label first), named by `classes` (the label itself past its end).
pub fn top_classes(probabilities: &[f32], k: usize, classes: &[String]) -> Vec<ClassProbability> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
    order
        .iter()
        .take(k)
        .map(|&l| ClassProbability { label: l, class: classes.get(l).cloned().unwrap_or_else(|| l.to_string()), probability: probabilities[l] })
        .collect()
}

/// The answers of `run`'s model to `images` (`[n, c, h, w]`, normalized as the run's data), in
/// one forward pass: classifiers the probability of every class; autoencoders the code (VAE: its
/// mean, not a random sample, as `report` does) and the output decoded from it, as grey levels.
/// With `distribution`, VAEs also give the mean and log-variance of the code (one more pass).
pub fn answer_images(run: &LoadedRun, images: Tensor<4>, distribution: bool) -> Result<Vec<Answer>, InferenceError> {
    let n = images.dims()[0];
    if run.experiment.config().model.task() == Task::Classifier {
        let output = run.model.forward(images);
        let logits = output.logits().cloned().ok_or_else(|| InferenceError::Model("the classifier gave no logits".into()))?;
        let classes = logits.dims()[1].max(1);
        let probs = read_f32(burn::tensor::activation::softmax(logits, 1), "probabilities")?;
        return Ok(probs.chunks(classes).map(|p| Answer { probabilities: Some(p.to_vec()), ..Answer::default() }).collect());
    }
    let (mean, log_var) = if distribution {
        let output = run.model.forward(images.clone());
        let ae = output.autoencoder().ok_or_else(|| InferenceError::Model("the autoencoder gave no reconstruction".into()))?;
        match (&ae.mean, &ae.log_var) {
            (Some(m), Some(v)) => (Some(read_f32(m.clone(), "means")?), Some(read_f32(v.clone(), "log-variances")?)),
            _ => (None, None),
        }
    } else {
        (None, None)
    };
    let code = run.model.encode(images).ok_or_else(|| InferenceError::Model("the model has no encoder".into()))?;
    let dim = code.dims()[1];
    let decoded = run.model.decode(code.clone()).ok_or_else(|| InferenceError::Model("the model has no decoder".into()))?;
    let code = read_f32(code, "code")?;
    let output = to_grey(&read_f32(decoded, "output")?, &run.info.norm_stats);
    let per_image = output.len() / n.max(1);
    let part = |v: &Option<Vec<f32>>, i: usize| v.as_ref().map(|v| v[i * dim..(i + 1) * dim].to_vec());
    Ok((0..n)
        .map(|i| Answer {
            code: Some(code[i * dim..(i + 1) * dim].to_vec()),
            mean: part(&mean, i),
            log_var: part(&log_var, i),
            output: Some(Output::Pixels(output[i * per_image..(i + 1) * per_image].to_vec())),
            ..Answer::default()
        })
        .collect())
}

/// Run `run`'s answer to one drawing: `grey` holds grey levels in [0, 1] (clipped) of shape
/// `[channels, height, width]`. A denoiser first corrupts it with the run's evaluation noise,
/// its strength replaced by `strength` when given (Gaussian `factor`, salt-and-pepper `level`),
/// drawn with the run's seed, so the same drawing and strength show the same noise.
pub fn answer_drawing(run: &LoadedRun, grey: &[f32], [c, h, w]: [usize; 3], strength: Option<f32>) -> Result<Answer, InferenceError> {
    let stats = run.info.norm_stats;
    let mut input: Vec<f32> = grey.iter().map(|g| stats.apply_one(g.clamp(0.0, 1.0) * 255.0)).collect();
    let config = run.experiment.config();
    let mut noise = None;
    if config.model.task() != Task::Classifier
        && let Some(n) = config.data.eval_noise()
    {
        let n = with_strength(n, strength);
        let range = (stats.apply_one(0.0), stats.apply_one(255.0));
        n.apply(&mut input, range, config.experiment.seed);
        noise = Some((n.describe(), to_grey(&input, &stats)));
    }
    let image = Tensor::<4>::from_data(TensorData::new(input, [1, c, h, w]), &run.device);
    let mut answer = answer_images(run, image, false)?.into_iter().next().ok_or_else(|| InferenceError::Model("the model gave no answer".into()))?;
    if let Some((described, noisy)) = noise {
        answer.noise = Some(described);
        answer.noisy = Some(noisy);
    }
    Ok(answer)
}

/// `noise` with its strength replaced by `strength` (Gaussian `factor`, clamped to [0, 4];
/// salt-and-pepper `level`, clamped to [0, 1]); `noise` itself when `None` or not finite.
pub fn with_strength(noise: &Noise, strength: Option<f32>) -> Noise {
    let Some(s) = strength.filter(|s| s.is_finite()) else {
        return noise.clone();
    };
    match noise {
        Noise::Gaussian(g) => Noise::Gaussian(mnist_data::GaussianNoise { factor: s.clamp(0.0, 4.0), ..g.clone() }),
        Noise::SaltAndPepper(_) => Noise::SaltAndPepper(mnist_data::SaltAndPepperNoise { level: s.clamp(0.0, 1.0) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_classes_are_most_probable_first_lower_label_on_ties() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let top = top_classes(&[0.25, 0.5, 0.25, 0.0], 3, &names);
        let got: Vec<(usize, &str)> = top.iter().map(|c| (c.label, c.class.as_str())).collect();
        assert_eq!(got, vec![(1, "b"), (0, "a"), (2, "c")]);
        assert_eq!(top_classes(&[0.0, 0.0, 0.0, 1.0], 1, &names)[0].class, "3");
    }

    #[test]
    fn json_holds_the_parts_that_are_set() {
        let drawing = Answer { probabilities: Some(vec![0.5, 0.5]), ..Answer::default() };
        assert_eq!(serde_json::to_string(&drawing).unwrap(), r#"{"probabilities":[0.5,0.5]}"#);
        let file = Answer { file: Some("a.png".into()), code: Some(vec![1.0]), output: Some(Output::File("a.rec.png".into())), ..Answer::default() };
        assert_eq!(serde_json::to_string(&file).unwrap(), r#"{"file":"a.png","code":[1.0],"output":"a.rec.png"}"#);
        let pixels = Answer { output: Some(Output::Pixels(vec![0.0, 1.0])), ..Answer::default() };
        assert_eq!(serde_json::to_string(&pixels).unwrap(), r#"{"output":[0.0,1.0]}"#);
    }
}
