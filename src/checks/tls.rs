//! TLS validation of PEM material itself: PEM decoding, chain order and signatures,
//! validity at `--now`, private keys, and host coverage. Pure functions of bytes: used on
//! every render and by `check` (through [`crate::checks::documents`]) and by `keyseed cert`.
//!
//! Certificates and chains are parsed with x509-parser (signatures verified through ring);
//! keys are loaded with ring and their public half compared with the leaf's. Findings name
//! the field, the certificate position (from 1) and its subject — never key material.

use ::time::OffsetDateTime;
use x509_parser::prelude::*;

use crate::derive::der::pem;
use crate::diag::{Finding, Severity};

/// A finding about a field (no location yet: the caller knows the document).
fn finding(severity: Severity, field: &str, message: String, hint: Option<String>) -> Finding {
    Finding {
        severity,
        location: None,
        field: field.to_string(),
        message,
        hint,
    }
}

/// A time that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)")]
pub struct TimeError(pub String);

/// Parses an RFC 3339 time (`--now`) to Unix seconds.
pub fn parse_time(s: &str) -> Result<i64, TimeError> {
    OffsetDateTime::parse(s, &::time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| TimeError(s.to_string()))
}

/// Why PEM text cannot be read. Labels are not quoted: the text may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// A block's END label differs from its BEGIN label.
    #[error("a PEM block ends with a different label than it begins with")]
    Mismatch,
    /// A block has no END line.
    #[error("a PEM block has no END line")]
    Unterminated,
    /// A block's body is not base64.
    #[error("a PEM block is not valid base64")]
    Base64,
}

/// Why certificates do not form one chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Not exactly one certificate issues no other.
    #[error("the certificates do not form one chain ({0} candidate leaves)")]
    Leaves(usize),
    /// Some certificates are not linked to the leaf.
    #[error("not part of the chain: {0}")]
    Stray(String),
}

/// Validation settings.
#[derive(Debug, Clone, Copy)]
pub struct TlsOptions {
    /// The time to validate at (Unix seconds).
    pub now: i64,
    /// Warn when a certificate expires within this many days.
    pub min_days: u32,
}

impl TlsOptions {
    /// Validation at `now` (Unix seconds); `min_days` default 30.
    pub fn at(now: i64, min_days: Option<u32>) -> Self {
        TlsOptions {
            now,
            min_days: min_days.unwrap_or(30),
        }
    }

    /// Validation at the current time.
    pub fn now(min_days: Option<u32>) -> Self {
        Self::at(OffsetDateTime::now_utc().unix_timestamp(), min_days)
    }
}

/// A PEM block.
#[derive(Debug, Clone)]
pub struct Block {
    /// `CERTIFICATE`, `PRIVATE KEY`, ...
    pub label: String,
    /// Decoded DER.
    pub der: Vec<u8>,
    /// The block has RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
    pub encrypted_headers: bool,
}

/// base64 of `-----BEGIN`: a value that is base64 of a PEM starts with it.
const B64_BEGIN: &str = "LS0tLS1CRUdJTi";

/// Splits PEM text into blocks. Returns the blocks and whether non-white-space text lies
/// outside them. CRLF line ends are accepted.
pub fn pem_blocks(text: &[u8]) -> Result<(Vec<Block>, bool), PemError> {
    let text = String::from_utf8_lossy(text);
    let mut blocks = Vec::new();
    let mut junk = false;
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    while let Some(line) = lines.next() {
        let t = line.trim();
        let Some(label) = t
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        else {
            if !t.is_empty() {
                junk = true;
            }
            continue;
        };
        let mut body = String::new();
        let mut headers = false;
        let mut ended = false;
        for l in lines.by_ref() {
            let l = l.trim();
            if let Some(end) = l
                .strip_prefix("-----END ")
                .and_then(|r| r.strip_suffix("-----"))
            {
                if end != label {
                    return Err(PemError::Mismatch);
                }
                ended = true;
                break;
            }
            if l.contains(':') {
                headers = true;
                continue;
            }
            body.push_str(l);
        }
        if !ended {
            return Err(PemError::Unterminated);
        }
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| PemError::Base64)?;
        blocks.push(Block {
            label: label.to_string(),
            der,
            encrypted_headers: headers,
        });
    }
    Ok((blocks, junk))
}

/// What the key and host checks need from a leaf certificate.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Subject, for messages.
    pub subject: String,
    /// The subjectPublicKey bits.
    pub public_key: Vec<u8>,
    /// DNS SANs (lowercase).
    pub dns_names: Vec<String>,
    /// Whether the certificate has a subjectAltName extension.
    pub has_san: bool,
}

fn date(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|d| {
            d.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// Parsed certificates of a value.
pub struct Chain {
    ders: Vec<Vec<u8>>,
}

impl Chain {
    /// The DER certificates, in order.
    pub fn ders(&self) -> &[Vec<u8>] {
        &self.ders
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.ders.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// The chain as PEM with LF line ends and 64-column base64: the same bytes everywhere.
    pub fn to_pem(&self) -> String {
        self.ders.iter().map(|d| pem("CERTIFICATE", d)).collect()
    }

    /// Puts the certificates in leaf → intermediates → root order by issuer links, dropping
    /// duplicates. Errors when they do not form one chain.
    pub fn fix_order(&self) -> Result<Chain, ChainError> {
        let mut ders: Vec<Vec<u8>> = Vec::new();
        for d in &self.ders {
            if !ders.contains(d) {
                ders.push(d.clone());
            }
        }
        let Some(certs) = ders
            .iter()
            .map(|d| parse_x509_certificate(d).ok().map(|c| c.1))
            .collect::<Option<Vec<X509Certificate>>>()
        else {
            return Err(ChainError::Leaves(0));
        };
        let issues = |a: usize, b: usize| a != b && certs[b].issuer() == certs[a].subject();
        // The leaf issues no other certificate of the set.
        let leaves: Vec<usize> = (0..certs.len())
            .filter(|&a| !(0..certs.len()).any(|b| issues(a, b)))
            .collect();
        let [leaf] = leaves.as_slice() else {
            return Err(ChainError::Leaves(leaves.len()));
        };
        let mut order = vec![*leaf];
        while order.len() < certs.len() {
            let cur = *order.last().expect("non-empty");
            match (0..certs.len()).find(|&n| !order.contains(&n) && issues(n, cur)) {
                Some(n) => order.push(n),
                None => break,
            }
        }
        if order.len() != certs.len() {
            let stray: Vec<String> = (0..certs.len())
                .filter(|i| !order.contains(i))
                .map(|i| certs[i].subject().to_string())
                .collect();
            return Err(ChainError::Stray(stray.join("; ")));
        }
        Ok(Chain {
            ders: order.into_iter().map(|i| ders[i].clone()).collect(),
        })
    }
}

/// The certificates of several PEM inputs (name, bytes) as one chain, in the order given.
pub fn read_chain(files: &[(String, Vec<u8>)], out: &mut Vec<Finding>) -> Option<Chain> {
    let mut ders = Vec::new();
    for (field, data) in files {
        if let Some(c) = decode_certs(field, data, out) {
            ders.extend(c.ders);
        }
    }
    (!ders.is_empty()).then_some(Chain { ders })
}

impl Chain {
    /// The certificates, parsed.
    fn certs(&self) -> Vec<X509Certificate<'_>> {
        self.ders
            .iter()
            .filter_map(|d| parse_x509_certificate(d).ok().map(|(_, c)| c))
            .collect()
    }
}

/// Decodes a value that should hold PEM certificates. `raw` is the value as stored in the
/// manifest field (base64 for `data`), `decoded` the bytes Kubernetes hands the workload.
pub fn decode_certs(field: &str, decoded: &[u8], out: &mut Vec<Finding>) -> Option<Chain> {
    let err =
        |message: String, hint: Option<String>| finding(Severity::Error, field, message, hint);
    let trimmed = String::from_utf8_lossy(decoded).trim().to_string();
    if trimmed.starts_with(B64_BEGIN) {
        out.push(err(
            "the value is base64 of a PEM, encoded twice: Kubernetes would hand the workload base64 text, not a certificate".into(),
            Some("base64-encode the PEM once (in `data`), or put the PEM itself in `stringData`".into()),
        ));
        return None;
    }
    let (blocks, junk) = match pem_blocks(decoded) {
        Ok(b) => b,
        Err(e) => {
            out.push(err(format!("not valid PEM: {e}"), None));
            return None;
        }
    };
    let ders: Vec<Vec<u8>> = blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| b.der.clone())
        .collect();
    if ders.is_empty() {
        out.push(err(
            "holds no PEM certificate".into(),
            Some("expected `-----BEGIN CERTIFICATE-----` blocks".into()),
        ));
        return None;
    }
    if junk {
        out.push(finding(
            Severity::Warning,
            field,
            "text outside the PEM blocks is ignored".into(),
            None,
        ));
    }
    for (i, d) in ders.iter().enumerate() {
        if parse_x509_certificate(d).is_err() {
            out.push(err(
                format!("certificate {} is not a valid X.509 certificate", i + 1),
                None,
            ));
            return None;
        }
    }
    Some(Chain { ders })
}

/// Checks order, signatures, CA flags and validity of a chain (leaf → intermediates →
/// optional root). With `bundle` (a CA bundle such as `ca.crt`), certificates are unrelated
/// and only validity is checked. Returns the leaf.
pub fn check_chain(
    field: &str,
    chain: &Chain,
    bundle: bool,
    opts: &TlsOptions,
    out: &mut Vec<Finding>,
) -> Option<Leaf> {
    let certs = chain.certs();
    let mut push = |severity, message: String, hint: Option<&str>| {
        out.push(finding(severity, field, message, hint.map(String::from)))
    };
    check_validity(&certs, opts, &mut push);
    if bundle {
        return None;
    }
    // Out of order: the same certificates form a chain in another order.
    let reorderable = chain.fix_order().is_ok_and(|c| c.ders != chain.ders);
    check_links(&certs, reorderable, &mut push);
    let leaf = certs.first()?;
    if certs.len() == 1 && leaf.issuer() == leaf.subject() {
        push(
            Severity::Warning,
            format!(
                "{} is self-signed: clients must trust it explicitly",
                at(0, leaf)
            ),
            None,
        );
    }
    Some(leaf_of(leaf))
}

/// `certificate N (subject)`, for messages.
fn at(i: usize, c: &X509Certificate) -> String {
    format!("certificate {} ({})", i + 1, c.subject())
}

/// Validity of every certificate at `opts.now`: expired or not yet valid is an error,
/// expiring within `min_days` a warning.
fn check_validity(
    certs: &[X509Certificate],
    opts: &TlsOptions,
    push: &mut impl FnMut(Severity, String, Option<&str>),
) {
    for (i, c) in certs.iter().enumerate() {
        let v = c.validity();
        let (nb, na) = (v.not_before.timestamp(), v.not_after.timestamp());
        if na < opts.now {
            push(
                Severity::Error,
                format!("{} expired on {}", at(i, c), date(na)),
                Some("renew it"),
            );
        } else if nb > opts.now {
            push(
                Severity::Error,
                format!("{} is not valid before {}", at(i, c), date(nb)),
                Some("check the clock of the issuer, or pass --now"),
            );
        } else if na - opts.now < i64::from(opts.min_days) * 86_400 {
            push(
                Severity::Warning,
                format!(
                    "{} expires in {} days, on {}",
                    at(i, c),
                    (na - opts.now) / 86_400,
                    date(na)
                ),
                Some("renew it soon (`tls: {min-days: N}` in the config sets this threshold)"),
            );
        }
    }
}

/// Each certificate is issued and signed by the next one, which is a CA; a self-issued last
/// certificate verifies with its own key.
fn check_links(
    certs: &[X509Certificate],
    reorderable: bool,
    push: &mut impl FnMut(Severity, String, Option<&str>),
) {
    let fix = "order the bundle leaf → intermediates → root: `keyseed cert bundle --cert FILE... --fix-order`";
    for i in 0..certs.len().saturating_sub(1) {
        let (c, p) = (&certs[i], &certs[i + 1]);
        if c.issuer() != p.subject() {
            let issued_elsewhere = reorderable
                || certs
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.subject() == c.issuer());
            let hint = if issued_elsewhere {
                Some(fix)
            } else {
                Some("add the missing intermediate certificate after it")
            };
            let what = if issued_elsewhere {
                "the chain is out of order"
            } else {
                "an intermediate certificate is missing"
            };
            push(
                Severity::Error,
                format!(
                    "{} is not issued by {} (its issuer is {}): {what}",
                    at(i, c),
                    at(i + 1, p),
                    c.issuer()
                ),
                hint,
            );
            continue;
        }
        match c.verify_signature(Some(p.public_key())) {
            Ok(()) => {}
            Err(X509Error::SignatureUnsupportedAlgorithm) => push(
                Severity::Warning,
                format!(
                    "the signature algorithm of {} cannot be verified here",
                    at(i, c)
                ),
                None,
            ),
            Err(_) => push(
                Severity::Error,
                format!(
                    "the signature of {} does not verify with the key of {}",
                    at(i, c),
                    at(i + 1, p)
                ),
                Some("the issuer certificate does not match: use the one that signed it"),
            ),
        }
        if !p.is_ca() {
            push(
                Severity::Error,
                format!(
                    "{} issues {} but is not a CA (basicConstraints CA:FALSE or missing)",
                    at(i + 1, p),
                    at(i, c)
                ),
                None,
            );
        }
    }
    if let Some(last) = certs.last() {
        if last.issuer() == last.subject()
            && certs.len() > 1
            && !matches!(
                last.verify_signature(None),
                Ok(()) | Err(X509Error::SignatureUnsupportedAlgorithm)
            )
        {
            push(
                Severity::Error,
                format!(
                    "{} is self-issued but its signature does not verify",
                    at(certs.len() - 1, last)
                ),
                None,
            );
        }
    }
}

/// What the key and host checks need from the leaf.
fn leaf_of(leaf: &X509Certificate) -> Leaf {
    let (has_san, dns_names) = match leaf.subject_alternative_name() {
        Ok(Some(san)) => (
            true,
            san.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
        ),
        _ => (false, Vec::new()),
    };
    Leaf {
        subject: leaf.subject().to_string(),
        public_key: leaf.public_key().subject_public_key.data.to_vec(),
        dns_names,
        has_san,
    }
}

/// Checks a private key value: PKCS#1, PKCS#8 or SEC1, unencrypted, matching the leaf.
pub fn check_key(field: &str, decoded: &[u8], leaf: Option<&Leaf>, out: &mut Vec<Finding>) {
    let mut err = |message: String, hint: Option<&str>| {
        out.push(finding(
            Severity::Error,
            field,
            message,
            hint.map(String::from),
        ))
    };
    if String::from_utf8_lossy(decoded)
        .trim()
        .starts_with(B64_BEGIN)
    {
        return err(
            "the key is base64 of a PEM, encoded twice".into(),
            Some("base64-encode the PEM once"),
        );
    }
    let blocks = match pem_blocks(decoded) {
        Ok((b, _)) => b,
        Err(e) => return err(format!("not valid PEM: {e}"), None),
    };
    let keys: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .collect();
    let [key] = keys.as_slice() else {
        return err(
            format!("expected one private key, found {}", keys.len()),
            Some("tls.key holds exactly one PEM private key"),
        );
    };
    let decrypt_hint =
        Some("Kubernetes cannot use an encrypted key: `openssl pkey -in key.pem -out key.dec.pem`");
    if key.label == "ENCRYPTED PRIVATE KEY" || key.encrypted_headers {
        return err("the private key is encrypted".into(), decrypt_hint);
    }
    let public = match key.label.as_str() {
        "RSA PRIVATE KEY" => ring::signature::RsaKeyPair::from_der(&key.der)
            .map(|k| k.public().as_ref().to_vec())
            .ok(),
        "PRIVATE KEY" => pkcs8_public(&key.der),
        "EC PRIVATE KEY" => sec1_public(&key.der),
        other => {
            return err(
                format!("unsupported key type `{other}`"),
                Some("use PKCS#1, PKCS#8 or SEC1 (EC) PEM"),
            )
        }
    };
    let Some(public) = public else {
        return err(
            format!(
                "the `{}` block is not a valid (or supported) private key",
                key.label
            ),
            None,
        );
    };
    if let Some(leaf) = leaf {
        if public != leaf.public_key {
            err(
                format!("the private key does not belong to the leaf certificate ({})", leaf.subject),
                Some("use the key the certificate was issued for (compare `openssl x509 -noout -pubkey` and `openssl pkey -pubout`)"),
            );
        }
    }
}

fn pkcs8_public(der: &[u8]) -> Option<Vec<u8>> {
    use ring::signature::{self, KeyPair};
    if let Ok(k) = signature::RsaKeyPair::from_pkcs8(der) {
        return Some(k.public().as_ref().to_vec());
    }
    let rng = ring::rand::SystemRandom::new();
    for alg in [
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
    ] {
        if let Ok(k) = signature::EcdsaKeyPair::from_pkcs8(alg, der, &rng) {
            return Some(k.public_key().as_ref().to_vec());
        }
    }
    signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .ok()
        .map(|k| k.public_key().as_ref().to_vec())
}

/// A minimal DER reader: (tag, content, rest).
fn der(i: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = i.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (l0 as usize, rest)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (
            rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize),
            &rest[n..],
        )
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// SEC1 `ECPrivateKey` (RFC 5915): checks scalar ↔ point with ring and returns the point.
fn sec1_public(d: &[u8]) -> Option<Vec<u8>> {
    use ring::signature::{self, KeyPair};
    let (0x30, seq, _) = der(d)? else { return None };
    let (0x02, _version, rest) = der(seq)? else {
        return None;
    };
    let (0x04, private, mut rest) = der(rest)? else {
        return None;
    };
    let (mut curve, mut point) = (None, None);
    while !rest.is_empty() {
        let (tag, content, r) = der(rest)?;
        match tag {
            0xa0 => curve = der(content).map(|(_, oid, _)| oid.to_vec()),
            0xa1 => {
                point = der(content)
                    .and_then(|(_, bits, _)| bits.split_first().map(|(_, p)| p.to_vec()))
            }
            _ => {}
        }
        rest = r;
    }
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    let alg = match (curve.as_deref(), private.len()) {
        (Some(P256), _) | (None, 32) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        (Some(P384), _) | (None, 48) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => return None,
    };
    let point = point?;
    let rng = ring::rand::SystemRandom::new();
    let k = signature::EcdsaKeyPair::from_private_key_and_public_key(alg, private, &point, &rng)
        .ok()?;
    Some(k.public_key().as_ref().to_vec())
}

/// RFC 6125 host matching: a `*` is allowed only as the whole left-most label and matches
/// exactly one label.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    let (p, h) = (p.trim_end_matches('.'), h.trim_end_matches('.'));
    if p == h {
        return true;
    }
    match p.strip_prefix("*.") {
        Some(suffix) if !suffix.contains('*') && suffix.contains('.') => h
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && first != "*" && rest == suffix),
        _ => false,
    }
}

/// Whether the leaf covers `host` (an Ingress host may itself be a wildcard: it is covered
/// by the same wildcard).
pub fn covers(leaf: &Leaf, host: &str) -> bool {
    leaf.dns_names
        .iter()
        .any(|n| host_matches(n, host) || n.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6125_wildcards() {
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(host_matches("*.Example.com", "A.example.COM"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.com", "example.com"));
        assert!(!host_matches("a*.example.com", "ab.example.com"));
        assert!(host_matches("example.com", "example.com."));
    }

    #[test]
    fn pem_blocks_accept_crlf_and_report_junk() {
        let (b, junk) =
            pem_blocks(b"-----BEGIN X-----\r\nAAEC\r\n-----END X-----\r\njunk\n").unwrap();
        assert_eq!(b[0].der, vec![0, 1, 2]);
        assert!(junk);
        assert!(pem_blocks(b"-----BEGIN X-----\nAAEC\n").is_err());
    }

    #[test]
    fn now_parses_rfc3339() {
        assert_eq!(parse_time("1970-01-02T00:00:00Z"), Ok(86_400));
        assert!(parse_time("yesterday").is_err());
    }
}
