//! The `keyseed` binary: parse arguments, run, write stdout once, map errors to exit codes.

use std::io::Write;
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
    match keyseed::run(&cli, &mut std::io::stdin().lock()) {
        Ok(out) => {
            eprint!("{}", out.notes);
            let mut stdout = std::io::stdout().lock();
            // SECRET: rendered manifests go to stdout in one write, only after success.
            match stdout
                .write_all(out.stdout.expose())
                .and_then(|_| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprint!(
                        "{}",
                        keyseed::error::render(&keyseed::error::Error::Stdout(e))
                    );
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
