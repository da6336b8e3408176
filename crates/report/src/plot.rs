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
}

impl Series {
    /// A normal-weight curve.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Series {
        Series {
            label: label.into(),
            points,
            color,
            faint: false,
        }
    }

    /// The same curve drawn thin and pale.
    pub fn faint(mut self) -> Series {
        self.faint = true;
        self
    }

    fn finite_points(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
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
    /// The curves.
    pub series: Vec<Series>,
    /// Where the legend goes (pick the corner the curves leave empty).
    pub legend: Corner,
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
}

/// Width of one panel.
pub const PANEL_WIDTH: u32 = 600;
/// Height of a row of panels.
pub const PANEL_HEIGHT: u32 = 420;

/// Draws `panels` side by side, each `PANEL_WIDTH × PANEL_HEIGHT`.
pub fn panels_figure(file: &str, panels: &[Panel]) -> Result<Png, ReportError> {
    let mut canvas = Canvas::new(PANEL_WIDTH * panels.len().max(1) as u32, PANEL_HEIGHT);
    canvas.draw(file, |root| {
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
    let points: Vec<Vec<(f64, f64)>> = panel.series.iter().map(Series::finite_points).collect();
    let (x0, x1) = if panel.integer_x {
        let (lo, hi) = padded_range(points.iter().flatten().map(|p| p.0));
        (lo.min(hi - 1.0), hi)
    } else {
        padded_range(points.iter().flatten().map(|p| p.0))
    };
    let (y0, y1) = padded_range(points.iter().flatten().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let integer_x = panel.integer_x;
    let x_format = move |v: &f64| {
        if !integer_x {
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
    let mut labelled = false;
    for (series, pts) in panel.series.iter().zip(points) {
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
    }

    #[test]
    fn panels_have_the_documented_size() {
        let panel = Panel {
            title: "t".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            integer_x: true,
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
}
