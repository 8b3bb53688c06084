//! Small SVG line charts (training curves), hand-written so that no font or graphics library
//! is needed. Pure functions returning SVG text.

use std::fmt::Write;

/// One line of a chart: a name, a colour, and (x, y) points.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// Points, x increasing.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with axes, ticks and a legend. `y_range` fixes the y axis (else fitted).
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_range: Option<(f64, f64)>,
) -> String {
    let (w, h) = (720.0, 420.0);
    let (l, r, t, b) = (70.0, 150.0, 40.0, 50.0);
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some((a, c)) = y_range {
        (y0, y1) = (a, c);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let px = |x: f64| l + (w - l - r) * (x - x0) / (x1 - x0);
    let py = |y: f64| h - b - (h - t - b) * (y - y0) / (y1 - y0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{l}" y="24" font-size="15">{title}</text><rect x="{l}" y="{t}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        w - l - r,
        h - t - b
    );
    for k in 0..=5 {
        let xv = x0 + (x1 - x0) * k as f64 / 5.0;
        let yv = y0 + (y1 - y0) * k as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{}</text><line x1="{l}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            px(xv),
            h - b + 16.0,
            fmt_tick(xv),
            w - r,
            py(yv),
            py(yv),
            l - 6.0,
            py(yv) + 4.0,
            fmt_tick(yv)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{x_label}</text>"#,
        l + (w - l - r) / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{y_label}</text>"#,
        t + (h - t - b) / 2.0
    );
    for (k, se) in series.iter().enumerate() {
        let path: Vec<String> = se
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y.clamp(y0, y1))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            se.color,
            path.join(" ")
        );
        for p in &path {
            let (cx, cy) = p.split_once(',').unwrap();
            let _ = writeln!(
                s,
                r#"<circle cx="{cx}" cy="{cy}" r="2.5" fill="{}"/>"#,
                se.color
            );
        }
        let ly = t + 14.0 + 18.0 * k as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            w - r + 10.0,
            w - r + 30.0,
            se.color,
            w - r + 34.0,
            ly + 4.0,
            se.name
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The accuracy curve of a training log: train and test accuracy (%) per epoch.
pub fn accuracy_curve(title: &str, log: &[crate::train::EpochLog]) -> String {
    let train = Series {
        name: "train",
        color: "#4c72b0",
        points: log
            .iter()
            .map(|e| (e.epoch as f64, 100.0 * e.train_accuracy))
            .collect(),
    };
    let test = Series {
        name: "test",
        color: "#c44e52",
        points: log
            .iter()
            .filter_map(|e| e.test_accuracy.map(|a| (e.epoch as f64, 100.0 * a)))
            .collect(),
    };
    let lo = log
        .iter()
        .flat_map(|e| [e.train_accuracy, e.test_accuracy.unwrap_or(1.0)])
        .fold(1.0, f64::min);
    let lo = (100.0 * lo - 1.0).floor().max(0.0);
    line_chart(
        title,
        "epoch",
        "accuracy (%)",
        &[train, test],
        Some((lo, 100.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_one_polyline_per_series() {
        let s = line_chart(
            "t",
            "x",
            "y",
            &[
                Series {
                    name: "a",
                    color: "red",
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                },
                Series {
                    name: "b",
                    color: "blue",
                    points: vec![(0.0, 0.5)],
                },
            ],
            None,
        );
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
