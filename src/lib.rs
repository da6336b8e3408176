//! What the command-line tools share: error printing at the edge and the handling of SIGINT and
//! SIGTERM. The tools themselves live in `src/bin/`; all the work is done by the `mnist-trainer`
//! crate.

use std::process::ExitCode;

use mnist_runs::{StopSignal, stop};

/// The allocator of every command. Training allocates and frees tens of megabytes of activations
/// and gradients per step; glibc's malloc hands such blocks back to the kernel on every free, so
/// each step paid for fresh zeroed pages and cross-core TLB flushes (the seed CNN spent a quarter
/// of its time there on `flex`). mimalloc keeps freed memory for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its index in `mi_option_e` of the mimalloc v3 sources that
/// `libmimalloc-sys` 0.1.49 (pinned by Cargo.lock) bundles. A unit test checks it reads that
/// version's default of 1,000 ms (`src/options.c`).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

#[allow(unsafe_code)]
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Tells mimalloc never to hand freed pages back to the kernel. By default it purges memory
/// freed a second ago, and a training step frees its activations and then allocates the same sizes
/// again a few milliseconds later: every step re-faulted and re-zeroed them (2 MiB huge pages
/// here). Measured on the MLP 784-500-300-10: 3,084 → 448 page faults and 4.3 → 3.5 s of CPU
/// time over 300 steps; peak RSS 318 → 333 MiB, as the process keeps its peak.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an integer option; any value is valid for this one.
    #[allow(unsafe_code)]
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    }
}

/// mimalloc's current purge delay in milliseconds (-1: never purge).
pub fn purge_delay() -> i64 {
    // SAFETY: reads an integer option.
    #[allow(unsafe_code)]
    let value = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
    value as i64
}

/// Runs a command's body, printing any error as one `error: ...` line (with its causes) and
/// turning it into a non-zero exit code; a panic becomes an error line too, never a backtrace.
///
/// The body runs on a thread of rayon's pool, the one `flex`, `gemm` and our kernels split their
/// work over. From the main thread, every parallel op (dozens per training step) handed its work
/// to the pool and slept until it was done, two thread wake-ups per op; from inside the pool the
/// calling thread takes its share and the other threads steal the rest (dropout autoencoder:
/// median 10,800 → 11,700 samples/s over eight alternating runs).
pub fn run_main(body: impl FnOnce() -> anyhow::Result<ExitCode> + std::panic::UnwindSafe + Send) -> ExitCode {
    keep_freed_memory();
    // The main thread's stack size for the body (rayon's threads get 2 MiB by default). Fails
    // only if the pool already exists, which then keeps its settings.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(8 << 20).build_global();
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown failure".into());
        let message = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        eprintln!("error: internal failure: {message}");
        if let Some(hint) = hint(&message) {
            eprintln!("hint: {hint}");
        }
    }));
    match std::panic::catch_unwind(|| rayon::scope(|_| body())) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            eprintln!("error: {}", one_line(&err));
            if let Some(mnist_trainer::TrainError::Interrupted { signal, .. }) = err.downcast_ref() {
                return ExitCode::from(signal.exit_code());
            }
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// The error and its causes on one line: `context: error: cause`. A cause whose text the message
/// before it already ends with (our error types print their source themselves) is not repeated,
/// and line breaks inside messages (TOML, wgpu) are folded so the error stays one line.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// What to do about a failure Burn reports as a panic, when we know: a GPU adapter that refuses
/// one buffer (the splits are held in chunks of 64 MiB, so this is a layer's weights or
/// activations, or a whole test split used by figures).
pub fn hint(message: &str) -> Option<String> {
    const TOO_BIG: &str = "can't allocate buffer of size: ";
    let at = message.find(TOO_BIG)? + TOO_BIG.len();
    let bytes: u64 = message[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some(format!(
        "the device cannot allocate a single buffer of {} MiB; run on the CPU with `--device flex`, \
         or use a smaller batch size (`training.batch_size`), model or `test_limit` in the config",
        bytes >> 20
    ))
}

/// Handles SIGINT (Ctrl-C) and SIGTERM (how Slurm, Kubernetes, systemd and `kill` stop a job)
/// alike: the first records a stop request ([`mnist_runs::stop`]), which the training loop
/// honours before its next step; a second exits at once with the shell's status for that signal
/// (130 or 143). Every file `train` writes is replaced atomically, so exiting at any moment
/// leaves the run readable and resumable.
pub fn stop_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    // Failing to install the handler only loses the clean stop: the default action still ends
    // the process, and the run stays resumable from its last checkpoint.
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    // The handler proper only writes to a pipe; this thread does the rest, where printing and
    // exiting are safe.
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever().filter_map(StopSignal::from_number) {
            if stop::request(signal) {
                eprintln!("\n{} again: exiting now", signal.name());
                std::process::exit(signal.exit_code().into());
            }
            eprintln!("\n{}: stopping at the next safe point (send it again to exit at once)", signal.name());
        }
    });
    drop(spawned);
}

#[cfg(test)]
mod tests {
    use super::{hint, keep_freed_memory, purge_delay};

    #[test]
    fn the_purge_option_index_is_mimallocs_purge_delay() {
        // The default of `purge_delay` is 1,000 ms (unless MIMALLOC_PURGE_DELAY is set); no
        // other option defaults to 1,000, so this pins the index to the right option.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), 1000);
        }
        keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }

    #[test]
    fn a_buffer_too_big_for_the_device_gets_a_hint_naming_its_size_and_the_way_out() {
        let wgpu = "Error while reading data; Caused by:; An IO error happened; Caused by:; can't allocate buffer of size: 188160000; No backtrace available";
        let hint = hint(wgpu).expect("a hint");
        assert!(hint.contains("179 MiB") && hint.contains("--device flex") && hint.contains("batch_size"), "{hint}");
        assert_eq!(super::hint("index out of bounds: the len is 3 but the index is 7"), None);
    }
}
