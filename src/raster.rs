//! Spike rasters: CSV rows, a JSON sidecar, and an SVG picture, from traces.
//!
//! Owns the three renderings (pure functions returning text) and writing them side by side.
//! Neurons that never fired are absent from the CSV and the picture: no fake times.
//!
//! For a model with convolutions, the layers that are feature maps (the input map and each
//! convolution's output; see [`layer_maps`]) also identify each neuron by channel, row and
//! column: the CSV gets the trailing columns `channel,row,col` (empty on the rows of dense
//! layers) and the sidecar a `maps` list. A dense model's files have neither.

use crate::counts::layer_name;
use crate::error::Result;
use crate::fsio;
use crate::model::{with_ext, Model};
use crate::network::{Layer, Shape};
use crate::plot::{self, LinearAxis, Svg};
use crate::trace::{SampleTrace, TraceHeader};
use serde_json::json;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The feature-map shape of each layer of `model`, input first (`None` for a dense layer), or
/// nothing for a model without convolutions: what [`write_all`] takes as `maps`.
pub fn layer_maps(model: &Model) -> Vec<Option<Shape>> {
    let Some(Layer::Conv(first)) = model.layers.first() else {
        return Vec::new();
    };
    let mut maps = vec![Some(first.input)];
    maps.extend(model.layers.iter().map(|l| match l {
        Layer::Conv(c) => Some(c.output()),
        Layer::Dense(_) => None,
    }));
    maps
}

/// Writes `PREFIX.csv`, `PREFIX.json` and `PREFIX.svg` (each atomically); returns the paths.
/// `maps` gives each layer's feature-map shape ([`layer_maps`]; empty for a dense model, or
/// when the shapes are not known).
pub fn write_all(
    prefix: &Path,
    header: &TraceHeader,
    model_name: &str,
    maps: &[Option<Shape>],
    traces: &[SampleTrace],
) -> Result<[PathBuf; 3]> {
    let paths = [
        with_ext(prefix, "csv"),
        with_ext(prefix, "json"),
        with_ext(prefix, "svg"),
    ];
    fsio::write_atomic(&paths[0], csv(traces, maps).as_bytes())?;
    let side =
        serde_json::to_string_pretty(&sidecar(header, model_name, maps, traces)).expect("json");
    fsio::write_atomic(&paths[1], side.as_bytes())?;
    fsio::write_atomic(&paths[2], svg(header, model_name, traces).as_bytes())?;
    Ok(paths)
}

/// CSV with header `sample,layer,neuron,time`, one row per spike, in each trace's order; with
/// `maps` (not empty), also `channel,row,col` of the neurons of map layers (empty fields for
/// the others).
pub(crate) fn csv(traces: &[SampleTrace], maps: &[Option<Shape>]) -> String {
    let with_maps = !maps.is_empty();
    let mut s = String::from(if with_maps {
        "sample,layer,neuron,time,channel,row,col\n"
    } else {
        "sample,layer,neuron,time\n"
    });
    for t in traces {
        for sp in &t.spikes {
            // `{}` prints the shortest decimal that parses back to the same f64: exact and short.
            let _ = write!(s, "{},{},{},{}", t.sample, sp.layer, sp.neuron, sp.time);
            if with_maps {
                match maps.get(sp.layer as usize).copied().flatten() {
                    Some(m) => {
                        let (row, col, ch) = m.position(sp.neuron as usize);
                        let _ = write!(s, ",{ch},{row},{col}");
                    }
                    None => s.push_str(",,,"),
                }
            }
            s.push('\n');
        }
    }
    s
}

/// The JSON sidecar: units, parameters, model identity, and per sample its label, decision and
/// spike counts per layer.
pub(crate) fn sidecar(
    header: &TraceHeader,
    model_path: &str,
    maps: &[Option<Shape>],
    traces: &[SampleTrace],
) -> serde_json::Value {
    let mut v = json!({
        "format": "firstspike-raster",
        "columns": {"sample": "index in the data set", "layer": "0 = input pixels, then each layer",
                    "neuron": "index within the layer", "time": "first-spike time, units of tau_syn"},
        "time_unit": "tau_syn",
        "tau_syn": header.tau_syn,
        "theta": header.theta,
        "arch": header.arch,
        "engine": header.engine,
        "model": model_path,
        "model_sha256": header.model_sha256,
        "no_spike": "neurons that never fired have no row",
        "samples": traces.iter().map(|t| json!({
            "sample": t.sample,
            "label": t.label,
            "decision": t.decision.map(|d| d.0),
            "decision_time": t.decision.map(|d| d.1),
            "spikes_per_layer": t.fired(&header.arch),
        })).collect::<Vec<_>>(),
    });
    if !maps.is_empty() {
        let cols = &mut v["columns"];
        cols["channel"] = json!("channel of a neuron of a feature map (empty for dense layers)");
        cols["row"] = json!("row of a neuron of a feature map, from the top");
        cols["col"] = json!("column of a neuron of a feature map, from the left");
        v["maps"] = json!(maps
            .iter()
            .map(|m| m.map(|m| json!({"h": m.h, "w": m.w, "c": m.c})))
            .collect::<Vec<_>>());
        v["map_numbering"] = json!("neuron = (row * w + col) * c + channel");
    }
    v
}

const PANEL_W: f64 = 900.0;
/// Room for the neuron-index tick labels and the axis label.
const LEFT: f64 = 74.0;
/// Room for the layer names.
const RIGHT: f64 = 118.0;
/// Title and subtitle above each panel's bands.
const PANEL_HEAD: f64 = 58.0;
/// The time axis below each panel's bands.
const PANEL_FOOT: f64 = 62.0;
const BAND_MIN: f64 = 60.0;
/// Layers of at most this many neurons get a row of at least `SMALL_ROW` pixels per neuron, so
/// that every index (every class of an output layer) is labelled.
const SMALL_LAYER: usize = 12;
const SMALL_ROW: f64 = 14.0;
/// Least spacing of neuron-index tick labels in larger layers, pixels.
const TICK_SPACING: f64 = 20.0;
/// Least spacing of time tick labels, pixels.
const TIME_TICK_SPACING: f64 = 70.0;
const DECISION: &str = "#d62728";
const COLORS: [&str; 5] = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974"];

/// Height of the band of a layer of `n` neurons: grows with sqrt(n), at least `BAND_MIN`.
fn band_height(n: usize) -> f64 {
    let h = (6.0 * (n as f64).sqrt()).max(BAND_MIN);
    if n <= SMALL_LAYER {
        h.max(SMALL_ROW * n as f64)
    } else {
        h
    }
}

/// The title of one panel: the model's name, the sample, its label and the prediction.
fn panel_title(model: &str, t: &SampleTrace) -> String {
    let head = if model.is_empty() {
        format!("sample {}", t.sample)
    } else {
        format!("{model}, sample {}", t.sample)
    };
    let label = t.label.map_or(String::new(), |l| format!(": label {l}"));
    let pred = match (t.decision, t.label) {
        (None, _) => ", no output spike (no prediction)".to_string(),
        (Some((d, _)), Some(l)) if u64::from(d) == u64::from(l) => {
            format!(", predicted {d} (correct)")
        }
        (Some((d, _)), Some(_)) => format!(", predicted {d} (wrong)"),
        (Some((d, _)), None) => format!(": predicted {d}"),
    };
    format!("{head}{label}{pred}")
}

/// An SVG raster: one panel per sample, time (units of tau_syn) on x, neurons on y in one band
/// per layer (inputs at the bottom, outputs on top), each band with its own neuron-index axis
/// and its layer's name. The decision is marked by a dashed line and the winning output spike
/// ringed; the label's output row is shaded. `model` names the network (a file name or path;
/// only its file name is shown, or nothing when empty).
pub(crate) fn svg(header: &TraceHeader, model: &str, traces: &[SampleTrace]) -> String {
    let arch = &header.arch;
    let model = if model.is_empty() {
        String::new()
    } else {
        plot::model_name(Path::new(model))
    };
    let heights: Vec<f64> = arch.iter().map(|&n| band_height(n)).collect();
    let panel_h = PANEL_HEAD + heights.iter().sum::<f64>() + PANEL_FOOT;
    let mut s = Svg::new(PANEL_W, panel_h * traces.len().max(1) as f64);
    for (p, t) in traces.iter().enumerate() {
        let top = p as f64 * panel_h + PANEL_HEAD;
        panel(&mut s, arch, &heights, &model, t, top);
    }
    s.finish()
}

/// Where a panel's layer bands lie: from the top, output first.
struct Bands<'a> {
    arch: &'a [usize],
    heights: &'a [f64],
    /// The y of each layer's band top, by layer.
    tops: Vec<f64>,
    /// The y below the input band.
    bottom: f64,
}

impl<'a> Bands<'a> {
    fn new(arch: &'a [usize], heights: &'a [f64], top: f64) -> Bands<'a> {
        let nl = arch.len();
        let mut tops = vec![0.0; nl];
        let mut y = top;
        for l in (0..nl).rev() {
            tops[l] = y;
            y += heights[l];
        }
        Bands {
            arch,
            heights,
            tops,
            bottom: y,
        }
    }

    /// The y of neuron `i`'s row in layer `l` (index 0 at the band's bottom).
    fn row(&self, l: usize, i: u32) -> f64 {
        let n = self.arch[l] as f64;
        self.tops[l] + self.heights[l] * (1.0 - (i as f64 + 0.5) / n)
    }
}

/// One sample's panel, its bands starting at `top`.
fn panel(s: &mut Svg, arch: &[usize], heights: &[f64], model: &str, t: &SampleTrace, top: f64) {
    let nl = arch.len();
    let (x0, x1) = (LEFT, PANEL_W - RIGHT);
    let t_last = t.spikes.iter().map(|s| s.time).fold(0.0f64, f64::max);
    let max_ticks = ((x1 - x0) / TIME_TICK_SPACING) as usize;
    let xa = LinearAxis::nice(0.0, t_last.max(1e-9), x0, x1, max_ticks);
    let fired = t.fired(arch);
    panel_heading(s, model, t, &fired, top);
    let bands = Bands::new(arch, heights, top);
    for l in (0..nl).rev() {
        let fired_l = fired.get(l).copied().unwrap_or(0);
        let label = t.label.filter(|_| l + 1 == nl);
        layer_band(s, &bands, l, label, fired_l);
    }
    let bottom = bands.bottom;
    let xt = xa.labelled();
    s.grid_v(&xt.iter().map(|t| t.0).collect::<Vec<_>>(), (top, bottom));
    // Layer separators over the grid.
    for l in 1..nl {
        let yy = bands.tops[l - 1];
        s.line(x0, yy, x1, yy, r##"stroke="#888""##);
    }
    s.rect(
        x0,
        top,
        x1 - x0,
        bottom - top,
        r##"fill="none" stroke="#888""##,
    );
    s.text_up(
        18.0,
        (top + bottom) / 2.0,
        "neuron index (per layer)",
        r#"text-anchor="middle""#,
    );
    spikes(s, &bands, &xa, t);
    if let Some((d, td)) = t.decision {
        decision_mark(s, (xa.px(td), bands.row(nl - 1, d)), d, (top, bottom));
    }
    s.axis_bottom(bottom, (x0, x1), &xt, &[], "time (τ_syn)");
}

/// The panel's title and the line below it (spikes, decision, units).
fn panel_heading(s: &mut Svg, model: &str, t: &SampleTrace, fired: &[u64], top: f64) {
    s.text(
        LEFT,
        top - 34.0,
        &panel_title(model, t),
        r#"font-size="15""#,
    );
    s.text(
        LEFT,
        top - 16.0,
        &format!(
            "{} spikes; {}; times in units of τ_syn",
            fired.iter().sum::<u64>(),
            t.decision.map_or("no decision".into(), |(d, td)| format!(
                "decision = first output spike: neuron {d} at t = {td:.3}"
            )),
        ),
        r##"fill="#555""##,
    );
}

/// Layer `l`'s band: its shading, neuron-index axis, name and counts, and on the output band
/// the row of `label` shaded.
fn layer_band(s: &mut Svg, bands: &Bands, l: usize, label: Option<u8>, fired: u64) {
    let nl = bands.arch.len();
    let (x0, x1) = (LEFT, PANEL_W - RIGHT);
    let (n, h, y) = (bands.arch[l], bands.heights[l], bands.tops[l]);
    let shade = if (nl - 1 - l).is_multiple_of(2) {
        "#f5f7fa"
    } else {
        "#ffffff"
    };
    s.rect(x0, y, x1 - x0, h, &format!(r#"fill="{shade}""#));
    let spacing = if n <= SMALL_LAYER {
        SMALL_ROW
    } else {
        TICK_SPACING
    };
    let ya =
        LinearAxis::exact(-0.5, n as f64 - 0.5, y + h, y, (h / spacing) as usize + 1).min_step(1.0);
    s.axis_left(x0, (y, y + h), &ya.labelled(), "", 0.0);
    if let Some(lab) = label.filter(|&lab| (lab as usize) < n) {
        let row = h / n as f64;
        s.rect(
            x0,
            ya.px(lab as f64) - row / 2.0,
            x1 - x0,
            row,
            r##"fill="#dff0d8""##,
        );
        s.text(
            x1 - 4.0,
            ya.px(lab as f64) + 4.0,
            "label",
            r##"text-anchor="end" fill="#3c763d" font-size="10""##,
        );
    }
    let name = layer_name(l, nl);
    s.text(x1 + 10.0, y + h / 2.0 - 2.0, &name, r#"font-weight="bold""#);
    for (k, line) in [format!("{n} neurons"), format!("{fired} fired")]
        .iter()
        .enumerate()
    {
        let yy = y + h / 2.0 + 13.0 + 12.0 * k as f64;
        s.text(x1 + 10.0, yy, line, r##"fill="#666" font-size="10""##);
    }
}

/// One dot per spike, coloured by layer; output spikes largest, input spikes smallest.
fn spikes(s: &mut Svg, bands: &Bands, xa: &LinearAxis, t: &SampleTrace) {
    let nl = bands.arch.len();
    for sp in &t.spikes {
        let l = sp.layer as usize;
        let r = if l + 1 == nl {
            3.0
        } else if l == 0 {
            1.1
        } else {
            1.5
        };
        s.circle(
            xa.px(sp.time),
            bands.row(l, sp.neuron),
            r,
            &format!(r#"fill="{}""#, COLORS[l % COLORS.len()]),
        );
    }
}

/// The decision: a dashed line at its time from `top` to `bottom`, the winning output spike at
/// `(px, py)` ringed and named.
fn decision_mark(s: &mut Svg, (px, py): (f64, f64), d: u32, (top, bottom): (f64, f64)) {
    s.line(
        px,
        top,
        px,
        bottom,
        &format!(r#"stroke="{DECISION}" stroke-dasharray="4 3""#),
    );
    s.circle(
        px,
        py,
        7.0,
        &format!(r#"fill="none" stroke="{DECISION}" stroke-width="2""#),
    );
    s.text(
        px + 10.0,
        py + 4.0,
        &format!("decision {d}"),
        &format!(r#"fill="{DECISION}" font-weight="bold""#),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{EngineKind, Spike};

    fn tr() -> (TraceHeader, SampleTrace) {
        let h = TraceHeader {
            model_sha256: "x".into(),
            arch: vec![2, 2],
            tau_syn: 1.0,
            theta: 1.0,
            engine: EngineKind::Event,
            complete: true,
        };
        let t = SampleTrace {
            sample: 3,
            label: Some(1),
            decision: Some((1, 0.7)),
            spikes: vec![
                Spike {
                    layer: 0,
                    neuron: 0,
                    time: 0.0,
                },
                Spike {
                    layer: 1,
                    neuron: 1,
                    time: 0.7,
                },
            ],
            causal: vec![vec![0, 1]],
        };
        (h, t)
    }

    #[test]
    fn csv_lists_only_spikes() {
        let (_, t) = tr();
        let c = csv(&[t], &[]);
        assert_eq!(c.lines().count(), 3);
        assert_eq!(c.lines().nth(2).unwrap(), "3,1,1,0.7");
        assert!(!c.contains("inf"));
    }

    /// With maps, map layers' rows say channel, row and column (`neuron = (row w + col) c +
    /// channel`); a dense layer's rows leave them empty.
    #[test]
    fn csv_places_map_neurons() {
        let (_, mut t) = tr();
        t.spikes[1].neuron = 11;
        t.spikes.push(Spike {
            layer: 2,
            neuron: 1,
            time: 0.9,
        });
        let maps = [
            Some(Shape { h: 1, w: 2, c: 1 }),
            Some(Shape { h: 2, w: 3, c: 2 }),
            None,
        ];
        let c = csv(&[t], &maps);
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines[0], "sample,layer,neuron,time,channel,row,col");
        assert_eq!(lines[1], "3,0,0,0,0,0,0");
        // 11 = (1 * 3 + 2) * 2 + 1: row 1, column 2, channel 1.
        assert_eq!(lines[2], "3,1,11,0.7,1,1,2");
        assert_eq!(lines[3], "3,2,1,0.9,,,");
    }

    #[test]
    fn svg_marks_the_decision_and_the_prediction() {
        let (h, t) = tr();
        let s = svg(&h, "models/m.bin", &[t]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("m, sample 3: label 1, predicted 1 (correct)"));
        assert!(s.contains("neuron 1 at t = 0.700"));
        assert!(s.contains(">decision 1</text>"));
        assert!(
            !s.contains("models/"),
            "the title shows the model's name, not its path"
        );
    }

    #[test]
    fn svg_names_each_layer_once_and_labels_its_axes() {
        let (mut h, t) = tr();
        h.arch = vec![2, 3, 2];
        let s = svg(&h, "", &[t]);
        for name in ["input", "hidden 1", "output"] {
            assert_eq!(s.matches(&format!(">{name}</text>")).count(), 1, "{name}");
        }
        assert!(s.contains(">time (τ_syn)</text>"));
        assert!(s.contains(">neuron index (per layer)</text>"));
        // Neuron-index ticks are whole: 0 and 1 in the two-neuron bands, 0, 1, 2 in the other
        // (the time ticks, 0.0 to 0.7, carry one decimal).
        let tick = |v: &str| s.matches(&format!(r#"font-size="11">{v}</text>"#)).count();
        assert_eq!((tick("0"), tick("1"), tick("2"), tick("0.5")), (3, 3, 1, 1));
    }

    #[test]
    fn svg_escapes_the_model_name() {
        let (h, t) = tr();
        let s = svg(&h, "dir/a<&>\"b.bin", &[t]);
        crate::plot::tests::assert_well_formed(&s);
        assert!(s.contains("a&lt;&amp;&gt;&quot;b, sample 3"));
    }
}
