//! The `keyseed` binary: parse arguments, run, write stdout once, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Some(first) = std::env::args_os().nth(1) {
        if keyseed::is_legacy_plugin_call(&first) {
            let out = keyseed::run_legacy_plugin(first.as_ref(), &mut std::io::stdin().lock());
            return finish(out, None);
        }
    }
    let cli = match keyseed::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let settings = keyseed::settings::Settings::resolve(&cli.global);
    let error_file = match cli.command {
        keyseed::cli::Command::LastError => None,
        _ => settings.error_file.clone(),
    };
    let out = keyseed::run(&cli, &mut std::io::stdin().lock(), stdin_file_len());
    finish(out, error_file)
}

/// Writes a command's output (or its error) and picks the exit code.
fn finish(
    out: Result<keyseed::commands::Output, keyseed::error::Error>,
    error_file: Option<std::path::PathBuf>,
) -> ExitCode {
    match out {
        Ok(out) => {
            if let Some(f) = &error_file {
                // A stale error must not outlive a successful run.
                let _ = std::fs::remove_file(f);
            }
            eprint!("{}", out.notes);
            let mut stdout = std::io::stdout().lock();
            // SECRET: rendered manifests go to stdout only after every check passed.
            match out.stdout.write_to(&mut stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let err = keyseed::error::Error::Stdout(e);
                    eprint!("{}", keyseed::error::render(&err));
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            let text = keyseed::error::render(&e);
            eprint!("{text}");
            if let Some(f) = &error_file {
                record_error(f, &text);
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Helm 4 discards a post-renderer's stderr, even on failure: keep the error where the user
/// can read it (`keyseed last-error`, `helm keyseed last-error`), and on a terminal show it.
/// Errors never hold secret values; the file is still private (0600).
fn record_error(path: &std::path::Path, text: &str) {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    if let Ok(mut f) = opts.open(path) {
        let _ = f.write_all(text.as_bytes());
    }
    if keyseed::settings::under_helm_plugin() {
        if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            let _ = write!(tty, "keyseed (post-renderer) failed:\n{text}");
        }
    }
}

/// stdin's length when it is a regular file (`keyseed render < file`), to size the buffer.
fn stdin_file_len() -> Option<u64> {
    #[cfg(unix)]
    {
        let meta = std::fs::metadata("/dev/stdin").ok()?;
        meta.is_file().then_some(meta.len())
    }
    #[cfg(not(unix))]
    None
}
