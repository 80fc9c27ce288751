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

/// The estimated cost of work, in nanoseconds, that [`par_map`] weighs against starting
/// threads.
pub mod cost {
    /// Parsing YAML into a tree: the parser reads about 40 MB/s.
    pub const fn parse(bytes: usize) -> usize {
        bytes.saturating_mul(25)
    }

    /// Searching bytes for a few words.
    pub const fn scan(bytes: usize) -> usize {
        bytes
    }
}

/// Work [`par_map`] keeps on the calling thread: starting and joining a thread costs 20 to
/// 160 µs on a small virtual machine (measured), so a map must save more than that.
const WORTH_THREADS: usize = 2_000_000;

/// Runs `f` over `items` on up to [`threads`] threads (documents are independent), keeping
/// the order. `cost` estimates an item's work in nanoseconds (see [`cost`]); work below
/// [`WORTH_THREADS`] runs on the calling thread.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    cost: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    // Small inputs first: reading the thread count costs file reads under cgroups.
    let total: usize = items.iter().map(&cost).sum();
    if total < WORTH_THREADS || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let threads = threads();
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks = items.chunks(chunk);
    let first = chunks.next().unwrap_or_default();
    // The calling thread maps the first chunk while the others map the rest.
    std::thread::scope(|sc| {
        let handles: Vec<_> = chunks
            .map(|c| sc.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = first.iter().map(&f).collect();
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}
