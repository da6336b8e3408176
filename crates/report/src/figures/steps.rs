//! Figure 9, `steps.png`: for runs that log every step (`per_step_log = true`), the
//! reconstruction error and the fraction of active hidden units, raw and as a 25-step moving
//! average, from `steps.csv`.

use mnist_runs::run_dir::STEPS_FILE;

use crate::error::ReportError;
use crate::figures::{Context, Output};
use crate::plot::{Corner, PALETTE, Panel, Series, moving_average, titled_panels_figure};
use crate::runfiles::read_steps;

/// File name in `plots/`.
pub const FILE: &str = "steps.png";
/// Window of the moving average, in steps.
pub const WINDOW: usize = 25;

/// A panel of one per-step quantity: raw (pale) and smoothed.
fn panel(title: &str, y_label: &str, steps: &[f64], values: &[f64], color: usize) -> Panel {
    let raw: Vec<(f64, f64)> = steps.iter().copied().zip(values.iter().copied()).collect();
    let smooth: Vec<(f64, f64)> = steps
        .iter()
        .copied()
        .zip(moving_average(values, WINDOW))
        .collect();
    Panel {
        title: title.into(),
        x_label: "step".into(),
        y_label: y_label.into(),
        integer_x: false,
        x_axis: Default::default(),
        series: vec![
            Series::new("raw", raw, PALETTE[color]).faint(),
            Series::new(
                format!("{WINDOW}-step moving average"),
                smooth,
                PALETTE[color],
            ),
        ],
        legend: Corner::UpperRight,
    }
}

/// Draws the figure when the run has a per-step log.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let path = ctx.loaded.run.file(STEPS_FILE);
    let rows = match read_steps(&path)? {
        Some(rows) if !rows.is_empty() => rows,
        Some(_) => {
            out.skip(FILE, format!("{} holds no step yet", path.display()));
            return Ok(());
        }
        None => {
            out.skip(
                FILE,
                "the run does not log per step (set training.per_step_log = true)",
            );
            return Ok(());
        }
    };
    let steps: Vec<f64> = rows.iter().map(|r| r.step as f64).collect();
    let losses: Vec<f64> = rows.iter().map(|r| r.loss).collect();
    let mut panels = vec![panel(
        "Reconstruction error per step",
        "training loss",
        &steps,
        &losses,
        0,
    )];
    let sparsity: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.nonzero_fraction.map(|s| (r.step as f64, s)))
        .collect();
    if !sparsity.is_empty() {
        let (at, values): (Vec<f64>, Vec<f64>) = sparsity.into_iter().unzip();
        panels.push(panel(
            "Hidden units active per step",
            "fraction of non-zero units",
            &at,
            &values,
            2,
        ));
    }
    let png = titled_panels_figure(FILE, &ctx.title("every training step"), &panels)?;
    out.figure(
        FILE,
        "Per-step curves",
        format!("Every training step of {} (pale) and its {WINDOW}-step moving average: the loss and the fraction of non-zero hidden units.", rows.len()),
        png,
    );
    Ok(())
}
