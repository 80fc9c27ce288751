//! Derived asymmetric keys: Ed25519, ECDSA P-256, RSA and age identities.
//!
//! Every key reads the derivation stream (ChaCha20 keyed by HKDF, see `derive`) and is
//! encoded by this module's own DER writer, so no dependency upgrade can change a key or its
//! bytes: the RSA prime search is keyseed's own (docs/derivation.md), elliptic-curve crates are
//! used for point arithmetic only, and the PEM layout is fixed (LF, 64 columns).

use num_bigint_dig::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

use crate::derive::der::{der_uint, seq, tlv};
use crate::derive::hint::{RsaHints, Use};
use crate::derive::kdf::Stream;
use crate::derive::prime;
use crate::secret::SecretBytes;

/// RSA public exponent.
pub const RSA_E: u32 = 65537;

const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// An Ed25519 key: the first 32 stream bytes are the secret key. PKCS#8 v1 DER (RFC 8410;
/// v2 with the public key is not readable by OpenSSL 3.0).
pub fn ed25519(stream: &mut Stream) -> SecretBytes {
    let mut sk = [0u8; 32];
    stream.fill(&mut sk);
    let der = seq(&[
        der_uint(&[0]),
        seq(&[OID_ED25519.to_vec()]),
        tlv(0x04, &tlv(0x04, &sk)),
    ]);
    zeroize::Zeroize::zeroize(&mut sk);
    SecretBytes::new(der)
}

/// An ECDSA P-256 key: 32-byte big-endian candidates from the stream until one is a valid
/// scalar (0 < d < n). PKCS#8 DER holding an RFC 5915 ECPrivateKey with the public point.
pub fn ecdsa_p256(stream: &mut Stream) -> SecretBytes {
    let scalar = p256_scalar(stream);
    let d: &[u8] = scalar.expose();
    let sk = p256::SecretKey::from_slice(d).expect("valid scalar");
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&sk.public_key(), false);
    let mut bits = vec![0u8];
    bits.extend_from_slice(point.as_bytes());
    let ec = seq(&[der_uint(&[1]), tlv(0x04, d), tlv(0xa1, &tlv(0x03, &bits))]);
    let der = seq(&[
        der_uint(&[0]),
        seq(&[OID_EC_PUBLIC_KEY.to_vec(), OID_P256.to_vec()]),
        tlv(0x04, &ec),
    ]);
    SecretBytes::new(der)
}

/// The P-256 scalar: the first 32-byte big-endian stream candidate with 0 < d < n.
pub fn p256_scalar(stream: &mut Stream) -> SecretBytes {
    loop {
        let mut d = SecretBytes::zeroed(32);
        stream.fill(d.expose_mut());
        if p256::SecretKey::from_slice(d.expose()).is_ok() {
            return d;
        }
    }
}

/// keyseed's RSA prime search (docs/derivation.md): read `bits/8` stream bytes as a
/// big-endian candidate, set its two top bits and its low bit, then step by 2 to the first
/// prime `p` with `p mod e ≠ 1`; if the search leaves the `bits`-bit range, draw a new
/// candidate. The result is defined by arithmetic alone: any correct primality test accepts
/// the same number ([`prime`] decides faster which candidates to test). Also returns the
/// number of steps from the start, when the first start gave the prime.
pub fn rsa_prime(stream: &mut Stream, bits: usize) -> (BigUint, Option<u32>) {
    let mut first = true;
    loop {
        let start = rsa_start(stream, bits);
        if let Some(p) = prime::first_prime_from(&start, bits) {
            let steps = first.then(|| ((&p - &start) >> 1usize).to_u32()).flatten();
            return (p, steps);
        }
        first = false;
    }
}

/// The next start of the prime search: `bits/8` stream bytes, two top bits and the low bit set.
fn rsa_start(stream: &mut Stream, bits: usize) -> BigUint {
    let mut buf = vec![0u8; bits / 8];
    stream.fill(&mut buf);
    buf[0] |= 0xc0;
    *buf.last_mut().expect("non-empty") |= 1;
    let start = BigUint::from_bytes_be(&buf);
    zeroize::Zeroize::zeroize(&mut buf);
    start
}

/// The candidate `steps` steps of 2 from the next start, if it passes the checks a hinted
/// candidate gets ([`prime::plausible`]); the search would have accepted it only then.
fn hinted_prime(stream: &mut Stream, bits: usize, steps: u32) -> Option<BigUint> {
    let c = rsa_start(stream, bits) + (BigUint::from(steps) << 1usize);
    prime::plausible(&c, bits).then_some(c)
}

/// The components of a derived RSA key.
pub struct RsaKey {
    /// Modulus.
    pub n: BigUint,
    /// Private exponent `e⁻¹ mod λ(n)`.
    d: BigUint,
    p: BigUint,
    q: BigUint,
}

/// An RSA key of `bits` (2048, 3072 or 4096): primes `p` then `q` from the stream (redrawn
/// while `q == p`), ordered `p > q`; `d = e⁻¹ mod lcm(p−1, q−1)`. With a hint for the
/// stream's `info` whose MAC verifies ([`hint`]), the hinted candidates are taken instead of
/// searching; on any mismatch the stream is rewound and searched.
pub fn rsa(stream: &mut Stream, bits: usize, hints: &RsaHints) -> RsaKey {
    let info = stream.info().to_vec();
    let at = stream.position();
    let hinted = hints.offsets(&info, bits).and_then(|[jp, jq]| {
        let p = hinted_prime(stream, bits / 2, jp)?;
        let q = hinted_prime(stream, bits / 2, jq)?;
        (p != q).then_some((p, q))
    });
    let (p, q) = match hinted {
        Some(pq) => {
            hints.record(&info, bits, None, Use::Hinted);
            pq
        }
        None => {
            stream.seek(at);
            let (p, jp) = rsa_prime(stream, bits / 2);
            let (mut q, mut jq) = rsa_prime(stream, bits / 2);
            while q == p {
                (q, _) = rsa_prime(stream, bits / 2);
                jq = None;
            }
            let how = if hints.was_given(&info) {
                Use::Rejected
            } else {
                Use::Searched
            };
            hints.record(&info, bits, jp.zip(jq).map(|(a, b)| [a, b]), how);
            (p, q)
        }
    };
    let (p, q) = if p > q { (p, q) } else { (q, p) };
    let lambda = (&p - 1u32).lcm(&(&q - 1u32));
    let d = inverse_of_e(&lambda);
    RsaKey {
        n: &p * &q,
        d,
        p,
        q,
    }
}

/// `e⁻¹ mod m` for `e = 65537` and `m` coprime with it, without a big extended Euclid:
/// with `k = −m⁻¹ mod e` (a word-sized inverse), `e` divides `1 + k·m`, and
/// `d = (1 + k·m) / e` is the inverse (`0 < d ≤ m`, and `d = m` is impossible since
/// `e·m ≢ 1`), the same number [`mod_inverse`] gives.
fn inverse_of_e(m: &BigUint) -> BigUint {
    let e = u64::from(RSA_E);
    let r = (m % RSA_E).to_u64().expect("below e");
    // r⁻¹ mod e by Fermat (e is prime): r^(e−2).
    let (mut acc, mut base, mut exp) = (1u64, r, e - 2);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % e;
        }
        base = base * base % e;
        exp >>= 1;
    }
    let k = (e - acc) % e;
    let (d, rem) = (m * k + 1u32).div_rem(&BigUint::from(e));
    debug_assert!(rem.is_zero(), "e divides 1 + k·m");
    d
}

/// `a⁻¹ mod m`, if it exists: `num-bigint-dig`'s Lehmer extended GCD (7.5 M instructions
/// less per 4096-bit key than a plain extended Euclid on its `BigInt`s), the unique inverse
/// in `[0, m)`.
fn mod_inverse(a: &BigUint, m: &BigUint) -> Option<BigUint> {
    use num_bigint_dig::ModInverse;
    a.mod_inverse(m)?.to_biguint()
}

impl RsaKey {
    /// PKCS#1 `RSAPrivateKey` DER.
    pub fn pkcs1(&self) -> SecretBytes {
        let e = BigUint::from(RSA_E);
        let one = BigUint::one();
        // (p − 1) and (q − 1) divide λ, so these are e⁻¹ mod (p − 1) and mod (q − 1).
        let dp = inverse_of_e(&(&self.p - &one));
        let dq = inverse_of_e(&(&self.q - &one));
        let qinv = mod_inverse(&self.q, &self.p).expect("p, q distinct primes");
        let int = |x: &BigUint| der_uint(&x.to_bytes_be());
        SecretBytes::new(seq(&[
            der_uint(&[0]),
            int(&self.n),
            int(&e),
            int(&self.d),
            int(&self.p),
            int(&self.q),
            int(&dp),
            int(&dq),
            int(&qinv),
        ]))
    }

    /// PKCS#1 `RSAPublicKey` DER.
    pub fn public_pkcs1(&self) -> Vec<u8> {
        seq(&[
            der_uint(&self.n.to_bytes_be()),
            der_uint(&BigUint::from(RSA_E).to_bytes_be()),
        ])
    }

    /// PKCS#8 DER wrapping the PKCS#1 key.
    pub fn pkcs8(&self) -> SecretBytes {
        let inner = self.pkcs1();
        SecretBytes::new(seq(&[
            der_uint(&[0]),
            seq(&[OID_RSA.to_vec(), vec![0x05, 0x00]]),
            tlv(0x04, inner.expose()),
        ]))
    }
}

/// An age X25519 identity: 32 stream bytes, Bech32-encoded as `AGE-SECRET-KEY-1…`.
pub fn age_identity(stream: &mut Stream) -> String {
    let mut sk = [0u8; 32];
    stream.fill(&mut sk);
    let hrp = bech32::Hrp::parse("age-secret-key-").expect("valid hrp");
    let s = bech32::encode::<bech32::Bech32>(hrp, &sk)
        .expect("32 bytes encode")
        .to_uppercase();
    zeroize::Zeroize::zeroize(&mut sk);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Seed;

    #[test]
    fn rsa_2048_is_consistent() {
        let mut s = Stream::new(&Seed::new([9; 32]), b"rsa-test");
        let k = rsa(&mut s, 2048, &RsaHints::none());
        assert_eq!(k.n.bits(), 2048);
        let m = BigUint::from(12345u32);
        let c = m.modpow(&BigUint::from(RSA_E), &k.n);
        assert_eq!(c.modpow(&k.d, &k.n), m);
    }

    #[test]
    fn a_hinted_key_is_the_searched_key_and_a_bad_hint_falls_back_to_the_search() {
        use crate::derive::kdf::info;
        let seed = Seed::new([9; 32]);
        let i = info("rsa:2048", "t/hint", 0);
        let searched = RsaHints::new(&seed, []);
        let k = rsa(&mut Stream::new(&seed, &i), 2048, &searched);
        let out = searched.outcomes();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].how, Use::Searched);
        let hint = out[0].hint.clone().expect("first starts gave both primes");
        let label = out[0].label.clone();
        let hinted = RsaHints::new(&seed, [(label.clone(), hint.clone())]);
        let h = rsa(&mut Stream::new(&seed, &i), 2048, &hinted);
        assert_eq!(hinted.outcomes()[0].how, Use::Hinted);
        assert_eq!((h.n, h.d), (k.n.clone(), k.d.clone()));
        // Another seed's hint (a valid MAC under its own key) is not trusted here.
        let other = RsaHints::new(&Seed::new([8; 32]), [(label, hint)]);
        let o = rsa(&mut Stream::new(&seed, &i), 2048, &other);
        assert_eq!(other.outcomes()[0].how, Use::Rejected);
        assert_eq!(o.n, k.n);
    }

    #[test]
    fn the_word_sized_inverse_of_e_is_the_extended_euclid_one() {
        let mut s = Stream::new(&Seed::new([3; 32]), b"inverse");
        for _ in 0..20 {
            let mut b = [0u8; 96];
            s.fill(&mut b);
            let m = BigUint::from_bytes_be(&b);
            if (&m % RSA_E).is_zero() {
                continue;
            }
            let want = mod_inverse(&BigUint::from(RSA_E), &m).unwrap();
            assert_eq!(inverse_of_e(&m), want);
        }
        let mut s = Stream::new(&Seed::new([9; 32]), b"rsa-test");
        let k = rsa(&mut s, 2048, &RsaHints::none());
        let one = BigUint::one();
        assert_eq!(inverse_of_e(&(&k.p - &one)), &k.d % (&k.p - &one));
        assert_eq!(inverse_of_e(&(&k.q - &one)), &k.d % (&k.q - &one));
    }

    #[test]
    fn age_identity_parses() {
        let mut s = Stream::new(&Seed::new([1; 32]), b"age");
        let id = age_identity(&mut s);
        assert!(id.starts_with("AGE-SECRET-KEY-1"));
        assert!(id.parse::<age::x25519::Identity>().is_ok());
    }
}
