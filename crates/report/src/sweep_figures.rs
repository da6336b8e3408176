//! Figures of a hyperparameter sweep, written by `sweep` into `<sweep>/plots/`: each summarized
//! metric against a varied key (mean ± std error bars per grid point) and the mean validation
//! curves per grid point (± std bands). Not the noise sweep (`figures::noise_sweep`).
//!
//! The functions take plain numbers (the sweep crate computes the statistics), so this crate does
//! not depend on the sweep crate; the drawing is the shared panels of [`crate::plot`].

use plotters::style::colors::BLACK;

use crate::canvas::Png;
use crate::error::ReportError;
use crate::plot::{Corner, PALETTE, Panel, Series, XAxis, legend_room, panels_figure, spans_decades};

/// File name of the validation-curve figure in `<sweep>/plots/`.
pub const VAL_CURVES_FILE: &str = "val_curves.png";

/// The statistics of one value over the trials of a grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Where it goes on the x axis (the key's value, its category index, or the epoch).
    pub x: f64,
    /// Mean over the trials.
    pub mean: f64,
    /// Sample standard deviation; `None` for a single trial (no bar, no band).
    pub std: Option<f64>,
    /// Trials measured.
    pub n: usize,
}

/// One line of a figure: a legend label and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text; empty for the only line of a one-key figure.
    pub label: String,
    /// The points, in x order.
    pub points: Vec<Point>,
}

/// One value of a varied key: its text (tick label) and its number, when it is one.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// As the trial names spell it (`1e-6`, `"adam"`).
    pub text: String,
    /// The value as a number, when it is an integer or a float.
    pub number: Option<f64>,
}

/// The x axis for a key's values (in grid order) and each value's x position: a log axis when
/// every value is a positive number and they span two decades or more, a linear one for other
/// numbers, and one slot per value, named, when some value is not a number.
pub fn key_axis(values: &[KeyValue]) -> (XAxis, Vec<f64>) {
    let numbers: Option<Vec<f64>> = values.iter().map(|v| v.number).collect();
    match numbers {
        Some(xs) if !xs.is_empty() => (if spans_decades(&xs) { XAxis::Log10 } else { XAxis::Linear }, xs),
        _ => (XAxis::Categories(values.iter().map(|v| v.text.clone()).collect()), (0..values.len()).map(|i| i as f64).collect()),
    }
}

fn series(label: &str, points: &[Point], color: usize) -> Series {
    let xy = points.iter().map(|p| (p.x, p.mean)).collect();
    Series::new(label, xy, PALETTE[color % PALETTE.len()])
}

fn spread(points: &[Point]) -> Vec<f64> {
    points.iter().map(|p| p.std.unwrap_or(0.0)).collect()
}

/// The range of trial counts, `3` or `1-3`, for a title.
fn trials_text<'a>(points: impl Iterator<Item = &'a Point>) -> String {
    let (lo, hi) = points.fold((usize::MAX, 0), |(lo, hi), p| (lo.min(p.n), hi.max(p.n)));
    if lo >= hi { hi.to_string() } else { format!("{lo}-{hi}") }
}

/// `<metric>_vs_<key>.png`: `metric` against `key` (on `x_axis`, see [`key_axis`]), one line per
/// value of a second key (its label in the legend), mean ± std error bars at each grid point.
/// `references` are drawn in black beside them, without bars (a bound such as PCA's, one value
/// per point); with a reference, an unlabelled line is labelled by the metric.
pub fn metric_vs_key(metric: &str, key: &str, x_axis: XAxis, lines: &[Line], references: &[Line]) -> Result<Png, ReportError> {
    let n = trials_text(lines.iter().flat_map(|l| &l.points));
    let labelled_lines: Vec<Line>;
    let lines = if references.is_empty() {
        lines
    } else {
        labelled_lines = lines.iter().map(|l| Line { label: if l.label.is_empty() { metric.to_string() } else { l.label.clone() }, points: l.points.clone() }).collect();
        &labelled_lines[..]
    };
    let all: Vec<&Line> = lines.iter().chain(references).collect();
    // Bars count too: the legend must not hide the top or bottom of one.
    let extents: Vec<Vec<(f64, f64)>> = all
        .iter()
        .flat_map(|l| [-1.0, 1.0].map(|side| l.points.iter().map(|p| (p.x, p.mean + side * p.std.unwrap_or(0.0))).collect()))
        .collect();
    let labelled = all.iter().filter(|l| !l.label.is_empty()).count();
    let (legend, anchor) = legend_room(&extents, x_axis == XAxis::Log10, labelled);
    let mut series: Vec<Series> = lines.iter().enumerate().map(|(i, l)| series(&l.label, &l.points, i).with_error_bars(spread(&l.points))).collect();
    series.extend(references.iter().map(|r| Series::new(&r.label, r.points.iter().map(|p| (p.x, p.mean)).collect(), BLACK)));
    series.extend(anchor.and_then(|y| Some(Series::anchor(lines.first()?.points.first()?.x, y))));
    let panel = Panel {
        title: format!("{metric} (mean ± std over {n} {})", if n == "1" { "trial" } else { "trials" }),
        x_label: if x_axis == XAxis::Log10 { format!("{key} (log scale)") } else { key.to_string() },
        y_label: metric.to_string(),
        integer_x: false,
        x_axis,
        series,
        legend,
    };
    panels_figure(&file_name(metric, key), &[panel])
}

/// The file name `<metric>_vs_<key>.png`, with characters other than letters, digits, `.`, `-`
/// and `_` replaced by `_`.
pub fn file_name(metric: &str, key: &str) -> String {
    let safe = |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect::<String>();
    format!("{}_vs_{}.png", safe(metric), safe(key))
}

/// The validation curves of one grid point: per epoch, the mean and std over its trials.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCurves {
    /// The grid point, as the legend names it.
    pub label: String,
    /// Validation loss per epoch (`x` = epoch).
    pub loss: Vec<Point>,
    /// Validation accuracy per epoch (classifiers; empty otherwise).
    pub accuracy: Vec<Point>,
}

/// `val_curves.png`: the mean validation loss (and accuracy, when some point has it) per epoch,
/// one colour per grid point, inside a shaded ± std band.
pub fn val_curves(points: &[PointCurves]) -> Result<Png, ReportError> {
    let panel = |title: &str, y_label: &str, of: fn(&PointCurves) -> &Vec<Point>| {
        let extents: Vec<Vec<(f64, f64)>> = points.iter().flat_map(|p| [-1.0, 1.0].map(|side| of(p).iter().map(|q| (q.x, q.mean + side * q.std.unwrap_or(0.0))).collect())).collect();
        let (legend, anchor): (Corner, Option<f64>) = legend_room(&extents, false, points.len());
        let mut series: Vec<Series> = points.iter().enumerate().map(|(i, p)| series(&p.label, of(p), i).with_band(spread(of(p)))).collect();
        series.extend(anchor.and_then(|y| Some(Series::anchor(of(points.first()?).first()?.x, y))));
        Panel { title: title.into(), x_label: "epoch".into(), y_label: y_label.into(), integer_x: true, x_axis: XAxis::Linear, series, legend }
    };
    let mut panels = vec![panel("Validation loss (mean ± std)", "loss", |p| &p.loss)];
    if points.iter().any(|p| !p.accuracy.is_empty()) {
        panels.push(panel("Validation accuracy (mean ± std)", "accuracy", |p| &p.accuracy));
    }
    panels_figure(VAL_CURVES_FILE, &panels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, number: Option<f64>) -> KeyValue {
        KeyValue { text: text.into(), number }
    }

    #[test]
    fn key_axis_is_logarithmic_over_two_decades() {
        let (axis, xs) = key_axis(&[value("1e-6", Some(1e-6)), value("0.001", Some(1e-3))]);
        assert_eq!((axis, xs), (XAxis::Log10, vec![1e-6, 1e-3]));
        let (axis, _) = key_axis(&[value("0.01", Some(0.01)), value("0.05", Some(0.05))]);
        assert_eq!(axis, XAxis::Linear);
        let (axis, xs) = key_axis(&[value("adam", None), value("0.1", Some(0.1))]);
        assert_eq!((axis, xs), (XAxis::Categories(vec!["adam".into(), "0.1".into()]), vec![0.0, 1.0]));
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("test.accuracy", "model.hidden"), "test.accuracy_vs_model.hidden.png");
        assert_eq!(file_name("loss", "a/b c"), "loss_vs_a_b_c.png");
    }
}
