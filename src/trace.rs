//! Traces: what one forward pass leaves behind, as files.
//!
//! Owns the serde types ([`SampleTrace`], [`TraceHeader`]), the file format (magic, format
//! version, model identity, bincode; written atomically), and the conversions between a trace
//! and the in-memory record the backward pass consumes ([`ForwardPass`]). Either engine
//! produces traces: the analytic solver directly ([`SampleTrace::from_pass`]), the event
//! engine through [`TraceRecorder`].
//!
//! A trace holds every spike (layer, neuron, time), each neuron's causal-set size along its
//! layer's input order, the input spikes, the label and the decision. Replaying it rebuilds the
//! input order (sort by time, then index: the engines' tie rule) and recomputes `S - theta`
//! from the model's weights over each causal set, so the gradients need no engine.

use crate::analytic::{argmin_finite, ForwardPass};
use crate::error::{Error, Result};
use crate::event::{CompiledNet, Recorder};
use crate::fileformat::{self, Format, FrameError};
use crate::fsio;
use crate::model::Model;
use crate::network::Layer;
use crate::progress::Progress;
use crate::real::Real;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub(crate) use crate::fileformat::TRACE_MAGIC;
/// Current trace format version. Files of another version are refused.
pub(crate) const TRACE_VERSION: u32 = 1;
/// Largest trace file we read.
pub(crate) const MAX_TRACE_BYTES: u64 = 1 << 32;
/// File name extension of trace files.
pub(crate) const TRACE_EXT: &str = "trace";

/// Which engine produced a trace (also the command line's `--engine` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum EngineKind {
    /// The layer-by-layer analytic solver (f64 for inference and traces, f32 for training).
    Analytic,
    /// The discrete-event engine (f64): one global queue, spike by spike.
    Event,
}

/// What identifies the model and run a trace file belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// sha256 of the model's weights ([`Model::weights_hash`]).
    pub model_sha256: String,
    /// Layer sizes, input first.
    pub arch: Vec<usize>,
    /// tau_syn (time unit).
    pub(crate) tau_syn: f64,
    /// theta (potential unit).
    pub(crate) theta: f64,
    /// The engine that produced the traces.
    pub engine: EngineKind,
    /// Whether every sample ran to the end (false: stopped at the decision, so later spikes
    /// are missing and gradients cannot be replayed).
    pub(crate) complete: bool,
}

/// One spike: layer (0 = inputs), neuron index within the layer, time (units of tau_syn).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// Layer, 0 = network inputs.
    pub layer: u16,
    /// Neuron index within its layer.
    pub neuron: u32,
    /// Time, units of tau_syn.
    pub time: f64,
}

/// The trace of one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleTrace {
    /// Index of the sample in its data set.
    pub sample: u64,
    /// Its label, if known.
    pub label: Option<u8>,
    /// Decision: output neuron that fired first (ties: lowest index), and when.
    pub decision: Option<(u32, f64)>,
    /// Every spike, inputs included, in time order (ties by layer, then neuron).
    pub spikes: Vec<Spike>,
    /// `causal[l][j]`: the causal set of neuron j of layer l + 1 is its inputs among the first
    /// `causal[l][j]` spikes of the layer's inputs in time order (0 if it never fired). In a
    /// dense layer every input is the neuron's, so this is the causal set's size.
    pub causal: Vec<Vec<u32>>,
}

/// A trace file: a header and the traces of some samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceFile {
    /// Model identity and units.
    pub header: TraceHeader,
    /// The samples.
    pub samples: Vec<SampleTrace>,
}

/// This build's trace format, as messages name it.
const TRACE_FORMAT: Format = Format {
    magic: TRACE_MAGIC,
    name: "a trace file",
    version: TRACE_VERSION,
    also_reads: "",
    other_version: "record the trace again with this firstspike",
};

/// The error for `bytes` that are not a trace file of this version.
fn frame_error(path: &Path, bytes: &[u8], e: FrameError) -> Error {
    Error::trace(path, e.describe(bytes, &TRACE_FORMAT))
}

impl TraceHeader {
    /// The header for traces of `model` made by `engine`.
    pub fn for_model(model: &Model, engine: EngineKind, complete: bool) -> Self {
        TraceHeader {
            model_sha256: model.weights_hash(),
            arch: model.arch(),
            tau_syn: model.params.tau_syn,
            theta: model.params.theta,
            engine,
            complete,
        }
    }

    /// Errors unless the traces were made with exactly this model.
    pub fn check_model(&self, model: &Model, path: &Path) -> Result<()> {
        let h = model.weights_hash();
        if self.model_sha256 != h || self.arch != model.arch() {
            return Err(Error::trace(
                path,
                format!(
                    "made with another model (weights sha256 {}…, architecture {:?}); this model is {}… {:?}. Replay it with the model that recorded it",
                    &self.model_sha256.get(..12).unwrap_or(""),
                    self.arch,
                    &h[..12],
                    model.arch()
                ),
            ));
        }
        Ok(())
    }
}

impl SampleTrace {
    /// The trace of an analytic pass (f64).
    pub fn from_pass(pass: &ForwardPass<f64>, sample: u64, label: Option<u8>) -> Self {
        let mut spikes = Vec::new();
        for (l, ts) in pass.times.iter().enumerate() {
            for (j, &t) in ts.iter().enumerate() {
                if t.is_finite() {
                    spikes.push(Spike {
                        layer: l as u16,
                        neuron: j as u32,
                        time: t,
                    });
                }
            }
        }
        spikes.sort_by(|a, b| {
            a.time
                .partial_cmp(&b.time)
                .unwrap()
                .then(a.layer.cmp(&b.layer))
                .then(a.neuron.cmp(&b.neuron))
        });
        let decision = pass.decision().map(|d| (d as u32, pass.outputs()[d]));
        SampleTrace {
            sample,
            label,
            decision,
            spikes,
            causal: pass.causal.clone(),
        }
    }

    /// Spike times per layer (`+inf` = no spike), given the layer sizes.
    pub fn times(&self, arch: &[usize]) -> Vec<Vec<f64>> {
        let mut t: Vec<Vec<f64>> = arch.iter().map(|&n| vec![f64::INFINITY; n]).collect();
        for s in &self.spikes {
            t[s.layer as usize][s.neuron as usize] = s.time;
        }
        t
    }

    /// Checks the trace against layer sizes (input first): one causal size per neuron, no
    /// causal set larger than its layer's inputs, spikes of existing neurons at finite times
    /// >= 0, and a label and decision below the number of outputs.
    pub(crate) fn validate(&self, arch: &[usize]) -> std::result::Result<(), String> {
        if arch.len() < 2 {
            return Err(format!("architecture {arch:?} has fewer than two layers"));
        }
        if self.causal.len() + 1 != arch.len() {
            return Err(format!(
                "{} causal layers for {} layers",
                self.causal.len(),
                arch.len() - 1
            ));
        }
        for (l, c) in self.causal.iter().enumerate() {
            if c.len() != arch[l + 1] {
                return Err(format!(
                    "layer {}: {} causal sizes for {} neurons",
                    l + 1,
                    c.len(),
                    arch[l + 1]
                ));
            }
            if let Some(&bad) = c.iter().find(|&&x| x as usize > arch[l]) {
                return Err(format!(
                    "layer {}: causal set of {bad} inputs, more than the {} it has",
                    l + 1,
                    arch[l]
                ));
            }
        }
        let outputs = arch[arch.len() - 1];
        if let Some(l) = self.label.filter(|&l| l as usize >= outputs) {
            return Err(format!(
                "label {l}, but the network has only {outputs} outputs (labels 0..{outputs})"
            ));
        }
        if let Some((d, _)) = self.decision.filter(|&(d, _)| d as usize >= outputs) {
            return Err(format!(
                "decision {d}, but the network has only {outputs} outputs"
            ));
        }
        for s in &self.spikes {
            let l = s.layer as usize;
            if l >= arch.len() || s.neuron as usize >= arch[l] {
                return Err(format!(
                    "spike of neuron {} in layer {}, which does not exist",
                    s.neuron, s.layer
                ));
            }
            if !(s.time.is_finite() && s.time >= 0.0) {
                return Err(format!(
                    "spike time {} of layer {} neuron {}",
                    s.time, s.layer, s.neuron
                ));
            }
        }
        Ok(())
    }

    /// Rebuilds the forward record the backward pass consumes: times, each layer's input
    /// order (by time, then index), causal sizes, and `S - theta` summed from `model`'s weights
    /// over each causal set. The trace must have been validated against the model.
    pub(crate) fn to_pass<F: Real>(&self, model: &Model) -> ForwardPass<F> {
        let arch = model.arch();
        let times = self.times(&arch);
        let mut pass = ForwardPass::<F>::default();
        for (l, layer) in model.layers.iter().enumerate() {
            let t_in = &times[l];
            let mut order: Vec<u32> = (0..layer.n_in() as u32)
                .filter(|&i| t_in[i as usize].is_finite())
                .collect();
            order.sort_by(|&a, &b| {
                t_in[a as usize]
                    .partial_cmp(&t_in[b as usize])
                    .unwrap()
                    .then(a.cmp(&b))
            });
            let theta = model.params.theta;
            let causal = &self.causal[l];
            let sums = causal_sums(layer, &order, causal);
            let smt: Vec<F> = sums
                .iter()
                .zip(causal)
                .map(|(&s, &c)| if c == 0 { F::zero() } else { F::of(s - theta) })
                .collect();
            pass.order.push(order);
            pass.causal.push(causal.clone());
            pass.s_minus_theta.push(smt);
        }
        pass.times = times
            .into_iter()
            .map(|v| v.into_iter().map(F::of).collect())
            .collect();
        pass
    }

    /// Recomputes the decision from the output spikes (what a replay reports).
    pub(crate) fn replayed_decision(&self, arch: &[usize]) -> Option<(u32, f64)> {
        let t = self.times(arch);
        let out = t.last()?;
        argmin_finite(out).map(|d| (d as u32, out[d]))
    }

    /// Neurons that fired per layer (inputs included).
    pub fn fired(&self, arch: &[usize]) -> Vec<u64> {
        let mut f = vec![0u64; arch.len()];
        for s in &self.spikes {
            f[s.layer as usize] += 1;
        }
        f
    }
}

/// Collects an event-engine run into a [`SampleTrace`] (spikes in emission order).
pub struct TraceRecorder<'n> {
    net: &'n CompiledNet,
    /// The trace being built.
    pub trace: SampleTrace,
}

impl<'n> TraceRecorder<'n> {
    /// A recorder for `net` (a layered network from [`crate::event::EventNet::from_model`]).
    pub fn new(net: &'n CompiledNet) -> Self {
        let causal = net.layer_sizes[1..].iter().map(|&n| vec![0; n]).collect();
        TraceRecorder {
            net,
            trace: SampleTrace {
                sample: 0,
                label: None,
                decision: None,
                spikes: Vec::new(),
                causal,
            },
        }
    }

    /// Clears it for the next sample.
    pub fn reset(&mut self, sample: u64, label: Option<u8>) {
        self.trace.sample = sample;
        self.trace.label = label;
        self.trace.decision = None;
        self.trace.spikes.clear();
        self.trace
            .causal
            .iter_mut()
            .for_each(|c| c.iter_mut().for_each(|x| *x = 0));
    }
}

impl Recorder for TraceRecorder<'_> {
    fn spike(&mut self, id: u32, t: f64, causal: u32) {
        let l = self.net.layer[id as usize];
        let j = self.net.index[id as usize];
        self.trace.spikes.push(Spike {
            layer: l as u16,
            neuron: j,
            time: t,
        });
        if l > 0 {
            self.trace.causal[l as usize - 1][j as usize] = causal;
            if l as usize + 1 == self.net.n_layers() && self.trace.decision.is_none() {
                self.trace.decision = Some((j, t));
            }
        }
    }
}

impl TraceFile {
    /// Serialises (magic, version, bincode).
    pub fn to_bytes(&self) -> Vec<u8> {
        fileformat::write(TRACE_MAGIC, TRACE_VERSION, MAX_TRACE_BYTES, self)
            .expect("a trace always serialises")
    }

    /// Parses and validates; `path` names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<TraceFile> {
        let f: TraceFile = fileformat::read(bytes, TRACE_MAGIC, TRACE_VERSION, MAX_TRACE_BYTES)
            .map_err(|e| frame_error(path, bytes, e))?;
        let arch = &f.header.arch;
        if arch.len() < 2 || arch.contains(&0) || arch.iter().any(|&n| n > u32::MAX as usize) {
            return Err(Error::trace(
                path,
                format!("header architecture {arch:?} is not a network"),
            ));
        }
        for s in &f.samples {
            s.validate(&f.header.arch)
                .map_err(|w| Error::sample_trace(Some(path), s.sample, w))?;
        }
        Ok(f)
    }

    /// Writes atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        fsio::write_atomic(path, &self.to_bytes())
    }

    /// Reads one file.
    pub fn load(path: &Path) -> Result<TraceFile> {
        let b = fsio::read_limited(path, MAX_TRACE_BYTES)?;
        TraceFile::from_bytes(&b, path)
    }
}

/// The trace files named by `path`: the file itself, or every `*.trace` in a folder (sorted).
pub fn trace_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::trace(path, "no such file or folder"));
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(TRACE_EXT))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Error::trace(
            path,
            format!("no .{TRACE_EXT} files in this folder"),
        ));
    }
    Ok(v)
}

/// File name of the trace file holding samples `first..=last`.
pub(crate) fn chunk_name(first: usize, last: usize) -> String {
    format!("samples-{first:06}-{last:06}.{TRACE_EXT}")
}

/// Writes `traces` under `dir` (created if missing) in files of at most `per_file` samples,
/// each written atomically, reporting the samples of each file written to `progress`.
/// Returns the files written.
pub fn write_traces(
    dir: &Path,
    header: &TraceHeader,
    traces: &[SampleTrace],
    per_file: usize,
    progress: Progress,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for chunk in traces.chunks(per_file.max(1)) {
        let first = chunk[0].sample as usize;
        let last = chunk[chunk.len() - 1].sample as usize;
        let path = dir.join(chunk_name(first, last));
        TraceFile {
            header: header.clone(),
            samples: chunk.to_vec(),
        }
        .save(&path)?;
        progress(chunk.len() as u64);
        files.push(path);
    }
    Ok(files)
}

/// Per neuron of `layer`, the sum of its weights over its causal set: its inputs among the
/// first `causal[j]` of `order` (the layer's spiking inputs in time order), summed in that
/// order as the engines summed them.
fn causal_sums(layer: &Layer<f64>, order: &[u32], causal: &[u32]) -> Vec<f64> {
    match layer {
        Layer::Dense(d) => (0..d.n_out)
            .map(|j| {
                let c = (causal[j] as usize).min(order.len());
                order[..c]
                    .iter()
                    .map(|&i| d.w[i as usize * d.n_out + j])
                    .sum()
            })
            .collect(),
        Layer::Conv(conv) => {
            let co = conv.channels;
            let mut sums = vec![0.0; layer.n_out()];
            for (k, &i) in order.iter().enumerate() {
                conv.for_each_target(i as usize, |tap, j0| {
                    for o in 0..co {
                        if (k as u32) < causal[j0 + o] {
                            sums[j0 + o] += conv.w[tap * co + o];
                        }
                    }
                });
            }
            sums
        }
    }
}
