//! Finding the age identities that open the seed. They are looked up in a fixed order
//! (`--identity`, `KEYSEED_AGE_KEY`, `KEYSEED_AGE_KEY_FILE`,
//! `$XDG_CONFIG_HOME/keyseed/keys.txt`); every identity found is used, and every place
//! looked at is listed when none works. Identities never come from stdin, which carries
//! manifests.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::secret::{SecretBytes, SecretValue};
use crate::seed::error::KeyError;

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
    /// `KEYSEED_PLUGIN_TIMEOUT`: how long an age plugin may take to open the seed (a
    /// hardware key waiting for a touch); `None` for the default.
    pub plugin_timeout: Option<std::time::Duration>,
}

/// The identities found, and where they were looked for.
pub struct Identities {
    pub(crate) ids: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The source of each of `ids`, in the same order.
    pub origins: Vec<String>,
    /// Whether any identity runs an age plugin (decryption then runs under a timeout).
    pub plugins: bool,
    /// The first source skipped because its age plugin is not on PATH, or would run from
    /// the working directory.
    pub missing_plugin: Option<KeyError>,
    /// Every place looked at, in order, with what was found there.
    pub tried: Vec<String>,
    /// Sources that could not be used, with why (never key material).
    pub skipped: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys, [REDACTED])", self.ids.len())
    }
}

/// Parses identity text: an age identity file (one or more `AGE-SECRET-KEY-1…` lines with
/// comments) or an unencrypted OpenSSH private key (ssh-ed25519 / ssh-rsa).
fn parse_identities(
    text: &[u8],
    origin: &str,
) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, KeyError> {
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
    // A plugin identity's plugin must not resolve in the working directory (seed::plugin):
    // checked before the age crate looks it up.
    for name in plugin_names(text) {
        if let Some(dir) = crate::seed::plugin::relative_location(&name) {
            return Err(KeyError::PluginRelative {
                name,
                origin: origin.to_string(),
                dir: crate::seed::plugin::describe(&dir),
            });
        }
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(text))
        .map_err(|e| bad(&scrub_line_error(&e.to_string())))?;
    let ids = file.into_identities().map_err(|_| {
        // A plugin identity (`AGE-PLUGIN-YUBIKEY-1…`) whose plugin is not on PATH.
        match plugin_names(text).into_iter().next() {
            Some(name) => KeyError::PluginMissing {
                name,
                origin: origin.to_string(),
            },
            None => bad("an identity in it cannot be used"),
        }
    })?;
    if ids.is_empty() {
        return Err(bad("it holds no identity"));
    }
    Ok(ids)
}

/// The plugins the `AGE-PLUGIN-NAME-1…` identities of an identity file need (public: the
/// name is the line's prefix).
pub fn plugin_names(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| l.starts_with("AGE-PLUGIN-"))
        .filter_map(|l| l.trim().parse::<age::plugin::Identity>().ok())
        .map(|i| i.plugin().to_string())
        .collect()
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
    crate::io::read_regular(path, crate::io::MAX_SMALL_FILE)
        .map(SecretBytes::new)
        .map_err(|source| KeyError::IdentityRead {
            path: path.to_path_buf(),
            origin,
            denied: denied(path, &source),
            source,
        })
}

/// `: permission denied: keyseed runs as uid U (gid G); the file is owned by uid O (gid P),
/// mode M` for a permission error, else nothing. Only ids and modes, never content.
fn denied(path: &Path, e: &std::io::Error) -> String {
    use std::os::unix::fs::MetadataExt as _;
    if e.kind() != std::io::ErrorKind::PermissionDenied {
        return String::new();
    }
    // The owner of /proc/self is the process's (effective) user and group.
    let me = std::fs::metadata("/proc/self")
        .map(|m| format!("uid {} (gid {})", m.uid(), m.gid()))
        .unwrap_or_else(|_| "a user that may not read it".into());
    let file = std::fs::metadata(path)
        .map(|m| {
            format!(
                "; the file is owned by uid {} (gid {}), mode {:04o}",
                m.uid(),
                m.gid(),
                m.mode() & 0o7777
            )
        })
        .unwrap_or_default();
    format!(": permission denied: keyseed runs as {me}{file}")
}

impl IdentitySources {
    /// Loads every identity from every source, in order. An explicitly named `--identity`
    /// file that is missing is an error; any other source that cannot be used (a malformed
    /// default `keys.txt`, a passphrase-protected SSH key) is skipped with a note, so one bad
    /// source never hides a good one. Fails only when no source gives an identity.
    pub fn load(&self) -> Result<Identities, KeyError> {
        let mut found = Identities {
            ids: Vec::new(),
            origins: Vec::new(),
            plugins: false,
            missing_plugin: None,
            tried: Vec::new(),
            skipped: Vec::new(),
        };
        for f in &self.files {
            let text = read_identity_file(f, "--identity")?;
            found.add(&format!("--identity {}", f.display()), text.expose());
        }
        match &self.key_text {
            Some(t) => found.add("KEYSEED_AGE_KEY", t.expose().as_bytes()),
            None => found.tried.push("KEYSEED_AGE_KEY (not set)".into()),
        }
        match &self.key_file {
            Some(f) => {
                let origin = format!("KEYSEED_AGE_KEY_FILE={}", f.display());
                match read_identity_file(f, "KEYSEED_AGE_KEY_FILE") {
                    Ok(text) => found.add(&origin, text.expose()),
                    Err(e) => found.skip(&origin, &e),
                }
            }
            None => found.tried.push("KEYSEED_AGE_KEY_FILE (not set)".into()),
        }
        match &self.default_file {
            Some(f) if f.exists() => {
                let origin = f.display().to_string();
                match read_identity_file(f, "the default identity file") {
                    Ok(text) => found.add(&origin, text.expose()),
                    Err(e) => found.skip(&origin, &e),
                }
            }
            Some(f) => found.tried.push(format!("{} (no such file)", f.display())),
            None => found
                .tried
                .push("$XDG_CONFIG_HOME/keyseed/keys.txt (no home directory)".into()),
        }
        Ok(found)
    }
}

impl Identities {
    /// Adds the identities of one source, or skips it with a note.
    fn add(&mut self, origin: &str, text: &[u8]) {
        match parse_identities(text, origin) {
            Ok(ids) => {
                self.plugins |= !plugin_names(text).is_empty();
                self.origins.extend(ids.iter().map(|_| origin.to_string()));
                self.ids.extend(ids);
                self.tried.push(origin.to_string());
            }
            Err(e) => self.skip(origin, &e),
        }
    }

    fn skip(&mut self, origin: &str, e: &KeyError) {
        if self.missing_plugin.is_none() {
            self.missing_plugin = match e {
                KeyError::PluginMissing { name, origin } => Some(KeyError::PluginMissing {
                    name: name.clone(),
                    origin: origin.clone(),
                }),
                KeyError::PluginRelative { name, origin, dir } => Some(KeyError::PluginRelative {
                    name: name.clone(),
                    origin: origin.clone(),
                    dir: dir.clone(),
                }),
                _ => None,
            };
        }
        let why = match e {
            KeyError::IdentityParse { why, .. } => why.clone(),
            other => other.to_string(),
        };
        self.tried.push(format!("{origin} (skipped: {why})"));
        self.skipped
            .push(format!("skipped identity source {origin}: {why}"));
    }
}
