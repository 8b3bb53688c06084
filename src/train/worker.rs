//! One worker's per-sample pipeline: encode (with augmentation), forward pass (the analytic
//! solver, or the event engine recording a trace), loss, and the backward pass into the
//! worker's gradient record and running totals. A worker owns its scratch buffers; the
//! trainer runs one per thread (`par_each_mut`).

use super::augment::{draw_flip, draw_shift, flip_rows, shift_image};
use super::checkpoint::EpochTotals;
use super::gain::GainHist;
use super::teacher::Teacher;
use super::TrainConfig;
use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::data::Dataset;
use crate::event::{Engine, RunOptions};
use crate::grad::{sample_grad_with_gain, BackScratch, BackwardStats, SampleGrad};
use crate::loss::{decision_cost, distill_loss, output_loss, DistillTerm};
use crate::model::Model;
use crate::trace::TraceRecorder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a worker needs to run the event engine instead of the analytic solver.
pub(super) struct EventSide<'a> {
    pub(super) engine: Engine<'a>,
    pub(super) rec: TraceRecorder<'a>,
    pub(super) model: &'a Model,
}

pub(super) struct Worker {
    pub(super) scratch: LayerScratch<f32>,
    pub(super) back: BackScratch<f32>,
    pub(super) pass: ForwardPass<f32>,
    pub(super) t_in: Vec<f32>,
    /// The sample's image moved by its drawn shift (when `TrainConfig::shift` > 0).
    pub(super) shifted: Vec<u8>,
    /// The sample's image mirrored (when `TrainConfig::flip` drew it), before the shift.
    pub(super) mirrored: Vec<u8>,
    pub(super) dl: Vec<f64>,
    dl32: Vec<f32>,
    pub(super) t_out: Vec<f64>,
    /// Neurons that fired in each layer (hidden and output) during the current batch.
    pub(super) fired: Vec<u64>,
    pub(super) totals: EpochTotals,
    /// The epoch's counts of `S - theta` (see `train::gain`).
    pub(super) gain: GainHist,
}

impl Worker {
    pub(super) fn new(net: &Net<f32>) -> Self {
        Worker {
            scratch: LayerScratch::default(),
            back: BackScratch::default(),
            pass: ForwardPass::default(),
            t_in: Vec::new(),
            shifted: Vec::new(),
            mirrored: Vec::new(),
            dl: vec![0.0; net.n_outputs()],
            dl32: vec![0.0; net.n_outputs()],
            t_out: vec![0.0; net.n_outputs()],
            fired: vec![0; net.layers.len()],
            totals: EpochTotals::default(),
            gain: GainHist::new(net.layers.len()),
        }
    }

    /// Forward, loss and backward of one sample, down to its gradient record `rec` (scaled
    /// by `scale`, 1/batch size).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sample(
        &mut self,
        net: &Net<f32>,
        ev: Option<&mut EventSide>,
        cfg: &TrainConfig,
        data: &Dataset,
        teacher: Option<&Teacher>,
        idx: usize,
        epoch: usize,
        scale: f32,
        rec: &mut SampleGrad<f32>,
    ) {
        rec.clear();
        let enc = &cfg.encoding;
        self.t_in.clear();
        let shift = draw_shift(cfg.seed, epoch, idx, cfg.shift);
        let flip = cfg.flip && draw_flip(cfg.seed, epoch, idx);
        let image = if shift == (0, 0) && !flip {
            data.image(idx)
        } else {
            let src = if flip {
                self.mirrored.clear();
                self.mirrored.extend_from_slice(data.image(idx));
                flip_rows(&mut self.mirrored, data.cols);
                &self.mirrored[..]
            } else {
                data.image(idx)
            };
            shift_image(src, data.rows, data.cols, shift, &mut self.shifted);
            &self.shifted
        };
        self.t_in.extend(image.iter().map(|&p| enc.time(p) as f32));
        if cfg.jitter_sd > 0.0 {
            // A generator per (seed, epoch, sample): the same noise whatever the thread split.
            let mut rng = ChaCha8Rng::seed_from_u64(
                cfg.seed
                    ^ ((epoch as u64) << 40)
                    ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let sd = cfg.jitter_sd as f32;
            for t in self.t_in.iter_mut().filter(|t| t.is_finite()) {
                let n: f32 = rng.sample(rand_distr::StandardNormal);
                *t = (*t + sd * n).max(0.0);
            }
        }
        match ev {
            None => forward(net, &self.t_in, &mut self.scratch, &mut self.pass),
            Some(ev) => {
                // The event engine runs in f64 on the current weights; its trace is replayed
                // into the record the backward pass consumes.
                let t64: Vec<f64> = self.t_in.iter().map(|&t| t as f64).collect();
                ev.rec.reset(idx as u64, Some(data.labels[idx]));
                ev.engine
                    .run(&t64, RunOptions::default(), &mut ev.rec)
                    .expect("encoded times are valid engine input");
                self.pass = ev.rec.trace.to_pass::<f32>(ev.model);
            }
        }
        for (l, f) in self.fired.iter_mut().enumerate() {
            *f += self.pass.fired(l + 1) as u64;
            self.gain.add(
                l,
                &self.pass.times[l + 1],
                &self.pass.s_minus_theta[l],
                cfg.denom_floor as f32,
            );
        }
        let label = data.labels[idx] as usize;
        let tot = &mut self.totals;
        match self.pass.decision() {
            Some(d) if d == label => tot.correct += 1,
            Some(_) => {}
            None => tot.silent += 1,
        }
        for (o, &t) in self.t_out.iter_mut().zip(self.pass.outputs()) {
            *o = t as f64;
        }
        let tau = cfg.params.tau_syn;
        let loss = match (teacher, &cfg.distill) {
            (Some(t), Some(d)) => {
                let kd = DistillTerm {
                    teacher: t.row(idx),
                    weight: d.weight,
                    temperature: d.temperature,
                };
                distill_loss(&self.t_out, label, tau, cfg.loss_origin, kd, &mut self.dl)
            }
            _ => output_loss(&self.t_out, label, tau, cfg.loss_origin, &mut self.dl),
        }
        .map(|l| l + decision_cost(&self.t_out, label, tau, cfg.decision_cost, &mut self.dl));
        let gain = cfg.gain_band.map(|g| g.penalty(cfg.denom_floor));
        if loss.is_some() || gain.is_some() {
            match loss {
                Some(l) => {
                    tot.loss += l;
                    tot.loss_n += 1;
                    for (d, &g) in self.dl32.iter_mut().zip(&self.dl) {
                        *d = g as f32;
                    }
                }
                // No loss (the target never fired): the gain penalty alone.
                None => self.dl32.iter_mut().for_each(|d| *d = 0.0),
            }
            let mut stats = BackwardStats::default();
            sample_grad_with_gain(
                net,
                &self.pass,
                &self.dl32,
                cfg.denom_floor as f32,
                scale,
                gain.as_ref(),
                &mut self.back,
                rec,
                &mut stats,
            );
            tot.floored += stats.floored;
            tot.too_late += stats.too_late;
        }
    }
}
