//! Derivation v1 (SPEC §5, frozen; `docs/derivation.md` is the normative text and
//! `tests/vectors/` pins outputs).
//!
//! `okm = HKDF-SHA256(ikm = seed, salt = "keyseed/v1", info, L)` with
//! `info = "keyseed/v1\0" || format || "\0" || id || "\0" || decimal(gen)` (RFC 5869).
//! Values longer than 8160 bytes and formats that need rejection sampling read a ChaCha20
//! (RFC 8439) keystream whose key is the first 32 bytes of HKDF-expand(info).
//!
//! This module owns the byte-level derivation and the value encodings. It must never change
//! an output for an existing (format, id, gen): that is a breaking change.

use base64::Engine as _;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::placeholder::{Encoding, Format};
use crate::secret::{SecretBytes, SecretValue, Seed};

/// HKDF salt of derivation v1.
pub const SALT_V1: &[u8] = b"keyseed/v1";
/// Prefix of every v1 `info`.
pub const INFO_PREFIX_V1: &[u8] = b"keyseed/v1\0";
/// Longest output HKDF-SHA256 can expand to (255 × 32).
pub const HKDF_MAX: usize = 255 * 32;

/// `[A-Za-z0-9]`, in this order (part of derivation v1).
pub const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Password alphabet: `ALNUM` followed by the symbols (part of derivation v1).
pub const PASSWORD: &[u8; 74] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!@#%^*+=";

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
        }
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

/// Uniform characters from `alphabet` by rejection sampling: a stream byte `b` is used only
/// when `b < 256 - 256 % len(alphabet)`, then maps to `alphabet[b % len]`.
fn sample(stream: &mut Stream, alphabet: &[u8], n: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let b = stream.next_byte() as usize;
        if b < limit {
            out.push(alphabet[b % alphabet.len()] as char);
        }
    }
    out
}

/// Derives the value of a derived format for (`id`, `gen`), private keys written with
/// `encoding`. `Format::Value` is not derived and returns `None`.
pub fn derive(
    seed: &Seed,
    format: &Format,
    encoding: Encoding,
    id: &str,
    gen: u64,
) -> Option<SecretValue> {
    let info = info(&format.canonical(), id, gen);
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE;
    let value = match format {
        Format::Base64(n) => std.encode(bytes(seed, &info, *n as usize).expose()),
        Format::Base64Url(n) => url.encode(bytes(seed, &info, *n as usize).expose()),
        Format::Hex(n) => hex(bytes(seed, &info, *n as usize).expose()),
        Format::Fernet => url.encode(hkdf(seed, &info, 32).expose()),
        Format::Uuid => {
            let b = hkdf(seed, &info, 16);
            let mut u = [0u8; 16];
            u.copy_from_slice(b.expose());
            u[6] = (u[6] & 0x0f) | 0x40; // version 4
            u[8] = (u[8] & 0x3f) | 0x80; // RFC 9562 variant
            let h = hex(&u);
            zeroize::Zeroize::zeroize(&mut u);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
        Format::Alnum(n) => sample(&mut Stream::new(seed, &info), ALNUM, *n as usize),
        Format::Password(n) => {
            // Draw whole candidates until one holds every class; uniform over valid passwords.
            let mut stream = Stream::new(seed, &info);
            loop {
                let mut cand = sample(&mut stream, PASSWORD, *n as usize);
                let has = |f: fn(&u8) -> bool| cand.as_bytes().iter().any(f);
                if has(u8::is_ascii_lowercase)
                    && has(u8::is_ascii_uppercase)
                    && has(u8::is_ascii_digit)
                    && has(|b| !b.is_ascii_alphanumeric())
                {
                    break cand;
                }
                crate::secret::wipe(&mut cand);
            }
        }
        Format::Ed25519 | Format::EcdsaP256 | Format::Rsa(_) => {
            let mut stream = Stream::new(seed, &info);
            let (label, der) = match format {
                Format::Ed25519 => ("PRIVATE KEY", crate::asym::ed25519(&mut stream)),
                Format::EcdsaP256 => ("PRIVATE KEY", crate::asym::ecdsa_p256(&mut stream)),
                Format::Rsa(bits) => {
                    let k = crate::asym::rsa(&mut stream, *bits as usize);
                    match encoding {
                        Encoding::Pkcs1 => ("RSA PRIVATE KEY", k.pkcs1()),
                        _ => ("PRIVATE KEY", k.pkcs8()),
                    }
                }
                _ => unreachable!("matched above"),
            };
            let mut p = crate::asym::pem(label, der.expose());
            if encoding == Encoding::Base64 {
                let b = std.encode(p.as_bytes());
                crate::secret::wipe(&mut p);
                b
            } else {
                p
            }
        }
        Format::Age => crate::asym::age_identity(&mut Stream::new(seed, &info)),
        Format::Value(_) | Format::Ca(_) | Format::Cert(_) | Format::CertKey(_) => return None,
    };
    Some(SecretValue::new(value))
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

    fn seed() -> Seed {
        Seed::new([7u8; 32])
    }

    #[test]
    fn info_layout_is_v1() {
        assert_eq!(
            info("base64:32", "a/b/c", 12),
            b"keyseed/v1\0base64:32\0a/b/c\012".to_vec()
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
    fn lengths_and_alphabets() {
        let s = seed();
        let v = derive(&s, &Format::Base64(32), Encoding::Pkcs8, "i", 0).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(v.expose())
                .unwrap()
                .len(),
            32
        );
        let v = derive(&s, &Format::Hex(10000), Encoding::Pkcs8, "i", 0).unwrap();
        assert_eq!(v.expose().len(), 20000);
        let v = derive(&s, &Format::Alnum(500), Encoding::Pkcs8, "i", 0).unwrap();
        assert!(v.expose().bytes().all(|b| b.is_ascii_alphanumeric()) && v.expose().len() == 500);
        let v = derive(&s, &Format::Password(4), Encoding::Pkcs8, "i", 3).unwrap();
        assert_eq!(v.expose().len(), 4);
        let v = derive(&s, &Format::Uuid, Encoding::Pkcs8, "i", 0).unwrap();
        let u = v.expose();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
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
