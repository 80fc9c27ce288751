//! Identities and the seed file (SPEC §1; age spec: <https://age-encryption.org/v1>).
//!
//! Identities are looked up in a fixed order (`--identity`, `KEYSEED_AGE_KEY`,
//! `KEYSEED_AGE_KEY_FILE`, `$XDG_CONFIG_HOME/keyseed/keys.txt`); every identity found is used,
//! and every place looked at is listed when none works. Identities never come from stdin,
//! which carries manifests. The decrypted seed lives only in [`Seed`] and zeroizing buffers.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use secrecy::ExposeSecret;

use crate::error::{FileError, KeyError};
use crate::secret::{SecretBytes, SecretValue, Seed};

/// Where identities may come from, resolved from flags and environment.
#[derive(Debug, Default)]
pub struct IdentitySources {
    /// `--identity FILE`, in order.
    pub files: Vec<PathBuf>,
    /// `KEYSEED_AGE_KEY`: identity text itself (never printed).
    pub key_text: Option<SecretValue>,
    /// `KEYSEED_AGE_KEY_FILE`.
    pub key_file: Option<PathBuf>,
    /// The default `$XDG_CONFIG_HOME/keyseed/keys.txt`.
    pub default_file: Option<PathBuf>,
    /// `KEYSEED_PASSPHRASE`, for passphrase-encrypted seeds.
    pub passphrase: Option<SecretValue>,
}

/// The identities found, and where they were looked for.
pub struct Identities {
    ids: Vec<Box<dyn age::Identity>>,
    /// Every place looked at, in order, with what was found there.
    pub tried: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys, [REDACTED])", self.ids.len())
    }
}

/// Parses identity text: an age identity file (one or more `AGE-SECRET-KEY-1…` lines with
/// comments) or an unencrypted OpenSSH private key (ssh-ed25519 / ssh-rsa).
fn parse_identities(text: &[u8], origin: &str) -> Result<Vec<Box<dyn age::Identity>>, KeyError> {
    let bad = |why: &str| KeyError::IdentityParse {
        origin: origin.to_string(),
        why: why.to_string(),
    };
    if text.windows(11).any(|w| w == b"-----BEGIN ") {
        let id = age::ssh::Identity::from_buffer(BufReader::new(text), Some(origin.to_string()))
            .map_err(|_| bad("not a valid OpenSSH private key"))?;
        return match id {
            age::ssh::Identity::Unencrypted(_) => Ok(vec![Box::new(id)]),
            age::ssh::Identity::Encrypted(_) => Err(bad(
                "the SSH key is passphrase-protected; keyseed cannot prompt (decrypt a copy with `ssh-keygen -p`)",
            )),
            age::ssh::Identity::Unsupported(_) => Err(bad("this SSH key type is not supported")),
        };
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(text))
        .map_err(|e| bad(&scrub_line_error(&e.to_string())))?;
    let ids = file
        .into_identities()
        .map_err(|_| bad("an identity in it cannot be used"))?;
    if ids.is_empty() {
        return Err(bad("it holds no identity"));
    }
    Ok(ids
        .into_iter()
        .map(|b| b as Box<dyn age::Identity>)
        .collect())
}

/// age's identity-file error names the line number only; keep only that part to be safe.
fn scrub_line_error(msg: &str) -> String {
    match msg.find("line") {
        Some(i) => {
            let n: String = msg[i..]
                .chars()
                .take_while(|c| !c.is_ascii_punctuation())
                .collect();
            format!("unsupported or malformed key on {n}")
        }
        None => "unsupported or malformed key".to_string(),
    }
}

fn read_identity_file(path: &Path, origin: &'static str) -> Result<SecretBytes, KeyError> {
    std::fs::read(path)
        .map(SecretBytes::new)
        .map_err(|source| KeyError::IdentityRead {
            path: path.to_path_buf(),
            origin,
            source,
        })
}

impl IdentitySources {
    /// Loads every identity from every source, in order. An explicitly named file that is
    /// missing is an error; the default file may be absent.
    pub fn load(&self) -> Result<Identities, KeyError> {
        let mut ids = Vec::new();
        let mut tried = Vec::new();
        for f in &self.files {
            let text = read_identity_file(f, "--identity")?;
            let origin = format!("--identity {}", f.display());
            ids.extend(parse_identities(text.expose(), &origin)?);
            tried.push(origin);
        }
        match &self.key_text {
            Some(t) => {
                ids.extend(parse_identities(t.expose().as_bytes(), "KEYSEED_AGE_KEY")?);
                tried.push("KEYSEED_AGE_KEY".into());
            }
            None => tried.push("KEYSEED_AGE_KEY (not set)".into()),
        }
        match &self.key_file {
            Some(f) => {
                let text = read_identity_file(f, "KEYSEED_AGE_KEY_FILE")?;
                let origin = format!("KEYSEED_AGE_KEY_FILE={}", f.display());
                ids.extend(parse_identities(text.expose(), &origin)?);
                tried.push(origin);
            }
            None => tried.push("KEYSEED_AGE_KEY_FILE (not set)".into()),
        }
        match &self.default_file {
            Some(f) if f.exists() => {
                let text = read_identity_file(f, "the default identity file")?;
                let origin = f.display().to_string();
                ids.extend(parse_identities(text.expose(), &origin)?);
                tried.push(origin);
            }
            Some(f) => tried.push(format!("{} (no such file)", f.display())),
            None => tried.push("$XDG_CONFIG_HOME/keyseed/keys.txt (no home directory)".into()),
        }
        Ok(Identities { ids, tried })
    }
}

/// The decrypted seed file: the seed and the static values.
pub struct SeedFile {
    /// The 32-byte seed.
    pub seed: Seed,
    /// Static values by name.
    pub values: BTreeMap<String, SecretValue>,
    /// Certificate settings (from the config) for `ca:`, `cert:` and `cert-key:` values.
    pub certs: crate::certs::CertContext,
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
            certs: Default::default(),
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
            certs: Default::default(),
        })
    }

    /// The plaintext keyseed writes: every string double-quoted, so no YAML 1.1 surprise.
    pub fn to_plaintext(&self) -> SecretBytes {
        let mut s = String::with_capacity(128);
        s.push_str("keyseed: 1\n");
        s.push_str("seed: ");
        // SECRET: the seed is written into the plaintext that is encrypted right after.
        s.push_str(&base64::engine::general_purpose::STANDARD.encode(self.seed.expose()));
        s.push('\n');
        if !self.values.is_empty() {
            s.push_str("values:\n");
            for (k, v) in &self.values {
                s.push_str("  ");
                crate::edit::quote_into(&mut s, k);
                s.push_str(": ");
                crate::edit::quote_into(&mut s, v.expose());
                s.push('\n');
            }
        }
        let out = SecretBytes::new(s.as_bytes().to_vec());
        crate::secret::wipe(&mut s);
        out
    }
}

/// How the seed file path was chosen, for messages.
#[derive(Debug, Clone)]
pub struct SeedPath {
    /// The path.
    pub path: PathBuf,
    /// `--seed`, `KEYSEED_SEED_FILE`, `seed: in the config` or `the default ./keyseed.age`.
    pub origin: &'static str,
}

/// Reads and decrypts the seed file.
pub fn open_seed(seed: &SeedPath, sources: &IdentitySources) -> Result<SeedFile, KeyError> {
    let data = std::fs::read(&seed.path).map_err(|source| KeyError::SeedRead {
        path: seed.path.clone(),
        origin: seed.origin,
        source,
    })?;
    let corrupt = |why: String| KeyError::SeedCorrupt {
        path: seed.path.clone(),
        why,
    };
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(&data[..]))
        .map_err(|e| corrupt(e.to_string()))?;
    let mut plain = SecretBytes::new(Vec::with_capacity(4096));
    if dec.is_scrypt() {
        let pass = sources.passphrase.as_ref().ok_or(KeyError::Passphrase {
            path: seed.path.clone(),
            why: "KEYSEED_PASSPHRASE is not set",
        })?;
        let mut id = age::scrypt::Identity::new(pass.expose().to_string().into());
        id.set_max_work_factor(22);
        let mut r =
            dec.decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(|e| match e {
                    age::DecryptError::DecryptionFailed
                    | age::DecryptError::KeyDecryptionFailed => KeyError::Passphrase {
                        path: seed.path.clone(),
                        why: "the passphrase is wrong",
                    },
                    e => corrupt(e.to_string()),
                })?;
        r.read_to_end(plain.expose_mut())
            .map_err(|e| corrupt(e.to_string()))?;
    } else {
        let ids = sources.load()?;
        if ids.ids.is_empty() {
            return Err(KeyError::NoIdentity { tried: ids.tried });
        }
        let mut r = dec
            .decrypt(ids.ids.iter().map(|b| b.as_ref()))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => KeyError::WrongIdentity {
                    path: seed.path.clone(),
                    tried: ids.tried.clone(),
                },
                e => corrupt(e.to_string()),
            })?;
        r.read_to_end(plain.expose_mut())
            .map_err(|e| corrupt(e.to_string()))?;
    }
    SeedFile::parse(&plain, &seed.path)
}

/// Parses one recipient: `age1…`, `ssh-ed25519 …` or `ssh-rsa …`.
pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>, FileError> {
    let s = s.trim();
    if s.starts_with("age1") {
        return s
            .parse::<age::x25519::Recipient>()
            .map(|r| Box::new(r) as _)
            .map_err(|_| FileError::BadRecipient(s.to_string()));
    }
    if s.starts_with("ssh-") {
        return s
            .parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as _)
            .map_err(|_| FileError::BadRecipient(s.to_string()));
    }
    Err(FileError::BadRecipient(s.to_string()))
}

/// Reads a recipients file: one key per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::RecipientsRead {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Encrypts plaintext to recipients, ASCII-armored.
pub fn encrypt(plain: &SecretBytes, recipients: &[String]) -> Result<Vec<u8>, FileError> {
    let parsed = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    let enc =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .map_err(|e| FileError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| FileError::Encrypt(e.to_string()))?;
    let mut w = enc
        .wrap_output(armor)
        .map_err(|e| FileError::Encrypt(e.to_string()))?;
    w.write_all(plain.expose())
        .and_then(|_| w.finish())
        .and_then(|a| a.finish())
        .map_err(|e| FileError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// A new X25519 identity: (secret identity text, public recipient).
pub fn generate_identity() -> (SecretValue, String) {
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    // SECRET: the identity text goes straight into a 0600 file.
    (
        SecretValue::new(id.to_string().expose_secret().to_string()),
        public,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_plaintext_round_trips() {
        let mut s = SeedFile::generate();
        s.values
            .insert("api-key".into(), SecretValue::new("yes".into()));
        let p = s.to_plaintext();
        let back = SeedFile::parse(&p, Path::new("x")).unwrap();
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
