//! Figure 7, `weights_first_layer.png` and `weights_last_layer.png`: each unit of the first dense
//! layer shown as the 28×28 image of its 784 input weights (a 15×15 mosaic for 225 units), and
//! the same for the transposed weights of a last dense layer that paints the 784 pixels. Wide
//! layers show their first units only (`report --max-tiles`, 64 by default), so tiles stay
//! large enough to read on a slide.

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{PIXELS, mosaic_figure, square_columns, stretch};
use crate::tensors::read_f32;

/// File name of the first layer's mosaic.
pub const FIRST_FILE: &str = "weights_first_layer.png";
/// File name of the last layer's mosaic.
pub const LAST_FILE: &str = "weights_last_layer.png";

/// Columns and scale of a mosaic of `units` tiles: one row up to 16, else near-square; tiles
/// are drawn at twice their size while a row holds at most 16 of them.
pub fn layout(units: usize) -> (usize, usize) {
    let cols = if units <= 16 {
        units.max(1)
    } else {
        square_columns(units)
    };
    (cols, if cols <= 16 { 2 } else { 1 })
}

/// The heading of a mosaic of the first `shown` of `units` tiles.
pub fn mosaic_title(layer: &str, what: &str, units: usize, shown: usize) -> String {
    if shown < units {
        format!("{layer}: {what} of units 1-{shown} of {units}")
    } else {
        format!("{layer}: {what} of its {units} units")
    }
}

/// One 784-value tile per unit, each stretched to its own range: weight (pixel `p`, unit `u`)
/// sits at `u * unit_stride + p * pixel_stride` in the flat buffer.
fn unit_tiles(
    values: &[f32],
    units: usize,
    unit_stride: usize,
    pixel_stride: usize,
) -> Vec<Vec<f32>> {
    (0..units)
        .map(|u| {
            stretch(
                &(0..PIXELS)
                    .map(|p| values[u * unit_stride + p * pixel_stride])
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// Draws the mosaics of the models that have such dense layers.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let model = &ctx.loaded.model;
    match model.first_dense_weights() {
        Some(w) if w.dims()[0] == PIXELS => {
            let units = w.dims()[1];
            let shown = units.min(ctx.max_tiles.max(1));
            let values = read_f32(w, "first-layer weights")?; // [784, units], row-major
            let (cols, scale) = layout(shown);
            let title = ctx.title(&mosaic_title("first dense layer", "input weights", units, shown));
            let png = mosaic_figure(
                FIRST_FILE,
                &title,
                &unit_tiles(&values, shown, 1, units),
                cols,
                scale,
            )?;
            out.figure(
                FIRST_FILE,
                "First-layer weights",
                format!("Each tile is one of the {units} units of the first dense layer{}: its 784 input weights as a 28×28 image, stretched from its lowest (black) to its highest (white) weight.", shown_note(units, shown)),
                png,
            );
        }
        _ => out.skip(
            FIRST_FILE,
            "the model does not start with a dense layer on the 784 pixels",
        ),
    }
    match model.last_dense_weights() {
        Some(w) if w.dims()[1] == PIXELS => {
            let units = w.dims()[0];
            let shown = units.min(ctx.max_tiles.max(1));
            let values = read_f32(w, "last-layer weights")?; // [units, 784], row-major
            let (cols, scale) = layout(shown);
            let title = ctx.title(&mosaic_title("last dense layer", "output weights", units, shown));
            let png = mosaic_figure(
                LAST_FILE,
                &title,
                &unit_tiles(&values, shown, PIXELS, 1),
                cols,
                scale,
            )?;
            out.figure(
                LAST_FILE,
                "Last-layer weights",
                format!("Each tile is the image one of the {units} inputs of the last dense layer paints{}: its 784 output weights (the transposed kernel) as a 28×28 image.", shown_note(units, shown)),
                png,
            );
        }
        _ => out.skip(
            LAST_FILE,
            "the model does not end with a dense layer to the 784 pixels",
        ),
    }
    Ok(())
}

/// `" (the first N shown)"` when the mosaic is capped.
fn shown_note(units: usize, shown: usize) -> String {
    if shown < units { format!(" (the first {shown} shown; `report --max-tiles` shows more)") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert_eq!(layout(225), (15, 2));
        assert_eq!(layout(10), (10, 2));
        assert_eq!(layout(512), (23, 1));
        assert_eq!(layout(64), (8, 2));
    }

    #[test]
    fn capped_mosaics_say_so() {
        assert_eq!(mosaic_title("first dense layer", "input weights", 512, 64), "first dense layer: input weights of units 1-64 of 512");
        assert_eq!(mosaic_title("first dense layer", "input weights", 32, 32), "first dense layer: input weights of its 32 units");
    }

    #[test]
    fn tiles_read_columns_or_rows() {
        // Two units: unit 0 has weight p, unit 1 weight -p, stored [784, 2].
        let values: Vec<f32> = (0..PIXELS).flat_map(|p| [p as f32, -(p as f32)]).collect();
        let t = unit_tiles(&values, 2, 1, 2);
        assert_eq!(t[0][0], 0.0);
        assert_eq!(t[0][PIXELS - 1], 1.0);
        assert_eq!(t[1][0], 1.0);
    }
}
