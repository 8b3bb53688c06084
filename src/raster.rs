//! Spike rasters: CSV rows, a JSON sidecar, and an SVG picture, from traces.
//!
//! Owns the three renderings (pure functions returning text) and writing them side by side.
//! Neurons that never fired are absent from the CSV and the picture: no fake times.

use crate::counts::layer_name;
use crate::error::Result;
use crate::fsio;
use crate::model::with_ext;
use crate::trace::{SampleTrace, TraceHeader};
use serde_json::json;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Writes `PREFIX.csv`, `PREFIX.json` and `PREFIX.svg` (each atomically); returns the paths.
pub fn write_all(
    prefix: &Path,
    header: &TraceHeader,
    model_name: &str,
    traces: &[SampleTrace],
) -> Result<[PathBuf; 3]> {
    let paths = [
        with_ext(prefix, "csv"),
        with_ext(prefix, "json"),
        with_ext(prefix, "svg"),
    ];
    fsio::write_atomic(&paths[0], csv(traces).as_bytes())?;
    let side = serde_json::to_string_pretty(&sidecar(header, model_name, traces)).expect("json");
    fsio::write_atomic(&paths[1], side.as_bytes())?;
    fsio::write_atomic(&paths[2], svg(header, traces).as_bytes())?;
    Ok(paths)
}

/// CSV with header `sample,layer,neuron,time`, one row per spike, in each trace's order.
pub fn csv(traces: &[SampleTrace]) -> String {
    let mut s = String::from("sample,layer,neuron,time\n");
    for t in traces {
        for sp in &t.spikes {
            // `{}` prints the shortest decimal that parses back to the same f64: exact and short.
            let _ = writeln!(s, "{},{},{},{}", t.sample, sp.layer, sp.neuron, sp.time);
        }
    }
    s
}

/// The JSON sidecar: units, parameters, model identity, and per sample its label, decision and
/// spike counts per layer.
pub fn sidecar(
    header: &TraceHeader,
    model_path: &str,
    traces: &[SampleTrace],
) -> serde_json::Value {
    json!({
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
    })
}

const PANEL_W: f64 = 900.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const BAND_MIN: f64 = 60.0;

/// An SVG raster: one panel per sample, time on x, neurons on y grouped in a band per layer
/// (inputs at the bottom, outputs on top), the decision marked by a red line and the winning
/// output spike circled.
pub fn svg(header: &TraceHeader, traces: &[SampleTrace]) -> String {
    let arch = &header.arch;
    let nl = arch.len();
    // Band heights: proportional to sqrt(size), at least BAND_MIN.
    let bands: Vec<f64> = arch
        .iter()
        .map(|&n| (n as f64).sqrt().mul_add(6.0, 0.0).max(BAND_MIN))
        .collect();
    let panel_h: f64 = bands.iter().sum::<f64>() + 60.0;
    let total_h = panel_h * traces.len().max(1) as f64 + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{PANEL_W}" height="{total_h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    let colors = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974"];
    for (p, t) in traces.iter().enumerate() {
        let y0 = 30.0 + p as f64 * panel_h;
        let t_max = t
            .spikes
            .iter()
            .map(|s| s.time)
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.05;
        let x = |time: f64| LEFT + (PANEL_W - LEFT - RIGHT) * time / t_max;
        let title = format!(
            "sample {}{}{}",
            t.sample,
            t.label.map_or(String::new(), |l| format!(", label {l}")),
            t.decision.map_or(", no output spike".into(), |d| format!(
                ", decision {} at t = {:.3}",
                d.0, d.1
            ))
        );
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-size="14">{title}</text>"#,
            y0 - 8.0
        );
        // Bands from the top: output first.
        let mut band_top = vec![0.0; nl];
        let mut y = y0;
        for l in (0..nl).rev() {
            band_top[l] = y;
            let name = layer_name(l, nl);
            let _ = writeln!(
                s,
                r##"<rect x="{LEFT}" y="{y}" width="{}" height="{}" fill="none" stroke="#bbb"/><text x="4" y="{}">{name}</text><text x="4" y="{}" fill="#777">{} n</text>"##,
                PANEL_W - LEFT - RIGHT,
                bands[l],
                y + bands[l] / 2.0,
                y + bands[l] / 2.0 + 14.0,
                arch[l]
            );
            y += bands[l];
        }
        for sp in &t.spikes {
            let l = sp.layer as usize;
            let n = arch[l] as f64;
            let yy = band_top[l] + bands[l] * (1.0 - (sp.neuron as f64 + 0.5) / n);
            let r = if l + 1 == nl { 3.0 } else { 1.2 };
            let _ = writeln!(
                s,
                r#"<circle cx="{:.2}" cy="{:.2}" r="{r}" fill="{}"/>"#,
                x(sp.time),
                yy,
                colors[l % colors.len()]
            );
        }
        if let Some((d, td)) = t.decision {
            let n = arch[nl - 1] as f64;
            let yy = band_top[nl - 1] + bands[nl - 1] * (1.0 - (d as f64 + 0.5) / n);
            let _ = writeln!(
                s,
                r##"<line x1="{0:.2}" x2="{0:.2}" y1="{1}" y2="{2}" stroke="#d62728" stroke-dasharray="4 3"/><circle cx="{0:.2}" cy="{3:.2}" r="7" fill="none" stroke="#d62728" stroke-width="2"/><text x="{4:.2}" y="{5}" fill="#d62728">decision</text>"##,
                x(td),
                y0,
                y,
                yy,
                x(td) + 4.0,
                y0 + 12.0
            );
        }
        // Time axis.
        let ticks = 5;
        for k in 0..=ticks {
            let tt = t_max * k as f64 / ticks as f64;
            let _ = writeln!(
                s,
                r##"<line x1="{0:.2}" x2="{0:.2}" y1="{1}" y2="{2}" stroke="#333"/><text x="{0:.2}" y="{3}" text-anchor="middle">{4:.2}</text>"##,
                x(tt),
                y,
                y + 4.0,
                y + 16.0,
                tt
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">time (tau_syn)</text>"#,
            LEFT + (PANEL_W - LEFT) / 2.0,
            y + 32.0
        );
    }
    s.push_str("</svg>\n");
    s
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
        let c = csv(&[t]);
        assert_eq!(c.lines().count(), 3);
        assert_eq!(c.lines().nth(2).unwrap(), "3,1,1,0.7");
        assert!(!c.contains("inf"));
    }

    #[test]
    fn svg_marks_the_decision() {
        let (h, t) = tr();
        let s = svg(&h, &[t]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("decision 1 at t = 0.700"));
    }
}
