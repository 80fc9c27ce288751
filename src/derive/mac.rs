//! Keyed digests that identify data without revealing it: rollout annotation values and
//! value fingerprints (`plan`, `keyseed.lock`). Their keys are derived under fixed v1 labels
//! (formats `rollme` and `fingerprint`, id empty, gen 0); `check`, which has no seed, uses
//! plain SHA-256.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::derive::kdf::{hkdf, info};
use crate::secret::{SecretBytes, Seed};

/// The derivation format whose `okm(32)` (id empty, gen 0) keys the rollout HMAC.
pub const ROLLOUT_FORMAT: &str = "rollme";
/// The derivation format whose `okm(32)` (id empty, gen 0) keys value fingerprints.
pub const FINGERPRINT_FORMAT: &str = "fingerprint";

/// The key of rollout annotation values.
pub fn rollout_key(seed: &Seed) -> SecretBytes {
    hkdf(seed, &info(ROLLOUT_FORMAT, "", 0), 32)
}

/// The key of value fingerprints.
pub fn fingerprint_key(seed: &Seed) -> SecretBytes {
    hkdf(seed, &info(FINGERPRINT_FORMAT, "", 0), 32)
}

/// HMAC-SHA256 with `key`, or SHA-256 when there is no key; lowercase hex.
pub fn digest(key: Option<&[u8]>, msg: &[u8]) -> String {
    match key {
        Some(k) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("any key length");
            mac.update(msg);
            hex(&mac.finalize().into_bytes())
        }
        None => hex(&Sha256::digest(msg)),
    }
}

/// A short keyed fingerprint of a value: the first 16 hex characters of
/// HMAC-SHA256(fingerprint key, value). It identifies a change without revealing anything.
pub fn fingerprint(key: &[u8], value: &str) -> String {
    digest(Some(key), value.as_bytes())[..16].to_string()
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_and_hex() {
        assert_eq!(
            digest(None, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(digest(Some(b"k"), b"abc"), digest(None, b"abc"));
        assert_eq!(fingerprint(b"k", "v").len(), 16);
    }
}
