//! The SVG twin of every figure (`report --svg`): while a figure is drawn into its pixels, each
//! line, rectangle, circle, polygon and text plotters draws is also recorded as an SVG element,
//! so text stays text and lines stay sharp at any size on a slide. Pixels written directly
//! (digit tiles, the latent manifold) are raster data: they go into one PNG image laid over the
//! vector elements, exactly where they are in the PNG figure (they are drawn last there too, or
//! away from any text).

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use plotters_backend::{BackendColor, BackendCoord};

/// The vector elements of a figure, in drawing order, and its directly written pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvgLayer {
    /// SVG elements, one per drawing call.
    pub elements: Vec<String>,
}

/// `fill` or `stroke` paint of a colour, with its opacity when not opaque.
fn paint(attr: &str, c: BackendColor) -> String {
    let (r, g, b) = c.rgb;
    if c.alpha >= 1.0 {
        format!("{attr}=\"#{r:02x}{g:02x}{b:02x}\"")
    } else {
        format!("{attr}=\"#{r:02x}{g:02x}{b:02x}\" {attr}-opacity=\"{:.3}\"", c.alpha.clamp(0.0, 1.0))
    }
}

/// Text as XML character data.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl SvgLayer {
    /// A straight line.
    pub fn line(&mut self, from: BackendCoord, to: BackendCoord, color: BackendColor, width: u32) {
        if color.alpha > 0.0 {
            self.elements.push(format!(
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {} stroke-width=\"{}\"/>",
                from.0, from.1, to.0, to.1, paint("stroke", color), width.max(1)
            ));
        }
    }

    /// A rectangle, filled or outlined.
    pub fn rect(&mut self, a: BackendCoord, b: BackendCoord, color: BackendColor, width: u32, fill: bool) {
        if color.alpha <= 0.0 {
            return;
        }
        let (x, y) = (a.0.min(b.0), a.1.min(b.1));
        let (w, h) = ((a.0 - b.0).abs(), (a.1 - b.1).abs());
        let style = if fill { paint("fill", color) } else { format!("fill=\"none\" {} stroke-width=\"{}\"", paint("stroke", color), width.max(1)) };
        // A filled rectangle covers its last row and column in the bitmap too.
        let (w, h) = if fill { (w + 1, h + 1) } else { (w, h) };
        self.elements.push(format!("<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" {style}/>"));
    }

    /// An open polyline.
    pub fn path(&mut self, points: &[BackendCoord], color: BackendColor, width: u32) {
        if color.alpha > 0.0 && points.len() > 1 {
            self.elements.push(format!(
                "<polyline points=\"{}\" fill=\"none\" {} stroke-width=\"{}\" stroke-linejoin=\"round\"/>",
                coords(points),
                paint("stroke", color),
                width.max(1)
            ));
        }
    }

    /// A filled polygon.
    pub fn polygon(&mut self, points: &[BackendCoord], color: BackendColor) {
        if color.alpha > 0.0 && points.len() > 2 {
            self.elements.push(format!("<polygon points=\"{}\" {}/>", coords(points), paint("fill", color)));
        }
    }

    /// A circle, filled or outlined.
    pub fn circle(&mut self, centre: BackendCoord, radius: u32, color: BackendColor, width: u32, fill: bool) {
        if color.alpha <= 0.0 {
            return;
        }
        let style = if fill { paint("fill", color) } else { format!("fill=\"none\" {} stroke-width=\"{}\"", paint("stroke", color), width.max(1)) };
        self.elements.push(format!("<circle cx=\"{}\" cy=\"{}\" r=\"{radius}\" {style}/>", centre.0, centre.1));
    }

    /// One pixel.
    pub fn pixel(&mut self, at: BackendCoord, color: BackendColor) {
        if color.alpha > 0.0 {
            self.elements.push(format!("<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\" {}/>", at.0, at.1, paint("fill", color)));
        }
    }

    /// A line of text: `anchor` is `start`, `middle` or `end` at `(x, baseline)` of the unrotated
    /// line, which is then turned by `degrees` (clockwise) about `pivot`.
    #[allow(clippy::too_many_arguments)]
    pub fn text(&mut self, text: &str, pivot: BackendCoord, x: i32, baseline: f32, anchor: &str, font_size: f32, family: &str, color: BackendColor, degrees: i32) {
        if color.alpha <= 0.0 || text.is_empty() {
            return;
        }
        let family = if family == "monospace" { "'Hack', 'DejaVu Sans Mono', monospace" } else { "'Ubuntu', 'Ubuntu Light', 'DejaVu Sans', sans-serif" };
        let weight = if family.contains("Ubuntu") { " font-weight=\"300\"" } else { "" };
        let mut element = format!("<text transform=\"translate({} {})", pivot.0, pivot.1);
        if degrees != 0 {
            let _ = write!(element, " rotate({degrees})");
        }
        let _ = write!(
            element,
            "\" x=\"{x}\" y=\"{baseline:.2}\" text-anchor=\"{anchor}\" font-family=\"{family}\"{weight} font-size=\"{font_size:.2}\" {}>{}</text>",
            paint("fill", color),
            escape(text)
        );
        self.elements.push(element);
    }

    /// The whole SVG document of a `width × height` figure: a white page, the vector elements,
    /// and over them the directly written pixels (`rgb` where `mask` is set) as one PNG.
    pub fn document(&self, width: u32, height: u32, rgb: &[u8], mask: &[bool]) -> String {
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
        );
        for e in &self.elements {
            out.push_str(e);
            out.push('\n');
        }
        if mask.iter().any(|m| *m) {
            let rgba: Vec<u8> = rgb.chunks(3).zip(mask).flat_map(|(p, &m)| [p[0], p[1], p[2], if m { 255 } else { 0 }]).collect();
            let mut png = Vec::new();
            PngEncoder::new(&mut png)
                .write_image(&rgba, width, height, image::ExtendedColorType::Rgba8)
                .expect("encoding an RGBA buffer of the right size into memory cannot fail");
            let _ = writeln!(
                out,
                "<image x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>",
                STANDARD.encode(&png)
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

fn coords(points: &[BackendCoord]) -> String {
    points.iter().map(|(x, y)| format!("{x},{y}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_carry_their_colour_and_text_is_escaped() {
        let mut s = SvgLayer::default();
        let red = BackendColor { alpha: 1.0, rgb: (255, 0, 0) };
        s.line((0, 0), (10, 5), red, 2);
        s.rect((5, 5), (1, 1), BackendColor { alpha: 0.5, rgb: (0, 0, 255) }, 1, true);
        s.text("a < b & c", (10, 20), 0, 12.0, "middle", 15.0, "sans-serif", red, -90);
        s.line((0, 0), (1, 1), BackendColor { alpha: 0.0, rgb: (0, 0, 0) }, 1);
        assert_eq!(s.elements.len(), 3);
        assert_eq!(s.elements[0], "<line x1=\"0\" y1=\"0\" x2=\"10\" y2=\"5\" stroke=\"#ff0000\" stroke-width=\"2\"/>");
        assert!(s.elements[1].starts_with("<rect x=\"1\" y=\"1\" width=\"5\" height=\"5\" fill=\"#0000ff\" fill-opacity=\"0.500\""));
        assert!(s.elements[2].contains("rotate(-90)") && s.elements[2].contains(">a &lt; b &amp; c</text>"), "{}", s.elements[2]);
        let doc = s.document(4, 2, &[0; 24], &[false; 8]);
        assert!(doc.starts_with("<svg ") && doc.ends_with("</svg>\n") && !doc.contains("<image"));
        let doc = s.document(4, 2, &[0; 24], &[true; 8]);
        assert!(doc.contains("<image") && doc.contains("data:image/png;base64,"));
    }
}
