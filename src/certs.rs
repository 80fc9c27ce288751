//! Deterministic certificates (SPEC §6 `certificates:`, §4 `<keyseed:ca:ID>`).
//!
//! A CA is identified by its id alone: its ECDSA P-256 key is derived like a placeholder
//! (`ecdsa-p256`, id `ca/ID`), its validity is fixed (2025-01-01 to 2125-01-01) and its
//! serial derived, so every certificate naming the CA shares one CA on every render. Leaf
//! keys are derived with the id `scope/secret/tls.key`; validity comes from the config
//! (`not-before`, `days`), never from the clock. ECDSA signatures are RFC 6979
//! (deterministic), so certificates are byte-identical on every render.

use p256::ecdsa::signature::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm,
};

use crate::config::Certificate;
use crate::derive::{hkdf, info, Stream};
use crate::secret::{SecretValue, Seed};

/// What certificate placeholders need: the config's `certificates:` and the scope.
#[derive(Debug, Clone, Default)]
pub struct CertContext {
    /// `certificates:` entries.
    pub certificates: Vec<Certificate>,
    /// The scope, for leaf key ids.
    pub scope: String,
}

impl CertContext {
    /// The config's `certificates:` with the scope in effect.
    pub fn new(settings: &crate::settings::Settings, scope: &str) -> Self {
        CertContext {
            certificates: settings
                .config
                .as_ref()
                .map(|c| c.certificates.clone())
                .unwrap_or_default(),
            scope: scope.to_string(),
        }
    }
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

fn p256_signer(stream: &mut Stream) -> P256Signer {
    let scalar = crate::asym::p256_scalar(stream);
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

fn ca_signer(seed: &Seed, id: &str) -> P256Signer {
    p256_signer(&mut Stream::new(
        seed,
        &info("ecdsa-p256", &format!("ca/{id}"), 0),
    ))
}

/// The PEM of the derived CA `id`.
pub fn ca_pem(seed: &Seed, id: &str) -> String {
    let params = ca_params(seed, id);
    let cert = params
        .self_signed(&ca_signer(seed, id))
        .expect("CA parameters are valid");
    cert.pem().replace("\r\n", "\n")
}

/// The leaf key format of an entry (default `ecdsa-p256`).
pub fn leaf_format(entry: &Certificate) -> Result<crate::placeholder::Format, String> {
    let f = entry.key.as_deref().unwrap_or("ecdsa-p256");
    match crate::placeholder::parse_spec(f).map(|p| p.format) {
        Ok(f) if f.is_private_key() => Ok(f),
        _ => Err(format!(
            "certificates: key `{f}` must be ecdsa-p256, ed25519 or rsa:2048|3072|4096"
        )),
    }
}

/// The id a leaf key is derived with.
pub fn leaf_key_id(ctx: &CertContext, entry: &Certificate) -> String {
    format!("{}/{}/tls.key", ctx.scope, entry.secret)
}

/// The leaf key PEM (PKCS#8) of an entry.
pub fn leaf_key_pem(seed: &Seed, ctx: &CertContext, entry: &Certificate) -> SecretValue {
    let f = leaf_format(entry).expect("validated with the config");
    crate::derive::derive(
        seed,
        &f,
        crate::placeholder::Encoding::Pkcs8,
        &leaf_key_id(ctx, entry),
        0,
    )
    .expect("derived")
}

/// The leaf certificate PEM of an entry, issued by its CA.
pub fn leaf_cert_pem(
    seed: &Seed,
    ctx: &CertContext,
    entry: &Certificate,
) -> Result<String, String> {
    let format = leaf_format(entry)?;
    let id = leaf_key_id(ctx, entry);
    let mut stream = Stream::new(seed, &info(&format.canonical(), &id, 0));
    let public = match format {
        crate::placeholder::Format::EcdsaP256 => {
            let s = p256_signer(&mut stream);
            Public {
                der: s.point.clone(),
                alg: &rcgen::PKCS_ECDSA_P256_SHA256,
            }
        }
        crate::placeholder::Format::Ed25519 => {
            let der = crate::asym::ed25519(&mut stream);
            let sk = &der.expose()[der.expose().len() - 32..];
            let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(sk)
                .map_err(|e| e.to_string())?;
            Public {
                der: ring::signature::KeyPair::public_key(&kp).as_ref().to_vec(),
                alg: &rcgen::PKCS_ED25519,
            }
        }
        crate::placeholder::Format::Rsa(bits) => {
            let k = crate::asym::rsa(&mut stream, bits as usize);
            Public {
                der: k.public_pkcs1(),
                alg: &rcgen::PKCS_RSA_SHA256,
            }
        }
        _ => unreachable!("leaf_format checked"),
    };
    let mut p = CertificateParams::new(entry.dns_names.clone())
        .map_err(|e| format!("certificates: {}: {e}", entry.secret))?;
    let cn = entry
        .common_name
        .clone()
        .or_else(|| entry.dns_names.first().cloned())
        .unwrap_or_else(|| entry.secret.clone());
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.serial_number = Some(serial(seed, &id));
    p.use_authority_key_identifier_extension = true;
    let nb = time::Date::parse(
        &entry.not_before,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        format!(
            "certificates: {}: not-before `{}` must be YYYY-MM-DD",
            entry.secret, entry.not_before
        )
    })?;
    p.not_before = nb.midnight().assume_utc();
    p.not_after = p.not_before + time::Duration::days(i64::from(entry.days));
    let ca = ca_params(seed, &entry.ca);
    let issuer = Issuer::new(ca, ca_signer(seed, &entry.ca));
    let cert = p
        .signed_by(&public, &issuer)
        .map_err(|e| format!("certificates: {}: {e}", entry.secret))?;
    Ok(cert.pem().replace("\r\n", "\n"))
}
