//! The picture of the sweeps: one panel per perturbation, accuracy (%) as the mean with a bar
//! of one standard deviation over trials against the perturbation's level, one line per
//! coding. Bits and deadlines run from large (left) to small (right), so that severity grows
//! to the right in every panel.
//!
//! Owns what the picture shows; the drawing is `crate::plot::panel_grid`'s. It can be drawn
//! from the sweeps ([`picture`]) or again from the JSON report written beside it
//! ([`picture_from_json`]), without re-running anything. Pure: returns the SVG text.

use super::{Kind, Level, MeanSd};
use crate::error::{Error, Result};
use crate::plot::{panel_grid, ErrorSeries, Panel};
use serde_json::Value;
use std::path::Path;

/// What the picture shows of one level: what was perturbed, how much, and the accuracy
/// (fraction) over the trials.
pub(crate) type Point = (Kind, f64, MeanSd);

/// Panels per row.
const COLS: usize = 3;
const FIRST_SPIKE: &str = "#1f77b4";
const RATE: &str = "#d62728";

/// The points of `levels`, in their order.
pub fn points(levels: &[Level]) -> Vec<Point> {
    levels
        .iter()
        .map(|l| (l.kind, l.level, l.accuracy))
        .collect()
}

/// The picture's title: the model's name (no folder), whether the rate baseline is beside it,
/// the test images, the seed and the trials.
pub fn title(model: &Path, with_rate: bool, samples: usize, seed: u64, trials: usize) -> String {
    format!(
        "{}{}: accuracy under perturbation ({samples} test images, seed {seed}, {trials} trials)",
        model
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy()),
        if with_rate { " vs rate baseline" } else { "" },
    )
}

/// The picture of a first-spike sweep and, if given, the rate baseline's
/// (`(steps per simulation, its points)`).
pub fn picture(title: &str, temporal: &[Point], rate: Option<(usize, &[Point])>) -> String {
    let series = |pts: &[Point], kind: Kind, name: &str, color: &str| ErrorSeries {
        name: name.into(),
        color: color.into(),
        points: pts
            .iter()
            .filter(|p| p.0 == kind)
            .map(|&(_, x, a)| (x, 100.0 * a.mean, 100.0 * a.sd))
            .collect(),
    };
    let fs = |k: Kind| series(temporal, k, "first-spike (analytic solver)", FIRST_SPIKE);
    let rate_name = rate.map_or(String::new(), |r| {
        format!("rate-coded, read at T = {} steps", r.0)
    });
    let rt = |k: Kind| rate.map(|r| series(r.1, k, &rate_name, RATE));
    let both = |k: Kind| std::iter::once(fs(k)).chain(rt(k)).collect::<Vec<_>>();
    let panel = |title: &str, x_label: &str, reverse_x: bool, series: Vec<ErrorSeries>| Panel {
        title: title.into(),
        x_label: x_label.into(),
        x_integer: false,
        reverse_x,
        y_range: Some((y_floor(&series), 100.0)),
        series,
    };
    let mut panels = vec![
        panel(
            "input spike-time jitter (first-spike only)",
            "jitter sd (tau_syn)",
            false,
            vec![fs(Kind::Jitter)],
        ),
        panel(
            "input spike deletion",
            "probability an input spike is dropped",
            false,
            both(Kind::Deletion),
        ),
        Panel {
            x_integer: true,
            ..panel(
                "weight quantisation (per layer, symmetric)",
                "bits per weight",
                true,
                both(Kind::WeightBits),
            )
        },
        panel(
            "multiplicative weight noise",
            "relative sd of w (1 + sd n)",
            false,
            both(Kind::WeightNoise),
        ),
        panel(
            "deadline, first-spike",
            "decision by T (tau_syn)",
            true,
            vec![fs(Kind::Deadline)],
        ),
    ];
    if let Some(r) = rt(Kind::Deadline) {
        panels.push(Panel {
            x_integer: true,
            ..panel(
                "deadline, rate-coded",
                "read out at step T",
                true,
                vec![ErrorSeries {
                    name: "rate-coded".into(),
                    ..r
                }],
            )
        });
    }
    panel_grid(title, "accuracy (%)", &panels, COLS)
}

/// The bottom of a panel's accuracy axis (%): a multiple of 10 at least one point below the
/// lowest bar, and not below 0.
fn y_floor(series: &[ErrorSeries]) -> f64 {
    let lowest = series
        .iter()
        .flat_map(|s| s.points.iter())
        .map(|&(_, m, sd)| m - sd)
        .filter(|v| v.is_finite())
        .fold(100.0, f64::min);
    ((lowest - 1.0) / 10.0).floor().max(0.0) * 10.0
}

/// The picture again from the JSON report of `firstspike robustness` (its `model`,
/// `samples`, `config.seed`, `config.trials`, `temporal.levels` and `rate`).
pub fn picture_from_json(report: &Value) -> Result<String> {
    let field = |v: &'_ Value, path: &str| -> Result<Value> {
        let mut cur = v;
        for key in path.split('.') {
            cur = cur
                .get(key)
                .ok_or_else(|| Error::report(format!("{path}: missing")))?;
        }
        Ok(cur.clone())
    };
    let num = |v: &Value, path: &str| -> Result<f64> {
        field(v, path)?
            .as_f64()
            .ok_or_else(|| Error::report(format!("{path}: not a number")))
    };
    let int = |v: &Value, path: &str| -> Result<u64> {
        field(v, path)?
            .as_u64()
            .ok_or_else(|| Error::report(format!("{path}: not a whole number")))
    };
    let levels = |v: &Value, path: &str| -> Result<Vec<Point>> {
        let list = field(v, path)?;
        let list = list
            .as_array()
            .ok_or_else(|| Error::report(format!("{path}: not a list")))?;
        list.iter()
            .map(|l| {
                let name = field(l, "kind")?;
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| name.as_str() == Some(k.name()))
                    .ok_or_else(|| Error::report(format!("{path}: unknown kind {name}")))?;
                let accuracy = MeanSd {
                    mean: num(l, "accuracy.mean")?,
                    sd: num(l, "accuracy.sd")?,
                };
                Ok((kind, num(l, "level")?, accuracy))
            })
            .collect()
    };
    let model = field(report, "model")?;
    let model = model
        .as_str()
        .ok_or_else(|| Error::report("model: not a path"))?;
    let temporal = levels(report, "temporal.levels")?;
    let rate = match field(report, "rate")? {
        Value::Null => None,
        r => Some((int(&r, "steps")? as usize, levels(&r, "levels")?)),
    };
    let title = title(
        Path::new(model),
        rate.is_some(),
        int(report, "samples")? as usize,
        int(report, "config.seed")?,
        int(report, "config.trials")? as usize,
    );
    Ok(picture(
        &title,
        &temporal,
        rate.as_ref().map(|(s, p)| (*s, p.as_slice())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::assert_well_formed;
    use serde_json::json;

    fn pt(kind: Kind, level: f64, mean: f64, sd: f64) -> Point {
        (kind, level, MeanSd { mean, sd })
    }

    fn sweep() -> Vec<Point> {
        let mut v = Vec::new();
        for k in Kind::ALL {
            for (x, m) in [(1.0, 0.97), (2.0, 0.9), (4.0, 0.6)] {
                v.push(pt(k, x, m, 0.01));
            }
        }
        v
    }

    #[test]
    fn one_panel_per_perturbation_and_one_line_per_coding() {
        let t = sweep();
        let svg = picture("m <&> t", &t, Some((50, &t)));
        assert_well_formed(&svg);
        assert!(svg.contains("m &lt;&amp;&gt; t"));
        // Jitter and the two deadlines: one line; deletion, bits, noise: two.
        assert_eq!(svg.matches("<polyline").count(), 3 + 2 * 3);
        assert_eq!(svg.matches(r#"class="errbar""#).count(), 9 * 3);
        assert_eq!(svg.matches(">accuracy (%)<").count(), 6);
        let alone = picture("m", &t, None);
        assert_eq!(alone.matches("<polyline").count(), 5);
        assert!(!alone.contains("rate-coded"));
    }

    #[test]
    fn from_json_draws_what_the_sweeps_drew() {
        let t = sweep();
        let lv = |pts: &[Point]| -> Vec<Value> {
            pts.iter()
                .map(|(k, x, a)| json!({"kind": k.name(), "level": x, "accuracy": a, "trials": 3}))
                .collect()
        };
        let report = json!({
            "model": "models/net-4-3-2.bin",
            "samples": 100,
            "config": {"seed": 7, "trials": 3},
            "temporal": {"levels": lv(&t)},
            "rate": {"steps": 50, "levels": lv(&t)},
        });
        let title = title(Path::new("models/net-4-3-2.bin"), true, 100, 7, 3);
        assert!(title.starts_with("net-4-3-2 vs rate baseline") && !title.contains("models/"));
        let alone = super::title(Path::new("models/net-4-3-2.bin"), false, 100, 7, 3);
        assert!(alone.starts_with("net-4-3-2: accuracy"), "{alone}");
        assert_eq!(
            picture_from_json(&report).unwrap(),
            picture(&title, &t, Some((50, &t)))
        );
        let mut no_rate = report.clone();
        no_rate["rate"] = Value::Null;
        assert_eq!(
            picture_from_json(&no_rate).unwrap(),
            picture(&alone, &t, None)
        );
        let mut bad = report;
        bad["temporal"]["levels"][0]["kind"] = json!("heat");
        assert!(matches!(picture_from_json(&bad), Err(Error::Report { .. })));
    }

    #[test]
    fn accuracy_axis_starts_on_a_multiple_of_ten_under_the_lowest_bar() {
        let s = |m: f64, sd: f64| ErrorSeries {
            name: String::new(),
            color: String::new(),
            points: vec![(0.0, m, sd)],
        };
        assert_eq!(y_floor(&[s(97.0, 0.5)]), 90.0);
        assert_eq!(y_floor(&[s(60.0, 0.5), s(99.0, 0.0)]), 50.0);
        assert_eq!(y_floor(&[s(3.0, 2.0)]), 0.0);
    }
}
