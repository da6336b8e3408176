//! Text of every figure: glyphs laid out by their advances, kerning and side bearings at
//! sub-pixel positions, then rasterized with anti-aliasing, through a drawing-backend wrapper
//! ([`Shaped`]) so that plotters' captions, ticks and legends use it too.
//!
//! Why not plotters' own text path: its `ab_glyph` renderer places each glyph's bitmap at the
//! pen position without the glyph's left side bearing and truncates the pen to whole pixels, so
//! narrow glyphs drift left and leave gaps ("o rigi nal", "11 25"). Text here is Latin labels and
//! numbers, which need no shaping beyond advances and pair kerning.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, Rect, ScaleFont, point};
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use crate::svg::SvgLayer;

/// The fonts of every figure, shipped inside the `epaint_default_fonts` crate (egui's), so
/// figures render the same on a machine with no fonts installed: Ubuntu for text, Hack (a
/// DejaVu Sans Mono derivative) where a monospace face is asked for.
const SANS: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;
const MONO: &[u8] = epaint_default_fonts::HACK_REGULAR;

/// The embedded face for a plotters family name: `monospace` gets Hack, every other name the
/// sans-serif face.
pub fn font(family: &str) -> &'static FontRef<'static> {
    static SANS_FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    static MONO_FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    // The fonts are valid TrueType files compiled into the binary: failing to parse is a bug.
    let parse =
        |bytes: &'static [u8]| FontRef::try_from_slice(bytes).expect("the embedded font parses");
    if family == "monospace" {
        MONO_FONT.get_or_init(|| parse(MONO))
    } else {
        SANS_FONT.get_or_init(|| parse(SANS))
    }
}

/// The largest font size up to `size` (in steps of half a pixel, at least 10) at which `text`
/// fits in `width` pixels: a long title over a narrow figure shrinks instead of being cut off.
pub fn fitting_size(family: &str, size: f64, text: &str, width: f64) -> f64 {
    let mut s = size;
    while s > 10.0 && layout(family, s, text).width as f64 > width {
        s -= 0.5;
    }
    s
}

/// One glyph placed on the line: its id and the pen position (x of its origin, from the left
/// of the text box).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// The character it shows.
    pub ch: char,
    /// The font's glyph.
    pub id: GlyphId,
    /// The x of the glyph's origin, in pixels from the left of the box.
    pub x: f32,
}

/// A line of text laid out at a pixel size: its glyphs and its box, whose top is the font's
/// ascent above the baseline and whose bottom its descent below.
#[derive(Debug, Clone)]
pub struct Layout {
    font: &'static FontRef<'static>,
    scale: PxScale,
    /// The glyphs, left to right.
    pub glyphs: Vec<Placed>,
    /// Advance width of the whole line (where a following glyph would start).
    pub width: f32,
    /// Ascent + descent: the height of the box.
    pub height: f32,
    /// Distance from the box top to the baseline.
    pub ascent: f32,
}

/// Lays out `text` in `family` at `size` pixels (the height from descent to ascent, as plotters
/// sizes fonts): each glyph starts where the previous one's advance, plus the pair's kerning,
/// ends. Control characters (a stray newline) take no room.
pub fn layout(family: &str, size: f64, text: &str) -> Layout {
    let font = font(family);
    let scale = PxScale::from(size.max(0.0) as f32);
    let scaled = font.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for ch in text.chars().filter(|c| !c.is_control()) {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        glyphs.push(Placed { ch, id, x: pen });
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
    Layout {
        font,
        scale,
        glyphs,
        width: pen,
        height: scaled.ascent() - scaled.descent(),
        ascent: scaled.ascent(),
    }
}

impl Layout {
    /// The pixel bounds of each glyph's ink within the box (`None` for a space), in order.
    pub fn ink(&self) -> Vec<Option<Rect>> {
        self.glyphs
            .iter()
            .map(|g| {
                let glyph =
                    g.id.with_scale_and_position(self.scale, point(g.x, self.ascent));
                self.font.outline_glyph(glyph).map(|o| o.px_bounds())
            })
            .collect()
    }

    /// The box size in whole pixels, as plotters measures text.
    pub fn size(&self) -> (u32, u32) {
        (
            self.width.ceil().max(0.0) as u32,
            self.height.ceil().max(0.0) as u32,
        )
    }

    /// Rasterizes the line into a coverage buffer (0 = none, 1 = full ink) of `size()` pixels
    /// plus any ink that overhangs the box; returns the buffer, its width and height, and the
    /// offset of its top-left corner from the box's top-left.
    pub fn coverage(&self) -> Coverage {
        let boxes: Vec<Rect> = self.ink().into_iter().flatten().collect();
        let (w, h) = self.size();
        let x0 = boxes.iter().map(|r| r.min.x).fold(0.0f32, f32::min).floor() as i32;
        let y0 = boxes.iter().map(|r| r.min.y).fold(0.0f32, f32::min).floor() as i32;
        let x1 = boxes
            .iter()
            .map(|r| r.max.x)
            .fold(w as f32, f32::max)
            .ceil() as i32;
        let y1 = boxes
            .iter()
            .map(|r| r.max.y)
            .fold(h as f32, f32::max)
            .ceil() as i32;
        let (cw, ch) = ((x1 - x0).max(0) as usize, (y1 - y0).max(0) as usize);
        let mut alpha = vec![0.0f32; cw * ch];
        for g in &self.glyphs {
            let glyph =
                g.id.with_scale_and_position(self.scale, point(g.x, self.ascent));
            let Some(outlined) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let b = outlined.px_bounds();
            let (gx, gy) = (b.min.x as i32 - x0, b.min.y as i32 - y0);
            outlined.draw(|x, y, c| {
                let (px, py) = (gx + x as i32, gy + y as i32);
                if px >= 0 && py >= 0 && (px as usize) < cw && (py as usize) < ch {
                    // Neighbouring glyphs may share an edge pixel: their coverage adds up.
                    let a = &mut alpha[py as usize * cw + px as usize];
                    *a = (*a + c).min(1.0);
                }
            });
        }
        Coverage {
            alpha,
            width: cw,
            height: ch,
            offset: (x0, y0),
        }
    }
}

/// Anti-aliased ink of a line of text.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Row-major ink per pixel, in [0, 1].
    pub alpha: Vec<f32>,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Top-left of the buffer relative to the top-left of the text box.
    pub offset: (i32, i32),
}

/// The CSS font size (the em) of text that plotters sizes at `size` pixels from descent to
/// ascent, for the SVG twin of a figure.
pub fn em_size(family: &str, size: f64) -> f32 {
    let f = font(family);
    let height = f.height_unscaled();
    let upem = f.units_per_em().unwrap_or(height);
    if height > 0.0 { size as f32 * upem / height } else { size as f32 }
}

/// A drawing backend whose text goes through [`layout`] (drawing and measuring alike); every
/// other operation is the wrapped backend's. With a [`SvgLayer`] it also records every drawing
/// call as an SVG element.
#[derive(Debug)]
pub struct Shaped<'a, DB> {
    inner: DB,
    svg: Option<&'a mut SvgLayer>,
}

impl<'a, DB> Shaped<'a, DB> {
    /// Wraps `inner`, recording into `svg` when given.
    pub fn new(inner: DB, svg: Option<&'a mut SvgLayer>) -> Shaped<'a, DB> {
        Shaped { inner, svg }
    }
}

impl<DB: DrawingBackend> DrawingBackend for Shaped<'_, DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.pixel(point, color);
        }
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.line(from, to, style.color(), style.stroke_width());
        }
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(&mut self, upper_left: BackendCoord, bottom_right: BackendCoord, style: &S, fill: bool) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.rect(upper_left, bottom_right, style.color(), style.stroke_width(), fill);
        }
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, path: I, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let points: Vec<BackendCoord> = path.into_iter().collect();
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.path(&points, style.color(), style.stroke_width());
        }
        self.inner.draw_path(points, style)
    }

    fn draw_circle<S: BackendStyle>(&mut self, center: BackendCoord, radius: u32, style: &S, fill: bool) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.circle(center, radius, style.color(), style.stroke_width(), fill);
        }
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, vert: I, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let points: Vec<BackendCoord> = vert.into_iter().collect();
        if let Some(svg) = self.svg.as_deref_mut() {
            svg.polygon(&points, style.color());
        }
        self.inner.fill_polygon(points, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(&self, text: &str, style: &TStyle) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok(layout(style.family().as_str(), style.size(), text).size())
    }

    fn draw_text<TStyle: BackendTextStyle>(&mut self, text: &str, style: &TStyle, pos: BackendCoord) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let family = style.family();
        let line = layout(family.as_str(), style.size(), text);
        let (w, h) = line.size();
        let (w, h) = (w as i32, h as i32);
        // The anchor is a point of the unrotated box; rotation turns the box about it.
        let anchor = style.anchor();
        let (dx, svg_anchor) = match anchor.h_pos {
            HPos::Left => (0, "start"),
            HPos::Center => (-w / 2, "middle"),
            HPos::Right => (-w, "end"),
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let transform = style.transform();
        if let Some(svg) = self.svg.as_deref_mut() {
            let degrees = match transform {
                FontTransform::None => 0,
                FontTransform::Rotate90 => 90,
                FontTransform::Rotate180 => 180,
                FontTransform::Rotate270 => -90,
            };
            let size = em_size(family.as_str(), style.size());
            svg.text(text, pos, 0, dy as f32 + line.ascent, svg_anchor, size, family.as_str(), color, degrees);
        }
        let ink = line.coverage();
        let (size_w, size_h) = self.get_size();
        for row in 0..ink.height {
            for col in 0..ink.width {
                let a = ink.alpha[row * ink.width + col];
                if a <= 0.0 {
                    continue;
                }
                let (x, y) = (col as i32 + ink.offset.0 + dx, row as i32 + ink.offset.1 + dy);
                let (x, y) = transform.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && x < size_w as i32 && y < size_h as i32 {
                    self.inner.draw_pixel((x, y), color.mix(a as f64))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ink boxes of a string's visible glyphs, left to right.
    fn ink(text: &str, size: f64) -> Vec<(char, Rect)> {
        let line = layout("sans-serif", size, text);
        line.glyphs
            .iter()
            .zip(line.ink())
            .filter_map(|(g, r)| r.map(|r| (g.ch, r)))
            .collect()
    }

    #[test]
    fn glyphs_advance_left_to_right_without_overlapping() {
        for text in [
            "original",
            "Latent means",
            "1125",
            "Principal components",
            "accuracy 0.9812",
        ] {
            let boxes = ink(text, 17.0);
            for pair in boxes.windows(2) {
                let ((a, ra), (b, rb)) = (pair[0], pair[1]);
                assert!(
                    rb.min.x > ra.min.x,
                    "{text:?}: {b:?} does not start right of {a:?}"
                );
                // Anti-aliased edges may share one pixel column, no more.
                assert!(
                    rb.min.x >= ra.max.x - 1.0,
                    "{text:?}: {a:?} {ra:?} overlaps {b:?} {rb:?}"
                );
            }
        }
    }

    #[test]
    fn letters_of_a_word_are_evenly_spaced() {
        // The gap between the ink of neighbouring letters stays under a fifth of the size: the
        // old path left 4-5 pixel holes after narrow glyphs ("o rigi nal" at 17 px).
        for text in ["original", "digit", "Latent"] {
            let boxes = ink(text, 17.0);
            for pair in boxes.windows(2) {
                let gap = pair[1].1.min.x - pair[0].1.max.x;
                assert!(
                    gap < 17.0 / 5.0,
                    "{text:?}: gap {gap} between {:?} and {:?}",
                    pair[0].0,
                    pair[1].0
                );
            }
        }
    }

    #[test]
    fn digits_sit_in_even_columns() {
        // Digits share one advance (tabular figures), so their ink centres are one advance apart
        // whatever their width: "1125" must not read as "11 25".
        let line = layout("sans-serif", 15.0, "1125");
        let advance = line.width / 4.0;
        let centres: Vec<f32> = ink("1125", 15.0)
            .iter()
            .map(|(_, r)| (r.min.x + r.max.x) / 2.0)
            .collect();
        for pair in centres.windows(2) {
            let step = pair[1] - pair[0];
            assert!(
                (step - advance).abs() < 0.25 * advance,
                "centres {centres:?}, advance {advance}"
            );
        }
    }

    #[test]
    fn width_grows_with_text_and_size() {
        let w = |t: &str, s: f64| layout("sans-serif", s, t).width;
        assert!(w("11", 17.0) < w("112", 17.0) && w("112", 17.0) < w("1125", 17.0));
        assert!(w("1125", 17.0) < w("1125", 22.0));
        assert_eq!(w("", 17.0), 0.0);
        // A space takes room but has no ink.
        assert!(w("a b", 17.0) > w("ab", 17.0));
        assert_eq!(ink("a b", 17.0).len(), 2);
    }

    #[test]
    fn long_titles_shrink_to_fit() {
        let title = "vae: first dense layer: input weights of units 1-64 of 512";
        let size = fitting_size("sans-serif", 22.0, title, 476.0);
        assert!(size < 22.0 && layout("sans-serif", size, title).width <= 476.0);
        assert_eq!(fitting_size("sans-serif", 22.0, "short", 476.0), 22.0);
    }

    #[test]
    fn coverage_covers_each_glyph() {
        let line = layout("sans-serif", 20.0, "Ti");
        let cov = line.coverage();
        assert!(cov.alpha.iter().all(|a| (0.0..=1.0).contains(a)));
        // Ink in the left and right halves of the buffer.
        let half = cov.width / 2;
        let in_cols = |r: std::ops::Range<usize>| {
            (0..cov.height).any(|y| r.clone().any(|x| cov.alpha[y * cov.width + x] > 0.5))
        };
        assert!(in_cols(0..half) && in_cols(half..cov.width));
    }
}
