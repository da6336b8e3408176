//! Figure 2, `denoising.png`: for runs trained with noise, three rows of test digits: the
//! originals, the noisy inputs the model sees, and its denoised outputs.

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{TileRow, rows_figure_of};
use crate::tensors::{first_tiles, reconstruct_all, tiles_of, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "denoising.png";
/// Digits shown.
pub const COUNT: usize = 10;
/// Each image pixel becomes a `SCALE × SCALE` block.
pub const SCALE: usize = 3;

/// Draws the figure for autoencoders whose test inputs carry noise.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let shape = ctx.loaded.info.input_shape;
    let (Some(noisy), Some(noise)) = (
        ctx.data.test.noisy(),
        ctx.loaded.experiment.config().data.eval_noise(),
    ) else {
        out.skip(FILE, "the run was trained without noise");
        return Ok(());
    };
    if ctx.codes.is_none() {
        out.skip(FILE, "the model is a classifier: it denoises nothing");
        return Ok(());
    }
    let n = COUNT.min(noisy.dims()[0]);
    let inputs = noisy.clone().narrow(0, 0, n);
    let Some(denoised) = reconstruct_all(&ctx.loaded.model, &inputs)? else {
        out.skip(FILE, "the model has no decoder");
        return Ok(());
    };
    let rows = [
        TileRow::new(
            "original",
            first_tiles(&ctx.data.test.clean(), n, ctx.stats())?,
        ),
        TileRow::new("noisy input", first_tiles(&noisy, n, ctx.stats())?),
        TileRow::new("denoised", tiles_of(&to_grey(&denoised, ctx.stats()), shape.iter().product())),
    ];
    let title = ctx.title(&format!("denoising ({})", noise.describe()));
    let png = rows_figure_of(FILE, &title, &rows, crate::figures::reconstructions::scale(shape), shape)?;
    out.figure(
        FILE,
        "Denoising",
        format!(
            "Test digits (top), corrupted by {} (middle), and the model's output (bottom).",
            noise.describe()
        ),
        png,
    );
    Ok(())
}
