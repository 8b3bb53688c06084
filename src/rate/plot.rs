//! The comparison as a picture, drawn with the toolkit of [`crate::plot`].
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
use crate::plot::{LinearAxis, LogAxis, Svg};

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

/// The SVG picture of a comparison; `title` goes on top.
pub fn svg(c: &Comparison, title: &str) -> String {
    let mut s = Svg::new(W, H);
    s.text(LEFT, 24.0, title, r#"font-size="16""#);
    s.text(LEFT, 42.0, &subtitle(c), r##"fill="#555""##);
    accuracy_panel(&mut s, c);
    histograms(&mut s, c);
    s.finish()
}

/// The axes of the accuracy panel: spikes per inference (log) on x, accuracy on y.
struct Frame {
    ax: LogAxis,
    ya: LinearAxis,
}

impl Frame {
    /// The y of an accuracy given as a fraction.
    fn y(&self, a: f64) -> f64 {
        self.ya.px(100.0 * a)
    }
}

/// The top panel: accuracy versus spikes per inference for both codings, with its legend.
fn accuracy_panel(s: &mut Svg, c: &Comparison) {
    let f = accuracy_frame(s, c);
    target_line(s, c, &f);
    let op = draw_rate_curve(s, c, &f);
    // Markers only; the numbers go in the legend, where they cannot collide.
    let (t, curve) = (&c.temporal, &c.curve);
    let last = curve.steps() - 1;
    marker(s, Marker::Ring(RATE, 7.0), op.0, op.1);
    marker(
        s,
        Marker::Diamond(RATE),
        f.ax.px(c.decisions.spikes_mean),
        f.y(curve.accuracy[last]),
    );
    marker(
        s,
        Marker::Dot(TEMPORAL, 6.0),
        f.ax.px(t.spikes),
        f.y(t.accuracy),
    );
    marker(
        s,
        Marker::Ring(TEMPORAL, 6.0),
        f.ax.px(t.spikes_full),
        f.y(t.accuracy),
    );
    legend(s, c);
}

/// Chooses the axes so that every marked point shows, and draws them with their grid.
fn accuracy_frame(s: &mut Svg, c: &Comparison) -> Frame {
    let t = &c.temporal;
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, TOP + PLOT_H);
    let xs =
        c.curve
            .spikes
            .iter()
            .copied()
            .chain([t.spikes, t.spikes_full, c.decisions.spikes_mean]);
    let ax = LogAxis::covering(xs, x0, x1);
    let floor_acc = t.accuracy.min(c.op.accuracy).min(c.op.target);
    // Accuracy in %, from a round value about 10 points below the lowest marked accuracy.
    let ya = LinearAxis::nice(100.0 * (floor_acc - 0.1).max(0.0), 100.0, y1, y0, 8);
    let xt = ax.labelled();
    let yt = ya.labelled();
    s.clip_rect("plot", x0, y0, x1 - x0, y1 - y0);
    s.grid_v(&xt.iter().map(|t| t.0).collect::<Vec<_>>(), (y0, y1));
    s.grid_h(&yt.iter().map(|t| t.0).collect::<Vec<_>>(), (x0, x1));
    s.rect(x0, y0, x1 - x0, y1 - y0, r##"fill="none" stroke="#bbb""##);
    s.axis_bottom(
        y1,
        (x0, x1),
        &xt,
        &ax.minor(),
        "spikes per inference, all layers including inputs (log scale)",
    );
    s.axis_left(x0, (y0, y1), &yt, "test accuracy (%)", 24.0);
    Frame { ax, ya }
}

/// The dashed line of the target accuracy, labelled.
fn target_line(s: &mut Svg, c: &Comparison, f: &Frame) {
    let (x0, x1) = (LEFT, W - RIGHT);
    let py = f.y(c.op.target);
    s.line(x0, py, x1, py, r##"stroke="#888" stroke-dasharray="5 4""##);
    // Below the line at the right end, where the rising rate curve is above it.
    s.text(
        x1 - 4.0,
        py + 14.0,
        &format!("target {:.2} %", 100.0 * c.op.target),
        r##"text-anchor="end" fill="#666""##,
    );
}

/// The rate network's accuracy over T, with round values of T marked (except near the
/// operating point). Returns the operating point's position.
fn draw_rate_curve(s: &mut Svg, c: &Comparison, f: &Frame) -> (f64, f64) {
    let curve = &c.curve;
    let y1 = TOP + PLOT_H;
    let pts: Vec<(f64, f64)> = (0..curve.steps())
        .filter(|&k| curve.spikes[k] > 0.0)
        .map(|k| (f.ax.px(curve.spikes[k]), f.y(curve.accuracy[k])))
        .collect();
    s.polyline(
        &pts,
        &format!(r#"clip-path="url(#plot)" stroke="{RATE}" stroke-width="2""#),
    );
    let k = c.op.step - 1;
    let (opx, opy) = (f.ax.px(curve.spikes[k]), f.y(curve.accuracy[k]));
    for &tt in &[1usize, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] {
        if tt > curve.steps() || curve.spikes[tt - 1] <= 0.0 || f.y(curve.accuracy[tt - 1]) > y1 {
            continue;
        }
        let (px, py) = (f.ax.px(curve.spikes[tt - 1]), f.y(curve.accuracy[tt - 1]));
        if (px - opx).hypot(py - opy) < 30.0 {
            continue;
        }
        s.circle(px, py, 3.0, &format!(r#"fill="{RATE}""#));
        s.text(
            px + 4.0,
            py + 14.0,
            &format!("T={tt}"),
            &format!(r#"fill="{RATE}" font-size="11""#),
        );
    }
    (opx, opy)
}

/// The legend below the accuracy panel, in two columns (rate on the left, first-spike on the
/// right), and the ratios.
fn legend(s: &mut Svg, c: &Comparison) {
    let (t, curve) = (&c.temporal, &c.curve);
    let k = c.op.step - 1;
    let last = curve.steps() - 1;
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
    let (x0, x1) = (LEFT, W - RIGHT);
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
        s.text(bx + 30.0, yy, &text, "");
    }
    s.text(
        x0 + 4.0,
        LEGEND_TOP + 18.0 + LEGEND_ROW * 3.0,
        &format!(
            "rate at the operating point / first-spike: spikes {:.1} x, synaptic events {:.1} x",
            c.spike_ratio, c.synaptic_event_ratio
        ),
        r#"font-weight="bold""#,
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

fn marker(s: &mut Svg, m: Marker, px: f64, py: f64) {
    match m {
        Marker::Ring(color, r) => s.circle(
            px,
            py,
            r,
            &format!(r#"fill="none" stroke="{color}" stroke-width="2""#),
        ),
        Marker::Dot(color, r) => s.circle(px, py, r, &format!(r#"fill="{color}""#)),
        Marker::Diamond(color) => s.diamond(
            px,
            py,
            9.0,
            &format!(r#"fill="none" stroke="{color}" stroke-width="1.5""#),
        ),
        Marker::Line(color) => s.line(
            px - 10.0,
            py,
            px + 10.0,
            py,
            &format!(r#"stroke="{color}" stroke-width="2""#),
        ),
    }
}

/// One histogram per layer of the spikes per image of both codings, below the accuracy panel.
fn histograms(s: &mut Svg, c: &Comparison) {
    let nl = c.rate_hist.len().max(c.temporal_hist.len());
    if nl == 0 {
        return;
    }
    let gap = 56.0;
    let pw = (W - LEFT - RIGHT - gap * (nl - 1) as f64) / nl as f64;
    s.text_spans(
        LEFT,
        HIST_TOP - 30.0,
        &[
            ("spikes per image, per layer: ", ""),
            (
                &format!("rate at T = {}", c.op.step),
                &format!(r#"fill="{RATE}""#),
            ),
            (", ", ""),
            (
                "first-spike up to the decision",
                &format!(r#"fill="{TEMPORAL}""#),
            ),
            (" (log-spaced bins)", ""),
        ],
        r#"font-size="14""#,
    );
    let empty = Vec::new();
    for l in 0..nl {
        let x0 = LEFT + l as f64 * (pw + gap);
        let rate = c.rate_hist.get(l).unwrap_or(&empty);
        let temp = c.temporal_hist.get(l).unwrap_or(&empty);
        histogram(s, (l, nl), (x0, pw), rate, temp);
    }
    s.text(
        (LEFT + W - RIGHT) / 2.0,
        HIST_TOP + HIST_H + 44.0,
        "spikes per image (log scale; counts at or below the first tick, 0 included, fall in the first bin)",
        r#"text-anchor="middle""#,
    );
}

/// The fraction of `v` in each of `BINS` bins spaced evenly along `ax` (log-spaced counts).
fn log_bins(ax: &LogAxis, v: &[u64]) -> Vec<f64> {
    let mut h = vec![0.0; BINS];
    for &x in v {
        let f = (ax.px(x as f64) - ax.a) / (ax.b - ax.a);
        h[((f * BINS as f64) as usize).min(BINS - 1)] += 1.0;
    }
    let n = v.len().max(1) as f64;
    h.iter_mut().for_each(|b| *b /= n);
    h
}

/// Layer `l` of `nl`'s histogram, `pw` wide from `x0`: the rate and the first-spike counts
/// per image overlaid, with both means.
fn histogram(
    s: &mut Svg,
    (l, nl): (usize, usize),
    (x0, pw): (f64, f64),
    rate: &[u64],
    temp: &[u64],
) {
    let (y0, y1) = (HIST_TOP, HIST_TOP + HIST_H);
    let ax = LogAxis::covering(rate.iter().chain(temp).map(|&v| v as f64), x0, x0 + pw);
    let (hr, ht) = (log_bins(&ax, rate), log_bins(&ax, temp));
    let top = hr
        .iter()
        .chain(&ht)
        .fold(0.0f64, |a, &b| a.max(b))
        .max(1e-9);
    // Fraction of images, 0 to a round value at or above the tallest bar.
    let ya = LinearAxis::nice(0.0, top, y1, y0 + 10.0, 5);
    s.rect(x0, y0, pw, HIST_H, r##"fill="none" stroke="#bbb""##);
    s.text(x0, y0 - 6.0, &layer_name(l, nl), r#"font-weight="bold""#);
    let bw = pw / BINS as f64;
    for (h, color) in [(&hr, RATE), (&ht, TEMPORAL)] {
        for (b, &f) in h.iter().enumerate() {
            if f <= 0.0 {
                continue;
            }
            let bh = y1 - ya.px(f);
            s.rect(
                x0 + b as f64 * bw,
                y1 - bh,
                bw,
                bh,
                &format!(r#"fill="{color}" fill-opacity="0.55""#),
            );
        }
    }
    s.axis_bottom(y1, (x0, x0 + pw), &ax.labelled(), &ax.minor(), "");
    let label = if l == 0 { "fraction of images" } else { "" };
    s.axis_left(x0, (y0, y1), &ya.labelled(), label, x0 - 44.0);
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    s.text_spans(
        x0 + pw - 4.0,
        y0 + 14.0,
        &[
            (
                &format!("mean {}", count(mean(rate))),
                &format!(r#"fill="{RATE}""#),
            ),
            ("  ", ""),
            (
                &format!("mean {}", count(mean(temp))),
                &format!(r#"fill="{TEMPORAL}""#),
            ),
        ],
        r#"font-size="11" text-anchor="end""#,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::compare::{OperatingPoint, RateCurve, RateDecisions, TemporalCounts};

    fn comparison() -> Comparison {
        Comparison {
            samples: 3,
            temporal: TemporalCounts {
                samples: 3,
                accuracy: 0.9,
                spikes: 200.0,
                spikes_full: 1500.0,
                ..Default::default()
            },
            curve: RateCurve {
                accuracy: vec![0.5, 0.8, 0.9, 0.95],
                spikes: vec![300.0, 600.0, 900.0, 1200.0],
                ..Default::default()
            },
            decisions: RateDecisions {
                spikes_mean: 700.0,
                ..Default::default()
            },
            op: OperatingPoint {
                step: 3,
                accuracy: 0.9,
                target: 0.895,
                reference: Reference::Temporal,
                reference_accuracy: 0.9,
            },
            spike_ratio: 4.5,
            synaptic_event_ratio: 5.0,
            ann: Default::default(),
            rate_sparsity: Default::default(),
            rate_sparsity_final: Default::default(),
            temporal_hist: vec![vec![100, 120, 90], vec![30, 40, 0], vec![1, 1, 1]],
            rate_hist: vec![vec![800, 900, 1000], vec![300, 200, 250], vec![5, 7, 9]],
        }
    }

    #[test]
    fn picture_is_well_formed_with_a_hostile_title() {
        let s = svg(&comparison(), "rate <&> \"first-spike\"");
        crate::plot::tests::assert_well_formed(&s);
        assert!(s.contains("rate &lt;&amp;&gt; &quot;first-spike&quot;"));
    }

    #[test]
    fn every_panel_has_its_axis_labels_and_layer_names() {
        let s = svg(&comparison(), "t");
        for text in [
            ">test accuracy (%)<",
            ">spikes per inference, all layers including inputs (log scale)<",
            ">fraction of images<",
            ">input<",
            ">hidden 1<",
            ">output<",
        ] {
            assert_eq!(s.matches(text).count(), 1, "{text}");
        }
        // Accuracy ticks are round percentages.
        assert!(s.contains(">80<") && s.contains(">100<"));
    }
}
