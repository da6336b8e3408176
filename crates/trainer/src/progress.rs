//! Progress of a training run on stderr. On a terminal: a bar for the whole run (epochs done,
//! elapsed, time left) above the bar of the current epoch. Elsewhere (a log file, a notebook
//! cell, a sweep's trial log), where bars would be redrawn escape codes or nothing at all: one
//! plain line every few seconds. The per-epoch lines on stdout are printed in both cases.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mnist_runs::metrics::MetricRow;

/// What a caller watching a run in the same process is told as it trains: where the run is at
/// each logged step, and each epoch's metric rows once its checkpoint is saved. The Python
/// package's progress bar and `on_epoch` callback are fed from it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step where the loss is read (`training.log_every`): the same numbers as a progress line.
    Step(&'a Snapshot),
    /// An epoch is done and saved: its rows of `metrics.csv` (train, validation).
    Epoch(&'a [MetricRow]),
    /// A line the run reports (the header, each epoch's line, the test result): printed on stdout
    /// when no one observes the run, else given to the observer to show as it shows things.
    Line(&'a str),
}

/// A watcher of a run, called on the training thread; it must return quickly.
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(Event<'_>) + Send + Sync>);

impl Observer {
    /// An observer calling `f` with every event.
    pub fn new(f: impl Fn(Event<'_>) + Send + Sync + 'static) -> Observer {
        Observer(Arc::new(f))
    }

    /// Tells the observer `event`.
    pub fn tell(&self, event: Event<'_>) {
        (self.0)(event)
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars redrawn in place (stderr is a terminal).
    Bars,
    /// A plain line at most every `every` (stderr is a file or a pipe); zero prints one at every
    /// step where the loss is read (`training.log_every`).
    Lines {
        /// Least time between two lines.
        every: Duration,
    },
    /// Nothing but the per-epoch lines.
    Off,
}

/// Seconds between two plain progress lines when none is asked for.
pub const DEFAULT_LINE_SECONDS: f64 = 10.0;

impl ProgressMode {
    /// The mode for `train`'s flags: `--no-progress`, `--progress-every SECONDS` and whether
    /// stderr is a terminal. Asking for an interval gives lines even on a terminal.
    pub fn choose(no_progress: bool, every_seconds: Option<f64>, stderr_is_terminal: bool) -> ProgressMode {
        match (no_progress, every_seconds, stderr_is_terminal) {
            (true, _, _) => ProgressMode::Off,
            (false, Some(s), _) => ProgressMode::Lines { every: Duration::from_secs_f64(s.max(0.0)) },
            (false, None, true) => ProgressMode::Bars,
            (false, None, false) => ProgressMode::Lines { every: Duration::from_secs_f64(DEFAULT_LINE_SECONDS) },
        }
    }
}

/// Seconds left for the run: the time so far scaled by the work left, where work is counted in
/// epochs (a fraction within the current one) done since this invocation started, so validation
/// and checkpoints are in the estimate. `None` before anything is done.
pub fn eta_seconds(elapsed: f64, done: f64, left: f64) -> Option<f64> {
    (done > 0.0 && elapsed.is_finite() && left.is_finite()).then(|| elapsed / done * left.max(0.0))
}

/// `1:05:09`, `4:07`, `0:09`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// Where the run is, for a line or the run bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The current epoch, 1-based.
    pub epoch: usize,
    /// Epochs of the run.
    pub epochs: usize,
    /// Steps done in the current epoch.
    pub step: usize,
    /// Steps of the current epoch.
    pub steps: usize,
    /// Seconds since this invocation started.
    pub elapsed: f64,
    /// Seconds left, when known.
    pub eta: Option<f64>,
    /// The running numbers (`loss 0.1234 acc 0.97 · 51234 samples/s`).
    pub message: String,
}

impl Snapshot {
    /// The share of the whole run done, in [0, 1].
    pub fn run_fraction(&self) -> f64 {
        let within = if self.steps == 0 { 0.0 } else { self.step as f64 / self.steps as f64 };
        ((self.epoch.saturating_sub(1) as f64 + within) / self.epochs.max(1) as f64).clamp(0.0, 1.0)
    }

    /// The plain line: `progress: epoch 3/10, step 120/469 (26%) · run 23%, 0:45 elapsed, about 2:31 left · loss 0.1234`.
    pub fn line(&self) -> String {
        let pct = |f: f64| (f * 100.0).floor() as u64;
        let within = if self.steps == 0 { 0.0 } else { self.step as f64 / self.steps as f64 };
        let left = self.eta.map_or_else(|| "time left unknown yet".to_string(), |s| format!("about {} left", clock(s)));
        let mut line = format!(
            "progress: epoch {}/{}, step {}/{} ({}%) · run {}%, {} elapsed, {left}",
            self.epoch,
            self.epochs,
            self.step,
            self.steps,
            pct(within),
            pct(self.run_fraction()),
            clock(self.elapsed),
        );
        if !self.message.is_empty() {
            line += " · ";
            line += &self.message;
        }
        line
    }
}

/// Whether a plain line is due: `every` after the last one (or after the start).
pub fn line_due(last: Option<Instant>, now: Instant, every: Duration) -> bool {
    last.is_none_or(|last| now.duration_since(last) >= every)
}

/// The progress display of one `train` invocation.
pub struct Progress {
    mode: ProgressMode,
    epochs: usize,
    /// Epochs already done when this invocation started (a resumed run).
    first_epoch: usize,
    started: Instant,
    multi: Option<MultiProgress>,
    run_bar: Option<ProgressBar>,
    epoch_bar: Option<ProgressBar>,
    last_line: Option<Instant>,
    current: Snapshot,
    observer: Option<Observer>,
}

impl Progress {
    /// Progress of a run of `epochs` epochs of which `done` are finished.
    pub fn new(mode: ProgressMode, epochs: usize, done: usize) -> Progress {
        let (multi, run_bar) = if mode == ProgressMode::Bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let bar = multi.add(ProgressBar::new(epochs as u64));
            bar.set_style(
                ProgressStyle::with_template("run      [{bar:30.green/white}] {pos}/{len} epochs · {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_position(done as u64);
            (Some(multi), Some(bar))
        } else {
            (None, None)
        };
        Progress {
            mode,
            epochs,
            first_epoch: done,
            started: Instant::now(),
            multi,
            run_bar,
            epoch_bar: None,
            // The first line comes one interval after the start: a run shorter than that prints
            // only its epoch lines.
            last_line: Some(Instant::now()),
            current: Snapshot { epoch: done + 1, epochs, step: 0, steps: 0, elapsed: 0.0, eta: None, message: String::new() },
            observer: None,
        }
    }

    /// The same display, also telling `observer` (when given) each step and epoch.
    pub fn observed(mut self, observer: Option<Observer>) -> Progress {
        self.observer = observer;
        self
    }

    /// An epoch's metric rows are saved: tells the observer.
    pub fn epoch_saved(&self, rows: &[MetricRow]) {
        if let Some(o) = &self.observer {
            o.tell(Event::Epoch(rows));
        }
    }

    /// Epoch `epoch` (0-based) starts with `steps` steps.
    pub fn start_epoch(&mut self, epoch: usize, steps: usize) {
        self.current.epoch = epoch + 1;
        self.current.step = 0;
        self.current.steps = steps;
        self.current.message.clear();
        if let Some(multi) = &self.multi {
            let bar = multi.add(ProgressBar::new(steps as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30.cyan/blue}] {pos}/{len} steps · {elapsed_precise} < {eta_precise} · {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("epoch {}/{}", epoch + 1, self.epochs));
            self.epoch_bar = Some(bar);
        }
        self.refresh_run();
    }

    /// `step` steps of the current epoch are done; `message` holds the running numbers.
    pub fn step(&mut self, step: usize, message: String) {
        self.current.step = step;
        self.current.message = message;
        if let Some(bar) = &self.epoch_bar {
            bar.set_position(step as u64);
            bar.set_message(self.current.message.clone());
        }
        self.refresh_run();
        if let ProgressMode::Lines { every } = self.mode {
            let now = Instant::now();
            if line_due(self.last_line, now, every) {
                self.last_line = Some(now);
                // Progress is a courtesy: a closed stderr must not stop training.
                let _ = writeln!(std::io::stderr(), "{}", self.current.line());
            }
        }
        if let Some(o) = &self.observer {
            o.tell(Event::Step(&self.current));
        }
    }

    /// The current epoch is done (validated and saved).
    pub fn finish_epoch(&mut self) {
        if let Some(bar) = self.epoch_bar.take() {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
        }
        self.current.step = self.current.steps;
        if let Some(bar) = &self.run_bar {
            bar.set_position(self.current.epoch as u64);
        }
        self.refresh_run();
    }

    /// Runs `f` (which prints to stdout) with the bars hidden, so that its lines do not mix
    /// with them on the terminal.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }

    /// Reports a line of the run: on stdout between the bars, or to the observer when there is one.
    pub fn say(&self, line: &str) {
        match &self.observer {
            Some(o) => o.tell(Event::Line(line)),
            None => self.suspend(|| println!("{line}")),
        }
    }

    /// Training stopped early (a signal, an error): the bars are left as they are.
    pub fn abandon(&mut self) {
        if let Some(bar) = self.epoch_bar.take() {
            bar.abandon();
        }
        if let Some(bar) = self.run_bar.take() {
            bar.abandon();
        }
    }

    /// Training is over: the bars are cleared.
    pub fn finish(&mut self) {
        if let Some(bar) = self.run_bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Recomputes elapsed time and time left, and shows them on the run bar.
    fn refresh_run(&mut self) {
        self.current.elapsed = self.started.elapsed().as_secs_f64();
        let done_total = self.current.run_fraction() * self.epochs as f64;
        let done_here = done_total - self.first_epoch as f64;
        self.current.eta = eta_seconds(self.current.elapsed, done_here, self.epochs as f64 - done_total);
        if let Some(bar) = &self.run_bar {
            let left = self.current.eta.map_or_else(|| "estimating".to_string(), |s| format!("about {} left", clock(s)));
            bar.set_message(format!("{} elapsed · {left}", clock(self.current.elapsed)));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error return leaves no half-drawn bar behind the error message.
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_follows_the_flags_and_the_terminal() {
        assert_eq!(ProgressMode::choose(false, None, true), ProgressMode::Bars);
        assert_eq!(ProgressMode::choose(false, None, false), ProgressMode::Lines { every: Duration::from_secs(10) });
        assert_eq!(ProgressMode::choose(false, Some(2.5), true), ProgressMode::Lines { every: Duration::from_millis(2500) });
        assert_eq!(ProgressMode::choose(false, Some(-1.0), false), ProgressMode::Lines { every: Duration::ZERO });
        assert_eq!(ProgressMode::choose(true, Some(1.0), true), ProgressMode::Off);
        assert_eq!(ProgressMode::choose(true, None, false), ProgressMode::Off);
    }

    #[test]
    fn lines_are_due_once_per_interval() {
        let t0 = Instant::now();
        let every = Duration::from_secs(10);
        assert!(line_due(None, t0, every));
        assert!(!line_due(Some(t0), t0 + Duration::from_secs(9), every));
        assert!(line_due(Some(t0), t0 + Duration::from_secs(10), every));
        assert!(line_due(Some(t0), t0, Duration::ZERO));
    }

    #[test]
    fn time_left_scales_the_time_so_far() {
        assert_eq!(eta_seconds(30.0, 1.5, 3.0), Some(60.0));
        assert_eq!(eta_seconds(30.0, 0.0, 3.0), None);
        assert_eq!(eta_seconds(30.0, 2.0, 0.0), Some(0.0));
        assert_eq!(clock(9.4), "0:09");
        assert_eq!(clock(247.0), "4:07");
        assert_eq!(clock(3909.0), "1:05:09");
    }

    #[test]
    fn a_line_says_where_the_epoch_and_the_run_are() {
        let s = Snapshot { epoch: 3, epochs: 10, step: 120, steps: 469, elapsed: 45.0, eta: Some(151.0), message: "loss 0.1234".into() };
        assert_eq!(s.line(), "progress: epoch 3/10, step 120/469 (25%) · run 22%, 0:45 elapsed, about 2:31 left · loss 0.1234");
        assert!((s.run_fraction() - (2.0 + 120.0 / 469.0) / 10.0).abs() < 1e-12);
        let first = Snapshot { epoch: 1, epochs: 2, step: 0, steps: 0, elapsed: 0.0, eta: None, message: String::new() };
        assert_eq!(first.line(), "progress: epoch 1/2, step 0/0 (0%) · run 0%, 0:00 elapsed, time left unknown yet");
        let done = Snapshot { epoch: 2, epochs: 2, step: 10, steps: 10, elapsed: 5.0, eta: Some(0.0), message: String::new() };
        assert_eq!(done.run_fraction(), 1.0);
    }

    #[test]
    fn hidden_modes_draw_nothing_and_count_anyway() {
        let mut p = Progress::new(ProgressMode::Off, 4, 1);
        p.start_epoch(1, 10);
        p.step(5, "loss 1".into());
        assert_eq!(p.current.epoch, 2);
        assert!((p.current.run_fraction() - 1.5 / 4.0).abs() < 1e-12);
        // Half an epoch done in this invocation, 2.5 left: the estimate is five times the time so far.
        let eta = p.current.eta.unwrap();
        assert!((eta - p.current.elapsed * 5.0).abs() < 1e-9, "{eta} vs {}", p.current.elapsed);
        p.finish_epoch();
        assert_eq!(p.current.step, 10);
        p.finish();
    }

    #[test]
    fn an_observer_is_told_steps_epochs_and_lines_instead_of_stdout() {
        use std::sync::Mutex;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let observer = Observer::new(move |event| {
            let text = match event {
                Event::Step(s) => format!("step {}/{} {}", s.step, s.steps, s.message),
                Event::Epoch(rows) => format!("epoch rows {}", rows.len()),
                Event::Line(line) => format!("line {line}"),
            };
            log.lock().unwrap().push(text);
        });
        let mut p = Progress::new(ProgressMode::Off, 2, 0).observed(Some(observer));
        p.say("Training x");
        p.start_epoch(0, 4);
        p.step(2, "loss 1".into());
        p.finish_epoch();
        p.epoch_saved(&[]);
        assert_eq!(*seen.lock().unwrap(), ["line Training x", "step 2/4 loss 1", "epoch rows 0"]);
    }
}
