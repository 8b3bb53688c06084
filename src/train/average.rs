//! Weight averaging: the model a run evaluates and saves may be an exponential moving average
//! of its weights over the training steps (Polyak-Ruppert averaging in its exponential form)
//! instead of the weights of the last step.
//!
//! After every step t (counted from 0), each weight's average moves towards the weight:
//!
//! ```text
//! beta_t = min(beta, (1 + t) / (10 + t))
//! wbar  <- beta_t wbar + (1 - beta_t) w      (computed as wbar + (1 - beta_t)(w - wbar))
//! ```
//!
//! `beta` is `TrainConfig::average` (0 = off). The warm-up `(1 + t)/(10 + t)` keeps the first
//! steps from weighing the initial weights for long (beta_0 = 0.1): the average forgets where
//! training started, as the weights do. While the warm-up is below beta (up to step
//! t = (10 beta - 1)/(1 - beta), 8,990 at 0.999) the steps before step s hold a share of
//! about (s/t)^9 of the average at step t: the last tenth of the steps taken holds about 60 %
//! of it, the last fifth about 85 %. After
//! that it spans about 1 / (1 - beta) steps: 1,000 at 0.999, 0.6 epochs of MNIST's 55,000
//! training images at 32 per batch. The average has the weights' units.
//!
//! Averaging is element by element, so it depends on no thread split: a run with averaging
//! stays reproducible bit for bit, and resumable (checkpoints store the average).

/// The averaging factor beta_t of step `t` (steps taken before it, from 0) for the setting
/// `beta` in [0, 1).
pub(crate) fn factor(beta: f64, t: u64) -> f32 {
    let warm = (1.0 + t as f64) / (10.0 + t as f64);
    beta.min(warm) as f32
}

/// One step of the average: `avg <- avg + (1 - beta)(w - avg)` for every weight of every layer
/// (`weights` gives the layers' weights in `avg`'s order and sizes).
pub(crate) fn update<'a>(
    avg: &mut [Vec<f32>],
    weights: impl Iterator<Item = &'a [f32]>,
    beta: f32,
) {
    let k = 1.0 - beta;
    for (a, w) in avg.iter_mut().zip(weights) {
        debug_assert_eq!(a.len(), w.len());
        for (a, &w) in a.iter_mut().zip(w) {
            *a += k * (w - *a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_warms_up_then_holds() {
        assert_eq!(factor(0.999, 0), 0.1);
        assert_eq!(factor(0.999, 8), (9.0f64 / 18.0) as f32);
        // (1 + t)/(10 + t) passes 0.999 at t = 8,990.
        assert_eq!(factor(0.999, 8_989), (8_990.0f64 / 8_999.0) as f32);
        assert_eq!(factor(0.999, 9_000), 0.999);
        assert_eq!(factor(0.999, u64::MAX / 2), 0.999);
    }

    #[test]
    fn the_average_is_the_weighted_mean_of_the_steps() {
        // Three steps with betas 0.1, 0.5, 0.5 from an average of 0:
        // wbar = 0.9 w0 after step 0, then 0.5 (0.9 w0) + 0.5 w1, then 0.5 (that) + 0.5 w2.
        let ws = [[1.0f32, -2.0], [3.0, 0.0], [-1.0, 4.0]];
        let mut avg = vec![vec![0.0f32; 2]];
        for (w, beta) in ws.iter().zip([0.1f32, 0.5, 0.5]) {
            update(&mut avg, std::iter::once(&w[..]), beta);
        }
        let want = |i: usize| 0.25 * 0.9 * ws[0][i] + 0.25 * ws[1][i] + 0.5 * ws[2][i];
        for (i, &a) in avg[0].iter().enumerate() {
            assert!((a - want(i)).abs() < 1e-6, "{a} vs {}", want(i));
        }
        // A weight that does not move leaves its average in place once they agree.
        let mut same = vec![vec![2.5f32]];
        update(&mut same, std::iter::once(&[2.5f32][..]), 0.999);
        assert_eq!(same[0][0], 2.5);
    }
}
