//! Process-wide stop requests: the signal (SIGINT from Ctrl-C, SIGTERM from a scheduler such as
//! Slurm, Kubernetes or systemd) that asked the running command to stop before its next step.
//!
//! Signals are process-wide, so is this state: the binaries' handler records a signal here and
//! the training loop (and the test hooks, which wait for a signal) read it. Nothing in here
//! installs a handler; `mnist-cli` does, so the library stays usable without one.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked to stop, by number (0: none yet).
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// Why a run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C in a terminal).
    Interrupt,
    /// SIGTERM (how schedulers and `kill` stop a job).
    Terminate,
}

impl StopSignal {
    /// The POSIX signal number.
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Interrupt => 2,
            StopSignal::Terminate => 15,
        }
    }

    /// The signal of a POSIX number, if it is one of the two that stop a run.
    pub fn from_number(number: i32) -> Option<StopSignal> {
        match number {
            2 => Some(StopSignal::Interrupt),
            15 => Some(StopSignal::Terminate),
            _ => None,
        }
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    /// The shell's exit status of a process ended by this signal (128 + its number): 130 or 143.
    pub fn exit_code(self) -> u8 {
        128 + self.number() as u8
    }
}

/// Records a stop request; returns whether one had already been made: the caller then exits at
/// once (a second Ctrl-C or SIGTERM means "now"). Only the first is recorded, so nothing that
/// waits for a request (a test hook's pause) resumes work while the process exits.
pub fn request(signal: StopSignal) -> bool {
    REQUESTED.compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst).is_err()
}

/// Forgets a stop request, so the next run in this process is not stopped by the last one's.
/// For a process that runs several commands and stays alive after a stop (the Python package: a
/// notebook's Ctrl-C stops one `train()` call, and the next call must start clean); the
/// command-line tools exit after one.
pub fn reset() {
    REQUESTED.store(0, Ordering::SeqCst);
}

/// The first stop request, if one was made.
pub fn requested() -> Option<StopSignal> {
    StopSignal::from_number(REQUESTED.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::StopSignal;

    #[test]
    fn signals_map_to_their_numbers_names_and_shell_exit_codes() {
        for s in [StopSignal::Interrupt, StopSignal::Terminate] {
            assert_eq!(StopSignal::from_number(s.number()), Some(s));
        }
        assert_eq!((StopSignal::Interrupt.exit_code(), StopSignal::Terminate.exit_code()), (130, 143));
        assert_eq!(StopSignal::Terminate.name(), "SIGTERM");
        assert_eq!(StopSignal::from_number(9), None);
    }
}
