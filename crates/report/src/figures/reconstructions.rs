//! Figure 1, `reconstructions.png`: ten test digits in a row and the autoencoder's
//! reconstructions of them below.

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{TileRow, rows_figure_of};
use crate::tensors::{first_tiles, reconstruct_all, tiles_of, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "reconstructions.png";
/// Digits shown.
pub const COUNT: usize = 10;
/// Each image pixel becomes a `SCALE × SCALE` block.
pub const SCALE: usize = 3;

/// The scale of a tile: 3 for MNIST's 28×28, smaller for larger images so a tile stays about
/// 84 pixels (at least 1).
pub fn scale([_, h, w]: [usize; 3]) -> usize {
    (SCALE * 28 / h.max(w).max(1)).max(1)
}

/// Draws the figure for autoencoders.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let shape = ctx.loaded.info.input_shape;
    if ctx.codes.is_none() {
        out.skip(FILE, "the model is a classifier: it reconstructs nothing");
        return Ok(());
    }
    let clean = &ctx.data.test.clean();
    let n = COUNT.min(clean.dims()[0]);
    let originals = first_tiles(clean, n, ctx.stats())?;
    let Some(reconstructed) = reconstruct_all(&ctx.loaded.model, &clean.clone().narrow(0, 0, n))?
    else {
        out.skip(FILE, "the model has no decoder");
        return Ok(());
    };
    let rows = [
        TileRow::new("original", originals),
        TileRow::new(
            "reconstruction",
            tiles_of(&to_grey(&reconstructed, ctx.stats()), shape.iter().product()),
        ),
    ];
    let png = rows_figure_of(FILE, &ctx.title("reconstructions of the first test digits"), &rows, scale(shape), shape)?;
    out.figure(
        FILE,
        "Reconstructions",
        format!("The first {n} test digits (top) and their reconstructions (bottom)."),
        png,
    );
    Ok(())
}
