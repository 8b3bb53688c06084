//! Backward pass: gradients of the loss with respect to every weight, from a forward record.
//!
//! Owns only differentiation. It reads a [`ForwardPass`] (from the analytic solver, or rebuilt
//! from a trace of either engine) and never runs an engine.
//!
//! For neuron j of a layer with causal set C_j (the first `causal[j]` inputs in arrival order),
//! `r_ij = exp((t_i - t_j)/tau)` and `D_j = max(S_j - theta, DENOM_FLOOR)`:
//!
//! ```text
//! dt_j/dw_ji = tau (r_ij - 1) / D_j        dt_j/dt_i = w_ji r_ij / D_j       (i in C_j)
//! ```
//!
//! (the z-domain rules dz_j/dw_i = (z_i - z_j)/(S - theta), dz_j/dz_i = w_i/(S - theta) of
//! SPEC 1 under t = tau ln z). With `delta_j = dL/dt_j`, `q_j = delta_j / D_j` and
//! `h_j = q_j exp((t_ref - t_j)/tau)` this is, per input i at position k along the order,
//!
//! ```text
//! dL/dw_ji += tau (e_i h_j - q_j)  for k < causal[j],      e_i = exp((t_i - t_ref)/tau)
//! dL/dt_i  += e_i sum_{j: k < causal[j]} w_ji h_j
//! ```
//!
//! a masked matrix product, O(inputs x neurons), vectorised over neurons.

use crate::analytic::{ForwardPass, Net};
use crate::real::Real;

/// Default guard on `S - theta` in gradients (threshold units). A neuron that barely crosses
/// threshold has S - theta near 0+, and 1/(S - theta) would blow its gradients up (its spike
/// time is then extremely sensitive). Gradients use `max(S - theta, floor)`: exact for every
/// neuron with S - theta >= floor, bounded for the others. The forward pass is unchanged.
/// Training takes the floor from its settings (`TrainConfig::denom_floor`).
pub const DENOM_FLOOR: f64 = 0.01;

/// Largest `(t_j - t_ref)/tau` for which a neuron passes gradient: beyond it, exp would lose
/// all precision in f32 (and such late spikes carry no useful signal). Such neurons are
/// counted in [`BackwardStats::too_late`].
pub const GRAD_TIME_LIMIT: f64 = 60.0;

/// Counters of what the guards did during backward passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardStats {
    /// Neurons whose S - theta was below the floor.
    pub floored: u64,
    /// Neurons beyond [`GRAD_TIME_LIMIT`].
    pub too_late: u64,
}

/// Per-thread buffers for [`backward`].
#[derive(Clone, Debug, Default)]
pub struct BackScratch<F> {
    delta: Vec<Vec<F>>,
    q: Vec<F>,
    h: Vec<F>,
    c: Vec<u32>,
}

/// Accumulates dL/dw into `grads` (one input-major buffer per layer) given `dl_dt_out`
/// (dL/dt of each output neuron) and the forward record `pass` of the same weights, with
/// `denom_floor` guarding S - theta (see [`DENOM_FLOOR`]).
pub fn backward<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    grads: &mut [Vec<F>],
    denom_floor: F,
    scratch: &mut BackScratch<F>,
    stats: &mut BackwardStats,
) {
    let nl = net.layers.len();
    let tau = net.tau;
    let floor = denom_floor;
    let limit = F::of(GRAD_TIME_LIMIT);
    scratch.delta.resize_with(nl + 1, Vec::new);
    scratch.delta[nl].clear();
    scratch.delta[nl].extend_from_slice(dl_dt_out);
    for l in (0..nl).rev() {
        let (n_in, n_out, ref w) = net.layers[l];
        let order = &pass.order[l];
        let t_in = &pass.times[l];
        let t_out = &pass.times[l + 1];
        let (lower, upper) = scratch.delta.split_at_mut(l + 1);
        let d_out = &upper[0];
        let d_in = &mut lower[l];
        d_in.clear();
        d_in.resize(n_in, F::zero());
        if order.is_empty() {
            continue;
        }
        let t_ref = t_in[order[0] as usize];
        let (q, h, c) = (&mut scratch.q, &mut scratch.h, &mut scratch.c);
        q.clear();
        h.clear();
        c.clear();
        let mut max_c = 0u32;
        for j in 0..n_out {
            let cj = pass.causal[l][j];
            let late = (t_out[j] - t_ref) / tau;
            if cj == 0 || d_out[j] == F::zero() || !t_out[j].is_finite() {
                q.push(F::zero());
                h.push(F::zero());
                c.push(0);
                continue;
            }
            if late > limit {
                stats.too_late += 1;
                q.push(F::zero());
                h.push(F::zero());
                c.push(0);
                continue;
            }
            let smt = pass.s_minus_theta[l][j];
            if smt < floor {
                stats.floored += 1;
            }
            let qj = d_out[j] / smt.max(floor);
            q.push(qj);
            h.push(qj * (-late).exp());
            c.push(cj);
            max_c = max_c.max(cj);
        }
        let g = &mut grads[l];
        let need_in = l > 0;
        for (k, &i) in order.iter().enumerate().take(max_c as usize) {
            let i = i as usize;
            let e = ((t_in[i] - t_ref) / tau).exp();
            let k = k as u32;
            let row = &w[i * n_out..(i + 1) * n_out];
            let grow = &mut g[i * n_out..(i + 1) * n_out];
            let mut acc = F::zero();
            for j in 0..n_out {
                let on = k < c[j];
                let dw = tau * (e * h[j] - q[j]);
                grow[j] = grow[j] + if on { dw } else { F::zero() };
                if need_in {
                    acc = acc + if on { row[j] * h[j] } else { F::zero() };
                }
            }
            if need_in {
                d_in[i] = e * acc;
            }
        }
    }
}
