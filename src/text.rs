//! Byte searches over documents with searchers built once per call site.
//!
//! `memchr::memmem::find` builds a searcher on every call, which costs more (~0.4 µs here)
//! than searching a typical 1 KB document; a stream of 20 000 documents asks ~20 such
//! questions of each. [`find!`] and [`find_any!`] keep one searcher per literal needle for
//! the whole process (issue #13).

/// The first position of a `'static` needle in a haystack: `find!(hay, b"needle")`.
macro_rules! find {
    ($hay:expr, $needle:expr) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle).into_owned());
        FINDER.find($hay)
    }};
}

/// Whether any of a `'static` list of needles occurs: `find_any!(hay, &[b"a", b"b"])`.
macro_rules! find_any {
    ($hay:expr, $needles:expr) => {{
        static FINDERS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
            std::sync::LazyLock::new(|| {
                $needles
                    .iter()
                    .map(|n| memchr::memmem::Finder::new(n).into_owned())
                    .collect()
            });
        let hay: &[u8] = $hay;
        FINDERS.iter().any(|f| f.find(hay).is_some())
    }};
}

pub(crate) use {find, find_any};

#[cfg(test)]
mod tests {
    #[test]
    fn searchers_are_reused_and_find_what_memmem_finds() {
        for hay in [&b"a kind: x"[..], b"", b"kind:", b"xxkind:kind:"] {
            for _ in 0..2 {
                assert_eq!(find!(hay, b"kind:"), memchr::memmem::find(hay, b"kind:"));
                assert_eq!(
                    find_any!(hay, [b"nope".as_slice(), b"kind:"]),
                    memchr::memmem::find(hay, b"kind:").is_some()
                );
            }
        }
    }
}
