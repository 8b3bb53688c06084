//! The gain of a training run's neurons per epoch (the distribution of `S - theta` at the
//! crossing, see `crate::train::gain`), drawn beside its accuracy curve.

use super::curve::{line_chart, Series};

/// One layer's gain over one epoch, as the chart draws it (plain data: plotting knows nothing
/// of the trainer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochGain {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Layer of neurons, from 1 (the last is the outputs).
    pub layer: usize,
    /// 10 % quantile of `S - theta` (threshold units).
    pub p10: f64,
    /// Median of `S - theta`.
    pub p50: f64,
    /// Fraction of the spikes with `S - theta` below the gradient floor.
    pub floored: f64,
}

/// Colours of the layers' medians, then of their 10 % quantiles.
const MEDIAN: [&str; 5] = ["#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860"];
const LOW: [&str; 5] = ["#9fb6d9", "#eebf9f", "#a5d1b0", "#c0b6da", "#c9b9ad"];

/// log10 of `S - theta` per epoch: each layer's median and 10 % quantile, and the gradient
/// floor `floor` as a flat line; the legend gives each layer's floored fraction in the last
/// epoch.
pub fn gain_chart(title: &str, gains: &[EpochGain], floor: f64) -> String {
    let layers = gains.iter().map(|g| g.layer).max().unwrap_or(0);
    let last = gains.iter().map(|g| g.epoch).max().unwrap_or(0);
    let first = gains.iter().map(|g| g.epoch).min().unwrap_or(0);
    let log = |x: f64| if x > 0.0 { x.log10() } else { f64::NAN };
    let mut names = Vec::new();
    for l in 1..=layers {
        let fl = gains
            .iter()
            .find(|g| g.layer == l && g.epoch == last)
            .map_or(f64::NAN, |g| g.floored);
        names.push(format!("layer {l} median ({:.1} % floored)", 100.0 * fl));
        names.push(format!("layer {l} 10 %"));
    }
    let floor_name = format!("gradient floor {floor}");
    let mut series: Vec<Series> = Vec::new();
    for l in 1..=layers {
        let of = |f: fn(&EpochGain) -> f64| {
            gains
                .iter()
                .filter(|g| g.layer == l)
                .map(|g| (g.epoch as f64, log(f(g))))
                .collect()
        };
        let c = (l - 1) % MEDIAN.len();
        series.push(Series {
            name: &names[2 * (l - 1)],
            color: MEDIAN[c],
            points: of(|g| g.p50),
        });
        series.push(Series {
            name: &names[2 * (l - 1) + 1],
            color: LOW[c],
            points: of(|g| g.p10),
        });
    }
    series.push(Series {
        name: &floor_name,
        color: "#999",
        points: vec![(first as f64, log(floor)), (last as f64, log(floor))],
    });
    line_chart(
        title,
        ("epoch", true),
        "log10 (S - theta) at the crossing",
        &series,
        None,
    )
}

/// Two pictures side by side in one, `left`'s clip path renamed so that the two do not share
/// an id. Both must be pictures of this module (an `<svg` element with width and height).
pub fn side_by_side(left: &str, right: &str) -> String {
    let size = |s: &str| -> (f64, f64) {
        let attr = |name: &str| {
            s.split_once(&format!(" {name}=\""))
                .and_then(|(_, rest)| rest.split_once('"'))
                .and_then(|(v, _)| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (attr("width"), attr("height"))
    };
    let ((lw, lh), (rw, rh)) = (size(left), size(right));
    let (w, h) = (lw + rw, lh.max(rh));
    let inner = |s: &str, x: f64| s.replacen("<svg ", &format!("<svg x=\"{x}\" y=\"0\" "), 1);
    let right = right
        .replace("id=\"plot\"", "id=\"plot2\"")
        .replace("url(#plot)", "url(#plot2)");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}{}</svg>\n",
        inner(left, 0.0),
        inner(&right, lw)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg::tests::assert_well_formed;

    #[test]
    fn the_gain_chart_beside_the_curve_is_well_formed() {
        let gains: Vec<EpochGain> = (1..=3)
            .flat_map(|e| {
                (1..=3).map(move |l| EpochGain {
                    epoch: e,
                    layer: l,
                    p10: 0.01 * e as f64,
                    p50: 0.3 * l as f64,
                    floored: 0.02,
                })
            })
            .collect();
        let g = gain_chart("run: gain & <things>", &gains, 0.01);
        assert_well_formed(&g);
        assert!(g.contains("layer 3 median (2.0 % floored)"));
        let both = side_by_side(&g, &g);
        assert_well_formed(&both);
        assert!(both.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1280\" height=\"400\""
        ));
        assert!(both.contains("url(#plot2)") && both.contains("url(#plot)"));
        assert_well_formed(&gain_chart("empty", &[], 0.01));
    }
}
