//! The network the event engine runs: a general feedforward graph of neurons and synapses.
//!
//! [`EventNet`] is the editable form: neurons in a `slotmap` (stable typed keys), each with its
//! outgoing synapses; layers are one way to build it ([`EventNet::from_model`]), but sparse and
//! skip connections work too. [`EventNet::compile`] checks it and lays it out densely
//! ([`CompiledNet`]) for the engine's hot loop: neuron ids 0..n in (layer, insertion) order,
//! fan-out in compressed rows.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::network::Layer;
use crate::neuron::NeuronParams;
use slotmap::{new_key_type, SlotMap};

new_key_type! {
    /// A neuron of an [`EventNet`].
    pub struct NeuronKey;
}

/// One neuron (or network input) and its outgoing synapses.
#[derive(Clone, Debug)]
struct Node {
    layer: u32,
    out: Vec<(NeuronKey, f64)>,
}

/// An editable feedforward spiking network.
#[derive(Clone, Debug)]
pub struct EventNet {
    nodes: SlotMap<NeuronKey, Node>,
    insertion: Vec<NeuronKey>,
    params: NeuronParams,
    shared_ref: std::collections::BTreeSet<u32>,
}

/// The dense, checked form of an [`EventNet`] that the engine runs.
#[derive(Clone, Debug)]
pub struct CompiledNet {
    /// Neuron parameters.
    pub(crate) params: NeuronParams,
    /// Layer of each dense id (0 = network inputs).
    pub(crate) layer: Vec<u32>,
    /// Index of each dense id within its layer.
    pub(crate) index: Vec<u32>,
    /// Number of neurons per layer.
    pub(crate) layer_sizes: Vec<usize>,
    /// Fan-out of id `i`: `targets[offsets[i]..offsets[i + 1]]`, same for `weights`.
    pub(crate) offsets: Vec<usize>,
    /// Target ids.
    pub(crate) targets: Vec<u32>,
    /// Synaptic weights (threshold units).
    pub(crate) weights: Vec<f64>,
    /// The slotmap key of each dense id.
    pub(crate) keys: Vec<NeuronKey>,
    /// Per layer: whether its neurons share one reference time.
    pub(crate) shared_ref: Vec<bool>,
}

impl EventNet {
    /// An empty network.
    pub fn new(params: NeuronParams) -> Self {
        EventNet {
            nodes: SlotMap::with_key(),
            insertion: Vec::new(),
            params,
            shared_ref: Default::default(),
        }
    }

    /// Makes every neuron of `layer` keep its running sum `A` relative to one reference time,
    /// the first spike time of layer `layer - 1` (rebased for the whole layer), instead of its
    /// own first input's, and record causal sets as bounds along the spikes of `layer - 1`
    /// (see [`crate::event::Recorder::spike`]). The spikes are the same up to rounding; it is
    /// what the analytic solver does for a convolution, so that the two agree bit for bit
    /// there. Meant for a layer fed by the layer before it only.
    pub fn share_reference(&mut self, layer: u32) {
        self.shared_ref.insert(layer);
    }

    /// Adds a neuron in `layer` (0 = a network input, driven by given spike times).
    pub fn add_neuron(&mut self, layer: u32) -> NeuronKey {
        let k = self.nodes.insert(Node {
            layer,
            out: Vec::new(),
        });
        self.insertion.push(k);
        k
    }

    /// Adds a synapse `from -> to` of weight `w`. The target must be in a later layer
    /// (feedforward); the weight must be finite.
    pub fn connect(&mut self, from: NeuronKey, to: NeuronKey, w: f64) -> Result<()> {
        let (lf, lt) = match (self.nodes.get(from), self.nodes.get(to)) {
            (Some(a), Some(b)) => (a.layer, b.layer),
            _ => return Err(Error::engine("connect: unknown neuron key")),
        };
        if lt <= lf {
            return Err(Error::engine(format!(
                "connect: a synapse from layer {lf} to layer {lt} is not feedforward"
            )));
        }
        if !w.is_finite() {
            return Err(Error::engine(format!("connect: weight {w} is not finite")));
        }
        self.nodes[from].out.push((to, w));
        Ok(())
    }

    /// The layered network of a model: `arch[0]` inputs in layer 0, then each layer's
    /// neurons (a convolution's in its (row, column, channel) order, each reaching its
    /// patch's neurons; its layer shares one reference time, see [`EventNet::share_reference`]).
    pub fn from_model(m: &Model) -> Result<Self> {
        m.validate().map_err(Error::model_in_memory)?;
        let mut net = EventNet::new(m.params);
        let mut prev: Vec<NeuronKey> = (0..m.n_inputs()).map(|_| net.add_neuron(0)).collect();
        for (l, layer) in m.layers.iter().enumerate() {
            let cur: Vec<NeuronKey> = (0..layer.n_out())
                .map(|_| net.add_neuron(l as u32 + 1))
                .collect();
            match layer {
                Layer::Dense(layer) => {
                    for (i, &src) in prev.iter().enumerate() {
                        let row = layer.row(i);
                        net.nodes[src].out = cur.iter().zip(row).map(|(&k, &w)| (k, w)).collect();
                    }
                }
                Layer::Conv(conv) => {
                    let co = conv.channels;
                    for (i, &src) in prev.iter().enumerate() {
                        let mut out = Vec::new();
                        conv.for_each_target(i, |tap, j0| {
                            let w = &conv.w[tap * co..(tap + 1) * co];
                            out.extend(cur[j0..j0 + co].iter().copied().zip(w.iter().copied()));
                        });
                        net.nodes[src].out = out;
                    }
                    net.shared_ref.insert(l as u32 + 1);
                }
            }
            prev = cur;
        }
        Ok(net)
    }

    /// Number of neurons (inputs included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the network has no neurons.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Checks and lays out the network. Errors: no neurons, no inputs, a layer with no neurons
    /// between others, invalid parameters.
    pub fn compile(&self) -> Result<CompiledNet> {
        self.params.validate().map_err(Error::engine)?;
        if self.nodes.is_empty() {
            return Err(Error::engine("the network is empty"));
        }
        let n_layers = self.nodes.values().map(|n| n.layer).max().unwrap() as usize + 1;
        let mut layer_sizes = vec![0usize; n_layers];
        for n in self.nodes.values() {
            layer_sizes[n.layer as usize] += 1;
        }
        if layer_sizes[0] == 0 {
            return Err(Error::engine("the network has no inputs (layer 0)"));
        }
        if let Some(l) = layer_sizes.iter().position(|&s| s == 0) {
            return Err(Error::engine(format!("layer {l} has no neurons")));
        }
        // Dense ids: by layer, then insertion order (stable, documented tie order).
        let mut keys: Vec<NeuronKey> = self
            .insertion
            .iter()
            .copied()
            .filter(|k| self.nodes.contains_key(*k))
            .collect();
        keys.sort_by_key(|k| self.nodes[*k].layer);
        let mut id_of = slotmap::SecondaryMap::new();
        for (i, &k) in keys.iter().enumerate() {
            id_of.insert(k, i as u32);
        }
        let mut layer = Vec::with_capacity(keys.len());
        let mut index = Vec::with_capacity(keys.len());
        let mut seen = vec![0u32; n_layers];
        let mut offsets = vec![0usize];
        let mut targets = Vec::new();
        let mut weights = Vec::new();
        for &k in &keys {
            let node = &self.nodes[k];
            layer.push(node.layer);
            index.push(seen[node.layer as usize]);
            seen[node.layer as usize] += 1;
            for &(t, w) in &node.out {
                targets.push(id_of[t]);
                weights.push(w);
            }
            offsets.push(targets.len());
        }
        Ok(CompiledNet {
            params: self.params,
            layer,
            index,
            layer_sizes,
            offsets,
            targets,
            weights,
            keys,
            shared_ref: (0..n_layers as u32)
                .map(|l| self.shared_ref.contains(&l))
                .collect(),
        })
    }
}

impl CompiledNet {
    /// Number of neurons, inputs included.
    pub fn len(&self) -> usize {
        self.layer.len()
    }
    /// Whether empty (never, once compiled).
    pub fn is_empty(&self) -> bool {
        self.layer.is_empty()
    }
    /// The [`EventNet`] key of each neuron, by engine id (the position in the network:
    /// inputs first, then layer by layer), so that a recorded id can be traced back to the
    /// neuron the caller added.
    pub fn keys(&self) -> &[NeuronKey] {
        &self.keys
    }
    /// Number of network inputs.
    pub fn n_inputs(&self) -> usize {
        self.layer_sizes[0]
    }
    /// Number of layers, inputs included.
    pub(crate) fn n_layers(&self) -> usize {
        self.layer_sizes.len()
    }
    /// Dense id of the first neuron of the output (last) layer.
    pub(crate) fn first_output(&self) -> u32 {
        (self.len() - self.layer_sizes[self.n_layers() - 1]) as u32
    }
    /// Replaces every synaptic weight, in the order the synapses were laid out (for a network
    /// from [`EventNet::from_model`]: the model's layers' input-major weights, concatenated).
    /// The count must match and every weight be finite.
    pub(crate) fn set_weights(&mut self, w: impl Iterator<Item = f64>) -> Result<()> {
        let mut n = 0;
        for (d, x) in self.weights.iter_mut().zip(w) {
            if !x.is_finite() {
                return Err(Error::engine(format!("weight {n} is {x}")));
            }
            *d = x;
            n += 1;
        }
        if n != self.weights.len() {
            return Err(Error::dimension(format!(
                "{n} weights for {} synapses",
                self.weights.len()
            )));
        }
        Ok(())
    }

    /// Fan-out of id `i`.
    #[inline]
    pub(crate) fn fan_out(&self, i: u32) -> usize {
        self.offsets[i as usize + 1] - self.offsets[i as usize]
    }
}
