//! `keyseed.lock`: a non-secret ledger of every injected value's fingerprint.
//!
//! With `--lock FILE`, a render whose fingerprints differ from the ledger fails and names what
//! would rotate ("would rotate backend-keys/encryption-key-0"), unless `--update-lock` — a
//! guard against silently rotating a key that encrypts production data. The file holds names,
//! keys, formats, generations and keyed fingerprints only, tab-separated, sorted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::Finding;
use crate::inject::edits::InjectedValue;

/// Lock options of a render.
#[derive(Debug, Clone, Default)]
pub struct LockOptions {
    /// `--lock FILE`.
    pub path: Option<PathBuf>,
    /// `--update-lock`: write the current fingerprints instead of failing.
    pub update: bool,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Format.
    pub format: String,
    /// Generation.
    pub gen: String,
    /// Fingerprint.
    pub fingerprint: String,
}

const HEADER: &str = "# keyseed.lock v1: fingerprints of injected values, never the values. Commit this file.\n# secret\tkey\tformat\tgen\tfingerprint\n";

/// Why the lock stops a render.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file cannot be read.
    #[error("cannot read lock file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not five tab-separated fields.
    #[error("{} line {line}: expected 5 tab-separated fields", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A Secret name or key that cannot be written as one line of the ledger.
    #[error("cannot record `{0}` in the lock: it holds a tab or a line break")]
    Unwritable(String),
    /// Values would rotate.
    #[error("{} value(s) would rotate; nothing was written to stdout", .0.len())]
    Rotations(Vec<Finding>),
}

impl LockError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Read { .. } => Some("create it with --update-lock".into()),
            LockError::Format { .. } => Some("regenerate it with --update-lock".into()),
            LockError::Rotations(_) | LockError::Unwritable(_) => None,
        }
    }
}

/// The ledger of injected values: `(secret, key)` → entry; the secret is `namespace/name`
/// or `name`, `namespace` the default for Secrets without one.
pub fn entries(
    injected: &[InjectedValue],
    namespace: Option<&String>,
) -> BTreeMap<(String, String), Entry> {
    let mut out = BTreeMap::new();
    for v in injected {
        let name = v.location.name.clone().unwrap_or_default();
        let secret = match v.location.namespace.as_ref().or(namespace) {
            Some(ns) => format!("{ns}/{name}"),
            None => name,
        };
        out.insert(
            (secret, v.key.clone()),
            Entry {
                format: v.format.clone(),
                gen: v.gen.clone(),
                fingerprint: v.fingerprint.clone(),
            },
        );
    }
    out
}

/// Parses a lock file.
pub fn parse(text: &str, path: &Path) -> Result<BTreeMap<(String, String), Entry>, LockError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(LockError::Format {
                path: path.to_path_buf(),
                line: i + 1,
            });
        }
        out.insert(
            (f[0].to_string(), f[1].to_string()),
            Entry {
                format: f[2].into(),
                gen: f[3].into(),
                fingerprint: f[4].into(),
            },
        );
    }
    Ok(out)
}

/// Renders a ledger.
pub fn format(entries: &BTreeMap<(String, String), Entry>) -> String {
    let mut s = String::from(HEADER);
    for ((secret, key), e) in entries {
        s.push_str(&format!(
            "{secret}\t{key}\t{}\t{}\t{}\n",
            e.format, e.gen, e.fingerprint
        ));
    }
    s
}

/// What `--update-lock` writes, and what it has to say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The new ledger, when the file must be (re)written.
    pub text: Option<String>,
    /// A note for stderr (entries of the lock this render did not see were kept).
    pub note: Option<String>,
}

/// Compares a render with the lock; fails on any changed fingerprint unless updating. When
/// updating, entries this render did not produce are kept (a partial stream, e.g. Helm 4's
/// hooks rendered apart, must not erase the others), and the note says how many.
pub fn check(
    opts: &LockOptions,
    injected: &[InjectedValue],
    namespace: Option<&String>,
) -> Result<Update, LockError> {
    let Some(path) = &opts.path else {
        return Ok(Update::default());
    };
    let current = entries(injected, namespace);
    for (secret, key) in current.keys() {
        for s in [secret, key] {
            if s.contains(['\t', '\n', '\r']) {
                return Err(LockError::Unwritable(s.replace(['\t', '\n', '\r'], " ")));
            }
        }
    }
    let locked = match crate::io::read_regular_text(path, crate::io::MAX_DATA_FILE) {
        Ok(t) => parse(&t, path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.update => BTreeMap::new(),
        Err(source) => {
            return Err(LockError::Read {
                path: path.clone(),
                source,
            })
        }
    };
    let mut findings = Vec::new();
    for ((secret, key), now) in &current {
        if let Some(was) = locked.get(&(secret.clone(), key.clone())) {
            if was.fingerprint != now.fingerprint {
                findings.push(Finding::about_file(
                    format!(
                        "would rotate {secret}/{key}: {} gen {} (fingerprint {}) becomes {} gen {} (fingerprint {}), per {}",
                        was.format, was.gen, was.fingerprint, now.format, now.gen, now.fingerprint, path.display()
                    ),
                    Some("if the rotation is intended, render once with --update-lock and commit the lock".into()),
                ));
            }
        }
    }
    if !findings.is_empty() && !opts.update {
        return Err(LockError::Rotations(findings));
    }
    if !opts.update {
        return Ok(Update::default());
    }
    let kept = locked.keys().filter(|k| !current.contains_key(k)).count();
    let mut merged = locked.clone();
    merged.extend(current);
    Ok(Update {
        text: (merged != locked).then(|| format(&merged)),
        note: (kept > 0).then(|| {
            format!(
                "{kept} entr{} of {} not in this render kept; delete the file and render with --update-lock to drop them",
                if kept == 1 { "y" } else { "ies" },
                path.display()
            )
        }),
    })
}
