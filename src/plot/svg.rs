//! An SVG document builder: shapes, escaped text, and axis painters.
//!
//! Every text handed to [`Svg`] is escaped for XML. Style arguments (`style`) are extra
//! attributes written as given, such as `fill="#555" text-anchor="end"`: they are program
//! constants, never user text. Coordinates are pixels, y growing downwards.

use std::fmt::Write;

/// Font size of tick labels, pixels.
pub(crate) const TICK_FONT: f64 = 11.0;
/// Length of a major tick mark, pixels (outside the plot area).
const TICK_LEN: f64 = 5.0;
/// Length of a minor tick mark, pixels.
const MINOR_LEN: f64 = 3.0;
/// Axis and tick colour.
const INK: &str = "#333";

/// `s` with the five XML special characters escaped, safe in text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document under construction; [`Svg::finish`] returns its text.
pub(crate) struct Svg {
    buf: String,
}

impl Svg {
    /// A `w` x `h` document on a white background, 12 px sans-serif text.
    pub(crate) fn new(w: f64, h: f64) -> Svg {
        let mut buf = String::new();
        let _ = writeln!(
            buf,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>"#
        );
        Svg { buf }
    }

    /// Text at `(x, y)` (baseline), escaped.
    pub(crate) fn text(&mut self, x: f64, y: f64, text: &str, style: &str) {
        let _ = writeln!(
            self.buf,
            r#"<text x="{x:.1}" y="{y:.1}" {style}>{}</text>"#,
            esc(text)
        );
    }

    /// Text turned 90 degrees counter-clockwise about `(x, y)` (for y axis labels), escaped.
    pub(crate) fn text_up(&mut self, x: f64, y: f64, text: &str, style: &str) {
        let _ = writeln!(
            self.buf,
            r#"<text x="{x:.1}" y="{y:.1}" transform="rotate(-90 {x:.1} {y:.1})" {style}>{}</text>"#,
            esc(text)
        );
    }

    /// One line of text in differently styled pieces (`(text, style)`), each escaped; spaces
    /// at the ends of pieces are kept.
    pub(crate) fn text_spans(&mut self, x: f64, y: f64, spans: &[(&str, &str)], style: &str) {
        let _ = write!(
            self.buf,
            r#"<text x="{x:.1}" y="{y:.1}" xml:space="preserve" {style}>"#
        );
        for (t, st) in spans {
            let _ = write!(self.buf, "<tspan {st}>{}</tspan>", esc(t));
        }
        self.buf.push_str("</text>\n");
    }

    /// A straight line.
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.buf,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" {style}/>"#
        );
    }

    /// A rectangle (top-left corner, width, height).
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, style: &str) {
        let _ = writeln!(
            self.buf,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" {style}/>"#
        );
    }

    /// A circle.
    pub(crate) fn circle(&mut self, cx: f64, cy: f64, r: f64, style: &str) {
        let _ = writeln!(
            self.buf,
            r#"<circle cx="{cx:.2}" cy="{cy:.2}" r="{r}" {style}/>"#
        );
    }

    /// A square of side `side` turned 45 degrees, centred on `(cx, cy)`.
    pub(crate) fn diamond(&mut self, cx: f64, cy: f64, side: f64, style: &str) {
        let h = side / 2.0;
        let _ = writeln!(
            self.buf,
            r#"<rect x="{:.2}" y="{:.2}" width="{side}" height="{side}" transform="rotate(45 {cx:.2} {cy:.2})" {style}/>"#,
            cx - h,
            cy - h
        );
    }

    /// An open polyline through `pts` (nothing for fewer than two points).
    pub(crate) fn polyline(&mut self, pts: &[(f64, f64)], style: &str) {
        if pts.len() < 2 {
            return;
        }
        let p: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            self.buf,
            r#"<polyline points="{}" fill="none" {style}/>"#,
            p.join(" ")
        );
    }

    /// A vertical error bar at `x` from `y0` to `y1` with horizontal caps `cap` pixels to each
    /// side, as one path of class `errbar`.
    pub(crate) fn error_bar(&mut self, x: f64, y0: f64, y1: f64, cap: f64, style: &str) {
        let (l, r) = (x - cap, x + cap);
        let _ = writeln!(
            self.buf,
            r#"<path class="errbar" d="M{x:.2},{y0:.2}V{y1:.2}M{l:.2},{y0:.2}H{r:.2}M{l:.2},{y1:.2}H{r:.2}" fill="none" {style}/>"#
        );
    }

    /// A clip rectangle named `id`, for `clip-path="url(#id)"` in later styles.
    pub(crate) fn clip_rect(&mut self, id: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.buf,
            r#"<defs><clipPath id="{}"><rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}"/></clipPath></defs>"#,
            esc(id)
        );
    }

    /// A horizontal axis along `y` from `x0` to `x1`: the axis line, tick marks pointing down
    /// with their labels (`(pixel, label)`), unlabelled minor ticks, and `label` centred below.
    pub(crate) fn axis_bottom(
        &mut self,
        y: f64,
        (x0, x1): (f64, f64),
        ticks: &[(f64, String)],
        minor: &[f64],
        label: &str,
    ) {
        self.line(x0, y, x1, y, &format!(r#"stroke="{INK}""#));
        for &m in minor {
            self.line(m, y, m, y + MINOR_LEN, &format!(r#"stroke="{INK}""#));
        }
        for (px, t) in ticks {
            self.line(*px, y, *px, y + TICK_LEN, &format!(r#"stroke="{INK}""#));
            self.text(
                *px,
                y + TICK_LEN + TICK_FONT + 2.0,
                t,
                &format!(r#"text-anchor="middle" font-size="{TICK_FONT}""#),
            );
        }
        if !label.is_empty() {
            self.text(
                (x0 + x1) / 2.0,
                y + TICK_LEN + 2.0 * TICK_FONT + 14.0,
                label,
                r#"text-anchor="middle""#,
            );
        }
    }

    /// A vertical axis along `x` from `y0` to `y1`: the axis line, tick marks pointing left
    /// with their labels, and, unless `label` is empty, `label` turned upright at `label_x`.
    pub(crate) fn axis_left(
        &mut self,
        x: f64,
        (y0, y1): (f64, f64),
        ticks: &[(f64, String)],
        label: &str,
        label_x: f64,
    ) {
        self.line(x, y0, x, y1, &format!(r#"stroke="{INK}""#));
        for (py, t) in ticks {
            self.line(x - TICK_LEN, *py, x, *py, &format!(r#"stroke="{INK}""#));
            self.text(
                x - TICK_LEN - 3.0,
                py + TICK_FONT * 0.35,
                t,
                &format!(r#"text-anchor="end" font-size="{TICK_FONT}""#),
            );
        }
        if !label.is_empty() {
            self.text_up(label_x, (y0 + y1) / 2.0, label, r#"text-anchor="middle""#);
        }
    }

    /// Light grid lines across a plot area, horizontal at each `ys` from `x0` to `x1`.
    pub(crate) fn grid_h(&mut self, ys: &[f64], (x0, x1): (f64, f64)) {
        for &y in ys {
            self.line(x0, y, x1, y, r##"stroke="#e8e8e8""##);
        }
    }

    /// Light grid lines across a plot area, vertical at each `xs` from `y0` to `y1`.
    pub(crate) fn grid_v(&mut self, xs: &[f64], (y0, y1): (f64, f64)) {
        for &x in xs {
            self.line(x, y0, x, y1, r##"stroke="#e8e8e8""##);
        }
    }

    /// The finished document.
    pub(crate) fn finish(mut self) -> String {
        self.buf.push_str("</svg>\n");
        self.buf
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `s` is well-formed enough for our pictures: every `<` opens a tag (no raw
    /// `<` in text), every `&` starts one of the five entities, and tags balance.
    pub(crate) fn assert_well_formed(s: &str) {
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "bare & at {i}: {}",
                &rest[..rest.len().min(20)]
            );
        }
        let mut stack: Vec<String> = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find('<') {
            let end = rest[i..].find('>').expect("unclosed tag") + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "raw < inside a tag or text: {tag}");
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if tag.starts_with('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "at {tag}");
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            // Text between tags holds no '>' either (escaped).
            let next = rest[end + 1..]
                .find('<')
                .map_or(rest.len(), |j| j + end + 1);
            assert!(!rest[end + 1..next].contains('>'), "raw > in text");
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    #[test]
    fn escaping_covers_the_five_specials() {
        assert_eq!(esc(r#"a<&>"'b"#), "a&lt;&amp;&gt;&quot;&apos;b");
    }

    #[test]
    fn texts_with_specials_stay_well_formed() {
        let mut s = Svg::new(10.0, 10.0);
        s.text(0.0, 0.0, "a <&> b", "");
        s.text_up(0.0, 0.0, "\"q\" & 'p'", "");
        s.text_spans(0.0, 0.0, &[("x<y", ""), ("a&b", r#"fill="red""#)], "");
        s.axis_bottom(5.0, (0.0, 10.0), &[(1.0, "<1>".into())], &[], "t & u");
        let out = s.finish();
        assert_well_formed(&out);
        assert!(out.contains("a &lt;&amp;&gt; b"));
        assert!(!out.contains("a <&> b"));
    }

    #[test]
    fn the_checker_rejects_raw_specials() {
        for bad in [
            "<svg><text>a<b</text></svg>",
            "<svg><text>a & b</text></svg>",
        ] {
            assert!(std::panic::catch_unwind(|| assert_well_formed(bad)).is_err());
        }
    }
}
