//! The seed file (`keyseed.age`; age spec <https://age-encryption.org/v1>): opening it with
//! the identities found, and its plaintext (`keyseed: 1`, the 32-byte `seed`, optional static
//! `values`). The decrypted seed lives only in [`Seed`] and zeroizing buffers.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use base64::Engine as _;

use crate::manifest::edit::quote_into;
use crate::secret::{SecretBytes, SecretValue, Seed};
use crate::seed::error::KeyError;
use crate::seed::identity::IdentitySources;

/// The decrypted seed file: the seed and the static values.
pub struct SeedFile {
    /// The 32-byte seed.
    pub seed: Seed,
    /// Static values by name.
    pub values: BTreeMap<String, SecretValue>,
    /// Notes from opening it (identity sources skipped), never secret.
    pub notes: Vec<String>,
    /// The identity source that opened it (never a key); `None` for a passphrase or a seed
    /// made here.
    pub opened_by: Option<String>,
    /// `recipients:`: the digest of the recipient set keyseed last encrypted it to
    /// ([`crate::seed::recipients::digest`]); `None` in a seed from an older keyseed.
    pub recipients: Option<String>,
}

impl std::fmt::Debug for SeedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedFile")
            .field("seed", &self.seed)
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The plaintext layout, read with serde-saphyr. Strings are wiped on drop.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    keyseed: u32,
    seed: String,
    #[serde(default)]
    values: BTreeMap<String, String>,
    #[serde(default)]
    recipients: Option<String>,
}

impl Drop for RawSeed {
    fn drop(&mut self) {
        crate::secret::wipe(&mut self.seed);
        for v in self.values.values_mut() {
            crate::secret::wipe(v);
        }
    }
}

impl SeedFile {
    /// A new random seed with no values.
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
        let s = SeedFile {
            seed: Seed::new(b),
            values: BTreeMap::new(),
            notes: Vec::new(),
            opened_by: None,
            recipients: None,
        };
        zeroize::Zeroize::zeroize(&mut b);
        s
    }

    /// Parses decrypted plaintext. Errors never quote the content.
    pub fn parse(plain: &SecretBytes, path: &Path) -> Result<Self, KeyError> {
        let bad = |why: String| KeyError::SeedFormat {
            path: path.to_path_buf(),
            why,
        };
        let text = std::str::from_utf8(plain.expose()).map_err(|_| bad("not UTF-8".into()))?;
        let mut opts = serde_saphyr::options::Options::default();
        opts.legacy_octal_numbers = true;
        let raw: RawSeed = serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            // serde-saphyr messages can quote the input; keep the position only.
            match e.location() {
                Some(l) => bad(format!(
                    "invalid at line {} column {} (expected `keyseed: 1`, `seed: <base64>` and optional `values:` of strings)",
                    l.line(),
                    l.column()
                )),
                None => bad("expected `keyseed: 1`, `seed: <base64>` and optional `values:`".into()),
            }
        })?;
        if raw.keyseed != 1 {
            return Err(bad(format!(
                "format version {} is not supported (expected 1)",
                raw.keyseed
            )));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(raw.seed.trim())
            .map(SecretBytes::new)
            .map_err(|_| bad("`seed` is not valid base64".into()))?;
        let bytes: [u8; 32] = decoded.expose().try_into().map_err(|_| {
            bad(format!(
                "`seed` must be 32 bytes, it is {}",
                decoded.expose().len()
            ))
        })?;
        let mut values = BTreeMap::new();
        for (k, v) in &raw.values {
            if !crate::placeholder::is_key_name(k) {
                return Err(bad(format!("value name `{k}` must match [-._a-zA-Z0-9]+")));
            }
            values.insert(k.clone(), SecretValue::new(v.clone()));
        }
        Ok(SeedFile {
            seed: Seed::new(bytes),
            values,
            notes: Vec::new(),
            opened_by: None,
            recipients: raw.recipients.clone(),
        })
    }

    /// The plaintext keyseed writes for encryption to `recipients` (their digest is
    /// recorded, for `keyseed seed verify`): every string double-quoted, so no YAML 1.1
    /// surprise.
    pub fn to_plaintext(&self, recipients: &[String]) -> SecretBytes {
        let mut s = String::with_capacity(128);
        s.push_str("keyseed: 1\n");
        s.push_str("seed: ");
        // SECRET: the seed is written into the plaintext that is encrypted right after.
        s.push_str(&base64::engine::general_purpose::STANDARD.encode(self.seed.expose()));
        s.push('\n');
        if !recipients.is_empty() {
            s.push_str("recipients: ");
            quote_into(&mut s, &crate::seed::recipients::digest(recipients));
            s.push('\n');
        }
        if !self.values.is_empty() {
            s.push_str("values:\n");
            for (k, v) in &self.values {
                s.push_str("  ");
                quote_into(&mut s, k);
                s.push_str(": ");
                quote_into(&mut s, v.expose());
                s.push('\n');
            }
        }
        let out = SecretBytes::new(s.as_bytes().to_vec());
        crate::secret::wipe(&mut s);
        out
    }
}

/// Reads and decrypts the seed file.
/// `origin` says how the path was chosen, for messages.
pub fn open(
    path: &Path,
    origin: &'static str,
    sources: &IdentitySources,
) -> Result<SeedFile, KeyError> {
    let data = crate::io::read_regular(path, crate::io::MAX_SEED_FILE).map_err(|source| {
        KeyError::SeedRead {
            path: path.to_path_buf(),
            origin,
            source,
        }
    })?;
    let d = decrypt(&data, path, sources)?;
    let mut seed = SeedFile::parse(&d.plain, path)?;
    seed.notes = d.notes;
    seed.opened_by = d.opened_by;
    Ok(seed)
}

/// A decrypted seed file's plaintext, and how it was opened.
pub struct Decrypted {
    /// The plaintext (secret).
    pub plain: SecretBytes,
    /// Identity sources that were skipped, with why (never key material).
    pub notes: Vec<String>,
    /// The identity source that opened it (`None` for a passphrase).
    pub opened_by: Option<String>,
}

/// Decrypts seed file bytes (`path` is for messages) with the identities of `sources`.
pub fn decrypt(data: &[u8], path: &Path, sources: &IdentitySources) -> Result<Decrypted, KeyError> {
    let corrupt = |why: String| KeyError::SeedCorrupt {
        path: path.to_path_buf(),
        why,
    };
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(data))
        .map_err(|e| corrupt(e.to_string()))?;
    let mut plain = SecretBytes::new(Vec::with_capacity(4096));
    let mut notes = Vec::new();
    let mut opened_by = None;
    if dec.is_scrypt() {
        let pass = sources.passphrase.as_ref().ok_or(KeyError::Passphrase {
            path: path.to_path_buf(),
            why: "KEYSEED_PASSPHRASE is not set",
        })?;
        let mut id = age::scrypt::Identity::new(pass.expose().to_string().into());
        id.set_max_work_factor(22);
        let mut r =
            dec.decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(|e| match e {
                    age::DecryptError::DecryptionFailed
                    | age::DecryptError::KeyDecryptionFailed => KeyError::Passphrase {
                        path: path.to_path_buf(),
                        why: "the passphrase is wrong",
                    },
                    e => corrupt(e.to_string()),
                })?;
        r.read_to_end(plain.expose_mut())
            .map_err(|e| corrupt(e.to_string()))?;
    } else {
        let ids = sources.load()?;
        if ids.ids.is_empty() {
            return Err(match ids.missing_plugin {
                Some(e) => e,
                None => KeyError::NoIdentity { tried: ids.tried },
            });
        }
        notes.clone_from(&ids.skipped);
        let tried = ids.tried.clone();
        let wrong = || KeyError::WrongIdentity {
            path: path.to_path_buf(),
            tried: tried.clone(),
        };
        // Each identity alone, in lookup order (as age tries them), so the source that opens
        // the seed is known (`keyseed seed verify` names it).
        let origins = ids.origins.clone();
        let run = move |data: Vec<u8>, ids: Vec<Box<dyn age::Identity + Send + Sync>>| {
            for (id, origin) in ids.iter().zip(origins) {
                let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(&data[..]))
                    .map_err(|e| Err(e.to_string()))?;
                let mut r = match dec.decrypt(std::iter::once(id.as_ref() as &dyn age::Identity)) {
                    Ok(r) => r,
                    Err(age::DecryptError::NoMatchingKeys) => continue,
                    Err(e) => return Err(Err(e.to_string())),
                };
                let mut plain = SecretBytes::new(Vec::with_capacity(4096));
                r.read_to_end(plain.expose_mut())
                    .map_err(|e| Err(e.to_string()))?;
                return Ok((plain, origin));
            }
            Err(Ok(()))
        };
        let outcome = if ids.plugins {
            // An age plugin is another program: it may crash, or hang (a hardware key waiting
            // for a touch). It runs on a thread of its own, waited for a bounded time.
            let timeout = sources
                .plugin_timeout
                .unwrap_or(std::time::Duration::from_secs(120));
            let (tx, rx) = std::sync::mpsc::channel();
            let (data, list) = (data.to_vec(), ids.ids);
            std::thread::spawn(move || {
                let _ = tx.send(run(data, list));
            });
            match rx.recv_timeout(timeout) {
                Ok(r) => r.map_err(|e| match e {
                    Ok(()) => wrong(),
                    Err(why) => KeyError::Plugin {
                        path: path.to_path_buf(),
                        why,
                    },
                }),
                Err(_) => Err(KeyError::Plugin {
                    path: path.to_path_buf(),
                    why: format!(
                        "no answer within {} s (KEYSEED_PLUGIN_TIMEOUT)",
                        timeout.as_secs()
                    ),
                }),
            }
        } else {
            run(data.to_vec(), ids.ids).map_err(|e| match e {
                Ok(()) => wrong(),
                Err(why) => corrupt(why),
            })
        };
        let (p, origin) = outcome?;
        plain = p;
        opened_by = Some(origin);
    }
    Ok(Decrypted {
        plain,
        notes,
        opened_by,
    })
}

/// The recipient stanzas of an age file's header (armored or not), by type, without age's
/// random `*-grease` stanzas: what it is encrypted to, as far as the header tells.
pub fn stanza_types(data: &[u8]) -> Result<Vec<String>, String> {
    let mut r = age::armor::ArmoredReader::new(data);
    let mut header = Vec::new();
    let mut buf = [0u8; 4096];
    // The header ends at the line starting with `---`.
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        header.extend_from_slice(&buf[..n]);
        if header.windows(4).any(|w| w == b"\n---") || header.len() > 1 << 20 {
            break;
        }
    }
    let end = header
        .windows(4)
        .position(|w| w == b"\n---")
        .ok_or("no age header")?;
    let text = std::str::from_utf8(&header[..end]).map_err(|_| "the age header is not text")?;
    if !text.starts_with("age-encryption.org/v1") {
        return Err("not an age v1 file".into());
    }
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("-> "))
        .filter_map(|l| l.split(' ').next())
        .filter(|t| !t.ends_with("-grease"))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_plaintext_round_trips() {
        let mut s = SeedFile::generate();
        s.values
            .insert("api-key".into(), SecretValue::new("yes".into()));
        let p = s.to_plaintext(&["age1x".into()]);
        let back = SeedFile::parse(&p, Path::new("x")).unwrap();
        assert_eq!(
            back.recipients,
            Some(crate::seed::recipients::digest(&["age1x".into()]))
        );
        assert_eq!(back.seed.expose(), s.seed.expose());
        assert_eq!(back.values["api-key"].expose(), "yes");
    }

    #[test]
    fn seed_format_errors_never_quote_content() {
        let p = SecretBytes::new(b"keyseed: 1\nseed: SUPERSECRETSEEDTEXT\nextra: 1\n".to_vec());
        let e = SeedFile::parse(&p, Path::new("x")).unwrap_err().to_string();
        assert!(!e.contains("SUPERSECRET"), "{e}");
        let p = SecretBytes::new(b"keyseed: 1\nseed: SUPERSECRETSEEDTEXT\n".to_vec());
        let e = SeedFile::parse(&p, Path::new("x")).unwrap_err().to_string();
        assert!(!e.contains("SUPERSECRET"), "{e}");
        assert!(format!("{:?}", SeedFile::generate()).contains("REDACTED"));
    }
}
