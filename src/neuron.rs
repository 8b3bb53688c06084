//! The neuron: non-leaky integrate-and-fire with exponentially decaying synaptic current.
//!
//! Owns the closed-form first-spike time, the causal-set rule and the z-domain gradient
//! formulas, as small pure functions over a typed state. It does not own any network, queue or
//! batch logic: the analytic solver and the event engine both build on [`NeuronState`].
//!
//! # Model (time in the model's time unit, in which tau is given; potential in the unit of theta)
//!
//! ```text
//! tau dV/dt = sum_i w_i H(t - t_i) exp(-(t - t_i)/tau),   V(0) = 0
//! ```
//!
//! The factor tau on the left makes a weight a potential: an input of weight w raises V by
//! exactly w in the long run (the integral of `exp(-s/tau)/tau` is 1), whatever tau. At
//! tau = 1 this is H. Mostafa's equation as printed (he sets tau_syn = 1); written as
//! `dV/dt = sum_i w_i H(..) exp(..)` for another tau, an input would raise V by `tau w` and
//! the closed form below would not hold.
//!
//! Over a set C of inputs that have arrived, with `S = sum_C w_i` (dimensionless, threshold
//! units) and `A = sum_C w_i exp((t_i - t_ref)/tau)` (same units; `t_ref` is a reference time
//! that keeps the exponent small):
//!
//! ```text
//! V(t) = S - A exp(-(t - t_ref)/tau)                  (between inputs)
//! exp((t_out - t_ref)/tau) = A / (S - theta)          (the crossing, only if S > theta)
//! ```
//!
//! Between two inputs V is monotone (dV/dt = (A/tau) exp(..) keeps the sign of A), so the neuron
//! fires in that interval iff S > theta and the crossing comes no later than the next input.
//! **A crossing exactly at the next input's time fires at that time**, and that input is not
//! part of the causal set (the current it injects changes V only after its arrival).
//!
//! The neuron fires at most once: inputs after its first spike change nothing.

use crate::real::Real;
use serde::{Deserialize, Serialize};

/// Neuron parameters shared by every neuron of a model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronParams {
    /// Synaptic time constant tau_syn (the unit of time; default 1).
    pub tau_syn: f64,
    /// Firing threshold theta (the unit of potential; default 1).
    pub theta: f64,
}

impl Default for NeuronParams {
    fn default() -> Self {
        NeuronParams {
            tau_syn: 1.0,
            theta: 1.0,
        }
    }
}

impl NeuronParams {
    /// Checks that both parameters are finite and positive.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.tau_syn.is_finite() && self.tau_syn > 0.0) {
            return Err(format!(
                "tau_syn must be finite and > 0, got {}",
                self.tau_syn
            ));
        }
        if !(self.theta.is_finite() && self.theta > 0.0) {
            return Err(format!("theta must be finite and > 0, got {}", self.theta));
        }
        Ok(())
    }
}

/// The neuron parameters every test of a formula runs at, `(tau_syn, theta)`, in the unit
/// tests and the integration tests alike: the defaults (1, 1), where a misplaced unit cannot
/// show, then two pairs away from 1 and from each other, one with tau_syn > 1 > theta and one
/// with tau_syn < 1 < theta. A `/ tau` dropped, a tau multiplying where it should divide, or a
/// theta where a tau belongs changes the numbers at both; that the two sit on opposite sides
/// of 1 keeps such errors from cancelling. For tests, not part of the API.
#[doc(hidden)]
pub const UNIT_CASES: [NeuronParams; 3] = [
    NeuronParams {
        tau_syn: 1.0,
        theta: 1.0,
    },
    NeuronParams {
        tau_syn: 2.5,
        theta: 0.7,
    },
    NeuronParams {
        tau_syn: 0.4,
        theta: 1.8,
    },
];

/// Closed-form crossing in the z domain: `z_out = A / (S - theta)` if `S > theta`, else `None`
/// (V tends to S <= theta and never crosses in this interval). Dimensionless; z is relative to
/// the reference time of `A`.
#[inline(always)]
pub(crate) fn crossing_z<F: Real>(s: F, a: F, theta: F) -> Option<F> {
    if s > theta {
        Some(a / (s - theta))
    } else {
        None
    }
}

/// Converts a z value relative to `t_ref` into a time: `t = t_ref + tau ln z` (units of tau).
#[inline(always)]
pub(crate) fn z_to_time<F: Real>(t_ref: F, z: F, tau: F) -> F {
    t_ref + tau * z.ln()
}

/// The arrival of an input at `t` for sums of reference time `t_ref`: the exponent
/// `x = (t - t_ref)/tau` (dimensionless) and, when `x > REBASE_LIMIT`, the factor `exp(-x)`
/// that rebases `A` to `t_ref = t` (after which the input's exponent is 0).
///
/// Every engine and kernel computes an input's exponent and rebase here, so that they round
/// alike.
#[inline(always)]
pub(crate) fn arrival<F: Real>(t: F, t_ref: F, tau: F) -> (F, Option<F>) {
    let x = (t - t_ref) / tau;
    (x, (x > F::REBASE_LIMIT).then(|| (-x).exp()))
}

/// Integrates an input of weight `w` (threshold units) whose `exp((t - t_ref)/tau)` is `e`:
/// `S <- S + w`, `A <- A + w e`. The same operation lane by lane in every sweep.
#[inline(always)]
pub(crate) fn integrate<F: Real>(s: &mut F, a: &mut F, w: F, e: F) {
    *s = *s + w;
    *a = *a + w * e;
}

/// The crossing time of a neuron with sums `s > theta` and `a` (reference time `t_ref`):
/// `max(t_ref + tau ln(A / (S - theta)), t_last)`, in units of tau, where `t_last` is the
/// last integrated input's time (the `max` only absorbs rounding: V was below theta then).
///
/// The only place where a spike time is computed from the sums: [`NeuronState::on_input`],
/// the analytic sweeps (dense, its AVX-512 kernel, convolutions) and the event engine all
/// call it.
#[inline(always)]
pub(crate) fn crossing_time<F: Real>(s: F, a: F, theta: F, t_ref: F, tau: F, t_last: F) -> F {
    z_to_time(t_ref, a / (s - theta), tau).max(t_last)
}

/// The factor of the test without `ln` ([`provably_later`]) at a time `T`, from
/// `e = exp((T - t_ref)/tau)`:
///
/// ```text
/// e k(T),   k(T) = 1 + TIE_MARGIN + 4 eps (|T| + |t_ref|)/tau
/// ```
///
/// The margin k covers the rounding of every operation on both sides of the test (the exp
/// and the products) and of the crossing (division, ln, product and sum: a few ulps of z),
/// plus the ulps of the absolute times `T` and `t_ref` relative to tau.
#[inline(always)]
pub(crate) fn bound_factor<F: Real>(e: F, t: F, t_ref: F, tau: F) -> F {
    let four = F::of(4.0);
    e * (F::one() + F::TIE_MARGIN + four * F::epsilon() * (t.abs() + t_ref.abs()) / tau)
}

/// The test without `ln`: `A > ek (S - theta)` with `ek` from [`bound_factor`] at `T` and
/// `d = S - theta > 0`. True when the crossing [`crossing_time`] would compute is provably
/// later than `T`; false when in doubt, NaN included (the crossing is then computed).
#[inline(always)]
pub(crate) fn provably_later<F: Real>(a: F, ek: F, d: F) -> bool {
    a > ek * d
}

/// The candidate test of the dense sweeps against the next input's `zc = z_next (1 +
/// TIE_MARGIN)`: `S > theta` and `A <= zc (S - theta)`, i.e. the crossing may come no later
/// than that input (it is then decided exactly with [`crossing_time`]). Branch-free, so that
/// it vectorises; the AVX-512 kernel does the same comparison lane-wise.
#[inline(always)]
pub(crate) fn may_cross_by<F: Real>(s: F, a: F, theta: F, zc: F) -> bool {
    (s > theta) & (a <= zc * (s - theta))
}

/// What happened when an input reached a neuron.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputOutcome<F> {
    /// The neuron's pending spike comes no later than this input (or it already fired): the
    /// input is not integrated. The pending spike stands.
    Ignored,
    /// The input was integrated; the new predicted first spike (or `None`: not on its own).
    Integrated(Option<F>),
}

/// Running state of one neuron: `S`, `A` (relative to `t_ref`), and its pending prediction.
///
/// One operation, [`NeuronState::on_input`], advances it; both engines use it so that their
/// arithmetic is the same operation for operation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NeuronState<F> {
    /// S = sum of the weights integrated so far (threshold units).
    pub s: F,
    /// A = sum of w_i exp((t_i - t_ref)/tau) over the inputs integrated so far.
    pub a: F,
    /// Reference time of `a` (time of the first input, moved forward by rebasing).
    pub t_ref: F,
    /// Number of inputs integrated (the causal set's size once the neuron fires).
    pub n_in: u32,
    /// Predicted crossing as z relative to `t_ref`, if `S > theta`.
    pub pred_z: Option<F>,
    /// Predicted first-spike time `t_ref + tau ln(pred_z)`.
    pub pred_t: Option<F>,
}

impl<F: Real> NeuronState<F> {
    /// A neuron that has received nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// An input of weight `w` arrives at time `t` (inputs must arrive in non-decreasing time).
    ///
    /// If a spike is pending at `pred_t <= t` the input is ignored: the neuron fires at
    /// `pred_t`. Otherwise `S += w`, `A += w exp((t - t_ref)/tau)` and the crossing is
    /// re-predicted. When `(t - t_ref)/tau` exceeds [`Real::REBASE_LIMIT`], `A` is first
    /// rebased to `t_ref = t` (multiplied by `exp(-(t - t_ref)/tau)`), so z never overflows.
    #[inline]
    pub fn on_input(&mut self, t: F, w: F, theta: F, tau: F) -> InputOutcome<F> {
        if let Some(p) = self.pred_t {
            if p <= t {
                return InputOutcome::Ignored;
            }
        }
        if self.n_in == 0 {
            self.t_ref = t;
        }
        let (mut x, rebase) = arrival(t, self.t_ref, tau);
        if let Some(r) = rebase {
            self.a = self.a * r;
            self.t_ref = t;
            x = F::zero();
        }
        debug_assert!(x >= F::zero(), "inputs must arrive in time order");
        integrate(&mut self.s, &mut self.a, w, x.exp());
        self.n_in += 1;
        self.pred_z = crossing_z(self.s, self.a, theta);
        // The crossing comes after this input (V is continuous and was below theta); `max`
        // only absorbs rounding, so that a spike is never predicted before its last input.
        self.pred_t =
            (self.s > theta).then(|| crossing_time(self.s, self.a, theta, self.t_ref, tau, t));
        InputOutcome::Integrated(self.pred_t)
    }
}

/// First spike of one neuron over inputs `(t_i, w_i)` sorted by time (ties in any fixed order).
///
/// The causal-set rule: take the first k inputs for k = 1..N and accept the first k with
/// `S_k > theta` and crossing no later than input k+1 (or k = N). Returns the spike time and
/// k (the causal set's size), or `None` when the neuron never fires. Exact for weights of any
/// sign. O(N). This is the scalar reference; the batched solver does the same per layer.
pub fn first_spike<F: Real>(inputs: &[(F, F)], theta: F, tau: F) -> Option<(F, usize)> {
    let mut st = NeuronState::<F>::new();
    for &(t, w) in inputs {
        if st.on_input(t, w, theta, tau) == InputOutcome::Ignored {
            break;
        }
    }
    st.pred_t.map(|t| (t, st.n_in as usize))
}

/// z-domain gradients of one neuron's spike for a fixed causal set C:
///
/// ```text
/// dz_out/dz_i = w_i / (S - theta)          dz_out/dw_i = (z_i - z_out) / (S - theta)
/// ```
///
/// In the time domain (t = tau ln z), with `r_i = z_i / z_out = exp((t_i - t_out)/tau)`:
///
/// ```text
/// dt_out/dt_i = w_i r_i / (S - theta)      dt_out/dw_i = tau (r_i - 1) / (S - theta)
/// ```
///
/// Returns `(dt_out/dt_i, dt_out/dw_i)` for one input `i` of C. `s_minus_theta` must be > 0
/// (the neuron fired); callers guard its size (see [`crate::grad::DENOM_FLOOR`]).
#[inline]
pub fn time_gradients(w_i: f64, t_i: f64, t_out: f64, s_minus_theta: f64, tau: f64) -> (f64, f64) {
    let r = ((t_i - t_out) / tau).exp();
    (w_i * r / s_minus_theta, tau * (r - 1.0) / s_minus_theta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_input_above_threshold_fires_at_closed_form() {
        // One input of weight 2 at t = 0: V(t) = 2 (1 - e^-t) = 1 at t = ln 2.
        let (t, k) = first_spike(&[(0.0f64, 2.0)], 1.0, 1.0).unwrap();
        assert!((t - 2f64.ln()).abs() < 1e-15);
        assert_eq!(k, 1);
    }

    #[test]
    fn no_inputs_never_fires() {
        assert_eq!(first_spike::<f64>(&[], 1.0, 1.0), None);
    }

    #[test]
    fn weight_equal_to_threshold_never_fires() {
        // S = theta: V tends to theta but never reaches it.
        assert_eq!(first_spike(&[(0.0f64, 1.0)], 1.0, 1.0), None);
    }

    #[test]
    fn inputs_after_the_spike_are_ignored() {
        let alone = first_spike(&[(0.0f64, 2.0)], 1.0, 1.0).unwrap();
        let with_late = first_spike(&[(0.0f64, 2.0), (5.0, -10.0)], 1.0, 1.0).unwrap();
        assert_eq!(alone, with_late);
    }

    #[test]
    fn negative_weight_delays_the_spike() {
        let alone = first_spike(&[(0.0f64, 2.0)], 1.0, 1.0).unwrap().0;
        let delayed = first_spike(&[(0.0f64, 2.0), (0.1, -0.5)], 1.0, 1.0).unwrap();
        assert!(delayed.0 > alone);
        assert_eq!(delayed.1, 2);
    }

    #[test]
    fn negative_weight_can_cancel_the_spike() {
        assert_eq!(first_spike(&[(0.0f64, 2.0), (0.1, -1.5)], 1.0, 1.0), None);
    }

    #[test]
    fn simultaneous_inputs_act_together() {
        // Two 0.6 inputs at once: S = 1.2, crossing at ln(1.2/0.2) = ln 6.
        let (t, k) = first_spike(&[(0.0f64, 0.6), (0.0, 0.6)], 1.0, 1.0).unwrap();
        assert!((t - 6f64.ln()).abs() < 1e-14);
        assert_eq!(k, 2);
    }

    #[test]
    fn crossing_exactly_at_next_input_fires_then() {
        // w = 2 at t = 0 crosses at ln 2; an inhibitory input exactly at ln 2 is too late.
        let t1 = 2f64.ln();
        let (t, k) = first_spike(&[(0.0f64, 2.0), (t1, -5.0)], 1.0, 1.0).unwrap();
        assert_eq!(k, 1);
        assert!((t - t1).abs() < 1e-15);
    }

    #[test]
    fn rebasing_keeps_late_inputs_finite() {
        // Inputs 1000 tau apart would overflow exp without rebasing.
        let (t, k) = first_spike(&[(0.0f64, 0.5), (1000.0, 0.5), (1000.0, 1.0)], 1.0, 1.0).unwrap();
        assert_eq!(k, 3);
        // After 1000 tau the first input's current is gone: A ~ 1.5 at t_ref = 1000, S = 2.
        assert!((t - (1000.0 + 1.5f64.ln())).abs() < 1e-9, "t = {t}");
    }

    /// Tolerance, relative to tau, between two f64 evaluations of one closed form.
    const ULPS_TOL: f64 = 1e-14;

    /// One input of weight w > theta at t_0: `V(t) = w (1 - exp(-(t - t_0)/tau))` reaches
    /// theta at `t_0 + tau ln(w / (w - theta))`, at every parameter set.
    #[test]
    fn single_input_fires_at_the_closed_form_in_any_units() {
        for p in UNIT_CASES {
            let (tau, theta) = (p.tau_syn, p.theta);
            let (t0, w) = (0.3 * tau, 2.0 * theta);
            let (t, k) = first_spike(&[(t0, w)], theta, tau).unwrap();
            let want = t0 + tau * (w / (w - theta)).ln();
            // The same formula in another order of operations: a few ulps of t ~ tau.
            assert!((t - want).abs() < ULPS_TOL * tau, "{p:?}: {t} vs {want}");
            assert_eq!(k, 1);
            // Weight exactly theta: V tends to theta and never reaches it.
            assert_eq!(first_spike(&[(t0, theta)], theta, tau), None, "{p:?}");
        }
    }

    /// Step of the finite differences (weights in theta, times in tau: relative step 1e-6).
    const FD_STEP: f64 = 1e-6;
    /// Tolerance of those differences, relative to the size of the derivative: the central
    /// difference errs by ~FD_STEP^2 times the third derivative (~1e-12 here) plus rounding
    /// ~1e-16 / FD_STEP = 1e-10; 1e-6 leaves room and still sees a factor tau or theta off.
    const FD_TOL: f64 = 1e-6;

    #[test]
    fn time_gradients_match_finite_differences() {
        for p in UNIT_CASES {
            let (tau, theta) = (p.tau_syn, p.theta);
            let ins = [(0.0f64, 0.7 * theta), (0.3 * tau, 0.9 * theta)];
            let (t, _) = first_spike(&ins, theta, tau).unwrap();
            let s = 1.6 * theta - theta;
            let spike = |x: &[(f64, f64); 2]| first_spike(x, theta, tau).unwrap().0;
            for i in 0..2 {
                let (dti, dwi) = time_gradients(ins[i].1, ins[i].0, t, s, tau);
                let h = FD_STEP * theta;
                let (mut pl, mut mi) = (ins, ins);
                pl[i].1 += h;
                mi[i].1 -= h;
                let fd = (spike(&pl) - spike(&mi)) / (2.0 * h);
                assert!(
                    (fd - dwi).abs() < FD_TOL * dwi.abs().max(1.0),
                    "{p:?} dw {i}: {fd} vs {dwi}"
                );
                let h = FD_STEP * tau;
                let (mut pl, mut mi) = (ins, ins);
                pl[i].0 += h;
                mi[i].0 -= h;
                let fd = (spike(&pl) - spike(&mi)) / (2.0 * h);
                assert!(
                    (fd - dti).abs() < FD_TOL * dti.abs().max(1.0),
                    "{p:?} dt {i}: {fd} vs {dti}"
                );
            }
        }
    }
}
