//! Line charts shared by the loss curves, the per-step curves, the PCA variance and the noise
//! sweep: panels side by side, each with axes, labels and a legend, drawn by plotters.

use plotters::prelude::*;

use crate::canvas::{Canvas, DrawResult, Png};
use crate::error::ReportError;

/// Ten distinct colours (matplotlib's `tab10`), one per digit.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One curve of a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// `(x, y)` points; non-finite ones are left out.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: RGBColor,
    /// Drawn thin and pale (raw per-step values under their moving average).
    pub faint: bool,
    /// A spread (a standard deviation) per point, parallel to `points`: empty for none.
    pub spread: Vec<f64>,
    /// Draw the spread as a shaded band around the curve instead of error bars.
    pub band: bool,
    /// Not drawn: its points only widen the axes (room for a legend, see [`legend_room`]).
    pub anchor: bool,
}

impl Series {
    /// A normal-weight curve.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Series {
        Series {
            label: label.into(),
            points,
            color,
            faint: false,
            spread: Vec::new(),
            band: false,
            anchor: false,
        }
    }

    /// An invisible point that only widens the axes' ranges to take in `(x, y)`.
    pub fn anchor(x: f64, y: f64) -> Series {
        Series { anchor: true, ..Series::new("", vec![(x, y)], PALETTE[0]) }
    }

    /// The same curve with an error bar of ± `spread[i]` at point `i` (mean ± std).
    pub fn with_error_bars(mut self, spread: Vec<f64>) -> Series {
        self.spread = spread;
        self.band = false;
        self
    }

    /// The same curve inside a shaded band of ± `spread[i]` (mean ± std over epochs).
    pub fn with_band(mut self, spread: Vec<f64>) -> Series {
        self.spread = spread;
        self.band = true;
        self
    }

    /// The same curve drawn thin and pale.
    pub fn faint(mut self) -> Series {
        self.faint = true;
        self
    }

    /// `(x, y, spread)` of the finite points; a missing or non-finite spread is 0.
    fn finite_points(&self) -> Vec<(f64, f64, f64)> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| x.is_finite() && y.is_finite())
            .map(|(i, &(x, y))| {
                let e = self.spread.get(i).copied().filter(|e| e.is_finite());
                (x, y, e.unwrap_or(0.0).abs())
            })
            .collect()
    }
}

/// One chart: title, axis descriptions and its curves.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// Whether x values are whole numbers (epochs): ticks then show no decimals.
    pub integer_x: bool,
    /// How x values are laid out (linear, logarithmic, or named categories).
    pub x_axis: XAxis,
    /// The curves.
    pub series: Vec<Series>,
    /// Where the legend goes (pick the corner the curves leave empty).
    pub legend: Corner,
}

/// The scale of a panel's x axis.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum XAxis {
    /// x as given.
    #[default]
    Linear,
    /// Positive x values placed by their logarithm, ticks at whole decades: for values that span
    /// orders of magnitude (learning rates, penalties), which a linear axis crowds into one corner.
    Log10,
    /// x values are the indices 0, 1, ... of these names (values that are not numbers).
    Categories(Vec<String>),
}

/// A corner of a chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Corner {
    /// Top right (curves that fall).
    #[default]
    UpperRight,
    /// Bottom right (curves that rise).
    LowerRight,
    /// Bottom left.
    LowerLeft,
    /// Top left.
    UpperLeft,
}

/// The corner whose box (half the width, 45% of the height: a legend of a few entries) the
/// curves cross least, for figures whose curves can go anywhere (sweeps). Each curve is sampled
/// along its segments, so a line through a corner counts, not only its points; `log_x` places x
/// as a [`XAxis::Log10`] panel does.
pub fn emptiest_corner(curves: &[Vec<(f64, f64)>], log_x: bool) -> Corner {
    corner_for(curves, log_x, 0.45).0
}

/// Where a legend of `entries` lines goes: a corner the curves leave empty, or, when every corner
/// is crossed (many curves), the upper right with the y axis raised to the returned value so that
/// the legend sits above the curves (add a [`Series::anchor`] there).
pub fn legend_room(curves: &[Vec<(f64, f64)>], log_x: bool, entries: usize) -> (Corner, Option<f64>) {
    // A legend line is about 19 pixels of a plot about 330 pixels high.
    let share = ((entries as f64 * 19.0 + 14.0) / 330.0).min(0.6);
    match corner_for(curves, log_x, share) {
        (corner, 0) => (corner, None),
        _ => {
            let (lo, hi) = padded_range(curves.iter().flatten().map(|p| p.1));
            (Corner::UpperRight, Some(lo + (hi - lo) / (1.0 - share - 0.03)))
        }
    }
}

/// The least crossed corner for a legend box `height` (a share of the y range) high, and how many
/// curve samples cross it.
fn corner_for(curves: &[Vec<(f64, f64)>], log_x: bool, height: f64) -> (Corner, usize) {
    let tx = |x: f64| if log_x { x.log10() } else { x };
    let pts: Vec<Vec<(f64, f64)>> = curves
        .iter()
        .map(|c| c.iter().map(|&(x, y)| (tx(x), y)).filter(|(x, y)| x.is_finite() && y.is_finite()).collect())
        .collect();
    let (x0, x1) = padded_range(pts.iter().flatten().map(|p| p.0));
    let (y0, y1) = padded_range(pts.iter().flatten().map(|p| p.1));
    let mut samples = Vec::new();
    for c in &pts {
        samples.extend(c.iter().copied());
        for w in c.windows(2) {
            samples.extend((1..10).map(|i| {
                let t = i as f64 / 10.0;
                (w[0].0 + t * (w[1].0 - w[0].0), w[0].1 + t * (w[1].1 - w[0].1))
            }));
        }
    }
    // Half the width: a legend of labels such as `learning_rate=0.001` spans 40-50% of a panel.
    let (wx, wy) = (0.5 * (x1 - x0), height * (y1 - y0));
    let count = |right: bool, top: bool| {
        samples
            .iter()
            .filter(|&&(x, y)| (if right { x >= x1 - wx } else { x <= x0 + wx }) && (if top { y >= y1 - wy } else { y <= y0 + wy }))
            .count()
    };
    let corners = [(Corner::UpperRight, true, true), (Corner::LowerRight, true, false), (Corner::UpperLeft, false, true), (Corner::LowerLeft, false, false)];
    corners.iter().map(|&(c, right, top)| (c, count(right, top))).min_by_key(|c| c.1).unwrap_or((Corner::UpperRight, 0))
}

/// Width of one panel.
pub const PANEL_WIDTH: u32 = 600;
/// Height of a row of panels.
pub const PANEL_HEIGHT: u32 = 420;

/// Height of the heading band of [`titled_panels_figure`].
pub const HEADING_HEIGHT: u32 = 40;

/// Draws `panels` side by side, each `PANEL_WIDTH × PANEL_HEIGHT`.
pub fn panels_figure(file: &str, panels: &[Panel]) -> Result<Png, ReportError> {
    draw_panels(file, None, panels)
}

/// Draws `panels` side by side under a heading band `HEADING_HEIGHT` high (the run's name and
/// what the figure shows).
pub fn titled_panels_figure(file: &str, heading: &str, panels: &[Panel]) -> Result<Png, ReportError> {
    draw_panels(file, Some(heading), panels)
}

fn draw_panels(file: &str, heading: Option<&str>, panels: &[Panel]) -> Result<Png, ReportError> {
    let band = if heading.is_some() { HEADING_HEIGHT } else { 0 };
    let mut canvas = Canvas::new(PANEL_WIDTH * panels.len().max(1) as u32, PANEL_HEIGHT + band);
    canvas.draw(file, |root| {
        let root = match heading {
            Some(text) => {
                let style = ("sans-serif", 22).into_font().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ));
                root.draw_text(text, &style, (12, (band / 2 + 4) as i32))?;
                root.split_vertically(band).1
            }
            None => root.clone(),
        };
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(area, panel)?;
        }
        Ok(())
    })?;
    Ok(canvas.into_png())
}

/// The range covering `values`, padded by 5% (a single value gets ±0.5 or ±5%).
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (lo.abs() * 0.05).max(0.5)
    };
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let log_x = panel.x_axis == XAxis::Log10;
    // On a log axis the chart's coordinate is log10(x); non-positive x cannot be placed.
    let points: Vec<Vec<(f64, f64, f64)>> = panel
        .series
        .iter()
        .map(|s| {
            let pts = s.finite_points().into_iter();
            pts.map(|(x, y, e)| (if log_x { x.log10() } else { x }, y, e))
                .filter(|p| p.0.is_finite())
                .collect()
        })
        .collect();
    let (x0, x1) = if let XAxis::Categories(names) = &panel.x_axis {
        (-0.5, names.len().max(1) as f64 - 0.5)
    } else if panel.integer_x {
        let (lo, hi) = padded_range(points.iter().flatten().map(|p| p.0));
        (lo.min(hi - 1.0), hi)
    } else {
        padded_range(points.iter().flatten().map(|p| p.0))
    };
    let (y0, y1) = padded_range(
        points
            .iter()
            .flatten()
            .flat_map(|p| [p.1 - p.2, p.1 + p.2]),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let integer_x = panel.integer_x;
    let x_axis = panel.x_axis.clone();
    let whole = |v: f64| (v - v.round()).abs() < 1e-6;
    let x_format = move |v: &f64| {
        if let XAxis::Categories(names) = &x_axis {
            let i = v.round();
            match names.get(i as usize) {
                Some(name) if whole(*v) && i >= 0.0 => name.clone(),
                _ => String::new(),
            }
        } else if x_axis == XAxis::Log10 {
            if whole(*v) { decade(v.round() as i32) } else { String::new() }
        } else if !integer_x {
            format_tick(*v)
        } else if (v - v.round()).abs() < 1e-6 {
            format!("{}", v.round() as i64)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&|v| format_tick(*v))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    // Bands first, translucent, so every curve and marker stays visible on top of them.
    for (series, pts) in panel.series.iter().zip(&points) {
        if series.anchor {
            continue;
        }
        if series.band && pts.iter().any(|p| p.2 > 0.0) {
            let mut outline: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1 + p.2)).collect();
            outline.extend(pts.iter().rev().map(|p| (p.0, p.1 - p.2)));
            chart.draw_series(std::iter::once(Polygon::new(outline, series.color.mix(0.18).filled())))?;
        }
    }
    // Error bars of several curves at the same x would hide each other: each curve's bars are
    // moved sideways by a few pixels (0.8% of the axis), centred on the true x.
    let with_bars: Vec<bool> = panel.series.iter().zip(&points).map(|(s, p)| !s.band && p.iter().any(|p| p.2 > 0.0)).collect();
    let n_bars = with_bars.iter().filter(|b| **b).count();
    let mut bar_index = 0;
    let mut labelled = false;
    for ((series, pts), has_bars) in panel.series.iter().zip(points).zip(with_bars) {
        let dodge = (bar_index as f64 - (n_bars as f64 - 1.0) / 2.0) * 0.008 * (x1 - x0);
        bar_index += usize::from(has_bars);
        if series.anchor {
            continue;
        }
        let errors: Vec<(f64, f64, f64)> = pts.iter().filter(|p| has_bars && p.2 > 0.0).map(|p| (p.0 + dodge, p.1, p.2)).collect();
        let pts: Vec<(f64, f64)> = pts.into_iter().map(|(x, y, _)| (x, y)).collect();
        // Pale, but opaque: thousands of overlapping raw points must not add up to full colour
        // and hide the curve drawn over them.
        let (color, width) = if series.faint {
            (pale(series.color).mix(1.0), 1)
        } else {
            (series.color.mix(1.0), 2)
        };
        let style = ShapeStyle {
            color,
            filled: false,
            stroke_width: width,
        };
        let few = pts.len() <= 60;
        let drawn = chart.draw_series(LineSeries::new(pts.clone(), style))?;
        if !series.label.is_empty() {
            labelled = true;
            drawn
                .label(series.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
        }
        // Markers make a handful of epochs readable as points, not just a polyline.
        if few && !series.faint {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        let bar_style = ShapeStyle { color, filled: false, stroke_width: 1 };
        // Error bars: a vertical line from mean - std to mean + std with 10-pixel caps (plotters'
        // own ErrorBar sits behind a feature this workspace does not enable).
        chart.draw_series(errors.iter().map(|&(x, y, e)| PathElement::new(vec![(x, y - e), (x, y + e)], bar_style)))?;
        for end in [-1.0, 1.0] {
            chart.draw_series(errors.iter().map(|&(x, y, e)| EmptyElement::at((x, y + end * e)) + PathElement::new(vec![(-5, 0), (5, 0)], bar_style)))?;
        }
    }
    if labelled {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 14))
            .position(match panel.legend {
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            })
            .draw()?;
    }
    Ok(())
}

/// `color` blended two-thirds of the way to white.
fn pale(color: RGBColor) -> RGBColor {
    let blend = |c: u8| c + ((255 - c) as f32 * 0.65) as u8;
    RGBColor(blend(color.0), blend(color.1), blend(color.2))
}

/// The tick label of the power of ten `10^k`: `0.01`, `1`, `1000` near 1, `1e-6` further out.
fn decade(k: i32) -> String {
    if (-3..=4).contains(&k) { format_tick(10f64.powi(k)) } else { format!("1e{k}") }
}

/// Whether values are best drawn on a log axis: all positive and spanning at least two decades
/// (largest / smallest ≥ 100), as a logspace grid or 1e-6..1e-3 does.
pub fn spans_decades(values: &[f64]) -> bool {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    !finite.is_empty() && lo > 0.0 && hi / lo >= 100.0
}

/// A tick label: up to 4 significant decimals, without trailing zeros.
pub fn format_tick(v: f64) -> String {
    // Rounding leaves ticks such as -1.7e-18 where 0 is meant.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let magnitude = v.abs();
    let s = if !(1e-3..1e5).contains(&magnitude) {
        format!("{v:.2e}")
    } else {
        let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.decimals$}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The trailing moving average of `values` over `window` points (shorter at the start).
pub fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0;
    for i in 0..values.len() {
        sum += values[i];
        if i >= window {
            sum -= values[i - window];
        }
        out.push(sum / (i + 1).min(window) as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_is_trailing() {
        assert_eq!(
            moving_average(&[1.0, 3.0, 5.0, 7.0], 2),
            vec![1.0, 2.0, 4.0, 6.0]
        );
        assert_eq!(moving_average(&[2.0; 30], 25), vec![2.0; 30]);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(format_tick(0.5), "0.5");
        assert_eq!(format_tick(150.0), "150");
        assert_eq!(format_tick(0.0971), "0.0971");
        assert_eq!(format_tick(2.0e-5), "2.00e-5");
        assert_eq!(decade(-6), "1e-6");
        assert_eq!(decade(-2), "0.01");
        assert_eq!(decade(3), "1000");
    }

    #[test]
    fn the_legend_goes_where_the_curves_are_not() {
        let falling = vec![vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)]];
        assert_eq!(emptiest_corner(&falling, false), Corner::UpperRight);
        let rising = vec![vec![(1.0, 0.1), (2.0, 0.8), (3.0, 0.9)]];
        assert_eq!(emptiest_corner(&rising, false), Corner::LowerRight);
        // On a log axis 1e-6..1e-5 is a third of the width, not a thousandth: the flat start
        // fills the lower left and the end the upper right; the other two corners stay empty.
        let spread = vec![vec![(1e-6, 0.1), (1e-5, 0.1), (1e-3, 0.9)]];
        let corner = emptiest_corner(&spread, true);
        assert!(matches!(corner, Corner::UpperLeft | Corner::LowerRight), "{corner:?}");
    }

    #[test]
    fn a_crowded_chart_raises_its_top_for_the_legend() {
        let crossing = vec![vec![(0.0, 0.0), (1.0, 1.0)], vec![(0.0, 1.0), (1.0, 0.0)]];
        let (corner, top) = legend_room(&crossing, false, 6);
        assert_eq!(corner, Corner::UpperRight);
        assert!(top.unwrap() > 1.5, "{top:?}");
        assert_eq!(legend_room(&[vec![(0.0, 1.0), (1.0, 0.0)]], false, 2), (Corner::UpperRight, None));
    }

    #[test]
    fn log_axis_only_for_positive_values_over_two_decades() {
        assert!(spans_decades(&[1e-6, 2.5e-4, 5e-4, 7.5e-4, 1e-3]));
        assert!(spans_decades(&[0.001, 0.1]));
        assert!(!spans_decades(&[0.001, 0.05]));
        assert!(!spans_decades(&[0.0, 1e-3, 1.0]));
        assert!(!spans_decades(&[-1.0, 100.0]));
        assert!(!spans_decades(&[3.0]));
        assert!(!spans_decades(&[]));
    }

    #[test]
    fn panels_have_the_documented_size() {
        let panel = Panel {
            title: "t".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            integer_x: true,
            x_axis: XAxis::Linear,
            series: vec![Series::new(
                "train",
                vec![(1.0, 0.5), (2.0, 0.25)],
                PALETTE[0],
            )],
            legend: Corner::UpperRight,
        };
        let png = panels_figure("p.png", &[panel.clone(), panel]).unwrap();
        assert_eq!((png.width, png.height), (2 * PANEL_WIDTH, PANEL_HEIGHT));
    }

    #[test]
    fn a_chart_is_vector_lines_and_text() {
        let panel = Panel {
            title: "Loss & more".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            integer_x: true,
            x_axis: XAxis::Linear,
            series: vec![Series::new("train", vec![(1.0, 0.5), (2.0, 0.25)], PALETTE[0])],
            legend: Corner::UpperRight,
        };
        let png = titled_panels_figure("p.png", "run: loss", &[panel]).unwrap();
        let svg = png.svg().unwrap();
        for text in [">run: loss</text>", ">Loss &amp; more</text>", ">epoch</text>", ">train</text>"] {
            assert!(svg.contains(text), "{text} missing");
        }
        // The y axis description is turned a quarter counter-clockwise, as in the PNG.
        assert!(svg.contains("rotate(-90)\"") && svg.contains(">loss</text>"));
        assert!(svg.contains("<polyline") && svg.contains("stroke=\"#1f77b4\""), "the curve in its colour");
        assert!(!svg.contains("<image"), "no raster data in a chart");
    }
}
