//! Figure 6, `samples.png`: 10×10 digits decoded from random latent points: drawn from
//! N(0, I) for a VAE (its prior), uniformly from each dimension's range of the test codes for a
//! plain autoencoder, so the two kinds can be compared side by side.

use mnist_data::derive_seed;
use mnist_models::Task;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::mosaic_figure;
use crate::tensors::{decode_all, tiles, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "samples.png";
/// Digits per side.
pub const SIDE_COUNT: usize = 10;
/// Each image pixel becomes a `SCALE × SCALE` block.
pub const SCALE: usize = 2;

/// Draws the figure for autoencoders.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(codes) = &ctx.codes else {
        out.skip(FILE, "the model is a classifier: it cannot generate digits");
        return Ok(());
    };
    let n = SIDE_COUNT * SIDE_COUNT;
    let mut rng = StdRng::seed_from_u64(derive_seed(ctx.seed(), "report-samples", 0));
    let vae = ctx.task() == Task::VariationalAutoencoder;
    let latents: Vec<f32> = if vae {
        (0..n * codes.dim)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect()
    } else {
        let ranges = codes.ranges();
        (0..n)
            .flat_map(|_| {
                ranges
                    .iter()
                    .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f32>())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let Some(decoded) = decode_all(&ctx.loaded.model, &latents, codes.dim, &ctx.loaded.device)?
    else {
        out.skip(FILE, "the model has no decoder");
        return Ok(());
    };
    let (title, source) = if vae {
        (
            "samples decoded from z ~ N(0, I)",
            "drawn from the prior N(0, I)",
        )
    } else {
        (
            "samples decoded from z ~ U(range of the test codes)",
            "drawn uniformly within each dimension's range of the test set's codes",
        )
    };
    let png = mosaic_figure(
        FILE,
        &ctx.title(title),
        &tiles(&to_grey(&decoded, ctx.stats())),
        SIDE_COUNT,
        SCALE,
    )?;
    out.figure(
        FILE,
        "Samples",
        format!(
            "{n} digits decoded from {}-D latent points {source}.",
            codes.dim
        ),
        png,
    );
    Ok(())
}
