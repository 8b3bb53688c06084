//! The Adam optimiser (Kingma & Ba 2015), per-parameter, in f32.
//!
//! ```text
//! m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
//! w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//! ```

use serde::{Deserialize, Serialize};

/// Adam's per-weight moments and step count, one buffer per parameter buffer (checkpoints
/// store it as it is).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AdamState {
    /// First moments.
    pub(crate) m: Vec<Vec<f32>>,
    /// Second moments.
    pub(crate) v: Vec<Vec<f32>>,
    /// Steps taken.
    pub(crate) t: i32,
}

impl AdamState {
    /// Zero moments for buffers of the given sizes.
    pub(crate) fn new(sizes: &[usize]) -> Self {
        AdamState {
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            t: 0,
        }
    }
}

/// The optimiser: hyper-parameters and state.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Moments and step count.
    pub(crate) state: AdamState,
    /// beta1 (0.9).
    pub(crate) b1: f32,
    /// beta2 (0.999).
    pub(crate) b2: f32,
    /// eps (1e-8).
    pub(crate) eps: f32,
}

impl Adam {
    /// State for buffers of the given sizes.
    pub fn new(sizes: &[usize]) -> Self {
        Adam::from_state(AdamState::new(sizes))
    }

    /// Continues from saved moments, with the default hyper-parameters.
    pub(crate) fn from_state(state: AdamState) -> Self {
        Adam {
            state,
            b1: 0.9,
            b2: 0.999,
            eps: 1e-8,
        }
    }

    /// Starts step `t + 1` with step size `lr`: the coefficients to apply to every buffer
    /// (whole, or in pieces) with [`AdamStep::apply`].
    pub(crate) fn next_step(&mut self, lr: f32) -> AdamStep {
        let st = &mut self.state;
        st.t += 1;
        let c1 = 1.0 - self.b1.powi(st.t);
        let c2 = 1.0 - self.b2.powi(st.t);
        AdamStep {
            b1: self.b1,
            b2: self.b2,
            eps: self.eps,
            step: lr / c1,
            inv_c2s: 1.0 / c2.sqrt(),
        }
    }

    /// One step on `params` with gradients `grads` (same shapes) and step size `lr`.
    pub(crate) fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]], lr: f32) {
        let s = self.next_step(lr);
        for (k, p) in params.iter_mut().enumerate() {
            s.apply(p, &mut self.state.m[k], &mut self.state.v[k], grads[k], 1.0);
        }
    }
}

/// The coefficients of one Adam step, from [`Adam::next_step`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    b1: f32,
    b2: f32,
    eps: f32,
    /// lr / (1 - b1^t).
    step: f32,
    /// 1 / sqrt(1 - b2^t).
    inv_c2s: f32,
}

impl AdamStep {
    /// Updates weights `p` and their moments `m`, `v` (any matching piece of a buffer) with
    /// gradient `scale * g`.
    pub(crate) fn apply(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], scale: f32) {
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            self.one(p, m, v, scale * g);
        }
    }

    /// Updates one weight `p` and its moments `m`, `v` with gradient `g` (see the module doc;
    /// `sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t)`).
    #[inline(always)]
    pub(crate) fn one(&self, p: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
        *m = self.b1 * *m + (1.0 - self.b1) * g;
        *v = self.b2 * *v + (1.0 - self.b2) * g * g;
        *p -= self.step * *m / (v.sqrt() * self.inv_c2s + self.eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic() {
        let mut w = vec![3.0f32, -2.0];
        let mut a = Adam::new(&[2]);
        for _ in 0..2000 {
            let g: Vec<f32> = w.iter().map(|x| 2.0 * x).collect();
            a.step(&mut [&mut w[..]], &[&g[..]], 0.01);
        }
        assert!(w.iter().all(|x| x.abs() < 1e-2), "{w:?}");
    }
}
