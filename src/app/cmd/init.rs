//! `keyseed init`: a new random seed, encrypted to the recipients given or to a new
//! identity. Never overwrites an existing file.

use super::{recipients_path, recipients_text, Output};
use crate::app::args::InitArgs;
use crate::app::error::Error;
use crate::app::fs::{create_all, FsError};
use crate::app::settings::{default_identity_file, Settings};
use crate::seed::file::SeedFile;
use crate::seed::recipients;

/// `keyseed init`.
pub fn run(settings: &Settings, args: &InitArgs) -> Result<Output, Error> {
    let seed_path = settings.seed.path.clone();
    let recipients_path = recipients_path(settings);
    let mut recipients = args.recipient.clone();
    for f in &args.recipients_file {
        recipients.extend(recipients::read_recipients_file(f)?);
    }
    for r in &recipients {
        recipients::parse_recipient(r)?;
    }
    // Refuse before writing anything, so a half-done init never happens.
    for p in [&seed_path, &recipients_path] {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(FsError::Exists(p.clone()).into());
        }
    }
    let mut report = String::new();
    // Everything is staged first and placed all at once: a failure leaves no identity
    // without its seed, and a retry starts clean.
    let mut identity: Option<(std::path::PathBuf, String)> = None;
    if recipients.is_empty() {
        let out = args
            .identity_out
            .clone()
            .or_else(default_identity_file)
            .ok_or_else(|| Error::Usage("no --identity-out given and no home directory".into()))?;
        if std::fs::symlink_metadata(&out).is_ok() {
            return Err(FsError::Exists(out).into());
        }
        let (secret, public) = recipients::generate_identity();
        let text = format!(
            "# created by keyseed init\n# public key: {public}\n{}\n",
            secret.expose()
        );
        report.push_str(&format!(
            "wrote identity {} (keep it secret; its public key is below)\n",
            out.display()
        ));
        recipients.push(public);
        identity = Some((out, text));
    }
    let seed = SeedFile::generate();
    let cipher = recipients::encrypt(&seed.to_plaintext(&recipients), &recipients)?;
    let rtext = recipients_text(&recipients);
    let mut files: Vec<(&std::path::Path, &[u8], u32)> = Vec::new();
    if let Some((path, text)) = &identity {
        files.push((path, text.as_bytes(), 0o600));
    }
    files.push((&seed_path, &cipher, 0o644));
    files.push((&recipients_path, rtext.as_bytes(), 0o644));
    create_all(&files)?;
    if let Some((_, mut text)) = identity {
        crate::secret::wipe(&mut text);
    }
    report.push_str(&format!(
        "wrote {} and {}\n",
        seed_path.display(),
        recipients_path.display()
    ));
    let mut public = String::new();
    for r in &recipients {
        public.push_str(r);
        public.push('\n');
    }
    let mut out = Output::bytes(public);
    out.notes = report;
    Ok(out)
}
