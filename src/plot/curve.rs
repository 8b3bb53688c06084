//! Line charts, and the accuracy curve of a training log with a title that names the model,
//! never a folder.

use super::{LinearAxis, Svg};
use std::path::Path;

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 58.0;
/// Most tick labels wanted along x and along y.
const X_TICKS: usize = 9;
const Y_TICKS: usize = 7;

/// One line of a chart: a name, a colour, and (x, y) points.
pub struct Series<'a> {
    /// Legend text.
    pub(crate) name: &'a str,
    /// CSS colour.
    pub(crate) color: &'a str,
    /// Points, x increasing.
    pub(crate) points: Vec<(f64, f64)>,
}

/// A model's name from any of its files or its prefix: the file name without the folder and
/// without the extensions the crate writes (`.log.jsonl`, `.curve.svg`, `.bin`, `.json`,
/// `.ckpt`). `models/mnist-784-800-10.log.jsonl` gives `mnist-784-800-10`.
pub fn model_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    [".log.jsonl", ".curve.svg", ".bin", ".json", ".ckpt"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .map_or(name.clone(), str::to_string)
}

/// The title of an accuracy curve: the model's name, and its architecture unless the name
/// already spells it, e.g. `mnist-784-800-10: accuracy per epoch` or
/// `run3 (784-20-10): accuracy per epoch`.
pub fn curve_title(name: &str, arch: Option<&[usize]>) -> String {
    let joined = |sizes: &[usize]| {
        sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-")
    };
    match arch.map(joined) {
        Some(a) if !a.is_empty() && !name.contains(&a) => {
            format!("{name} ({a}): accuracy per epoch")
        }
        _ => format!("{name}: accuracy per epoch"),
    }
}

/// A line chart with round ticks on both axes and a legend in the lower right corner.
/// `x_integer` keeps x ticks on whole numbers; `y_range` fixes the y axis (else fitted).
pub fn line_chart(
    title: &str,
    (x_label, x_integer): (&str, bool),
    y_label: &str,
    series: &[Series],
    y_range: Option<(f64, f64)>,
) -> String {
    let ((x0, x1), (y0, y1)) = data_ranges(series, y_range);
    let (px0, px1, py0, py1) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let xa = LinearAxis::nice_whole_if(x_integer, x0, x1, px0, px1, X_TICKS);
    let ya = LinearAxis::nice(y0, y1, py1, py0, Y_TICKS);
    let mut s = Svg::new(W, H);
    s.text(LEFT, 26.0, title, r#"font-size="15""#);
    let (xt, yt) = (xa.labelled(), ya.labelled());
    s.grid_h(&yt.iter().map(|t| t.0).collect::<Vec<_>>(), (px0, px1));
    s.axis_bottom(py1, (px0, px1), &xt, &[], x_label);
    s.axis_left(px0, (py0, py1), &yt, y_label, 20.0);
    s.clip_rect("plot", px0, py0 - 4.0, px1 - px0 + 4.0, py1 - py0 + 4.0);
    for se in series {
        draw_series(&mut s, se, &xa, &ya);
    }
    legend(&mut s, series);
    s.finish()
}

/// The x and y ranges of the finite points of `series` (`y_range` instead for y when given),
/// 0 to 1 where there are none.
fn data_ranges(series: &[Series], y_range: Option<(f64, f64)>) -> ((f64, f64), (f64, f64)) {
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let span = |f: &dyn Fn(&(f64, f64)) -> f64| {
        finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(f(p)), b.max(f(p)))
        })
    };
    let (mut x0, mut x1) = span(&|p| p.0);
    let (mut y0, mut y1) = y_range.unwrap_or_else(|| span(&|p| p.1));
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    ((x0, x1), (y0, y1))
}

/// One series: its finite points joined by a line, each marked by a dot, clipped to the plot.
fn draw_series(s: &mut Svg, se: &Series, xa: &LinearAxis, ya: &LinearAxis) {
    let pts: Vec<(f64, f64)> = se
        .points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .map(|&(x, y)| (xa.px(x), ya.px(y)))
        .collect();
    s.polyline(
        &pts,
        &format!(
            r#"stroke="{}" stroke-width="2" clip-path="url(#plot)""#,
            se.color
        ),
    );
    for &(x, y) in &pts {
        s.circle(
            x,
            y,
            2.5,
            &format!(r#"fill="{}" clip-path="url(#plot)""#, se.color),
        );
    }
}

/// The legend: lower right inside the plot, where rising curves leave room.
fn legend(s: &mut Svg, series: &[Series]) {
    let (px1, py1) = (W - RIGHT, H - BOTTOM);
    let row = 18.0;
    let lx = px1 - 210.0;
    let ly = py1 - 12.0 - row * series.len() as f64;
    s.rect(
        lx - 8.0,
        ly - 6.0,
        218.0,
        row * series.len() as f64 + 8.0,
        r##"fill="white" fill-opacity="0.9" stroke="#ccc""##,
    );
    for (k, se) in series.iter().enumerate() {
        let y = ly + 8.0 + row * k as f64;
        s.line(
            lx,
            y,
            lx + 22.0,
            y,
            &format!(r#"stroke="{}" stroke-width="2""#, se.color),
        );
        s.circle(lx + 11.0, y, 2.5, &format!(r#"fill="{}""#, se.color));
        s.text(lx + 30.0, y + 4.0, se.name, "");
    }
}

/// One epoch of a training log, as the accuracy curve draws it (plain data: plotting knows
/// nothing of the trainer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochAccuracy {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Accuracy on the training set during the epoch (fraction).
    pub train_accuracy: f64,
    /// Accuracy on the test set after the epoch (fraction), if measured.
    pub test_accuracy: Option<f64>,
    /// Accuracy on held-out validation images after the epoch (fraction), if the run held
    /// some out.
    pub validation_accuracy: Option<f64>,
}

/// The accuracy curve of a training log: train and held-out accuracy (%) per epoch, the
/// legend giving the best held-out accuracy and its epoch. The held-out curve is the
/// validation accuracy when the log has one (the test set was then not read while training),
/// else the test accuracy.
pub fn accuracy_curve(title: &str, log: &[EpochAccuracy]) -> String {
    let train = Series {
        name: "train (during the epoch)",
        color: "#4c72b0",
        points: log
            .iter()
            .map(|e| (e.epoch as f64, 100.0 * e.train_accuracy))
            .collect(),
    };
    let validating = log.iter().any(|e| e.validation_accuracy.is_some());
    let held = |e: &EpochAccuracy| {
        if validating {
            e.validation_accuracy
        } else {
            e.test_accuracy
        }
    };
    let held_name = if validating { "validation" } else { "test" };
    let best = log
        .iter()
        .filter_map(|e| held(e).map(|a| (e.epoch, a)))
        .fold(None, |b: Option<(usize, f64)>, (e, a)| match b {
            Some((_, ba)) if ba >= a => b,
            _ => Some((e, a)),
        });
    let test_name = best.map_or(held_name.to_string(), |(e, a)| {
        format!("{held_name} (best {:.2} %, epoch {e})", 100.0 * a)
    });
    let test = Series {
        name: &test_name,
        color: "#c44e52",
        points: log
            .iter()
            .filter_map(|e| held(e).map(|a| (e.epoch as f64, 100.0 * a)))
            .collect(),
    };
    let lo = log
        .iter()
        .flat_map(|e| [Some(e.train_accuracy), held(e)])
        .flatten()
        .filter(|a| a.is_finite())
        .fold(1.0, f64::min);
    // A run that read no held-out images (`train --no-test`) has the training curve alone.
    let series = if test.points.is_empty() {
        vec![train]
    } else {
        vec![train, test]
    };
    line_chart(
        title,
        ("epoch", true),
        "accuracy (%)",
        &series,
        Some((100.0 * lo, 100.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg::tests::assert_well_formed;

    fn epoch(k: usize, train: f64, test: f64) -> EpochAccuracy {
        EpochAccuracy {
            epoch: k,
            train_accuracy: train,
            test_accuracy: Some(test),
            validation_accuracy: None,
        }
    }

    /// A log with validation accuracies draws those as the held-out curve, named so.
    #[test]
    fn a_validation_log_draws_the_validation_curve() {
        let log: Vec<EpochAccuracy> = (1..=3)
            .map(|k| EpochAccuracy {
                validation_accuracy: Some(0.9 + 0.01 * k as f64),
                test_accuracy: None,
                ..epoch(k, 0.95, 0.0)
            })
            .collect();
        let svg = accuracy_curve("v", &log);
        assert!(svg.contains("validation (best 93.00 %, epoch 3)"), "{svg}");
        assert!(!svg.contains("test (best"), "{svg}");
        let plain = accuracy_curve("t", &[epoch(1, 0.9, 0.8), epoch(2, 0.95, 0.85)]);
        assert!(plain.contains("test (best 85.00 %, epoch 2)"), "{plain}");
        // No held-out accuracy at all: no held-out curve, and no legend entry for one.
        let alone: Vec<EpochAccuracy> = (1..=2)
            .map(|k| EpochAccuracy {
                test_accuracy: None,
                ..epoch(k, 0.9, 0.0)
            })
            .collect();
        let svg = accuracy_curve("n", &alone);
        assert!(svg.contains("train (during the epoch)"), "{svg}");
        assert!(
            !svg.contains(">test<") && !svg.contains("validation"),
            "{svg}"
        );
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
    }

    #[test]
    fn chart_has_one_polyline_per_series() {
        let s = line_chart(
            "t",
            ("x", false),
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
                    points: vec![(0.0, 0.5), (1.0, 0.7)],
                },
            ],
            None,
        );
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_well_formed(&s);
    }

    #[test]
    fn curve_title_names_the_model_not_its_folder() {
        let name = model_name(Path::new("/tmp/n800/mnist-784-800-10.log.jsonl"));
        assert_eq!(name, "mnist-784-800-10");
        let t = curve_title(&name, Some(&[784, 800, 10]));
        assert_eq!(t, "mnist-784-800-10: accuracy per epoch");
        assert_eq!(
            curve_title(&model_name(Path::new("/tmp/x/run3")), Some(&[784, 20, 10])),
            "run3 (784-20-10): accuracy per epoch"
        );
        let svg = accuracy_curve(&t, &[epoch(1, 0.9, 0.91), epoch(2, 0.95, 0.96)]);
        assert!(svg.contains(">mnist-784-800-10: accuracy per epoch</text>"));
        assert!(!svg.contains("/tmp"));
    }

    #[test]
    fn curve_escapes_its_title_and_labels_its_axes() {
        let svg = accuracy_curve("a <&> \"b\"", &[epoch(1, 0.9, 0.91), epoch(2, 0.95, 0.96)]);
        assert_well_formed(&svg);
        assert!(svg.contains("a &lt;&amp;&gt; &quot;b&quot;"));
        for label in [">epoch<", ">accuracy (%)<", "best 96.00 %, epoch 2"] {
            assert!(svg.contains(label), "{label}");
        }
        // Epoch ticks are whole numbers: 1 and 2, no 1.5.
        assert!(!svg.contains(">1.5<"));
    }
}
