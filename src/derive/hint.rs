//! Authenticated hints for the RSA prime search (issue #22; `docs/derivation.md`, "RSA
//! hints").
//!
//! An `rsa:N` key is a pure function of the seed and its (format, id, generation), but its
//! prime search tests hundreds of candidates: about 0.25 s of CPU per 4096-bit key on every
//! render. A hint records where the search found each prime — how many steps of 2 from the
//! derived start `p` and then `q` lie — with an HMAC keyed from the seed, so only a keyseed
//! holding this seed, having run the search itself, can have written it. A render that
//! holds a hint whose MAC verifies reads the same starts from the same stream and takes the
//! hinted candidates (after cheap checks) instead of searching; any mismatch falls back to
//! the full search, which is the definition. A hint is never a secret: two offsets below
//! 2^32 say nothing of the primes without the seed's stream, and the MAC reveals nothing of
//! its key.
//!
//! This module owns the hint text, its MAC and the record of what each derivation did; the
//! lock file carries the text (`lock`), `keys::rsa` uses it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::derive::kdf::{hkdf, info, INFO_PREFIX_V1};
use crate::derive::mac;
use crate::secret::{SecretBytes, Seed};

/// The derivation format whose `okm(32)` (id empty, gen 0) keys hint MACs. No placeholder
/// has this format, so the key is never a value.
pub const HINT_FORMAT: &str = "rsa-hint";
/// What the MAC covers before the derivation's `info`.
const MAC_DOMAIN: &[u8] = b"keyseed/v1 rsa-hint\0";
/// Version prefix of the hint text.
const TEXT_V1: &str = "v1:";

/// The derivation a hint is for, as the lock writes it: (format, id, generation).
pub type Label = (String, String, String);

/// What one RSA derivation of this run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A hint verified and its candidates were taken: no search.
    Hinted,
    /// No hint was given: full search.
    Searched,
    /// A hint was given but not trusted (another seed's, edited, or its candidates failed a
    /// check): full search.
    Rejected,
}

/// One RSA derivation of this run: its label, what it did, and the hint to record for it
/// (none when its search drew a second start, which hints do not describe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// (format, id, generation).
    pub label: Label,
    /// Hinted, searched or rejected.
    pub how: Use,
    /// The hint text this seed would write (`v1:JP,JQ:MAC`).
    pub hint: Option<String>,
}

/// What one derivation did: key bits, offsets (when known), how.
type Seen = (usize, Option<[u32; 2]>, Use);

/// The hints a run was given and what each RSA derivation did with them.
pub struct RsaHints {
    /// The MAC key; `None` for a run without hints.
    key: Option<SecretBytes>,
    /// Hint text by derivation `info`.
    given: BTreeMap<Vec<u8>, String>,
    /// By derivation `info`: key bits, offsets (when known), what happened.
    seen: Mutex<BTreeMap<Vec<u8>, Seen>>,
}

impl std::fmt::Debug for RsaHints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaHints")
            .field("given", &self.given.len())
            .finish_non_exhaustive()
    }
}

impl RsaHints {
    /// No hints and nothing recorded: every key is searched (`keyseed derive`, `fill`).
    pub fn none() -> Self {
        RsaHints {
            key: None,
            given: BTreeMap::new(),
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Hints read from a lock, checked against `seed` when used.
    pub fn new(seed: &Seed, given: impl IntoIterator<Item = (Label, String)>) -> Self {
        let given = given
            .into_iter()
            .filter_map(|((format, id, gen), text)| {
                Some((info(&format, &id, gen.parse().ok()?), text))
            })
            .collect();
        RsaHints {
            key: Some(hkdf(seed, &info(HINT_FORMAT, "", 0), 32)),
            given,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// The offsets of the hint for `info`, if one was given and its MAC verifies; records a
    /// rejection otherwise (the caller records what it then did).
    pub(crate) fn offsets(&self, info: &[u8], bits: usize) -> Option<[u32; 2]> {
        let key = self.key.as_ref()?;
        let text = self.given.get(info)?;
        let parsed = parse(text).filter(|(offsets, tag)| mac(key, info, bits, *offsets) == *tag);
        if parsed.is_none() {
            self.record(info, bits, None, Use::Rejected);
        }
        parsed.map(|(offsets, _)| offsets)
    }

    /// Whether a hint for `info` was given (so a search after it is a rejection).
    pub(crate) fn was_given(&self, info: &[u8]) -> bool {
        self.key.is_some() && self.given.contains_key(info)
    }

    /// Records what the derivation under `info` did.
    pub(crate) fn record(&self, info: &[u8], bits: usize, offsets: Option<[u32; 2]>, how: Use) {
        if self.key.is_none() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let e = seen.entry(info.to_vec()).or_insert((bits, offsets, how));
        // A rejection stays visible even after the search that followed it.
        if e.2 != Use::Rejected || how != Use::Searched {
            *e = (bits, offsets.or(e.1), how);
        } else {
            e.1 = offsets.or(e.1);
        }
    }

    /// Every RSA derivation of this run, in label order, with the hint to record.
    pub fn outcomes(&self) -> Vec<Outcome> {
        let Some(key) = &self.key else {
            return Vec::new();
        };
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter()
            .filter_map(|(info, (bits, offsets, how))| {
                Some(Outcome {
                    label: label(info)?,
                    how: *how,
                    hint: offsets.map(|o| text(o, &mac(key, info, *bits, o))),
                })
            })
            .collect()
    }
}

/// `(format, id, gen)` of a v1 `info`.
fn label(info: &[u8]) -> Option<Label> {
    let rest = std::str::from_utf8(info.strip_prefix(INFO_PREFIX_V1)?).ok()?;
    let (format, rest) = rest.split_once('\0')?;
    let (id, gen) = rest.rsplit_once('\0')?;
    Some((format.into(), id.into(), gen.into()))
}

/// The first 16 bytes of HMAC-SHA256(key, domain ‖ info ‖ 0 ‖ bits ‖ 0 ‖ "JP,JQ"), hex.
fn mac(key: &SecretBytes, info: &[u8], bits: usize, [p, q]: [u32; 2]) -> String {
    let mut msg = MAC_DOMAIN.to_vec();
    msg.extend_from_slice(info);
    msg.extend_from_slice(format!("\0{bits}\0{p},{q}").as_bytes());
    mac::digest(Some(key.expose()), &msg)[..32].to_string()
}

fn text([p, q]: [u32; 2], tag: &str) -> String {
    format!("{TEXT_V1}{p},{q}:{tag}")
}

/// `v1:JP,JQ:MAC` → offsets and MAC; `None` for anything else.
fn parse(text: &str) -> Option<([u32; 2], String)> {
    let rest = text.strip_prefix(TEXT_V1)?;
    let (offsets, tag) = rest.split_once(':')?;
    let (p, q) = offsets.split_once(',')?;
    let ok = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(p) || !ok(q) || tag.len() != 32 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(([p.parse().ok()?, q.parse().ok()?], tag.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_verifies_only_for_its_seed_info_and_offsets() {
        let seed = Seed::new([1; 32]);
        let i = info("rsa:2048", "a/b/c", 0);
        let key = hkdf(&seed, &info(HINT_FORMAT, "", 0), 32);
        let good = text([5, 9], &mac(&key, &i, 2048, [5, 9]));
        let label = || ("rsa:2048".to_string(), "a/b/c".to_string(), "0".to_string());
        let hints = RsaHints::new(&seed, [(label(), good.clone())]);
        assert_eq!(hints.offsets(&i, 2048), Some([5, 9]));
        // Another seed, other offsets under the same MAC, another info or size: not trusted.
        let other = RsaHints::new(&Seed::new([2; 32]), [(label(), good.clone())]);
        assert_eq!(other.offsets(&i, 2048), None);
        let edited = good.replacen("v1:5,", "v1:6,", 1);
        assert_eq!(
            RsaHints::new(&seed, [(label(), edited)]).offsets(&i, 2048),
            None
        );
        assert_eq!(hints.offsets(&i, 4096), None);
        assert_eq!(hints.offsets(&info("rsa:2048", "a/b/c", 1), 2048), None);
        for bad in ["", "v1:", "v1:5,9", "v2:5,9:00", "v1:-5,9:0", "v1:5,9:xyz"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_round_trip_through_info() {
        let l = label(&info("rsa:4096", "prod/spacelift/key", 3)).unwrap();
        assert_eq!(
            l,
            ("rsa:4096".into(), "prod/spacelift/key".into(), "3".into())
        );
    }
}
