//! Axes: value-to-pixel maps and round tick values.
//!
//! A tick step is "nice" when it is 1, 2, 2.5 or 5 times a power of ten; ticks are the
//! multiples of that step inside the axis range. Labels carry just enough decimals for the
//! step, and thousands separators from 10,000 on.

/// Relative slack when deciding whether a multiple of the step lies inside a range: absorbs
/// the rounding of `lo / step` for ranges whose ends are themselves multiples of the step.
const EDGE_SLACK: f64 = 1e-9;

/// The smallest nice step (1, 2, 2.5 or 5 x 10^k) at least `raw` (> 0, finite).
pub(crate) fn nice_step(raw: f64) -> f64 {
    debug_assert!(raw > 0.0 && raw.is_finite(), "step {raw}");
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&m| f <= m * (1.0 + EDGE_SLACK))
        .unwrap_or(10.0);
    m * mag
}

/// Round tick values in `[lo, hi]`, at most about `max_ticks` of them (at least 2 asked for):
/// the multiples of `nice_step((hi - lo) / (max_ticks - 1))`. Empty or reversed ranges give
/// the single tick `lo`. (The axes use [`nice_step`] and `multiples` directly; this is the
/// rule their tests check.)
#[cfg(test)]
fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
        || !lo.is_finite()
        || !hi.is_finite()
    {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / (max_ticks.max(2) - 1) as f64);
    multiples(lo, hi, step)
}

/// The multiples of `step` in `[lo, hi]`, computed as `k * step` (no accumulated error).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - EDGE_SLACK).ceil() as i64;
    let last = (hi / step + EDGE_SLACK).floor() as i64;
    // `+ 0.0` turns -0 into 0 so that no label reads "-0".
    (first..=last).map(|k| k as f64 * step + 0.0).collect()
}

/// A tick label with the decimals the step needs (2.5 needs one more than 2).
fn label(v: f64, step: f64) -> String {
    let mag = step.log10().floor();
    let extra = usize::from((step / 10f64.powf(mag) - 2.5).abs() < 1e-6);
    let decimals = (-mag).max(0.0) as usize + extra;
    let v = if v.abs() < step * EDGE_SLACK { 0.0 } else { v };
    if decimals == 0 {
        thousands(v)
    } else {
        format!("{v:.decimals$}")
    }
}

/// A whole number with thousands separators (1,000).
fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::from(if v < 0.0 { "-" } else { "" });
    for (k, ch) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A linear axis: values `lo..hi` onto pixels `a..b` (b < a for a y axis, which grows upwards),
/// with round ticks.
#[derive(Clone, Debug)]
pub(crate) struct LinearAxis {
    /// Value at pixel `a`.
    pub(crate) lo: f64,
    /// Value at pixel `b`.
    pub(crate) hi: f64,
    /// Pixel of `lo`.
    pub(crate) a: f64,
    /// Pixel of `hi`.
    pub(crate) b: f64,
    /// Tick step.
    pub(crate) step: f64,
    /// Tick values, increasing.
    pub(crate) ticks: Vec<f64>,
}

impl LinearAxis {
    /// An axis over exactly `[lo, hi]` with at most about `max_ticks` ticks inside it.
    pub(crate) fn exact(lo: f64, hi: f64, a: f64, b: f64, max_ticks: usize) -> LinearAxis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice_step((hi - lo) / (max_ticks.max(2) - 1) as f64);
        LinearAxis {
            lo,
            hi,
            a,
            b,
            step,
            ticks: multiples(lo, hi, step),
        }
    }

    /// An axis covering `[lo, hi]`, widened to the nearest ticks outside so that it starts and
    /// ends on a tick.
    pub(crate) fn nice(lo: f64, hi: f64, a: f64, b: f64, max_ticks: usize) -> LinearAxis {
        LinearAxis::exact(lo, hi, a, b, max_ticks).widened()
    }

    /// [`LinearAxis::nice`], with whole-number ticks when `whole` (epochs, bit widths, counts).
    pub(crate) fn nice_whole_if(
        whole: bool,
        lo: f64,
        hi: f64,
        a: f64,
        b: f64,
        max_ticks: usize,
    ) -> LinearAxis {
        let axis = LinearAxis::exact(lo, hi, a, b, max_ticks);
        if whole { axis.min_step(1.0) } else { axis }.widened()
    }

    /// The same axis with a tick step of at least `min` (e.g. 1 for counts and indices).
    pub(crate) fn min_step(self, min: f64) -> LinearAxis {
        if self.step >= min {
            return self;
        }
        LinearAxis {
            step: min,
            ticks: multiples(self.lo, self.hi, min),
            ..self
        }
    }

    /// The same axis widened to the nearest ticks outside its range.
    pub(crate) fn widened(self) -> LinearAxis {
        let lo = (self.lo / self.step + EDGE_SLACK).floor() * self.step;
        let hi = (self.hi / self.step - EDGE_SLACK).ceil() * self.step;
        let hi = if hi > lo { hi } else { lo + self.step };
        LinearAxis {
            lo,
            hi,
            ticks: multiples(lo, hi, self.step),
            ..self
        }
    }

    /// The pixel of value `v` (not clamped).
    pub(crate) fn px(&self, v: f64) -> f64 {
        self.a + (self.b - self.a) * (v - self.lo) / (self.hi - self.lo)
    }

    /// Each tick's pixel and label.
    pub(crate) fn labelled(&self) -> Vec<(f64, String)> {
        self.ticks
            .iter()
            .map(|&v| (self.px(v), label(v, self.step)))
            .collect()
    }
}

/// A log10 axis over whole decades, `10^lo..10^hi` onto pixels `a..b`.
#[derive(Clone, Debug)]
pub(crate) struct LogAxis {
    /// log10 of the value at pixel `a`.
    pub(crate) lo: f64,
    /// log10 of the value at pixel `b`.
    pub(crate) hi: f64,
    /// Pixel of `10^lo`.
    pub(crate) a: f64,
    /// Pixel of `10^hi`.
    pub(crate) b: f64,
}

impl LogAxis {
    /// Whole decades covering every positive finite value of `xs` (at least one decade; 1..10
    /// when there is none).
    pub(crate) fn covering(xs: impl Iterator<Item = f64>, a: f64, b: f64) -> LogAxis {
        let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
        for x in xs.filter(|x| x.is_finite() && *x > 0.0) {
            mn = mn.min(x);
            mx = mx.max(x);
        }
        if !mn.is_finite() {
            (mn, mx) = (1.0, 10.0);
        }
        let lo = mn.log10().floor();
        let hi = mx.log10().ceil().max(lo + 1.0);
        LogAxis { lo, hi, a, b }
    }

    /// The pixel of `x`; values below the axis (0 included) sit at its start.
    pub(crate) fn px(&self, x: f64) -> f64 {
        let l = x.max(10f64.powf(self.lo)).log10();
        self.a + (self.b - self.a) * (l - self.lo) / (self.hi - self.lo)
    }

    /// Each decade's pixel and label (0.1, 1, 10, 100, 1000, 10,000, ...).
    pub(crate) fn labelled(&self) -> Vec<(f64, String)> {
        (self.lo as i32..=self.hi as i32)
            .map(|k| {
                let v = 10f64.powi(k);
                let text = if k < 0 { format!("{v}") } else { thousands(v) };
                (self.px(v), text)
            })
            .collect()
    }

    /// Pixels of the unlabelled minor ticks 2..9 x 10^k inside the axis.
    pub(crate) fn minor(&self) -> Vec<f64> {
        (self.lo as i32..self.hi as i32)
            .flat_map(|k| (2..10).map(move |m| self.px(m as f64 * 10f64.powi(k))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_two_and_a_half_or_five() {
        assert_eq!(nice_step(0.74), 1.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(2.3), 2.5);
        assert_eq!(nice_step(37.0), 50.0);
        assert_eq!(nice_step(0.0031), 0.005);
    }

    #[test]
    fn ticks_of_zero_to_three_point_seven() {
        assert_eq!(nice_ticks(0.0, 3.7, 5), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(
            nice_ticks(0.0, 3.7, 9),
            vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
        );
    }

    #[test]
    fn ticks_are_exact_multiples_without_drift() {
        // 0.1 * 3 != 0.3 by accumulation; k * step keeps each tick's own rounding only.
        let t = nice_ticks(0.0, 1.0, 11);
        assert_eq!(t.len(), 11);
        assert_eq!(t[3], 3.0 * 0.1);
        assert_eq!(t[10], 1.0);
        assert_eq!(nice_ticks(-0.3, 0.3, 7)[3], 0.0);
        assert!(nice_ticks(-0.3, 0.3, 7)[3].is_sign_positive());
    }

    #[test]
    fn nice_axis_starts_and_ends_on_ticks() {
        let ax = LinearAxis::nice(0.0, 6.21, 0.0, 100.0, 6);
        assert_eq!((ax.lo, ax.hi, ax.step), (0.0, 8.0, 2.0));
        let labels: Vec<String> = ax.labelled().into_iter().map(|l| l.1).collect();
        assert_eq!(labels, ["0", "2", "4", "6", "8"]);
        assert_eq!(ax.px(8.0), 100.0);
        let ax = LinearAxis::nice(91.3, 100.0, 0.0, 1.0, 6);
        assert_eq!((ax.lo, ax.hi, ax.step), (90.0, 100.0, 2.0));
    }

    #[test]
    fn count_axes_never_step_below_one() {
        let ax = LinearAxis::exact(1.0, 3.0, 0.0, 1.0, 10).min_step(1.0);
        assert_eq!(ax.ticks, vec![1.0, 2.0, 3.0]);
        let ax = LinearAxis::exact(-0.5, 1.5, 0.0, 1.0, 10).min_step(1.0);
        assert_eq!((ax.lo, ax.ticks), (-0.5, vec![0.0, 1.0]));
    }

    #[test]
    fn labels_have_the_decimals_of_the_step() {
        assert_eq!(label(2.5, 2.5), "2.5");
        assert_eq!(label(0.25, 0.05), "0.25");
        assert_eq!(label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(label(800.0, 200.0), "800");
        assert_eq!(label(20000.0, 5000.0), "20,000");
        assert_eq!(label(1e-17, 0.5), "0.0");
    }

    #[test]
    fn log_axis_labels_decades() {
        let ax = LogAxis::covering([150.0, 42_000.0].into_iter(), 0.0, 300.0);
        let labels: Vec<String> = ax.labelled().into_iter().map(|l| l.1).collect();
        assert_eq!(labels, ["100", "1,000", "10,000", "100,000"]);
        assert_eq!(ax.minor().len(), 3 * 8);
        assert_eq!(ax.px(0.0), 0.0);
    }
}
