//! Deterministic certificates: derived CAs (`<keyseed:ca:ID>`) and the leaf certificates of
//! `certificates:` entries.
//!
//! A CA is identified by its id alone: its key is derived like a placeholder (`ecdsa-p256`,
//! or the `rsa:BITS` that `cas:` in `keyseed.yaml` declares, id `ca/ID`), its validity is
//! fixed (2025-01-01 to 2125-01-01) and its serial derived, so every certificate naming the
//! CA shares one CA on every render. RSA signatures are PKCS#1 v1.5 (deterministic too). Leaf
//! keys are derived with the id `scope/secret/tls.key`; validity comes from the config
//! (`not-before`, `days`), never from the clock. ECDSA signatures are RFC 6979
//! (deterministic), so certificates are byte-identical on every render.

use std::collections::BTreeMap;
use std::net::IpAddr;

use p256::ecdsa::signature::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};

use crate::derive::hint::RsaHints;
use crate::derive::kdf::{hkdf, info, Stream};
use crate::derive::keys;
use crate::placeholder::{Encoding, Format};
use crate::secret::{SecretValue, Seed};

/// One leaf certificate to derive (a checked `certificates:` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// The `kubernetes.io/tls` Secret it fills.
    pub secret: String,
    /// The derived CA id that issues it.
    pub ca: String,
    /// Subject common name (default: the first DNS name, else the Secret name).
    pub common_name: Option<String>,
    /// DNS subjectAltNames.
    pub dns_names: Vec<String>,
    /// IP address subjectAltNames.
    pub ip_addresses: Vec<IpAddr>,
    /// An issuing (intermediate) CA signed by `ca` (path length 0), not a server certificate.
    pub is_ca: bool,
    /// Start of validity, midnight UTC: fixed, so output never depends on the clock.
    pub not_before: time::Date,
    /// Validity in days.
    pub days: u32,
    /// The leaf key format: `ecdsa-p256`, `ed25519` or `rsa:BITS`.
    pub key: Format,
}

impl LeafSpec {
    /// The end of validity, or `None` when it lies past what X.509 can say (9999-12-31).
    pub fn not_after(&self) -> Option<time::OffsetDateTime> {
        let nb = self.not_before.midnight().assume_utc();
        let end = nb.checked_add(time::Duration::days(i64::from(self.days)))?;
        (end.year() <= 9999).then_some(end)
    }
}

/// What certificate placeholders need: the checked `certificates:` and the scope.
#[derive(Debug, Clone, Default)]
pub struct CertContext {
    /// `certificates:` entries.
    pub certificates: Vec<LeafSpec>,
    /// The scope, for leaf key ids.
    pub scope: String,
    /// CA key formats `cas:` declares (`rsa:BITS`); every other CA is ECDSA P-256.
    pub cas: BTreeMap<String, Format>,
}

impl CertContext {
    /// The key format of derived CA `id`.
    pub fn ca_key(&self, id: &str) -> Format {
        self.cas.get(id).cloned().unwrap_or(Format::EcdsaP256)
    }
}

/// A certificate that cannot be made from its entry.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused the parameters (a DNS name it cannot encode, ...).
    #[error("certificates: {secret}: {why}")]
    Params {
        /// The entry's Secret.
        secret: String,
        /// rcgen's reason (no key material).
        why: String,
    },
    /// The validity period ends past 9999-12-31.
    #[error("certificates: {0}: the validity ends after 9999-12-31")]
    Validity(String),
}

/// An ECDSA P-256 key that signs deterministically (RFC 6979).
struct P256Signer {
    sk: p256::ecdsa::SigningKey,
    point: Vec<u8>,
}

impl PublicKeyData for P256Signer {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for P256Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: p256::ecdsa::Signature = self.sk.sign(msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// A leaf's public key.
struct Public {
    der: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl PublicKeyData for Public {
    fn der_bytes(&self) -> &[u8] {
        &self.der
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// An RSA key that signs with PKCS#1 v1.5 and SHA-256 (deterministic).
struct RsaSigner {
    pair: ring::signature::RsaKeyPair,
    public: Vec<u8>,
}

impl PublicKeyData for RsaSigner {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RsaSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        // PKCS#1 v1.5 uses no randomness; ring only takes an RNG for its interface.
        self.pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .map_err(|_| rcgen::Error::RingUnspecified)?;
        Ok(sig)
    }
}

/// A derived CA's signing key.
enum CaSigner {
    P256(P256Signer),
    Rsa(RsaSigner),
}

impl PublicKeyData for CaSigner {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaSigner::P256(s) => s.der_bytes(),
            CaSigner::Rsa(s) => s.der_bytes(),
        }
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaSigner::P256(s) => s.algorithm(),
            CaSigner::Rsa(s) => s.algorithm(),
        }
    }
}

impl rcgen::SigningKey for CaSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaSigner::P256(s) => s.sign(msg),
            CaSigner::Rsa(s) => s.sign(msg),
        }
    }
}

fn p256_signer(stream: &mut Stream) -> P256Signer {
    let scalar = keys::p256_scalar(stream);
    let sk = p256::ecdsa::SigningKey::from_slice(scalar.expose()).expect("valid scalar");
    let point = sk
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    P256Signer { sk, point }
}

fn serial(seed: &Seed, id: &str) -> SerialNumber {
    let mut s = hkdf(seed, &info("serial", id, 0), 16).expose().to_vec();
    s[0] &= 0x7f;
    if s[0] == 0 {
        s[0] = 1;
    }
    SerialNumber::from(s)
}

fn ca_params(seed: &Seed, id: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, format!("keyseed CA {id}"));
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.serial_number = Some(serial(seed, &format!("ca/{id}")));
    p.not_before = time::macros::datetime!(2025-01-01 0:00 UTC);
    p.not_after = time::macros::datetime!(2125-01-01 0:00 UTC);
    p
}

/// The signing key of derived CA `id`: the `ecdsa-p256` key of id `ca/ID`, or the
/// `rsa:BITS` one where `cas:` says so.
fn ca_signer(seed: &Seed, ctx: &CertContext, id: &str) -> CaSigner {
    let key_id = format!("ca/{id}");
    match ctx.ca_key(id) {
        Format::Rsa(bits) => {
            let mut stream = Stream::new(seed, &info(&Format::Rsa(bits).canonical(), &key_id, 0));
            let k = keys::rsa(&mut stream, bits as usize, &RsaHints::none());
            let pair = ring::signature::RsaKeyPair::from_pkcs8(k.pkcs8().expose())
                .expect("a derived RSA key is valid PKCS#8");
            CaSigner::Rsa(RsaSigner {
                pair,
                public: k.public_pkcs1(),
            })
        }
        _ => CaSigner::P256(p256_signer(&mut Stream::new(
            seed,
            &info("ecdsa-p256", &key_id, 0),
        ))),
    }
}

/// The PEM of the derived CA `id`.
pub fn ca_pem(seed: &Seed, ctx: &CertContext, id: &str) -> String {
    let params = ca_params(seed, id);
    let cert = params
        .self_signed(&ca_signer(seed, ctx, id))
        .expect("CA parameters are valid");
    cert.pem().replace("\r\n", "\n")
}

/// The id a leaf key is derived with.
pub fn leaf_key_id(ctx: &CertContext, entry: &LeafSpec) -> String {
    format!("{}/{}/tls.key", ctx.scope, entry.secret)
}

/// The leaf key PEM (PKCS#8) of an entry.
pub fn leaf_key_pem(seed: &Seed, ctx: &CertContext, entry: &LeafSpec) -> SecretValue {
    crate::derive::value::derive(
        seed,
        &entry.key,
        Encoding::Pkcs8,
        &leaf_key_id(ctx, entry),
        0,
    )
    .expect("a leaf key format is derived")
}

/// The leaf certificate PEM of an entry, issued by its CA.
pub fn leaf_cert_pem(
    seed: &Seed,
    ctx: &CertContext,
    entry: &LeafSpec,
) -> Result<String, CertError> {
    let params = |why: String| CertError::Params {
        secret: entry.secret.clone(),
        why,
    };
    let id = leaf_key_id(ctx, entry);
    let mut stream = Stream::new(seed, &info(&entry.key.canonical(), &id, 0));
    let public = match entry.key {
        Format::EcdsaP256 => {
            let s = p256_signer(&mut stream);
            Public {
                der: s.point.clone(),
                alg: &rcgen::PKCS_ECDSA_P256_SHA256,
            }
        }
        Format::Ed25519 => {
            let der = keys::ed25519(&mut stream);
            let sk = &der.expose()[der.expose().len() - 32..];
            let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(sk)
                .map_err(|e| params(e.to_string()))?;
            Public {
                der: ring::signature::KeyPair::public_key(&kp).as_ref().to_vec(),
                alg: &rcgen::PKCS_ED25519,
            }
        }
        Format::Rsa(bits) => {
            let k = keys::rsa(&mut stream, bits as usize, &RsaHints::none());
            Public {
                der: k.public_pkcs1(),
                alg: &rcgen::PKCS_RSA_SHA256,
            }
        }
        _ => {
            return Err(params(
                "the key must be ecdsa-p256, ed25519 or rsa:BITS".into(),
            ))
        }
    };
    let mut p =
        CertificateParams::new(entry.dns_names.clone()).map_err(|e| params(e.to_string()))?;
    p.subject_alt_names
        .extend(entry.ip_addresses.iter().map(|ip| SanType::IpAddress(*ip)));
    let cn = entry
        .common_name
        .clone()
        .or_else(|| entry.dns_names.first().cloned())
        .unwrap_or_else(|| entry.secret.clone());
    p.distinguished_name.push(DnType::CommonName, cn);
    if entry.is_ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
    }
    p.serial_number = Some(serial(seed, &id));
    p.use_authority_key_identifier_extension = true;
    p.not_before = entry.not_before.midnight().assume_utc();
    p.not_after = entry
        .not_after()
        .ok_or_else(|| CertError::Validity(entry.secret.clone()))?;
    let ca = ca_params(seed, &entry.ca);
    let issuer = Issuer::new(ca, ca_signer(seed, ctx, &entry.ca));
    let cert = p
        .signed_by(&public, &issuer)
        .map_err(|e| params(e.to_string()))?;
    Ok(cert.pem().replace("\r\n", "\n"))
}
