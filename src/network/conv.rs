//! The geometry of a 2-D convolution: the [`Shape`] of a feature map (neurons numbered
//! row-major, channel fastest) and a [`Conv`] layer with its output size, taps and weight
//! layout.

use super::dense::Dense;
use serde::{Deserialize, Serialize};

/// The shape of a feature map: height, width, channels (neurons numbered
/// `(y * w + x) * c + channel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape {
    /// Neurons (or inputs) of the map, `h w c`, `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.h.checked_mul(self.w)?.checked_mul(self.c)
    }

    /// Whether the map has no neurons.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The index of (row, column, channel).
    #[inline(always)]
    pub fn index(&self, y: usize, x: usize, c: usize) -> usize {
        (y * self.w + x) * self.c + c
    }

    /// (row, column, channel) of an index.
    #[inline(always)]
    pub fn position(&self, i: usize) -> (usize, usize, usize) {
        (i / (self.w * self.c), (i / self.c) % self.w, i % self.c)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

/// A 2-D convolution of first-spike neurons, without bias: neuron `(oy, ox, o)` takes input
/// `(oy s + ky - p, ox s + kx - p, c)` with weight `w[((ky k + kx) c_in + c) c_out + o]` for
/// every tap `ky, kx < k` that falls inside the input (zero padding `p` adds no input), so
/// every neuron of a channel shares the channel's kernel. Output size
/// `(h + 2p - k)/s + 1` per axis (rounded down). Weights are in the unit of theta.
///
/// The weight layout is tap-major with the output channel fastest, so that one input spike
/// touches, per output position it reaches, one contiguous run of `c_out` weights and one of
/// `c_out` neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv<F> {
    /// The input feature map.
    pub input: Shape,
    /// Output channels.
    pub channels: usize,
    /// Kernel size k (square).
    pub kernel: usize,
    /// Stride s (both axes).
    pub stride: usize,
    /// Zero padding p on every side.
    pub pad: usize,
    /// Weights, `k k c_in c_out`, layout `[ky][kx][c_in][c_out]`.
    pub w: Vec<F>,
}

impl<F> Conv<F> {
    /// The output feature map (0 rows or columns if the kernel does not fit).
    #[inline(always)]
    pub fn output(&self) -> Shape {
        let side = |n: usize| {
            (n + 2 * self.pad)
                .checked_sub(self.kernel)
                .map_or(0, |r| r / self.stride.max(1) + 1)
        };
        Shape {
            h: side(self.input.h),
            w: side(self.input.w),
            c: self.channels,
        }
    }

    /// Weights the geometry needs, `k k c_in c_out` (`None` on overflow).
    pub fn n_weights(&self) -> Option<usize> {
        self.kernel
            .checked_mul(self.kernel)?
            .checked_mul(self.input.c)?
            .checked_mul(self.channels)
    }

    /// Calls `f(tap, neuron0)` for every output position that input `i` reaches: `tap` is
    /// the kernel tap `(ky k + kx) c_in + c` (its weights are `w[tap c_out..][..c_out]`) and
    /// `neuron0` the index of channel 0 of that position (its neurons are
    /// `neuron0..neuron0 + c_out`). Positions come in increasing neuron order.
    #[inline(always)]
    pub(crate) fn for_each_target(&self, i: usize, mut f: impl FnMut(usize, usize)) {
        let (y, x, c) = self.input.position(i);
        let out = self.output();
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        // Output rows oy with oy s <= y + p < oy s + k, i.e. ky = y + p - oy s in 0..k.
        let (yp, xp) = (y + p, x + p);
        let oy_hi = (yp / s).min(out.h.saturating_sub(1));
        let oy_lo = (yp + 1).saturating_sub(k).div_ceil(s);
        let ox_hi = (xp / s).min(out.w.saturating_sub(1));
        let ox_lo = (xp + 1).saturating_sub(k).div_ceil(s);
        if out.h == 0 || out.w == 0 {
            return;
        }
        for oy in oy_lo..=oy_hi {
            let ky = yp - oy * s;
            for ox in ox_lo..=ox_hi {
                let kx = xp - ox * s;
                f((ky * k + kx) * self.input.c + c, out.index(oy, ox, 0));
            }
        }
    }

    /// Calls `f(tap, input)` for every input of output position `(oy, ox)` that lies inside
    /// the input map (padding taps skipped), in tap order.
    #[inline(always)]
    pub(crate) fn for_each_input(&self, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        let cin = self.input.c;
        for ky in 0..k {
            let Some(y) = (oy * s + ky).checked_sub(p).filter(|&y| y < self.input.h) else {
                continue;
            };
            for kx in 0..k {
                let Some(x) = (ox * s + kx).checked_sub(p).filter(|&x| x < self.input.w) else {
                    continue;
                };
                let tap0 = (ky * k + kx) * cin;
                let i0 = self.input.index(y, x, 0);
                for c in 0..cin {
                    f(tap0 + c, i0 + c);
                }
            }
        }
    }

    /// The same layer with every weight converted by `f` (e.g. f64 -> f32).
    pub(crate) fn map<G>(&self, f: impl Fn(&F) -> G) -> Conv<G> {
        Conv {
            input: self.input,
            channels: self.channels,
            kernel: self.kernel,
            stride: self.stride,
            pad: self.pad,
            w: self.w.iter().map(f).collect(),
        }
    }
}

impl<F: Copy + num_traits::Zero> Conv<F> {
    /// The same layer as a dense one (input-major, zero where there is no synapse): what the
    /// convolution computes, written out.
    pub fn to_dense(&self) -> Dense<F> {
        let out = self.output();
        let (n_in, n_out) = (self.input.len().unwrap_or(0), out.len().unwrap_or(0));
        let mut w = vec![F::zero(); n_in * n_out];
        let co = self.channels;
        for oy in 0..out.h {
            for ox in 0..out.w {
                let j0 = out.index(oy, ox, 0);
                self.for_each_input(oy, ox, |tap, i| {
                    w[i * n_out + j0..i * n_out + j0 + co]
                        .copy_from_slice(&self.w[tap * co..(tap + 1) * co]);
                });
            }
        }
        Dense { n_in, n_out, w }
    }
}
