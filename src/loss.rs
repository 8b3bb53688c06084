// Longer than 600 lines on purpose: one concern, the loss terms on output spike times with
// their gradients (about 450 lines), and beside them the tests that check each gradient
// against finite differences at every unit case (about 390 lines).
//! The training loss on output spike times and the weight costs.
//!
//! Owns formulas only: no network, no optimiser.

use serde::{Deserialize, Serialize};

/// What the loss's softmax is taken over, and from where times are measured.
///
/// The paper's loss is a softmax over `-z`, `z = exp(t/tau)` of each output spike (the first
/// three variants). It is invariant to adding a constant to z but not to scaling it, and
/// shifting the time origin by d scales z by exp(-d/tau): the origin sets the softmax's
/// temperature, `exp(t_0/tau)` relative to [`LossOrigin::Input`]. The last variant,
/// [`LossOrigin::Time`], replaces z by the spike time itself (a softmax over `-t/(T tau)`),
/// which needs no origin at all.
///
/// On the command line and in Python: `input`, `first-output`, a number (a fixed origin in
/// units of tau_syn, [`LossOrigin::At`]), or `time:T` ([`LossOrigin::Time`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LossOrigin {
    /// `z_k = exp(t_k/tau)`, t from the start of the input window (the paper's loss as written). Late
    /// outputs give huge z, so the softmax saturates into a margin-free hinge.
    Input,
    /// `z_k = exp((t_k - t_first)/tau)`, t_first the earliest output spike: the first output
    /// has z = 1 whatever the absolute timing. The dependence of t_first on the weights is
    /// differentiated too.
    FirstOutput,
    /// `z_k = exp((t_k - t_0)/tau)` with a fixed `t_0 = x tau` (x, the value held, in units of
    /// tau_syn; training accepts |x| <= `train::MAX_LOSS_ORIGIN`). `At(0.0)` is `Input`; a
    /// later origin divides every z by `exp(x)`, a softmax `exp(x)` times warmer, whose loss
    /// keeps pushing the target's lead in time further before it saturates (a negative x, a
    /// colder one).
    At(f64),
    /// A softmax over `-t_k / (T tau)`, the spike times themselves with a temperature of T
    /// tau_syn (T, the value held; training accepts T in `train::LOSS_TEMPERATURES`):
    /// `L = (t_g - t_min)/(T tau) + ln sum_k exp(-(t_k - t_min)/(T tau))`. Unlike the z
    /// losses, whose gradient grows as `exp(t/tau)` with the outputs' lateness, its gradient
    /// `dL/dt_k = ([k = g] - p_k)/(T tau)` is at most `1/(T tau)` in size for any sample, and
    /// it keeps pushing until the target leads by a few T tau. Invariant to moving every
    /// output spike by the same time.
    Time(f64),
}

impl std::fmt::Display for LossOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LossOrigin::Input => f.write_str("input"),
            LossOrigin::FirstOutput => f.write_str("first-output"),
            LossOrigin::At(x) => write!(f, "{x}"),
            LossOrigin::Time(x) => write!(f, "time:{x}"),
        }
    }
}

impl std::str::FromStr for LossOrigin {
    type Err = String;

    /// `input`, `first-output` (any case), a finite number of tau_syn, or `time:T` with T a
    /// positive finite number of tau_syn.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        if let Some(t) = lower.strip_prefix("time:") {
            return match t.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(LossOrigin::Time(x)),
                _ => Err(format!(
                    "time:T needs a temperature T > 0 in units of tau_syn (e.g. time:0.2), got {s:?}"
                )),
            };
        }
        match lower.as_str() {
            "input" => Ok(LossOrigin::Input),
            "first-output" | "first_output" => Ok(LossOrigin::FirstOutput),
            other => match other.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(LossOrigin::At(x)),
                _ => Err(format!(
                    "expected input, first-output, a finite time in units of tau_syn (e.g. 1.5) or time:T (e.g. time:0.2), got {s:?}"
                )),
            },
        }
    }
}

/// Softmax cross-entropy over `-z` of the outputs, with `z_k = exp((t_k - t_0)/tau)` (t in
/// the units of tau; `t_0` from `origin`):
///
/// ```text
/// L = -ln( exp(-z_g) / sum_k exp(-z_k) ) = z_g - m + ln sum_k exp(-(z_k - m)),  m = min_k z_k
/// dL/dz_k = [k = g] - p_k,    p_k = softmax(-z)_k
/// dL/dt_k = dL/dz_k * z_k / tau        (and, for FirstOutput, dL/dt_first -= sum of them all)
/// ```
///
/// or, for [`LossOrigin::Time`] with temperature `T tau` (units of time), over `-t/(T tau)`:
///
/// ```text
/// L = (t_g - m)/(T tau) + ln sum_k exp(-(t_k - m)/(T tau)),  m = min_k t_k
/// dL/dt_k = ([k = g] - p_k) / (T tau),   p_k = softmax(-t/(T tau))_k
/// ```
///
/// Outputs that never fire have z = +inf (t = +inf), p = 0 and no gradient. If the target `g` never fires
/// the loss is infinite: the sample is an error, `None` is returned, and it gives no gradient
/// (the weight-sum cost is what keeps neurons able to fire).
///
/// Writes dL/dt into `dl_dt` (length = outputs) and returns the loss. Computed in f64.
pub fn output_loss(
    t_out: &[f64],
    target: usize,
    tau: f64,
    origin: LossOrigin,
    dl_dt: &mut [f64],
) -> Option<f64> {
    dl_dt.iter_mut().for_each(|g| *g = 0.0);
    if !t_out[target].is_finite() {
        return None;
    }
    let first = crate::pass::argmin_finite(t_out).expect("the target fired");
    // The origin t_0 of z (units of time, as t_out); the time softmax has no z.
    let t0 = match origin {
        LossOrigin::Input => 0.0,
        LossOrigin::FirstOutput => t_out[first],
        LossOrigin::At(x) => x * tau,
        LossOrigin::Time(temperature) => {
            let temp = temperature * tau;
            return Some(time_softmax_loss(t_out, target, t_out[first], temp, dl_dt));
        }
    };
    let z: Vec<f64> = t_out.iter().map(|&t| ((t - t0) / tau).exp()).collect();
    let m = z.iter().copied().fold(f64::INFINITY, f64::min);
    let e: Vec<f64> = z
        .iter()
        .map(|&zk| {
            if zk.is_finite() {
                (-(zk - m)).exp()
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = e.iter().sum();
    let loss = z[target] - m + sum.ln();
    let mut total = 0.0;
    for k in 0..t_out.len() {
        if z[k].is_finite() {
            let p = e[k] / sum;
            let dz = if k == target { 1.0 - p } else { -p };
            dl_dt[k] = dz * z[k] / tau;
            total += dl_dt[k];
        }
    }
    if origin == LossOrigin::FirstOutput {
        dl_dt[first] -= total;
    }
    Some(loss)
}

/// The cost of a late decision: the label's output spike time, in units of tau_syn, times a
/// weight `w` (a linear form of the time cost of Göltz et al., "Fast and energy-efficient
/// neuromorphic deep learning with first-spike times", Nature Machine Intelligence 2021, who
/// use `w (exp(t_g/(beta tau)) - 1)`):
///
/// ```text
/// L_decision = w t_g / tau          (dimensionless, like the loss: nats)
/// dL_decision/dt_g = w / tau        (per unit of time; 0 for every other output)
/// ```
///
/// The softmax losses see only the outputs' relative times ([`LossOrigin::Time`] and
/// [`LossOrigin::FirstOutput`] exactly, the others nearly), so nothing else in training
/// rewards a decision that comes early, after fewer input and hidden spikes. The input spikes
/// start at t = 0, so `t_g >= 0` and the cost is never negative.
///
/// Adds dL/dt to `dl_dt[target]` (it does not clear `dl_dt`) and returns the cost; a target
/// that never fired (`t_g = inf`) gets neither (the sample has no loss, as in
/// [`output_loss`]). `w >= 0` (the trainer checks it once).
pub fn decision_cost(t_out: &[f64], target: usize, tau: f64, w: f64, dl_dt: &mut [f64]) -> f64 {
    let t = t_out[target];
    if w == 0.0 || !t.is_finite() {
        return 0.0;
    }
    dl_dt[target] += w / tau;
    w * t / tau
}

/// Knowledge distillation ([`distill_loss`]): the teacher's softened probabilities for one
/// sample, the mixing weight and the temperature.
#[derive(Clone, Copy, Debug)]
pub struct DistillTerm<'a> {
    /// The teacher's logits for the sample (one per output).
    pub teacher: &'a [f64],
    /// Weight `a` in [0, 1] of the distillation term; `1 - a` goes to the first-spike loss.
    pub weight: f64,
    /// Temperature `T` > 0 of both softmaxes of the distillation term.
    pub temperature: f64,
}

/// The student's logits as the first-spike loss sees them, for `origin`: `s_k = -z_k`,
/// `z_k = exp((t_k - t_0)/tau)` for the z losses, `s_k = -(t_k - m)/(T_time tau)` for
/// [`LossOrigin::Time`] (m the earliest output; a softmax does not see the shift). Silent
/// outputs get `-inf`. Also returns `ds_k/dt_k` per output, and the index of the earliest
/// output when the origin moves with it ([`LossOrigin::FirstOutput`]: `ds_k/dt_first =
/// -ds_k/dt_k`).
fn student_logits(
    t_out: &[f64],
    tau: f64,
    origin: LossOrigin,
) -> (Vec<f64>, Vec<f64>, Option<usize>) {
    let first = crate::pass::argmin_finite(t_out);
    let m = first.map_or(0.0, |f| t_out[f]);
    let (t0, moving) = match origin {
        LossOrigin::Input => (0.0, None),
        LossOrigin::FirstOutput => (m, first),
        LossOrigin::At(x) => (x * tau, None),
        LossOrigin::Time(temperature) => {
            let temp = temperature * tau;
            let s = t_out
                .iter()
                .map(|&t| {
                    if t.is_finite() {
                        -(t - m) / temp
                    } else {
                        f64::NEG_INFINITY
                    }
                })
                .collect();
            let ds = t_out
                .iter()
                .map(|&t| if t.is_finite() { -1.0 / temp } else { 0.0 })
                .collect();
            return (s, ds, None);
        }
    };
    let z: Vec<f64> = t_out.iter().map(|&t| ((t - t0) / tau).exp()).collect();
    let s = z
        .iter()
        .map(|&zk| {
            if zk.is_finite() {
                -zk
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let ds = z
        .iter()
        .map(|&zk| if zk.is_finite() { -zk / tau } else { 0.0 })
        .collect();
    (s, ds, moving)
}

/// The first-spike loss mixed with knowledge distillation from a teacher's logits `u`:
///
/// ```text
/// L = (1 - a) CE(s, g) + a T^2 KL( softmax(u/T) || softmax(s/T) )
/// dL_KD/ds_k = a T (q_k - p_k),   p = softmax(u/T), q = softmax(s/T)
/// ```
///
/// with `CE` the loss of [`output_loss`] for `origin` and `s` the student's logits that loss
/// takes its softmax over (`-z`, or `-t/(T_time tau)` for [`LossOrigin::Time`]); the
/// gradient goes to the spike times through `ds/dt` (and, for [`LossOrigin::FirstOutput`],
/// through the earliest output's time, which sets every z). Outputs that never fire have no
/// logit: the teacher's distribution is renormalised over the outputs that fired, which get
/// all the gradient (as in the cross-entropy, a silent output gets none). A sample whose
/// target never fires has no loss (`None`), as in [`output_loss`].
///
/// Writes dL/dt into `dl_dt` and returns the loss. The teacher row must have one finite logit
/// per output and `a` in [0, 1], `T` > 0 (the trainer checks them once, when it loads them).
pub fn distill_loss(
    t_out: &[f64],
    target: usize,
    tau: f64,
    origin: LossOrigin,
    kd: DistillTerm,
    dl_dt: &mut [f64],
) -> Option<f64> {
    let ce = output_loss(t_out, target, tau, origin, dl_dt)?;
    let (a, temp) = (kd.weight, kd.temperature);
    dl_dt.iter_mut().for_each(|g| *g *= 1.0 - a);
    let (s, ds, moving) = student_logits(t_out, tau, origin);
    let fired: Vec<usize> = (0..t_out.len()).filter(|&k| s[k].is_finite()).collect();
    let softmax = |x: &dyn Fn(usize) -> f64| {
        let mx = fired
            .iter()
            .map(|&k| x(k))
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = fired.iter().map(|&k| (x(k) - mx).exp()).collect();
        let sum: f64 = e.iter().sum();
        let logp: Vec<f64> = fired.iter().map(|&k| x(k) - mx - sum.ln()).collect();
        logp
    };
    let log_p = softmax(&|k| kd.teacher[k] / temp);
    let log_q = softmax(&|k| s[k] / temp);
    let mut kl = 0.0;
    let mut total = 0.0;
    for (i, &k) in fired.iter().enumerate() {
        let p = log_p[i].exp();
        if p > 0.0 {
            kl += p * (log_p[i] - log_q[i]);
        }
        let g = a * temp * (log_q[i].exp() - p) * ds[k];
        dl_dt[k] += g;
        total += g;
    }
    if let Some(f) = moving {
        dl_dt[f] -= total;
    }
    Some((1.0 - a) * ce + a * temp * temp * kl)
}

/// The loss of [`LossOrigin::Time`] (see [`output_loss`]): `m` the earliest output time,
/// `temp` the temperature in units of time. Writes dL/dt into `dl_dt`.
fn time_softmax_loss(t_out: &[f64], target: usize, m: f64, temp: f64, dl_dt: &mut [f64]) -> f64 {
    let e: Vec<f64> = t_out
        .iter()
        .map(|&t| {
            if t.is_finite() {
                (-(t - m) / temp).exp()
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = e.iter().sum();
    for k in 0..t_out.len() {
        if t_out[k].is_finite() {
            let p = e[k] / sum;
            dl_dt[k] = (if k == target { 1.0 - p } else { -p }) / temp;
        }
    }
    (t_out[target] - m) / temp + sum.ln()
}

/// Gain control: a penalty that holds each neuron's `d = S - theta` at its crossing (its gain
/// is `1/d`, see `crate::train::gain`) inside a band `[low, high]`, in log space.
///
/// Per firing neuron (potentials in the unit of theta, like `d` and the gradient floor):
///
/// ```text
/// phi(d) = (ln low - ln d)^2     for knee <= d < low
///        = 0                     for low <= d <= high
///        = (ln d - ln high)^2    for d > high
///        = phi(knee) + phi'(knee) (d - knee)     for d < knee
/// ```
///
/// with `knee` the training's gradient floor (`TrainConfig::denom_floor`, < low): below it
/// the penalty goes on as its tangent line, so that its slope, `-2 ln(low/knee)/knee` there,
/// stays bounded for a neuron that barely crosses threshold (the log's slope `2 ln(low/d)/d`
/// grows without bound as d -> 0). `phi` is continuously differentiable and its slope
/// `phi'(d)` (per unit of potential) is exact everywhere: it is what the gradient uses.
///
/// The training term is `L_gain = weight sum_l (1/N_l) sum_{j in layer l, fired} phi(d_j)`
/// per sample (`N_l` the layer's neurons, silent ones counting 0): the mean penalty of each
/// layer, summed over the layers, times `weight`. Over a fixed causal set C_j,
/// `d_j = sum_{i in C_j} w_ji - theta` does not depend on the input times, so
/// `dL_gain/dw_ji = weight phi'(d_j) / N_l` for every `i` in C_j, and nothing flows to the
/// layers below (see `crate::grad`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainPenalty {
    /// Lower edge of the band (potential units), > `knee`.
    pub low: f64,
    /// Upper edge of the band (potential units), > `low`.
    pub high: f64,
    /// Where the log penalty gives way to its tangent line: the gradient floor.
    pub knee: f64,
    /// The penalty's weight (per layer mean, dimensionless: the loss is in nats).
    pub weight: f64,
}

impl GainPenalty {
    /// `(phi(d), phi'(d))` of one neuron (see the type's description); `phi'` per unit of
    /// potential.
    pub fn phi(&self, d: f64) -> (f64, f64) {
        if d < self.knee {
            let (v, s) = self.log_phi(self.knee);
            return (v + s * (d - self.knee), s);
        }
        self.log_phi(d)
    }

    /// The log part, for `d >= knee > 0`.
    fn log_phi(&self, d: f64) -> (f64, f64) {
        if d < self.low {
            let u = (self.low / d).ln();
            (u * u, -2.0 * u / d)
        } else if d > self.high {
            let u = (d / self.high).ln();
            (u * u, 2.0 * u / d)
        } else {
            (0.0, 0.0)
        }
    }

    /// The penalty of one sample's forward record: `weight sum_l mean_j phi(d_j)` over the
    /// neurons that fired (`times[l + 1]` finite), `s_minus_theta[l]` their `d`. (The
    /// gradient leaves out neurons more than 60 tau_syn after the layer's first input, as it
    /// does for the loss.)
    pub fn of_pass<F: crate::real::Real>(&self, pass: &crate::pass::ForwardPass<F>) -> f64 {
        let mut total = 0.0;
        for (l, smt) in pass.s_minus_theta.iter().enumerate() {
            let t = &pass.times[l + 1];
            let sum: f64 = t
                .iter()
                .zip(smt)
                .filter(|(t, _)| t.is_finite())
                .map(|(_, &d)| self.phi(d.f64()).0)
                .sum();
            total += sum / smt.len().max(1) as f64;
        }
        self.weight * total
    }
}

/// Weight-sum cost of one layer, `K sum_j max(0, theta - sum_i w_ji)`, which keeps every
/// neuron's total input weight above threshold so that it can fire; plus an L2 term
/// `(lambda/2) sum w^2`. Adds its gradient to `grad` (same input-major layout as `w`) and
/// returns the cost.
pub fn weight_costs(
    w: &[f32],
    n_in: usize,
    n_out: usize,
    theta: f32,
    k: f32,
    l2: f32,
    grad: &mut [f32],
) -> f64 {
    let mut sums = vec![0.0f32; n_out];
    for i in 0..n_in {
        for (s, &x) in sums.iter_mut().zip(&w[i * n_out..(i + 1) * n_out]) {
            *s += x;
        }
    }
    let mut cost: f64 = sums
        .iter()
        .map(|&s| (k * (theta - s)).max(0.0) as f64)
        .sum();
    let deficit: Vec<f32> = sums
        .iter()
        .map(|&s| if s < theta { k } else { 0.0 })
        .collect();
    for i in 0..n_in {
        let row = &w[i * n_out..(i + 1) * n_out];
        let g = &mut grad[i * n_out..(i + 1) * n_out];
        for j in 0..n_out {
            g[j] += l2 * row[j] - deficit[j];
            cost += 0.5 * (l2 * row[j] * row[j]) as f64;
        }
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::UNIT_CASES;

    /// Finite-difference step, relative to tau (times) or theta (weights).
    const FD_STEP: f64 = 1e-7;
    /// Tolerance of the finite differences, relative to max(1, |derivative|): the central
    /// difference errs by ~FD_STEP^2 (curvature) plus ~1e-16 / FD_STEP = 1e-9 (rounding).
    const FD_TOL: f64 = 1e-6;
    /// Every kind of loss origin, as the gradient tests sweep them.
    const ORIGINS: [LossOrigin; 4] = [
        LossOrigin::Input,
        LossOrigin::FirstOutput,
        LossOrigin::At(0.8),
        LossOrigin::Time(0.3),
    ];
    /// Output times of the gradient tests: three outputs that fire, the last silent.
    fn times(tau: f64) -> [f64; 4] {
        [0.7 * tau, 1.3 * tau, 0.9 * tau, f64::INFINITY]
    }

    /// Asserts that `g` is dL/dt of `loss` at `t` against central differences, for every
    /// output that fired, and that the silent last output has no gradient.
    fn assert_fd(t: [f64; 4], tau: f64, g: &[f64; 4], loss: impl Fn(&[f64; 4]) -> f64, case: &str) {
        let h = FD_STEP * tau;
        for k in 0..3 {
            let (mut pl, mut mi) = (t, t);
            pl[k] += h;
            mi[k] -= h;
            let fd = (loss(&pl) - loss(&mi)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < FD_TOL * fd.abs().max(1.0),
                "{case} output {k}: {fd} vs {}",
                g[k]
            );
        }
        assert_eq!(g[3], 0.0, "{case}");
    }

    /// dL/dt of every kind of loss origin against central differences, at every tau:
    /// z = exp(t/tau) gives dL/dt = dL/dz z / tau, so a tau missing or misplaced shows unless
    /// tau = 1.
    #[test]
    fn loss_gradient_matches_finite_differences() {
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            for origin in ORIGINS {
                let t = times(tau);
                let mut g = [0.0; 4];
                let l = output_loss(&t, 2, tau, origin, &mut g).unwrap();
                assert!(l > 0.0);
                let loss = |t: &[f64; 4]| output_loss(t, 2, tau, origin, &mut [0.0; 4]).unwrap();
                assert_fd(t, tau, &g, loss, &format!("{p:?} {origin:?}"));
            }
        }
    }

    /// The loss with the decision cost: dL/dt of the sum against central differences, for
    /// every kind of origin and tau, with a silent output (no gradient) and a silent target
    /// (no cost); the cost moves only the target's derivative, by w / tau.
    #[test]
    fn decision_cost_gradient_matches_finite_differences() {
        let total = |t: &[f64; 4], w: f64, tau: f64, origin: LossOrigin, g: &mut [f64; 4]| {
            let l = output_loss(t, 2, tau, origin, g).unwrap();
            l + decision_cost(t, 2, tau, w, g)
        };
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            for origin in ORIGINS {
                for w in [0.0, 0.05, 1.0] {
                    let t = times(tau);
                    let mut g = [0.0; 4];
                    let l = total(&t, w, tau, origin, &mut g);
                    let mut g0 = [0.0; 4];
                    let l0 = output_loss(&t, 2, tau, origin, &mut g0).unwrap();
                    assert!((l - l0 - w * 0.9).abs() < 1e-12, "{l} {l0} {w}");
                    for k in 0..4 {
                        let want = g0[k] + if k == 2 { w / tau } else { 0.0 };
                        assert!((g[k] - want).abs() < 1e-12 * want.abs().max(1.0));
                    }
                    let loss = |t: &[f64; 4]| total(t, w, tau, origin, &mut [0.0; 4]);
                    assert_fd(t, tau, &g, loss, &format!("{p:?} {origin:?} w {w}"));
                }
            }
        }
        let silent = [0.5, f64::INFINITY];
        let mut g = [0.0; 2];
        assert_eq!(decision_cost(&silent, 1, 1.0, 0.5, &mut g), 0.0);
        assert_eq!(g, [0.0; 2]);
    }

    /// The distillation loss's dL/dt against central differences, for every kind of origin,
    /// weight and temperature, with a silent output; a = 0 is the first-spike loss, and a
    /// student matching the teacher at a = 1 has no loss and no gradient.
    #[test]
    fn distill_gradient_matches_finite_differences() {
        let teacher = [1.5, -0.3, 2.2, 0.4];
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            for origin in ORIGINS {
                for (weight, temperature) in [(0.5, 4.0), (0.9, 2.0), (1.0, 0.7), (0.0, 3.0)] {
                    let kd = DistillTerm {
                        teacher: &teacher,
                        weight,
                        temperature,
                    };
                    let t = times(tau);
                    let mut g = [0.0; 4];
                    let l = distill_loss(&t, 2, tau, origin, kd, &mut g).unwrap();
                    assert!(l.is_finite() && l >= 0.0);
                    let loss =
                        |t: &[f64; 4]| distill_loss(t, 2, tau, origin, kd, &mut [0.0; 4]).unwrap();
                    let case = format!("{p:?} {origin:?} a={weight} T={temperature}");
                    assert_fd(t, tau, &g, loss, &case);
                    if weight == 0.0 {
                        let mut g0 = [0.0; 4];
                        let l0 = output_loss(&t, 2, tau, origin, &mut g0).unwrap();
                        assert_eq!((l, g), (l0, g0));
                    }
                }
            }
            // A teacher that is the student's own logits: nothing to learn from it.
            let t = [0.7 * tau, 1.3 * tau, 0.9 * tau];
            let own: Vec<f64> = t.iter().map(|&x| -(x / tau).exp()).collect();
            let kd = DistillTerm {
                teacher: &own,
                weight: 1.0,
                temperature: 2.0,
            };
            let mut g = [0.0; 3];
            let l = distill_loss(&t, 0, tau, LossOrigin::Input, kd, &mut g).unwrap();
            assert!(l.abs() < 1e-12, "{p:?}: {l}");
            assert!(g.iter().all(|x| x.abs() < 1e-12), "{p:?}: {g:?}");
            // A silent target: no loss, no gradient.
            let silent = [0.7 * tau, f64::INFINITY, 0.9 * tau];
            assert_eq!(
                distill_loss(&silent, 1, tau, LossOrigin::Input, kd, &mut g),
                None
            );
        }
    }

    /// A fixed origin x is the input-origin loss of the times moved earlier by x tau (the
    /// same z, up to the rounding of the subtraction), and `At(0)` is `Input` bit for bit.
    #[test]
    fn a_fixed_origin_is_the_input_loss_of_moved_times() {
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            let t = [2.1 * tau, 2.9 * tau, 2.3 * tau, f64::INFINITY];
            let (mut g0, mut g1) = ([0.0; 4], [0.0; 4]);
            let l0 = output_loss(&t, 2, tau, LossOrigin::Input, &mut g0).unwrap();
            let l1 = output_loss(&t, 2, tau, LossOrigin::At(0.0), &mut g1).unwrap();
            assert_eq!((l0.to_bits(), g0), (l1.to_bits(), g1), "{p:?}");
            for x in [-0.5, 1.5, 2.0] {
                let moved: Vec<f64> = t.iter().map(|&v| v - x * tau).collect();
                let want = output_loss(&moved, 2, tau, LossOrigin::Input, &mut g0).unwrap();
                let got = output_loss(&t, 2, tau, LossOrigin::At(x), &mut g1).unwrap();
                assert!((got - want).abs() < 1e-12 * want.max(1.0), "{p:?} {x}");
                for k in 0..4 {
                    assert!(
                        (g0[k] - g1[k]).abs() < 1e-12 * g0[k].abs().max(1.0),
                        "{p:?} {x} {k}"
                    );
                }
            }
            // A later origin, a warmer softmax: the loss of a target leading by 0.2 tau grows.
            let lead = [2.0 * tau, 2.2 * tau];
            let cold = output_loss(&lead, 0, tau, LossOrigin::Input, &mut g0[..2]).unwrap();
            let warm = output_loss(&lead, 0, tau, LossOrigin::At(1.5), &mut g1[..2]).unwrap();
            assert!(warm > cold, "{p:?}: {warm} vs {cold}");
        }
    }

    /// Checkpoints store the origin in bincode, by variant index: `Input` 0 and `FirstOutput`
    /// 1 must keep their indices (format version 5 files hold them), `At` comes after them.
    #[test]
    fn the_stored_encoding_of_origins_does_not_move() {
        let enc = |o: LossOrigin| bincode::serialize(&o).unwrap();
        assert_eq!(enc(LossOrigin::Input), 0u32.to_le_bytes());
        assert_eq!(enc(LossOrigin::FirstOutput), 1u32.to_le_bytes());
        let mut at = 2u32.to_le_bytes().to_vec();
        at.extend(1.5f64.to_le_bytes());
        assert_eq!(enc(LossOrigin::At(1.5)), at);
        let mut time = 3u32.to_le_bytes().to_vec();
        time.extend(0.2f64.to_le_bytes());
        assert_eq!(enc(LossOrigin::Time(0.2)), time);
    }

    /// The time softmax against its formula by hand, its invariance to moving every output by
    /// the same time, its temperature (a colder softmax gives a smaller loss to a leading
    /// target and a larger one to a trailing one), and silent outputs (no gradient).
    #[test]
    fn the_time_softmax_is_a_softmax_over_spike_times() {
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            let t = [2.0 * tau, 2.5 * tau, 2.2 * tau, f64::INFINITY];
            let mut g = [0.0; 4];
            let l = output_loss(&t, 2, tau, LossOrigin::Time(0.5), &mut g).unwrap();
            let logits = [0.0, -1.0, -0.4]; // -(t_k - t_min) / (0.5 tau)
            let sum: f64 = logits.iter().map(|x: &f64| x.exp()).sum();
            assert!((l - (0.4 + sum.ln())).abs() < 1e-12, "{p:?}: {l}");
            for k in 0..3 {
                let want = ((k == 2) as u8 as f64 - logits[k].exp() / sum) / (0.5 * tau);
                assert!((g[k] - want).abs() < 1e-12 / tau, "{p:?} {k}: {}", g[k]);
            }
            assert_eq!(g[3], 0.0);
            let moved: Vec<f64> = t.iter().map(|&v| v + 3.7 * tau).collect();
            let mut gm = [0.0; 4];
            let lm = output_loss(&moved, 2, tau, LossOrigin::Time(0.5), &mut gm).unwrap();
            assert!((lm - l).abs() < 1e-12, "{p:?}: {lm} vs {l}");
            let lead = [2.0 * tau, 2.2 * tau];
            let loss = |target, temp| {
                output_loss(&lead, target, tau, LossOrigin::Time(temp), &mut [0.0; 2]).unwrap()
            };
            assert!(loss(0, 0.1) < loss(0, 0.5), "{p:?}");
            assert!(loss(1, 0.1) > loss(1, 0.5), "{p:?}");
        }
    }

    #[test]
    fn origins_parse_and_print() {
        for (s, want) in [
            ("input", LossOrigin::Input),
            ("First-Output", LossOrigin::FirstOutput),
            ("1.5", LossOrigin::At(1.5)),
            ("-0.25", LossOrigin::At(-0.25)),
            ("time:0.2", LossOrigin::Time(0.2)),
            (" Time: 2 ", LossOrigin::Time(2.0)),
        ] {
            let got: LossOrigin = s.parse().unwrap();
            assert_eq!(got, want, "{s}");
            assert_eq!(got.to_string().parse::<LossOrigin>().unwrap(), want);
        }
        for bad in ["", "nan", "inf", "last", "1.5x"] {
            let e = bad.parse::<LossOrigin>().unwrap_err();
            assert!(
                e.contains("first-output") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
        for bad in [
            "time:", "time:0", "time:-1", "time:inf", "time:nan", "time:x",
        ] {
            let e = bad.parse::<LossOrigin>().unwrap_err();
            assert!(
                e.contains("temperature T > 0") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    /// The same network timing in another time unit is the same loss: z = exp(t/tau) makes
    /// the loss a function of t/tau only.
    #[test]
    fn loss_depends_on_time_over_tau() {
        let t = [0.7, 1.3, 0.9];
        let mut g = [0.0; 3];
        let unit = output_loss(&t, 1, 1.0, LossOrigin::Input, &mut g).unwrap();
        for p in UNIT_CASES {
            let tau = p.tau_syn;
            let scaled: Vec<f64> = t.iter().map(|x| x * tau).collect();
            let l = output_loss(&scaled, 1, tau, LossOrigin::Input, &mut g).unwrap();
            // Only rounding differs (t * tau / tau): 1e-12 relative is thousands of ulps.
            assert!((l - unit).abs() < 1e-12 * unit, "{p:?}: {l} vs {unit}");
        }
    }

    /// The weight-sum cost and its gradient against central differences, at every theta, with
    /// neurons just below, well below and above theta.
    #[test]
    #[allow(clippy::needless_range_loop)] // the index is the weight's
    fn weight_costs_match_finite_differences() {
        for p in UNIT_CASES {
            let theta = p.theta as f32;
            // Three inputs, three neurons summing to 0.9, 0.3 and 1.5 theta.
            let w: Vec<f32> = [0.3, 0.1, 0.5, 0.3, 0.1, 0.5, 0.3, 0.1, 0.5]
                .iter()
                .map(|x| x * theta)
                .collect();
            let (k, l2) = (7.0, 0.5);
            let mut g = vec![0.0; 9];
            let c = weight_costs(&w, 3, 3, theta, k, l2, &mut g);
            let l2_part: f64 = w.iter().map(|&x| 0.5 * (l2 * x * x) as f64).sum();
            let want = k as f64 * (0.1 + 0.7) * theta as f64 + l2_part;
            // f32 sums: 1e-5 relative is ~100 ulps.
            assert!((c - want).abs() < 1e-5 * want, "{p:?}: cost {c} vs {want}");
            let h = 1e-2 * theta; // f32: a large step; the cost is piecewise quadratic.
            for q in 0..9 {
                let cost = |d: f32| {
                    let mut x = w.clone();
                    x[q] += d;
                    weight_costs(&x, 3, 3, theta, k, l2, &mut [0.0; 9])
                };
                let fd = (cost(h) - cost(-h)) / (2.0 * h as f64);
                // f32 costs of ~10 differenced over 2e-2 theta: rounding ~1e-4 relative.
                assert!(
                    (fd - g[q] as f64).abs() < 1e-3 * fd.abs().max(1.0),
                    "{p:?} weight {q}: {fd} vs {}",
                    g[q]
                );
            }
        }
    }

    #[test]
    fn silent_target_gives_no_loss() {
        let mut g = [1.0; 2];
        assert_eq!(
            output_loss(&[0.5, f64::INFINITY], 1, 1.0, LossOrigin::Input, &mut g),
            None
        );
        assert_eq!(g, [0.0, 0.0]);
    }

    #[test]
    fn weight_sum_cost_pushes_weak_neurons_up() {
        // Two inputs, two neurons: neuron 0 sums to 0.2 (< 1), neuron 1 to 2.0.
        let w = [0.1, 1.0, 0.1, 1.0];
        let mut g = [0.0; 4];
        let c = weight_costs(&w, 2, 2, 1.0, 100.0, 0.0, &mut g);
        assert!((c - 80.0).abs() < 1e-4);
        assert_eq!(g, [-100.0, 0.0, -100.0, 0.0]);
    }

    /// The gain penalty's pieces join smoothly (value and slope continuous at the knee and at
    /// both edges of the band), its slope is the derivative of its value (central
    /// differences in every piece), and it is zero inside the band, positive outside.
    #[test]
    fn gain_penalty_is_smooth_and_its_slope_is_its_derivative() {
        let g = GainPenalty {
            low: 0.1,
            high: 10.0,
            knee: 0.01,
            weight: 1.0,
        };
        for x in [g.knee, g.low, g.high] {
            let (a, sa) = g.phi(x * (1.0 - 1e-9));
            let (b, sb) = g.phi(x * (1.0 + 1e-9));
            assert!(
                (a - b).abs() < 1e-6 && (sa - sb).abs() < 1e-5 * (1.0 + sa.abs()),
                "{x}"
            );
        }
        for d in [
            -0.5f64, 0.0, 1e-4, 0.005, 0.02, 0.05, 0.0999, 0.5, 3.0, 10.5, 40.0,
        ] {
            let h = 1e-7 * (1.0 + d.abs());
            let fd = (g.phi(d + h).0 - g.phi(d - h).0) / (2.0 * h);
            let (v, s) = g.phi(d);
            assert!(
                (fd - s).abs() <= 1e-5 * (1.0 + s.abs()),
                "d {d}: {fd} vs {s}"
            );
            let inside = (g.low..=g.high).contains(&d);
            assert_eq!(v == 0.0, inside, "d {d}: {v}");
            assert!(v >= 0.0);
        }
        // Below the knee, a straight line whose slope is the log penalty's at the knee.
        let (_, s) = g.phi(1e-6);
        assert!((s + 2.0 * (g.low / g.knee).ln() / g.knee).abs() < 1e-9);
    }
}
