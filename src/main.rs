//! The `keyseed` binary: parse arguments, run, write stdout once, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match keyseed::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match keyseed::run(&cli, &mut std::io::stdin().lock(), stdin_file_len()) {
        Ok(out) => {
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
            eprint!("{}", keyseed::error::render(&e));
            ExitCode::from(e.exit_code())
        }
    }
}

/// stdin's length when it is a regular file (`keyseed render < file`), to size the buffer.
fn stdin_file_len() -> Option<u64> {
    #[cfg(unix)]
    {
        let meta = std::fs::metadata("/dev/stdin").ok()?;
        meta.is_file().then(|| meta.len())
    }
    #[cfg(not(unix))]
    None
}
