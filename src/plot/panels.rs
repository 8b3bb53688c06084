//! A grid of small line charts sharing a y quantity, each point with an error bar: the
//! picture of a sweep of several perturbations (one panel each), several codings (one line
//! each). Axes, ticks and text go through the toolkit ([`LinearAxis`], [`Svg`]); a panel's
//! x axis may run from large (left) to small (right).

use super::{LinearAxis, Svg};

/// Size of one panel's plot area, pixels.
const PW: f64 = 300.0;
const PH: f64 = 190.0;
/// Room left of a plot area (y tick labels and the y label), pixels.
const LEFT: f64 = 64.0;
/// Room right of a plot area, pixels.
const RIGHT: f64 = 26.0;
/// Room above the first row (the chart title), pixels.
const HEAD: f64 = 40.0;
/// Room above a plot area (the panel title), pixels.
const PANEL_TOP: f64 = 26.0;
/// Room below a plot area for the x axis, its tick labels and its label, pixels.
const AXIS_ROOM: f64 = 50.0;
/// Height of one legend row, pixels.
const ROW: f64 = 16.0;
/// Most tick labels wanted along x and along y.
const X_TICKS: usize = 6;
const Y_TICKS: usize = 6;
/// Half width of an error bar's caps, pixels.
const CAP: f64 = 3.0;

/// One line of a panel: points with a symmetric error (e.g. mean and one standard deviation).
#[derive(Clone, Debug)]
pub(crate) struct ErrorSeries {
    /// Legend text.
    pub(crate) name: String,
    /// CSS colour.
    pub(crate) color: String,
    /// Points (x, y, error), in drawing order; a bar spans `y - error..y + error`.
    pub(crate) points: Vec<(f64, f64, f64)>,
}

/// One panel of a [`panel_grid`].
#[derive(Clone, Debug)]
pub(crate) struct Panel {
    /// Title above the panel.
    pub(crate) title: String,
    /// Label of the x axis.
    pub(crate) x_label: String,
    /// Keep x ticks on whole numbers (bit widths, steps).
    pub(crate) x_integer: bool,
    /// Draw x from large (left) to small (right).
    pub(crate) reverse_x: bool,
    /// The y range to cover, widened to round ticks; `None` fits every bar.
    pub(crate) y_range: Option<(f64, f64)>,
    /// The lines.
    pub(crate) series: Vec<ErrorSeries>,
}

/// `panels` in a grid `cols` wide under `title`, each with its own axes (`y_label` on every y
/// axis) and its legend below it. Points with a non-finite coordinate are left out.
pub(crate) fn panel_grid(title: &str, y_label: &str, panels: &[Panel], cols: usize) -> String {
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let legend_rows = panels.iter().map(|p| p.series.len()).max().unwrap_or(0);
    let cell_w = LEFT + PW + RIGHT;
    let cell_h = PANEL_TOP + PH + AXIS_ROOM + ROW * legend_rows as f64 + 12.0;
    let w = cols as f64 * cell_w;
    let h = HEAD + rows as f64 * cell_h;
    let mut s = Svg::new(w, h);
    s.text(
        w / 2.0,
        24.0,
        title,
        r#"font-size="15" text-anchor="middle""#,
    );
    for (k, p) in panels.iter().enumerate() {
        let x0 = (k % cols) as f64 * cell_w + LEFT;
        let y0 = HEAD + (k / cols) as f64 * cell_h + PANEL_TOP;
        panel(&mut s, k, p, (x0, y0), y_label);
    }
    s.finish()
}

/// The finite points of a series.
fn finite(se: &ErrorSeries) -> impl Iterator<Item = &(f64, f64, f64)> {
    se.points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite())
}

/// The smallest and largest of `vs`, or `fallback` when there is none.
fn span(vs: impl Iterator<Item = f64>, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = vs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if lo.is_finite() {
        (lo, hi)
    } else {
        fallback
    }
}

/// One panel with its plot area's top-left corner at `(x0, y0)`; `k` names its clip path.
fn panel(s: &mut Svg, k: usize, p: &Panel, (x0, y0): (f64, f64), y_label: &str) {
    let (px0, px1, py0, py1) = (x0, x0 + PW, y0, y0 + PH);
    let pts = || p.series.iter().flat_map(finite);
    let (xlo, xhi) = span(pts().map(|q| q.0), (0.0, 1.0));
    let (ylo, yhi) = p.y_range.unwrap_or_else(|| {
        span(
            pts().flat_map(|q| [q.1 - q.2.abs(), q.1 + q.2.abs()]),
            (0.0, 1.0),
        )
    });
    let (xa_left, xa_right) = if p.reverse_x { (px1, px0) } else { (px0, px1) };
    let xa = LinearAxis::nice_whole_if(p.x_integer, xlo, xhi, xa_left, xa_right, X_TICKS);
    let ya = LinearAxis::nice(ylo, yhi, py1, py0, Y_TICKS);
    s.text(
        (px0 + px1) / 2.0,
        py0 - 10.0,
        &p.title,
        r#"font-size="13" text-anchor="middle""#,
    );
    let (xt, yt) = (xa.labelled(), ya.labelled());
    s.grid_h(&yt.iter().map(|t| t.0).collect::<Vec<_>>(), (px0, px1));
    s.axis_bottom(py1, (px0, px1), &xt, &[], &p.x_label);
    s.axis_left(px0, (py0, py1), &yt, y_label, px0 - 46.0);
    let clip = format!("panel{k}");
    s.clip_rect(&clip, px0 - 4.0, py0 - 4.0, PW + 8.0, PH + 8.0);
    for se in &p.series {
        let line = format!(
            r#"stroke="{}" stroke-width="1.8" clip-path="url(#{clip})""#,
            se.color
        );
        let xy: Vec<(f64, f64)> = finite(se).map(|q| (xa.px(q.0), ya.px(q.1))).collect();
        s.polyline(&xy, &line);
        for &(x, y, e) in finite(se) {
            let (cx, cy) = (xa.px(x), ya.px(y));
            if e != 0.0 {
                s.error_bar(
                    cx,
                    ya.px(y - e.abs()),
                    ya.px(y + e.abs()),
                    CAP,
                    &format!(
                        r#"stroke="{}" stroke-width="1.2" clip-path="url(#{clip})""#,
                        se.color
                    ),
                );
            }
            s.circle(
                cx,
                cy,
                2.5,
                &format!(r#"fill="{}" clip-path="url(#{clip})""#, se.color),
            );
        }
    }
    for (r, se) in p.series.iter().enumerate() {
        let ly = py1 + AXIS_ROOM + ROW * (r as f64 + 0.5);
        s.line(
            px0,
            ly,
            px0 + 22.0,
            ly,
            &format!(r#"stroke="{}" stroke-width="2""#, se.color),
        );
        s.circle(px0 + 11.0, ly, 2.5, &format!(r#"fill="{}""#, se.color));
        s.text(px0 + 30.0, ly + 4.0, &se.name, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg::tests::assert_well_formed;

    fn series(name: &str, color: &str, pts: &[(f64, f64, f64)]) -> ErrorSeries {
        ErrorSeries {
            name: name.into(),
            color: color.into(),
            points: pts.to_vec(),
        }
    }

    fn panel(title: &str, reverse_x: bool, series: Vec<ErrorSeries>) -> Panel {
        Panel {
            title: title.into(),
            x_label: "level".into(),
            x_integer: false,
            reverse_x,
            y_range: None,
            series,
        }
    }

    /// The x pixels of the x tick labels (11 px, centred) whose baseline lies in
    /// `below..above`, in document order.
    fn x_tick_pixels(svg: &str, below: f64, above: f64) -> Vec<f64> {
        svg.lines()
            .filter(|l| {
                l.starts_with("<text") && l.contains(r#"text-anchor="middle" font-size="11""#)
            })
            .filter_map(|l| {
                let num = |key: &str| -> f64 {
                    let i = l.find(key).unwrap() + key.len();
                    l[i..].split('"').next().unwrap().parse().unwrap()
                };
                let y = num(" y=\"");
                (y > below && y < above).then(|| num(" x=\""))
            })
            .collect()
    }

    #[test]
    fn grid_has_a_polyline_per_series_per_panel_and_error_bars() {
        let a = series("a", "red", &[(0.0, 90.0, 1.0), (1.0, 80.0, 2.0)]);
        let b = series("b", "blue", &[(0.0, 95.0, 0.5), (1.0, 70.0, 0.0)]);
        let panels = vec![
            panel("one", false, vec![a.clone(), b.clone()]),
            panel("two", true, vec![a.clone(), b]),
            panel("three", false, vec![a]),
        ];
        let svg = panel_grid("t", "accuracy (%)", &panels, 2);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polyline").count(), 5);
        // Bars for every point with a nonzero error: 2 + 1 + 2 + 1 + 2.
        assert_eq!(svg.matches(r#"class="errbar""#).count(), 8);
        assert_eq!(svg.matches(">accuracy (%)<").count(), 3);
    }

    #[test]
    fn titles_and_names_are_escaped() {
        let p = panel(
            "a<b",
            true,
            vec![series("s&t", "red", &[(1.0, 0.9, 0.01), (2.0, 0.8, 0.0)])],
        );
        let svg = panel_grid("\"x\" > y", "y", &[p], 3);
        assert_well_formed(&svg);
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t"));
        assert!(svg.contains("&quot;x&quot; &gt; y"));
        // Every point drawn (plus the legend's marker).
        assert_eq!(svg.matches("<circle").count(), 3);
    }

    #[test]
    fn reversed_axes_have_ticks_decreasing_left_to_right() {
        let pts = [(2.0, 50.0, 1.0), (5.0, 80.0, 1.0), (8.0, 90.0, 1.0)];
        let mut p = panel("bits", true, vec![series("s", "red", &pts)]);
        p.x_integer = true;
        let band = (HEAD + PANEL_TOP + PH, HEAD + PANEL_TOP + PH + 25.0);
        let svg = panel_grid("t", "y", std::slice::from_ref(&p), 1);
        let xs = x_tick_pixels(&svg, band.0, band.1);
        assert!(xs.len() >= 3, "{xs:?}");
        // Ticks are painted in increasing value, so their pixels decrease.
        assert!(xs.windows(2).all(|w| w[0] > w[1]), "{xs:?}");
        assert!(svg.contains(">8<") && svg.contains(">2<") && !svg.contains(">2.5<"));
        p.reverse_x = false;
        let svg = panel_grid("t", "y", &[p], 1);
        let xs = x_tick_pixels(&svg, band.0, band.1);
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }

    #[test]
    fn fitted_y_covers_every_bar() {
        let p = panel(
            "p",
            false,
            vec![series("s", "red", &[(0.0, 50.0, 20.0), (1.0, 60.0, 1.0)])],
        );
        let svg = panel_grid("t", "y", &[p], 1);
        // 30..70 widened to round ticks.
        assert!(svg.contains(">30<") && svg.contains(">70<"), "{svg}");
    }
}
