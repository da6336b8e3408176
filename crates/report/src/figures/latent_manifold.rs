//! Figure 5, `latent_manifold.png`: for 2-D latents, a 30×30 grid of digits decoded from a
//! regular grid of latent points (±4 for the VAE by default, the codes' range for plain
//! autoencoders), with the latent coordinates on the axes.

use mnist_models::Task;
use plotters::prelude::*;

use crate::canvas::{Canvas, grey_byte};
use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{PIXELS, SIDE};
use crate::plot::format_tick;
use crate::tensors::{decode_all, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "latent_manifold.png";
/// Digits per side of the grid.
pub const STEPS: usize = 30;
/// Trial figure width; the final size makes the plotting area exactly 840×840.
const WIDTH: u32 = 960;
/// Trial figure height.
const HEIGHT: u32 = 980;

/// A plotting area in pixels: `((left, right), (top, bottom))`, right and bottom exclusive.
type PixelArea = ((i32, i32), (i32, i32));

/// `n` evenly spaced values from `lo` to `hi` inclusive.
pub fn linspace(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    if n < 2 {
        return vec![(lo + hi) / 2.0; n];
    }
    (0..n)
        .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
        .collect()
}

/// Draws the figure for autoencoders with a 2-D latent.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(codes) = &ctx.codes else {
        out.skip(FILE, "the model is a classifier: it has no latent space");
        return Ok(());
    };
    if codes.dim != 2 {
        out.skip(
            FILE,
            format!(
                "only drawn for 2-D latents; this one has {} dimensions",
                codes.dim
            ),
        );
        return Ok(());
    }
    let vae = ctx.task() == Task::VariationalAutoencoder;
    let ranges = if vae {
        let r = ctx.manifold_range.abs();
        vec![(-r, r), (-r, r)]
    } else {
        codes.ranges()
    };
    let xs = linspace(ranges[0].0, ranges[0].1, STEPS);
    let ys = linspace(ranges[1].0, ranges[1].1, STEPS);
    // Row 0 of the picture is the top, so it takes the largest z[1].
    let mut latents = Vec::with_capacity(STEPS * STEPS * 2);
    for row in 0..STEPS {
        for &x in &xs {
            latents.extend([x, ys[STEPS - 1 - row]]);
        }
    }
    let Some(decoded) = decode_all(&ctx.loaded.model, &latents, 2, &ctx.loaded.device)? else {
        out.skip(FILE, "the model has no decoder");
        return Ok(());
    };
    let grey = to_grey(&decoded, ctx.stats());
    let side = STEPS * SIDE;
    // Grid cells are centred on their latent point, so the axes extend half a step beyond.
    let half = |lo: f32, hi: f32| ((hi - lo) / (STEPS - 1) as f32 / 2.0) as f64;
    let (hx, hy) = (
        half(ranges[0].0, ranges[0].1),
        half(ranges[1].0, ranges[1].1),
    );
    let x_range = (ranges[0].0 as f64 - hx)..(ranges[0].1 as f64 + hx);
    let y_range = (ranges[1].0 as f64 - hy)..(ranges[1].1 as f64 + hy);
    let title = ctx.title(&if vae {
        format!(
            "decoded latent grid, z in [-{0}, {0}]²",
            format_tick(ctx.manifold_range.abs() as f64)
        )
    } else {
        "decoded latent grid over the range of the test codes".to_string()
    });
    // Draw the axes once at a trial size, then at the size whose plotting area holds the
    // 840×840 digits exactly (plotters sizes its label areas from the fonts).
    let draw_axes = |width: u32, height: u32| -> Result<(Canvas, PixelArea), ReportError> {
        let mut canvas = Canvas::new(width, height);
        let mut plot_px = ((0, 0), (0, 0));
        canvas.draw(FILE, |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(&title, ("sans-serif", 20))
                .margin(15)
                .x_label_area_size(55)
                .y_label_area_size(70)
                .build_cartesian_2d(x_range.clone(), y_range.clone())?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("z[0]")
                .y_desc("z[1]")
                .x_labels(9)
                .y_labels(9)
                .x_label_formatter(&|v| format_tick(*v))
                .y_label_formatter(&|v| format_tick(*v))
                .axis_desc_style(("sans-serif", 16))
                .label_style(("sans-serif", 13))
                .draw()?;
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            plot_px = ((xr.start, xr.end), (yr.start, yr.end));
            Ok(())
        })?;
        Ok((canvas, plot_px))
    };
    let (_, ((x0, x1), (y0, y1))) = draw_axes(WIDTH, HEIGHT)?;
    let fit =
        |size: u32, span: i32| (size as i64 + side as i64 - span as i64).max(side as i64) as u32;
    let (mut canvas, plot_px) = draw_axes(fit(WIDTH, x1 - x0), fit(HEIGHT, y1 - y0))?;
    // The digits fill the plotting area exactly (nearest-neighbour if it is not 840 pixels).
    let ((x0, x1), (y0, y1)) = plot_px;
    let (w, h) = ((x1 - x0).max(1) as usize, (y1 - y0).max(1) as usize);
    for py in 0..h {
        let sy = py * side / h;
        for px in 0..w {
            let sx = px * side / w;
            let (cell, inner) = (
                (sy / SIDE) * STEPS + sx / SIDE,
                (sy % SIDE) * SIDE + sx % SIDE,
            );
            let g = grey_byte(grey[cell * PIXELS + inner]);
            canvas.put(
                (x0 as usize + px) as i64,
                (y0 as usize + py) as i64,
                [g, g, g],
            );
        }
    }
    let source = if vae {
        format!(
            "a regular grid over [-{0}, {0}]² (--manifold-range)",
            ctx.manifold_range.abs()
        )
    } else {
        "a regular grid over the range of the test set's codes".to_string()
    };
    out.figure(
        FILE,
        "Latent manifold",
        format!("{STEPS}×{STEPS} digits decoded from {source}."),
        canvas.into_png(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_includes_both_ends() {
        assert_eq!(linspace(-4.0, 4.0, 3), vec![-4.0, 0.0, 4.0]);
        assert_eq!(linspace(0.0, 1.0, 30).len(), 30);
    }
}
