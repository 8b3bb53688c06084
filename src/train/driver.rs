//! The epoch driver both trainers plug into: the first-spike [`super::Trainer`] and the rate
//! baseline's ReLU trainer ([`crate::rate::train`]).
//!
//! An epoch is: shuffle (and reset the epoch's sums) before its first batch, then its batches
//! in order, then its end (log entry, test accuracy). The driver owns that order, the epoch
//! counting and the wall time of the training steps; a trainer says how to do each part. One
//! [`step`] is one batch, plus the epoch's end after its last batch, so a caller can stop
//! between any two batches (the first-spike trainer checkpoints there).

use super::Step;
use crate::error::Result;
use std::time::Instant;

/// A trainer as the driver sees it; `R` is where its progress reports go (a callback of the
/// trainer's own type).
pub(crate) trait EpochSteps<R: ?Sized> {
    /// The epoch in progress, from 1 (`epochs() + 1` once all are done).
    fn epoch(&self) -> usize;
    /// Epochs to run.
    fn epochs(&self) -> usize;
    /// Batches of the epoch in progress already done.
    fn batch(&self) -> usize;
    /// Batches per epoch.
    fn batches_per_epoch(&self) -> usize;
    /// Before an epoch's first batch: shuffle, reset the epoch's sums.
    fn begin_epoch(&mut self);
    /// Trains the next batch and counts it done.
    fn train_batch(&mut self, report: &mut R) -> Result<()>;
    /// Adds training-step wall time (seconds) to the epoch in progress.
    fn add_seconds(&mut self, seconds: f64);
    /// After an epoch's last batch: log, test accuracy; moves on to the next epoch.
    fn end_epoch(&mut self, report: &mut R) -> Result<()>;
}

/// One batch (and, after the last batch of an epoch, the epoch's end). The time of the
/// training step, shuffle included and epoch end excluded, goes to `EpochSteps::add_seconds`.
pub(crate) fn step<R: ?Sized, T: EpochSteps<R> + ?Sized>(
    t: &mut T,
    report: &mut R,
) -> Result<Step> {
    if t.epoch() > t.epochs() {
        return Ok(Step::Finished);
    }
    let start = Instant::now();
    if t.batch() == 0 {
        t.begin_epoch();
    }
    t.train_batch(report)?;
    t.add_seconds(start.elapsed().as_secs_f64());
    if t.batch() < t.batches_per_epoch() {
        return Ok(Step::Batch);
    }
    t.end_epoch(report)?;
    Ok(Step::EpochEnd)
}

/// Steps until every epoch is done.
pub(crate) fn run_to_end<R: ?Sized, T: EpochSteps<R> + ?Sized>(
    t: &mut T,
    report: &mut R,
) -> Result<()> {
    while step(t, report)? != Step::Finished {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trainer that records what the driver asked, in order.
    struct Script {
        epoch: usize,
        batch: usize,
        calls: Vec<String>,
        seconds: f64,
    }

    impl EpochSteps<Vec<usize>> for Script {
        fn epoch(&self) -> usize {
            self.epoch
        }
        fn epochs(&self) -> usize {
            2
        }
        fn batch(&self) -> usize {
            self.batch
        }
        fn batches_per_epoch(&self) -> usize {
            3
        }
        fn begin_epoch(&mut self) {
            self.calls.push(format!("shuffle {}", self.epoch));
        }
        fn train_batch(&mut self, report: &mut Vec<usize>) -> Result<()> {
            self.batch += 1;
            self.calls
                .push(format!("batch {}.{}", self.epoch, self.batch));
            report.push(self.batch);
            Ok(())
        }
        fn add_seconds(&mut self, seconds: f64) {
            assert!(seconds >= 0.0);
            self.seconds += seconds;
        }
        fn end_epoch(&mut self, _: &mut Vec<usize>) -> Result<()> {
            self.calls.push(format!("end {}", self.epoch));
            self.epoch += 1;
            self.batch = 0;
            Ok(())
        }
    }

    #[test]
    fn epochs_are_shuffle_batches_end_and_a_resumed_epoch_is_not_reshuffled() {
        let mut s = Script {
            epoch: 1,
            batch: 0,
            calls: vec![],
            seconds: 0.0,
        };
        let mut seen = vec![];
        assert_eq!(step(&mut s, &mut seen).unwrap(), Step::Batch);
        assert_eq!(step(&mut s, &mut seen).unwrap(), Step::Batch);
        assert_eq!(step(&mut s, &mut seen).unwrap(), Step::EpochEnd);
        // As if resumed from a checkpoint taken after batch 1 of epoch 2.
        s.batch = 1;
        run_to_end(&mut s, &mut seen).unwrap();
        assert_eq!(step(&mut s, &mut seen).unwrap(), Step::Finished);
        let want = [
            "shuffle 1",
            "batch 1.1",
            "batch 1.2",
            "batch 1.3",
            "end 1",
            "batch 2.2",
            "batch 2.3",
            "end 2",
        ];
        assert_eq!(s.calls, want);
        assert_eq!(seen, [1, 2, 3, 2, 3]);
    }
}
