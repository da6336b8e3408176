//! An RGB pixel buffer that figures are drawn into (plotters for text and charts, direct pixel
//! copies for digit tiles) and its PNG encoding, with the embedded font registered once.

use std::path::Path;
use std::sync::Once;

use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::ReportError;
use crate::grey::GreyImage;

use crate::svg::SvgLayer;
use crate::text::Shaped;

/// The fonts of every figure (see [`crate::text`]); also registered with plotters, whose own
/// text path still measures multi-line elements.
const SANS: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;
const MONO: &[u8] = epaint_default_fonts::HACK_REGULAR;

/// Registers the embedded fonts under every family name plotters asks for.
pub fn ensure_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for (family, font) in [("sans-serif", SANS), ("serif", SANS), ("monospace", MONO)] {
            for style in [
                FontStyle::Normal,
                FontStyle::Bold,
                FontStyle::Italic,
                FontStyle::Oblique,
            ] {
                // The fonts are valid TrueType files compiled into the binary; failure is a bug.
                if plotters::style::register_font(family, style, font).is_err() {
                    panic!("the embedded font does not parse");
                }
            }
        }
    });
}

/// An encoded PNG and its size, with what its SVG twin needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The PNG file's bytes.
    pub bytes: Vec<u8>,
    /// The vector elements drawn, the final pixels and which of them were written directly.
    vector: Option<Box<(SvgLayer, Vec<u8>, Vec<bool>)>>,
}

impl Png {
    /// Writes the PNG to `path`.
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        std::fs::write(path, &self.bytes).map_err(ReportError::io("write", path))
    }

    /// The figure as an SVG document: vector lines and text, its digit pixels as an image.
    pub fn svg(&self) -> Option<String> {
        self.vector.as_ref().map(|v| v.0.document(self.width, self.height, &v.1, &v.2))
    }
}

/// A white RGB image to draw on.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    /// The drawing calls, as SVG elements.
    svg: SvgLayer,
    /// Pixels written directly (not by a drawing call): raster data in the SVG twin.
    raster: Vec<bool>,
}

/// What a drawing closure returns: plotters' errors, boxed.
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

impl Canvas {
    /// A white canvas of `width × height` pixels.
    pub fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width,
            height,
            rgb: vec![255; width as usize * height as usize * 3],
            svg: SvgLayer::default(),
            raster: vec![false; width as usize * height as usize],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Sets one pixel; outside the canvas it is ignored.
    pub fn put(&mut self, x: i64, y: i64, rgb: [u8; 3]) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let at = y as usize * self.width as usize + x as usize;
        self.rgb[at * 3..at * 3 + 3].copy_from_slice(&rgb);
        self.raster[at] = true;
    }

    /// Copies a grey image (values in [0, 1], 0 = black) with its top-left corner at `(x, y)`,
    /// each source pixel becoming a `scale × scale` block.
    pub fn blit_grey(&mut self, x: i64, y: i64, image: &GreyImage, scale: usize) {
        for (row, line) in image.pixels.chunks(image.width).enumerate() {
            for (col, &v) in line.iter().enumerate() {
                let g = grey_byte(v);
                for dy in 0..scale {
                    for dx in 0..scale {
                        self.put(
                            x + (col * scale + dx) as i64,
                            y + (row * scale + dy) as i64,
                            [g, g, g],
                        );
                    }
                }
            }
        }
    }

    /// Copies an RGB image (`[3, h, w]` values in [0, 1], channel after channel) at `(x, y)`,
    /// each pixel as a `scale × scale` block.
    pub fn blit_rgb(&mut self, x: i64, y: i64, chw: &[f32], [h, w]: [usize; 2], scale: usize) {
        let plane = h * w;
        for row in 0..h {
            for col in 0..w {
                let i = row * w + col;
                let rgb = [grey_byte(chw[i]), grey_byte(chw[plane + i]), grey_byte(chw[2 * plane + i])];
                for dy in 0..scale {
                    for dx in 0..scale {
                        self.put(x + (col * scale + dx) as i64, y + (row * scale + dy) as i64, rgb);
                    }
                }
            }
        }
    }

    /// Draws with plotters on the whole canvas, text through [`crate::text`]; `figure` names
    /// the figure in errors.
    pub fn draw(
        &mut self,
        figure: &str,
        f: impl FnOnce(&DrawingArea<Shaped<'_, BitMapBackend<'_>>, Shift>) -> DrawResult,
    ) -> Result<(), ReportError> {
        ensure_fonts();
        let fail = |reason: String| ReportError::Draw {
            figure: figure.to_string(),
            reason,
        };
        let root = Shaped::new(BitMapBackend::with_buffer(&mut self.rgb, (self.width, self.height)), Some(&mut self.svg))
            .into_drawing_area();
        f(&root).map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// Encodes the canvas as a PNG.
    pub fn into_png(self) -> Png {
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(
                &self.rgb,
                self.width,
                self.height,
                image::ExtendedColorType::Rgb8,
            )
            .expect("encoding an RGB buffer of the right size into memory cannot fail");
        Png {
            width: self.width,
            height: self.height,
            bytes,
            vector: Some(Box::new((self.svg, self.rgb, self.raster))),
        }
    }
}

/// A grey level in [0, 1] as a byte (values outside are clipped, NaN is black).
pub fn grey_byte(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}
