//! The top error: every layer's error, plus the errors only commands have, and how an error
//! is rendered for a person (`error:` / `caused by:` / `hint:`). Errors carry locations
//! (document, resource, field) and file names, never secret values. `main` is the only
//! caller of [`render`] and [`Error::exit_code`].

use std::path::PathBuf;

use crate::app::fs::FsError;
use crate::app::hosts::HostError;
use crate::config::schema::{ConfigError, ScopeError};
use crate::diag::Finding;
use crate::inject::values::ValueError;
use crate::lock::LockError;
use crate::pipeline::PipelineError;
use crate::seed::error::{KeyError, RecipientError};

/// Errors reading stdin, before the stream exists.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// stdin could not be read.
    #[error("failed to read the manifest stream from stdin")]
    Read(#[source] std::io::Error),
    /// stdin is larger than keyseed accepts.
    #[error("the manifest stream is larger than {0} bytes")]
    TooLarge(usize),
}

/// Bad input given to one command (not the stream, not a file keyseed owns).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Helm, run by `keyseed template|install|upgrade`, failed or could not run.
    #[error("{0}")]
    Helm(String),
    /// `keyseed derive` got a spec that is not a placeholder.
    #[error("invalid spec `{spec}`")]
    Spec {
        /// The spec.
        spec: String,
        /// Why.
        #[source]
        source: crate::placeholder::PlaceholderError,
    },
    /// `keyseed derive` without an id.
    #[error("no derivation id given")]
    NoId,
    /// `keyseed derive` with a generation range and no `join=`.
    #[error("a generation range needs `join=SEP` to print one value")]
    RangeWithoutJoin,
    /// A static value name that is not a Secret key.
    #[error("value name `{0}` must match [-._a-zA-Z0-9]+")]
    ValueName(String),
    /// A static value larger than a Secret can hold.
    #[error("the value is {0} bytes; a Secret holds at most 1048576 (1 MiB)")]
    ValueTooLarge(usize),
    /// A static value that is not UTF-8.
    #[error("the value is not UTF-8 text")]
    ValueNotUtf8,
    /// A static value `values rm` does not find.
    #[error("no static value `{name}` in {}", path.display())]
    NoSuchValue {
        /// The name.
        name: String,
        /// The seed file.
        path: PathBuf,
    },
    /// A file named on the command line cannot be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `recipients add` of a present recipient.
    #[error("`{0}` is already a recipient")]
    RecipientPresent(String),
    /// `recipients remove` of an absent recipient.
    #[error("`{key}` is not in {}", path.display())]
    RecipientAbsent {
        /// The key.
        key: String,
        /// The recipients file.
        path: PathBuf,
    },
    /// `recipients remove` of the last recipient.
    #[error("refusing to remove the last recipient: nobody could decrypt the seed")]
    LastRecipient,
    /// `cert bundle --fix-order` of certificates that are not one chain.
    #[error("cannot order the certificates")]
    Chain(#[source] crate::checks::tls::ChainError),
    /// `keyseed cert` found no certificate.
    #[error("no certificate found")]
    NoCertificate,
}

impl CommandError {
    fn hint(&self) -> Option<String> {
        match self {
            CommandError::Spec { source, .. } => source.hint(),
            CommandError::NoId => Some(
                "pass --id SCOPE/SECRET/KEY, the id render uses for that Secret key (scope empty by default: `/backend-keys/encryption-key`)"
                    .into(),
            ),
            CommandError::RangeWithoutJoin => Some("derive one generation at a time with `gen=N`".into()),
            CommandError::ValueNotUtf8 => Some("store binary data base64-encoded".into()),
            CommandError::NoSuchValue { .. } => Some("`keyseed values list` shows the names".into()),
            CommandError::RecipientAbsent { .. } => Some("`keyseed recipients list` shows them".into()),
            CommandError::LastRecipient => Some("add the new recipient first".into()),
            CommandError::Chain(_) => {
                Some("pass the leaf, its intermediates and (optionally) the root".into())
            }
            _ => None,
        }
    }
}

/// The top-level error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading stdin.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The render pipeline.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Identities and the seed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Recipients.
    #[error(transparent)]
    Recipient(#[from] RecipientError),
    /// Producing a value (`derive`).
    #[error(transparent)]
    Value(#[from] ValueError),
    /// `keyseed.yaml`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--scope`.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// `keyseed.lock`.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Writing files.
    #[error(transparent)]
    File(#[from] FsError),
    /// A host's contract (Argo CD paths, kustomize plugin config).
    #[error(transparent)]
    Host(#[from] HostError),
    /// Bad input to one command.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// Findings of a command outside the pipeline (`cert`).
    #[error("{} problem(s) found", .0.len())]
    Findings(Vec<Finding>),
    /// Bad usage that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// A bug: keyseed refuses to write what it made.
    #[error("internal error: {0}")]
    Internal(String),
    /// SOPS output.
    #[error(transparent)]
    Sops(#[from] crate::sops::SopsError),
    /// Sealed output.
    #[error(transparent)]
    Seal(#[from] crate::seal::SealError),
    /// Writing stdout failed.
    #[error("failed to write to stdout")]
    Stdout(#[source] std::io::Error),
}

impl Error {
    /// The process exit code: 1 for bad input, keys or validation, 2 for usage and internal
    /// errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Internal(_)
            | Error::Pipeline(PipelineError::Internal(_))
            | Error::Seal(crate::seal::SealError::Edit(_))
            | Error::Sops(crate::sops::SopsError::Edit(_)) => 2,
            _ => 1,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Key(k) => k.hint(),
            Error::Value(v) | Error::Pipeline(PipelineError::Value(v)) => v.hint(),
            Error::Lock(l) => l.hint(),
            Error::Command(c) => c.hint(),
            Error::Host(h) => h.hint(),
            Error::File(f) => f.hint(),
            Error::Recipient(r) => r.hint(),
            Error::Pipeline(PipelineError::Empty) => Some(
                "an empty stream makes Argo CD prune everything; pass --allow-empty if it is intended"
                    .into(),
            ),
            Error::Pipeline(PipelineError::Internal(_)) | Error::Internal(_) => Some(
                "this is a bug in keyseed; please report it with the document's shape (not its values)"
                    .into(),
            ),
            _ => None,
        }
    }

    fn findings(&self) -> &[Finding] {
        match self {
            Error::Findings(f)
            | Error::Pipeline(PipelineError::Findings(f))
            | Error::Lock(LockError::Rotations(f))
            | Error::Lock(LockError::NeverRotate(f)) => f,
            _ => &[],
        }
    }
}

/// Renders an error for stderr: findings one by one, then `error:`, `caused by:` and `hint:`.
pub fn render(err: &Error) -> String {
    let mut out = String::new();
    for f in err.findings() {
        out.push_str(&format!("error: {f}\n"));
        if let Some(h) = &f.hint {
            out.push_str(&format!("  hint: {h}\n"));
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

/// Renders warnings for stderr: one line each, and its hint indented below it.
pub fn render_warnings(warnings: &[Finding]) -> String {
    warnings
        .iter()
        .map(|w| match &w.hint {
            Some(h) => format!("warning: {w}\n  hint: {h}\n"),
            None => format!("warning: {w}\n"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::EditError;

    #[test]
    fn internal_errors_exit_2_and_findings_exit_1() {
        let internal = Error::Pipeline(PipelineError::Internal(EditError::Overlap(3)));
        assert_eq!(internal.exit_code(), 2);
        assert!(render(&internal).contains("internal error"));
        assert!(render(&internal).contains("bug in keyseed"));
        assert_eq!(
            Error::Pipeline(PipelineError::Findings(Vec::new())).exit_code(),
            1
        );
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
    }
}
