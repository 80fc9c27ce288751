//! The work one render (or `fill`) may do, checked from the planned injections before any
//! value is generated: a line of YAML can ask for a thousand RSA-4096 keys
//! (`k-{gen}: "<keyseed:rsa:4096 gen=0..999>"`), a thousand bcrypt hashes at cost 14, or a
//! thousand mebibytes (`<keyseed:base64:1048576 gen=0..999>`), and would run until killed or
//! abort on memory.
//!
//! What is counted, and the default limit per render (all multiplied by `--budget N` /
//! `KEYSEED_BUDGET=N`):
//!
//! | work | weight | default |
//! |---|---|---|
//! | RSA keys searched (no hint in the lock) | 2048 bits: 1, 3072: 4, 4096: 8 | 16 RSA-4096 (128) |
//! | bcrypt hashes | 2^cost | 64 at cost 12 |
//! | values generated (each generation of a keyring counts) | 1 | [`MAX_VALUES`] |
//! | bytes generated (a lower bound of each value's size) | 1 | [`MAX_BYTES`] |
//!
//! A Secret holds at most 1 MiB: a Secret whose generated values alone need more is refused
//! whatever the budget (it could never be applied). Sizes are lower bounds (a value whose
//! size is not known before the seed counts 0), so no render that fits is refused; the
//! Secret limit is checked again on the final bytes.

use std::collections::BTreeMap;

use crate::diag::{Finding, Location};
use crate::inject::plan::Injection;
use crate::placeholder::{Format, Generations, Hash, Placeholder};

/// Default RSA work: 16 RSA-4096 key searches, in [`rsa_weight`] units.
pub const MAX_RSA: u64 = 16 * 8;
/// Default bcrypt work: 64 hashes at cost 12, in units of 2^cost.
pub const MAX_BCRYPT: u64 = 64 << 12;
/// Default number of values generated.
pub const MAX_VALUES: u64 = 10_000;
/// Default number of bytes generated.
pub const MAX_BYTES: u64 = 64 << 20;
/// What a Secret holds at most (keys plus decoded values): 1 MiB.
pub const MAX_SECRET: u64 = 1 << 20;
/// The most text keyring `items:` projection may add to one document: 1 MiB (etcd refuses an
/// object over 1.5 MiB, so no larger workload can be applied).
pub const MAX_PROJECTION: usize = 1 << 20;
/// The most text keyring `items:` projection may add to a whole stream: 16 MiB.
pub const MAX_PROJECTION_TOTAL: usize = 16 << 20;
/// The option that raises the limits, for hints.
pub const OPTION: &str = "--budget N (KEYSEED_BUDGET=N)";

/// Which RSA keys need no search: `(format, id, generation, bits)` → a hint for it will be
/// used.
pub type Hinted<'a> = &'a dyn Fn(&str, &str, u64, usize) -> bool;

/// The cost of one RSA key search of `bits`, relative to 2048 bits (≈ bits³).
pub fn rsa_weight(bits: u32) -> u64 {
    let k = u64::from(bits.div_ceil(1024));
    (k * k * k).div_ceil(8).max(1)
}

/// How many generations a placeholder writes.
fn generations(ph: &Placeholder) -> u64 {
    match ph.generations {
        Generations::One(_) => 1,
        Generations::Range(a, b) => b.saturating_sub(a).saturating_add(1),
    }
}

/// A lower bound of the size of one generated value of `format` (0 when not known without
/// the seed: static values, certificates).
fn value_size(format: &Format) -> u64 {
    match format {
        Format::Base64(n) | Format::Base64Url(n) => u64::from(*n).div_ceil(3) * 4 - 2,
        Format::Hex(n) => u64::from(*n) * 2,
        Format::Alnum(n) | Format::Password(n) => u64::from(*n),
        Format::Fernet => 43,
        Format::Uuid => 36,
        Format::Rsa(bits) => u64::from(*bits) / 2,
        Format::Ed25519 | Format::EcdsaP256 | Format::Age => 60,
        Format::Value(_) | Format::Ca(_) | Format::Cert(_) | Format::CertKey(_) => 0,
        Format::CaKey(_) => 0,
    }
}

/// The size of what one placeholder writes: every generation, joined or apart; a bcrypt hash
/// replaces each value written.
fn written_size(ph: &Placeholder, gens: u64) -> u64 {
    let one = value_size(&ph.format);
    let values = if ph.join.is_some() { 1 } else { gens };
    if ph.hash.is_some() {
        return values.saturating_mul(60);
    }
    let sep = ph.join.as_ref().map_or(0, |s| s.len() as u64);
    gens.saturating_mul(one)
        .saturating_add(gens.saturating_sub(1).saturating_mul(sep))
}

/// A Secret of the stream: document, list item, name.
type SecretAt = (usize, Option<String>, Option<String>);

/// Work counted so far, and the limits.
struct Meter {
    factor: u64,
    rsa: u64,
    bcrypt: u64,
    values: u64,
    bytes: u64,
    /// Which limits were already reported (one finding each).
    reported: [bool; 4],
}

impl Meter {
    fn over(
        &mut self,
        which: usize,
        used: u64,
        limit: u64,
        inj: &Injection,
        what: String,
        out: &mut Vec<Finding>,
    ) {
        let limit = limit.saturating_mul(self.factor);
        if used > limit && !self.reported[which] {
            self.reported[which] = true;
            out.push(Finding::error(
                &inj.location,
                &inj.field(),
                format!("{what}; one render may do at most {}", describe(which, limit)),
                Some(format!(
                    "nothing was generated; ask for less (fewer generations, a lower cost or size), or raise every limit with {OPTION} if this work is intended"
                )),
            ));
        }
    }
}

fn describe(which: usize, units: u64) -> String {
    match which {
        0 => format!("{} RSA-4096 key searches", units / 8),
        1 => format!("{} bcrypt hashes at cost 12", units >> 12),
        2 => format!("{units} generated values"),
        _ => format!("{units} bytes of generated values"),
    }
}

/// Checks the work of `injections` (in stream or file order) against the budget times
/// `factor`, and, when `secrets`, the size of each Secret's generated values against 1 MiB.
/// Returns every limit exceeded, each once, at the injection that exceeds it.
pub fn check<'a>(
    injections: impl Iterator<Item = &'a Injection>,
    factor: u64,
    hinted: Hinted<'_>,
    secrets: bool,
) -> Result<(), Vec<Finding>> {
    let mut m = Meter {
        factor: factor.max(1),
        rsa: 0,
        bcrypt: 0,
        values: 0,
        bytes: 0,
        reported: [false; 4],
    };
    let mut out = Vec::new();
    let mut per_secret: BTreeMap<SecretAt, (u64, &Injection)> = BTreeMap::new();
    for inj in injections {
        let ph = &inj.placeholder;
        let gens = generations(ph);
        if let Format::Rsa(bits) = ph.format {
            let format = ph.format.canonical();
            let first = match ph.generations {
                Generations::One(g) | Generations::Range(g, _) => g,
            };
            // A range is at most MAX_GENERATIONS long; asking about a hint is a lookup.
            let searched = (first..)
                .take(usize::try_from(gens).unwrap_or(usize::MAX))
                .filter(|&g| !hinted(&format, &inj.id, g, bits as usize))
                .count() as u64;
            m.rsa = m
                .rsa
                .saturating_add(searched.saturating_mul(rsa_weight(bits)));
            let what = format!(
                "`{}` needs {searched} RSA-{bits} key search(es) (keys without a search hint in the lock), {} RSA-4096 equivalents with the ones before it",
                format,
                m.rsa.div_ceil(8)
            );
            m.over(0, m.rsa, MAX_RSA, inj, what, &mut out);
        }
        if let Some(Hash::Bcrypt { cost }) = ph.hash {
            let hashes = if ph.join.is_some() { 1 } else { gens };
            m.bcrypt = m
                .bcrypt
                .saturating_add(hashes.saturating_mul(1u64 << cost.min(31)));
            let what = format!(
                "{hashes} bcrypt hash(es) at cost {cost} make {} cost-12 equivalents with the ones before it",
                m.bcrypt.div_ceil(1 << 12)
            );
            m.over(1, m.bcrypt, MAX_BCRYPT, inj, what, &mut out);
        }
        m.values = m.values.saturating_add(gens);
        let what = format!(
            "{gens} generated value(s), {} with the ones before it",
            m.values
        );
        m.over(2, m.values, MAX_VALUES, inj, what, &mut out);
        let size = written_size(ph, gens);
        m.bytes = m.bytes.saturating_add(size);
        let what = format!(
            "at least {size} bytes of generated values, {} with the ones before it",
            m.bytes
        );
        m.over(3, m.bytes, MAX_BYTES, inj, what, &mut out);
        if secrets {
            let l: &Location = &inj.location;
            let e = per_secret
                .entry((l.document, l.item.clone(), l.name.clone()))
                .or_insert((0, inj));
            e.0 = e.0.saturating_add(size);
        }
    }
    for (size, inj) in per_secret.into_values() {
        if size > MAX_SECRET {
            out.push(Finding::error(
                &inj.location,
                "data",
                format!("the Secret's generated values alone would hold at least {size} bytes; Kubernetes allows at most {MAX_SECRET} (1 MiB) per Secret"),
                Some("nothing was generated; split the values over several Secrets, or ask for fewer generations or shorter values".into()),
            ));
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_weights_grow_with_the_cube_of_the_bits() {
        assert_eq!(rsa_weight(2048), 1);
        assert_eq!(rsa_weight(3072), 4);
        assert_eq!(rsa_weight(4096), 8);
    }

    #[test]
    fn sizes_are_lower_bounds() {
        use base64::Engine as _;
        for n in [1u32, 2, 3, 32, 1000] {
            let b = base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(vec![0u8; n as usize])
                .len() as u64;
            assert!(value_size(&Format::Base64(n)) <= b, "{n}");
        }
    }
}
