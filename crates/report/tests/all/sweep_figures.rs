//! The sweep's figures from plain numbers: PNG sizes, error bars and ± std bands where expected.

use mnist_report::plot::{PALETTE, PANEL_HEIGHT, PANEL_WIDTH, XAxis};
use mnist_report::sweep_figures::{Line, Point, PointCurves, metric_vs_key, val_curves};

fn decode(png: &mnist_report::Png) -> image::RgbImage {
    image::load_from_memory(&png.bytes).expect("a valid PNG").to_rgb8()
}

fn points(std: Option<f64>) -> Vec<Point> {
    [(1e-6, 0.90), (1e-4, 0.95), (1e-2, 0.93)].iter().map(|&(x, mean)| Point { x, mean, std, n: 3 }).collect()
}

/// Rows holding a pixel of exactly `color`: the vertical extent of a curve and its bars.
fn rows_with(img: &image::RgbImage, color: [u8; 3]) -> usize {
    (0..img.height()).filter(|&y| (0..img.width()).any(|x| img.get_pixel(x, y).0 == color)).count()
}

#[test]
fn error_bars_extend_the_curve_above_and_below_the_means() {
    let line = |std| vec![Line { label: String::new(), points: points(std) }];
    let bare = decode(&metric_vs_key("test.accuracy", "training.l2", XAxis::Log10, &line(None), &[]).unwrap());
    let bars = decode(&metric_vs_key("test.accuracy", "training.l2", XAxis::Log10, &line(Some(0.02)), &[]).unwrap());
    assert_eq!(bars.dimensions(), (PANEL_WIDTH, PANEL_HEIGHT));
    let color = [PALETTE[0].0, PALETTE[0].1, PALETTE[0].2];
    // Without bars the curve spans the means (0.90-0.95 over the padded 0.9-0.95 range: most of
    // the plot's height); with ± 0.02 the y range grows to 0.88-0.97 and the bars span all of it.
    let (bare_rows, bar_rows) = (rows_with(&bare, color), rows_with(&bars, color));
    assert!(bar_rows > 250, "bars span {bar_rows} rows");
    assert!(bare_rows > 200, "the curve spans {bare_rows} rows");
    // The bars' caps: short horizontal runs of the colour away from the curve's markers.
    let caps = (0..bars.height()).filter(|&y| (0..bars.width() - 10).any(|x| (x..x + 10).all(|x| bars.get_pixel(x, y).0 == color))).count();
    assert!(caps >= 6, "{caps} rows hold a 10-pixel run (3 bars × 2 caps expected)");
}

#[test]
fn two_keys_give_one_line_per_value_and_a_legend() {
    let lines = vec![
        Line { label: "training.batch_size=32".into(), points: points(Some(0.01)) },
        Line { label: "training.batch_size=64".into(), points: points(Some(0.01)).into_iter().map(|p| Point { mean: p.mean - 0.02, ..p }).collect() },
    ];
    let img = decode(&metric_vs_key("test.loss", "training.l2", XAxis::Log10, &lines, &[]).unwrap());
    for c in &PALETTE[..2] {
        let n = img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        assert!(n > 300, "{n} pixels of {c:?}");
    }
}

#[test]
fn a_reference_is_drawn_in_black_beside_the_metric() {
    let line = vec![Line { label: String::new(), points: points(None) }];
    let bound = vec![Line { label: "PCA bound".into(), points: points(None).into_iter().map(|p| Point { mean: p.mean - 0.03, n: 1, ..p }).collect() }];
    let black = |img: &image::RgbImage| img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    let without = decode(&metric_vs_key("test.mse", "model.encoder[0].units", XAxis::Log10, &line, &[]).unwrap());
    let with = decode(&metric_vs_key("test.mse", "model.encoder[0].units", XAxis::Log10, &line, &bound).unwrap());
    // The reference's line and the legend (its entry and the metric's, now labelled) add black.
    assert!(black(&with) > black(&without) + 400, "{} black pixels with the reference, {} without", black(&with), black(&without));
    let color = [PALETTE[0].0, PALETTE[0].1, PALETTE[0].2];
    assert!(with.pixels().filter(|p| p.0 == color).count() > 300);
}

#[test]
fn val_curves_have_shaded_bands() {
    let curve = |std: Option<f64>| PointCurves {
        label: "l2=1e-6".into(),
        loss: (1..=5).map(|e| Point { x: e as f64, mean: 1.0 / e as f64, std, n: 3 }).collect(),
        accuracy: (1..=5).map(|e| Point { x: e as f64, mean: 0.8 + 0.02 * e as f64, std, n: 3 }).collect(),
    };
    let banded = decode(&val_curves(&[curve(Some(0.1))]).unwrap());
    let plain = decode(&val_curves(&[curve(None)]).unwrap());
    // Two panels: loss and accuracy.
    assert_eq!(banded.dimensions(), (2 * PANEL_WIDTH, PANEL_HEIGHT));
    // The band: the first colour (blue) mixed with white, bluish but far from the pure colour.
    let tinted = |img: &image::RgbImage| img.pixels().filter(|p| p.0[2] as i32 > p.0[0] as i32 + 10 && p.0[0] > 150).count();
    let (with, without) = (tinted(&banded), tinted(&plain));
    assert!(with > without + 10_000, "{with} tinted pixels with bands, {without} without");
    let loss_only = decode(&val_curves(&[PointCurves { accuracy: vec![], ..curve(Some(0.1)) }]).unwrap());
    assert_eq!(loss_only.dimensions(), (PANEL_WIDTH, PANEL_HEIGHT));
}
