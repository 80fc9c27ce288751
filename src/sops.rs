//! SOPS output (`--sops-age`): every Secret of the final stream becomes a SOPS-encrypted
//! document (its own `sops:` metadata, `encrypted_regex: ^(data|stringData)$`, the age
//! recipients given) that `sops --decrypt` and Flux's kustomize-controller decrypt to exactly
//! the Secret of the plain render. Deterministic: the data key, the IVs, the age file key,
//! the ephemeral keys and the payload nonce are derived from the seed, the recipients and the
//! Secret's content (docs/derivation.md, "SOPS output"), so an unchanged render encrypts to
//! the same bytes and a changed value changes only its Secret.
//!
//! The age file is composed here (age v1, X25519 recipients, one STREAM chunk) because the
//! `age` crate draws its ephemeral keys from the OS; it is checked against the `age` crate,
//! Go age and sops in the tests.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::derive::kdf::{info, Stream};
use crate::derive::mac::hex;
use crate::k8s::object;
use crate::manifest::document::{Documents, EditError};
use crate::manifest::edit::quote;
use crate::manifest::stream;
use crate::manifest::yaml::{resolve_plain, Anchors, Node, Plain, Scalar, Style};
use crate::secret::{SecretBytes, Seed};

/// The sops version written into the metadata (the format is read by sops 3.x).
pub const SOPS_VERSION: &str = "3.11.0";
/// The fixed `lastmodified`: output never depends on the clock.
pub const LAST_MODIFIED: &str = "2000-01-01T00:00:00Z";
/// Which keys are encrypted.
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// Why SOPS output is not possible.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// A recipient is not an age X25519 public key.
    #[error("`{0}` is not an age X25519 recipient (age1…); --sops-age takes age public keys")]
    Recipient(String),
    /// A Secret inside a List or ResourceList.
    #[error("document {0}: a Secret inside a List cannot be SOPS-encrypted; render it as its own document")]
    InList(usize),
    /// A value sops cannot represent.
    #[error("document {0}: the Secret holds a value SOPS cannot encrypt (a float, a tag, an alias, or a number or boolean in data/stringData)")]
    Value(usize),
    /// The encrypted document does not parse (a bug).
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// The recipients to encrypt to.
#[derive(Debug, Clone)]
pub struct Recipients {
    keys: Vec<(String, [u8; 32])>,
}

impl Recipients {
    /// Parses `age1…` recipients (repeated flag or comma-separated variable).
    pub fn parse(list: &[String]) -> Result<Recipients, SopsError> {
        let mut keys = Vec::new();
        for r in list
            .iter()
            .flat_map(|r| r.split(','))
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let bad = || SopsError::Recipient(r.to_string());
            let (hrp, data) = bech32::decode(r).map_err(|_| bad())?;
            if hrp.as_str() != "age"
                || data.len() != 32
                || r.parse::<age::x25519::Recipient>().is_err()
            {
                return Err(bad());
            }
            let mut pk = [0u8; 32];
            pk.copy_from_slice(&data);
            keys.push((r.to_string(), pk));
        }
        if keys.is_empty() {
            return Err(SopsError::Recipient(String::new()));
        }
        Ok(Recipients { keys })
    }
}

/// A derived secret byte string for `purpose` and `id` (ChaCha20 stream under the v1 KDF).
fn derived(seed: &Seed, purpose: &str, id: &str, n: usize) -> SecretBytes {
    let mut out = SecretBytes::zeroed(n);
    Stream::new(seed, &info(purpose, id, 0)).fill(out.expose_mut());
    out
}

fn b64_raw(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(b)
}

fn hkdf32(ikm: &[u8], salt: &[u8], label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(label, &mut out)
        .expect("32 bytes");
    out
}

/// An armored age v1 file of `plaintext` (at most 64 KiB: one STREAM chunk) for the
/// recipients, with the given file key, ephemeral secrets (one per recipient) and payload
/// nonce.
fn age_file(
    recipients: &Recipients,
    file_key: &[u8; 16],
    ephemeral: &[[u8; 32]],
    nonce: &[u8; 16],
    plaintext: &[u8],
) -> String {
    let mut header = String::from("age-encryption.org/v1\n");
    for ((_, pk), esk) in recipients.keys.iter().zip(ephemeral) {
        let esk = x25519_dalek::StaticSecret::from(*esk);
        let epk = x25519_dalek::PublicKey::from(&esk);
        let shared = esk.diffie_hellman(&x25519_dalek::PublicKey::from(*pk));
        let mut salt = epk.as_bytes().to_vec();
        salt.extend_from_slice(pk);
        let wrap = hkdf32(shared.as_bytes(), &salt, b"age-encryption.org/v1/X25519");
        let body = chacha20poly1305::ChaCha20Poly1305::new((&wrap).into())
            .encrypt(&[0u8; 12].into(), &file_key[..])
            .expect("chacha20poly1305 encrypts");
        header.push_str(&format!(
            "-> X25519 {}\n{}\n",
            b64_raw(epk.as_bytes()),
            b64_raw(&body)
        ));
    }
    header.push_str("---");
    let mac_key = hkdf32(file_key, b"", b"header");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&mac_key).expect("any key length");
    mac.update(header.as_bytes());
    header.push_str(&format!(" {}\n", b64_raw(&mac.finalize().into_bytes())));
    let payload_key = hkdf32(file_key, nonce, b"payload");
    let mut chunk_nonce = [0u8; 12];
    chunk_nonce[11] = 1; // counter 0, last chunk
    let ct = chacha20poly1305::ChaCha20Poly1305::new((&payload_key).into())
        .encrypt(&chunk_nonce.into(), plaintext)
        .expect("chacha20poly1305 encrypts");
    let mut bin = header.into_bytes();
    bin.extend_from_slice(nonce);
    bin.extend_from_slice(&ct);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bin);
    let mut out = String::from("-----BEGIN AGE ENCRYPTED FILE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END AGE ENCRYPTED FILE-----\n");
    out
}

/// sops' value encryption: AES-256-GCM with a 32-byte IV and the path `a:b:` as AAD.
fn encrypt_value(key: &[u8], iv: &[u8; 32], plaintext: &[u8], aad: &str, kind: &str) -> String {
    use aes_gcm::aead::generic_array::typenum::U32;
    type Gcm32 = aes_gcm::AesGcm<aes_gcm::aes::Aes256, U32>;
    let cipher = Gcm32::new_from_slice(key).expect("32-byte key");
    let out = cipher
        .encrypt(
            aes_gcm::aead::generic_array::GenericArray::from_slice(iv),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .expect("aes-gcm encrypts");
    let (data, tag) = out.split_at(out.len() - 16);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        b64.encode(data),
        b64.encode(iv),
        b64.encode(tag)
    )
}

/// A leaf as sops reads it from what keyseed writes.
enum Leaf {
    Str(String),
    Bool(bool),
    Int(String),
}

impl Leaf {
    /// sops' `ToBytes`.
    fn mac_bytes(&self) -> Vec<u8> {
        match self {
            Leaf::Str(s) => s.as_bytes().to_vec(),
            Leaf::Bool(true) => b"True".to_vec(),
            Leaf::Bool(false) => b"False".to_vec(),
            Leaf::Int(i) => i.as_bytes().to_vec(),
        }
    }
}

/// Writes one Secret as a SOPS document.
struct Writer<'a> {
    seed: &'a Seed,
    data_key: SecretBytes,
    key_id: String,
    mac: Sha512,
    out: String,
    document: usize,
    anchors: Anchors<'a>,
}

impl Writer<'_> {
    fn leaf(s: &Scalar) -> Option<Leaf> {
        if s.tag.is_some() {
            return None;
        }
        if s.style != Style::Plain {
            return Some(Leaf::Str(s.value.clone()));
        }
        match resolve_plain(&s.value) {
            Plain::Str => Some(Leaf::Str(s.value.clone())),
            Plain::Bool(b) => Some(Leaf::Bool(b)),
            Plain::Null => Some(Leaf::Str(String::new())),
            Plain::Int => {
                // Plain decimal only; other spellings (0x, octal, `_`) read differently.
                let v = s.value.strip_prefix('-').unwrap_or(&s.value);
                let canonical = !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && (v == "0" || !v.starts_with('0'));
                canonical.then(|| Leaf::Int(s.value.clone()))
            }
            Plain::Float => None,
        }
    }

    fn value(
        &mut self,
        node: &Node,
        path: &mut Vec<String>,
        indent: usize,
    ) -> Result<(), SopsError> {
        let node = self.anchors.resolve(node);
        let pad = " ".repeat(indent);
        match node {
            Node::Map(m) => {
                let entries = self.anchors.entries(m);
                if entries.is_empty() {
                    self.out.push_str(" {}\n");
                    return Ok(());
                }
                self.out.push('\n');
                for (k, v) in entries {
                    self.out.push_str(&format!("{pad}{}:", quote(&k.value)));
                    path.push(k.value.clone());
                    self.value(v, path, indent + 4)?;
                    path.pop();
                }
            }
            Node::Seq(s) => {
                if s.items.is_empty() {
                    self.out.push_str(" []\n");
                    return Ok(());
                }
                self.out.push('\n');
                for it in &s.items {
                    self.out.push_str(&format!("{pad}-"));
                    self.value(it, path, indent + 4)?;
                }
            }
            Node::Scalar(s) => {
                let leaf = Self::leaf(s).ok_or(SopsError::Value(self.document))?;
                self.mac.update(leaf.mac_bytes());
                let encrypted = path.iter().any(|p| p == "data" || p == "stringData");
                let text = match (&leaf, encrypted) {
                    (Leaf::Str(v), true) if !v.is_empty() => {
                        let aad = format!("{}:", path.join(":"));
                        let mut h = Sha256::new();
                        for part in [self.key_id.as_bytes(), aad.as_bytes(), v.as_bytes()] {
                            h.update((part.len() as u64).to_be_bytes());
                            h.update(part);
                        }
                        let ivb = derived(self.seed, "sops-iv/v1", &hex(&h.finalize()), 32);
                        let mut iv = [0u8; 32];
                        iv.copy_from_slice(ivb.expose());
                        quote(&encrypt_value(
                            self.data_key.expose(),
                            &iv,
                            v.as_bytes(),
                            &aad,
                            "str",
                        ))
                    }
                    (Leaf::Str(v), _) => quote(v),
                    // sops decrypts every leaf under data/stringData as a string; Kubernetes
                    // would refuse a number or a boolean there anyway.
                    (_, true) => return Err(SopsError::Value(self.document)),
                    (Leaf::Bool(b), false) => b.to_string(),
                    (Leaf::Int(i), false) => i.clone(),
                };
                self.out.push_str(&format!(" {text}\n"));
            }
            Node::Alias(..) => return Err(SopsError::Value(self.document)),
        }
        Ok(())
    }
}

/// Replaces every Secret document with its SOPS document. Other documents are untouched.
pub fn encrypt_documents(
    docs: &mut Documents,
    recipients: &Recipients,
    seed: &Seed,
) -> Result<(), SopsError> {
    for i in 0..docs.len() {
        if crate::text::find!(docs.bytes(i), b"Secret").is_none() {
            continue;
        }
        let Some(roots) = docs.view(i) else { continue };
        let resources = object::resources(&roots);
        if !resources
            .iter()
            .any(|o| o.get_str("kind") == Some("Secret"))
        {
            continue;
        }
        if roots.len() != 1 || resources.len() != 1 {
            return Err(SopsError::InList(i + 1));
        }
        let text = sops_document(i + 1, docs.text(i), &roots, recipients, seed)?;
        drop(roots);
        docs.replace(i, text)?;
    }
    Ok(())
}

fn sops_document(
    number: usize,
    text: &str,
    roots: &[Node],
    recipients: &Recipients,
    seed: &Seed,
) -> Result<String, SopsError> {
    // Everything the encryption derives from: the recipients and the document's bytes.
    let mut h = Sha256::new();
    for (r, _) in &recipients.keys {
        h.update((r.len() as u64).to_be_bytes());
        h.update(r.as_bytes());
    }
    h.update((text.len() as u64).to_be_bytes());
    h.update(text.as_bytes());
    let key_id = hex(&h.finalize());
    let mut w = Writer {
        seed,
        data_key: derived(seed, "sops-data-key/v1", &key_id, 32),
        key_id: key_id.clone(),
        mac: Sha512::new(),
        out: stream::leading_comments(text),
        document: number,
        anchors: Anchors::new(roots),
    };
    let Node::Map(m) = w.anchors.resolve(&roots[0]) else {
        return Err(SopsError::Value(number));
    };
    let entries = w.anchors.entries(m);
    let mut path = Vec::new();
    for (k, v) in entries {
        if k.value == "sops" {
            continue;
        }
        w.out.push_str(&format!("{}:", quote(&k.value)));
        path.push(k.value.clone());
        w.value(v, &mut path, 4)?;
        path.pop();
    }
    let mac_hex: String = w
        .mac
        .clone()
        .finalize()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let mac_iv_b = derived(seed, "sops-mac-iv/v1", &key_id, 32);
    let mut mac_iv = [0u8; 32];
    mac_iv.copy_from_slice(mac_iv_b.expose());
    let mac = encrypt_value(
        w.data_key.expose(),
        &mac_iv,
        mac_hex.as_bytes(),
        LAST_MODIFIED,
        "str",
    );
    let mut s = w.out;
    s.push_str("sops:\n    age:\n");
    for (r, pk) in &recipients.keys {
        // Each recipient gets its own age file of the data key, as sops writes it; its file
        // key, ephemeral key and nonce are derived for this recipient and this document.
        let id = format!("{key_id}/{r}");
        let only = Recipients {
            keys: vec![(r.clone(), *pk)],
        };
        let fk = derived(seed, "sops-age-file-key/v1", &id, 16);
        let mut file_key = [0u8; 16];
        file_key.copy_from_slice(fk.expose());
        let e = derived(seed, "sops-age-ephemeral/v1", &id, 32);
        let mut ephemeral = [0u8; 32];
        ephemeral.copy_from_slice(e.expose());
        let nb = derived(seed, "sops-age-nonce/v1", &id, 16);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(nb.expose());
        let armored = age_file(&only, &file_key, &[ephemeral], &nonce, w.data_key.expose());
        s.push_str(&format!("        - recipient: {r}\n          enc: |\n"));
        for line in armored.lines() {
            s.push_str(&format!("            {line}\n"));
        }
    }
    s.push_str(&format!("    lastmodified: \"{LAST_MODIFIED}\"\n"));
    s.push_str(&format!("    mac: {}\n", quote(&mac)));
    s.push_str(&format!(
        "    encrypted_regex: {}\n",
        quote(ENCRYPTED_REGEX)
    ));
    s.push_str(&format!("    version: {SOPS_VERSION}\n"));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_file_decrypts_with_the_age_crate() {
        use std::io::Read;
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        let rs = Recipients::parse(&[r]).unwrap();
        let armored = age_file(
            &rs,
            &[7u8; 16],
            &[[9u8; 32]],
            &[3u8; 16],
            b"the data key, 32 bytes long!!!!",
        );
        let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(armored.as_bytes()))
            .unwrap();
        let mut out = Vec::new();
        dec.decrypt(std::iter::once(&id as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"the data key, 32 bytes long!!!!");
    }
}
