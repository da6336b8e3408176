//! Seeded data augmentation of training batches on the device: a random affine map per image
//! (integer shift, small rotation and scaling, a left-right mirror) and an optional elastic
//! distortion, drawn from a seed, applied by one bilinear `grid_sample_2d` over the batch.

use burn::prelude::*;
use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Batch, DataError, derive_seed};

/// `[data.augment]`: how each training image is moved, e.g.
/// `augment = { shift = 2, rotation = 10, scale = 0.1 }`. Validation and test images are never
/// augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Largest shift in pixels, along each axis: each image moves by a whole number of pixels
    /// drawn uniformly from `[-shift, shift]` (default 2). 0 = no shift.
    pub shift: usize,
    /// Largest rotation in degrees: each image turns by an angle drawn uniformly from
    /// `[-rotation, rotation]` (default 0). At most 90.
    pub rotation: f64,
    /// Largest relative scaling: each image is scaled by a factor drawn uniformly from
    /// `[1 - scale, 1 + scale]` (default 0). In `[0, 0.5]`.
    pub scale: f64,
    /// Mirror each image left to right with probability 1/2 (Keras' `RandomFlip("horizontal")`;
    /// default false). For sets whose classes look the same mirrored, such as Fashion-MNIST's
    /// clothes, never for digits.
    pub horizontal_flip: bool,
    /// Elastic distortion after the other moves (Simard et al. 2003), e.g.
    /// `elastic = { alpha = 34, sigma = 4 }`; absent = none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elastic: Option<Elastic>,
}

impl Default for Augment {
    fn default() -> Self {
        Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: false, elastic: None }
    }
}

/// `[data.augment.elastic]`: each output pixel samples the input displaced by a random smooth
/// field, as Simard, Steinkraus and Platt (2003) distorted MNIST: a displacement per pixel and axis
/// drawn uniformly from `[-1, 1]`, smoothed by a Gaussian of `sigma` pixels (zero beyond the
/// image, as `scipy.ndimage.gaussian_filter(mode="constant")`) and scaled by `alpha` pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Elastic {
    /// Strength in pixels: the smoothed field is multiplied by it (default 34, Simard's). The
    /// typical displacement is about `alpha / (6 sigma)` pixels: 1.4 with the defaults.
    pub alpha: f64,
    /// Smoothness: the standard deviation in pixels of the Gaussian that smooths the field
    /// (default 4, Simard's). Larger is smoother and, for the same alpha, weaker.
    pub sigma: f64,
}

impl Default for Elastic {
    fn default() -> Self {
        Elastic { alpha: 34.0, sigma: 4.0 }
    }
}

impl Elastic {
    /// The `[n, height, width, 2]` displacement fields, in pixels (x then y per pixel), for `n`
    /// images from `seed`; each image's field comes from its own stream, so the fields do not
    /// depend on how the work is split over threads.
    pub fn draw(&self, n: usize, height: usize, width: usize, seed: u64) -> Vec<f32> {
        let kernel = gaussian_kernel(self.sigma);
        let mut fields = vec![0.0f32; n * height * width * 2];
        fields.par_chunks_mut(height * width * 2).enumerate().for_each(|(i, field)| {
            let mut rng = StdRng::seed_from_u64(derive_seed(seed, "elastic", i as u64));
            for axis in 0..2 {
                let noise: Vec<f32> = (0..height * width).map(|_| rng.random_range(-1.0f32..=1.0)).collect();
                let smooth = smooth_2d(&noise, height, width, &kernel);
                for (k, v) in smooth.into_iter().enumerate() {
                    field[k * 2 + axis] = v * self.alpha as f32;
                }
            }
        });
        fields
    }
}

/// The normalized Gaussian of standard deviation `sigma`, cut at 4 sigma (SciPy's default).
fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let weights: Vec<f64> = (-radius..=radius).map(|d| (-(d * d) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| (w / total) as f32).collect()
}

/// `plane` (`height` × `width`, row-major) convolved with `kernel` along rows then columns, zero
/// beyond the edges.
fn smooth_2d(plane: &[f32], height: usize, width: usize, kernel: &[f32]) -> Vec<f32> {
    let rows = smooth_lines(plane, width, kernel);
    let columns = smooth_lines(&transpose(&rows, height, width), height, kernel);
    transpose(&columns, width, height)
}

/// Each line of `len` values of `input` convolved with `kernel`, zero beyond its ends. Each sum
/// runs over the kernel in order, the terms beyond the ends adding +0, so it equals the plain
/// double loop to the bit; the kernel loop outside and the line loop inside let the compiler
/// vectorize it (the plain loop, with its bounds test per term, made elastic distortion cost a
/// quarter of a CNN's training step).
fn smooth_lines(input: &[f32], len: usize, kernel: &[f32]) -> Vec<f32> {
    let radius = kernel.len() / 2;
    let mut padded = vec![0.0f32; len + 2 * radius];
    let mut out = vec![0.0f32; input.len()];
    for (line, sums) in input.chunks_exact(len).zip(out.chunks_exact_mut(len)) {
        padded[radius..radius + len].copy_from_slice(line);
        for (k, &w) in kernel.iter().enumerate() {
            for (sum, &x) in sums.iter_mut().zip(&padded[k..k + len]) {
                *sum += w * x;
            }
        }
    }
    out
}

/// `plane` (`height` × `width`, row-major) transposed to `width` × `height`.
fn transpose(plane: &[f32], height: usize, width: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; plane.len()];
    for (y, row) in plane.chunks_exact(width).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            out[x * height + y] = v;
        }
    }
    out
}

impl Augment {
    /// The augmentation that moves nothing (a config without `augment`).
    pub fn none() -> Self {
        Augment { shift: 0, rotation: 0.0, scale: 0.0, horizontal_flip: false, elastic: None }
    }

    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(DataError::InvalidSetting { field, value, expected })
        };
        if self.shift > 14 {
            return bad("augment.shift", self.shift.to_string(), "at most 14 pixels (half an MNIST image)");
        }
        if !(self.rotation.is_finite() && (0.0..=90.0).contains(&self.rotation)) {
            return bad("augment.rotation", self.rotation.to_string(), "degrees between 0 and 90");
        }
        if !(self.scale.is_finite() && (0.0..=0.5).contains(&self.scale)) {
            return bad("augment.scale", self.scale.to_string(), "a fraction between 0 and 0.5");
        }
        if let Some(e) = &self.elastic {
            if !(e.alpha.is_finite() && e.alpha > 0.0 && e.alpha <= 100.0) {
                return bad("augment.elastic.alpha", e.alpha.to_string(), "a strength in pixels above 0 and at most 100 (Simard's is 34)");
            }
            if !(e.sigma.is_finite() && (0.5..=20.0).contains(&e.sigma)) {
                return bad("augment.elastic.sigma", e.sigma.to_string(), "a smoothing width in pixels between 0.5 and 20 (Simard's is 4)");
            }
        }
        Ok(())
    }

    /// Whether the settings move nothing.
    pub fn is_identity(&self) -> bool {
        self.shift == 0 && self.rotation == 0.0 && self.scale == 0.0 && !self.horizontal_flip && self.elastic.is_none()
    }

    /// The `[n, 2, 3]` affine maps, row-major, that take an output pixel's normalized
    /// coordinates `(x, y, 1)` (in `[-1, 1]`, `grid_sample`'s convention) to the input location
    /// it samples, for `n` images of `height` × `width`, drawn from `seed`.
    pub fn draw(&self, n: usize, height: usize, width: usize, seed: u64) -> Vec<[[f32; 3]; 2]> {
        let mut rng = StdRng::seed_from_u64(seed);
        let shift = self.shift as i64;
        (0..n)
            .map(|_| {
                let dx = if shift > 0 { rng.random_range(-shift..=shift) } else { 0 };
                let dy = if shift > 0 { rng.random_range(-shift..=shift) } else { 0 };
                let angle = if self.rotation > 0.0 { rng.random_range(-self.rotation..=self.rotation) } else { 0.0 };
                let factor = if self.scale > 0.0 { rng.random_range(1.0 - self.scale..=1.0 + self.scale) } else { 1.0 };
                // Drawn last and only when asked for, so the other moves of a seed stay as they
                // were without the flip.
                let mirror = if self.horizontal_flip && rng.random_bool(0.5) { -1.0 } else { 1.0 };
                // Output pixel p samples the input at R(-angle) · p / factor - shift: the image
                // turns by `angle`, grows by `factor` and moves by (dx, dy) pixels. A pixel is
                // 2 / width normalized units wide; x and y are scaled apart so a rotation of a
                // non-square image stays a rotation in pixels. A mirror negates the output's x:
                // the image is moved, turned and scaled as without it, then mirrored.
                let (sin, cos) = (-angle.to_radians()).sin_cos();
                let (sx, sy) = (width as f64 / 2.0, height as f64 / 2.0);
                let a = [
                    [mirror * cos / factor, -sin / factor * sy / sx, -(dx as f64) / sx],
                    [mirror * sin / factor * sx / sy, cos / factor, -(dy as f64) / sy],
                ];
                a.map(|row| row.map(|v| v as f32))
            })
            .collect()
    }

    /// `images` `[n, c, h, w]` moved by the maps [`Augment::draw`] gives for `seed`, then
    /// displaced by the elastic fields [`Elastic::draw`] gives for it; the samples outside the
    /// image repeat its border (the background of MNIST-like images, whatever the normalization).
    pub fn apply_to(&self, images: Tensor<4>, seed: u64) -> Tensor<4> {
        let [n, _, h, w] = images.dims();
        let device = images.device();
        let maps: Vec<f32> = self.draw(n, h, w, seed).into_iter().flatten().flatten().collect();
        // [n, 3, 2]: the transpose of each map, so `base · map` gives (x', y') per pixel.
        let maps = Tensor::<3>::from_data(TensorData::new(maps, [n, 2, 3]), &device).swap_dims(1, 2);
        // Normalized centres of the output pixels (align_corners = false), with a 1 for the shift.
        let mut base = Vec::with_capacity(h * w * 3);
        for i in 0..h {
            for j in 0..w {
                base.extend([(2 * j + 1) as f32 / w as f32 - 1.0, (2 * i + 1) as f32 / h as f32 - 1.0, 1.0]);
            }
        }
        let base = Tensor::<3>::from_data(TensorData::new(base, [1, h * w, 3]), &device).expand([n, h * w, 3]);
        let mut grid = base.matmul(maps).reshape([n, h, w, 2]);
        if let Some(elastic) = &self.elastic {
            // Pixels to normalized units: a pixel is 2 / width wide and 2 / height high.
            let (ux, uy) = (2.0 / w as f32, 2.0 / h as f32);
            let mut field = elastic.draw(n, h, w, seed);
            for pair in field.chunks_exact_mut(2) {
                pair[0] *= ux;
                pair[1] *= uy;
            }
            grid = grid + Tensor::<4>::from_data(TensorData::new(field, [n, h, w, 2]), &device);
        }
        let options = GridSampleOptions::new(InterpolateMode::Bilinear).with_padding_mode(GridSamplePaddingMode::Border).with_align_corners(false);
        images.grid_sample_2d(grid, options)
    }

    /// A training batch with its inputs moved ([`Augment::apply_to`]); the targets and labels
    /// stay (classifiers read only the labels).
    pub fn apply(&self, batch: Batch, seed: u64) -> Batch {
        if self.is_identity() {
            return batch;
        }
        Batch { input: self.apply_to(batch.input, seed), ..batch }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    /// A 1x1x8x8 image with one bright pixel at (row 3, column 4) on a zero background.
    fn dot() -> Tensor<4> {
        let mut v = vec![0.0f32; 64];
        v[3 * 8 + 4] = 1.0;
        Tensor::from_data(TensorData::new(v, [1, 1, 8, 8]), &device())
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn a_pure_shift_moves_every_pixel_by_whole_pixels() {
        let augment = Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: false, elastic: None };
        // Find seeds whose draw is a non-zero shift; the moved image must be the dot shifted
        // exactly by (dx, dy), with no blur.
        let mut checked = 0;
        for seed in 0..20 {
            let map = augment.draw(1, 8, 8, seed)[0];
            let dx = (-map[0][2] * 4.0).round() as i64;
            let dy = (-map[1][2] * 4.0).round() as i64;
            assert!(dx.abs() <= 2 && dy.abs() <= 2, "shift ({dx}, {dy}) beyond 2");
            let out = values(augment.apply_to(dot(), seed));
            let (r, c) = (3 + dy, 4 + dx);
            for (k, &v) in out.iter().enumerate() {
                let expected = if k as i64 == r * 8 + c { 1.0 } else { 0.0 };
                assert!((v - expected).abs() < 1e-5, "seed {seed}, shift ({dx}, {dy}): pixel {k} = {v}");
            }
            checked += usize::from(dx != 0 || dy != 0);
        }
        assert!(checked > 10, "too few seeds drew a shift ({checked})");
    }

    #[test]
    fn a_flip_mirrors_about_half_the_images_exactly_and_keeps_the_other_moves() {
        let flip = Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: true, elastic: None };
        let plain = Augment { horizontal_flip: false, ..flip.clone() };
        let mut mirrored = 0;
        for seed in 0..40 {
            let (with, without) = (flip.draw(1, 8, 8, seed)[0], plain.draw(1, 8, 8, seed)[0]);
            // The shift is the same draw with or without the flip.
            assert_eq!((with[0][2], with[1][2]), (without[0][2], without[1][2]), "seed {seed}");
            if with[0][0] > 0.0 {
                assert_eq!(with, without, "seed {seed}: not mirrored, so not changed");
                continue;
            }
            mirrored += 1;
            // The dot at column 4 of 8 moves by the shift, then the mirror sends column j to
            // column 7 - j.
            let dx = (-with[0][2] * 4.0).round() as i64;
            let dy = (-with[1][2] * 4.0).round() as i64;
            let out = values(flip.apply_to(dot(), seed));
            let (r, c) = (3 + dy, 7 - (4 + dx));
            for (k, &v) in out.iter().enumerate() {
                let expected = if k as i64 == r * 8 + c { 1.0 } else { 0.0 };
                assert!((v - expected).abs() < 1e-5, "seed {seed}, mirrored, shift ({dx}, {dy}): pixel {k} = {v}");
            }
        }
        assert!((10..=30).contains(&mirrored), "{mirrored} of 40 draws mirrored, expected about half");
    }

    #[test]
    fn the_same_seed_draws_the_same_images_and_another_seed_others() {
        let augment = Augment { shift: 2, rotation: 15.0, scale: 0.1, horizontal_flip: true, elastic: None };
        let images = Tensor::<4>::random([16, 1, 28, 28], burn::tensor::Distribution::Uniform(0.0, 1.0), &device());
        let a = values(augment.apply_to(images.clone(), 7));
        let b = values(augment.apply_to(images.clone(), 7));
        let c = values(augment.apply_to(images, 8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_rotation_by_ninety_degrees_turns_the_image() {
        // With rotation = 90 every draw is some angle in [-90, 90]; pick the map by hand instead:
        // apply the formula of `draw` for exactly +90 degrees through a tiny augment whose rng
        // range is a single point.
        let augment = Augment { shift: 0, rotation: 90.0, scale: 0.0, horizontal_flip: false, elastic: None };
        // Search a seed whose angle is within 0.5 degree of ±90.
        let seed = (0..10_000u64)
            .find(|&s| {
                let m = augment.draw(1, 8, 8, s)[0];
                m[0][0].abs() < 0.008
            })
            .expect("some seed draws nearly ±90 degrees");
        let m = augment.draw(1, 8, 8, seed)[0];
        let out = values(augment.apply_to(dot(), seed));
        // The brightest output pixel is where the rotated dot lands: (row, col) with centre
        // (3.5 - 4 + 0.5...) computed from the inverse map. Check it lies on the rotated spot.
        let (best, _) = out.iter().enumerate().fold((0, f32::MIN), |acc, (k, &v)| if v > acc.1 { (k, v) } else { acc });
        let (r, c) = ((best / 8) as f32, (best % 8) as f32);
        let (x, y) = ((2.0 * c + 1.0) / 8.0 - 1.0, (2.0 * r + 1.0) / 8.0 - 1.0);
        let (sx, sy) = (m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]);
        let (src_c, src_r) = ((sx + 1.0) * 4.0 - 0.5, (sy + 1.0) * 4.0 - 0.5);
        assert!((src_r - 3.0).abs() < 0.6 && (src_c - 4.0).abs() < 0.6, "pixel ({r}, {c}) samples ({src_r}, {src_c})");
        // The dot did move (a quarter turn about the centre sends (3, 4) elsewhere).
        assert!(best != 3 * 8 + 4);
    }

    #[test]
    fn identity_settings_leave_the_batch_alone() {
        let augment = Augment { shift: 0, rotation: 0.0, scale: 0.0, horizontal_flip: false, elastic: None };
        assert!(augment.is_identity());
        assert!(!Augment { horizontal_flip: true, ..augment.clone() }.is_identity());
        let d = device();
        let batch = Batch { input: dot(), target: dot(), labels: Tensor::from_data(TensorData::new(vec![1i64], [1]), &d) };
        assert_eq!(values(augment.apply(batch, 3).input), values(dot()));
    }

    #[test]
    fn elastic_fields_are_smooth_of_the_expected_size_and_seeded_per_image() {
        let elastic = Elastic::default();
        let (n, h, w) = (64, 28, 28);
        let fields = elastic.draw(n, h, w, 5);
        assert_eq!(fields, elastic.draw(n, h, w, 5));
        assert_ne!(fields, elastic.draw(n, h, w, 6));
        // Image i's field is its own: the first image of a batch of 1 is the first of 64.
        assert_eq!(elastic.draw(1, h, w, 5), fields[..h * w * 2].to_vec());
        // Away from the edges (where the zero padding weakens it), the smoothed uniform field has
        // standard deviation alpha * (1/sqrt 3) / (2 sqrt(pi) sigma), 1.38 pixels here.
        let expected = elastic.alpha / 3f64.sqrt() / (2.0 * std::f64::consts::PI.sqrt() * elastic.sigma);
        let (mut sum_sq, mut count, mut step_sq) = (0.0f64, 0usize, 0.0f64);
        for image in fields.chunks_exact(h * w * 2) {
            for y in 10..18 {
                for x in 10..18 {
                    for axis in 0..2 {
                        let v = f64::from(image[(y * w + x) * 2 + axis]);
                        let right = f64::from(image[(y * w + x + 1) * 2 + axis]);
                        sum_sq += v * v;
                        step_sq += (right - v) * (right - v);
                        count += 1;
                    }
                }
            }
        }
        let rms = (sum_sq / count as f64).sqrt();
        assert!((0.75 * expected..1.25 * expected).contains(&rms), "rms displacement {rms}, expected about {expected}");
        // Smooth: neighbours move together (white noise would differ by sqrt 2 times the rms).
        let step = (step_sq / count as f64).sqrt();
        assert!(step < 0.3 * rms, "neighbouring displacements differ by {step}, the displacements are {rms}");
    }

    #[test]
    fn the_smoothing_equals_the_plain_zero_padded_convolution_to_the_bit() {
        // The definition: for each output, the sum over the kernel in order of the terms inside.
        fn plain(plane: &[f32], height: usize, width: usize, kernel: &[f32]) -> Vec<f32> {
            let radius = (kernel.len() / 2) as i64;
            let pass = |input: &[f32], len: usize, stride: usize, lines: usize, line_stride: usize| {
                let mut out = vec![0.0f32; input.len()];
                for line in 0..lines {
                    for i in 0..len as i64 {
                        let mut sum = 0.0;
                        for (k, w) in kernel.iter().enumerate() {
                            let j = i + k as i64 - radius;
                            if (0..len as i64).contains(&j) {
                                sum += w * input[line * line_stride + j as usize * stride];
                            }
                        }
                        out[line * line_stride + i as usize * stride] = sum;
                    }
                }
                out
            };
            let rows = pass(plane, width, 1, height, width);
            pass(&rows, height, width, width, 1)
        }
        let mut rng = StdRng::seed_from_u64(3);
        // Non-square, and kernels from shorter than the image to much longer.
        for (height, width) in [(28, 28), (7, 12)] {
            let plane: Vec<f32> = (0..height * width).map(|_| rng.random_range(-1.0f32..=1.0)).collect();
            for sigma in [0.5, 1.5, 4.0, 5.0, 20.0] {
                let kernel = gaussian_kernel(sigma);
                let (fast, slow) = (smooth_2d(&plane, height, width, &kernel), plain(&plane, height, width, &kernel));
                assert!(fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits()), "{height}x{width}, sigma {sigma}");
                assert!(fast.iter().any(|&v| v != 0.0));
            }
        }
    }

    #[test]
    fn an_elastic_distortion_samples_the_input_at_the_displaced_points() {
        // A horizontal ramp (value = column) and a vertical one (value = row): bilinear sampling
        // reproduces a linear image exactly, so where the displaced point stays inside the image
        // the output minus the input is the field's x (resp. y) displacement.
        let augment = Augment { elastic: Some(Elastic { alpha: 20.0, sigma: 3.0 }), ..Augment::none() };
        let (h, w) = (16, 16);
        let ramp = |vertical: bool| {
            let v: Vec<f32> = (0..h * w).map(|k| if vertical { (k / w) as f32 } else { (k % w) as f32 }).collect();
            Tensor::<4>::from_data(TensorData::new(v, [1, 1, h, w]), &device())
        };
        let field = Elastic { alpha: 20.0, sigma: 3.0 }.draw(1, h, w, 11);
        let mut checked = 0;
        for (axis, vertical) in [(0, false), (1, true)] {
            let out = values(augment.apply_to(ramp(vertical), 11));
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (field[(y * w + x) * 2], field[(y * w + x) * 2 + 1]);
                    let (sx, sy) = (x as f32 + dx, y as f32 + dy);
                    if !(0.0..=(w - 1) as f32).contains(&sx) || !(0.0..=(h - 1) as f32).contains(&sy) {
                        continue;
                    }
                    let base = if vertical { y } else { x } as f32;
                    let moved = out[y * w + x] - base;
                    let expected = if axis == 0 { dx } else { dy };
                    assert!((moved - expected).abs() < 1e-3, "axis {axis}, pixel ({y}, {x}): moved {moved}, field {expected}");
                    checked += usize::from(expected.abs() > 0.1);
                }
            }
        }
        assert!(checked > 100, "only {checked} pixels moved noticeably");
    }

    #[test]
    fn out_of_range_settings_name_their_key() {
        for (augment, key) in [
            (Augment { shift: 15, ..Augment::default() }, "augment.shift"),
            (Augment { rotation: 91.0, ..Augment::default() }, "augment.rotation"),
            (Augment { scale: f64::NAN, ..Augment::default() }, "augment.scale"),
            (Augment { elastic: Some(Elastic { alpha: 0.0, sigma: 4.0 }), ..Augment::default() }, "augment.elastic.alpha"),
            (Augment { elastic: Some(Elastic { alpha: 34.0, sigma: 0.1 }), ..Augment::default() }, "augment.elastic.sigma"),
        ] {
            match augment.validate() {
                Err(DataError::InvalidSetting { field, .. }) => assert_eq!(field, key),
                other => panic!("{augment:?}: {other:?}"),
            }
        }
    }
}
