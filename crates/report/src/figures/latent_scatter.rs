//! Figure 4, `latent_scatter.png`: the latent codes of the test set (VAE: the means), coloured by
//! digit, with a legend. Codes of more than two dimensions are shown on their first two
//! principal components, and the axes say so; `latent_tsne.png` maps them with t-SNE beside it.

use burn::prelude::*;
use burn::tensor::TensorData;
use mnist_models::Task;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::{Canvas, Png};
use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::pca::Pca;
use crate::plot::{PALETTE, format_tick, padded_range};
use crate::tensors::read_f32;

/// File name in `plots/`.
pub const FILE: &str = "latent_scatter.png";
/// Figure width (chart and legend).
pub const WIDTH: u32 = 900;
/// Figure height.
pub const HEIGHT: u32 = 800;
/// Width of the legend column at the right.
const LEGEND_WIDTH: u32 = 110;

/// Draws the figure for autoencoders with a latent of two dimensions or more.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(codes) = &ctx.codes else {
        out.skip(FILE, "the model is a classifier: it has no latent code");
        return Ok(());
    };
    if codes.dim < 2 || codes.len() < 3 {
        out.skip(
            FILE,
            format!(
                "the latent code has {} dimension(s) for {} test images: nothing to scatter",
                codes.dim,
                codes.len()
            ),
        );
        return Ok(());
    }
    let what = if ctx.task() == Task::VariationalAutoencoder {
        "latent means"
    } else {
        "latent codes"
    };
    let (points, x_label, y_label, title) = if codes.dim == 2 {
        let pts: Vec<(f64, f64)> = codes
            .values
            .chunks(2)
            .map(|c| (c[0] as f64, c[1] as f64))
            .collect();
        (
            pts,
            "z[0]".to_string(),
            "z[1]".to_string(),
            format!("{} of the test set", capitalize(what)),
        )
    } else {
        let device = &ctx.loaded.device;
        let x = Tensor::<2>::from_data(
            TensorData::new(codes.values.clone(), [codes.len(), codes.dim]),
            device,
        );
        let pca = Pca::fit(x.clone())?;
        let projected = read_f32(pca.project(x, 2), "projected codes")?;
        let pts = projected
            .chunks(2)
            .map(|c| (c[0] as f64, c[1] as f64))
            .collect();
        let axis = |j: usize| {
            format!(
                "principal component {} of the codes ({:.1}% of variance)",
                j + 1,
                100.0 * pca.explained_variance_ratio[j]
            )
        };
        (
            pts,
            axis(0),
            axis(1),
            format!(
                "{} of the test set ({}-D), first two principal components",
                capitalize(what),
                codes.dim
            ),
        )
    };
    let png = scatter_png(ctx, FILE, &title, &x_label, &y_label, &points, &codes.labels, true)?;
    out.figure(
        FILE,
        "Latent space",
        format!("{title}: {} test images, coloured by digit.", codes.len()),
        png,
    );
    Ok(())
}

/// A scatter of `points` coloured by their digit `labels`, with a legend, under `title` (the
/// run's name is put before it); `ticks` false leaves the axes unnumbered (coordinates without
/// units, as a t-SNE map's).
#[allow(clippy::too_many_arguments)]
pub(crate) fn scatter_png(ctx: &Context<'_>, file: &str, title: &str, x_label: &str, y_label: &str, points: &[(f64, f64)], labels: &[u8], ticks: bool) -> Result<Png, ReportError> {
    let (x0, x1) = padded_range(points.iter().map(|p| p.0));
    let (y0, y1) = padded_range(points.iter().map(|p| p.1));
    let tick = move |v: &f64| if ticks { format_tick(*v) } else { String::new() };
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    canvas.draw(file, |root| {
        let (chart_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(ctx.title(title), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        chart.draw_series(points.iter().zip(labels).map(|(&p, &label)| {
            Circle::new(p, 2, PALETTE[(label as usize).min(9)].mix(0.7).filled())
        }))?;
        let style = ("sans-serif", 17)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        legend_area.draw_text("digit", &style, (16, 60))?;
        for (d, color) in PALETTE.iter().enumerate() {
            let y = 95 + d as i32 * 30;
            legend_area.draw(&Circle::new((24, y), 7, color.filled()))?;
            legend_area.draw_text(&d.to_string(), &style, (42, y))?;
        }
        Ok(())
    })?;
    Ok(canvas.into_png())
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
