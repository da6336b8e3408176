//! The three loops of a convolution on the CPU, on plain `f32` slices: forward, input gradient
//! and weight/bias gradient, each as "im2col one image, then one matrix product".
//!
//! Burn's `flex` backend derives the weight gradient from a convolution whose kernel is the
//! whole output gradient (`[filters, batch, 24, 24]` for the seed CNN, for a 3×3 output), a shape
//! its tiled conv loops are not made for. Here every pass is one `gemm` per image over a patch
//! matrix small enough to stay in cache, images spread over the rayon pool.

use rayon::prelude::*;

use crate::cpu_pointwise::vectorized;

/// Where the window of a 2-D convolution falls: strides and zero padding, per axis
/// `[height, width]`. Padding may differ at the two ends (Keras' `same` puts the odd row and
/// column at the bottom and right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Step of the window along height and width.
    pub stride: [usize; 2],
    /// Zero rows/columns added `[[top, bottom], [left, right]]`.
    pub padding: [[usize; 2]; 2],
}

impl ConvGeometry {
    /// Output size along `axis` (0 = height, 1 = width) for an input of `input` and a kernel of
    /// `kernel`, or `None` when the window doesn't fit.
    pub fn output_size(&self, axis: usize, input: usize, kernel: usize) -> Option<usize> {
        let [begin, end] = self.padding[axis];
        let padded = input + begin + end;
        (padded >= kernel && self.stride[axis] > 0)
            .then(|| (padded - kernel) / self.stride[axis] + 1)
    }
}

/// The sizes of one convolution `x [batch, channels, height, width]` → `y [batch, filters,
/// out_height, out_width]` with a kernel `[filters, channels, kernel_h, kernel_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub channels: usize,
    /// Input `[height, width]`.
    pub input: [usize; 2],
    /// Output channels.
    pub filters: usize,
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Output `[height, width]`.
    pub output: [usize; 2],
    /// Strides and padding.
    pub geometry: ConvGeometry,
}

impl ConvShape {
    /// The shape of `x [batch, channels, h, w]` convolved with `weight [filters, channels, kh,
    /// kw]`, or `None` when the channels disagree or the window doesn't fit.
    pub fn new(x: [usize; 4], weight: [usize; 4], geometry: ConvGeometry) -> Option<Self> {
        let [batch, channels, h, w] = x;
        let [filters, weight_channels, kh, kw] = weight;
        if channels != weight_channels {
            return None;
        }
        Some(Self {
            batch,
            channels,
            input: [h, w],
            filters,
            kernel: [kh, kw],
            output: [
                geometry.output_size(0, h, kh)?,
                geometry.output_size(1, w, kw)?,
            ],
            geometry,
        })
    }

    fn image_len(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    fn out_pixels(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Rows of the patch matrix: one per (channel, kernel row, kernel column).
    fn patch_rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// The output size in elements.
    pub fn output_len(&self) -> usize {
        self.batch * self.filters * self.out_pixels()
    }

    /// The input size in elements.
    pub fn input_len(&self) -> usize {
        self.batch * self.image_len()
    }

    /// The weight size in elements.
    pub fn weight_len(&self) -> usize {
        self.filters * self.patch_rows()
    }

    /// For kernel offset `k` along `axis`: the first and one-past-last output positions whose
    /// input index `o * stride + k - pad_begin` lies inside the image.
    fn valid_range(&self, axis: usize, k: usize) -> (usize, usize) {
        let stride = self.geometry.stride[axis];
        let pad = self.geometry.padding[axis][0];
        let (input, output) = (self.input[axis], self.output[axis]);
        // o * stride + k >= pad  and  o * stride + k < input + pad
        let first = pad.saturating_sub(k).div_ceil(stride);
        let end = if input + pad > k {
            (input + pad - k).div_ceil(stride).min(output)
        } else {
            0
        };
        (first.min(end), end)
    }

    /// Writes the patch matrix `[channels·kh·kw, out_h·out_w]` of one image (zeros where the
    /// window hangs over the padding).
    fn im2col(&self, image: &[f32], cols: &mut [f32]) {
        vectorized(
            #[inline(always)]
            || self.im2col_loops(image, cols),
        )
    }

    #[inline(always)]
    fn im2col_loops(&self, image: &[f32], cols: &mut [f32]) {
        let [h, w] = self.input;
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.output;
        let [sh, sw] = self.geometry.stride;
        let [pt, pl] = [self.geometry.padding[0][0], self.geometry.padding[1][0]];
        let mut rows = cols.chunks_exact_mut(oh * ow);
        for c in 0..self.channels {
            let plane = &image[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                let (y0, y1) = self.valid_range(0, i);
                for j in 0..kw {
                    let (x0, x1) = self.valid_range(1, j);
                    let row = rows.next().expect("patch matrix sized by patch_rows");
                    // Zeros where the window hangs over the padding: one fill for the whole row
                    // rather than pieces of each line (most rows of a `valid` layer need none).
                    if y0 > 0 || y1 < oh || x0 > 0 || x1 < ow {
                        row.fill(0.0);
                    }
                    if y0 >= y1 || x0 >= x1 {
                        continue;
                    }
                    let first = x0 * sw + j - pl;
                    if sh == 1 && sw == 1 && ow == w {
                        // A `same` convolution of stride 1: output and input lines are equally
                        // long, so the taps of all lines are one contiguous run of the plane,
                        // shifted. One copy instead of one per line; it also writes neighbouring
                        // pixels into the padded columns, which are zeroed again after it.
                        let (start, end) = (y0 * ow + x0, (y1 - 1) * ow + x1);
                        let from = (y0 + i - pt) * w + first;
                        row[start..end].copy_from_slice(&plane[from..from + (end - start)]);
                        if x0 > 0 || x1 < ow {
                            for line in row[y0 * ow..y1 * ow].chunks_exact_mut(ow) {
                                line[..x0].fill(0.0);
                                line[x1..].fill(0.0);
                            }
                        }
                        continue;
                    }
                    for oy in y0..y1 {
                        let line = &plane[(oy * sh + i - pt) * w..][..w];
                        let out = &mut row[oy * ow + x0..oy * ow + x1];
                        if sw == 1 {
                            copy_short(out, &line[first..first + (x1 - x0)]);
                        } else {
                            gather_strided(out, &line[first..], sw);
                        }
                    }
                }
            }
        }
    }

    /// Adds the patch-matrix gradient of one image back onto its pixels (the transpose of
    /// [`Self::im2col`]); `image` must start zeroed. `cols` is scratch: the entries for padding
    /// positions may be zeroed.
    fn col2im(&self, cols: &mut [f32], image: &mut [f32]) {
        vectorized(
            #[inline(always)]
            || self.col2im_loops(cols, image),
        )
    }

    #[inline(always)]
    fn col2im_loops(&self, cols: &mut [f32], image: &mut [f32]) {
        let [h, w] = self.input;
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.output;
        let [sh, sw] = self.geometry.stride;
        let [pt, pl] = [self.geometry.padding[0][0], self.geometry.padding[1][0]];
        let mut rows = cols.chunks_exact_mut(oh * ow);
        for c in 0..self.channels {
            let plane = &mut image[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                let (y0, y1) = self.valid_range(0, i);
                for j in 0..kw {
                    let (x0, x1) = self.valid_range(1, j);
                    let row = rows.next().expect("patch matrix sized by patch_rows");
                    if y0 >= y1 || x0 >= x1 {
                        continue;
                    }
                    if sh == 1 && sw == 1 && ow == w {
                        // As in `im2col`: one contiguous add for the whole row, after zeroing
                        // its padded columns (they would land on neighbouring pixels).
                        if x0 > 0 || x1 < ow {
                            for line in row[y0 * ow..y1 * ow].chunks_exact_mut(ow) {
                                line[..x0].fill(0.0);
                                line[x1..].fill(0.0);
                            }
                        }
                        let (start, end) = (y0 * ow + x0, (y1 - 1) * ow + x1);
                        let to = (y0 + i - pt) * w + x0 + j - pl;
                        for (d, s) in plane[to..to + (end - start)].iter_mut().zip(&row[start..end]) {
                            *d += s;
                        }
                        continue;
                    }
                    for oy in y0..y1 {
                        let src = &row[oy * ow + x0..oy * ow + x1];
                        let line = &mut plane[(oy * sh + i - pt) * w..][..w];
                        if sw == 1 {
                            let start = x0 + j - pl;
                            for (d, s) in line[start..start + src.len()].iter_mut().zip(src) {
                                *d += s;
                            }
                        } else {
                            scatter_add_strided(&mut line[x0 * sw + j - pl..], src, sw);
                        }
                    }
                }
            }
        }
    }

    /// `y = conv(x, weight) + bias`: `x` is `[batch, channels, h, w]`, `weight` `[filters,
    /// channels, kh, kw]`, `bias` `[filters]`, all contiguous; returns `[batch, filters, oh, ow]`.
    pub fn forward(&self, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        self.check(x.len(), weight.len());
        assert_eq!(bias.len(), self.filters, "conv bias length");
        let (rows, pixels) = (self.patch_rows(), self.out_pixels());
        let mut y = vec![0.0f32; self.output_len()];
        y.par_chunks_mut(self.filters * pixels)
            .zip(x.par_chunks(self.image_len()))
            .for_each_init(
                || vec![0.0f32; rows * pixels],
                |cols, (out, image)| {
                    self.im2col(image, cols);
                    for (plane, &b) in out.chunks_exact_mut(pixels).zip(bias) {
                        plane.fill(b);
                    }
                    // out [filters, pixels] += weight [filters, rows] · cols [rows, pixels]
                    let product = Product {
                        m: self.filters,
                        k: rows,
                        n: pixels,
                        accumulate: true,
                    };
                    product.run(out, weight, false, cols, false);
                },
            );
        y
    }

    /// The gradient with respect to `x` of `sum(dy · conv(x, weight))`: `dy` is `[batch,
    /// filters, oh, ow]`; returns `[batch, channels, h, w]`.
    pub fn input_grad(&self, dy: &[f32], weight: &[f32]) -> Vec<f32> {
        let (rows, pixels) = (self.patch_rows(), self.out_pixels());
        assert_eq!(dy.len(), self.output_len(), "conv output gradient length");
        assert_eq!(weight.len(), self.weight_len(), "conv weight length");
        let mut dx = vec![0.0f32; self.input_len()];
        dx.par_chunks_mut(self.image_len())
            .zip(dy.par_chunks(self.filters * pixels))
            .for_each_init(
                || vec![0.0f32; rows * pixels],
                |cols, (image, grad)| {
                    // cols [rows, pixels] = weightᵀ [rows, filters] · dy [filters, pixels]
                    let product = Product {
                        m: rows,
                        k: self.filters,
                        n: pixels,
                        accumulate: false,
                    };
                    product.run(cols, weight, true, grad, false);
                    self.col2im(cols, image);
                },
            );
        dx
    }

    /// The gradients with respect to the weight and the bias of `sum(dy · conv(x, weight) +
    /// bias)`: returns `([filters, channels, kh, kw], [filters])`.
    pub fn weight_grad(&self, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
        self.check(x.len(), self.weight_len());
        assert_eq!(dy.len(), self.output_len(), "conv output gradient length");
        let (rows, pixels) = (self.patch_rows(), self.out_pixels());
        let zeros = || (vec![0.0f32; self.weight_len()], vec![0.0f32; self.filters]);
        x.par_chunks(self.image_len())
            .zip(dy.par_chunks(self.filters * pixels))
            .fold(
                || (zeros(), vec![0.0f32; rows * pixels]),
                |((mut dw, mut db), mut cols), (image, grad)| {
                    self.im2col(image, &mut cols);
                    // dw [filters, rows] += dy [filters, pixels] · colsᵀ [pixels, rows]
                    let product = Product {
                        m: self.filters,
                        k: pixels,
                        n: rows,
                        accumulate: true,
                    };
                    product.run(&mut dw, grad, false, &cols, true);
                    for (b, plane) in db.iter_mut().zip(grad.chunks_exact(pixels)) {
                        *b += plane.iter().sum::<f32>();
                    }
                    ((dw, db), cols)
                },
            )
            .map(|(grads, _)| grads)
            .reduce(zeros, |(mut dw, mut db), (dw2, db2)| {
                dw.iter_mut().zip(&dw2).for_each(|(a, b)| *a += b);
                db.iter_mut().zip(&db2).for_each(|(a, b)| *a += b);
                (dw, db)
            })
    }

    fn check(&self, x_len: usize, weight_len: usize) {
        assert_eq!(x_len, self.input_len(), "conv input length");
        assert_eq!(weight_len, self.weight_len(), "conv weight length");
    }
}

/// `dst.copy_from_slice(src)` for the short rows of a patch matrix (a few to a few dozen
/// values): fixed-size block copies the compiler keeps inline, where `copy_from_slice` of an
/// unknown length is a call into libc's `memcpy` per row (a tenth of the CNN's step).
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy lengths differ");
    let n = dst.len();
    for block in [16, 8, 4] {
        if n >= block {
            let (d_blocks, s_blocks) = (dst.chunks_exact_mut(block), src.chunks_exact(block));
            for (d, s) in d_blocks.zip(s_blocks) {
                d.copy_from_slice(s);
            }
            // The last block overlaps the previous one instead of a loop over the remainder.
            dst[n - block..].copy_from_slice(&src[n - block..]);
            return;
        }
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s;
    }
}

/// `dst[k] = src[k · stride]`. Strides 2 and 3 (the strided layers') get their own loops with a
/// constant stride, which the compiler vectorizes as interleaved loads; any stride runs without
/// a bounds or overflow check per element.
#[inline(always)]
fn gather_strided(dst: &mut [f32], src: &[f32], stride: usize) {
    #[inline(always)]
    fn constant<const S: usize>(dst: &mut [f32], src: &[f32]) {
        for (d, taps) in dst.iter_mut().zip(src.chunks(S)) {
            *d = taps[0];
        }
    }
    match stride {
        2 => constant::<2>(dst, src),
        3 => constant::<3>(dst, src),
        _ => dst.iter_mut().zip(src.iter().step_by(stride)).for_each(|(d, &s)| *d = s),
    }
}

/// `dst[k · stride] += src[k]`, the transpose of [`gather_strided`].
#[inline(always)]
fn scatter_add_strided(dst: &mut [f32], src: &[f32], stride: usize) {
    #[inline(always)]
    fn constant<const S: usize>(dst: &mut [f32], src: &[f32]) {
        for (taps, &s) in dst.chunks_mut(S).zip(src) {
            taps[0] += s;
        }
    }
    match stride {
        2 => constant::<2>(dst, src),
        3 => constant::<3>(dst, src),
        _ => dst.iter_mut().step_by(stride).zip(src).for_each(|(d, &s)| *d += s),
    }
}

/// One matrix product `dst [m, n] (+)= a [m, k] · b [k, n]`, all row-major.
struct Product {
    m: usize,
    k: usize,
    n: usize,
    /// Add to `dst` (`true`) or overwrite it.
    accumulate: bool,
}

impl Product {
    /// Runs the product; `a_t`/`b_t` say the stored matrix is the transpose (`[k, m]` /
    /// `[n, k]`). Single-threaded: callers already spread images over the pool.
    #[allow(unsafe_code)]
    fn run(&self, dst: &mut [f32], a: &[f32], a_t: bool, b: &[f32], b_t: bool) {
        let Product {
            m,
            k,
            n,
            accumulate,
        } = *self;
        assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
        // (column stride, row stride) of each operand as stored.
        let (a_cs, a_rs) = if a_t { (m, 1) } else { (1, k) };
        let (b_cs, b_rs) = if b_t { (k, 1) } else { (1, n) };
        // SAFETY: the assert above keeps every index the strides reach inside its slice, and
        // `dst` is borrowed mutably so it aliases neither operand. With `accumulate` false gemm
        // never reads `dst` (`dst = 1·a·b`); with it true, `dst = 1·dst + 1·a·b`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
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
                gemm::Parallelism::None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strided gathers and scatter-adds against indexing, for the strides with their own loop
    /// and one without, and lengths that end on and between the taps.
    #[test]
    fn strided_gathers_and_scatters_match_indexing() {
        let src: Vec<f32> = (0..64).map(|i| i as f32 * 0.25 - 3.0).collect();
        for stride in 1..=4 {
            for n in 0..=12 {
                let len = if n == 0 { 0 } else { (n - 1) * stride + 1 };
                let mut dst = vec![7.0f32; n];
                gather_strided(&mut dst, &src[5..5 + len], stride);
                let expected: Vec<f32> = (0..n).map(|k| src[5 + k * stride]).collect();
                assert_eq!(dst, expected, "gather stride {stride} n {n}");

                let mut image = src.clone();
                scatter_add_strided(&mut image[3..3 + len], &expected, stride);
                let mut reference = src.clone();
                for (k, &v) in expected.iter().enumerate() {
                    reference[3 + k * stride] += v;
                }
                assert_eq!(image, reference, "scatter stride {stride} n {n}");
            }
        }
    }

    /// Every length from empty to past two 16-blocks, so each block size, the overlapping last
    /// block and the short loop are all taken; the values around the range stay untouched.
    #[test]
    fn short_copies_write_exactly_their_range() {
        let src: Vec<f32> = (0..40).map(|i| i as f32 + 0.5).collect();
        for n in 0..=35 {
            let mut dst = vec![-1.0f32; 40];
            copy_short(&mut dst[2..2 + n], &src[3..3 + n]);
            let expected: Vec<f32> = (0..40)
                .map(|i| if (2..2 + n).contains(&i) { src[i + 1] } else { -1.0 })
                .collect();
            assert_eq!(dst, expected, "copy of {n}");
        }
    }
}
