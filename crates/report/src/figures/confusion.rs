//! Figure 11, `confusion.png` and `confusion.csv`: for classifiers, how often each true digit of
//! the test set was predicted as each digit. Cells are shaded by the fraction of their row.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::Canvas;
use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::tensors::{predict_all, read_i64};

/// File name in `plots/`.
pub const FILE: &str = "confusion.png";
/// The counts as CSV.
pub const CSV_FILE: &str = "confusion.csv";
/// Figure width.
pub const WIDTH: u32 = 720;
/// Figure height.
pub const HEIGHT: u32 = 760;

const CELL: i32 = 56;
const LEFT: i32 = 110;
const TOP: i32 = 90;

/// `counts[true][predicted]`.
pub fn confusion_matrix(labels: &[u8], predicted: &[u8]) -> [[u64; 10]; 10] {
    let mut counts = [[0u64; 10]; 10];
    for (&t, &p) in labels.iter().zip(predicted) {
        counts[(t as usize).min(9)][(p as usize).min(9)] += 1;
    }
    counts
}

/// The CSV text: a header `true,0,...,9`, then one row per true digit.
pub fn to_csv(counts: &[[u64; 10]; 10]) -> String {
    let mut s = String::from("true");
    for p in 0..10 {
        s += &format!(",{p}");
    }
    s.push('\n');
    for (t, row) in counts.iter().enumerate() {
        s += &t.to_string();
        for c in row {
            s += &format!(",{c}");
        }
        s.push('\n');
    }
    s
}

/// Draws the figure and CSV for classifiers.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let inputs = ctx.data.test.inputs();
    let Some(predicted) = predict_all(&ctx.loaded.model, &inputs)? else {
        out.skip(FILE, "the model is not a classifier");
        return Ok(());
    };
    let labels: Vec<u8> = read_i64(ctx.data.test.labels.clone(), "labels")?
        .into_iter()
        .map(|l| l as u8)
        .collect();
    let counts = confusion_matrix(&labels, &predicted);
    let correct: u64 = (0..10).map(|d| counts[d][d]).sum();
    let accuracy = correct as f64 / labels.len().max(1) as f64;
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    canvas.draw(FILE, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        let title = format!("Confusion matrix, test set (accuracy {:.4})", accuracy);
        root.draw_text(
            &title,
            &("sans-serif", 22).into_font().color(&BLACK).pos(centre),
            (WIDTH as i32 / 2, 30),
        )?;
        for (t, row) in counts.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            for (p, &count) in row.iter().enumerate() {
                let f = count as f64 / total;
                let shade = |white: f64, dark: f64| (white + (dark - white) * f).round() as u8;
                let fill = RGBColor(shade(255.0, 8.0), shade(255.0, 48.0), shade(255.0, 107.0));
                let (x, y) = (LEFT + p as i32 * CELL, TOP + t as i32 * CELL);
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    fill.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    RGBColor(200, 200, 200),
                ))?;
                let ink = if f > 0.5 { WHITE } else { BLACK };
                root.draw_text(
                    &count.to_string(),
                    &("sans-serif", 15).into_font().color(&ink).pos(centre),
                    (x + CELL / 2, y + CELL / 2),
                )?;
            }
        }
        let labels = ("sans-serif", 17).into_font().color(&BLACK).pos(centre);
        for d in 0..10 {
            root.draw_text(
                &d.to_string(),
                &labels,
                (LEFT + d * CELL + CELL / 2, TOP + 10 * CELL + 16),
            )?;
            root.draw_text(
                &d.to_string(),
                &labels,
                (LEFT - 16, TOP + d * CELL + CELL / 2),
            )?;
        }
        root.draw_text(
            "predicted digit",
            &labels,
            (LEFT + 5 * CELL, TOP + 10 * CELL + 48),
        )?;
        let vertical = ("sans-serif", 17)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(centre);
        root.draw_text("true digit", &vertical, (LEFT - 55, TOP + 5 * CELL))?;
        Ok(())
    })?;
    out.figure(FILE, "Confusion matrix", format!("Test digits by true (rows) and predicted (columns) class, {} samples; shading is the fraction of the row.", labels.len()), canvas.into_png());
    out.file(CSV_FILE, to_csv(&counts).into_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_csv() {
        let counts = confusion_matrix(&[0, 0, 1, 9], &[0, 1, 1, 9]);
        assert_eq!(counts[0][0], 1);
        assert_eq!(counts[0][1], 1);
        assert_eq!(counts[9][9], 1);
        let csv = to_csv(&counts);
        assert!(csv.starts_with("true,0,1,2,3,4,5,6,7,8,9\n0,1,1,0,"));
        assert_eq!(csv.lines().count(), 11);
    }
}
