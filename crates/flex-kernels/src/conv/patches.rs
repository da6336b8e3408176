//! The patch matrix of one image (im2col) and its transpose (col2im), the two loops every pass of
//! [`super::kernels`] is built on: each patch row's taps copied (or added back) as runs of their
//! source, an input line at stride 1, a line of one phase of the image at larger strides.

use super::kernels::ConvShape;
use crate::shared::vectorized;

impl ConvShape {
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
    pub(super) fn im2col(&self, image: &[f32], cols: &mut [f32]) {
        vectorized(
            #[inline(always)]
            || self.im2col_loops(image, cols),
        )
    }

    /// For each patch row (channel, kernel offset), the taps of one output line are a contiguous
    /// run of the source: an input line at stride 1, a line of one phase of the image
    /// ([`Phases`]) at larger strides (see [`Run`]).
    #[inline(always)]
    fn im2col_loops(&self, image: &[f32], cols: &mut [f32]) {
        let PatchPass {
            plane_len,
            row_len,
            phases,
            runs,
            mut split,
        } = self.patch_pass(image.len(), cols.len());
        let channel_rows = cols.chunks_exact_mut(runs.len() * row_len);
        for (plane, rows) in image.chunks_exact(plane_len).zip(channel_rows) {
            let source = match &phases {
                Some(phases) => {
                    phases.split(plane, &mut split);
                    &split[..]
                }
                None => plane,
            };
            for (row, run) in rows.chunks_exact_mut(row_len).zip(&runs) {
                match run {
                    Some(run) => run.copy(source, row, self.output),
                    None => row.fill(0.0),
                }
            }
        }
    }

    /// Adds the patch-matrix gradient of one image back onto its pixels (the transpose of
    /// [`Self::im2col`]); `image` must start zeroed. `cols` is scratch: the entries for padding
    /// positions may be zeroed.
    pub(super) fn col2im(&self, cols: &mut [f32], image: &mut [f32]) {
        vectorized(
            #[inline(always)]
            || self.col2im_loops(cols, image),
        )
    }

    /// The runs of [`Self::im2col_loops`], added instead of copied: into the pixels at stride 1,
    /// into the image's phases (then interleaved back onto the pixels) at larger strides.
    #[inline(always)]
    fn col2im_loops(&self, cols: &mut [f32], image: &mut [f32]) {
        let PatchPass {
            plane_len,
            row_len,
            phases,
            runs,
            mut split,
        } = self.patch_pass(image.len(), cols.len());
        let ow = self.output[1];
        let channel_rows = cols.chunks_exact_mut(runs.len() * row_len);
        for (plane, rows) in image.chunks_exact_mut(plane_len).zip(channel_rows) {
            let target = match &phases {
                Some(_) => {
                    split.fill(0.0);
                    &mut split[..]
                }
                None => &mut plane[..],
            };
            for (row, run) in rows.chunks_exact_mut(row_len).zip(&runs) {
                if let Some(run) = run {
                    run.add(row, target, ow);
                }
            }
            if let Some(phases) = &phases {
                phases.merge_add(&split, plane);
            }
        }
    }

    /// What im2col and col2im of one image both start from, after checking the image and
    /// patch-matrix lengths.
    fn patch_pass(&self, image_len: usize, cols_len: usize) -> PatchPass {
        assert_eq!(image_len, self.image_len(), "conv image length");
        assert_eq!(
            cols_len,
            self.patch_rows() * self.out_pixels(),
            "patch matrix length"
        );
        let plane_len = self.input[0] * self.input[1];
        let phases = self.phases();
        let runs = self.runs(phases.as_ref());
        PatchPass {
            plane_len,
            row_len: self.out_pixels(),
            split: vec![0.0f32; if phases.is_some() { plane_len } else { 0 }],
            phases,
            runs,
        }
    }

    /// The image's phases at strides above 1; `None` at stride 1, where patch rows read the
    /// plane itself.
    fn phases(&self) -> Option<Phases> {
        (self.geometry.stride != [1, 1]).then(|| Phases::new(self.input, self.geometry.stride))
    }

    /// The [`Run`] of every kernel offset `(i, j)`, row-major, the same for every channel;
    /// `None` where no output pixel's tap lies inside the image.
    fn runs(&self, phases: Option<&Phases>) -> Vec<Option<Run>> {
        let [kh, kw] = self.kernel;
        let [pt, pl] = [self.geometry.padding[0][0], self.geometry.padding[1][0]];
        let offsets = (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j)));
        offsets
            .map(|(i, j)| {
                let ((y0, y1), (x0, x1)) = (self.valid_range(0, i), self.valid_range(1, j));
                if y0 >= y1 || x0 >= x1 {
                    return None;
                }
                // Where the tap of output pixel (y0, x0) lies in the source, and the source's
                // line pitch (the distance to the tap of the next output line).
                let (from, pitch) = match phases {
                    None => {
                        let w = self.input[1];
                        ((y0 + i - pt) * w + x0 + j - pl, w)
                    }
                    Some(phases) => {
                        // Input pixel (oy·sh + i - pt, ox·sw + j - pl) is pixel
                        // (oy + dy, ox + dx) of `phase`.
                        let (ty, tx) = (i as isize - pt as isize, j as isize - pl as isize);
                        let (phase, [dy, dx]) = phases.locate(ty, tx);
                        let width = phases.width(phase);
                        let row = (y0 as isize + dy) as usize;
                        let column = (x0 as isize + dx) as usize;
                        (phases.offset(phase) + row * width + column, width)
                    }
                };
                Some(Run {
                    lines: y0..y1,
                    columns: x0..x1,
                    from,
                    pitch,
                })
            })
            .collect()
    }
}

/// The per-image setup of [`ConvShape::im2col_loops`] and [`ConvShape::col2im_loops`].
struct PatchPass {
    /// Pixels of one input channel.
    plane_len: usize,
    /// Values of one patch row: the output pixels.
    row_len: usize,
    /// The image's phases at strides above 1.
    phases: Option<Phases>,
    /// The [`Run`] of every kernel offset (see [`ConvShape::runs`]).
    runs: Vec<Option<Run>>,
    /// Scratch for one plane split into its phases; empty at stride 1.
    split: Vec<f32>,
}

/// Where the taps of one patch row (one channel, one kernel offset) lie in their source: output
/// lines `lines` and columns `columns` read (or, in col2im, receive) `columns.len()` consecutive
/// values starting at `from + k·pitch` for the `k`-th line. When the source lines are as long as
/// the output lines (`pitch == ow`: a `same` convolution, over an even size if strided) the taps
/// of the whole row are one run, moved at once; that also covers the padded columns between
/// lines, which are zeroed (im2col: after the copy; col2im: before the add, since they would
/// land on neighbouring pixels).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    lines: std::ops::Range<usize>,
    columns: std::ops::Range<usize>,
    from: usize,
    pitch: usize,
}

impl Run {
    /// Whether some output pixels of the row have no tap (the window hangs over the padding).
    #[inline(always)]
    fn padded(&self, [oh, ow]: [usize; 2]) -> bool {
        self.lines.start > 0
            || self.lines.end < oh
            || self.columns.start > 0
            || self.columns.end < ow
    }

    /// The row's first and one-past-last tapped positions, for a whole-row move.
    #[inline(always)]
    fn span(&self, ow: usize) -> (usize, usize) {
        let Run { lines, columns, .. } = self;
        (
            lines.start * ow + columns.start,
            (lines.end - 1) * ow + columns.end,
        )
    }

    /// Zeroes the padded columns of the row's tapped lines.
    #[inline(always)]
    fn zero_padded_columns(&self, row: &mut [f32], ow: usize) {
        let (x0, x1) = (self.columns.start, self.columns.end);
        if x0 > 0 || x1 < ow {
            for line in row[self.lines.start * ow..self.lines.end * ow].chunks_exact_mut(ow) {
                line[..x0].fill(0.0);
                line[x1..].fill(0.0);
            }
        }
    }

    /// Copies the taps from `source` into the patch row `row` (output lines of `ow` values),
    /// with zeros where the window hangs over the padding.
    #[inline(always)]
    fn copy(&self, source: &[f32], row: &mut [f32], output: [usize; 2]) {
        let ow = output[1];
        if self.pitch == ow {
            // The run covers `start..end`: only the rest is zeroed first, not the whole row.
            let (start, end) = self.span(ow);
            row[..start].fill(0.0);
            row[end..].fill(0.0);
            row[start..end].copy_from_slice(&source[self.from..self.from + (end - start)]);
            self.zero_padded_columns(row, ow);
            return;
        }
        // One fill for the whole row rather than pieces of each line (most rows of a `valid`
        // layer need none).
        if self.padded(output) {
            row.fill(0.0);
        }
        let width = self.columns.len();
        for (k, oy) in self.lines.clone().enumerate() {
            let from = self.from + k * self.pitch;
            let out = &mut row[oy * ow + self.columns.start..][..width];
            copy_short(out, &source[from..from + width]);
        }
    }

    /// Adds the patch row `row` onto its taps in `target` (the transpose of [`Self::copy`]).
    #[inline(always)]
    fn add(&self, row: &mut [f32], target: &mut [f32], ow: usize) {
        if self.pitch == ow {
            self.zero_padded_columns(row, ow);
            let (start, end) = self.span(ow);
            let dst = target[self.from..self.from + (end - start)].iter_mut();
            dst.zip(&row[start..end]).for_each(|(d, s)| *d += s);
            return;
        }
        let width = self.columns.len();
        for (k, oy) in self.lines.clone().enumerate() {
            let to = self.from + k * self.pitch;
            let src = &row[oy * ow + self.columns.start..][..width];
            let dst = target[to..to + width].iter_mut();
            dst.zip(src).for_each(|(d, s)| *d += s);
        }
    }
}

/// An image plane of `[h, w]` pixels split into its `stride_h × stride_w` phases: phase `(a, b)`
/// holds pixels `(y·stride_h + a, x·stride_w + b)` as a plane of its own, row-major, the phases
/// one after the other (together exactly `h·w` values). A convolution of stride `s` reads, for
/// each kernel offset, every `s`-th pixel of every `s`-th row: a block of one phase.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Phases {
    stride: [usize; 2],
    input: [usize; 2],
    /// Rows of the phases with row offset `a`, per `a`.
    heights: Vec<usize>,
    /// Columns of the phases with column offset `b`, per `b`.
    widths: Vec<usize>,
    /// Where each phase `a·stride_w + b` starts.
    offsets: Vec<usize>,
}

impl Phases {
    fn new(input: [usize; 2], stride: [usize; 2]) -> Self {
        let count = |n: usize, s: usize, a: usize| n.saturating_sub(a).div_ceil(s);
        let heights: Vec<usize> = (0..stride[0])
            .map(|a| count(input[0], stride[0], a))
            .collect();
        let widths: Vec<usize> = (0..stride[1])
            .map(|b| count(input[1], stride[1], b))
            .collect();
        let mut offsets = Vec::with_capacity(stride[0] * stride[1]);
        let mut next = 0;
        for &ph in &heights {
            for &pw in &widths {
                offsets.push(next);
                next += ph * pw;
            }
        }
        Self {
            stride,
            input,
            heights,
            widths,
            offsets,
        }
    }

    fn offset(&self, phase: usize) -> usize {
        self.offsets[phase]
    }

    fn width(&self, phase: usize) -> usize {
        self.widths[phase % self.stride[1]]
    }

    /// The phase that pixel `(y·stride_h + ty, x·stride_w + tx)` lies in, and that pixel's
    /// position in it minus `(y, x)`. `ty`, `tx` may be negative (a kernel offset inside the
    /// padding).
    fn locate(&self, ty: isize, tx: isize) -> (usize, [isize; 2]) {
        let [sh, sw] = self.stride.map(|s| s as isize);
        let (a, b) = (ty.rem_euclid(sh) as usize, tx.rem_euclid(sw) as usize);
        (
            a * self.stride[1] + b,
            [ty.div_euclid(sh), tx.div_euclid(sw)],
        )
    }

    /// Where the line of phase `(a, b)` that holds pixels of input row `y` (`y % stride_h ==
    /// a`) starts in the split plane.
    #[inline(always)]
    fn line_start(&self, y: usize, b: usize) -> usize {
        let [sh, sw] = self.stride;
        self.offsets[(y % sh) * sw + b] + (y / sh) * self.widths[b]
    }

    /// Writes the phases of `plane` into `split`, one input row at a time. At horizontal stride
    /// 2 a row is deinterleaved in one pass over pairs (the compiler turns it into vector
    /// shuffles); a strided gather per phase line ran scalar, a fifth of the strided DAE's step.
    #[inline(always)]
    fn split(&self, plane: &[f32], split: &mut [f32]) {
        let ([_, sw], [_, w]) = (self.stride, self.input);
        for (y, row) in plane.chunks_exact(w).enumerate() {
            if sw == 2 {
                let (even, odd) = self.pair_lines(split, y);
                for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                    *e = pair[0];
                    *o = pair[1];
                }
                if w % 2 == 1 {
                    even[w / 2] = row[w - 1];
                }
                continue;
            }
            for b in 0..sw {
                let line = &mut split[self.line_start(y, b)..][..self.widths[b]];
                let taps = row[b..].iter().step_by(sw);
                line.iter_mut().zip(taps).for_each(|(d, &v)| *d = v);
            }
        }
    }

    /// Adds the phases in `split` back onto the pixels of `plane` (the transpose of
    /// [`Self::split`]).
    #[inline(always)]
    fn merge_add(&self, split: &[f32], plane: &mut [f32]) {
        let ([_, sw], [_, w]) = (self.stride, self.input);
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            if sw == 2 {
                let even = &split[self.line_start(y, 0)..][..self.widths[0]];
                let odd = &split[self.line_start(y, 1)..][..self.widths[1]];
                for ((e, o), pair) in even.iter().zip(odd.iter()).zip(row.chunks_exact_mut(2)) {
                    pair[0] += e;
                    pair[1] += o;
                }
                if w % 2 == 1 {
                    row[w - 1] += even[w / 2];
                }
                continue;
            }
            for b in 0..sw {
                let line = &split[self.line_start(y, b)..][..self.widths[b]];
                let taps = row[b..].iter_mut().step_by(sw);
                taps.zip(line).for_each(|(d, &v)| *d += v);
            }
        }
    }

    /// At horizontal stride 2: the even- and odd-column phase lines of input row `y`.
    #[inline(always)]
    fn pair_lines<'a>(&self, split: &'a mut [f32], y: usize) -> (&'a mut [f32], &'a mut [f32]) {
        // Phase (a, 1) follows phase (a, 0) in the split plane.
        let (lo, hi) = split.split_at_mut(self.line_start(y, 1));
        (
            &mut lo[self.line_start(y, 0)..][..self.widths[0]],
            &mut hi[..self.widths[1]],
        )
    }
}

/// `dst.copy_from_slice(src)` for the short rows of a patch matrix (a few to a few dozen
/// values): fixed-size block copies the compiler keeps inline, where `copy_from_slice` of an
/// unknown length is a call into libc's `memcpy` per row (a tenth of the CNN's step).
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy lengths differ");
    match dst.len() {
        n if n >= 16 => copy_blocks::<16>(dst, src),
        n if n >= 8 => copy_blocks::<8>(dst, src),
        n if n >= 4 => copy_blocks::<4>(dst, src),
        _ => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s),
    }
}

/// `dst = src` (at least `B` values) in blocks of `B`, the last block overlapping the one before
/// it instead of a loop over the remainder. Each block is an array move of a size known when
/// compiling: a block length the compiler can't see (a loop over the sizes) is a `memcpy` call.
#[inline(always)]
fn copy_blocks<const B: usize>(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    for (d, s) in dst.chunks_exact_mut(B).zip(src.chunks_exact(B)) {
        *block_mut::<B>(d) = *block::<B>(s);
    }
    *block_mut::<B>(&mut dst[n - B..]) = *block::<B>(&src[n - B..]);
}

#[inline(always)]
fn block<const B: usize>(s: &[f32]) -> &[f32; B] {
    s.try_into().expect("a block of B values")
}

#[inline(always)]
fn block_mut<const B: usize>(s: &mut [f32]) -> &mut [f32; B] {
    s.try_into().expect("a block of B values")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splitting into phases and merging back gives the plane again, and each phase holds the
    /// pixels `locate` says it does, for strides 1-3 and sizes that do and don't divide evenly.
    #[test]
    fn phases_partition_the_plane() {
        for (h, w) in [(7, 7), (14, 14), (5, 8), (1, 3)] {
            for stride in [[2, 2], [3, 3], [1, 2], [2, 1], [3, 2]] {
                let what = format!("{h}x{w} stride {stride:?}");
                let plane: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
                let phases = Phases::new([h, w], stride);
                let mut split = vec![-1.0f32; h * w];
                phases.split(&plane, &mut split);
                let mut sorted = split.clone();
                sorted.sort_by(f32::total_cmp);
                assert_eq!(sorted, plane, "{what}: not a permutation");
                for y in 0..h {
                    for x in 0..w {
                        // Pixel (y, x) is (0·s + y, 0·s + x): position (dy, dx) of its phase.
                        let (phase, [dy, dx]) = phases.locate(y as isize, x as isize);
                        let at =
                            phases.offset(phase) + dy as usize * phases.width(phase) + dx as usize;
                        assert_eq!(split[at], plane[y * w + x], "{what}: pixel ({y}, {x})");
                    }
                }
                let mut merged = vec![0.5f32; h * w];
                phases.merge_add(&split, &mut merged);
                let expected: Vec<f32> = plane.iter().map(|v| v + 0.5).collect();
                assert_eq!(merged, expected, "{what}: merge");
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
                .map(|i| {
                    if (2..2 + n).contains(&i) {
                        src[i + 1]
                    } else {
                        -1.0
                    }
                })
                .collect();
            assert_eq!(dst, expected, "copy of {n}");
        }
    }
}
