//! Learning-rate schedules evaluated per optimizer step (`one_cycle`, `warmup_cosine`): the
//! formulas, kept apart from the config types so they can be checked against their definitions
//! (PyTorch's `OneCycleLR`, linear warm-up then cosine decay).

use std::f64::consts::PI;

use mnist_config::Schedule;

/// Cosine interpolation from `start` (at `pct = 0`) to `end` (at `pct = 1`), PyTorch's
/// `OneCycleLR._annealing_cos`.
fn annealing_cos(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * (1.0 + (PI * pct).cos())
}

/// The rate of step `step` (0-based: the first optimizer step is step 0) of `total` under
/// PyTorch's `OneCycleLR` with `anneal_strategy = "cos"` and `three_phase = False`:
///
/// ```text
/// initial = max_lr / div_factor,  min = initial / final_div_factor
/// end_1 = pct_start · total - 1,  end_2 = total - 1
/// step <= end_1: cos from initial to max_lr over [0, end_1]
/// step >  end_1: cos from max_lr to min over [end_1, end_2]
/// ```
///
/// Steps past `total - 1` keep the last rate (PyTorch raises instead; a run cut short by
/// `training.steps` never gets there).
pub fn one_cycle(max_lr: f64, step: usize, total: usize, pct_start: f64, div_factor: f64, final_div_factor: f64) -> f64 {
    let initial = max_lr / div_factor;
    let min = initial / final_div_factor;
    let end_1 = pct_start * total as f64 - 1.0;
    let end_2 = total as f64 - 1.0;
    let s = (step as f64).min(end_2.max(0.0));
    if s <= end_1 {
        // PyTorch divides by end_1 as is; with end_1 <= 0 the warm-up has no length.
        let pct = if end_1 > 0.0 { s / end_1 } else { 1.0 };
        annealing_cos(initial, max_lr, pct)
    } else {
        let span = end_2 - end_1;
        let pct = if span > 0.0 { (s - end_1) / span } else { 1.0 };
        annealing_cos(max_lr, min, pct)
    }
}

/// The rate of step `step` (0-based) of `total` under a linear warm-up over the first `warmup`
/// steps (step `i < warmup` gets `base · (i + 1) / warmup`, so the first step does move), then a
/// cosine from `base` down to `min` over the remaining steps (the last step gets `min` exactly
/// when the warm-up is shorter than the run).
pub fn warmup_cosine(base: f64, min: f64, step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let decay = total.saturating_sub(warmup);
    if decay <= 1 {
        return base;
    }
    let pct = ((step - warmup) as f64 / (decay - 1) as f64).min(1.0);
    annealing_cos(base, min, pct)
}

/// Number of warm-up steps for `fraction` of `total` steps: rounded, at least 1 when the fraction
/// is positive.
pub fn warmup_steps(fraction: f64, total: usize) -> usize {
    if fraction <= 0.0 {
        return 0;
    }
    ((fraction * total as f64).round() as usize).clamp(1, total.max(1))
}

/// The rates of a [`Schedule`]: per epoch, and per step for the per-step schedules.
pub trait Rates {
    /// Learning rate of `epoch` (0-based) out of `epochs`.
    fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64;
    /// The rate of optimizer step `step` (0-based, counted over the whole run) out of `total`
    /// steps, for the per-step schedules; `epoch_rate` (the per-epoch schedules' rate) otherwise.
    fn step_rate(&self, base: f64, step: usize, total: usize, epoch_rate: f64) -> f64;
}

impl Rates for Schedule {
    fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / (*every).max(1)) as i32),
            Schedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            Schedule::Cosine { min } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            // Per-step schedules: the rate of the epoch's first step.
            Schedule::OneCycle { .. } | Schedule::WarmupCosine { .. } => base,
        }
    }

    fn step_rate(&self, base: f64, step: usize, total: usize, epoch_rate: f64) -> f64 {
        match *self {
            Schedule::OneCycle { pct_start, div_factor, final_div_factor } => {
                one_cycle(base, step, total, pct_start, div_factor, final_div_factor)
            }
            Schedule::WarmupCosine { warmup_fraction, min } => {
                warmup_cosine(base, min, step, total, warmup_steps(warmup_fraction, total))
            }
            _ => epoch_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's `OneCycleLR.get_lr` as written in `torch/optim/lr_scheduler.py` (2.x), with
    /// its phases table, for `three_phase = False` and `anneal_strategy = "cos"`; `step_num` is
    /// the number of `scheduler.step()` calls before the optimizer step.
    fn pytorch_one_cycle(max_lr: f64, step_num: usize, total_steps: usize, pct_start: f64, div_factor: f64, final_div_factor: f64) -> f64 {
        let initial_lr = max_lr / div_factor;
        let min_lr = initial_lr / final_div_factor;
        let phases = [
            (pct_start * total_steps as f64 - 1.0, initial_lr, max_lr),
            (total_steps as f64 - 1.0, max_lr, min_lr),
        ];
        let mut start_step = 0.0;
        let mut lr = 0.0;
        for (i, &(end_step, start, end)) in phases.iter().enumerate() {
            if step_num as f64 <= end_step || i == phases.len() - 1 {
                let pct = (step_num as f64 - start_step) / (end_step - start_step);
                let cos_out = (PI * pct).cos() + 1.0;
                lr = end + (start - end) / 2.0 * cos_out;
                break;
            }
            start_step = end_step;
        }
        lr
    }

    #[test]
    fn one_cycle_matches_pytorch_at_every_step() {
        for &(total, pct_start, div, final_div) in &[(235, 0.3, 25.0, 1e4), (100, 0.25, 10.0, 100.0), (7, 0.5, 4.0, 1e3)] {
            for step in 0..total {
                let ours = one_cycle(0.01, step, total, pct_start, div, final_div);
                let theirs = pytorch_one_cycle(0.01, step, total, pct_start, div, final_div);
                assert!((ours - theirs).abs() <= 1e-12 * theirs.abs().max(1e-12), "total {total} step {step}: {ours} vs PyTorch {theirs}");
            }
        }
    }

    #[test]
    fn one_cycle_starts_peaks_and_ends_where_pytorch_says() {
        // PyTorch's documented values: starts at max_lr / div_factor, reaches max_lr at step
        // pct_start · total - 1, ends at initial / final_div_factor.
        let (max, total) = (0.02, 1000);
        assert!((one_cycle(max, 0, total, 0.3, 25.0, 1e4) - max / 25.0).abs() < 1e-15);
        assert!((one_cycle(max, 299, total, 0.3, 25.0, 1e4) - max).abs() < 1e-15);
        assert!((one_cycle(max, 999, total, 0.3, 25.0, 1e4) - max / 25.0 / 1e4).abs() < 1e-15);
        // Past the end: the last rate, not a rise.
        assert_eq!(one_cycle(max, 5000, total, 0.3, 25.0, 1e4), one_cycle(max, 999, total, 0.3, 25.0, 1e4));
    }

    #[test]
    fn warmup_cosine_follows_its_definition() {
        let (base, min, total, warmup) = (0.1, 0.001, 50, 10);
        for step in 0..total {
            let lr = warmup_cosine(base, min, step, total, warmup);
            let expected = if step < warmup {
                base * (step + 1) as f64 / warmup as f64
            } else {
                let t = (step - warmup) as f64 / (total - warmup - 1) as f64;
                min + (base - min) * 0.5 * (1.0 + (PI * t).cos())
            };
            assert!((lr - expected).abs() < 1e-15, "step {step}: {lr} vs {expected}");
        }
        assert!((warmup_cosine(base, min, warmup - 1, total, warmup) - base).abs() < 1e-15);
        assert!((warmup_cosine(base, min, warmup, total, warmup) - base).abs() < 1e-15);
        assert!((warmup_cosine(base, min, total - 1, total, warmup) - min).abs() < 1e-15);
        // No warm-up: a plain per-step cosine.
        assert!((warmup_cosine(base, min, 0, total, 0) - base).abs() < 1e-15);
    }

    #[test]
    fn warmup_steps_rounds_and_keeps_at_least_one() {
        assert_eq!(warmup_steps(0.0, 100), 0);
        assert_eq!(warmup_steps(0.05, 100), 5);
        assert_eq!(warmup_steps(0.001, 100), 1);
        assert_eq!(warmup_steps(1.0, 7), 7);
    }
}
