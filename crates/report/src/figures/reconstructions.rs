//! Figure 1, `reconstructions.png`: ten test digits in a row and the autoencoder's
//! reconstructions of them below.

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{TileRow, rows_figure};
use crate::tensors::{first_tiles, reconstruct_all, tiles, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "reconstructions.png";
/// Digits shown.
pub const COUNT: usize = 10;
/// Each image pixel becomes a `SCALE × SCALE` block.
pub const SCALE: usize = 3;

/// Draws the figure for autoencoders.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    if ctx.codes.is_none() {
        out.skip(FILE, "the model is a classifier: it reconstructs nothing");
        return Ok(());
    }
    let clean = &ctx.data.test.clean;
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
            tiles(&to_grey(&reconstructed, ctx.stats())),
        ),
    ];
    let png = rows_figure(
        FILE,
        &ctx.title("reconstructions of the first test digits"),
        &rows,
        SCALE,
    )?;
    out.figure(
        FILE,
        "Reconstructions",
        format!("The first {n} test digits (top) and their reconstructions (bottom)."),
        png,
    );
    Ok(())
}
