//! Input encoding: one pixel becomes at most one input spike, brighter pixels earlier.
//!
//! Owns the pixel-to-time map only (no data loading, no network). Times are in units of
//! tau_syn; a pixel that sends no spike gets `+inf` ("no spike", never a magic time).

use serde::{Deserialize, Serialize};

/// How intensity maps to time. (Also the command line's `--encoding` values.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum EncodingKind {
    /// `t = t_max (1 - p/255)`: linear in time. White (255) at 0, black (0) at `t_max`.
    Linear,
    /// Linear in the z domain: `exp(t) = 1 + (exp(t_max) - 1)(1 - p/255)`, so that
    /// `exp(t)` is linear in intensity. That is the neurons' `z = exp(t/tau)` only at
    /// tau_syn = 1: the encoding does not know tau_syn (at another tau, z = exp(t)^(1/tau)).
    #[value(name = "zlinear")]
    ZLinear,
}

/// A documented, configurable pixel-to-spike-time encoding.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// The map's shape.
    pub kind: EncodingKind,
    /// Latest input time (units of tau_syn), that of a black pixel; must be > 0 and finite.
    pub t_max: f64,
    /// Pixels with intensity below this send no spike (0: every pixel spikes).
    pub silent_below: u8,
}

impl Default for Encoding {
    /// The default chosen by measurement (see docs/experiments/encoding.md).
    fn default() -> Self {
        Encoding {
            kind: EncodingKind::Linear,
            t_max: 3.0,
            silent_below: 0,
        }
    }
}

impl Encoding {
    /// Checks the parameters.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.t_max.is_finite() && self.t_max > 0.0) {
            return Err(format!(
                "encoding t_max must be finite and > 0, got {}",
                self.t_max
            ));
        }
        Ok(())
    }

    /// Spike time of one pixel (units of tau_syn), `+inf` if it sends none.
    #[inline]
    pub fn time(&self, p: u8) -> f64 {
        if p < self.silent_below {
            return f64::INFINITY;
        }
        let dark = 1.0 - p as f64 / 255.0; // 0 for white, 1 for black
        match self.kind {
            EncodingKind::Linear => self.t_max * dark,
            EncodingKind::ZLinear => (1.0 + (self.t_max.exp() - 1.0) * dark).ln(),
        }
    }

    /// Encodes one image into `out` (same length as `pixels`).
    pub(crate) fn encode_into(&self, pixels: &[u8], out: &mut [f64]) {
        debug_assert_eq!(pixels.len(), out.len());
        for (o, &p) in out.iter_mut().zip(pixels) {
            *o = self.time(p);
        }
    }

    /// Encodes one image.
    pub fn encode(&self, pixels: &[u8]) -> Vec<f64> {
        pixels.iter().map(|&p| self.time(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brighter_is_earlier_and_black_is_t_max() {
        for kind in [EncodingKind::Linear, EncodingKind::ZLinear] {
            let e = Encoding {
                kind,
                t_max: 3.0,
                silent_below: 0,
            };
            assert_eq!(e.time(255), 0.0);
            assert!((e.time(0) - 3.0).abs() < 1e-12);
            for p in 1..=255u8 {
                assert!(e.time(p) < e.time(p - 1));
            }
        }
    }

    #[test]
    fn silent_pixels_send_no_spike() {
        let e = Encoding {
            silent_below: 10,
            ..Encoding::default()
        };
        assert_eq!(e.time(9), f64::INFINITY);
        assert!(e.time(10).is_finite());
    }
}
