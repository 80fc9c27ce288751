//! Recipients the seed is encrypted to (`keyseed.recipients`: one public key per line, `#`
//! comments), encrypting a seed to them, and making a new identity for `init`.

use std::io::Write;
use std::path::Path;

use secrecy::ExposeSecret;

use crate::secret::{SecretBytes, SecretValue};
use crate::seed::error::RecipientError;

/// Parses one recipient: `age1…`, `ssh-ed25519 …` or `ssh-rsa …`.
pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>, RecipientError> {
    // One recipient per argument and per line: a line break would smuggle in a second one.
    if s.chars().any(|c| c.is_control()) {
        return Err(RecipientError::ControlCharacter);
    }
    let s = s.trim();
    if s.starts_with("age1") && s.contains(char::is_whitespace) {
        return Err(RecipientError::BadRecipient(s.to_string()));
    }
    if s.starts_with("age1") {
        if let Ok(r) = s.parse::<age::x25519::Recipient>() {
            return Ok(Box::new(r));
        }
        // A hardware or plugin recipient (`age1yubikey1…`, `age1tpm1…`, `age1se1…`): age
        // runs `age-plugin-NAME` from PATH to wrap the key, as age and SOPS ≥ 3.10 do.
        let r = s
            .parse::<age::plugin::Recipient>()
            .map_err(|_| RecipientError::BadRecipient(s.to_string()))?;
        let name = r.plugin().to_string();
        // Checked before the age crate looks it up: it would run one from the working
        // directory (seed::plugin).
        if let Some(dir) = crate::seed::plugin::relative_location(&name) {
            return Err(RecipientError::PluginRelative {
                name,
                dir: crate::seed::plugin::describe(&dir),
            });
        }
        return age::plugin::RecipientPluginV1::new(&name, &[r], &[], age::NoCallbacks)
            .map(|p| Box::new(p) as _)
            .map_err(|_| RecipientError::PluginMissing(name));
    }
    if s.starts_with("ssh-") {
        return s
            .parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as _)
            .map_err(|_| RecipientError::BadRecipient(s.to_string()));
    }
    Err(RecipientError::BadRecipient(s.to_string()))
}

/// Reads a recipients file: one key per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>, RecipientError> {
    let text = crate::io::read_regular_text(path, crate::io::MAX_SMALL_FILE).map_err(|source| {
        RecipientError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(parse_recipients_text(&text))
}

/// A recipient as a key: its type and key, a trailing comment (an SSH key's) dropped, so
/// two spellings of one key compare equal.
pub fn key_of(recipient: &str) -> String {
    recipient
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The distinct keys of a recipient list, sorted.
fn key_set(recipients: &[String]) -> Vec<String> {
    let mut set: Vec<String> = recipients
        .iter()
        .map(|r| key_of(r))
        .filter(|r| !r.is_empty())
        .collect();
    set.sort();
    set.dedup();
    set
}

/// The digest of a recipient set, as the seed records it: SHA-256 of the distinct recipients
/// ([`key_of`]), sorted, one per line. Public keys only.
pub fn digest(recipients: &[String]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(key_set(recipients).join("\n").as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The number of distinct recipients ([`key_of`]) in a list.
pub fn distinct(recipients: &[String]) -> usize {
    key_set(recipients).len()
}

/// The recipients of a recipients file's text: one per line, `#` comments and blank lines
/// ignored.
pub fn parse_recipients_text(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Encrypts plaintext to recipients, ASCII-armored.
pub fn encrypt(plain: &SecretBytes, recipients: &[String]) -> Result<Vec<u8>, RecipientError> {
    let parsed = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    let enc =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .map_err(|e| RecipientError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| RecipientError::Encrypt(e.to_string()))?;
    let mut w = enc
        .wrap_output(armor)
        .map_err(|e| RecipientError::Encrypt(e.to_string()))?;
    w.write_all(plain.expose())
        .and_then(|_| w.finish())
        .and_then(|a| a.finish())
        .map_err(|e| RecipientError::Encrypt(e.to_string()))?;
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
