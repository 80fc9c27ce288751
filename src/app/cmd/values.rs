//! `keyseed values set|list|rm`: static values inside the seed file (`<keyseed:value:NAME>`).
//! `list` shows names only.

use super::{open_seed, recipients_path, rewrite_seed, Output};
use std::io::Read;

use crate::app::args::ValuesCommand;
use crate::app::error::{CommandError, Error, InputError};
use crate::app::fs::DirLock;
use crate::app::settings::Settings;
use crate::placeholder;
use crate::secret::{SecretBytes, SecretValue};
use crate::seed::recipients;

/// The largest static value: a Secret holds at most 1 MiB.
const MAX_VALUE: usize = 1 << 20;

/// `keyseed values …`.
pub fn run(
    settings: &Settings,
    cmd: &ValuesCommand,
    stdin: &mut dyn std::io::Read,
) -> Result<Output, Error> {
    use ValuesCommand as V;
    // Held until the command returns: concurrent writers serialise instead of losing data.
    let _lock = DirLock::of(&settings.seed.path)?;
    let mut seed = open_seed(settings, &settings.seed)?;
    let recipients = recipients::read_recipients_file(&recipients_path(settings))?;
    let check_name = |n: &str| {
        if placeholder::is_key_name(n) {
            Ok(())
        } else {
            Err(CommandError::ValueName(n.to_string()))
        }
    };
    match cmd {
        V::List => {
            let mut t = String::new();
            for k in seed.values.keys() {
                t.push_str(k);
                t.push('\n');
            }
            Ok(Output::bytes(t))
        }
        V::Set { name, from_file } => {
            check_name(name)?;
            let mut raw = SecretBytes::new(Vec::new());
            match from_file {
                Some(f) => {
                    *raw.expose_mut() = crate::io::read_regular(f, crate::io::MAX_SMALL_FILE)
                        .map_err(|source| CommandError::Read {
                            path: f.clone(),
                            source,
                        })?;
                }
                None => {
                    <&mut dyn std::io::Read as std::io::Read>::take(stdin, MAX_VALUE as u64 + 2)
                        .read_to_end(raw.expose_mut())
                        .map_err(InputError::Read)?;
                    let v = raw.expose_mut();
                    if v.ends_with(b"\n") {
                        v.pop();
                        if v.ends_with(b"\r") {
                            v.pop();
                        }
                    }
                }
            }
            if raw.expose().len() > MAX_VALUE {
                return Err(CommandError::ValueTooLarge(raw.expose().len()).into());
            }
            let text =
                String::from_utf8(raw.expose().to_vec()).map_err(|_| CommandError::ValueNotUtf8)?;
            seed.values.insert(name.clone(), SecretValue::new(text));
            rewrite_seed(settings, &seed, &recipients, &recipients)?;
            Ok(Output::notes(format!(
                "set `{name}` in {}\n",
                settings.seed.path.display()
            )))
        }
        V::Rm { name } => {
            if seed.values.remove(name).is_none() {
                return Err(CommandError::NoSuchValue {
                    name: name.clone(),
                    path: settings.seed.path.clone(),
                }
                .into());
            }
            rewrite_seed(settings, &seed, &recipients, &recipients)?;
            Ok(Output::notes(format!(
                "removed `{name}` from {}\n",
                settings.seed.path.display()
            )))
        }
    }
}
