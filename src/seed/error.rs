//! Errors of the seed layer: finding identities, opening and reading the seed file, and
//! recipients. Messages name files and settings, never key material or plaintext.

use std::path::PathBuf;

/// Errors finding identities and opening the seed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No identity anywhere.
    #[error("no age identity found")]
    NoIdentity {
        /// Every place looked at, in order.
        tried: Vec<String>,
    },
    /// An identity file named explicitly does not exist or cannot be read.
    #[error("cannot read identity file `{path}` (from {origin}){denied}")]
    IdentityRead {
        /// The file.
        path: PathBuf,
        /// Which setting named it.
        origin: &'static str,
        /// For a permission error: who keyseed runs as and who owns the file (an Argo CD
        /// repo-server runs as uid 999; a Secret volume's files are root's).
        denied: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An identity source holds something that is not an age or OpenSSH identity.
    #[error("{origin} does not hold a usable age identity: {why}")]
    IdentityParse {
        /// Which source.
        origin: String,
        /// What is wrong (never key material).
        why: String,
    },
    /// The seed file does not exist or cannot be read.
    #[error("cannot read seed file `{path}` (chosen by {origin})")]
    SeedRead {
        /// The file.
        path: PathBuf,
        /// How it was chosen.
        origin: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// None of the identities opens the seed.
    #[error("none of the identities can decrypt seed file `{path}`")]
    WrongIdentity {
        /// The seed file.
        path: PathBuf,
        /// Where the identities came from.
        tried: Vec<String>,
    },
    /// The seed is passphrase-encrypted and no passphrase is set, or it is wrong.
    #[error("seed file `{path}` is passphrase-encrypted: {why}")]
    Passphrase {
        /// The seed file.
        path: PathBuf,
        /// What went wrong.
        why: &'static str,
    },
    /// The seed file is not a valid age file, or it is truncated or corrupt.
    #[error("seed file `{path}` is corrupt or truncated: {why}")]
    SeedCorrupt {
        /// The seed file.
        path: PathBuf,
        /// What age reported (no plaintext).
        why: String,
    },
    /// An age plugin an identity or recipient needs is not on `PATH`.
    #[error("the age plugin `age-plugin-{name}` is not on PATH (needed by {origin})")]
    PluginMissing {
        /// The plugin name (`yubikey`, `tpm`, `se`, …).
        name: String,
        /// Where the identity came from.
        origin: String,
    },
    /// An age plugin would run from the working directory (an empty or relative `PATH`
    /// element): refused, as Go age refuses it.
    #[error("the age plugin `age-plugin-{name}` (needed by {origin}) would run from {dir}; keyseed runs plugins only from absolute PATH directories")]
    PluginRelative {
        /// The plugin name.
        name: String,
        /// Where the identity came from.
        origin: String,
        /// The PATH element, described.
        dir: String,
    },
    /// An age plugin failed or did not answer in time while opening the seed.
    #[error("the age plugin failed while opening seed file `{path}`: {why}")]
    Plugin {
        /// The seed file.
        path: PathBuf,
        /// What happened (never key material).
        why: String,
    },
    /// The decrypted seed file is not a keyseed seed document.
    #[error("seed file `{path}` decrypts, but its content is not a keyseed seed: {why}")]
    SeedFormat {
        /// The seed file.
        path: PathBuf,
        /// What is wrong (never the content).
        why: String,
    },
}

impl KeyError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            KeyError::NoIdentity { tried } => Some(format!(
                "looked in: {}; pass --identity FILE or set KEYSEED_AGE_KEY_FILE{}",
                tried.join(", "),
                if tried.iter().any(|t| t.contains("permission denied")) {
                    ". Under Argo CD the repo-server runs as uid 999: mount the identity Secret group-readable (`defaultMode: 0440`) with the pod's `securityContext.fsGroup: 999` (docs/troubleshooting.md)"
                } else {
                    ""
                }
            )),
            KeyError::IdentityRead { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                Some("make the file readable by the user keyseed runs as; under Argo CD (uid 999) mount the identity Secret with `defaultMode: 0440` and the pod's `securityContext.fsGroup: 999` (docs/troubleshooting.md)".into())
            }
            KeyError::WrongIdentity { tried, .. } => Some(format!(
                "identities came from: {}; the seed is encrypted to the keys in keyseed.recipients, \
                 ask a holder of one of them to run `keyseed recipients add <your public key>`",
                tried.join(", ")
            )),
            KeyError::PluginMissing { name, .. } => Some(format!(
                "install age-plugin-{name} (its binary must be on PATH, as for age and SOPS), or use another identity"
            )),
            KeyError::PluginRelative { .. } => Some(PLUGIN_PATH_HINT.into()),
            KeyError::Plugin { .. } => Some(
                "a hardware key may need to be inserted or touched; KEYSEED_PLUGIN_TIMEOUT sets how many seconds keyseed waits (default 120)".into(),
            ),
            KeyError::Passphrase { .. } => {
                Some("set KEYSEED_PASSPHRASE (it is never read from stdin)".into())
            }
            KeyError::SeedRead { .. } => Some(
                "create one with `keyseed init`, or point at it with --seed / KEYSEED_SEED_FILE"
                    .into(),
            ),
            KeyError::SeedCorrupt { path, .. } => Some(format!(
                "restore `{}` from git; it must be the file `keyseed init` wrote",
                path.display()
            )),
            _ => None,
        }
    }
}

/// The hint of a plugin refused for a relative `PATH` element.
const PLUGIN_PATH_HINT: &str = "remove empty (`::`, a leading or trailing `:`), `.` and other relative elements from PATH, and install the plugin in an absolute PATH directory; a plugin in the repository is never run";

impl RecipientError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            RecipientError::PluginRelative { .. } => Some(PLUGIN_PATH_HINT.into()),
            RecipientError::PluginMissing(name) => Some(format!(
                "install age-plugin-{name} in a directory on PATH, as for age and SOPS"
            )),
            _ => None,
        }
    }
}

/// Errors reading or using recipients.
#[derive(Debug, thiserror::Error)]
pub enum RecipientError {
    /// A recipient is not an age or SSH public key.
    #[error("`{0}` is not an age recipient (age1…, or an age plugin's age1NAME1…) or SSH public key (ssh-ed25519/ssh-rsa)")]
    BadRecipient(String),
    /// A plugin recipient's plugin is not on `PATH`.
    #[error("the age plugin `age-plugin-{0}` is not on PATH (needed to encrypt to its recipient)")]
    PluginMissing(String),
    /// A plugin recipient's plugin would run from the working directory (an empty or
    /// relative `PATH` element): refused, as Go age refuses it.
    #[error("the age plugin `age-plugin-{name}` (needed to encrypt to its recipient) would run from {dir}; keyseed runs plugins only from absolute PATH directories")]
    PluginRelative {
        /// The plugin name.
        name: String,
        /// The PATH element, described.
        dir: String,
    },
    /// Reading a recipients file failed.
    #[error("cannot read recipients file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Encryption failed.
    #[error("failed to encrypt the seed: {0}")]
    Encrypt(String),
    /// A recipient holds a line break or another control character.
    #[error("a recipient must be one key on one line (it holds a line break or another control character)")]
    ControlCharacter,
}
