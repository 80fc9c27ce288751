//! One error type per stage, the top [`Error`], and how an error is rendered for a person
//! (`error:` / `caused by:` / `hint:`). Errors carry locations (document, resource, field),
//! never secret values. `main` is the only caller of [`render`] and [`Error::exit_code`].

use std::fmt;
use std::path::PathBuf;

/// Where in the manifest stream a finding is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Document number in the stream, from 1.
    pub document: usize,
    /// Helm 3 `# Source:` file or Helm 4 filename annotation, when known.
    pub source: Option<String>,
    /// Path of a List/ResourceList item (`.items[3]`), when the resource is one.
    pub item: Option<String>,
    /// `kind` of the resource.
    pub kind: Option<String>,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(item) = &self.item {
            write!(f, " {item}")?;
        }
        let kind = self.kind.as_deref().unwrap_or("resource");
        let what = match (&self.kind, &self.namespace, &self.name) {
            (_, Some(ns), Some(n)) => Some(format!("{kind} {ns}/{n}")),
            (_, None, Some(n)) => Some(format!("{kind} {n}")),
            (Some(k), _, None) => Some(format!("{k} without a name")),
            (None, _, None) => None,
        };
        match (what, &self.source) {
            (Some(w), Some(s)) => write!(f, " ({w}, from {s})"),
            (Some(w), None) => write!(f, " ({w})"),
            (None, Some(s)) => write!(f, " (from {s})"),
            (None, None) => Ok(()),
        }
    }
}

/// One problem found in the stream. All findings are collected, then keyseed fails once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where.
    pub location: Location,
    /// The field path, e.g. `.stringData.password` or `.data."tls.crt"`.
    pub field: String,
    /// What is wrong (never a secret value).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.document == 0 {
            // A finding about the config, not about a document.
            write!(f, "{}", self.message)
        } else if self.field.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{} {}: {}", self.location, self.field, self.message)
        }
    }
}

/// Errors reading the manifest stream.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// stdin could not be read.
    #[error("failed to read the manifest stream from stdin")]
    Read(#[source] std::io::Error),
    /// stdin is larger than keyseed accepts.
    #[error("the manifest stream is larger than {0} bytes")]
    TooLarge(usize),
    /// stdin is not UTF-8.
    #[error("the manifest stream is not valid UTF-8 (first bad byte at offset {0})")]
    NotUtf8(usize),
    /// stdin holds no document.
    #[error("the manifest stream is empty")]
    Empty,
}

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
    #[error("cannot read identity file `{path}` (from {origin})")]
    IdentityRead {
        /// The file.
        path: PathBuf,
        /// Which setting named it.
        origin: &'static str,
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
    /// The decrypted seed file is not a keyseed seed document.
    #[error("seed file `{path}` decrypts, but its content is not a keyseed seed: {why}")]
    SeedFormat {
        /// The seed file.
        path: PathBuf,
        /// What is wrong (never the content).
        why: String,
    },
    /// A `value:NAME` placeholder names a value the seed file does not have.
    #[error("static value `{name}` is not in seed file `{path}`")]
    MissingValue {
        /// The name.
        name: String,
        /// The seed file.
        path: PathBuf,
    },
}

impl KeyError {
    fn hint(&self) -> Option<String> {
        match self {
            KeyError::NoIdentity { tried } => Some(format!(
                "looked in: {}; pass --identity FILE or set KEYSEED_AGE_KEY_FILE",
                tried.join(", ")
            )),
            KeyError::WrongIdentity { tried, .. } => Some(format!(
                "identities came from: {}; the seed is encrypted to the keys in keyseed.recipients, \
                 ask a holder of one of them to run `keyseed recipients add <your public key>`",
                tried.join(", ")
            )),
            KeyError::Passphrase { .. } => {
                Some("set KEYSEED_PASSPHRASE (it is never read from stdin)".into())
            }
            KeyError::SeedRead { .. } => Some(
                "create one with `keyseed init`, or point at it with --seed / KEYSEED_SEED_FILE"
                    .into(),
            ),
            KeyError::MissingValue { name, .. } => {
                Some(format!("add it with `keyseed values set {name} < value-file`"))
            }
            KeyError::SeedCorrupt { .. } => {
                Some("restore keyseed.age from git; it must be the file `keyseed init` wrote".into())
            }
            _ => None,
        }
    }
}

/// Errors of commands that write files (`init`, `recipients`, `values`).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// keyseed never overwrites a file it would create.
    #[error("`{0}` already exists; keyseed never overwrites it")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("failed to write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A recipient is not an age or SSH public key.
    #[error("`{0}` is not an age recipient (age1…) or SSH public key (ssh-ed25519/ssh-rsa)")]
    BadRecipient(String),
    /// Reading a recipients file failed.
    #[error("cannot read recipients file `{path}`")]
    RecipientsRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Encryption failed.
    #[error("failed to encrypt the seed: {0}")]
    Encrypt(String),
}

/// The top-level error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the stream.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Keys and seed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Writing files.
    #[error(transparent)]
    File(#[from] FileError),
    /// `keyseed.yaml` is missing (when named), unreadable or invalid.
    #[error("invalid config {0}")]
    Config(crate::config::ConfigError),
    /// Problems in the stream, all of them.
    #[error("{} problem(s) found; nothing was written to stdout", .0.len())]
    Findings(Vec<Finding>),
    /// Bad usage that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// Bad input given on the command line (a derive spec, an id).
    #[error("{message}")]
    BadArgument {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// Writing stdout failed.
    #[error("failed to write to stdout")]
    Stdout(#[source] std::io::Error),
}

impl Error {
    /// The process exit code: 1 for bad input, keys or validation, 2 for usage and internal.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Key(k) => k.hint(),
            Error::Input(InputError::Empty) => Some(
                "an empty stream makes Argo CD prune everything; pass --allow-empty if it is intended"
                    .into(),
            ),
            Error::BadArgument { hint, .. } => hint.clone(),
            _ => None,
        }
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Self {
        Error::Config(e)
    }
}

/// Renders an error for stderr: findings one by one, then `error:`, `caused by:` and `hint:`.
pub fn render(err: &Error) -> String {
    let mut out = String::new();
    if let Error::Findings(findings) = err {
        for f in findings {
            out.push_str(&format!("error: {f}\n"));
            if let Some(h) = &f.hint {
                out.push_str(&format!("  hint: {h}\n"));
            }
        }
    }
    out.push_str(&format!("error: {err}\n"));
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        out.push_str(&format!("  caused by: {s}\n"));
        src = s.source();
    }
    if let Some(h) = err.hint() {
        out.push_str(&format!("  hint: {h}\n"));
    }
    out
}
