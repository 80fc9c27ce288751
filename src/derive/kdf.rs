//! The key-derivation function of derivation v1 (frozen; `docs/derivation.md` is the
//! normative text and `tests/vectors/` pins outputs).
//!
//! `okm = HKDF-SHA256(ikm = seed, salt = "keyseed/v1", info, L)` with
//! `info = "keyseed/v1\0" || format || "\0" || id || "\0" || decimal(gen)` (RFC 5869).
//! Values longer than 8160 bytes and formats that need rejection sampling read a ChaCha20
//! (RFC 8439) keystream whose key is the first 32 bytes of HKDF-expand(info).
//!
//! This module owns the byte-level derivation. It must never change an output for an
//! existing (format, id, gen): that is a breaking change.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::secret::{SecretBytes, Seed};

/// HKDF salt of derivation v1.
pub const SALT_V1: &[u8] = b"keyseed/v1";
/// Prefix of every v1 `info`.
pub const INFO_PREFIX_V1: &[u8] = b"keyseed/v1\0";
/// Longest output HKDF-SHA256 can expand to (255 × 32).
pub const HKDF_MAX: usize = 255 * 32;

/// Builds the v1 `info` for a format, id and generation.
pub fn info(format: &str, id: &str, gen: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(INFO_PREFIX_V1.len() + format.len() + id.len() + 24);
    v.extend_from_slice(INFO_PREFIX_V1);
    v.extend_from_slice(format.as_bytes());
    v.push(0);
    v.extend_from_slice(id.as_bytes());
    v.push(0);
    v.extend_from_slice(gen.to_string().as_bytes());
    v
}

/// HKDF-SHA256 expand of `len <= 8160` bytes under `info`.
pub fn hkdf(seed: &Seed, info: &[u8], len: usize) -> SecretBytes {
    assert!(len <= HKDF_MAX, "hkdf output limited to {HKDF_MAX} bytes");
    // SECRET: the seed is the HKDF input keying material.
    let hk = Hkdf::<Sha256>::new(Some(SALT_V1), seed.expose());
    let mut out = SecretBytes::zeroed(len);
    hk.expand(info, out.expose_mut())
        .expect("length checked against the HKDF limit");
    out
}

/// A deterministic byte stream: ChaCha20 (RFC 8439, 96-bit zero nonce, counter from 0) keyed
/// with the first 32 bytes of HKDF-expand(info).
pub struct Stream {
    cipher: chacha20::ChaCha20,
    buf: [u8; 64],
    pos: usize,
    /// Bytes read so far.
    read: u64,
    /// The `info` it was opened for (not secret: format, id, generation).
    info: Vec<u8>,
}

impl Stream {
    /// Opens the stream for `info`.
    pub fn new(seed: &Seed, info: &[u8]) -> Self {
        let key = hkdf(seed, info, 32);
        let cipher = chacha20::ChaCha20::new(key.expose().into(), &[0u8; 12].into());
        Stream {
            cipher,
            buf: [0; 64],
            pos: 64,
            read: 0,
            info: info.to_vec(),
        }
    }

    /// The `info` the stream was opened for.
    pub fn info(&self) -> &[u8] {
        &self.info
    }

    /// How many bytes have been read.
    pub fn position(&self) -> u64 {
        self.read
    }

    /// Goes back (or forward) to `at` bytes from the start: the next byte read is the one
    /// a fresh stream would give after reading `at` bytes.
    pub fn seek(&mut self, at: u64) {
        self.cipher.seek(at / 64 * 64);
        self.buf = [0; 64];
        self.cipher.apply_keystream(&mut self.buf);
        self.pos = (at % 64) as usize;
        self.read = at;
    }

    /// The next keystream byte.
    pub fn next_byte(&mut self) -> u8 {
        if self.pos == 64 {
            self.buf = [0; 64];
            self.cipher.apply_keystream(&mut self.buf);
            self.pos = 0;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        self.read += 1;
        b
    }

    /// Fills `out` from the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.next_byte();
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

/// N derived bytes: HKDF directly up to 8160 bytes, the ChaCha20 stream beyond.
pub fn bytes(seed: &Seed, info: &[u8], n: usize) -> SecretBytes {
    if n <= HKDF_MAX {
        return hkdf(seed, info, n);
    }
    let mut out = SecretBytes::zeroed(n);
    Stream::new(seed, info).fill(out.expose_mut());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Seed {
        Seed::new([7u8; 32])
    }

    #[test]
    fn info_layout_is_v1() {
        assert_eq!(
            info("base64:32", "a/b/c", 12),
            b"keyseed/v1\0base64:32\0a/b/c\x0012".to_vec()
        );
    }

    #[test]
    fn hkdf_matches_rfc5869_shape() {
        // Same call twice: identical; another gen: different.
        let a = hkdf(&seed(), &info("hex:4", "x", 0), 32);
        let b = hkdf(&seed(), &info("hex:4", "x", 0), 32);
        let c = hkdf(&seed(), &info("hex:4", "x", 1), 32);
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }

    #[test]
    fn seeking_back_reads_the_same_bytes_again() {
        let mut s = Stream::new(&seed(), b"x");
        let mut first = [0u8; 300];
        s.fill(&mut first);
        for at in [0u64, 1, 63, 64, 65, 128, 299] {
            s.seek(at);
            let mut again = vec![0u8; 300 - at as usize];
            s.fill(&mut again);
            assert_eq!(again, first[at as usize..], "from {at}");
            assert_eq!(s.position(), 300);
        }
    }

    #[test]
    fn long_values_use_the_stream_and_stay_prefix_free() {
        // Past 8160 bytes the stream is used; it must still be deterministic.
        let s = seed();
        let a = bytes(&s, b"x", 9000);
        let b = bytes(&s, b"x", 9000);
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 9000);
    }
}
