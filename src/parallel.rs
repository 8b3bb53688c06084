//! Data parallelism over samples: contiguous chunks on crossbeam scoped threads.

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
