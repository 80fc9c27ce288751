//! How keyseed uses the machine's cores: the thread count (read once) and an order-keeping
//! parallel map over independent items (documents, prime candidates use the count too).

/// Threads keyseed runs at most: the available parallelism (cgroup quotas included), at most
/// 8, read once per process (reading it costs file reads under cgroups).
pub fn threads() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    })
}

/// Runs `f` over `items` on up to [`threads`] threads (documents are
/// independent), keeping the order. Small inputs run on the calling thread.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    // Small inputs first: reading the thread count costs file reads under cgroups.
    let total: usize = items.iter().map(&weight).sum();
    if total < 32 * 1024 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let threads = threads();
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|sc| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| sc.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}
