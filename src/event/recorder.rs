//! What the engine reports while it runs, through a recorder the caller chooses.

/// Receives every spike the engine emits, in emission order.
pub trait Recorder {
    /// Neuron `id` (dense id, see [`crate::event::CompiledNet`]) fired at `t`, with a causal
    /// set of `causal` inputs (0 for network inputs). In a layer that shares its reference
    /// time (a convolution), `causal` is a bound instead: the causal set is the neuron's
    /// inputs among the first `causal` spikes its layer received.
    fn spike(&mut self, id: u32, t: f64, causal: u32);
}

/// Records nothing; inlined away.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRecord;

impl Recorder for NoRecord {
    #[inline(always)]
    fn spike(&mut self, _: u32, _: f64, _: u32) {}
}

/// Records every spike as `(id, time, causal set size)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpikeLog {
    /// Spikes in emission order.
    pub spikes: Vec<(u32, f64, u32)>,
}

impl Recorder for SpikeLog {
    fn spike(&mut self, id: u32, t: f64, causal: u32) {
        self.spikes.push((id, t, causal));
    }
}
