//! `keyseed seed verify`: the backup and recovery drill (issue #21). The seed must open with
//! an identity at hand (named by where it was found, never by its key), the recipient-set
//! digest recorded inside the encrypted seed must be the digest of `keyseed.recipients`
//! (age hides which stanza is whose, so the seed carries it), and the header must hold one
//! recipient stanza per listed recipient. Any mismatch is a finding and exit 1.

use super::{recipients_path, Output};
use crate::app::args::SeedCommand;
use crate::app::error::Error;
use crate::app::settings::Settings;
use crate::diag::Finding;
use crate::seed::{file, recipients};

/// `keyseed seed …`.
pub fn run(settings: &Settings, cmd: &SeedCommand) -> Result<Output, Error> {
    match cmd {
        SeedCommand::Verify => verify(settings),
    }
}

fn verify(settings: &Settings) -> Result<Output, Error> {
    let path = &settings.seed.path;
    crate::app::hosts::check_argocd_path(path, "seed file")?;
    let data = crate::io::read_regular(path, crate::io::MAX_SEED_FILE).map_err(|source| {
        crate::seed::error::KeyError::SeedRead {
            path: path.clone(),
            origin: settings.seed.origin,
            source,
        }
    })?;
    let mut report = String::new();
    let mut problems = Vec::new();
    let stanzas =
        file::stanza_types(&data).map_err(|why| crate::seed::error::KeyError::SeedCorrupt {
            path: path.clone(),
            why,
        })?;
    let passphrase = stanzas.iter().any(|t| t == "scrypt");
    let seed = file::open(path, settings.seed.origin, &settings.identities)?;
    if passphrase {
        report.push_str(&format!(
            "{} opens with the passphrase in KEYSEED_PASSPHRASE\n",
            path.display()
        ));
    } else {
        let who = seed.opened_by.as_deref().unwrap_or("an identity at hand");
        report.push_str(&format!(
            "{} opens with the identity from {who}\n",
            path.display()
        ));
    }
    let rpath = recipients_path(settings);
    let listed = recipients::read_recipients_file(&rpath)?;
    let n = recipients::distinct(&listed);
    let want = recipients::digest(&listed);
    match &seed.recipients {
        Some(d) if *d == want => report.push_str(&format!(
            "it was last encrypted by keyseed to exactly the {n} recipient(s) of {} ({want})\n",
            rpath.display()
        )),
        Some(d) => problems.push(Finding::about_file(
            format!(
                "{} was last encrypted to another recipient set ({d}) than {} lists ({want}): the file was edited without re-encrypting, or the seed was re-encrypted by another tool",
                path.display(),
                rpath.display()
            ),
            Some("add or remove recipients with `keyseed recipients add|remove`, which re-encrypts the seed and rewrites the list together".into()),
        )),
        None => problems.push(Finding::about_file(
            format!(
                "{} records no recipient set (written by an older keyseed, or by another tool)",
                path.display()
            ),
            Some("re-encrypt it once with keyseed: `keyseed recipients remove KEY` and `add KEY` again, or `keyseed values set` of any value".into()),
        )),
    }
    if !passphrase {
        if stanzas.len() == n {
            report.push_str(&format!("its header holds {n} recipient stanza(s)\n"));
        } else {
            problems.push(Finding::about_file(
                format!(
                    "{} holds {} recipient stanza(s) ({}), {} lists {n} recipient(s)",
                    path.display(),
                    stanzas.len(),
                    stanzas.join(", "),
                    rpath.display()
                ),
                Some("the seed was re-encrypted outside keyseed; re-encrypt it with `keyseed recipients add|remove`".into()),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Findings(problems));
    }
    Ok(Output::bytes(report))
}
