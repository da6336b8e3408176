//! Figure 11, `confusion.png` and `confusion.csv`: for classifiers, how often each true digit of
//! the test set was predicted as each digit. Two colour scales: the diagonal (correct) in blue by
//! the share of its row, the errors in orange relative to the most frequent error, so that a
//! handful of confusions stands out instead of fading into white beside counts in the hundreds.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::Canvas;
use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::tensors::argmax;

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

/// The blue of a correct cell holding `share` of its row.
fn correct_fill(share: f64) -> RGBColor {
    let shade = |white: f64, dark: f64| (white + (dark - white) * share.clamp(0.0, 1.0)).round() as u8;
    RGBColor(shade(255.0, 8.0), shade(255.0, 48.0), shade(255.0, 107.0))
}

/// The orange of an error cell with `count` errors when the most frequent error has `max`: a
/// single error is already clearly tinted, the most frequent one full orange; none is white.
fn error_fill(count: u64, max: u64) -> RGBColor {
    if count == 0 || max == 0 {
        return RGBColor(255, 255, 255);
    }
    let f = 0.2 + 0.8 * (count as f64 / max as f64).clamp(0.0, 1.0);
    let shade = |white: f64, dark: f64| (white + (dark - white) * f).round() as u8;
    RGBColor(shade(255.0, 217.0), shade(255.0, 72.0), shade(255.0, 1.0))
}

/// The fill of cell (`t`rue, `p`redicted) and whether its count is written in white.
pub fn cell_fill(counts: &[[u64; 10]; 10], t: usize, p: usize) -> (RGBColor, bool) {
    if t == p {
        let total = counts[t].iter().sum::<u64>().max(1) as f64;
        let share = counts[t][t] as f64 / total;
        (correct_fill(share), share > 0.5)
    } else {
        let max = max_error(counts);
        (error_fill(counts[t][p], max), max > 0 && counts[t][p] as f64 / max as f64 > 0.6)
    }
}

/// The largest off-diagonal count.
pub fn max_error(counts: &[[u64; 10]; 10]) -> u64 {
    (0..10).flat_map(|t| (0..10).filter(move |&p| p != t).map(move |p| (t, p))).map(|(t, p)| counts[t][p]).max().unwrap_or(0)
}

/// Draws the figure and CSV for classifiers.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(probabilities) = &ctx.probabilities else {
        out.skip(FILE, "the model is not a classifier");
        return Ok(());
    };
    let predicted: Vec<u8> = probabilities.iter().map(|p| argmax(p) as u8).collect();
    let labels = &ctx.labels;
    let counts = confusion_matrix(labels, &predicted);
    let max_error = max_error(&counts);
    let correct: u64 = (0..10).map(|d| counts[d][d]).sum();
    let accuracy = correct as f64 / labels.len().max(1) as f64;
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    canvas.draw(FILE, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        let title = ctx.title(&format!("confusion matrix, test set (accuracy {accuracy:.4})"));
        root.draw_text(
            &title,
            &("sans-serif", crate::text::fitting_size("sans-serif", 22.0, &title, WIDTH as f64 - 24.0)).into_font().color(&BLACK).pos(centre),
            (WIDTH as i32 / 2, 30),
        )?;
        for (t, row) in counts.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                let (fill, white_ink) = cell_fill(&counts, t, p);
                let (x, y) = (LEFT + p as i32 * CELL, TOP + t as i32 * CELL);
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    fill.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    RGBColor(200, 200, 200),
                ))?;
                // Zero errors in light grey: the eye goes to the counts that matter.
                let ink = if white_ink {
                    WHITE
                } else if count == 0 && t != p {
                    RGBColor(190, 190, 190)
                } else {
                    BLACK
                };
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
        let key = ("sans-serif", 14).into_font().color(&RGBColor(80, 80, 80)).pos(Pos::new(HPos::Left, VPos::Center));
        let y = TOP + 10 * CELL + 84;
        root.draw(&Rectangle::new([(LEFT, y - 7), (LEFT + 14, y + 7)], correct_fill(0.9).filled()))?;
        root.draw_text("correct: share of the row", &key, (LEFT + 20, y))?;
        root.draw(&Rectangle::new([(LEFT + 5 * CELL - 40, y - 7), (LEFT + 5 * CELL - 26, y + 7)], error_fill(max_error, max_error).filled()))?;
        root.draw_text(&format!("errors: darkest = most frequent ({max_error})"), &key, (LEFT + 5 * CELL - 20, y))?;
        Ok(())
    })?;
    out.figure(FILE, "Confusion matrix", format!("Test digits by true (rows) and predicted (columns) class, {} samples. The diagonal (blue) is shaded by the share of its row; errors (orange) by their count relative to the most frequent error ({max_error}).", labels.len()), canvas.into_png());
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

    #[test]
    fn rare_errors_stand_out_beside_large_counts() {
        let mut counts = [[0u64; 10]; 10];
        for (d, row) in counts.iter_mut().enumerate() {
            row[d] = 1000;
        }
        counts[4][9] = 1;
        counts[3][5] = 20;
        let distance = |c: RGBColor| (255 - c.0 as i32) + (255 - c.1 as i32) + (255 - c.2 as i32);
        // One error among a thousand is clearly tinted, the most frequent error is darker still,
        // an empty cell is white, a correct cell blue.
        let (rare, _) = cell_fill(&counts, 4, 9);
        let (frequent, _) = cell_fill(&counts, 3, 5);
        assert!(distance(rare) > 100, "{rare:?}");
        assert!(distance(frequent) > distance(rare));
        assert_eq!(cell_fill(&counts, 0, 1).0, RGBColor(255, 255, 255));
        let (correct, white_ink) = cell_fill(&counts, 2, 2);
        assert!(correct.2 > correct.0 && white_ink);
        assert_eq!(max_error(&counts), 20);
    }
}
