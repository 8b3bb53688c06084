//! Spike records as NIR `EventData` (`nir.read_data`'s layout, see the
//! [module documentation](super)): one node per layer, one row per sample, neurons in
//! firstspike's numbering.

use super::h5::{f64_array, DEFLATE_LEVEL, DEFLATE_MIN_ELEMENTS};
use super::{hdf5_error, nir_at, spike_node, PRODUCER, SPIKES_OBSERVABLE};
use crate::error::{Error, Result};
use crate::fsio;
use crate::trace::{SampleTrace, TraceHeader};
use hdf5_pure::{make_f64_type, make_i64_type, AttrValue, FileBuilder, GroupBuilder};
use std::path::Path;

/// Serialises spike records as NIR `EventData` (the bytes `nir.read_data` takes): one node per
/// layer (`input`, `if_1`, …), one row per sample. `header` gives the layer sizes and units.
pub fn events_bytes(header: &TraceHeader, samples: &[SampleTrace]) -> Result<Vec<u8>> {
    let arch = &header.arch;
    for s in samples {
        s.validate(arch)
            .map_err(|w| Error::sample_trace(None, s.sample, w))?;
    }
    // t_max: the end of the recording, the last spike of any layer and sample.
    let t_max = samples
        .iter()
        .flat_map(|s| s.spikes.iter().map(|x| x.time))
        .fold(0.0f64, f64::max);
    let mut fb = FileBuilder::new();
    fb.set_attr("__type__", AttrValue::VarLenString("NIRGraphData".into()));
    let mut nodes = fb.create_group("nodes");
    for (l, &n_neurons) in arch.iter().enumerate() {
        add_event_node(&mut nodes, l, n_neurons, &layer_rows(samples, l), t_max);
    }
    fb.add_group(nodes.finish());
    add_firstspike_group(&mut fb, header, samples);
    fb.finish().map_err(hdf5_error)
}

/// Each sample's spikes of layer `l`, (time, neuron) in time order (ties by neuron).
fn layer_rows(samples: &[SampleTrace], l: usize) -> Vec<Vec<(f64, u32)>> {
    samples
        .iter()
        .map(|s| {
            let mut r: Vec<(f64, u32)> = s
                .spikes
                .iter()
                .filter(|x| x.layer as usize == l)
                .map(|x| (x.time, x.neuron))
                .collect();
            r.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            r
        })
        .collect()
}

/// Layer `l`'s node: an `EventData` of one row per sample (`rows`), padded to the longest row
/// with index -1 and time +inf.
fn add_event_node(
    nodes: &mut GroupBuilder,
    l: usize,
    n_neurons: usize,
    rows: &[Vec<(f64, u32)>],
    t_max: f64,
) {
    let n_samples = rows.len();
    let n_events = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut idx = vec![-1i64; n_samples * n_events];
    let mut time = vec![f64::INFINITY; n_samples * n_events];
    for (s, r) in rows.iter().enumerate() {
        for (e, &(t, j)) in r.iter().enumerate() {
            idx[s * n_events + e] = j as i64;
            time[s * n_events + e] = t;
        }
    }
    let shape = [n_samples as u64, n_events as u64];
    let mut node = nodes.create_group(&spike_node(l));
    node.set_attr("__type__", AttrValue::VarLenString("NIRNodeData".into()));
    let mut obs = node.create_group("observables");
    let mut ev = obs.create_group(SPIKES_OBSERVABLE);
    ev.set_attr("__type__", AttrValue::VarLenString("EventData".into()));
    ev.set_attr("n_neurons", AttrValue::I64(n_neurons as i64));
    ev.set_attr("t_max", AttrValue::F64(t_max));
    if idx.is_empty() {
        ev.create_dataset("idx")
            .with_dtype(make_i64_type())
            .with_shape(&shape);
        ev.create_dataset("time")
            .with_dtype(make_f64_type())
            .with_shape(&shape);
    } else {
        let d = ev.create_dataset("idx");
        d.with_i64_data(&idx).with_shape(&shape);
        if idx.len() >= DEFLATE_MIN_ELEMENTS {
            d.with_deflate(DEFLATE_LEVEL);
        }
        f64_array(&mut ev, "time", &time, &shape);
    }
    obs.add_group(ev.finish());
    node.add_group(obs.finish());
    nodes.add_group(node.finish());
}

/// The `firstspike` group: the model's identity and units, and per sample its index, label
/// and decision (-1 or +inf where missing).
fn add_firstspike_group(fb: &mut FileBuilder, header: &TraceHeader, samples: &[SampleTrace]) {
    let mut fs = fb.create_group("firstspike");
    fs.set_attr("producer", AttrValue::VarLenString(PRODUCER.into()));
    fs.set_attr(
        "model_sha256",
        AttrValue::VarLenString(header.model_sha256.clone()),
    );
    fs.set_attr(
        "arch",
        AttrValue::I64Array(header.arch.iter().map(|&n| n as i64).collect()),
    );
    fs.set_attr("tau_syn", AttrValue::F64(header.tau_syn));
    fs.set_attr("theta", AttrValue::F64(header.theta));
    fs.set_attr(
        "engine",
        AttrValue::VarLenString(format!("{:?}", header.engine).to_lowercase()),
    );
    fs.set_attr("complete", AttrValue::I64(header.complete as i64));
    fs.set_attr(
        "layout",
        AttrValue::VarLenString(
            "nodes/input = raster layer 0 (input spikes), nodes/if_l = layer l; rows are the samples listed in firstspike/sample; times in the model's time unit; idx is firstspike's neuron number (in a feature map, neuron (y, x, c) is (y W + x) C + c, not NIR's channel-major (c H + y) W + x)".into(),
        ),
    );
    if !samples.is_empty() {
        let ids: Vec<i64> = samples.iter().map(|s| s.sample as i64).collect();
        let labels: Vec<i64> = samples
            .iter()
            .map(|s| s.label.map_or(-1, i64::from))
            .collect();
        let dec: Vec<i64> = samples
            .iter()
            .map(|s| s.decision.map_or(-1, |d| d.0 as i64))
            .collect();
        let dect: Vec<f64> = samples
            .iter()
            .map(|s| s.decision.map_or(f64::INFINITY, |d| d.1))
            .collect();
        fs.create_dataset("sample").with_i64_data(&ids);
        fs.create_dataset("label")
            .with_i64_data(&labels)
            .set_attr("missing", AttrValue::I64(-1));
        fs.create_dataset("decision")
            .with_i64_data(&dec)
            .set_attr("missing", AttrValue::I64(-1));
        fs.create_dataset("decision_time").with_f64_data(&dect);
    }
    fb.add_group(fs.finish());
}

/// Writes spike records as NIR `EventData` at `path` (atomically).
pub fn write_events(header: &TraceHeader, samples: &[SampleTrace], path: &Path) -> Result<()> {
    fsio::write_atomic(
        path,
        &events_bytes(header, samples).map_err(|e| nir_at(e, path))?,
    )
}
