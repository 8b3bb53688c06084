//! The comparison as a picture (hand-written SVG, in the style of [`crate::raster`]).
//!
//! Owns one rendering only, a pure function returning text: on top, accuracy versus spikes per
//! inference (log scale) for both codings, the rate network as a curve over T with its
//! operating point, the first-spike network as points; below, one histogram per layer of the
//! spikes per image of both codings (rate at the operating point, first-spike up to the
//! decision), on log-spaced bins.

use super::compare::Comparison;
use super::compare::{Reference, MATCH_TOLERANCE};
use super::report::count;
use crate::counts::layer_name;
use std::fmt::Write;

const W: f64 = 960.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 60.0;
const PLOT_H: f64 = 340.0;
const LEGEND_TOP: f64 = TOP + PLOT_H + 50.0;
const LEGEND_ROW: f64 = 18.0;
const HIST_TOP: f64 = LEGEND_TOP + 4.0 * LEGEND_ROW + 60.0;
const HIST_H: f64 = 170.0;
const H: f64 = HIST_TOP + HIST_H + 70.0;
const RATE: &str = "#4c72b0";
const TEMPORAL: &str = "#c44e52";
/// Log-spaced bins per histogram.
const BINS: usize = 24;

/// A log10 axis from `10^lo` to `10^hi` mapped to pixels `a..b`.
struct LogAxis {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
}

impl LogAxis {
    /// Decades covering every positive value of `xs` (at least one decade).
    fn covering(xs: impl Iterator<Item = f64>, a: f64, b: f64) -> LogAxis {
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
    fn px(&self, x: f64) -> f64 {
        let l = x.max(10f64.powf(self.lo)).log10();
        self.a + (self.b - self.a) * (l - self.lo) / (self.hi - self.lo)
    }
    fn decades(&self) -> impl Iterator<Item = f64> {
        (self.lo as i32..=self.hi as i32).map(|k| 10f64.powi(k))
    }
}

/// A tick label: whole numbers with thousands separators, decimals only below 1.
fn tick(x: f64) -> String {
    if x < 1.0 {
        format!("{x}")
    } else if x < 100.0 {
        format!("{x:.0}")
    } else {
        count(x)
    }
}

/// One line saying where the rate network is compared and why.
fn subtitle(c: &Comparison) -> String {
    let whose = match c.op.reference {
        Reference::Temporal => "the first-spike accuracy",
        Reference::RateFinal => "its own final accuracy",
    };
    format!(
        "operating point: rate T = {} steps ({:.2} %), the first step within {:.1} points of {whose} ({:.2} %)",
        c.op.step,
        100.0 * c.op.accuracy,
        100.0 * MATCH_TOLERANCE,
        100.0 * c.op.reference_accuracy
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG picture of a comparison; `title` goes on top.
pub fn svg(c: &Comparison, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="24" font-size="16">{}</text>
<text x="{LEFT}" y="42" fill="#555">{}</text>"##,
        esc(title),
        esc(&subtitle(c))
    );
    accuracy_panel(&mut s, c);
    histograms(&mut s, c);
    s.push_str("</svg>\n");
    s
}

fn accuracy_panel(s: &mut String, c: &Comparison) {
    let t = &c.temporal;
    let curve = &c.curve;
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, TOP + PLOT_H);
    let xs = curve
        .spikes
        .iter()
        .copied()
        .chain([t.spikes, t.spikes_full, c.decisions.spikes_mean]);
    let ax = LogAxis::covering(xs, x0, x1);
    let floor_acc = t.accuracy.min(c.op.accuracy).min(c.op.target);
    let y_lo = ((floor_acc - 0.1) * 20.0).floor().max(0.0) / 20.0;
    let y = |a: f64| y1 - (y1 - y0) * (a.clamp(y_lo - 0.02, 1.0) - y_lo) / (1.0 - y_lo);
    let _ = writeln!(
        s,
        r##"<defs><clipPath id="plot"><rect x="{x0}" y="{y0}" width="{}" height="{}"/></clipPath></defs>
<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#bbb"/>"##,
        x1 - x0,
        y1 - y0,
        x1 - x0,
        y1 - y0
    );
    for d in ax.decades() {
        let px = ax.px(d);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{y0}" y2="{y1}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y1 + 16.0,
            tick(d)
        );
    }
    let step = if 1.0 - y_lo > 0.3 { 0.1 } else { 0.05 };
    let mut a = y_lo;
    while a <= 1.0 + 1e-9 {
        let py = y(a);
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" x2="{x1}" y1="{py:.1}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{:.0} %</text>"##,
            x0 - 6.0,
            py + 4.0,
            100.0 * a
        );
        a += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">spikes per inference, all layers including inputs (log scale)</text>
<text x="20" y="{:.1}" transform="rotate(-90 20 {:.1})" text-anchor="middle">test accuracy</text>"#,
        (x0 + x1) / 2.0,
        y1 + 36.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    // Target line.
    let py = y(c.op.target);
    let _ = writeln!(
        s,
        r##"<line x1="{x0}" x2="{x1}" y1="{py:.1}" y2="{py:.1}" stroke="#888" stroke-dasharray="5 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666">target {:.2} %</text>"##,
        x1 - 4.0,
        py - 4.0,
        100.0 * c.op.target
    );
    // Rate curve.
    let pts: Vec<String> = (0..curve.steps())
        .filter(|&k| curve.spikes[k] > 0.0)
        .map(|k| format!("{:.1},{:.1}", ax.px(curve.spikes[k]), y(curve.accuracy[k])))
        .collect();
    let _ = writeln!(
        s,
        r#"<polyline clip-path="url(#plot)" points="{}" fill="none" stroke="{RATE}" stroke-width="2"/>"#,
        pts.join(" ")
    );
    let k = c.op.step - 1;
    let (opx, opy) = (ax.px(curve.spikes[k]), y(curve.accuracy[k]));
    for &tt in &[1usize, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] {
        if tt > curve.steps() || curve.spikes[tt - 1] <= 0.0 || curve.accuracy[tt - 1] < y_lo {
            continue;
        }
        let (px, py) = (ax.px(curve.spikes[tt - 1]), y(curve.accuracy[tt - 1]));
        if (px - opx).hypot(py - opy) < 30.0 {
            continue;
        }
        let _ = writeln!(
            s,
            r#"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{RATE}"/><text x="{:.1}" y="{:.1}" fill="{RATE}" font-size="11">T={tt}</text>"#,
            px + 4.0,
            py + 14.0
        );
    }
    // Markers only; the numbers go in the legend, where they cannot collide.
    let last = curve.steps() - 1;
    let marker = |s: &mut String, m: Marker, px: f64, py: f64| {
        let _ = match m {
            Marker::Ring(color, r) => writeln!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="{r}" fill="none" stroke="{color}" stroke-width="2"/>"#
            ),
            Marker::Dot(color, r) => writeln!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="{r}" fill="{color}"/>"#
            ),
            Marker::Diamond(color) => writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="9" height="9" transform="rotate(45 {px:.1} {py:.1})" fill="none" stroke="{color}" stroke-width="1.5"/>"#,
                px - 4.5,
                py - 4.5
            ),
            Marker::Line(color) => writeln!(
                s,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="{color}" stroke-width="2"/>"#,
                px - 10.0,
                px + 10.0
            ),
        };
    };
    marker(s, Marker::Ring(RATE, 7.0), opx, opy);
    marker(
        s,
        Marker::Diamond(RATE),
        ax.px(c.decisions.spikes_mean),
        y(curve.accuracy[last]),
    );
    marker(
        s,
        Marker::Dot(TEMPORAL, 6.0),
        ax.px(t.spikes),
        y(t.accuracy),
    );
    marker(
        s,
        Marker::Ring(TEMPORAL, 6.0),
        ax.px(t.spikes_full),
        y(t.accuracy),
    );
    let rows = [
        (
            Marker::Line(RATE),
            "rate-coded, accuracy after T steps (T marked)".to_string(),
        ),
        (
            Marker::Ring(RATE, 6.0),
            format!(
                "rate, operating point T = {}: {} spikes, {:.2} %",
                c.op.step,
                count(curve.spikes[k]),
                100.0 * curve.accuracy[k]
            ),
        ),
        (
            Marker::Diamond(RATE),
            format!(
                "rate, each image stopped at its decision (oracle): {} spikes, {:.2} %",
                count(c.decisions.spikes_mean),
                100.0 * curve.accuracy[last]
            ),
        ),
        (
            Marker::Dot(TEMPORAL, 5.0),
            format!(
                "first-spike, up to the decision: {} spikes, {:.2} %",
                count(t.spikes),
                100.0 * t.accuracy
            ),
        ),
        (
            Marker::Ring(TEMPORAL, 5.0),
            format!("first-spike, full run: {} spikes", count(t.spikes_full)),
        ),
    ];
    // Legend below the axis, in two columns: rate on the left, first-spike on the right.
    let col_w = (x1 - x0) * 0.58;
    let mut rows_per_col = [0usize; 2];
    for (m, text) in rows {
        let col = usize::from(matches!(
            m,
            Marker::Dot(TEMPORAL, _) | Marker::Ring(TEMPORAL, _)
        ));
        let yy = LEGEND_TOP + 14.0 + LEGEND_ROW * rows_per_col[col] as f64;
        rows_per_col[col] += 1;
        let bx = x0 + col as f64 * col_w;
        marker(s, m, bx + 12.0, yy - 4.0);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{yy:.1}">{}</text>"#,
            bx + 30.0,
            esc(&text)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-weight="bold">rate at the operating point / first-spike: spikes {:.1} x, synaptic events {:.1} x</text>"#,
        x0 + 4.0,
        LEGEND_TOP + 18.0 + LEGEND_ROW * 3.0,
        c.spike_ratio,
        c.synaptic_event_ratio
    );
}

/// Marker shapes of the accuracy panel.
#[derive(Clone, Copy)]
enum Marker {
    Ring(&'static str, f64),
    Dot(&'static str, f64),
    Diamond(&'static str),
    Line(&'static str),
}

fn histograms(s: &mut String, c: &Comparison) {
    let nl = c.rate_hist.len().max(c.temporal_hist.len());
    if nl == 0 {
        return;
    }
    let gap = 40.0;
    let pw = (W - LEFT - RIGHT - gap * (nl - 1) as f64) / nl as f64;
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{}" font-size="14">spikes per image, per layer: <tspan fill="{RATE}">rate at T = {}</tspan>, <tspan fill="{TEMPORAL}">first-spike up to the decision</tspan> (log-spaced bins, fraction of images)</text>"#,
        HIST_TOP - 24.0,
        c.op.step
    );
    for l in 0..nl {
        let x0 = LEFT + l as f64 * (pw + gap);
        let (y0, y1) = (HIST_TOP, HIST_TOP + HIST_H);
        let empty = Vec::new();
        let rate = c.rate_hist.get(l).unwrap_or(&empty);
        let temp = c.temporal_hist.get(l).unwrap_or(&empty);
        let ax = LogAxis::covering(rate.iter().chain(temp).map(|&v| v as f64), x0, x0 + pw);
        let bins = |v: &[u64]| -> Vec<f64> {
            let mut h = vec![0.0; BINS];
            for &x in v {
                let f = (ax.px(x as f64) - ax.a) / (ax.b - ax.a);
                h[((f * BINS as f64) as usize).min(BINS - 1)] += 1.0;
            }
            let n = v.len().max(1) as f64;
            h.iter_mut().for_each(|b| *b /= n);
            h
        };
        let (hr, ht) = (bins(rate), bins(temp));
        let top = hr
            .iter()
            .chain(&ht)
            .fold(0.0f64, |a, &b| a.max(b))
            .max(1e-9);
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y0}" width="{pw:.1}" height="{HIST_H}" fill="none" stroke="#bbb"/><text x="{x0:.1}" y="{}" font-weight="bold">{}</text>"##,
            y0 - 6.0,
            layer_name(l, nl)
        );
        let bw = pw / BINS as f64;
        for (h, color) in [(&hr, RATE), (&ht, TEMPORAL)] {
            for (b, &f) in h.iter().enumerate() {
                if f <= 0.0 {
                    continue;
                }
                let bh = (y1 - y0 - 10.0) * f / top;
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{color}" fill-opacity="0.55"/>"#,
                    x0 + b as f64 * bw,
                    y1 - bh,
                    bw
                );
            }
        }
        for d in ax.decades() {
            let px = ax.px(d);
            let _ = writeln!(
                s,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{y1}" y2="{}" stroke="#333"/><text x="{px:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"##,
                y1 + 4.0,
                y1 + 16.0,
                tick(d)
            );
        }
        let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" font-size="11"><tspan fill="{RATE}">mean {}</tspan>  <tspan fill="{TEMPORAL}">mean {}</tspan></text>"#,
            x0 + 4.0,
            y0 + 14.0,
            count(mean(rate)),
            count(mean(temp))
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">spikes per image (log scale; counts at or below the first tick, 0 included, fall in the first bin)</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        HIST_TOP + HIST_H + 40.0
    );
}
