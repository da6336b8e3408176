//! `mistakes.png` and `mistakes.csv`: for classifiers, the test digits the model got wrong with
//! the highest confidence, each captioned with its true label and the prediction. The confusion
//! matrix says how often digits are confused; this figure shows what those digits look like.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::Canvas;
use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::grid::{GreyImage, MARGIN, PIXELS, SIDE, TITLE_HEIGHT};
use crate::tensors::{argmax, read_f32, to_grey};

/// File name in `plots/`.
pub const FILE: &str = "mistakes.png";
/// The mistakes shown, as CSV.
pub const CSV_FILE: &str = "mistakes.csv";
/// Mistakes shown (two rows of eight).
pub const COUNT: usize = 16;
/// Tiles per row.
pub const COLUMNS: usize = 8;
/// Each image pixel becomes a `SCALE × SCALE` block.
pub const SCALE: usize = 3;
/// Width of one cell: the tile and room for its caption.
pub const CELL_WIDTH: u32 = 128;
/// Height of one cell: the tile and two caption lines.
pub const CELL_HEIGHT: u32 = (SIDE * SCALE) as u32 + 44;

/// A misclassified test image.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    /// Its index in the test split.
    pub index: usize,
    /// The true digit.
    pub truth: u8,
    /// The predicted digit.
    pub predicted: u8,
    /// The probability the model gave its prediction.
    pub confidence: f32,
}

impl Mistake {
    /// The two caption lines under its tile.
    pub fn caption(&self) -> [String; 2] {
        [format!("true {}, predicted {}", self.truth, self.predicted), format!("p = {:.3}", self.confidence)]
    }
}

/// The `n` misclassified images whose prediction had the highest probability, most confident
/// first (ties: lower index first).
pub fn most_confident_mistakes(probabilities: &[Vec<f32>], labels: &[u8], n: usize) -> Vec<Mistake> {
    let mut mistakes: Vec<Mistake> = probabilities
        .iter()
        .zip(labels)
        .enumerate()
        .filter_map(|(index, (p, &truth))| {
            let predicted = argmax(p);
            (predicted != truth as usize).then(|| Mistake { index, truth, predicted: predicted as u8, confidence: p[predicted] })
        })
        .collect();
    mistakes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.index.cmp(&b.index)));
    mistakes.truncate(n);
    mistakes
}

/// The CSV text: `index,true,predicted,confidence`, one line per mistake shown.
pub fn to_csv(mistakes: &[Mistake]) -> String {
    let mut s = String::from("index,true,predicted,confidence\n");
    for m in mistakes {
        s += &format!("{},{},{},{}\n", m.index, m.truth, m.predicted, m.confidence);
    }
    s
}

/// Pixel size of the figure for `n` mistakes.
pub fn figure_size(n: usize) -> (u32, u32) {
    let cols = n.clamp(1, COLUMNS) as u32;
    let rows = n.div_ceil(COLUMNS).max(1) as u32;
    (2 * MARGIN + cols * CELL_WIDTH, 2 * MARGIN + TITLE_HEIGHT + rows * CELL_HEIGHT)
}

/// Draws the figure and CSV for classifiers that made mistakes.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(probabilities) = &ctx.probabilities else {
        out.skip(FILE, "the model is not a classifier");
        return Ok(());
    };
    let mistakes = most_confident_mistakes(probabilities, &ctx.labels, COUNT);
    if mistakes.is_empty() {
        out.skip(FILE, "the model classifies every test digit correctly");
        return Ok(());
    }
    let inputs = ctx.data.test.inputs();
    let (width, height) = figure_size(mistakes.len());
    let mut canvas = Canvas::new(width, height);
    let tile = (SIDE * SCALE) as u32;
    let cell = |i: usize| (MARGIN + (i % COLUMNS) as u32 * CELL_WIDTH, MARGIN + TITLE_HEIGHT + (i / COLUMNS) as u32 * CELL_HEIGHT);
    for (i, m) in mistakes.iter().enumerate() {
        let values = read_f32(inputs.clone().narrow(0, m.index, 1), "test image")?;
        let grey = to_grey(&values[..PIXELS.min(values.len())], ctx.stats());
        let (x, y) = cell(i);
        canvas.blit_grey((x + (CELL_WIDTH - tile) / 2) as i64, y as i64, &GreyImage::digit(grey), SCALE);
    }
    canvas.draw(FILE, |root| {
        let title = ctx.title(&format!("the {} most confident mistakes on the test set", mistakes.len()));
        let size = crate::text::fitting_size("sans-serif", 22.0, &title, (width - 2 * MARGIN) as f64);
        let title_style = ("sans-serif", size).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(&title, &title_style, (MARGIN as i32, (MARGIN + TITLE_HEIGHT / 2) as i32))?;
        let centre = Pos::new(HPos::Center, VPos::Top);
        let truth_style = ("sans-serif", 14).into_font().color(&BLACK).pos(centre);
        let p_style = ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)).pos(centre);
        for (i, m) in mistakes.iter().enumerate() {
            let (x, y) = cell(i);
            let [first, second] = m.caption();
            let cx = (x + CELL_WIDTH / 2) as i32;
            root.draw_text(&first, &truth_style, (cx, (y + tile + 4) as i32))?;
            root.draw_text(&second, &p_style, (cx, (y + tile + 22) as i32))?;
        }
        Ok(())
    })?;
    out.figure(
        FILE,
        "Most confident mistakes",
        format!(
            "The {} misclassified test digits whose wrong prediction had the highest probability, with their true label and the prediction; {} of {} test digits are misclassified.",
            mistakes.len(),
            probabilities.iter().zip(&ctx.labels).filter(|(p, l)| argmax(p) != **l as usize).count(),
            ctx.labels.len()
        ),
        canvas.into_png(),
    );
    out.file(CSV_FILE, to_csv(&mistakes).into_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot_ish(digit: usize, p: f32) -> Vec<f32> {
        let mut v = vec![(1.0 - p) / 9.0; 10];
        v[digit] = p;
        v
    }

    #[test]
    fn mistakes_are_the_wrong_predictions_most_confident_first() {
        let probs = vec![
            one_hot_ish(3, 0.9), // right
            one_hot_ish(5, 0.6), // wrong: true 3
            one_hot_ish(7, 0.99), // wrong: true 1
            one_hot_ish(2, 0.6), // wrong: true 0, ties with index 1
        ];
        let labels = [3, 3, 1, 0];
        let m = most_confident_mistakes(&probs, &labels, 10);
        let order: Vec<(usize, u8, u8)> = m.iter().map(|m| (m.index, m.truth, m.predicted)).collect();
        assert_eq!(order, [(2, 1, 7), (1, 3, 5), (3, 0, 2)]);
        assert_eq!(m[0].caption(), ["true 1, predicted 7".to_string(), "p = 0.990".to_string()]);
        assert_eq!(most_confident_mistakes(&probs, &labels, 1).len(), 1);
        assert!(to_csv(&m).starts_with("index,true,predicted,confidence\n2,1,7,0.99"));
    }

    #[test]
    fn captions_fit_their_cell() {
        let m = Mistake { index: 0, truth: 8, predicted: 8, confidence: 0.999 };
        for line in m.caption() {
            let width = crate::text::layout("sans-serif", 14.0, &line).width;
            assert!(width < CELL_WIDTH as f32 - 4.0, "{line:?} is {width} px wide");
        }
        assert_eq!(figure_size(16), (2 * MARGIN + 8 * CELL_WIDTH, 2 * MARGIN + TITLE_HEIGHT + 2 * CELL_HEIGHT));
        assert_eq!(figure_size(3).0, 2 * MARGIN + 3 * CELL_WIDTH);
    }
}
