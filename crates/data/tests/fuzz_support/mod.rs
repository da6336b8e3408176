//! Shared machinery of the property-based fuzz tests (`crates/data/tests/fuzz.rs` and
//! `crates/trainer/tests/fuzz.rs`, which includes this file by path): a counting global allocator,
//! the case count and seed taken from the environment, byte-level mutations, and a runner that
//! prints one line per property.
//!
//! Environment:
//! - `MNIST_BURN_FUZZ_CASES`: cases per property (default [`DEFAULT_CASES`]); `scripts/fuzz.sh`
//!   raises it for the long campaign.
//! - `MNIST_BURN_FUZZ_SEED`: a `u64` mixed into every property's seed (default 0, so the normal
//!   suite is reproducible); the long campaign passes a random one and prints it.

// The one unsafe item: a `GlobalAlloc` that forwards every call to `System` unchanged and only
// records the largest request, which is how "no allocation larger than the input justifies" is
// measured.
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// Cases per property when `MNIST_BURN_FUZZ_CASES` is unset: with the 4 properties of the data
/// crate and the 6 of the trainer, 12,500 cases in the normal test suite (about 2 s of tests).
pub const DEFAULT_CASES: u32 = 1250;

/// Forwards to the system allocator, recording on the calling thread the largest single request.
pub struct CountingAlloc;

thread_local! {
    // `const`-initialized and without a destructor, so reading it from inside the allocator
    // neither allocates nor can be torn down under it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    // Cases whose input the reader accepted, so the summary line shows the fuzzer reaches past
    // the first checks rather than feeding only files refused at the magic bytes.
    static ACCEPTED: Cell<u64> = const { Cell::new(0) };
}

/// Counts the current case as one the reader accepted (a valid value, not an error).
pub fn accepted() {
    ACCEPTED.with(|a| a.set(a.get() + 1));
}

fn record(size: usize) {
    // `try_with`: a thread that is exiting has lost its thread-locals; such requests are not ours.
    let _ = LARGEST.try_with(|l| {
        if size > l.get() {
            l.set(size);
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; `record` only touches a plain thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the largest single allocation it requested on this
/// thread (work it hands to other threads is not counted; the readers fuzzed here run on one).
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// Fails the case when `largest` exceeds `bound`, naming what was being read.
pub fn check_allocation(what: &str, largest: usize, bound: usize) -> Result<(), TestCaseError> {
    if largest > bound {
        return Err(TestCaseError::fail(format!("{what}: allocated {largest} bytes at once, more than the {bound} the input justifies")));
    }
    Ok(())
}

/// One MiB: the fixed part of every allocation bound. serde caps the capacity it reserves from a
/// declared sequence length at 1 MiB (`size_hint::cautious`), and flate2's inflate state, buffers
/// and the error strings stay far below it.
pub const MIB: usize = 1 << 20;

/// Cases per property.
pub fn cases() -> u32 {
    match std::env::var("MNIST_BURN_FUZZ_CASES") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("MNIST_BURN_FUZZ_CASES = {v:?}: expected a number of cases")),
        Err(_) => DEFAULT_CASES,
    }
}

fn base_seed() -> u64 {
    match std::env::var("MNIST_BURN_FUZZ_SEED") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("MNIST_BURN_FUZZ_SEED = {v:?}: expected an unsigned 64-bit number")),
        Err(_) => 0,
    }
}

/// Runs `test` on `cases()` values of `strategy`, seeded from the property's name and
/// `MNIST_BURN_FUZZ_SEED`, and prints `fuzz NAME: N cases, F failures (seed S)`. A failure
/// (including a panic, which proptest catches) is shrunk and reported with its minimal input;
/// the test then panics.
pub fn run<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let seed = base_seed();
    let cases = cases();
    let config = Config {
        cases,
        // Nothing is written into the repository: a failure prints its input and the seed instead.
        failure_persistence: None,
        // Shrinking re-runs the reader; bounded so a failure is reported in seconds.
        max_shrink_iters: 512,
        ..Config::default()
    };
    // ChaCha seeded from the name and the base seed: every property draws its own sequence, the
    // same on every run and machine for the same seed.
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    for (i, b) in name.bytes().enumerate() {
        key[8 + i % 24] ^= b.rotate_left(i as u32 / 24);
    }
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let ran = AtomicU64::new(0);
    ACCEPTED.with(|a| a.set(0));
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    match result {
        Ok(()) => {
            let accepted = ACCEPTED.with(Cell::get);
            let refused = u64::from(cases).saturating_sub(accepted);
            println!("fuzz {name}: {cases} cases, 0 failures ({accepted} accepted as valid, {refused} refused with a typed error; seed {seed})");
        }
        Err(TestError::Fail(reason, value)) => {
            println!("fuzz {name}: {} cases run, 1 failure (seed {seed})", ran.load(Ordering::Relaxed));
            panic!("fuzz {name} (MNIST_BURN_FUZZ_SEED={seed}): {reason}\nminimal failing input: {value:#?}");
        }
        Err(TestError::Abort(reason)) => panic!("fuzz {name} aborted: {reason}"),
    }
}

/// A temporary directory for the files of one property, in memory (`/dev/shm`) where the
/// system has it: every case writes its files anew, and on a disk-backed `/tmp` those writes,
/// not the readers, took most of the time.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new().prefix("mnist-burn-fuzz-").tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// Where a mutation applies: anywhere in the buffer, or within its first `head` bytes (headers,
/// where most of a reader's decisions are made).
#[derive(Debug, Clone)]
pub enum Pos {
    /// Offset from the start, taken modulo the header length.
    Head(usize),
    /// Offset anywhere, taken modulo the buffer length.
    Any(usize),
}

impl Pos {
    fn resolve(&self, len: usize, head: usize) -> usize {
        match *self {
            Pos::Head(i) => i % head.clamp(1, len.max(1)),
            Pos::Any(i) => i % len.max(1),
        }
    }
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip one bit.
    FlipBit(Pos, u8),
    /// Overwrite one byte.
    SetByte(Pos, u8),
    /// Write a 32-bit word, big- or little-endian (header counts and sizes: 0, 1, huge).
    SetU32 { at: Pos, value: u32, big_endian: bool },
    /// Write a 64-bit little-endian word.
    SetU64 { at: Pos, value: u64 },
    /// Cut the file at this length.
    Truncate(Pos),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Insert bytes.
    Insert(Pos, Vec<u8>),
    /// Remove up to `n` bytes.
    Remove(Pos, u8),
    /// Repeat a slice of the file (up to 64 bytes) at its end.
    Duplicate(Pos, u8),
}

impl Mutation {
    /// Applies the mutation; `head` is the header length that [`Pos::Head`] aims at.
    pub fn apply(&self, bytes: &mut Vec<u8>, head: usize) {
        let len = bytes.len();
        match self {
            Mutation::FlipBit(p, bit) if len > 0 => {
                let i = p.resolve(len, head);
                bytes[i] ^= 1 << (bit % 8);
            }
            Mutation::SetByte(p, v) if len > 0 => {
                let i = p.resolve(len, head);
                bytes[i] = *v;
            }
            Mutation::SetU32 { at, value, big_endian } => {
                let word = if *big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
                // Aligned to 2 so the header fields (every 4 bytes in IDX, at 6 in burnpack) are hit.
                let i = at.resolve(len, head) & !1;
                overwrite(bytes, i, &word);
            }
            Mutation::SetU64 { at, value } => overwrite(bytes, at.resolve(len, head), &value.to_le_bytes()),
            Mutation::Truncate(p) => bytes.truncate(p.resolve(len + 1, head + 1)),
            Mutation::Extend(extra) => bytes.extend_from_slice(extra),
            Mutation::Insert(p, extra) => {
                let i = p.resolve(len + 1, head + 1);
                bytes.splice(i..i, extra.iter().copied());
            }
            Mutation::Remove(p, n) if len > 0 => {
                let i = p.resolve(len, head);
                let end = (i + *n as usize).min(len);
                bytes.drain(i..end);
            }
            Mutation::Duplicate(p, n) if len > 0 => {
                let i = p.resolve(len, head);
                let end = (i + *n as usize % 64).min(len);
                let chunk = bytes[i..end].to_vec();
                bytes.extend_from_slice(&chunk);
            }
            _ => {}
        }
    }
}

fn overwrite(bytes: &mut [u8], at: usize, word: &[u8]) {
    for (k, b) in word.iter().enumerate() {
        if let Some(slot) = bytes.get_mut(at + k) {
            *slot = *b;
        }
    }
}

/// A position: in the header half of the time.
pub fn pos() -> impl Strategy<Value = Pos> {
    prop_oneof![any::<usize>().prop_map(Pos::Head), any::<usize>().prop_map(Pos::Any)]
}

/// 32-bit values that make header arithmetic interesting: zero, one, the signed and unsigned
/// extremes, and anything.
pub fn edge_u32() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), Just(1), Just(0x7FFF_FFFF), Just(0x8000_0000), Just(0xFFFF_FFFF), Just(0xFFFF), any::<u32>()]
}

/// One mutation, weighted toward the cheap, local ones.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (pos(), any::<u8>()).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        3 => (pos(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        3 => (pos(), edge_u32(), any::<bool>()).prop_map(|(at, value, big_endian)| Mutation::SetU32 { at, value, big_endian }),
        1 => (pos(), prop_oneof![Just(u64::MAX), Just(1u64 << 40), any::<u64>()]).prop_map(|(at, value)| Mutation::SetU64 { at, value }),
        2 => pos().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
        1 => (pos(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        1 => (pos(), any::<u8>()).prop_map(|(p, n)| Mutation::Remove(p, n)),
        1 => (pos(), any::<u8>()).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

/// Zero to four mutations (zero keeps the valid file: the reader must still accept it).
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 0..5)
}

/// Applies `ops` in order.
pub fn mutate(mut bytes: Vec<u8>, ops: &[Mutation], head: usize) -> Vec<u8> {
    for op in ops {
        op.apply(&mut bytes, head);
    }
    bytes
}
