//! `keyseed.lock`: a non-secret ledger of every injected value's fingerprint.
//!
//! With `--lock FILE`, a render whose fingerprints differ from the ledger fails and names what
//! would rotate ("would rotate backend-keys/encryption-key-0"), unless `--update-lock` — a
//! guard against silently rotating a key that encrypts production data. The file holds names,
//! keys, formats, generations and keyed fingerprints only, tab-separated, sorted.
//!
//! Lines whose first field starts with `@` (no Kubernetes name does; a keyseed that predates
//! them keeps them as entries no render produces) carry the rest of a key's life:
//! `@generation` records the current generation of a `gen=current` id (`keyseed rotate`),
//! `@never-rotate` the fingerprint a `rotate=never` value must keep, and `@rsa-hint` the RSA
//! search hints (`derive::hint`: two offsets and a MAC, never key material).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::derive::hint::{Label, Outcome, Use};
use crate::diag::Finding;
use crate::inject::edits::InjectedValue;

/// The first field of a hint line.
pub const HINT_MARK: &str = "@rsa-hint";
/// The first field of a never-rotate line: `@never-rotate SECRET KEY FORMAT FINGERPRINT`,
/// written for a `rotate=never` value; from then on no render with this lock may change that
/// value, `--update-lock` included (issue #21).
pub const NEVER_MARK: &str = "@never-rotate";
/// The first field of a generation line: `@generation ID N - -`, the current generation of a
/// `gen=current` id that `keyseed rotate` (or `--update-lock`) recorded (issue #21). A render
/// whose `keyseed.yaml` holds another generation for the id fails unless `--update-lock`.
pub const GENERATION_MARK: &str = "@generation";

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
    /// Values marked `rotate=never` would change: refused even with `--update-lock`.
    #[error("{} value(s) marked never-rotate would change; refused even with --update-lock, nothing was written", .0.len())]
    NeverRotate(Vec<Finding>),
}

impl LockError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Read { .. } => Some("create it with --update-lock".into()),
            LockError::Format { .. } => Some("regenerate it with --update-lock".into()),
            LockError::NeverRotate(_) => Some("a never-rotate value changes only by a migration you run yourself: if you did, delete its `@never-rotate` line and entry from the lock, then render with --update-lock".into()),
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

/// A lock file's contents: value entries, recorded generations, never-rotate values and RSA
/// search hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// `(secret, key)` → entry.
    pub entries: BTreeMap<(String, String), Entry>,
    /// (format, id, generation) → hint text.
    pub hints: BTreeMap<Label, String>,
    /// `(secret, key)` → (format, fingerprint) of values that must never change.
    pub never: BTreeMap<(String, String), (String, String)>,
    /// Derivation id → recorded current generation.
    pub generations: BTreeMap<String, u64>,
}

/// Parses a lock file.
pub fn parse(text: &str, path: &Path) -> Result<Ledger, LockError> {
    let mut out = Ledger::default();
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
        if f[0] == HINT_MARK {
            out.hints
                .insert((f[2].into(), f[1].into(), f[3].into()), f[4].into());
            continue;
        }
        if f[0] == GENERATION_MARK {
            let Ok(g) = f[2].parse() else {
                return Err(LockError::Format {
                    path: path.to_path_buf(),
                    line: i + 1,
                });
            };
            out.generations.insert(f[1].into(), g);
            continue;
        }
        if f[0] == NEVER_MARK {
            out.never
                .insert((f[1].into(), f[2].into()), (f[3].into(), f[4].into()));
            continue;
        }
        out.entries.insert(
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

/// Renders a ledger: the entries, then generations, never-rotate values and hints.
pub fn format(ledger: &Ledger) -> String {
    let mut s = String::from(HEADER);
    for ((secret, key), e) in &ledger.entries {
        s.push_str(&format!(
            "{secret}\t{key}\t{}\t{}\t{}\n",
            e.format, e.gen, e.fingerprint
        ));
    }
    for (id, g) in &ledger.generations {
        s.push_str(&format!("{GENERATION_MARK}\t{id}\t{g}\t-\t-\n"));
    }
    for ((secret, key), (format, fingerprint)) in &ledger.never {
        s.push_str(&format!(
            "{NEVER_MARK}\t{secret}\t{key}\t{format}\t{fingerprint}\n"
        ));
    }
    for ((format, id, gen), hint) in &ledger.hints {
        s.push_str(&format!("{HINT_MARK}\t{id}\t{format}\t{gen}\t{hint}\n"));
    }
    s
}

/// How a value of a render compares with the lock (`plan --lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// No entry for it in the lock.
    Added,
    /// Its fingerprint differs from the lock's: it would rotate.
    Changed,
    /// Its fingerprint is the lock's.
    Unchanged,
    /// In the lock, not in this render (dropped, or rendered apart, like Helm 4 hooks).
    Removed,
}

impl Change {
    /// The word `plan` prints.
    pub fn word(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
            Change::Removed => "removed",
        }
    }
}

/// Every value of a render and of the lock, compared: `(secret, key)` → (entry, change), the
/// entry being the lock's for a removed value.
pub fn diff(
    locked: &Ledger,
    injected: &[InjectedValue],
    namespace: Option<&String>,
) -> BTreeMap<(String, String), (Entry, Change)> {
    let current = entries(injected, namespace);
    let mut out = BTreeMap::new();
    for (k, now) in &current {
        let change = match locked.entries.get(k) {
            None => Change::Added,
            Some(was) if was.fingerprint != now.fingerprint => Change::Changed,
            Some(_) => Change::Unchanged,
        };
        out.insert(k.clone(), (now.clone(), change));
    }
    for (k, was) in &locked.entries {
        if !current.contains_key(k) {
            out.insert(k.clone(), (was.clone(), Change::Removed));
        }
    }
    out
}

/// Reads the `--lock` file before a render, for its hints: empty without `--lock`, or when
/// the file does not exist yet and `--update-lock` will create it.
pub fn load(opts: &LockOptions) -> Result<Ledger, LockError> {
    let Some(path) = &opts.path else {
        return Ok(Ledger::default());
    };
    match crate::io::read_regular_text(path, crate::io::MAX_DATA_FILE) {
        Ok(t) => parse(&t, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.update => Ok(Ledger::default()),
        Err(source) => Err(LockError::Read {
            path: path.clone(),
            source,
        }),
    }
}

/// What `--update-lock` writes, and what it has to say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The new ledger, when the file must be (re)written.
    pub text: Option<String>,
    /// Notes for stderr: entries of the lock this render did not see were kept, RSA keys
    /// searched for want of a valid hint.
    pub notes: Vec<String>,
}

/// Compares a render with the lock (`locked`, from [`load`]); fails on any changed
/// fingerprint unless updating. When updating, entries this render did not produce are kept
/// (a partial stream, e.g. Helm 4's hooks rendered apart, must not erase the others), and the
/// note says how many; the RSA search hints of this render (`rsa`) are written beside them.
/// Without updating, the notes say which RSA keys were searched for want of a valid hint.
pub fn check(
    opts: &LockOptions,
    locked: &Ledger,
    injected: &[InjectedValue],
    namespace: Option<&String>,
    rsa: &[Outcome],
    generations: &BTreeMap<String, u64>,
) -> Result<Update, LockError> {
    let Some(path) = &opts.path else {
        return Ok(Update::default());
    };
    let current = entries(injected, namespace);
    let ids = rsa.iter().map(|o| &o.label.1);
    for s in current.keys().flat_map(|(s, k)| [s, k]).chain(ids) {
        if s.contains(['\t', '\n', '\r']) {
            return Err(LockError::Unwritable(s.replace(['\t', '\n', '\r'], " ")));
        }
    }
    let mut findings = Vec::new();
    for ((secret, key), now) in &current {
        if let Some(was) = locked.entries.get(&(secret.clone(), key.clone())) {
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
    let marked = never_rotate_keys(injected, namespace);
    let mut never = never_rotate_changes(locked, &current, &marked, path);
    never.extend(never_rotate_renames(
        locked, &current, injected, namespace, path,
    ));
    if !never.is_empty() {
        return Err(LockError::NeverRotate(never));
    }
    let now_gens = generations_used(locked, injected, generations);
    findings.extend(generation_changes(locked, &now_gens, path));
    if !findings.is_empty() && !opts.update {
        return Err(LockError::Rotations(findings));
    }
    let mut notes = Vec::new();
    for o in rsa.iter().filter(|o| o.how == Use::Rejected) {
        let (format, id, gen) = &o.label;
        notes.push(format!(
            "the RSA search hint for {format} `{id}` gen {gen} in {} does not verify with this seed (written for another seed, or edited): not used; the key was found by the full search{}",
            path.display(),
            if opts.update { " and the hint rewritten" } else { "; --update-lock rewrites it" }
        ));
    }
    let searched = rsa.iter().filter(|o| o.how == Use::Searched).count();
    if searched > 0 && !opts.update {
        notes.push(format!(
            "{searched} RSA key(s) had no search hint in {} and were found by the full prime search (about 0.25 s each at 4096 bits, on every render); render once with --update-lock to record hints",
            path.display()
        ));
    }
    if !opts.update {
        return Ok(Update { text: None, notes });
    }
    let kept = locked
        .entries
        .keys()
        .filter(|k| !current.contains_key(k))
        .count();
    let mut merged = locked.clone();
    for k in &marked {
        if let Some(e) = current.get(k) {
            merged
                .never
                .insert(k.clone(), (e.format.clone(), e.fingerprint.clone()));
        }
    }
    merged.entries.extend(current);
    if let Some(id) = now_gens.keys().find(|id| id.contains(['\t', '\n', '\r'])) {
        return Err(LockError::Unwritable(id.replace(['\t', '\n', '\r'], " ")));
    }
    merged.generations.extend(now_gens);
    for o in rsa {
        if let Some(h) = &o.hint {
            merged.hints.insert(o.label.clone(), h.clone());
        }
    }
    if kept > 0 {
        notes.push(format!(
            "{kept} entr{} of {} not in this render kept; delete the file and render with --update-lock to drop them",
            if kept == 1 { "y" } else { "ies" },
            path.display()
        ));
    }
    Ok(Update {
        text: (merged != *locked).then(|| format(&merged)),
        notes,
    })
}

/// `(secret, key)` of the `rotate=never` values of a render.
fn never_rotate_keys(
    injected: &[InjectedValue],
    namespace: Option<&String>,
) -> std::collections::BTreeSet<(String, String)> {
    injected
        .iter()
        .filter(|v| v.never_rotate)
        .flat_map(|v| entries(std::slice::from_ref(v), namespace).into_keys())
        .collect()
}

/// Never-rotate values whose fingerprint differs from the one the lock holds for them: the
/// `@never-rotate` record is authoritative; a value marked now is held to its entry.
fn never_rotate_changes(
    locked: &Ledger,
    current: &BTreeMap<(String, String), Entry>,
    marked: &std::collections::BTreeSet<(String, String)>,
    path: &Path,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (k, now) in current {
        let was = locked.never.get(k).map(|(_, fp)| fp).or_else(|| {
            marked
                .contains(k)
                .then(|| locked.entries.get(k).map(|e| &e.fingerprint))
                .flatten()
        });
        if let Some(was) = was.filter(|was| **was != now.fingerprint) {
            let (secret, key) = k;
            out.push(Finding::about_file(
                format!(
                    "{secret}/{key} is marked never-rotate (rotate=never) and would change: fingerprint {was} becomes {} ({} gen {}), per {}. A seed replaced, an id edited or a config moved all change it",
                    now.fingerprint,
                    now.format,
                    now.gen,
                    path.display()
                ),
                None,
            ));
        }
    }
    out
}

/// A never-rotate value that a renamed Secret would replace: a `rotate=never` value the lock
/// has no record of, under its Secret's default id, while the lock's record of a never-rotate
/// value with the same key and format names a Secret this render does not have. The default
/// id names the Secret, so a renamed release would derive a new key (exit 0, and recorded by
/// `--update-lock`): refused, with the `id=` that keeps the old value.
fn never_rotate_renames(
    locked: &Ledger,
    current: &BTreeMap<(String, String), Entry>,
    injected: &[InjectedValue],
    namespace: Option<&String>,
    path: &Path,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for v in injected.iter().filter(|v| v.never_rotate) {
        let Some((k, now)) = entries(std::slice::from_ref(v), namespace)
            .into_iter()
            .next()
        else {
            continue;
        };
        if locked.never.contains_key(&k) || locked.entries.contains_key(&k) {
            continue;
        }
        let name = v.location.name.as_deref().unwrap_or("");
        let Some(scope) = v.id.strip_suffix(&format!("/{name}/{}", v.key)) else {
            continue; // an explicit id: a rename changes nothing
        };
        let gone = locked.never.iter().find(|((secret, key), (format, _))| {
            *key == k.1
                && *format == now.format
                && !current.contains_key(&(secret.clone(), key.clone()))
                && renamed(secret.rsplit('/').next().unwrap_or(secret), name)
        });
        if let Some(((secret, key), _)) = gone {
            let old_name = secret.rsplit('/').next().unwrap_or(secret);
            out.push(Finding::about_file(
                format!(
                    "{}/{} is a new never-rotate (rotate=never) value, and the never-rotate value {secret}/{key} of {} is gone from this render: a renamed Secret derives a new value",
                    k.0, k.1, path.display()
                ),
                Some(format!(
                    "if the Secret was renamed, keep its value with `id={scope}/{old_name}/{key}` in the placeholder; if this is another value, give it an explicit `id=`"
                )),
            ));
        }
    }
    out
}

/// Whether Secret `b` looks like `a` renamed with its release: both end in the same
/// non-empty text that follows a `-` in each (`app-keys` and `prod-keys`; Helm names a
/// release's objects `RELEASE-…`). Unrelated Secrets sharing one lock (renders of other
/// apps, hooks rendered apart) are not taken for renames.
fn renamed(a: &str, b: &str) -> bool {
    a != b
        && a.match_indices('-').any(|(i, _)| {
            let tail = &a[i + 1..];
            !tail.is_empty()
                && b.len() > tail.len()
                && b.ends_with(tail)
                && b.as_bytes()[b.len() - tail.len() - 1] == b'-'
        })
}

/// The generation of every id this render uses that keyseed.yaml or the lock knows: the
/// config's (0 when only the lock names it).
fn generations_used(
    locked: &Ledger,
    injected: &[InjectedValue],
    generations: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    injected
        .iter()
        .map(|v| &v.id)
        .filter_map(|id| {
            let now = generations
                .get(id)
                .copied()
                .or_else(|| locked.generations.get(id).map(|_| 0))?;
            Some((id.clone(), now))
        })
        .collect()
}

/// Ids whose generation in keyseed.yaml differs from the lock's record.
fn generation_changes(
    locked: &Ledger,
    now_gens: &BTreeMap<String, u64>,
    path: &Path,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, &now) in now_gens {
        let Some(&was) = locked.generations.get(id).filter(|w| **w != now) else {
            continue;
        };
        out.push(Finding::about_file(
            format!(
                "would rotate `{id}`: keyseed.yaml holds generation {now}, {} records {was} ({}); `keyseed rotate` records a rotation",
                path.display(),
                if now > was { "a rotation it did not record" } else { "a rotation reverted" }
            ),
            None,
        ));
    }
    out
}

/// The lock file `path` with the generations `updates` recorded (`keyseed rotate`); a
/// missing file becomes a lock holding only them.
pub fn record_generations(
    path: &Path,
    updates: &BTreeMap<String, u64>,
) -> Result<String, LockError> {
    let opts = LockOptions {
        path: Some(path.to_path_buf()),
        update: true,
    };
    let mut ledger = load(&opts)?;
    ledger
        .generations
        .extend(updates.iter().map(|(k, v)| (k.clone(), *v)));
    Ok(format(&ledger))
}
