//! The three passes of a convolution on the CPU, on plain `f32` slices: forward, input gradient
//! and weight/bias gradient, each as "im2col one image, then one matrix product" (the patch
//! matrix itself is built in the sibling module `patches`).
//!
//! Burn's `flex` backend derives the weight gradient from a convolution whose kernel is the
//! whole output gradient (`[filters, batch, 24, 24]` for the seed CNN, for a 3×3 output), a shape
//! its tiled conv loops are not made for. Here every pass is one `gemm` per image over a patch
//! matrix small enough to stay in cache, images spread over the rayon pool.

use rayon::prelude::*;

use crate::matmul::Product;
use crate::shared::vectorized;

/// Images per partial sum of a weight gradient (see [`ConvShape::weight_grad`]): fixed, so that
/// the order of the additions, and so their rounding, does not depend on the thread count.
pub(crate) const GRADIENT_GROUP: usize = 8;

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

    pub(super) fn image_len(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    pub(super) fn out_pixels(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Rows of the patch matrix: one per (channel, kernel row, kernel column).
    pub(super) fn patch_rows(&self) -> usize {
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
                        parallel: false,
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
                        parallel: false,
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
        // One partial sum per fixed group of images, added in order at the end: the rounding of
        // the sum then depends on the batch alone, never on how rayon split the work, so a run
        // (and a resumed one) gives the same weights every time on any number of threads.
        let partials: Vec<(Vec<f32>, Vec<f32>)> = x
            .par_chunks(self.image_len() * GRADIENT_GROUP)
            .zip(dy.par_chunks(self.filters * pixels * GRADIENT_GROUP))
            .map_init(
                || vec![0.0f32; rows * pixels],
                |cols, (images, grads)| {
                    let (mut dw_t, mut db) = zeros();
                    for (image, grad) in images.chunks(self.image_len()).zip(grads.chunks(self.filters * pixels)) {
                        self.im2col(image, cols);
                        // dwᵀ [rows, filters] += cols [rows, pixels] · dyᵀ [pixels, filters]. The
                        // transpose of `dw = dy · colsᵀ`: gemm repacks the operand read across its
                        // rows, and here that is `dy` (filters × pixels), not the patch matrix
                        // (rows × pixels, 4.5 times larger for the CNN's second layer).
                        let product = Product {
                            m: rows,
                            k: pixels,
                            n: self.filters,
                            accumulate: true,
                            parallel: false,
                        };
                        product.run(&mut dw_t, cols, false, grad, true);
                        add_plane_sums(&mut db, grad);
                    }
                    (dw_t, db)
                },
            )
            .collect();
        let (dw_t, db) = partials
            .into_iter()
            .reduce(|(mut dw_t, mut db), (dw2, db2)| {
                dw_t.iter_mut().zip(&dw2).for_each(|(a, b)| *a += b);
                db.iter_mut().zip(&db2).for_each(|(a, b)| *a += b);
                (dw_t, db)
            })
            .unwrap_or_else(zeros);
        // [rows, filters] → [filters, rows]
        let mut dw = vec![0.0f32; dw_t.len()];
        for (r, line) in dw_t.chunks_exact(self.filters).enumerate() {
            for (f, &v) in line.iter().enumerate() {
                dw[f * rows + r] = v;
            }
        }
        (dw, db)
    }

    fn check(&self, x_len: usize, weight_len: usize) {
        assert_eq!(x_len, self.input_len(), "conv input length");
        assert_eq!(weight_len, self.weight_len(), "conv weight length");
    }
}

/// `sums[c] += Σ image[c]` for the `sums.len()` equal planes of `image` (a bias gradient).
pub(crate) fn add_plane_sums(sums: &mut [f32], image: &[f32]) {
    let plane = image.len() / sums.len();
    assert_eq!(plane * sums.len(), image.len(), "planes of unequal size");
    vectorized(
        #[inline(always)]
        || {
            for (s, values) in sums.iter_mut().zip(image.chunks_exact(plane)) {
                *s += sum(values);
            }
        },
    )
}

/// `Σ values` in 16 independent partial sums, which the compiler keeps in one vector register:
/// `iter().sum()` is a single chain of dependent scalar adds (the transposed convolutions' bias
/// gradient alone was 4 % of the strided DAE's step).
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let chunks = values.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(l, v)| *l += v);
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector-friendly sum equals the sum in `f64` to float rounding at every length around
    /// its block size (remainder only, whole blocks, both), and plane sums go to their channel.
    #[test]
    fn sums_cover_every_value() {
        for n in 0..50 {
            let values: Vec<f32> = (0..n).map(|i| 1.0 + (i as f32 * 0.37).sin()).collect();
            let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
            let got = f64::from(sum(&values));
            assert!(
                (got - exact).abs() <= 1e-5 * exact.max(1.0),
                "length {n}: {got} vs {exact}"
            );
        }
        let image: Vec<f32> = (0..3 * 20).map(|i| (i / 20) as f32 + 1.0).collect();
        let mut sums = [0.5f32; 3];
        add_plane_sums(&mut sums, &image);
        assert_eq!(sums, [20.5, 40.5, 60.5]);
    }

    /// The weight and bias gradients are the same bits on one thread and on several, for a
    /// batch that is not a multiple of the group size: a resumed or repeated run reproduces its
    /// weights exactly.
    #[test]
    fn weight_gradients_do_not_depend_on_the_thread_count() {
        let geometry = ConvGeometry { stride: [1, 1], padding: [[1, 1], [1, 1]] };
        let shape = ConvShape::new([37, 3, 9, 9], [5, 3, 3, 3], geometry).expect("a valid shape");
        let x: Vec<f32> = (0..shape.batch * 3 * 81).map(|i| (i as f32 * 0.731).sin()).collect();
        let dy: Vec<f32> = (0..shape.output_len()).map(|i| (i as f32 * 0.377).cos() * 1e-3 + 1.0).collect();
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
            pool.install(|| shape.weight_grad(&x, &dy))
        };
        let one = on(1);
        for threads in [2, 3, 8] {
            assert!(on(threads) == one, "{threads} threads");
        }
        // Neither is all zeros: the comparison compares something.
        assert!(one.0.iter().any(|&v| v != 0.0) && one.1.iter().any(|&v| v != 0.0));
    }
}
