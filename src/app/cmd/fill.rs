//! `keyseed fill VALUES-FILE` and `keyseed getter … keyseed://VALUES-FILE`: a Helm values
//! file with its placeholders filled, for the hosts that cannot run a post-renderer (Argo CD
//! native and multi-source Helm through the getter plugin; Flux's `valuesFrom` through a
//! deterministic SOPS Secret).
//!
//! Where things are found: `--seed`/`KEYSEED_SEED_FILE` and `--config`/`KEYSEED_CONFIG` as
//! for `render`; without them, `keyseed.yaml` and `keyseed.age` in the values file's
//! directory or the nearest parent that has them, up to the root of its git checkout (like
//! `.sops.yaml`), then `./` as `render` does. A config's `seed:` is relative to the config.
//! Under Argo CD the getter's path must stay in Helm's repository, and the seed and config in
//! the values file's repository ([`hosts::check_getter_path`], [`hosts::check_values_companion`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::Output;
use crate::app::args::{FillArgs, GetterArgs, GlobalArgs};
use crate::app::error::{CommandError, Error};
use crate::app::hosts;
use crate::app::settings::{SeedPath, Settings};
use crate::config::schema;
use crate::inject::values::Source;
use crate::inject::values_file::{self, FillError};
use crate::manifest::document::Documents;
use crate::manifest::edit::quote;
use crate::placeholder;
use crate::secret::{SecretBytes, SecretValue};
use crate::seed::file;

/// The URL scheme of the getter plugin.
pub const SCHEME: &str = "keyseed://";

/// `keyseed fill`.
pub fn run(
    g: &GlobalArgs,
    args: &FillArgs,
    stdin: &mut dyn std::io::Read,
) -> Result<Output, Error> {
    let (text, file) = if args.file.as_os_str() == "-" {
        let mut buf = SecretBytes::new(Vec::new());
        std::io::Read::take(stdin, crate::io::MAX_SMALL_FILE + 1)
            .read_to_end(buf.expose_mut())
            .map_err(|source| CommandError::Read {
                path: PathBuf::from("-"),
                source,
            })?;
        if buf.expose().len() as u64 > crate::io::MAX_SMALL_FILE {
            return Err(Error::Usage(format!(
                "the values file on stdin is larger than {} bytes",
                crate::io::MAX_SMALL_FILE
            )));
        }
        (buf, None)
    } else {
        (read_values(&args.file)?, Some(args.file.as_path()))
    };
    let lock = crate::lock::LockOptions {
        path: args.lock.clone(),
        update: args.update_lock,
    };
    let (filled, notes, settings) = fill(g, &text, file, args.budget, &lock)?;
    let Some(name) = &args.secret else {
        return Ok(Output {
            stdout: super::Stdout::Bytes(filled),
            notes,
        });
    };
    let secret = values_secret(
        name,
        settings.ctx.namespace.as_deref(),
        &args.secret_key,
        &filled,
    )?;
    let mut docs = Documents::split(SecretBytes::new(secret.expose().as_bytes().to_vec()))
        .map_err(|e| Error::Internal(format!("the values Secret keyseed wrote: {e}")))?;
    if !args.sops_age.is_empty() {
        let recipients = crate::sops::Recipients::parse(&args.sops_age)?;
        let seed = open(&settings)?;
        crate::sops::encrypt_documents(&mut docs, &recipients, &seed.seed)?;
    }
    Ok(Output {
        stdout: super::Stdout::Stream(docs),
        notes,
    })
}

/// `keyseed getter CERT KEY CA keyseed://FILE`: the filled file on stdout, for Helm.
pub fn getter(g: &GlobalArgs, args: &GetterArgs) -> Result<Output, Error> {
    let path = args.url.strip_prefix(SCHEME).ok_or_else(|| {
        Error::Usage(format!(
            "the getter reads `{SCHEME}FILE` URLs, not `{}`",
            args.url
        ))
    })?;
    if path.is_empty() {
        return Err(Error::Usage(format!("`{}` names no file", args.url)));
    }
    let path = Path::new(path);
    hosts::check_getter_path(path)?;
    let text = read_values(path)?;
    let lock = crate::lock::LockOptions {
        path: args.lock.clone(),
        update: false,
    };
    let (filled, notes, _) = fill(g, &text, Some(path), args.budget, &lock)?;
    Ok(Output {
        stdout: super::Stdout::Bytes(filled),
        notes,
    })
}

pub(crate) fn read_values(path: &Path) -> Result<SecretBytes, Error> {
    crate::io::read_regular(path, crate::io::MAX_SMALL_FILE)
        .map(SecretBytes::new)
        .map_err(|source| {
            CommandError::Read {
                path: path.to_path_buf(),
                source,
            }
            .into()
        })
}

/// Plans, opens the seed when a value needs it, fills. Returns the filled bytes, the notes
/// for stderr and the settings used.
fn fill(
    g: &GlobalArgs,
    text: &SecretBytes,
    file: Option<&Path>,
    budget: u64,
    lock: &crate::lock::LockOptions,
) -> Result<(SecretBytes, String, Settings), Error> {
    let settings = resolve(g, file)?;
    let name = file.map_or("-".into(), |f| f.display().to_string());
    let text = std::str::from_utf8(text.expose()).map_err(|_| {
        Error::Findings(vec![crate::diag::Finding {
            field: format!("values file {name}"),
            ..crate::diag::Finding::about_file("is not UTF-8 text".into(), None)
        }])
    })?;
    let planned = values_file::plan(text, &name, &settings.ctx).map_err(Error::Findings)?;
    // The work the file asks for, before the seed is opened (no RSA hints: every key is
    // searched).
    crate::inject::budget::check(
        planned.slots.iter().map(|s| &s.injection),
        budget,
        &|_, _, _, _| false,
        false,
    )
    .map_err(Error::Findings)?;
    if !planned.needs_seed() {
        return Ok((
            SecretBytes::new(text.as_bytes().to_vec()),
            String::new(),
            settings,
        ));
    }
    let seed = open(&settings)?;
    let certs = settings.certs(&settings.ctx.scope);
    let source = Source {
        seed: &seed,
        seed_path: &settings.seed.path,
        certs: &certs,
        hints: &crate::derive::hint::RsaHints::none(),
    };
    let filled = values_file::fill(text, &planned, &source).map_err(|e| match e {
        FillError::Value(v) => Error::Value(v),
        FillError::Findings(f) => Error::Findings(f),
        FillError::Internal(why) => Error::Internal(format!(
            "refusing to write a values file keyseed could not fill safely ({why})"
        )),
    })?;
    let mut notes: String = seed
        .notes
        .iter()
        .map(|n| format!("warning: {n}\n"))
        .collect();
    for n in check_lock(lock, &planned, &source, &settings)? {
        notes.push_str(&format!("note: {n}\n"));
    }
    Ok((filled, notes, settings))
}

/// With `--lock`: each filled value's fingerprint, keyed `values` + its path, compared with
/// the lock (as `render --lock` compares Secret values), so a value at the same place cannot
/// change without a recorded rotation in this shape either; `--update-lock` writes it.
fn check_lock(
    lock: &crate::lock::LockOptions,
    planned: &values_file::PlannedValues,
    source: &Source<'_>,
    settings: &Settings,
) -> Result<Vec<String>, Error> {
    let Some(path) = &lock.path else {
        return Ok(Vec::new());
    };
    let mut report = Vec::new();
    for slot in &planned.slots {
        let mut inj = slot.injection.clone();
        inj.location.name = Some("values".into());
        inj.location.namespace = None;
        inj.key = values_file::set_path(&slot.steps);
        crate::inject::edits::edits(source, std::slice::from_ref(&inj), &mut report)?;
    }
    let _held = if lock.update {
        Some(crate::app::fs::DirLock::of(path)?)
    } else {
        None
    };
    let locked = crate::lock::load(lock)?;
    let update = crate::lock::check(lock, &locked, &report, None, &[], &settings.ctx.generations)?;
    if let Some(text) = update.text {
        crate::app::fs::write_atomic(path, text.as_bytes(), 0o644)?;
    }
    Ok(update.notes)
}

/// Opens the seed `resolve` chose. Not [`super::open_seed`]: its guard measures paths against
/// the working directory, while a values file's seed was checked against the values file's
/// repository ([`hosts::check_values_companion`]).
fn open(settings: &Settings) -> Result<file::SeedFile, Error> {
    Ok(file::open(
        &settings.seed.path,
        settings.seed.origin,
        &settings.identities,
    )?)
}

/// Settings for a values file: flags and `KEYSEED_*` first, then `keyseed.yaml` and
/// `keyseed.age` found from the values file's directory up to its repository's root, then
/// `./`; under Argo CD each must lie in the values file's repository.
pub(crate) fn resolve(g: &GlobalArgs, file: Option<&Path>) -> Result<Settings, Error> {
    let repo = file.and_then(hosts::repository_of);
    let dirs = search_dirs(file, repo.as_deref());
    let find = |name: &str| -> Option<PathBuf> {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| std::fs::symlink_metadata(p).is_ok())
    };
    let config = g.config.clone().or_else(|| find("keyseed.yaml"));
    if let Some(c) = &config {
        hosts::check_values_companion(repo.as_deref(), c, "config file")?;
    }
    let settings = Settings::resolve(g);
    settings.check_explicit_scope()?;
    let loaded = match &config {
        Some(path) => schema::load(Some(path))?,
        None => None,
    };
    let mut settings = settings.with_loaded_config(loaded);
    let seed_in_config = settings
        .config
        .as_ref()
        .is_some_and(|(c, _)| c.seed.is_some());
    if !settings.explicit.seed && !seed_in_config {
        settings.seed = discovered_seed(find("keyseed.age"));
    }
    hosts::check_values_companion(repo.as_deref(), &settings.seed.path, "seed file")?;
    Ok(settings)
}

fn discovered_seed(found: Option<PathBuf>) -> SeedPath {
    match found {
        Some(path) => SeedPath {
            path,
            origin: "the keyseed.age nearest the values file",
        },
        None => SeedPath {
            path: PathBuf::from("keyseed.age"),
            origin: "the default ./keyseed.age: none lies beside the values file or above it in its repository",
        },
    }
}

/// The directories searched for `keyseed.yaml` and `keyseed.age`: the values file's own and
/// its parents up to the repository root (only its own without a repository), then `./`
/// (not under Argo CD, where only the values file's repository counts).
fn search_dirs(file: Option<&Path>, repo: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = file
        .and_then(|f| f.canonicalize().ok())
        .and_then(|f| f.parent().map(Path::to_path_buf))
    {
        match repo {
            Some(root) => {
                for d in dir.ancestors() {
                    dirs.push(d.to_path_buf());
                    if d == root {
                        break;
                    }
                }
            }
            None => dirs.push(dir),
        }
    }
    if !hosts::under_argocd() {
        dirs.push(PathBuf::from("."));
    }
    dirs
}

/// The Secret a Flux HelmRelease reads through `valuesFrom` (`valuesKey: KEY`): the filled
/// file as one `stringData` string, double-quoted so it reads back byte for byte.
fn values_secret(
    name: &str,
    namespace: Option<&str>,
    key: &str,
    filled: &SecretBytes,
) -> Result<SecretValue, Error> {
    let dns = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !dns(name, 253) {
        return Err(Error::Usage(format!(
            "--secret `{name}` is not a valid Secret name (lowercase letters, digits, `-`, `.`)"
        )));
    }
    if let Some(ns) = namespace.filter(|ns| !dns(ns, 63) || ns.contains('.')) {
        return Err(Error::Usage(format!(
            "--namespace `{ns}` is not a valid namespace (lowercase letters, digits, `-`)"
        )));
    }
    if !placeholder::is_key_name(key) {
        return Err(Error::Usage(format!(
            "--secret-key `{key}` is not a valid Secret key ([-._a-zA-Z0-9]+)"
        )));
    }
    let text = std::str::from_utf8(filled.expose()).expect("checked UTF-8 above");
    // Room for the escaped file up front: a growing buffer would leave copies of the values
    // behind in freed memory.
    let mut out = String::with_capacity(2 * text.len() + 256);
    out.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
    out.push_str(&format!("  name: {}\n", quote(name)));
    if let Some(ns) = namespace {
        out.push_str(&format!("  namespace: {}\n", quote(ns)));
    }
    out.push_str("type: Opaque\nstringData:\n  ");
    out.push_str(&quote(key));
    out.push_str(": ");
    // SECRET: the filled values enter the Secret text here.
    crate::manifest::edit::quote_into(&mut out, text);
    out.push('\n');
    Ok(SecretValue::new(out))
}
