//! Derived values (placeholder formats of derivation v1): bytes in base64, base64url or hex,
//! Fernet keys, uniform alphanumerics and passwords, UUIDs, and asymmetric keys as PEM.
//!
//! Every value reads the key-derivation function of [`crate::derive::kdf`] under the
//! format's canonical text; changing an output for an existing (format, id, gen) is a
//! breaking change.

use base64::Engine as _;

use crate::derive::der;
use crate::derive::hint::RsaHints;
use crate::derive::kdf::{bytes, hkdf, info, Stream};
use crate::derive::keys;
use crate::derive::mac::hex;
use crate::placeholder::{Encoding, Format, Hash, Placeholder};
use crate::secret::{SecretValue, Seed};

/// `[A-Za-z0-9]`, in this order (part of derivation v1).
pub const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Password alphabet: `ALNUM` followed by the symbols (part of derivation v1).
pub const PASSWORD: &[u8; 74] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!@#%^*+=";

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
    derive_hinted(seed, format, encoding, id, gen, &RsaHints::none())
}

/// [`derive`], with the RSA search hints of a render (`keyseed.lock`): the same value, found
/// without the prime search where a hint verifies.
pub fn derive_hinted(
    seed: &Seed,
    format: &Format,
    encoding: Encoding,
    id: &str,
    gen: u64,
    hints: &RsaHints,
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
                Format::Ed25519 => ("PRIVATE KEY", keys::ed25519(&mut stream)),
                Format::EcdsaP256 => ("PRIVATE KEY", keys::ecdsa_p256(&mut stream)),
                Format::Rsa(bits) => {
                    let k = keys::rsa(&mut stream, *bits as usize, hints);
                    match encoding {
                        Encoding::Pkcs1 => ("RSA PRIVATE KEY", k.pkcs1()),
                        _ => ("PRIVATE KEY", k.pkcs8()),
                    }
                }
                _ => unreachable!("matched above"),
            };
            let mut p = der::pem(label, der.expose());
            if encoding == Encoding::Base64 {
                let b = std.encode(p.as_bytes());
                crate::secret::wipe(&mut p);
                b
            } else {
                p
            }
        }
        Format::Age => keys::age_identity(&mut Stream::new(seed, &info)),
        // The key the derived CA `ID` signs with: the `ecdsa-p256` key of id `ca/ID`.
        Format::CaKey(ca) => {
            return derive_hinted(
                seed,
                &Format::EcdsaP256,
                encoding,
                &format!("ca/{ca}"),
                0,
                hints,
            )
        }
        Format::Value(_) | Format::Ca(_) | Format::Cert(_) | Format::CertKey(_) => return None,
    };
    Some(SecretValue::new(value))
}

/// A value `hash=bcrypt` cannot hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// bcrypt reads at most 72 bytes, the last the zero byte it appends; a longer value would
    /// be silently truncated.
    #[error("bcrypt reads at most 71 bytes of a value (72 with the zero byte it appends); this one is {0} bytes")]
    TooLong(usize),
}

/// The salt of `hash=bcrypt` for (format, id, gen): the first 16 bytes of HKDF-expand under
/// format text `bcrypt-salt:` + the canonical format, so it never equals value material.
pub fn bcrypt_salt(seed: &Seed, format: &Format, id: &str, gen: u64) -> [u8; 16] {
    let okm = hkdf(
        seed,
        &info(&format!("bcrypt-salt:{}", format.canonical()), id, gen),
        16,
    );
    let mut salt = [0u8; 16];
    salt.copy_from_slice(okm.expose());
    salt
}

/// Applies a placeholder's output options to its value: `pad=false` drops base64 padding;
/// `hash=bcrypt` replaces the value with its bcrypt hash (`$2y$`, the placeholder's cost, a
/// salt from [`bcrypt_salt`]), so the hash is as stable as the value.
pub fn finish(
    seed: &Seed,
    ph: &Placeholder,
    id: &str,
    gen: u64,
    value: SecretValue,
) -> Result<SecretValue, HashError> {
    let value = if ph.pad {
        value
    } else {
        SecretValue::new(value.expose().trim_end_matches('=').to_string())
    };
    let Some(Hash::Bcrypt { cost }) = ph.hash else {
        return Ok(value);
    };
    let n = value.expose().len();
    let salt = bcrypt_salt(seed, &ph.format, id, gen);
    // SECRET: the value is hashed; only the hash leaves here.
    let parts = bcrypt::non_truncating_hash_with_salt(value.expose(), cost, salt)
        .map_err(|_| HashError::TooLong(n))?;
    let hash = parts.format_for_version(bcrypt::Version::TwoY);
    Ok(SecretValue::new(match &ph.htpasswd {
        Some(user) => format!("{user}:{hash}"),
        None => hash,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Seed {
        Seed::new([7u8; 32])
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
}
