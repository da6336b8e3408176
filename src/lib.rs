//! What the command-line tools share: error printing at the edge and the Ctrl-C flag. The tools
//! themselves live in `src/bin/`; all the work is done by the `mnist-trainer` crate.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The allocator of every command. Training allocates and frees tens of megabytes of activations
/// and gradients per step; glibc's malloc hands such blocks back to the kernel on every free, so
/// each step paid for fresh zeroed pages and cross-core TLB flushes (the seed CNN spent a quarter
/// of its time there on `flex`). mimalloc keeps freed memory for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs a command's body, printing any error as one `error: ...` line (with its causes) and
/// turning it into a non-zero exit code; a panic becomes an error line too, never a backtrace.
pub fn run_main(body: impl FnOnce() -> anyhow::Result<ExitCode> + std::panic::UnwindSafe) -> ExitCode {
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
    match std::panic::catch_unwind(body) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            eprintln!("error: {}", one_line(&err));
            if let Some(mnist_trainer::TrainError::Interrupted { .. }) = err.downcast_ref() {
                return ExitCode::from(130);
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
/// one buffer the size of a whole split (Mesa's software Vulkan caps a buffer below the 188 MB of
/// the float32 MNIST training set, which the loop keeps resident as one tensor).
pub fn hint(message: &str) -> Option<String> {
    const TOO_BIG: &str = "can't allocate buffer of size: ";
    let at = message.find(TOO_BIG)? + TOO_BIG.len();
    let bytes: u64 = message[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some(format!(
        "the device cannot allocate a single buffer of {} MiB (the whole training split is kept as one tensor); \
         run on the CPU with `--device flex`, or set a smaller `train_limit` in the config's [data] section",
        bytes >> 20
    ))
}

/// A flag set by the first Ctrl-C (the loop then stops cleanly); a second Ctrl-C exits at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    // Failing to install the handler (e.g. one is already set) only loses the clean stop.
    let _ = ctrlc::set_handler(move || {
        if seen.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: exiting now");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping before the next step (Ctrl-C again to exit at once)");
    });
    flag
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn a_buffer_too_big_for_the_device_gets_a_hint_naming_its_size_and_the_way_out() {
        let wgpu = "Error while reading data; Caused by:; An IO error happened; Caused by:; can't allocate buffer of size: 188160000; No backtrace available";
        let hint = hint(wgpu).expect("a hint");
        assert!(hint.contains("179 MiB") && hint.contains("--device flex") && hint.contains("train_limit"), "{hint}");
        assert_eq!(super::hint("index out of bounds: the len is 3 but the index is 7"), None);
    }
}
