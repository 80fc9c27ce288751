//! `keyseed.lock` (SPEC §8): a non-secret ledger of every injected value's fingerprint.
//!
//! With `--lock FILE`, a render whose fingerprints differ from the ledger fails and names what
//! would rotate ("would rotate backend-keys/encryption-key-0"), unless `--update-lock` — a
//! guard against silently rotating a key that encrypts production data. The file holds names,
//! keys, formats, generations and keyed fingerprints only, tab-separated, sorted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Finding, Location};
use crate::render::Report;

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

/// The ledger of a report: `(secret, key)` → entry; the secret is `namespace/name` or `name`.
pub fn entries(report: &Report) -> BTreeMap<(String, String), Entry> {
    let mut out = BTreeMap::new();
    for v in &report.injected {
        let name = v.location.name.clone().unwrap_or_default();
        let secret = match v.location.namespace.as_ref().or(report.namespace.as_ref()) {
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
pub fn parse(text: &str, path: &Path) -> Result<BTreeMap<(String, String), Entry>, Error> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(Error::BadArgument {
                message: format!(
                    "{} line {}: expected 5 tab-separated fields",
                    path.display(),
                    i + 1
                ),
                hint: Some("regenerate it with --update-lock".into()),
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

/// Compares a render with the lock; fails on any changed fingerprint unless updating, and
/// writes the lock (atomically) when updating.
pub fn check(opts: &LockOptions, report: &Report) -> Result<(), Error> {
    let Some(path) = &opts.path else {
        return Ok(());
    };
    let current = entries(report);
    let locked = match std::fs::read_to_string(path) {
        Ok(t) => parse(&t, path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.update => BTreeMap::new(),
        Err(e) => {
            return Err(Error::BadArgument {
                message: format!("cannot read lock file `{}`: {e}", path.display()),
                hint: Some("create it with --update-lock".into()),
            })
        }
    };
    let mut findings = Vec::new();
    for ((secret, key), now) in &current {
        if let Some(was) = locked.get(&(secret.clone(), key.clone())) {
            if was.fingerprint != now.fingerprint {
                findings.push(Finding {
                    location: Location::default(),
                    field: String::new(),
                    message: format!(
                        "would rotate {secret}/{key}: {} gen {} (fingerprint {}) becomes {} gen {} (fingerprint {}), per {}",
                        was.format, was.gen, was.fingerprint, now.format, now.gen, now.fingerprint, path.display()
                    ),
                    hint: Some("if the rotation is intended, render once with --update-lock and commit the lock".into()),
                });
            }
        }
    }
    if !findings.is_empty() && !opts.update {
        return Err(Error::Findings(findings));
    }
    if opts.update && current != locked {
        crate::fsutil::write_atomic(path, format(&current).as_bytes(), 0o644)?;
    }
    Ok(())
}
