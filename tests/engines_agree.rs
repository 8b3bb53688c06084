//! The discrete-event engine against the analytic solver and the scalar reference, on random
//! networks (random depth and widths, weights of both signs, random input times with
//! deliberate ties), at the default neuron parameters and at others (see
//! `common::UNIT_CASES`), plus its bad-input errors.

mod common;

use common::{random_layers, UNIT_CASES};
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::encoding::Encoding;
use firstspike::event::{Engine, EventNet, NoRecord, RunOptions, SpikeLog};
use firstspike::model::{Model, ModelMeta};
use firstspike::neuron::{first_spike, NeuronParams};
use firstspike::simulate::{compare, VerifyReport, VERIFY_REL_TOL};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// A random layered model with parameters `p`, weights in [-0.6, 1.2) theta.
fn random_model(rng: &mut impl Rng, p: NeuronParams) -> Model {
    let depth = rng.gen_range(1..=3);
    let mut arch = vec![rng.gen_range(1..16)];
    for _ in 0..depth {
        arch.push(rng.gen_range(1..12));
    }
    Model {
        params: p,
        encoding: Encoding::default(),
        layers: random_layers(rng, &arch, -0.6 * p.theta..1.2 * p.theta),
        meta: ModelMeta::default(),
    }
}

/// Input times in [0, 2) tau, a third on a coarse grid (many ties), a sixth silent.
fn random_times(rng: &mut impl Rng, n: usize, tau: f64) -> Vec<f64> {
    (0..n)
        .map(|_| match rng.gen_range(0..6) {
            0 => f64::INFINITY,
            1 | 2 => tau * (rng.gen_range(0..4) as f64 * 0.25), // coarse grid: many ties
            _ => tau * rng.gen_range(0.0..2.0),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Same spikes, same causal sets, same decision in both engines on layered networks.
    #[test]
    fn event_engine_equals_analytic_solver(seed in any::<u64>(), units in 0..UNIT_CASES.len()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let p = UNIT_CASES[units];
        let m = random_model(&mut rng, p);
        let anet = Net::<f64>::from_model(&m);
        let enet = EventNet::from_model(&m).unwrap().compile().unwrap();
        let mut eng = Engine::new(&enet);
        let mut rep = VerifyReport { tolerance: VERIFY_REL_TOL, ..Default::default() };
        for _ in 0..5 {
            let t_in = random_times(&mut rng, m.n_inputs(), p.tau_syn);
            let mut pass = ForwardPass::default();
            forward(&anet, &t_in, &mut LayerScratch::default(), &mut pass);
            let mut log = SpikeLog::default();
            let s = eng.run(&t_in, RunOptions::default(), &mut log).unwrap();
            compare(&enet, &pass, &log, s.decision.map(|d| d.0), &mut rep);
        }
        prop_assert!(rep.agree(), "{:?}: {:?}", p, rep);
    }

    /// On general graphs (sparse, skip connections) every neuron's spike equals the scalar
    /// closed form over the inputs it actually received.
    #[test]
    fn event_engine_equals_scalar_reference_on_graphs(
        seed in any::<u64>(),
        units in 0..UNIT_CASES.len(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let p = UNIT_CASES[units];
        let (tau, theta) = (p.tau_syn, p.theta);
        let mut net = EventNet::new(p);
        let n_layers = rng.gen_range(2..5u32);
        let mut keys = Vec::new();
        let mut layer_of = Vec::new();
        for l in 0..n_layers {
            for _ in 0..rng.gen_range(1..6) {
                keys.push(net.add_neuron(l));
                layer_of.push(l);
            }
        }
        // Random synapses from any earlier layer (skip connections), ~60 % density.
        let mut syn: Vec<(usize, usize, f64)> = Vec::new();
        for a in 0..keys.len() {
            for b in 0..keys.len() {
                if layer_of[a] < layer_of[b] && rng.gen_bool(0.6) {
                    let w = theta * rng.gen_range(-0.5..1.2);
                    net.connect(keys[a], keys[b], w).unwrap();
                    syn.push((a, b, w));
                }
            }
        }
        let c = net.compile().unwrap();
        let n_in = c.n_inputs();
        let t_in = random_times(&mut rng, n_in, tau);
        let mut log = SpikeLog::default();
        Engine::new(&c).run(&t_in, RunOptions::default(), &mut log).unwrap();
        let mut ev = vec![f64::INFINITY; keys.len()];
        for &(id, t, _) in &log.spikes {
            ev[id as usize] = t; // dense ids equal insertion order here (added layer by layer)
        }
        // Reference: neurons in layer order, inputs sorted by (time, source id).
        let mut reference = vec![f64::INFINITY; keys.len()];
        reference[..n_in].copy_from_slice(&t_in);
        for b in n_in..keys.len() {
            let mut ins: Vec<(f64, usize, f64)> = syn
                .iter()
                .filter(|s| s.1 == b && reference[s.0].is_finite())
                .map(|s| (reference[s.0], s.0, s.2))
                .collect();
            ins.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap().then(x.1.cmp(&y.1)));
            let tw: Vec<(f64, f64)> = ins.iter().map(|x| (x.0, x.2)).collect();
            reference[b] = first_spike(&tw, theta, tau).map_or(f64::INFINITY, |x| x.0);
        }
        for b in n_in..keys.len() {
            let (r, e) = (reference[b], ev[b]);
            prop_assert!(
                (r.is_infinite() && e.is_infinite()) || (r - e).abs() <= VERIFY_REL_TOL * r.abs().max(tau),
                "{:?} neuron {}: reference {} event {}", p, b, r, e
            );
        }
    }
}

#[test]
fn until_decision_stops_early_with_the_same_decision() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut checked = 0;
    for k in 0..200 {
        let p = UNIT_CASES[k % UNIT_CASES.len()];
        let m = random_model(&mut rng, p);
        let enet = EventNet::from_model(&m).unwrap().compile().unwrap();
        let mut eng = Engine::new(&enet);
        let t_in = random_times(&mut rng, m.n_inputs(), p.tau_syn);
        let full = eng
            .run(&t_in, RunOptions::default(), &mut NoRecord)
            .unwrap();
        let early = eng
            .run(
                &t_in,
                RunOptions {
                    until_decision: true,
                },
                &mut NoRecord,
            )
            .unwrap();
        assert_eq!(full.decision, early.decision);
        assert_eq!(full.fired_before_decision, early.fired_before_decision);
        assert_eq!(early.fired, early.fired_before_decision);
        assert!(early.total_spikes() <= full.total_spikes());
        if full.decision.is_some() {
            checked += 1;
        }
    }
    assert!(checked > 50);
}

#[test]
fn simultaneous_spikes_pop_in_neuron_id_order() {
    for p in UNIT_CASES {
        let (tau, theta) = (p.tau_syn, p.theta);
        // Three inputs at the same time into one neuron: the record lists them by id.
        let mut net = EventNet::new(p);
        let ins: Vec<_> = (0..3).map(|_| net.add_neuron(0)).collect();
        let out = net.add_neuron(1);
        for &i in &ins {
            net.connect(i, out, 0.5 * theta).unwrap();
        }
        let c = net.compile().unwrap();
        let mut log = SpikeLog::default();
        Engine::new(&c)
            .run(&[tau, tau, tau], RunOptions::default(), &mut log)
            .unwrap();
        let ids: Vec<u32> = log.spikes.iter().map(|s| s.0).collect();
        assert_eq!(ids, vec![0, 1, 2, 3]);
        // S = 1.5 theta at t = tau: V(t) = 1.5 theta (1 - exp(-(t - tau)/tau)) reaches theta
        // at tau + tau ln(1.5 / 0.5) = tau (1 + ln 3). Tolerance: a few ulps of that time.
        let want = tau * (1.0 + 3f64.ln());
        assert!(
            (log.spikes[3].1 - want).abs() < 1e-12 * tau,
            "{p:?}: {} vs {want}",
            log.spikes[3].1
        );
        assert_eq!(log.spikes[3].2, 3);
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let m = random_model(&mut rng, NeuronParams::default());
    let c = EventNet::from_model(&m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&c);
    let n = m.n_inputs();
    let mut t = vec![0.5; n];
    t[0] = f64::NAN;
    assert!(eng
        .run(&t, RunOptions::default(), &mut NoRecord)
        .unwrap_err()
        .to_string()
        .contains("NaN"));
    t[0] = -1.0;
    assert!(eng
        .run(&t, RunOptions::default(), &mut NoRecord)
        .unwrap_err()
        .to_string()
        .contains(">= 0"));
    assert!(eng
        .run(&vec![0.5; n + 1], RunOptions::default(), &mut NoRecord)
        .is_err());
    let empty = EventNet::new(NeuronParams::default());
    assert!(empty.compile().unwrap_err().to_string().contains("empty"));
    let mut back = EventNet::new(NeuronParams::default());
    let a = back.add_neuron(1);
    let b = back.add_neuron(0);
    assert!(
        back.connect(a, b, 1.0).is_err(),
        "a backward synapse must be refused"
    );
    let mut nan_model = m.clone();
    nan_model.layers[0].weights_mut()[0] = f64::NAN;
    assert!(EventNet::from_model(&nan_model).is_err());
}
