//! A drawing turned into what the models saw in training, as MNIST itself was made: the ink's
//! bounding box scaled to fit 20 × 20 keeping its aspect ratio, then placed in 28 × 28 so that its
//! centre of mass falls on the centre.

use image::imageops::{FilterType, resize};
use image::{ImageBuffer, Luma};

/// Side of the models' input.
pub const SIDE: usize = 28;
/// Side of the box the ink is scaled into.
const INNER: f32 = 20.0;
/// Grey levels at or below this are background when finding the ink.
const INK: f32 = 0.05;

/// `pixels` (`width × height` grey levels in [0, 1], row-major; white ink on black) as a 28 × 28
/// MNIST-style digit, row-major. A blank drawing gives a blank digit.
pub fn mnist_like(pixels: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut out = vec![0.0; SIDE * SIDE];
    if width == 0 || height == 0 || pixels.len() != width * height {
        return out;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if pixels[y * width + x] > INK {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 == usize::MAX {
        return out;
    }
    let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
    let crop: ImageBuffer<Luma<f32>, Vec<f32>> =
        ImageBuffer::from_fn(w as u32, h as u32, |x, y| {
            Luma([pixels[(y0 + y as usize) * width + x0 + x as usize].clamp(0.0, 1.0)])
        });
    // The longer side becomes 20 pixels.
    let scale = INNER / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let small = resize(&crop, sw, sh, FilterType::Triangle);
    // Centre of mass of the scaled ink.
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, p) in small.enumerate_pixels() {
        let v = p.0[0].clamp(0.0, 1.0) as f64;
        mass += v;
        mx += v * (x as f64 + 0.5);
        my += v * (y as f64 + 0.5);
    }
    let (cx, cy) = if mass > 0.0 {
        (mx / mass, my / mass)
    } else {
        (sw as f64 / 2.0, sh as f64 / 2.0)
    };
    let (dx, dy) = (
        (SIDE as f64 / 2.0 - cx).round() as i64,
        (SIDE as f64 / 2.0 - cy).round() as i64,
    );
    for (x, y, p) in small.enumerate_pixels() {
        let (tx, ty) = (x as i64 + dx, y as i64 + dy);
        if (0..SIDE as i64).contains(&tx) && (0..SIDE as i64).contains(&ty) {
            out[ty as usize * SIDE + tx as usize] = p.0[0].clamp(0.0, 1.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 28 × 28 "digit": a filled 12 × 16 block of ink.
    fn block(left: usize, top: usize) -> Vec<f32> {
        let mut d = vec![0.0; SIDE * SIDE];
        for y in top..top + 16 {
            for x in left..left + 12 {
                d[y * SIDE + x] = 1.0;
            }
        }
        d
    }

    fn centre_of_mass(d: &[f32]) -> (f32, f32) {
        let (mut m, mut x, mut y) = (0.0, 0.0, 0.0);
        for (i, v) in d.iter().enumerate() {
            m += v;
            x += v * ((i % SIDE) as f32 + 0.5);
            y += v * ((i / SIDE) as f32 + 0.5);
        }
        (x / m, y / m)
    }

    #[test]
    fn a_drawing_anywhere_and_at_any_size_is_scaled_to_twenty_and_centred() {
        // The same block drawn 4 times larger, in a corner of a 200 × 160 canvas.
        let (w, h) = (200, 160);
        let mut canvas = vec![0.0; w * h];
        for y in 10..10 + 64 {
            for x in 5..5 + 48 {
                canvas[y * w + x] = 1.0;
            }
        }
        let d = mnist_like(&canvas, w, h);
        let (cx, cy) = centre_of_mass(&d);
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "centre of mass ({cx}, {cy})"
        );
        // Its height became 20 rows and its width 15 columns (aspect ratio kept).
        let rows = (0..SIDE)
            .filter(|y| (0..SIDE).any(|x| d[y * SIDE + x] > 0.5))
            .count();
        let cols = (0..SIDE)
            .filter(|x| (0..SIDE).any(|y| d[y * SIDE + x] > 0.5))
            .count();
        assert_eq!((rows, cols), (20, 15));
        // An already prepared digit moves only to put its centre of mass in the middle.
        let shifted = mnist_like(&block(2, 3), SIDE, SIDE);
        let (cx, cy) = centre_of_mass(&shifted);
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass ({cx}, {cy})");
    }

    #[test]
    fn blank_or_malformed_drawings_give_a_blank_digit() {
        assert!(
            mnist_like(&vec![0.0; 100], 10, 10)
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(mnist_like(&[1.0; 5], 10, 10).iter().all(|&v| v == 0.0));
        assert_eq!(mnist_like(&[], 0, 0).len(), SIDE * SIDE);
        // A single dot is still a digit of one blob, in the middle.
        let mut dot = vec![0.0; 100];
        dot[0] = 1.0;
        let d = mnist_like(&dot, 10, 10);
        let (cx, cy) = centre_of_mass(&d);
        assert!(
            (cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0,
            "({cx}, {cy})"
        );
    }
}
