//! keyseed: stable secrets for GitOps, derived from one age-encrypted seed.
//!
//! Data flows one way: stdin bytes → [`stream`] (documents) → [`yaml`] (spanned trees of the
//! documents that need it) → [`inject`] (plan) → [`keys`] + [`derive`] (values) → [`edit`]
//! (surgical byte edits) → [`render`] (validation) → stdout bytes. [`run`] is the whole
//! program with injected I/O; `main` only maps its result to an exit code.

pub mod asym;
pub mod certs;
pub mod cli;
pub mod commands;
pub mod config;
pub mod derive;
pub mod edit;
pub mod error;
pub mod fsutil;
pub mod inject;
pub mod keys;
pub mod krm;
pub mod lock;
pub mod placeholder;
pub mod render;
pub mod rollme;
pub mod secret;
pub mod settings;
pub mod stream;
pub mod tls;
pub mod validate;
pub mod yaml;

use std::io::Read;

use crate::cli::{Cli, Command};
use crate::commands::Output;
use crate::error::{Error, InputError};
use crate::settings::Settings;

/// Reads all of stdin once, with the size cap of [`stream::MAX_INPUT`]. `size_hint` (a
/// regular file's length) lets the buffer be allocated once at full size.
fn read_stdin(stdin: &mut dyn Read, size_hint: Option<u64>) -> Result<secret::SecretBytes, Error> {
    if size_hint.is_some_and(|n| n > stream::MAX_INPUT as u64) {
        return Err(InputError::TooLarge(stream::MAX_INPUT).into());
    }
    let cap = size_hint.unwrap_or(1 << 16) as usize + 1;
    let mut buf = secret::SecretBytes::new(Vec::with_capacity(cap));
    stdin
        .take(stream::MAX_INPUT as u64 + 1)
        .read_to_end(buf.expose_mut())
        .map_err(InputError::Read)?;
    if buf.expose().len() > stream::MAX_INPUT {
        return Err(InputError::TooLarge(stream::MAX_INPUT).into());
    }
    Ok(buf)
}

/// Runs one parsed command line. Returns what to write; writes nothing itself.
/// `stdin_len` is stdin's size when it is a regular file.
pub fn run(cli: &Cli, stdin: &mut dyn Read, stdin_len: Option<u64>) -> Result<Output, Error> {
    let reads_config = !matches!(cli.command, Command::LastError | Command::Init(_));
    // Under Argo CD a config path is checked before it is read (it may name the seed).
    if let (true, Some(c)) = (reads_config, &cli.global.config) {
        settings::check_argocd_path(c, "config file")?;
    }
    let settings = if reads_config {
        Settings::resolve(&cli.global).with_config(cli.global.config.as_deref())?
    } else {
        // A broken keyseed.yaml must not hide the last error, nor stop `init`.
        Settings::resolve(&cli.global)
    };
    if reads_config {
        settings::check_argocd_path(&settings.seed.path, "seed file")?;
    }
    match &cli.command {
        Command::Init(a) => commands::init(&settings, a),
        Command::Render(a) => {
            let input = read_stdin(stdin, stdin_len)?;
            commands::render(&settings, a, input, false)
        }
        Command::Krm(a) => {
            let input = read_stdin(stdin, stdin_len)?;
            commands::render(&settings, a, input, true)
        }
        Command::Plan(a) => {
            let input = read_stdin(stdin, stdin_len)?;
            commands::plan(&settings, a, input)
        }
        Command::Check(a) => {
            let input = read_stdin(stdin, stdin_len)?;
            commands::check(&settings, a, input.expose())
        }
        Command::Derive(a) => commands::derive(&settings, a),
        Command::LastError => commands::last_error(&settings),
        Command::Recipients(c) => commands::recipients(&settings, c),
        Command::Cert(c) => commands::cert(&settings, c),
        Command::Values(c) => commands::values(&settings, c, stdin),
    }
}

/// A legacy kustomize exec plugin call: `keyseed CONFIG-FILE` with the resources on stdin
/// (kustomize passes the plugin config file as the only argument).
pub fn run_legacy_plugin(config: &std::path::Path, stdin: &mut dyn Read) -> Result<Output, Error> {
    use clap::Parser as _;
    let cli =
        Cli::try_parse_from(["keyseed", "render"]).map_err(|e| Error::Usage(e.to_string()))?;
    let mut settings = Settings::resolve(&cli.global).with_config(cli.global.config.as_deref())?;
    let text = std::fs::read_to_string(config).map_err(|e| Error::BadArgument {
        message: format!(
            "cannot read kustomize plugin config `{}`: {e}",
            config.display()
        ),
        hint: None,
    })?;
    let f = krm::from_legacy_config(&text).map_err(|message| Error::BadArgument {
        message: format!("kustomize plugin config `{}`: {message}", config.display()),
        hint: Some("expected `kind: KeyseedTransformer` with optional spec.scope, spec.namespace, spec.seed".into()),
    })?;
    settings.apply_function(f);
    let input = read_stdin(stdin, None)?;
    commands::render(&settings, &cli::RenderArgs::default(), input, false)
}

/// Whether the first argument is a kustomize legacy plugin config file rather than a command.
pub fn is_legacy_plugin_call(arg: &std::ffi::OsStr) -> bool {
    use clap::CommandFactory as _;
    let s = arg.to_string_lossy();
    if s.starts_with('-') {
        return false;
    }
    let cmd = Cli::command();
    let known = cmd
        .get_subcommands()
        .any(|c| c.get_name() == s || c.get_all_aliases().any(|a| a == s));
    !known && std::path::Path::new(arg).is_file()
}
