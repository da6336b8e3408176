//! Seeded data augmentation of training batches on the device: a random affine map per image
//! (integer shift, small rotation and scaling, a left-right mirror) drawn from a seed, applied by
//! one bilinear `grid_sample_2d` over the batch.

use burn::prelude::*;
use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{Batch, DataError};

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
}

impl Default for Augment {
    fn default() -> Self {
        Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: false }
    }
}

impl Augment {
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
        Ok(())
    }

    /// Whether the settings move nothing.
    pub fn is_identity(&self) -> bool {
        self.shift == 0 && self.rotation == 0.0 && self.scale == 0.0 && !self.horizontal_flip
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

    /// `images` `[n, c, h, w]` moved by the maps [`Augment::draw`] gives for `seed`; the samples
    /// outside the image repeat its border (the background of MNIST-like images, whatever the
    /// normalization).
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
        let grid = base.matmul(maps).reshape([n, h, w, 2]);
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
        let augment = Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: false };
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
        let flip = Augment { shift: 2, rotation: 0.0, scale: 0.0, horizontal_flip: true };
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
        let augment = Augment { shift: 2, rotation: 15.0, scale: 0.1, horizontal_flip: true };
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
        let augment = Augment { shift: 0, rotation: 90.0, scale: 0.0, horizontal_flip: false };
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
        let augment = Augment { shift: 0, rotation: 0.0, scale: 0.0, horizontal_flip: false };
        assert!(augment.is_identity());
        assert!(!Augment { horizontal_flip: true, ..augment.clone() }.is_identity());
        let d = device();
        let batch = Batch { input: dot(), target: dot(), labels: Tensor::from_data(TensorData::new(vec![1i64], [1]), &d) };
        assert_eq!(values(augment.apply(batch, 3).input), values(dot()));
    }

    #[test]
    fn out_of_range_settings_name_their_key() {
        for (augment, key) in [
            (Augment { shift: 15, ..Augment::default() }, "augment.shift"),
            (Augment { rotation: 91.0, ..Augment::default() }, "augment.rotation"),
            (Augment { scale: f64::NAN, ..Augment::default() }, "augment.scale"),
        ] {
            match augment.validate() {
                Err(DataError::InvalidSetting { field, .. }) => assert_eq!(field, key),
                other => panic!("{augment:?}: {other:?}"),
            }
        }
    }
}
