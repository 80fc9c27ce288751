//! `keyseed recipients add|remove|list`: re-encrypts the seed to a new set of recipients
//! (needs an identity) and rewrites `keyseed.recipients`.

use super::{open_seed, recipients_path, rewrite_seed, Output};
use crate::app::args::RecipientsCommand;
use crate::app::error::{CommandError, Error};
use crate::app::fs::DirLock;
use crate::app::settings::Settings;
use crate::seed::recipients;

/// `keyseed recipients …`.
pub fn run(settings: &Settings, cmd: &RecipientsCommand) -> Result<Output, Error> {
    use RecipientsCommand as R;
    let path = recipients_path(settings);
    // Held until the command returns: concurrent writers serialise instead of losing data.
    let _lock = DirLock::of(&settings.seed.path)?;
    let mut list = recipients::read_recipients_file(&path)?;
    let old = list.clone();
    let norm = recipients::key_of;
    match cmd {
        R::List => {
            let mut t = String::new();
            for r in &list {
                t.push_str(r);
                t.push('\n');
            }
            Ok(Output::bytes(t))
        }
        R::Add { key } => {
            recipients::parse_recipient(key)?;
            if list.iter().any(|r| norm(r) == norm(key)) {
                return Err(CommandError::RecipientPresent(key.trim().to_string()).into());
            }
            let seed = open_seed(settings, &settings.seed)?;
            list.push(key.trim().to_string());
            rewrite_seed(settings, &seed, &old, &list)?;
            Ok(Output::notes(format!(
                "added a recipient; {} re-encrypted to {} recipient(s)\n",
                settings.seed.path.display(),
                list.len()
            )))
        }
        R::Remove { key } => {
            let before = list.len();
            list.retain(|r| norm(r) != norm(key));
            if list.len() == before {
                return Err(CommandError::RecipientAbsent {
                    key: key.trim().to_string(),
                    path,
                }
                .into());
            }
            if list.is_empty() {
                return Err(CommandError::LastRecipient.into());
            }
            let seed = open_seed(settings, &settings.seed)?;
            rewrite_seed(settings, &seed, &old, &list)?;
            Ok(Output::notes(format!(
                    "removed a recipient; {} re-encrypted to {} recipient(s). Its holder may still have an old copy: rotate values that must not outlive access\n",
                    settings.seed.path.display(),
                    list.len()
                )))
        }
    }
}
