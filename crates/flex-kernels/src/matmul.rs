//! One `f32` matrix product on plain slices through the `gemm` crate (the one `flex` itself
//! uses), shared by our convolution and dense-layer kernels.

use std::mem::MaybeUninit;

/// Multiply-adds below which a product runs on one thread even when `parallel`: `flex`'s own
/// threshold. Waking the pool costs more than it saves there (the single-layer autoencoder's
/// `[256, 784] · [784, 32]` ran 20 % slower split).
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// One matrix product `dst [m, n] (+)= a [m, k] · b [k, n]`, all row-major.
pub(crate) struct Product {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Add to `dst` (`true`) or overwrite it.
    pub accumulate: bool,
    /// Spread a large product over the rayon pool (gemm picks the number of threads), or run it
    /// on the calling thread: callers that already spread their work over the pool.
    pub parallel: bool,
}

impl Product {
    /// Runs the product; `a_t`/`b_t` say the stored matrix is the transpose (`[k, m]` /
    /// `[n, k]`).
    pub fn run(&self, dst: &mut [f32], a: &[f32], a_t: bool, b: &[f32], b_t: bool) {
        assert!(dst.len() >= self.m * self.n, "product output too short");
        // SAFETY of the cast: `f32` and `MaybeUninit<f32>` have one layout, and the product
        // writes only `f32` values.
        #[allow(unsafe_code)]
        let dst = unsafe { &mut *(std::ptr::from_mut(dst) as *mut [MaybeUninit<f32>]) };
        self.gemm(dst, a, a_t, b, b_t);
    }

    /// The product into a new `[m, n]` buffer (never zeroed first: gemm writes every element).
    /// Needs `accumulate` false.
    pub fn run_new(&self, a: &[f32], a_t: bool, b: &[f32], b_t: bool) -> Vec<f32> {
        assert!(
            !self.accumulate,
            "a new buffer has nothing to accumulate into"
        );
        let mut dst = Box::new_uninit_slice(self.m * self.n);
        self.gemm(&mut dst, a, a_t, b, b_t);
        // SAFETY: with `accumulate` false gemm writes each of the `m · n` elements of the
        // contiguous row-major `dst` (row stride `n`, column stride 1) exactly once.
        #[allow(unsafe_code)]
        unsafe { dst.assume_init() }.into_vec()
    }

    #[allow(unsafe_code)]
    fn gemm(&self, dst: &mut [MaybeUninit<f32>], a: &[f32], a_t: bool, b: &[f32], b_t: bool) {
        let Product {
            m,
            k,
            n,
            accumulate,
            parallel,
        } = *self;
        assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
        // (column stride, row stride) of each operand as stored.
        let (a_cs, a_rs) = if a_t { (m, 1) } else { (1, k) };
        let (b_cs, b_rs) = if b_t { (k, 1) } else { (1, n) };
        let parallelism = if parallel && m * n * k >= PARALLEL_THRESHOLD {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: the assert above keeps every index the strides reach inside its slice, and
        // `dst` is borrowed mutably so it aliases neither operand. With `accumulate` false gemm
        // never reads `dst` (`dst = 1·a·b`), so it may be uninitialized; with it true, `dst =
        // 1·dst + 1·a·b`, and every caller passes initialized values.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr().cast::<f32>(),
                1,
                n as isize,
                accumulate,
                a.as_ptr(),
                a_cs as isize,
                a_rs as isize,
                b.as_ptr(),
                b_cs as isize,
                b_rs as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}
