//! The shared tiling helper: 28×28 grey tiles laid out in rows (optionally labelled on the left)
//! under a title. Reconstructions, denoising, samples, weight mosaics and PCA components all use
//! it, so they share one layout and one size formula.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::{Canvas, Png};
use crate::error::ReportError;

/// The digit image and its size (defined in [`crate::grey`]), re-exported beside the layout.
pub use crate::grey::{GreyImage, PIXELS, SIDE};

/// Blank border around a figure, in pixels.
pub const MARGIN: u32 = 12;
/// Height of the title band.
pub const TITLE_HEIGHT: u32 = 36;
/// Width of the row-label column, when rows are labelled.
pub const LABEL_WIDTH: u32 = 180;
/// White gap between neighbouring tiles.
pub const GAP: u32 = 4;

/// Stretches `values` to [0, 1] by their own minimum and maximum (weights, principal
/// components: their sign and scale are arbitrary, their pattern is what matters). A constant
/// tile becomes mid-grey.
pub fn stretch(values: &[f32]) -> Vec<f32> {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if hi <= lo || !(hi - lo).is_finite() {
        return vec![0.5; values.len()];
    }
    values.iter().map(|&v| (v - lo) / (hi - lo)).collect()
}

/// Columns of a near-square mosaic of `n` tiles (`ceil(sqrt(n))`: 15 for 225 units).
pub fn square_columns(n: usize) -> usize {
    (1..=n.max(1)).find(|c| c * c >= n).unwrap_or(1)
}

/// Pixel size of a tile figure: `cols × rows` tiles scaled by `scale`, with a label column if
/// `labelled`.
pub fn figure_size(cols: usize, rows: usize, scale: usize, labelled: bool) -> (u32, u32) {
    let tile = (SIDE * scale) as u32;
    let span = |n: usize| n as u32 * tile + n.saturating_sub(1) as u32 * GAP;
    let label = if labelled { LABEL_WIDTH } else { 0 };
    (
        2 * MARGIN + label + span(cols),
        2 * MARGIN + TITLE_HEIGHT + span(rows),
    )
}

/// One labelled row of tiles (grey levels in [0, 1], 784 each, or of the shape given to
/// [`rows_figure_of`]).
#[derive(Debug, Clone)]
pub struct TileRow {
    /// Shown left of the row; empty for none.
    pub label: String,
    /// The tiles, left to right.
    pub tiles: Vec<Vec<f32>>,
}

impl TileRow {
    /// A row of `tiles` labelled `label`.
    pub fn new(label: impl Into<String>, tiles: Vec<Vec<f32>>) -> TileRow {
        TileRow {
            label: label.into(),
            tiles,
        }
    }
}

/// Draws labelled rows of 28×28 grey tiles under `title`; the figure is as wide as the longest
/// row.
pub fn rows_figure(
    file: &str,
    title: &str,
    rows: &[TileRow],
    scale: usize,
) -> Result<Png, ReportError> {
    rows_figure_of(file, title, rows, scale, [1, SIDE, SIDE])
}

/// [`rows_figure`] for tiles of `[channels, height, width]` (1: grey, 3: RGB stored channel
/// after channel), values in [0, 1]. The figure has the 28×28 layout's size; its tiles are
/// `height × width` pixels scaled by `scale`.
pub fn rows_figure_of(
    file: &str,
    title: &str,
    rows: &[TileRow],
    scale: usize,
    [channels, th, tw]: [usize; 3],
) -> Result<Png, ReportError> {
    let cols = rows.iter().map(|r| r.tiles.len()).max().unwrap_or(0).max(1);
    let labelled = rows.iter().any(|r| !r.label.is_empty());
    let span = |n: usize, side: usize| n as u32 * (side * scale) as u32 + n.saturating_sub(1) as u32 * GAP;
    let label_width = if labelled { LABEL_WIDTH } else { 0 };
    let (width, height) = (2 * MARGIN + label_width + span(cols, tw), 2 * MARGIN + TITLE_HEIGHT + span(rows.len().max(1), th));
    let mut canvas = Canvas::new(width, height);
    let (tile_w, tile) = ((tw * scale) as u32, (th * scale) as u32);
    let left = MARGIN + label_width;
    let top = MARGIN + TITLE_HEIGHT;
    for (r, row) in rows.iter().enumerate() {
        for (c, pixels) in row.tiles.iter().enumerate() {
            let x = left + c as u32 * (tile_w + GAP);
            let y = top + r as u32 * (tile + GAP);
            if channels == 3 {
                canvas.blit_rgb(x as i64, y as i64, pixels, [th, tw], scale);
            } else {
                canvas.blit_grey(x as i64, y as i64, &GreyImage { width: tw, height: th, pixels: pixels.clone() }, scale);
            }
        }
    }
    canvas.draw(file, |root| {
        let size = crate::text::fitting_size("sans-serif", 22.0, title, (width - 2 * MARGIN) as f64);
        let title_style = ("sans-serif", size)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(
            title,
            &title_style,
            (MARGIN as i32, (MARGIN + TITLE_HEIGHT / 2) as i32),
        )?;
        let label_style = ("sans-serif", 17)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (r, row) in rows.iter().enumerate() {
            if !row.label.is_empty() {
                let y = top + r as u32 * (tile + GAP) + tile / 2;
                root.draw_text(&row.label, &label_style, (MARGIN as i32, y as i32))?;
            }
        }
        Ok(())
    })?;
    Ok(canvas.into_png())
}

/// Draws `tiles` as a mosaic of `cols` columns, unlabelled, under `title`.
pub fn mosaic_figure(
    file: &str,
    title: &str,
    tiles: &[Vec<f32>],
    cols: usize,
    scale: usize,
) -> Result<Png, ReportError> {
    let rows: Vec<TileRow> = tiles
        .chunks(cols.max(1))
        .map(|chunk| TileRow::new("", chunk.to_vec()))
        .collect();
    rows_figure(file, title, &rows, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_columns_fit() {
        assert_eq!(square_columns(225), 15);
        assert_eq!(square_columns(512), 23);
        assert_eq!(square_columns(10), 4);
        assert_eq!(square_columns(1), 1);
    }

    #[test]
    fn stretch_maps_to_unit() {
        assert_eq!(stretch(&[-1.0, 0.0, 1.0]), vec![0.0, 0.5, 1.0]);
        assert_eq!(stretch(&[2.0, 2.0]), vec![0.5, 0.5]);
    }

    #[test]
    fn tiles_land_where_the_layout_says() {
        let white = vec![1.0; PIXELS];
        let black = vec![0.0; PIXELS];
        let png = rows_figure(
            "t.png",
            "title",
            &[
                TileRow::new("a", vec![black.clone(), white]),
                TileRow::new("b", vec![black]),
            ],
            2,
        )
        .unwrap();
        assert_eq!((png.width, png.height), figure_size(2, 2, 2, true));
        let img = image::load_from_memory(&png.bytes).unwrap().to_rgb8();
        let left = MARGIN + LABEL_WIDTH;
        let top = MARGIN + TITLE_HEIGHT;
        // Centre of the first tile is black; the gap after it is white.
        assert_eq!(img.get_pixel(left + 28, top + 28).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(left + 56 + 1, top + 28).0, [255, 255, 255]);
        // Second row, first tile: black.
        assert_eq!(img.get_pixel(left + 28, top + 56 + GAP + 28).0, [0, 0, 0]);
    }
}
