//! A small self-contained SVG picture of the sweeps: a grid of panels, accuracy (mean, with
//! bars of one standard deviation over trials) against each perturbation's level, one line
//! per coding. Pure: returns the SVG text; writing it is the caller's job.

use std::fmt::Write;

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub colour: String,
    /// Points (level, mean, sd), in drawing order.
    pub points: Vec<(f64, f64, f64)>,
}

/// One panel.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Draw x from large (left) to small (right) (e.g. bits, deadlines: severity grows to the right).
    pub reverse_x: bool,
    /// The lines.
    pub series: Vec<Series>,
}

const PW: f64 = 300.0;
const PH: f64 = 200.0;
const ML: f64 = 55.0;
const MT: f64 = 58.0;
const GAP_X: f64 = 80.0;
const GAP_Y: f64 = 85.0;

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// "Nice" tick positions covering [lo, hi], about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

/// The picture: `panels` in a grid `cols` wide, under `title`. Y is accuracy in percent
/// (means and sds given as fractions), from a floor under the lowest point to 100.
pub fn chart(title: &str, panels: &[Panel], cols: usize) -> String {
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols);
    let w = ML + cols as f64 * (PW + GAP_X);
    let h = MT + rows as f64 * (PH + GAP_Y);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" font-size="14" text-anchor="middle">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    for (k, p) in panels.iter().enumerate() {
        let x0 = ML + (k % cols) as f64 * (PW + GAP_X);
        let y0 = MT + (k / cols) as f64 * (PH + GAP_Y);
        panel(&mut s, p, x0, y0);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, p: &Panel, x0: f64, y0: f64) {
    let pts = p.series.iter().flat_map(|se| se.points.iter());
    let (mut xlo, mut xhi, mut ylo) = (f64::INFINITY, f64::NEG_INFINITY, 100.0f64);
    for &(x, m, sd) in pts {
        xlo = xlo.min(x);
        xhi = xhi.max(x);
        ylo = ylo.min(100.0 * (m - sd));
    }
    if !xlo.is_finite() {
        return;
    }
    if xhi <= xlo {
        xhi = xlo + 1.0;
    }
    let ylo = ((ylo - 1.0) / 10.0).floor().max(0.0) * 10.0;
    let yhi = 100.0;
    let sx = |x: f64| {
        let f = (x - xlo) / (xhi - xlo);
        x0 + PW * if p.reverse_x { 1.0 - f } else { f }
    };
    let sy = |y: f64| y0 + PH * (1.0 - (100.0 * y - ylo) / (yhi - ylo));
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
        x0 + PW / 2.0,
        y0 - 8.0,
        esc(&p.title)
    );
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y0}" width="{PW}" height="{PH}" fill="none" stroke="#444"/>"##
    );
    for t in ticks(ylo, yhi, 5) {
        let y = y0 + PH * (1.0 - (t - ylo) / (yhi - ylo));
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{t}</text>"##,
            x0 + PW,
            x0 - 4.0,
            y + 4.0
        );
    }
    for t in ticks(xlo, xhi, 5) {
        let x = sx(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="#444"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + PH,
            y0 + PH + 4.0,
            y0 + PH + 16.0,
            (t * 1000.0).round() / 1000.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        x0 + PW / 2.0,
        y0 + PH + 32.0,
        esc(&p.x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">accuracy (%)</text>"#,
        x0 - 38.0,
        y0 + PH / 2.0
    );
    for (k, se) in p.series.iter().enumerate() {
        let path: Vec<String> = se
            .points
            .iter()
            .map(|&(x, m, _)| format!("{:.1},{:.1}", sx(x), sy(m)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.8"/>"#,
            path.join(" "),
            se.colour
        );
        for &(x, m, sd) in &se.points {
            let (cx, cy) = (sx(x), sy(m));
            let _ = writeln!(
                s,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="2.5" fill="{}"/>"#,
                se.colour
            );
            if sd > 0.0 {
                let _ = writeln!(
                    s,
                    r#"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="{}"/>"#,
                    sy(m - sd).min(y0 + PH),
                    sy(m + sd).max(y0),
                    se.colour
                );
            }
        }
        let ly = y0 + PH + 48.0 + 13.0 * k as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{x0}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2"/><text x="{}" y="{ly}">{}</text>"#,
            x0 + 18.0,
            ly - 4.0,
            ly - 4.0,
            se.colour,
            x0 + 24.0,
            esc(&se.name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_draws_every_point_and_escapes_text() {
        let p = Panel {
            title: "a<b".into(),
            x_label: "x".into(),
            reverse_x: true,
            series: vec![Series {
                name: "s&t".into(),
                colour: "red".into(),
                points: vec![(1.0, 0.9, 0.01), (2.0, 0.8, 0.0)],
            }],
        };
        let svg = chart("t", &[p], 2);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t"));
    }
}
