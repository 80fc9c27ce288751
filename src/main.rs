//! The `keyseed` binary: parse arguments, run, map the result to an exit code. Everything
//! else lives in the library's application layer.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(first) = std::env::args_os().nth(1) {
        if keyseed::is_legacy_plugin_call(&first) {
            let out = keyseed::run_legacy_plugin(first.as_ref(), &mut std::io::stdin().lock());
            return ExitCode::from(keyseed::finish(out, None));
        }
    }
    let cli = match keyseed::Cli::parse_args() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let error_file = match cli.command {
        keyseed::Command::LastError => None,
        _ => keyseed::error_file(&cli),
    };
    let out = keyseed::run(&cli, &mut std::io::stdin().lock(), stdin_file_len());
    ExitCode::from(keyseed::finish(out, error_file.as_deref()))
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
