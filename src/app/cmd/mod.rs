//! One module per command. Each takes the resolved settings and injected I/O and returns
//! what to write ([`Output`]); none prints or exits. [`render_stream`] drives the pipeline
//! for `render`, `krm` and `plan`, opening the seed between its stages.

pub mod cert;
pub mod check;
pub mod derive;
pub mod fill;
pub mod helm;
pub mod init;
pub mod pin;
pub mod plan;
pub mod recipients;
pub mod render;
pub mod rotate;
pub mod seed;
pub mod values;

use std::path::PathBuf;

use crate::app::args::RenderArgs;
use crate::app::error::Error;
use crate::app::hosts;
use crate::app::settings::{function_seed, SeedPath, Settings};
use crate::derive::hint::RsaHints;
use crate::derive::{kdf, mac};
use crate::diag::Finding;
use crate::inject::budget;
use crate::lock::LockOptions;
use crate::manifest::document::Documents;
use crate::pipeline::{self, Options, Rendered};
use crate::rollout::Report;
use crate::seal::{seal_documents, Scope, Sealer};
use crate::secret::{SecretBytes, SecretInput};
use crate::seed::file::{self, SeedFile};

/// What goes to stdout on success.
#[derive(Debug, Default)]
pub enum Stdout {
    /// Nothing.
    #[default]
    Nothing,
    /// Bytes (a derived value, a table, a list).
    Bytes(SecretBytes),
    /// The rendered stream.
    Stream(Documents),
}

/// What a command produced: bytes for stdout (written only on success) and notes for stderr.
#[derive(Debug, Default)]
pub struct Output {
    /// The bytes for stdout.
    pub stdout: Stdout,
    /// Messages for stderr (never secret).
    pub notes: String,
}

impl Output {
    /// Output of some bytes and no notes.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Self {
        Output {
            stdout: Stdout::Bytes(SecretBytes::new(b.into())),
            notes: String::new(),
        }
    }

    /// Output of notes only.
    pub fn notes(notes: String) -> Self {
        Output {
            stdout: Stdout::Nothing,
            notes,
        }
    }

    /// Writes stdout. SECRET: rendered manifests leave the process here, only on success.
    pub fn write_stdout(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.stdout {
            Stdout::Nothing => Ok(()),
            Stdout::Bytes(b) => {
                w.write_all(b.expose())?;
                w.flush()
            }
            Stdout::Stream(d) => d.write_to(w),
        }
    }
}

/// Opens a seed file after the host's path guard approved it.
pub fn open_seed(settings: &Settings, seed: &SeedPath) -> Result<SeedFile, Error> {
    hosts::check_argocd_path(&seed.path, "seed file")?;
    Ok(file::open(&seed.path, seed.origin, &settings.identities)?)
}

/// Pipeline options of `render`, `krm` and `plan`.
fn options(args: &RenderArgs, krm: bool) -> Options {
    Options {
        allow_empty: args.allow_empty,
        require_resource_list: krm,
    }
}

/// Lock options of `render`, `krm` and `plan`.
pub(crate) fn lock_options(args: &RenderArgs) -> LockOptions {
    LockOptions {
        path: args.lock.clone(),
        update: args.update_lock,
    }
}

/// Runs the whole pipeline over stdin: plan, open the seed when a value or a rollout key
/// needs it, inject, annotate, check; then the lock. Returns the render, unwritten;
/// `report` says which workloads it reports (`plan` lists them all).
pub fn render_stream(
    settings: &Settings,
    args: &RenderArgs,
    input: SecretInput,
    krm: bool,
    report: Report,
) -> Result<Rendered, Error> {
    let planned = pipeline::plan(input, &settings.inputs(), options(args, krm))?;
    let lock = lock_options(args);
    let locked = crate::lock::load(&lock)?;
    // The work the stream asks for, before the seed is opened or anything generated; RSA keys
    // with a search hint in the lock are counted as found (checked again below, once the
    // hints can be verified).
    budget::check(
        planned.injections(),
        args.budget,
        &|format, id, gen, _| {
            locked
                .hints
                .contains_key(&(format.to_string(), id.to_string(), gen.to_string()))
        },
        true,
    )
    .map_err(Error::Findings)?;
    let seed_path = planned
        .function_seed
        .clone()
        .map(function_seed)
        .unwrap_or_else(|| settings.seed.clone());
    let mut seed = None;
    if planned.needs_seed() {
        opened(&mut seed, settings, &seed_path)?;
    }
    let certs = settings.certs(&planned.ctx.scope);
    let hints = match &seed {
        Some(s) if lock.path.is_some() => RsaHints::new(&s.seed, locked.hints.clone()),
        _ => RsaHints::none(),
    };
    if seed.is_some() && !locked.hints.is_empty() {
        // A hint counts only if it verifies under this seed: an edited lock cannot buy work.
        budget::check(
            planned.injections(),
            args.budget,
            &|format, id, gen, bits| hints.offsets(&kdf::info(format, id, gen), bits).is_some(),
            true,
        )
        .map_err(Error::Findings)?;
    }
    let mut injected = planned.inject(
        seed.as_ref().map(|s| (s, seed_path.path.as_path())),
        &certs,
        &hints,
    )?;
    if settings.audit_annotations() {
        injected.annotate_fingerprints()?;
    }
    let rollout = settings.rollout();
    let analysis = injected.analyze(&rollout, report);
    if analysis.needs_key() {
        opened(&mut seed, settings, &seed_path)?;
    }
    let key = seed.as_ref().map(|s| mac::rollout_key(&s.seed));
    let notes: Vec<String> = seed.as_ref().map(|s| s.notes.clone()).unwrap_or_default();
    let mut rendered = injected.finish(
        analysis,
        &rollout,
        key.as_ref().map(|k| k.expose()),
        &settings.tls()?,
    )?;
    rendered
        .warnings
        .extend(notes.into_iter().map(Finding::warning_about_file));
    // `--update-lock` is a read-modify-write of the lock file: under an exclusive lock on its
    // directory the file is read again and this render merged into what is there now, so
    // concurrent renders (or `keyseed rotate`) lose nothing.
    let _held = match &lock.path {
        Some(path) if lock.update && !matches!(report, Report::Every) => {
            Some(crate::app::fs::DirLock::of(path)?)
        }
        _ => None,
    };
    let locked = if _held.is_some() {
        crate::lock::load(&lock)?
    } else {
        locked
    };
    // `plan` reports how every value compares with the lock, and never fails on it or
    // writes it; `render` and `krm` check it (and write it with --update-lock).
    let update = if matches!(report, Report::Every) {
        crate::lock::Update::default()
    } else {
        crate::lock::check(
            &lock,
            &locked,
            &rendered.injected,
            rendered.namespace.as_ref(),
            &hints.outcomes(),
            &settings.ctx.generations,
        )?
    };
    if let (Some(text), Some(path)) = (update.text, &lock.path) {
        crate::app::fs::write_atomic(path, text.as_bytes(), 0o644)?;
    }
    encrypt_output(settings, args, &mut rendered, &mut seed, &seed_path)?;
    for note in update.notes {
        rendered.warnings.push(Finding::warning_about_file(note));
    }
    Ok(rendered)
}

/// The seed in `slot`, opened from `path` on first use (a render that needs no seed never
/// asks for an identity).
fn opened<'a>(
    slot: &'a mut Option<SeedFile>,
    settings: &Settings,
    path: &SeedPath,
) -> Result<&'a SeedFile, Error> {
    let seed = match slot.take() {
        Some(seed) => seed,
        None => open_seed(settings, path)?,
    };
    Ok(slot.insert(seed))
}

/// `--seal-cert` and `--sops-age`: replaces the rendered Secrets with SealedSecrets or
/// SOPS-encrypted Secrets, deterministically from the seed (docs/derivation.md).
fn encrypt_output(
    settings: &Settings,
    args: &RenderArgs,
    rendered: &mut Rendered,
    seed: &mut Option<SeedFile>,
    seed_path: &SeedPath,
) -> Result<(), Error> {
    if let Some(cert) = &args.seal_cert {
        let scope = match args.seal_scope.as_str() {
            "namespace-wide" => Scope::NamespaceWide,
            "cluster-wide" => Scope::ClusterWide,
            _ => Scope::Strict,
        };
        let pem = crate::io::read_regular(cert, crate::io::MAX_SMALL_FILE).map_err(|source| {
            crate::app::error::CommandError::Read {
                path: cert.clone(),
                source,
            }
        })?;
        let sealer = Sealer::from_pem(&pem, scope)?;
        let seed = opened(seed, settings, seed_path)?;
        let ctx = crate::k8s::object::Context {
            scope: String::new(),
            namespace: rendered.namespace.clone(),
            ..Default::default()
        };
        seal_documents(&mut rendered.docs, &sealer, &seed.seed, &ctx)?;
    }
    if !args.sops_age.is_empty() {
        let recipients = crate::sops::Recipients::parse(&args.sops_age)?;
        let seed = opened(seed, settings, seed_path)?;
        crate::sops::encrypt_documents(&mut rendered.docs, &recipients, &seed.seed)?;
    }
    Ok(())
}

/// `keyseed completions SHELL`: the shell's completion script, generated from the clap
/// definition (so it always matches the commands and options).
pub fn completions(shell: clap_complete::Shell) -> Output {
    use clap::CommandFactory as _;
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut crate::app::args::Cli::command(),
        "keyseed",
        &mut out,
    );
    Output::bytes(out)
}

/// `keyseed last-error`: prints the error file of the last failed run.
pub fn last_error(settings: &Settings) -> Result<Output, Error> {
    let path = settings
        .error_file
        .clone()
        .or_else(hosts::default_error_file)
        .ok_or_else(|| Error::Usage("no error file: set --error-file or HOME".into()))?;
    let text = match crate::io::read_regular_text(&path, crate::io::MAX_SMALL_FILE) {
        Ok(t) => t
            .strip_prefix(hosts::ERROR_FILE_MARK)
            .map(String::from)
            .unwrap_or(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "no error recorded in {} (the last run succeeded)\n",
                path.display()
            )
        }
        Err(source) => return Err(crate::app::error::CommandError::Read { path, source }.into()),
    };
    Ok(Output::bytes(text))
}

/// The recipients file next to the seed file.
pub fn recipients_path(settings: &Settings) -> PathBuf {
    settings
        .seed
        .path
        .parent()
        .map(|p| p.join("keyseed.recipients"))
        .unwrap_or_else(|| PathBuf::from("keyseed.recipients"))
}

/// The text of a recipients file.
pub fn recipients_text(recipients: &[String]) -> String {
    let mut t = String::from("# age recipients keyseed.age is encrypted to (one per line)\n");
    for r in recipients {
        t.push_str(r);
        t.push('\n');
    }
    t
}

/// Re-encrypts the seed file to `recipients` and rewrites both files atomically. The caller
/// holds the [`DirLock`](crate::app::fs::DirLock) of the seed's directory.
///
/// The order never widens access on a failure between the two writes: when recipients are
/// removed, the recipients file is written first (a crash leaves the removed key able to read
/// the old seed, as it could before, but no longer listed, so no later rewrite re-grants it);
/// otherwise the seed first. The new seed is read back before it replaces the old one:
/// decrypted with the identities at hand when one of them is still a recipient (always for
/// `values`), parsed in any case; the recipients file is read back and compared.
pub fn rewrite_seed(
    settings: &Settings,
    seed: &SeedFile,
    old: &[String],
    recipients: &[String],
) -> Result<(), Error> {
    use crate::app::fs::{replace_all, FsError};
    let plain = seed.to_plaintext(recipients);
    let cipher = crate::seed::recipients::encrypt(&plain, recipients)?;
    match file::decrypt(&cipher, &settings.seed.path, &settings.identities) {
        Ok(d) if d.plain.expose() == plain.expose() => {}
        Ok(_) => return Err(FsError::ReadBack(settings.seed.path.clone()).into()),
        Err(crate::seed::error::KeyError::WrongIdentity { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    SeedFile::parse(&plain, &settings.seed.path)?;
    let rpath = recipients_path(settings);
    let text = recipients_text(recipients);
    // Everything is checked before the first write: the list reads back from its text, and
    // `replace_all` checks both paths and stages both files before it renames either, so a
    // refused recipients file never leaves a seed encrypted to a list it does not hold.
    if crate::seed::recipients::parse_recipients_text(&text) != recipients {
        return Err(FsError::ReadBack(rpath).into());
    }
    let seed_file = (settings.seed.path.as_path(), cipher.as_slice(), 0o644);
    let list_file = (rpath.as_path(), text.as_bytes(), 0o644);
    let shrinks = old.iter().any(|r| !recipients.contains(r));
    if shrinks {
        replace_all(&[list_file, seed_file])?;
    } else {
        replace_all(&[seed_file, list_file])?;
    }
    let back = crate::seed::recipients::read_recipients_file(&rpath)?;
    if back != recipients {
        return Err(FsError::ReadBack(rpath.clone()).into());
    }
    Ok(())
}
