//! Time-stepped simulation of a converted rate-coded network: the only place in the crate
//! where a time step (dt) exists.
//!
//! Owns the step loop ([`run_sample`]), the input drive ([`InputMode`]) and the record of one
//! sample ([`SampleRun`]); [`simulate`] runs a data set on several threads. Pure: no I/O, and
//! the only randomness is the Poisson input, drawn from a generator the caller passes (or, in
//! [`simulate`], one ChaCha8 generator per sample derived from the seed: see [`sample_rng`]).
//!
//! # Time
//!
//! Time advances in steps of **dt = one step**; every time-like quantity of the rate baseline
//! (rates, decision times) is counted in steps. The neurons have no time constant (no leak), so
//! dt only sets the unit: a rate of 1 spike per step is the fastest any neuron can fire.
//!
//! # One step
//!
//! 1. The inputs drive the first layer: with [`InputMode::Poisson`] pixel `i` spikes with
//!    probability `min(1, rate * x_i)` (`x_i = p_i / 255`) and each input spike adds its
//!    weights `W'_0[i, j]` to the potentials of the neurons `j` it reaches; with
//!    [`InputMode::Current`] the constant current `sum_i x_i W'_0[i, :]` (computed once per
//!    sample) is added.
//! 2. Layer by layer, every neuron with `V >= 1` fires once and is reset by subtraction,
//!    `V <- V - 1`; each spike adds its weights to the potentials of the next layer's neurons it
//!    reaches **in the same step** (no synaptic delay). Only spiking neurons cost work
//!    (event-driven). Dense layers and convolutions alike (the private `scatter` module): a
//!    spike of a convolution's input reaches its receptive fields' neurons only, and its
//!    synaptic events are those neurons (its fan-out, [`crate::network::Layer::fan_outs`]).
//! 3. The output layer's spike counts so far give the step's prediction: the class with the
//!    most output spikes, `None` while no output has fired or while the top count is tied.

use super::convert::SpikingNet;
use super::scatter::scatter;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Arch;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest record of one [`simulate`] call, in 4-byte counters (`samples * steps * (layers +
/// 2)`: a spike count per layer and the 8-byte synaptic-event count per step): 512 MB. More is
/// refused before running (use fewer samples or steps).
pub(crate) const MAX_RECORD_ENTRIES: usize = 1 << 27;

/// How pixels drive the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputMode {
    /// Independent Bernoulli spikes per pixel and step (a discretised Poisson process), with
    /// probability `min(1, rate * p / 255)`: `rate` is the spikes per step of a white pixel.
    Poisson {
        /// Spikes per step of a white pixel, in (0, 1].
        rate: f64,
    },
    /// No input spikes: the first layer receives the constant current `x . W'_0` every step.
    Current,
}

/// Settings of a simulation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Steps per sample (T).
    pub steps: usize,
    /// Input drive.
    pub input: InputMode,
    /// Seed of the Poisson inputs (see [`sample_rng`]); unused with constant currents.
    pub seed: u64,
}

impl SimConfig {
    /// Checks the settings ([`Error::InvalidSetting`] naming the field).
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::setting("steps", "steps must be at least 1"));
        }
        if let InputMode::Poisson { rate } = self.input {
            if !(rate > 0.0 && rate <= 1.0) {
                return Err(Error::setting(
                    "input_rate",
                    format!("the input rate must be in (0, 1] spikes per step, got {rate}"),
                ));
            }
        }
        Ok(())
    }
}

/// What one sample's simulation leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampleRun {
    /// Layers including the input layer.
    pub(crate) n_layers: usize,
    /// Prediction after each step (index 0 = after step 1).
    pub preds: Vec<Option<u8>>,
    /// Cumulative spikes per layer after each step, step-major: `spikes[t * n_layers + l]` is
    /// layer `l`'s spikes in steps 1..=t+1 (layer 0 = input spikes).
    pub spikes: Vec<u32>,
    /// Cumulative synaptic events after each step (every spike times its neuron's fan-out;
    /// the input projection of constant currents not included): `events[t]` is steps 1..=t+1.
    pub events: Vec<u64>,
    /// Multiply-accumulates of the constant-current input projection (`[non-zero pixels] *
    /// n_out`), done once per sample; 0 with Poisson input.
    pub(crate) input_projection_macs: u64,
}

impl SampleRun {
    /// Steps simulated.
    pub(crate) fn steps(&self) -> usize {
        self.preds.len()
    }

    /// Synaptic events of spikes in steps 1..=t (t = 0 gives 0), the input projection not
    /// included.
    pub fn events_at(&self, t: usize) -> u64 {
        if t == 0 {
            0
        } else {
            self.events[t - 1]
        }
    }

    /// Spikes of layer `l` in steps 1..=t (t = 0 gives 0).
    pub fn spikes_at(&self, t: usize, l: usize) -> u32 {
        if t == 0 {
            0
        } else {
            self.spikes[(t - 1) * self.n_layers + l]
        }
    }

    /// The number of steps after which the prediction no longer changes (up to the last step):
    /// the first step of the final unchanging run of predictions. `None` if the last
    /// prediction is `None` (no decision).
    pub(crate) fn decision_steps(&self) -> Option<usize> {
        let last = (*self.preds.last()?)?;
        let changed = self.preds.iter().rposition(|p| *p != Some(last));
        Some(changed.map_or(1, |k| k + 2))
    }
}

/// Per-thread buffers, reused between samples.
#[derive(Clone, Debug, Default)]
pub struct SimState {
    v: Vec<Vec<f32>>,
    fired: Vec<usize>,
    active: Vec<(usize, u64)>,
    out_counts: Vec<u32>,
    /// `fan[k][i]`: the targets of input `i` of layer `k`
    /// ([`crate::network::Layer::fan_outs`]).
    fan: Vec<Vec<u64>>,
    /// The architecture `fan` was computed for.
    fan_of: Option<Arch>,
    /// Synaptic events so far in this sample.
    events: u64,
}

/// Prediction from output spike counts: the unique largest count, `None` if all are zero or
/// the top is tied.
pub(crate) fn count_prediction(counts: &[u32]) -> Option<u8> {
    let mut best = 0;
    let mut tied = false;
    for (i, &c) in counts.iter().enumerate().skip(1) {
        if c > counts[best] {
            best = i;
            tied = false;
        } else if c == counts[best] {
            tied = true;
        }
    }
    (counts.first().is_some_and(|_| counts[best] > 0) && !tied).then_some(best as u8)
}

/// Simulates one image (`pixels`, one byte each, `n_inputs` of them) for `cfg.steps` steps.
/// Poisson input spikes are drawn from `rng`, in pixel order within a step.
pub fn run_sample<R: RngCore>(
    net: &SpikingNet,
    pixels: &[u8],
    cfg: &SimConfig,
    rng: &mut R,
    st: &mut SimState,
) -> SampleRun {
    debug_assert_eq!(pixels.len(), net.n_inputs());
    let nl = net.n_layers();
    st.reset(net);
    let (current, projection) = input_drive(net, pixels, cfg, st);
    let mut run = SampleRun {
        n_layers: nl,
        preds: Vec::with_capacity(cfg.steps),
        spikes: Vec::with_capacity(cfg.steps * nl),
        events: Vec::with_capacity(cfg.steps),
        input_projection_macs: projection,
    };
    let mut cum = vec![0u32; nl];
    let mut pred = None;
    for _ in 0..cfg.steps {
        match cfg.input {
            InputMode::Poisson { .. } => {
                let first = &net.layers[0];
                for &(i, thr) in &st.active {
                    if (rng.next_u32() as u64) < thr {
                        cum[0] += 1;
                        st.events += scatter(first, i, 1.0, &mut st.v[0]);
                    }
                }
            }
            InputMode::Current => {
                if !current.is_empty() {
                    for (a, &b) in st.v[0].iter_mut().zip(&current) {
                        *a += b;
                    }
                }
            }
        }
        if st.propagate(net, &mut cum) {
            pred = count_prediction(&st.out_counts);
        }
        run.preds.push(pred);
        run.spikes.extend_from_slice(&cum);
        run.events.push(st.events);
    }
    run
}

/// What drives the first layer: with Poisson input, `st.active` is set to the pixels that
/// may spike and their thresholds (a spike iff a uniform u32 is below it); with constant
/// current, returns the current into the first layer (empty for a black image) and the
/// multiply-accumulates that computed it.
fn input_drive(
    net: &SpikingNet,
    pixels: &[u8],
    cfg: &SimConfig,
    st: &mut SimState,
) -> (Vec<f32>, u64) {
    let first = &net.layers[0];
    let mut current = Vec::new();
    let mut projection = 0u64;
    st.active.clear();
    for (i, &p) in pixels.iter().enumerate() {
        if p == 0 {
            continue;
        }
        let x = p as f64 / 255.0;
        match cfg.input {
            InputMode::Poisson { rate } => {
                // Spike iff a uniform u32 < threshold; p = 1 gives 2^32, always true.
                let thr = ((rate * x).min(1.0) * 4_294_967_296.0) as u64;
                st.active.push((i, thr));
            }
            InputMode::Current => {
                current.resize(first.n_out(), 0.0f32);
                projection += scatter(first, i, x as f32, &mut current);
            }
        }
    }
    (current, projection)
}

impl SimState {
    /// Zeroes the potentials, output counts and events, sized for `net` (and finds its
    /// fan-outs, once per architecture).
    fn reset(&mut self, net: &SpikingNet) {
        let depth = net.layers.len();
        self.v.resize_with(depth, Vec::new);
        for (v, d) in self.v.iter_mut().zip(&net.layers) {
            v.clear();
            v.resize(d.n_out(), 0.0);
        }
        self.out_counts.clear();
        self.out_counts.resize(net.layers[depth - 1].n_out(), 0);
        self.events = 0;
        let arch = Arch::of_layers(&net.layers);
        if self.fan_of.as_ref() != Some(&arch) {
            self.fan = net.layers.iter().map(|l| l.fan_outs()).collect();
            self.fan_of = Some(arch);
        }
    }

    /// One step after the input: each layer in turn fires every neuron at or above threshold
    /// (reset by subtraction) into the next layer, or into the output counts. Adds the spikes
    /// of layer `l` to `cum[l + 1]`; true if an output neuron fired.
    #[inline]
    fn propagate(&mut self, net: &SpikingNet, cum: &mut [u32]) -> bool {
        let depth = net.layers.len();
        let mut output_fired = false;
        for l in 0..depth {
            self.fired.clear();
            for (j, v) in self.v[l].iter_mut().enumerate() {
                if *v >= SpikingNet::THRESHOLD {
                    *v -= SpikingNet::THRESHOLD;
                    self.fired.push(j);
                }
            }
            cum[l + 1] += self.fired.len() as u32;
            if l + 1 < depth {
                let next = &net.layers[l + 1];
                let next_v = &mut self.v[l + 1];
                for &j in &self.fired {
                    self.events += scatter(next, j, 1.0, next_v);
                }
            } else if !self.fired.is_empty() {
                for &j in &self.fired {
                    self.out_counts[j] += 1;
                }
                output_fired = true;
            }
        }
        output_fired
    }
}

/// The generator of sample `i`'s Poisson inputs: ChaCha8 seeded with `seed`, stream `i`. A
/// sample's spikes therefore depend on the seed and its index only, not on the thread count
/// or on how many other samples run.
pub fn sample_rng(seed: u64, i: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(i as u64);
    r
}

/// Simulates every image of `data` on `threads` threads, reporting each finished sample to
/// `progress`; results in data order.
pub fn simulate(
    net: &SpikingNet,
    data: &Dataset,
    cfg: &SimConfig,
    threads: usize,
    progress: Progress,
) -> Result<Vec<SampleRun>> {
    cfg.validate()?;
    let n_in = net.n_inputs();
    if n_in != data.dim() {
        return Err(Error::dimension(format!(
            "the rate network takes {n_in} inputs but the images have {} pixels",
            data.dim()
        )));
    }
    let entries = data
        .len()
        .saturating_mul(cfg.steps)
        .saturating_mul(net.n_layers() + 2);
    if entries > MAX_RECORD_ENTRIES {
        return Err(Error::setting(
            "steps",
            format!(
                "{} samples x {} steps x ({} layers + 2 for the event count) is too large a record ({} counters, at most {}); use fewer steps or samples",
                data.len(),
                cfg.steps,
                net.n_layers(),
                entries,
                MAX_RECORD_ENTRIES
            ),
        ));
    }
    let parts = par_chunks(data.len(), threads, |range| {
        let mut st = SimState::default();
        range
            .map(|i| {
                let run = run_sample(
                    net,
                    data.image(i),
                    cfg,
                    &mut sample_rng(cfg.seed, i),
                    &mut st,
                );
                progress(1);
                run
            })
            .collect::<Vec<_>>()
    });
    Ok(parts.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Layer;

    #[test]
    fn prediction_needs_a_unique_leader() {
        assert_eq!(count_prediction(&[0, 0, 0]), None);
        assert_eq!(count_prediction(&[1, 3, 3]), None);
        assert_eq!(count_prediction(&[1, 3, 2]), Some(1));
        assert_eq!(count_prediction(&[4, 3, 2]), Some(0));
    }

    #[test]
    fn decision_steps_is_the_start_of_the_last_stable_run() {
        let r = |p: Vec<Option<u8>>| SampleRun {
            n_layers: 1,
            preds: p,
            ..Default::default()
        };
        assert_eq!(
            r(vec![None, Some(1), Some(2), Some(2)]).decision_steps(),
            Some(3)
        );
        assert_eq!(r(vec![Some(2), Some(2)]).decision_steps(), Some(1));
        assert_eq!(r(vec![Some(2), None]).decision_steps(), None);
    }

    /// A white corner pixel of a 3 x 3 image into a 2-channel 3 x 3 convolution (padding 1)
    /// reaches 4 positions x 2 channels: 8 synaptic events per input spike; with weights
    /// 1 on every tap those 8 neurons fire in the same step, each into one output (fan-out 1).
    #[test]
    fn a_convolutions_spike_counts_its_own_targets() {
        let conv = crate::network::Conv {
            input: crate::network::Shape { h: 3, w: 3, c: 1 },
            channels: 2,
            kernel: 3,
            stride: 1,
            pad: 1,
            w: vec![1.0; 18],
        };
        let net = SpikingNet {
            layers: vec![Layer::Conv(conv), Layer::dense(18, 1, vec![0.01; 18])],
            scales: vec![1.0, 1.0],
        };
        let cfg = SimConfig {
            steps: 1,
            input: InputMode::Poisson { rate: 1.0 },
            seed: 0,
        };
        let mut px = [0u8; 9];
        px[0] = 255;
        let r = run_sample(
            &net,
            &px,
            &cfg,
            &mut sample_rng(0, 0),
            &mut SimState::default(),
        );
        assert_eq!((r.spikes_at(1, 0), r.spikes_at(1, 1)), (1, 8));
        assert_eq!(r.events_at(1), 8 + 8);
        px[0] = 0;
        px[4] = 255; // the centre reaches all 9 positions
        let r = run_sample(
            &net,
            &px,
            &cfg,
            &mut sample_rng(0, 0),
            &mut SimState::default(),
        );
        assert_eq!(r.events_at(1), 18 + 18);
    }

    /// One input -> one neuron with weight 0.25, constant current from a white pixel: the
    /// neuron integrates 0.25 per step and fires at steps 4, 8, ...
    #[test]
    fn constant_current_fires_at_the_integrated_rate() {
        let net = SpikingNet {
            layers: vec![Layer::dense(1, 1, vec![0.25])],
            scales: vec![1.0],
        };
        let cfg = SimConfig {
            steps: 12,
            input: InputMode::Current,
            seed: 0,
        };
        let r = run_sample(
            &net,
            &[255],
            &cfg,
            &mut sample_rng(0, 0),
            &mut SimState::default(),
        );
        let out: Vec<u32> = (1..=12).map(|t| r.spikes_at(t, 1)).collect();
        assert_eq!(out, vec![0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
        assert_eq!(r.spikes_at(12, 0), 0, "current input sends no spikes");
        assert_eq!(r.input_projection_macs, 1);
        assert_eq!(r.events_at(12), 0, "output spikes have no targets");
        assert_eq!(r.decision_steps(), Some(4));
    }
}
