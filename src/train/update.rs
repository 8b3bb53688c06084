// Longer than 600 lines on purpose: one concern, the weight update (gradient sums and Adam
// steps split into row blocks across threads, about 480 lines), with its tests beside it.
//! Applying one batch to the weights, split by weight rows over the threads.
//!
//! Each thread owns a contiguous range of rows (inputs) of every layer. For each block of
//! `ROW_BLOCK` rows it sums the batch's loss gradient over the samples' records
//! (`crate::grad::add_rows`; the records already carry the 1/batch scale), then, while the
//! rows are in cache, takes the Adam step and the weight-cost step on them. Per weight, with
//! `g` the batch-mean loss gradient, clipped to norm `clip` if set:
//!
//! ```text
//! Adam (train/adam.rs):       w' = w - lr m_hat / (sqrt(v_hat) + eps)
//! costs, at w' (loss.rs):     w'' = w' - lr (l2 w' - K [sum_i w'_ji < theta])
//!                                 = w' (1 - lr l2) + lr K [sum_i w'_ji < theta]
//! ```
//!
//! The costs take a plain gradient step outside Adam (as AdamW decouples weight decay): inside
//! Adam, the constant gradient K of the weight-sum cost would swamp the second-moment estimates
//! of a neuron's weights and freeze its learning for thousands of steps.
//!
//! Clipping bounds the loss gradient only, not the costs': one sample with a huge z must not
//! throw the weights far. It needs the whole gradient's norm before any step, so with
//! `clip > 0` the gradient is first stored in full and the steps follow in a second pass.
//!
//! Every partial result (the column sums of w', the squared norm of g) is kept per row block
//! and combined in block order, and every gradient sums its samples in batch order: the
//! result does not depend on the number of threads.

use super::adam::{Adam, AdamState, AdamStep};
use crate::analytic::Net;
use crate::grad::{add_conv, add_rows, SampleGrad};
use crate::network::{Conv, Layer};
use crate::parallel::par_each_mut;
use std::ops::Range;

/// Rows per block: a block of gradient rows (8 x 800 f32 = 25.6 kB for the 800 net) stays in
/// a core's L1 cache while every sample of the batch adds to it.
pub(crate) const ROW_BLOCK: usize = 8;

/// The settings of one update.
#[derive(Clone, Copy, Debug)]
pub struct UpdateSettings {
    /// Step size of Adam and of the cost step.
    pub lr: f32,
    /// Weight-sum cost K (see `TrainConfig::weight_sum_k`).
    pub weight_sum_k: f32,
    /// L2 coefficient lambda.
    pub l2: f32,
    /// Largest norm of the loss gradient; 0 = no clipping.
    pub clip_norm: f64,
    /// Threads to split the rows over.
    pub threads: usize,
}

/// The first weight an update made non-finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonFinite {
    /// Layer (0 = first).
    pub(crate) layer: usize,
    /// Index in the layer's input-major weights.
    pub(crate) index: usize,
}

/// Buffers reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct Updater {
    /// The whole gradient, per layer (only used when clipping).
    g: Vec<Vec<f32>>,
    /// Per layer: the column sums of w' of each row block, `n_out` per block.
    colsum: Vec<Vec<f32>>,
    /// Per layer: the squared norm of g of each row block.
    norm2: Vec<Vec<f64>>,
    /// Per convolutional layer: the batch gradient of its kernel (empty for other layers).
    conv_g: Vec<Vec<f32>>,
}

/// A layer's weights as rows: (rows, weights per row). A dense layer's rows are its inputs
/// (`n_out` weights each); a convolution's are its kernel taps (`channels` weights each, so
/// that a column is one output channel's kernel).
fn weight_rows(layer: &Layer<f32>) -> (usize, usize) {
    match layer {
        Layer::Dense(d) => (d.n_in, d.n_out),
        Layer::Conv(c) => (c.kernel * c.kernel * c.input.c, c.channels),
    }
}

/// Threads of an update (at least one).
fn threads_of(set: &UpdateSettings) -> usize {
    set.threads.max(1)
}

/// The batch gradient of convolutional layer `l`'s kernel into `g`, its taps split over
/// `threads` threads; each weight sums its samples in batch order whatever the split.
fn conv_gradient(
    samples: &[SampleGrad<f32>],
    l: usize,
    conv: &Conv<f32>,
    threads: usize,
    g: &mut Vec<f32>,
) {
    let (taps, co) = (conv.kernel * conv.kernel * conv.input.c, conv.channels);
    g.clear();
    g.resize(taps * co, 0.0);
    let ranges = thread_rows(taps, threads);
    let mut parts: Vec<(Range<usize>, &mut [f32])> = ranges
        .iter()
        .cloned()
        .zip(split_rows(g, co, &ranges))
        .collect();
    par_each_mut(&mut parts, |_, (taps, g)| {
        add_conv(samples, l, conv, taps.clone(), g);
    });
}

/// One thread's rows of one layer, with the matching pieces of every buffer.
struct Part<'a> {
    layer: usize,
    rows: Range<usize>,
    /// A convolution's batch gradient of these rows, summed beforehand (`conv_gradient`).
    pre: Option<&'a [f32]>,
    n_out: usize,
    w: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    /// The stored gradient (clipping only).
    g: Option<&'a mut [f32]>,
    colsum: &'a mut [f32],
    norm2: &'a mut [f64],
    /// Index (in the layer) of the first non-finite weight written, if any.
    bad: Option<usize>,
}

/// Splits `buf` (`unit` values per row) into consecutive pieces of `rows[t]` rows.
fn split_rows<'a, T>(mut buf: &'a mut [T], unit: usize, rows: &[Range<usize>]) -> Vec<&'a mut [T]> {
    rows.iter()
        .map(|r| {
            let (head, tail) = std::mem::take(&mut buf).split_at_mut(r.len() * unit);
            buf = tail;
            head
        })
        .collect()
}

/// The rows of each thread for a layer of `n_in` rows: whole blocks, as evenly as can be.
fn thread_rows(n_in: usize, threads: usize) -> Vec<Range<usize>> {
    let blocks = n_in.div_ceil(ROW_BLOCK);
    let per = blocks.div_ceil(threads.max(1)).max(1) * ROW_BLOCK;
    (0..threads)
        .map(|t| (t * per).min(n_in)..((t + 1) * per).min(n_in))
        .collect()
}

impl Updater {
    /// Applies the batch whose per-sample gradient records are `samples` to `net`, with Adam
    /// state `adam`. Returns the first weight that became non-finite, if any (the weights are
    /// then left as they are: the caller stops the run).
    pub fn apply(
        &mut self,
        net: &mut Net<f32>,
        adam: &mut Adam,
        samples: &[SampleGrad<f32>],
        set: &UpdateSettings,
    ) -> Option<NonFinite> {
        let clip = set.clip_norm > 0.0;
        let nl = net.layers.len();
        self.prepare(net, samples, set);
        let adam_step = adam.next_step(set.lr);
        let mut parts = split_parts(
            &mut net.layers,
            &mut adam.state,
            Buffers {
                g: &mut self.g,
                colsum: &mut self.colsum,
                norm2: &mut self.norm2,
                conv_g: &self.conv_g,
            },
            clip,
            threads_of(set),
        );
        // Pass 1: sum the gradient; without clipping, step at once.
        let steps = (!clip).then_some((adam_step, 1.0f32));
        run_parts(&mut parts, |p, local| {
            gradient_pass(p, samples, local, steps, set)
        });
        if clip {
            // Summed layer by layer, block by block: the same order whatever the threads.
            let norm = (0..nl)
                .flat_map(|l| parts.iter().flat_map(move |ps| ps[l].norm2.iter()))
                .sum::<f64>()
                .sqrt();
            let scale = if norm > set.clip_norm {
                (set.clip_norm / norm) as f32
            } else {
                1.0
            };
            run_parts(&mut parts, |p, _| {
                step_pass(p, adam_step, scale, set);
            });
        }
        let bad = parts
            .iter()
            .flatten()
            .filter_map(|p| {
                p.bad.map(|index| NonFinite {
                    layer: p.layer,
                    index,
                })
            })
            .min_by_key(|b| (b.layer, b.index));
        drop(parts);
        self.weight_sum_step(net, set);
        bad
    }

    /// Sizes the buffers for `net` and sums the convolutions' kernel gradients.
    fn prepare(&mut self, net: &Net<f32>, samples: &[SampleGrad<f32>], set: &UpdateSettings) {
        let nl = net.layers.len();
        self.colsum.resize_with(nl, Vec::new);
        self.norm2.resize_with(nl, Vec::new);
        self.g.resize_with(nl, Vec::new);
        self.conv_g.resize_with(nl, Vec::new);
        for (l, layer) in net.layers.iter().enumerate() {
            let (n_in, n_out) = weight_rows(layer);
            if let Layer::Conv(c) = layer {
                conv_gradient(samples, l, c, threads_of(set), &mut self.conv_g[l]);
            }
            let blocks = n_in.div_ceil(ROW_BLOCK);
            self.colsum[l].resize(blocks * n_out, 0.0);
            self.norm2[l].resize(blocks, 0.0);
            if set.clip_norm > 0.0 {
                self.g[l].resize(n_in * n_out, 0.0);
            }
        }
    }

    /// The weight-sum cost's step on the neurons whose summed weights (after Adam, from the
    /// row blocks' column sums) are below theta: `w += lr K` on each of their weights.
    fn weight_sum_step(&self, net: &mut Net<f32>, set: &UpdateSettings) {
        if set.weight_sum_k <= 0.0 {
            return;
        }
        let (up, theta) = (set.lr * set.weight_sum_k, net.theta);
        for (l, layer) in net.layers.iter_mut().enumerate() {
            let n_out = weight_rows(layer).1;
            let mut sums = vec![0.0f32; n_out];
            for block in self.colsum[l].chunks_exact(n_out) {
                sums.iter_mut().zip(block).for_each(|(s, &b)| *s += b);
            }
            let weak: Vec<usize> = (0..n_out).filter(|&j| sums[j] < theta).collect();
            if weak.is_empty() {
                continue;
            }
            for row in layer.weights_mut().chunks_exact_mut(n_out) {
                for &j in &weak {
                    row[j] += up;
                }
            }
        }
    }
}

/// The updater's per-layer buffers that the parts borrow.
struct Buffers<'a> {
    g: &'a mut [Vec<f32>],
    colsum: &'a mut [Vec<f32>],
    norm2: &'a mut [Vec<f64>],
    conv_g: &'a [Vec<f32>],
}

/// Splits every layer's weights, Adam moments and buffers into `threads` parts of whole row
/// blocks: `parts[t]` holds thread t's rows of every layer.
fn split_parts<'a>(
    layers: &'a mut [Layer<f32>],
    state: &'a mut AdamState,
    buf: Buffers<'a>,
    clip: bool,
    threads: usize,
) -> Vec<Vec<Part<'a>>> {
    let mut parts: Vec<Vec<Part>> = (0..threads).map(|_| Vec::new()).collect();
    let per_layer = layers
        .iter_mut()
        .zip(state.m.iter_mut())
        .zip(state.v.iter_mut())
        .zip(buf.colsum.iter_mut().zip(buf.norm2.iter_mut()))
        .zip(buf.g.iter_mut().zip(buf.conv_g));
    for (l, ((((layer, m), v), (cs, n2)), (g_layer, pre))) in per_layer.enumerate() {
        let (n_in, n_out) = weight_rows(layer);
        let rows = thread_rows(n_in, threads);
        let blocks: Vec<Range<usize>> = rows
            .iter()
            .map(|r| r.start.div_ceil(ROW_BLOCK)..r.end.div_ceil(ROW_BLOCK))
            .collect();
        let mut g_parts: Vec<Option<&mut [f32]>> = if clip {
            split_rows(g_layer, n_out, &rows)
                .into_iter()
                .map(Some)
                .collect()
        } else {
            Vec::new()
        };
        g_parts.resize_with(threads, || None);
        let pieces = split_rows(layer.weights_mut(), n_out, &rows)
            .into_iter()
            .zip(split_rows(m, n_out, &rows))
            .zip(split_rows(v, n_out, &rows))
            .zip(split_rows(cs, n_out, &blocks))
            .zip(split_rows(n2, 1, &blocks))
            .zip(g_parts);
        for (t, (((((w, m), v), colsum), norm2), g)) in pieces.enumerate() {
            parts[t].push(Part {
                layer: l,
                rows: rows[t].clone(),
                pre: (!pre.is_empty()).then(|| &pre[rows[t].start * n_out..rows[t].end * n_out]),
                n_out,
                w,
                m,
                v,
                g,
                colsum,
                norm2,
                bad: None,
            });
        }
    }
    parts
}

/// Runs `f` on every thread's parts, one scoped thread each (none for a thread without
/// rows), with a block-sized scratch buffer per thread.
fn run_parts(parts: &mut [Vec<Part>], f: impl Fn(&mut Part, &mut Vec<f32>) + Sync) {
    let mut busy: Vec<&mut Vec<Part>> = parts
        .iter_mut()
        .filter(|ps| ps.iter().any(|p| !p.rows.is_empty()))
        .collect();
    par_each_mut(&mut busy, |_, ps| {
        let mut local = Vec::new();
        for p in ps.iter_mut() {
            f(p, &mut local);
        }
    });
}

/// Pass 1 over a part: per row block, the batch gradient (into the stored gradient when
/// clipping, else into `local`) and its squared norm; with `steps`, the steps right away.
fn gradient_pass(
    p: &mut Part,
    samples: &[SampleGrad<f32>],
    local: &mut Vec<f32>,
    steps: Option<(AdamStep, f32)>,
    set: &UpdateSettings,
) {
    let n_out = p.n_out;
    let start = p.rows.start;
    let clipping = p.g.is_some();
    for (b, rows) in blocks_of(&p.rows).enumerate() {
        let span = (rows.start - start) * n_out..(rows.end - start) * n_out;
        let g: &mut [f32] = match p.g.as_deref_mut() {
            Some(g) => &mut g[span.clone()],
            None => {
                local.resize(span.len(), 0.0);
                &mut local[..span.len()]
            }
        };
        match p.pre {
            Some(pre) => g.copy_from_slice(&pre[span.clone()]),
            None => {
                g.iter_mut().for_each(|x| *x = 0.0);
                add_rows(samples, p.layer, rows.clone(), n_out, g);
            }
        }
        if clipping {
            // Clipping: the norm is needed before any step.
            p.norm2[b] = g.iter().map(|&x| (x as f64) * (x as f64)).sum();
        }
        if let Some((adam, scale)) = steps {
            let g = &*g;
            let bad = step_block(
                &mut p.w[span.clone()],
                &mut p.m[span.clone()],
                &mut p.v[span.clone()],
                g,
                &mut p.colsum[b * n_out..(b + 1) * n_out],
                adam,
                scale,
                set,
            );
            note_bad(&mut p.bad, bad.map(|i| span.start + i + start * n_out));
        }
    }
}

/// Pass 2 over a part (clipping only): the steps from the stored gradient, scaled.
fn step_pass(p: &mut Part, adam: AdamStep, scale: f32, set: &UpdateSettings) {
    let n_out = p.n_out;
    let start = p.rows.start;
    let g =
        p.g.as_deref()
            .expect("the gradient is stored when clipping");
    for (b, rows) in blocks_of(&p.rows).enumerate() {
        let span = (rows.start - start) * n_out..(rows.end - start) * n_out;
        let bad = step_block(
            &mut p.w[span.clone()],
            &mut p.m[span.clone()],
            &mut p.v[span.clone()],
            &g[span.clone()],
            &mut p.colsum[b * n_out..(b + 1) * n_out],
            adam,
            scale,
            set,
        );
        note_bad(&mut p.bad, bad.map(|i| span.start + i + start * n_out));
    }
}

/// The row blocks of `rows`.
fn blocks_of(rows: &Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    rows.clone()
        .step_by(ROW_BLOCK)
        .map(move |r| r..(r + ROW_BLOCK).min(rows.end))
}

/// Keeps the first non-finite index seen.
fn note_bad(slot: &mut Option<usize>, bad: Option<usize>) {
    if slot.is_none() {
        *slot = bad;
    }
}

/// Adam and the L2 part of the cost step on one block of rows (`colsum.len()` weights per
/// row), in one pass; writes the column sums of w' (after Adam, before L2) into `colsum`.
/// Returns the index of the first non-finite weight written.
#[allow(clippy::too_many_arguments)]
fn step_block(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    colsum: &mut [f32],
    adam: AdamStep,
    scale: f32,
    set: &UpdateSettings,
) -> Option<usize> {
    crate::cpu::best(
        #[inline(always)]
        || adam_block(w, m, v, g, colsum, adam, scale, set),
    )
}

/// [`step_block`]'s body, inlined into the copy for each instruction set.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn adam_block(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    colsum: &mut [f32],
    adam: AdamStep,
    scale: f32,
    set: &UpdateSettings,
) -> Option<usize> {
    let n_out = colsum.len();
    colsum.iter_mut().for_each(|c| *c = 0.0);
    let shrink = 1.0 - set.lr * set.l2;
    let mut finite = true;
    let rows = w
        .chunks_exact_mut(n_out)
        .zip(m.chunks_exact_mut(n_out))
        .zip(v.chunks_exact_mut(n_out))
        .zip(g.chunks_exact(n_out));
    for (((w, m), v), g) in rows {
        let cols = w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g);
        for ((((x, m), v), &g), c) in cols.zip(colsum.iter_mut()) {
            adam.one(x, m, v, scale * g);
            *c += *x;
            *x *= shrink;
            finite &= x.is_finite();
        }
    }
    if finite {
        None
    } else {
        w.iter().position(|x| !x.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::{forward, ForwardPass, LayerScratch};
    use crate::grad::{sample_grad, BackScratch, BackwardStats};
    use crate::loss::{output_loss, weight_costs, LossOrigin};
    use crate::neuron::{NeuronParams, UNIT_CASES};
    use rand::{Rng, SeedableRng};

    /// A random 21-13-4 net (row counts not multiples of ROW_BLOCK) with neuron parameters
    /// `p` (weights in units of theta, input times in units of tau) and a weak neuron 2 in
    /// each layer, and the gradient records of a batch of 9 random samples.
    fn setup(seed: u64, p: NeuronParams) -> (Net<f32>, Vec<SampleGrad<f32>>) {
        let (tau, theta) = (p.tau_syn as f32, p.theta as f32);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let sizes = [21usize, 13, 4];
        let net = Net::<f32> {
            layers: sizes
                .windows(2)
                .map(|p| {
                    let mut w: Vec<f32> = (0..p[0] * p[1])
                        .map(|_| theta * rng.gen_range(-0.1..0.4))
                        .collect();
                    // Neuron 2 sums to well below theta: the weight-sum cost acts on it.
                    w.iter_mut().skip(2).step_by(p[1]).for_each(|x| *x *= 0.1);
                    Layer::dense(p[0], p[1], w)
                })
                .collect(),
            theta,
            tau,
        };
        let (mut sc, mut pass, mut back) = (
            LayerScratch::default(),
            ForwardPass::default(),
            BackScratch::default(),
        );
        let batch = 9;
        let mut recs = vec![SampleGrad::default(); batch];
        let mut active = 0;
        for rec in recs.iter_mut() {
            let t: Vec<f32> = (0..21).map(|_| tau * rng.gen_range(0.0..2.0)).collect();
            forward(&net, &t, &mut sc, &mut pass);
            let out: Vec<f64> = pass.outputs().iter().map(|&x| x as f64).collect();
            let mut dl = vec![0.0; 4];
            rec.clear();
            let target = rng.gen_range(0..4);
            if output_loss(&out, target, p.tau_syn, LossOrigin::Input, &mut dl).is_some() {
                let dl: Vec<f32> = dl.iter().map(|&x| x as f32).collect();
                let scale = 1.0 / batch as f32;
                let mut st = BackwardStats::default();
                sample_grad(&net, &pass, &dl, 0.01, scale, &mut back, rec, &mut st);
                active += 1;
            }
        }
        assert!(active >= 3, "the batch needs samples with gradient");
        (net, recs)
    }

    fn settings(threads: usize, clip_norm: f64) -> UpdateSettings {
        UpdateSettings {
            lr: 0.01,
            weight_sum_k: 5.0,
            l2: 1.0,
            clip_norm,
            threads,
        }
    }

    /// The row-split update equals the plain serial one: the whole gradient, clipped, one
    /// Adam step, then the cost step with `weight_costs` at the net's theta (to rounding: the
    /// cost step is rearranged), at every parameter set.
    #[test]
    fn equals_the_serial_update() {
        let cases = UNIT_CASES
            .iter()
            .flat_map(|&p| [(1, 0.0), (2, 0.0), (3, 1e-3), (4, 1e9)].map(|(s, c)| (s, c, p)));
        for (seed, clip, p) in cases {
            let (net0, recs) = setup(seed, p);
            let set = settings(2, clip);
            // Reference.
            let mut want = net0.clone();
            let sizes: Vec<usize> = want.layers.iter().map(|l| l.weights().len()).collect();
            let mut adam = Adam::new(&sizes);
            let mut grads: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
            for (l, layer) in want.layers.iter().enumerate() {
                let Layer::Dense(d) = layer else {
                    unreachable!("a dense test net")
                };
                add_rows(&recs, l, 0..d.n_in, d.n_out, &mut grads[l]);
            }
            let norm = grads
                .iter()
                .flatten()
                .map(|&g| (g as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(norm > 0.0);
            if clip > 0.0 && norm > clip {
                let s = (clip / norm) as f32;
                grads.iter_mut().flatten().for_each(|g| *g *= s);
            }
            {
                let mut ps: Vec<&mut [f32]> =
                    want.layers.iter_mut().map(|l| l.weights_mut()).collect();
                let gs: Vec<&[f32]> = grads.iter().map(|g| &g[..]).collect();
                adam.step(&mut ps, &gs, set.lr);
            }
            for layer in want.layers.iter_mut() {
                let Layer::Dense(crate::network::Dense { n_in, n_out, w }) = layer else {
                    unreachable!("a dense test net")
                };
                let mut cg = vec![0.0; w.len()];
                weight_costs(
                    w,
                    *n_in,
                    *n_out,
                    want.theta,
                    set.weight_sum_k,
                    set.l2,
                    &mut cg,
                );
                w.iter_mut().zip(&cg).for_each(|(x, g)| *x -= set.lr * g);
            }
            // Row-split.
            let mut got = net0.clone();
            let mut adam2 = Adam::new(&sizes);
            assert_eq!(
                Updater::default().apply(&mut got, &mut adam2, &recs, &set),
                None
            );
            for (a, b) in got.layers.iter().zip(&want.layers) {
                for (x, y) in a.weights().iter().zip(b.weights()) {
                    assert!(
                        (x - y).abs() <= 3e-7 * (1.0 + y.abs()),
                        "{p:?} seed {seed}: {x} vs {y}"
                    );
                }
            }
            assert_eq!(adam2.state.t, 1);
        }
    }

    /// The weight-sum step raises exactly the neurons whose summed weights are below the
    /// net's theta: with no gradient (a batch without active samples, so Adam does not move)
    /// and no L2, columns summing to 0.9 and 0.5 theta gain lr K per weight, the one summing
    /// to 1.1 theta stays. At theta = 0.7 and 1.8 a threshold of 1 would pick other columns.
    #[test]
    fn weight_sum_step_acts_below_theta() {
        for p in UNIT_CASES {
            let theta = p.theta as f32;
            // 4 inputs x 3 neurons, input-major; column sums 0.9, 1.1 and 0.5 theta.
            let w: Vec<f32> = [0.3, 0.2, 0.2, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1]
                .iter()
                .map(|x| x * theta)
                .collect();
            let mut net = Net::<f32> {
                layers: vec![Layer::dense(4, 3, w.clone())],
                theta,
                tau: p.tau_syn as f32,
            };
            let set = UpdateSettings {
                l2: 0.0,
                ..settings(2, 0.0)
            };
            let recs = vec![SampleGrad::default(); 3];
            let bad = Updater::default().apply(&mut net, &mut Adam::new(&[12]), &recs, &set);
            assert_eq!(bad, None);
            let up = set.lr * set.weight_sum_k;
            for (k, (&got, &w0)) in net.layers[0].weights().iter().zip(&w).enumerate() {
                let want = if k % 3 == 1 { w0 } else { w0 + up };
                // One f32 addition of lr K = 0.05 to a weight below 1: a few 1e-8.
                assert!(
                    (got - want).abs() <= 1e-6,
                    "{p:?} weight {k} (neuron {}): {got}, want {want}",
                    k % 3
                );
            }
        }
    }

    /// Any thread count gives bit-identical weights and moments.
    #[test]
    fn thread_count_is_invisible() {
        for clip in [0.0, 1e-3] {
            let (net0, recs) = setup(5, UNIT_CASES[1]);
            let sizes: Vec<usize> = net0.layers.iter().map(|l| l.weights().len()).collect();
            let run = |threads| {
                let (mut net, mut adam, mut up) =
                    (net0.clone(), Adam::new(&sizes), Updater::default());
                for _ in 0..3 {
                    up.apply(&mut net, &mut adam, &recs, &settings(threads, clip));
                }
                (net.layers, adam.state)
            };
            let one = run(1);
            for threads in [2, 3, 7] {
                assert_eq!(run(threads), one, "{threads} threads, clip {clip}");
            }
        }
    }

    /// A weight made non-finite is reported with its layer and index.
    #[test]
    fn reports_the_first_non_finite_weight() {
        let (mut net, recs) = setup(6, UNIT_CASES[0]);
        net.layers[1].weights_mut()[7] = f32::NAN;
        let sizes: Vec<usize> = net.layers.iter().map(|l| l.weights().len()).collect();
        let bad =
            Updater::default().apply(&mut net, &mut Adam::new(&sizes), &recs, &settings(2, 0.0));
        assert_eq!(bad, Some(NonFinite { layer: 1, index: 7 }));
    }
}
