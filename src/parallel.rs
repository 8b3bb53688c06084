//! Data parallelism on crossbeam scoped threads: the library's one way of fanning work out.
//!
//! Two shapes cover every parallel loop: [`par_chunks`] splits a range of samples into
//! contiguous chunks and collects each chunk's result in order (evaluation, simulation,
//! conversion); [`par_each_mut`] runs one job per element of a slice of per-thread states
//! (training workers, gradient shards, update parts). In both the calling thread only waits:
//! when it worked too, Linux often started the new thread on the caller's own busy CPU and the
//! two ran one after the other (measured on the update phase: as long on 2 threads as on 1).
//! A panic in a job is re-raised in the caller.

/// Splits `0..n` into `threads` contiguous chunks and runs `f` on each on its own thread,
/// returning the results in order.
pub(crate) fn par_chunks<T: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    let chunk = n.div_ceil(threads);
    let f = &f;
    crossbeam::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| sc.spawn(move |_| f(t * chunk..((t + 1) * chunk).min(n))))
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
    .expect("worker threads")
}

/// Runs `f(k, &mut jobs[k])` for every job on its own thread and waits for all of them.
pub(crate) fn par_each_mut<T: Send>(jobs: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
    let f = &f;
    crossbeam::scope(|sc| {
        for (k, job) in jobs.iter_mut().enumerate() {
            sc.spawn(move |_| f(k, job));
        }
    })
    .expect("worker thread panicked");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_in_order() {
        let parts = par_chunks(10, 3, |r| r.collect::<Vec<_>>());
        assert_eq!(parts.concat(), (0..10).collect::<Vec<_>>());
        assert_eq!(parts.len(), 3);
        assert_eq!(par_chunks(0, 4, |r| r.len()), vec![0]);
    }

    #[test]
    fn each_job_runs_once_with_its_index() {
        let mut jobs = vec![0usize; 5];
        par_each_mut(&mut jobs, |k, j| *j += k * 10 + 1);
        assert_eq!(jobs, vec![1, 11, 21, 31, 41]);
    }
}
