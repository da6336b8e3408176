//! Helpers shared by the end-to-end tests: run the real binaries from the repository root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository root (the binaries resolve `configs/` and `data/` from there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for one of the binaries, run from the repository root.
pub fn bin(name: &str) -> Command {
    let path = match name {
        "train" => env!("CARGO_BIN_EXE_train"),
        "eval" => env!("CARGO_BIN_EXE_eval"),
        "report" => env!("CARGO_BIN_EXE_report"),
        other => panic!("no binary {other}"),
    };
    let mut cmd = Command::new(path);
    cmd.current_dir(root());
    // The CPU backend unless a test names another: a GPU build (CI builds with `wgpu`) would
    // otherwise default to the slow software Vulkan driver, and resumed runs are compared
    // bit-for-bit on the CPU.
    cmd.env("MNIST_BURN_DEVICE", "flex");
    cmd
}

/// Runs a binary with `args`; returns (exit code, stdout, stderr).
pub fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    output(bin(name).args(args))
}

/// Runs a prepared command (e.g. [`bin`] with its environment changed); returns (exit code,
/// stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a config file into `dir` and returns its path as a string.
pub fn write_config(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every file under `dir` with its bytes, to check that nothing changed.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The loss and accuracy of the `test ...` line `train` prints.
pub fn test_line_metrics(stdout: &str) -> (f64, f64) {
    let line = stdout.lines().find(|l| l.starts_with("test ")).expect("train prints a test line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let loss = words[words.iter().position(|w| *w == "loss").unwrap() + 1].parse().unwrap();
    let acc = words[words.iter().position(|w| *w == "acc").unwrap() + 1].parse().unwrap();
    (loss, acc)
}

// ---------------------------------------------------------------------------------------------
// Waiting for another process

/// How long any wait of the suite may last before it is taken for a hang: far above every normal
/// wait, even on a loaded 2-core machine. It is not a timing assertion: it only turns a process
/// that would never get there into a failure that names what was awaited.
pub const WAIT_BOUND: Duration = Duration::from_secs(600);

/// Polls `poll` every `every` until it returns a value; `None` once `bound` has passed without one.
pub fn poll_within<T>(bound: Duration, every: Duration, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = poll() {
            return Some(value);
        }
        if start.elapsed() > bound {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Fails the test: `what` did not happen within `bound`; `context` (a process's stderr, a log)
/// follows the message when not empty.
#[track_caller]
pub fn hang(what: &str, bound: Duration, context: &str) -> ! {
    let context = if context.trim().is_empty() { String::new() } else { format!("\n{}", context.trim_end()) };
    panic!("gave up waiting for {what} after {} s (a bound far above any normal wait: this is a hang){context}", bound.as_secs())
}

/// Polls `done` every `every` until it holds; fails the test naming `what` if it does not within
/// `bound` (use [`WAIT_BOUND`]).
#[track_caller]
pub fn wait_until(what: &str, bound: Duration, every: Duration, mut done: impl FnMut() -> bool) {
    if poll_within(bound, every, || done().then_some(())).is_none() {
        hang(what, bound, "");
    }
}

// ---------------------------------------------------------------------------------------------
// Runs stopped at a named point (the trainer's test hooks, `mnist_runs::hooks`)

/// A `train` process told to pause at named fault points; each pause creates a file named after
/// its point in `markers`, and the process waits there until it gets a signal or is killed.
pub struct Paused {
    /// The process.
    pub child: std::process::Child,
    /// Where its pauses are announced.
    pub markers: tempfile::TempDir,
}

/// Starts `train --config CONFIG --out OUT EXTRA...` (CPU backend, stdout discarded, stderr kept)
/// with the test hooks set to pause at `points` (e.g. `["step@170", "shutdown"]`).
pub fn spawn_paused(config: &Path, out: &Path, extra: &[&str], points: &[&str]) -> Paused {
    let markers = tempfile::tempdir().unwrap();
    let child = bin("train")
        .args(["--config", &config.display().to_string(), "--out", &out.display().to_string()])
        .args(extra)
        .env("MNIST_BURN_TEST_PAUSE_AT", points.join(","))
        .env("MNIST_BURN_TEST_MARKER_DIR", markers.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    Paused { child, markers }
}

impl Paused {
    /// Waits until the process is paused at `point` and returns true, or returns false when it
    /// exits without reaching it. The process either reaches the point or ends; a process that
    /// does neither within [`WAIT_BOUND`] is a hang, and fails the test with its stderr.
    #[track_caller]
    pub fn reached(&mut self, point: &str) -> bool {
        let marker = self.markers.path().join(point);
        let child = &mut self.child;
        let reached = poll_within(WAIT_BOUND, Duration::from_millis(1), || {
            if marker.exists() {
                return Some(true);
            }
            if child.try_wait().unwrap().is_some() {
                // It may have paused and been woken in between: the marker settles that.
                return Some(marker.exists());
            }
            None
        });
        match reached {
            Some(reached) => reached,
            None => {
                let pid = self.child.id();
                let stderr = self.kill_and_read_stderr();
                hang(&format!("train (pid {pid}) to pause at {point} or exit"), WAIT_BOUND, &format!("its stderr:\n{stderr}"))
            }
        }
    }

    /// [`Paused::reached`], failing the test with the process's stderr when the point is not reached.
    #[track_caller]
    pub fn wait_for(&mut self, point: &str) {
        if !self.reached(point) {
            let status = self.child.try_wait();
            let stderr = self.kill_and_read_stderr();
            panic!("train exited ({status:?}) before reaching {point}:\n{stderr}");
        }
    }

    /// Kills the process (if it still runs), reaps it and returns what it wrote to stderr.
    fn kill_and_read_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        stderr
    }

    /// Sends `signal` (`INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to exit; returns (exit code, stderr).
    pub fn finish(self) -> (Option<i32>, String) {
        let out = self.child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `metrics.csv` without its timing column (`seconds`, the last): what must be identical
/// between an interrupted-and-resumed run and an uninterrupted one.
pub fn metrics_without_seconds(run_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

/// The validation loss of every epoch, in order, from the lines of a run's `metrics.csv` (as
/// [`metrics_without_seconds`] returns them, header first).
#[track_caller]
pub fn validation_losses(metrics: &[String]) -> Vec<f64> {
    let header: Vec<&str> = metrics[0].split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column in {header:?}"));
    let (epoch, split, loss) = (column("epoch"), column("split"), column("loss"));
    let mut losses = Vec::new();
    for row in &metrics[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        if cells[split] == "validation" {
            assert_eq!(cells[epoch].parse::<usize>().unwrap(), losses.len() + 1, "validation rows out of order: {metrics:?}");
            losses.push(cells[loss].parse::<f64>().unwrap());
        }
    }
    losses
}

/// The checkpoints a run keeps, derived from its validation losses by the trainer's rules (the
/// best epoch is the first of the lowest validation loss; saving an epoch removes the oldest
/// checkpoints beyond `keep`, except the best): element `e - 1` holds the epochs on disk once
/// epoch `e` is saved, and whether saving it removed one (reached the `prune@e` point).
pub fn kept_checkpoints(losses: &[f64], keep: usize) -> Vec<(Vec<u64>, bool)> {
    let mut on_disk: Vec<u64> = Vec::new();
    let mut best: Option<(u64, f64)> = None;
    let mut out = Vec::new();
    for (i, &loss) in losses.iter().enumerate() {
        let epoch = i as u64 + 1;
        if best.is_none_or(|(_, b)| loss < b) {
            best = Some((epoch, loss));
        }
        on_disk.push(epoch);
        let excess = on_disk.len().saturating_sub(keep.max(1));
        let doomed: Vec<u64> = on_disk[..excess].iter().copied().filter(|&e| Some(e) != best.map(|(b, _)| b)).collect();
        on_disk.retain(|e| !doomed.contains(e));
        out.push((on_disk.clone(), !doomed.is_empty()));
    }
    out
}

/// Every checkpoint's `state.json` parses and its weights are there, and `metrics.csv` parses
/// with a whole number of epochs; returns the epochs of the checkpoints.
#[track_caller]
pub fn assert_readable(run_dir: &Path) -> Vec<u64> {
    let mut epochs = Vec::new();
    for entry in std::fs::read_dir(run_dir.join("checkpoints")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("epoch-") {
            assert!(name.starts_with(".tmp-") || name.starts_with(".trash-"), "unexpected {name}");
            continue;
        }
        let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path.join("state.json")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/state.json does not parse: {e}"));
        epochs.push(state["epoch"].as_u64().unwrap());
        for f in ["model.bpk", "optimizer.bpk"] {
            assert!(std::fs::metadata(path.join(f)).unwrap().len() > 0, "{name}/{f} is empty");
        }
    }
    if let Ok(text) = std::fs::read_to_string(run_dir.join("metrics.csv")) {
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("epoch,split,loss"), "{text}");
        let rows: Vec<&str> = lines.collect();
        assert!(rows.len().is_multiple_of(2), "metrics.csv holds half an epoch:\n{text}");
        for row in rows {
            assert_eq!(row.split(',').count(), 12, "a cut metrics row: {row}");
            row.split(',').next().unwrap().parse::<u64>().unwrap();
        }
    }
    epochs.sort();
    epochs
}

/// Every point of the run's TensorBoard event file as (tag, step, value bits), sorted, less the
/// timings (`*/seconds`); the run must have exactly one event file, and it must decode whole.
pub fn event_points(run_dir: &Path) -> Vec<(String, i64, u32)> {
    use mnist_runs::tensorboard::{event_files, read_events};
    let files = event_files(&run_dir.join("tensorboard")).unwrap();
    assert_eq!(files.len(), 1, "one event file in {}: {files:?}", run_dir.display());
    let mut points: Vec<(String, i64, u32)> = read_events(&files[0])
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .flat_map(|e| e.values.into_iter().map(move |(tag, v)| (tag, e.step, v.to_bits())))
        .filter(|(tag, _, _)| !tag.ends_with("/seconds"))
        .collect();
    points.sort();
    points
}

/// The path of the binary `name` (one `bin()` does not list), built with the tests.
pub fn bin_path(name: &str) -> &'static str {
    match name {
        "sweep" => env!("CARGO_BIN_EXE_sweep"),
        "noise-sweep" => env!("CARGO_BIN_EXE_noise-sweep"),
        "serve" => env!("CARGO_BIN_EXE_serve"),
        "bench" => env!("CARGO_BIN_EXE_bench"),
        other => panic!("no binary {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A running `serve`

/// A running `serve --port 0` and the address it printed; killed when dropped.
pub struct Server {
    /// The process.
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` (a `serve ... --port 0` command) and waits for the first line it prints, the
/// address it listens on.
pub fn start_server(cmd: &mut Command) -> Server {
    use std::io::{BufRead, BufReader};
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("serve printed no address: {line:?}")).to_string();
    Server { child, addr }
}

/// One raw HTTP/1.1 request (nothing normalizes the path on the way); the status and the body.
pub fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}
