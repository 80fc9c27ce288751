//! The application layer, the only one that knows about the process: raw arguments
//! ([`args`]) are resolved into one [`settings::Settings`], host contracts ([`hosts`]) are
//! applied, stdin is read once, and each command ([`cmd`]) drives the layers below. Errors
//! of every layer meet in [`error`]; files are written only through [`fs`].

pub mod args;
pub mod cmd;
pub mod error;
pub mod fs;
pub mod hosts;
pub mod settings;

use std::io::Read;
use std::path::Path;

use crate::app::args::{Cli, Command, RenderArgs};
use crate::app::cmd::Output;
use crate::app::error::{Error, InputError};
use crate::app::settings::Settings;
use crate::manifest::stream::MAX_INPUT;
use crate::secret::{SecretBytes, SecretInput};

/// Reads all of stdin once, with the size cap of [`MAX_INPUT`]. `size_hint` (a regular
/// file's length) lets the buffer be allocated once at full size: from 128 KiB on, as a
/// private anonymous mapping with its pages populated in one call, so reading costs no page
/// fault per 4 KiB (a 3.4 MB stream reads in about two thirds of the time; issue #22).
fn read_stdin(stdin: &mut dyn Read, size_hint: Option<u64>) -> Result<SecretInput, Error> {
    if size_hint.is_some_and(|n| n > MAX_INPUT as u64) {
        return Err(InputError::TooLarge(MAX_INPUT).into());
    }
    let mut stdin = stdin.take(MAX_INPUT as u64 + 1);
    if let Some(len) = size_hint.map(|n| n as usize).filter(|&n| n >= 128 * 1024) {
        // One byte more than the file holds: a file that grew since is read on in the heap.
        if let Ok(mut map) = memmap2::MmapOptions::new()
            .len(len + 1)
            .populate()
            .map_anon()
        {
            let mut filled = 0;
            while filled < map.len() {
                match stdin.read(&mut map[filled..]) {
                    Ok(0) => return Ok(SecretInput::Mapped(map, filled)),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(InputError::Read(e).into()),
                }
            }
            let mut buf = SecretBytes::new(Vec::with_capacity(2 * map.len()));
            buf.expose_mut().extend_from_slice(&map[..filled]);
            drop(map);
            return read_rest(&mut stdin, buf).map(SecretInput::Heap);
        }
    }
    let cap = size_hint.unwrap_or(1 << 16) as usize + 1;
    read_rest(&mut stdin, SecretBytes::new(Vec::with_capacity(cap))).map(SecretInput::Heap)
}

/// Reads the rest of `stdin` into `buf`, with the size cap of [`MAX_INPUT`].
fn read_rest(stdin: &mut dyn Read, mut buf: SecretBytes) -> Result<SecretBytes, Error> {
    stdin
        .read_to_end(buf.expose_mut())
        .map_err(InputError::Read)?;
    if buf.expose().len() > MAX_INPUT {
        return Err(InputError::TooLarge(MAX_INPUT).into());
    }
    Ok(buf)
}

/// Runs one parsed command line. Returns what to write; writes nothing itself.
/// `stdin_len` is stdin's size when it is a regular file.
pub fn run(cli: &Cli, stdin: &mut dyn Read, stdin_len: Option<u64>) -> Result<Output, Error> {
    match &cli.command {
        Command::Completions { shell } => return Ok(cmd::completions(*shell)),
        // A values file finds its config and seed from where it lies (cmd::fill).
        Command::Fill(a) => return cmd::fill::run(&cli.global, a, stdin),
        Command::Getter(a) => return cmd::fill::getter(&cli.global, a),
        Command::Pin(a) => return cmd::pin::run(&cli.global, a),
        // A values file's ids rotate in the config `fill` finds for it.
        Command::Rotate(a) if a.values.is_some() => return cmd::rotate::run_values(&cli.global, a),
        _ => {}
    }
    let reads_config = !matches!(cli.command, Command::LastError | Command::Init(_));
    // Under Argo CD a config path is checked before it is read (it may name the seed), the
    // implicit ./keyseed.yaml too.
    if reads_config {
        let implicit = Path::new("keyseed.yaml");
        match &cli.global.config {
            Some(c) => hosts::check_argocd_path(c, "config file")?,
            None if std::fs::symlink_metadata(implicit).is_ok() => {
                hosts::check_argocd_path(implicit, "config file")?
            }
            None => {}
        }
    }
    let settings = if reads_config {
        Settings::resolve(&cli.global).with_config(cli.global.config.as_deref())?
    } else {
        // A broken keyseed.yaml must not hide the last error, nor stop `init`.
        Settings::resolve(&cli.global)
    };
    if reads_config {
        hosts::check_argocd_path(&settings.seed.path, "seed file")?;
    }
    match &cli.command {
        Command::Init(a) => cmd::init::run(&settings, a),
        Command::Render(a) => cmd::render::run(&settings, a, read_stdin(stdin, stdin_len)?, false),
        Command::Krm(a) => cmd::render::run(&settings, a, read_stdin(stdin, stdin_len)?, true),
        Command::Plan(a) => cmd::plan::run(&settings, a, read_stdin(stdin, stdin_len)?),
        Command::Check(a) => cmd::check::run(&settings, a, read_stdin(stdin, stdin_len)?),
        Command::Derive(a) => cmd::derive::run(&settings, a),
        Command::Rotate(a) => {
            // A terminal would wait for manifests that never come.
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                return Err(Error::Usage("keyseed rotate reads the rendered manifests on stdin: `helm template … | keyseed rotate ID`, or give --values FILE".into()));
            }
            cmd::rotate::run(&settings, a, read_stdin(stdin, stdin_len)?)
        }
        Command::Template(a) => cmd::helm::run(&settings, cmd::helm::Verb::Template, a),
        Command::Install(a) => cmd::helm::run(&settings, cmd::helm::Verb::Install, a),
        Command::Upgrade(a) => cmd::helm::run(&settings, cmd::helm::Verb::Upgrade, a),
        Command::LastError => cmd::last_error(&settings),
        Command::Recipients(c) => cmd::recipients::run(&settings, c),
        Command::Cert(c) => cmd::cert::run(&settings, c),
        Command::Values(c) => cmd::values::run(&settings, c, stdin),
        Command::Seed(c) => cmd::seed::run(&settings, c),
        Command::Completions { shell } => Ok(cmd::completions(*shell)),
        Command::Fill(_) | Command::Getter(_) | Command::Pin(_) => {
            unreachable!("dispatched above")
        }
    }
}

/// A legacy kustomize exec plugin call: `keyseed CONFIG-FILE` with the resources on stdin
/// (kustomize passes the plugin config file as the only argument).
pub fn run_legacy_plugin(config: &Path, stdin: &mut dyn Read) -> Result<Output, Error> {
    use clap::Parser as _;
    let cli =
        Cli::try_parse_from(["keyseed", "render"]).map_err(|e| Error::Usage(e.to_string()))?;
    let mut settings = Settings::resolve(&cli.global).with_config(cli.global.config.as_deref())?;
    settings
        .apply_function(hosts::legacy_plugin_settings(config)?)
        .map_err(|source| hosts::HostError::PluginConfig {
            path: config.to_path_buf(),
            source,
        })?;
    let input = read_stdin(stdin, None)?;
    cmd::render::run(&settings, &RenderArgs::default(), input, false)
}

/// Whether the first argument is a kustomize legacy plugin config file rather than a command.
pub fn is_legacy_plugin_call(arg: &std::ffi::OsStr) -> bool {
    use clap::CommandFactory as _;
    let s = arg.to_string_lossy();
    // A file test first: building the command line is what costs here.
    if s.starts_with('-') || !Path::new(arg).is_file() {
        return false;
    }
    let cmd = Cli::command();
    let known = cmd
        .get_subcommands()
        .any(|c| c.get_name() == s || c.get_all_aliases().any(|a| a == s));
    !known
}

/// The whole program after argument parsing: runs, writes stdout once on success, renders
/// the error otherwise (also into the error file Helm 4 users read). Returns the exit code.
pub fn finish(out: Result<Output, Error>, error_file: Option<&Path>) -> u8 {
    let fail = |e: &Error| {
        let text = error::render(e);
        eprint!("{text}");
        if let Some(f) = error_file {
            hosts::record_error(f, &text);
        }
        e.exit_code()
    };
    match out {
        Ok(out) => {
            eprint!("{}", out.notes);
            let mut stdout = std::io::stdout().lock();
            let r = out.write_stdout(&mut stdout);
            match r {
                Ok(()) => {
                    if let Some(f) = error_file {
                        // A stale error must not outlive a successful run.
                        hosts::clear_error(f);
                    }
                    0
                }
                Err(e) => fail(&Error::Stdout(e)),
            }
        }
        Err(e) => fail(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_reads_whole_whatever_its_stated_length() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| b"abcdefgh\n"[(i % 9) as usize])
            .collect();
        let read = |hint: Option<u64>| read_stdin(&mut &data[..], hint).expect("reads");
        // The stated length, a shorter one (the file grew: read on in the heap), a longer
        // one (it shrank), none (a pipe), and a small file.
        let exact = read(Some(data.len() as u64));
        assert!(matches!(exact, SecretInput::Mapped(_, n) if n == data.len()));
        assert_eq!(exact.expose(), &data[..]);
        let grown = read(Some(200_000));
        assert!(matches!(grown, SecretInput::Heap(_)));
        assert_eq!(grown.expose(), &data[..]);
        assert_eq!(read(Some(400_000)).expose(), &data[..]);
        assert_eq!(read(None).expose(), &data[..]);
        let small = read_stdin(&mut &data[..1000], Some(1000)).expect("reads");
        assert!(matches!(small, SecretInput::Heap(_)));
        assert_eq!(small.expose(), &data[..1000]);
    }
}
