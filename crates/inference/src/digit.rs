//! One preparation for a user's image of a digit (a photo, a scan, a drawing), so that it looks
//! like what MNIST's models saw in training: light ink on black, full contrast, the ink's
//! bounding box fitted into 20 × 20 keeping its aspect ratio and placed in 28 × 28 with its centre
//! of mass in the middle, as MNIST itself was made. The playground and the Python package use it.
//!
//! The steps, each for a reason a real picture gives:
//! 1. **Polarity.** Paper is light and ink dark; MNIST is the other way round. The border of a
//!    picture is mostly paper, so a light border means "invert" (unless the caller says).
//! 2. **Paper level.** Paper photographed is grey, not black, and unevenly lit. The level of the
//!    paper is estimated per block of the picture (a low percentile: ink is the minority), smoothed
//!    and interpolated, and subtracted: the paper's grey would otherwise move the centre of mass
//!    and dim the strokes.
//! 3. **Noise and contrast.** Ink and what is left of the paper (noise) are split by Otsu's
//!    threshold; everything up to the top of the paper's noise becomes black, and the ink is
//!    stretched so the core of its strokes reaches full white.
//! 4. **Fit and centre**, as MNIST: crop to the ink, scale the longer side to 20 pixels
//!    (anti-aliased), shift the centre of mass to the middle of 28 × 28.

use image::imageops::{FilterType, resize};
use image::{ImageBuffer, Luma};

/// Side of the models' input.
pub const SIDE: usize = 28;
/// Side of the box the ink is scaled into.
const INNER: f32 = 20.0;
/// Grey levels at or below this are background when finding the ink's bounding box: what the
/// preparation leaves of the paper is black, and the faint rim a pen or a brush leaves around its
/// strokes is cut, not measured.
const INK: f32 = 0.25;
/// Pictures are brought to at most this many pixels per side first: the digit ends up 20 pixels
/// tall, and the estimates below need no more.
const WORKING_SIDE: u32 = 256;
/// Blocks per side for the paper level.
const BLOCKS: usize = 8;

/// Whether to invert the grey levels (dark ink on light paper becomes light on dark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// Invert when the picture's border is light (paper).
    Auto,
    /// Always invert (`predict --invert`).
    Invert,
    /// Never invert: the ink is already light on a dark ground (a drawing on the playground's canvas).
    AsIs,
}

/// `grey` (`width × height` grey levels in [0, 1], row-major) as a 28 × 28 MNIST-style digit,
/// row-major, light ink on black. A blank picture gives a blank digit.
pub fn prepare(grey: &[f32], width: usize, height: usize, polarity: Polarity) -> Vec<f32> {
    if width == 0 || height == 0 || grey.len() != width * height {
        return vec![0.0; SIDE * SIDE];
    }
    let (mut pixels, w, h) = shrink(grey, width, height);
    let invert = match polarity {
        Polarity::Invert => true,
        Polarity::AsIs => false,
        Polarity::Auto => border_median(&pixels, w, h) > 0.5,
    };
    for p in &mut pixels {
        let v = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
        *p = if invert { 1.0 - v } else { v };
    }
    let ink = remove_paper(&pixels, w, h);
    fit_and_centre(&ink, w, h)
}

/// The picture brought to at most [`WORKING_SIDE`] per side (area-averaged), with its new size.
fn shrink(grey: &[f32], width: usize, height: usize) -> (Vec<f32>, usize, usize) {
    let longest = width.max(height) as u32;
    if longest <= WORKING_SIDE {
        return (grey.to_vec(), width, height);
    }
    let scale = WORKING_SIDE as f32 / longest as f32;
    let (w, h) = (((width as f32 * scale).round() as u32).max(1), ((height as f32 * scale).round() as u32).max(1));
    let image: ImageBuffer<Luma<f32>, Vec<f32>> = ImageBuffer::from_fn(width as u32, height as u32, |x, y| Luma([grey[y as usize * width + x as usize]]));
    let small = resize(&image, w, h, FilterType::Triangle);
    (small.into_raw(), w as usize, h as usize)
}

/// The median grey level of the picture's outer frame (a twentieth of each side, at least one pixel).
fn border_median(pixels: &[f32], w: usize, h: usize) -> f32 {
    let (bx, by) = ((w / 20).max(1), (h / 20).max(1));
    let mut frame: Vec<f32> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| x < bx || y < by || x >= w - bx || y >= h - by)
        .map(|(x, y)| pixels[y * w + x])
        .filter(|v| v.is_finite())
        .collect();
    percentile(&mut frame, 0.5)
}

/// The `q` quantile of `values` (0 for none), reordering them.
fn percentile(values: &mut [f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() - 1) as f32 * q).round() as usize;
    let (_, v, _) = values.select_nth_unstable_by(k, f32::total_cmp);
    *v
}

/// The ink alone: the paper's level (estimated per block, smoothed over neighbouring blocks and
/// interpolated between block centres) subtracted, values within the paper's noise dropped, and
/// the ink stretched so that the core of its strokes reaches 1.
fn remove_paper(pixels: &[f32], w: usize, h: usize) -> Vec<f32> {
    let (nx, ny) = (BLOCKS.min(w), BLOCKS.min(h));
    // The paper's level per block: a low percentile, so a block half covered by a thick stroke
    // still reads as paper.
    let mut level = vec![0.0f32; nx * ny];
    for by in 0..ny {
        for bx in 0..nx {
            let (x0, x1) = (bx * w / nx, (bx + 1) * w / nx);
            let (y0, y1) = (by * h / ny, (by + 1) * h / ny);
            let mut block: Vec<f32> = (y0..y1).flat_map(|y| pixels[y * w + x0..y * w + x1].iter().copied()).collect();
            level[by * nx + bx] = percentile(&mut block, 0.3);
        }
    }
    // A block entirely inside a stroke would read as paper as bright as ink: each block takes the
    // lowest level of itself and its neighbours.
    let smoothed: Vec<f32> = (0..ny)
        .flat_map(|by| (0..nx).map(move |bx| (bx, by)))
        .map(|(bx, by)| {
            let mut m = f32::INFINITY;
            for y in by.saturating_sub(1)..(by + 2).min(ny) {
                for x in bx.saturating_sub(1)..(bx + 2).min(nx) {
                    m = m.min(level[y * nx + x]);
                }
            }
            m
        })
        .collect();
    // Bilinear between block centres.
    let paper_at = |x: usize, y: usize| -> f32 {
        let fx = ((x as f32 + 0.5) * nx as f32 / w as f32 - 0.5).clamp(0.0, (nx - 1) as f32);
        let fy = ((y as f32 + 0.5) * ny as f32 / h as f32 - 0.5).clamp(0.0, (ny - 1) as f32);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(nx - 1), (y0 + 1).min(ny - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let top = smoothed[y0 * nx + x0] * (1.0 - tx) + smoothed[y0 * nx + x1] * tx;
        let bottom = smoothed[y1 * nx + x0] * (1.0 - tx) + smoothed[y1 * nx + x1] * tx;
        top * (1.0 - ty) + bottom * ty
    };
    let mut ink: Vec<f32> = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| (pixels[y * w + x] - paper_at(x, y)).max(0.0)).collect();
    // Ink and what is left of the paper (its noise) split by Otsu's threshold; a split without
    // contrast between the two means there is no ink at all.
    let threshold = otsu(&ink);
    let (mut below, mut above): (Vec<f32>, Vec<f32>) = ink.iter().partition(|&&v| v < threshold);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    if above.is_empty() || mean(&above) - mean(&below) < MIN_CONTRAST {
        return vec![0.0; w * h];
    }
    // Black is the top of the paper's noise; full white the middle of the ink (a stroke's core is
    // solid, as MNIST's are; its anti-aliased edges and the pen's unevenness fall below it).
    let floor = percentile(&mut below, 0.99) + 0.01;
    let top = percentile(&mut above, 0.5).max(floor + 1e-3);
    for v in &mut ink {
        *v = ((*v - floor) / (top - floor)).clamp(0.0, 1.0);
    }
    despeckle(&ink, w, h)
}

/// `ink` without specks: a pixel is kept only next to (within one pixel of) a stroke's core
/// (at least half white). The noise of a large sheet leaves a few scattered pixels above any
/// floor; they would stretch the ink's bounding box over the whole sheet.
fn despeckle(ink: &[f32], w: usize, h: usize) -> Vec<f32> {
    let core = |x: usize, y: usize| ink[y * w + x] >= 0.5;
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let near_core = (y.saturating_sub(1)..(y + 2).min(h)).any(|ny| (x.saturating_sub(1)..(x + 2).min(w)).any(|nx| core(nx, ny)));
            if near_core { ink[y * w + x] } else { 0.0 }
        })
        .collect()
}

/// Least difference of grey level between ink and paper for a picture to hold a digit at all.
const MIN_CONTRAST: f32 = 0.12;

/// Otsu's threshold of values in [0, 1] (256 bins): the one that best separates two classes.
fn otsu(values: &[f32]) -> f32 {
    let mut histogram = [0u64; 256];
    for &v in values {
        histogram[((v.clamp(0.0, 1.0) * 255.0).round() as usize).min(255)] += 1;
    }
    let total = values.len() as f64;
    let sum: f64 = histogram.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut weight, mut sum_below, mut best, mut best_at) = (0.0f64, 0.0f64, -1.0f64, 0usize);
    for (i, &c) in histogram.iter().enumerate() {
        weight += c as f64;
        if weight == 0.0 || weight == total {
            continue;
        }
        sum_below += i as f64 * c as f64;
        let (m0, m1) = (sum_below / weight, (sum - sum_below) / (total - weight));
        let between = weight * (total - weight) * (m0 - m1).powi(2);
        if between > best {
            (best, best_at) = (between, i);
        }
    }
    (best_at as f32 + 0.5) / 255.0
}

/// `pixels` (`width × height` grey levels in [0, 1], row-major; light ink on black) as a 28 × 28
/// MNIST-style digit: the ink's bounding box scaled so its longer side is 20 pixels, placed with
/// its centre of mass in the middle. A blank picture gives a blank digit.
pub fn fit_and_centre(pixels: &[f32], width: usize, height: usize) -> Vec<f32> {
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
        ImageBuffer::from_fn(w as u32, h as u32, |x, y| Luma([pixels[(y0 + y as usize) * width + x0 + x as usize].clamp(0.0, 1.0)]));
    // The longer side becomes 20 pixels.
    let scale = INNER / w.max(h) as f32;
    let (sw, sh) = (((w as f32 * scale).round() as u32).max(1), ((h as f32 * scale).round() as u32).max(1));
    let small = resize(&crop, sw, sh, FilterType::Triangle);
    // Centre of mass of the scaled ink.
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, p) in small.enumerate_pixels() {
        let v = p.0[0].clamp(0.0, 1.0) as f64;
        mass += v;
        mx += v * (x as f64 + 0.5);
        my += v * (y as f64 + 0.5);
    }
    let (cx, cy) = if mass > 0.0 { (mx / mass, my / mass) } else { (sw as f64 / 2.0, sh as f64 / 2.0) };
    let (dx, dy) = ((SIDE as f64 / 2.0 - cx).round() as i64, (SIDE as f64 / 2.0 - cy).round() as i64);
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

    /// A "7" drawn as two thick strokes on a `w × h` sheet: `paper` and `ink` grey levels, the
    /// paper's level rising by `gradient` from left to right (uneven light), plus a little
    /// deterministic noise.
    fn seven_on_paper(w: usize, h: usize, paper: f32, ink: f32, gradient: f32) -> Vec<f32> {
        let mut sheet = vec![0.0; w * h];
        let mut state = 12345u32;
        for y in 0..h {
            for x in 0..w {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = ((state >> 16) % 1000) as f32 / 1000.0 * 0.04 - 0.02;
                let level = paper + gradient * x as f32 / w as f32;
                // The top bar and the diagonal, each about a tenth of the sheet thick.
                let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
                let bar = (0.25..0.75).contains(&u) && (0.2..0.3).contains(&v);
                let diagonal = (0.3..0.8).contains(&v) && (u - (0.72 - (v - 0.3) * 0.6)).abs() < 0.05;
                sheet[y * w + x] = (if bar || diagonal { ink } else { level } + noise).clamp(0.0, 1.0);
            }
        }
        sheet
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
        let d = fit_and_centre(&canvas, w, h);
        let (cx, cy) = centre_of_mass(&d);
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass ({cx}, {cy})");
        // Its height became 20 rows and its width 15 columns (aspect ratio kept).
        let rows = (0..SIDE).filter(|y| (0..SIDE).any(|x| d[y * SIDE + x] > 0.5)).count();
        let cols = (0..SIDE).filter(|x| (0..SIDE).any(|y| d[y * SIDE + x] > 0.5)).count();
        assert_eq!((rows, cols), (20, 15));
        // An already prepared digit moves only to put its centre of mass in the middle.
        let shifted = fit_and_centre(&block(2, 3), SIDE, SIDE);
        let (cx, cy) = centre_of_mass(&shifted);
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass ({cx}, {cy})");
    }

    #[test]
    fn blank_or_malformed_pictures_give_a_blank_digit() {
        assert!(fit_and_centre(&vec![0.0; 100], 10, 10).iter().all(|&v| v == 0.0));
        assert!(fit_and_centre(&[1.0; 5], 10, 10).iter().all(|&v| v == 0.0));
        assert_eq!(fit_and_centre(&[], 0, 0).len(), SIDE * SIDE);
        // Blank paper, light or dark, even noisy and unevenly lit: nothing is ink.
        for paper in [0.1, 0.6, 0.9] {
            let sheet = seven_on_paper(120, 120, paper, paper, 0.05);
            assert!(prepare(&sheet, 120, 120, Polarity::Auto).iter().all(|&v| v == 0.0), "paper {paper}");
        }
        assert!(prepare(&[0.5; 7], 3, 3, Polarity::Auto).iter().all(|&v| v == 0.0));
        // A single dot is still a digit of one blob, in the middle.
        let mut dot = vec![0.0; 100];
        dot[0] = 1.0;
        let (cx, cy) = centre_of_mass(&fit_and_centre(&dot, 10, 10));
        assert!((cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0, "({cx}, {cy})");
    }

    /// The prepared 7 of a sheet: black background, strokes at full white, centred.
    fn check_seven(d: &[f32], what: &str) {
        let max = d.iter().copied().fold(0.0, f32::max);
        assert!(max > 0.99, "{what}: the strokes reach {max}, not full white");
        // The corners (well away from a centred 20 × 20 digit) are black.
        for (x, y) in [(0, 0), (27, 0), (0, 27), (27, 27), (1, 26)] {
            assert_eq!(d[y * SIDE + x], 0.0, "{what}: pixel ({x}, {y}) is not background");
        }
        let (cx, cy) = centre_of_mass(d);
        assert!((cx - 14.0).abs() <= 0.6 && (cy - 14.0).abs() <= 0.6, "{what}: centre of mass ({cx}, {cy})");
        // Ink covers a stroke-like share of the box, not the paper.
        let lit = d.iter().filter(|&&v| v > 0.5).count();
        assert!((40..250).contains(&lit), "{what}: {lit} lit pixels");
    }

    #[test]
    fn dark_ink_on_grey_unevenly_lit_paper_becomes_a_centred_full_contrast_digit() {
        for (paper, ink, gradient) in [(0.95, 0.1, 0.0), (0.6, 0.25, 0.0), (0.55, 0.2, 0.3), (0.8, 0.45, -0.2)] {
            let sheet = seven_on_paper(300, 240, paper, ink, gradient);
            check_seven(&prepare(&sheet, 300, 240, Polarity::Auto), &format!("paper {paper}, ink {ink}, gradient {gradient}"));
        }
    }

    #[test]
    fn light_ink_on_a_dark_ground_is_kept_and_polarity_can_be_forced() {
        let canvas = seven_on_paper(200, 200, 0.0, 1.0, 0.0);
        let auto = prepare(&canvas, 200, 200, Polarity::Auto);
        check_seven(&auto, "a canvas drawing");
        assert_eq!(prepare(&canvas, 200, 200, Polarity::AsIs), auto);
        // Forced inversion of light paper with dark ink is what Auto does.
        let paper = seven_on_paper(200, 200, 0.9, 0.1, 0.0);
        assert_eq!(prepare(&paper, 200, 200, Polarity::Invert), prepare(&paper, 200, 200, Polarity::Auto));
    }

    #[test]
    fn a_large_photo_is_prepared_as_its_smaller_self() {
        let big = seven_on_paper(1200, 900, 0.7, 0.2, 0.1);
        check_seven(&prepare(&big, 1200, 900, Polarity::Auto), "a 1200 × 900 photo");
    }
}
