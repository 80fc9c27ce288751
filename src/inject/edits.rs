//! Turning planned injections into byte edits once the seed is open, and recording what was
//! injected (without values) for `plan` and `keyseed.lock`.

use base64::Engine as _;

use crate::derive::mac;
use crate::diag::Location;
use crate::inject::plan::{Injection, Layout, Section};
use crate::inject::values::{Source, ValueError};
use crate::manifest::edit::{quote_into, Edit};
use crate::placeholder::Generations;
use crate::secret::SecretValue;

/// What was injected where, without the value: for `plan` and `keyseed.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedValue {
    /// The Secret.
    pub location: Location,
    /// The data key written.
    pub key: String,
    /// Canonical format.
    pub format: String,
    /// Derivation id.
    pub id: String,
    /// Generation (`N`, or `A..B` for a joined keyring).
    pub gen: String,
    /// First 16 hex characters of HMAC-SHA256(fingerprint key, value).
    pub fingerprint: String,
    /// `rotate=never`: the lock refuses any change of this value.
    pub never_rotate: bool,
}

/// Turns one document's injections into byte edits of its text, appending what was injected
/// to `report`.
pub fn edits(
    source: &Source<'_>,
    injections: &[Injection],
    report: &mut Vec<InjectedValue>,
) -> Result<Vec<Edit>, ValueError> {
    let mut out = Vec::with_capacity(injections.len());
    let fkey = mac::fingerprint_key(&source.seed.seed);
    for inj in injections {
        let (edit, pairs) = edit_of(source, inj)?;
        let written = inj.written_keys();
        for (i, (k, v)) in pairs.iter().enumerate() {
            let gen = match (
                written.get(i).and_then(|w| w.1),
                inj.placeholder.generations,
            ) {
                (Some(g), _) | (None, Generations::One(g)) => g.to_string(),
                (None, Generations::Range(a, b)) => format!("{a}..{b}"),
            };
            report.push(InjectedValue {
                location: inj.location.clone(),
                key: k.clone(),
                format: inj.placeholder.format.canonical(),
                id: inj.id.clone(),
                gen,
                // SECRET: only a keyed, truncated fingerprint of the value leaves here.
                fingerprint: mac::fingerprint(fkey.expose(), v.expose()),
                never_rotate: inj.placeholder.never_rotate,
            });
        }
        out.push(edit);
    }
    Ok(out)
}

/// One injection's edit, and the (key, value) pairs it writes, for a caller that checks what
/// the edited text reads back as (`values_file::fill`).
pub fn edit_of(
    source: &Source<'_>,
    inj: &Injection,
) -> Result<(Edit, Vec<(String, SecretValue)>), ValueError> {
    let pairs = source.values(&inj.placeholder, &inj.id, &inj.key)?;
    let edit = Edit {
        range: inj.range.clone(),
        text: replacement(inj, &pairs),
    };
    Ok((edit, pairs))
}

/// The text replacing an injection's range: the value, or one entry per generation.
fn replacement(inj: &Injection, pairs: &[(String, SecretValue)]) -> SecretValue {
    let encode = |v: &SecretValue| match inj.section {
        Section::StringData => SecretValue::new(v.expose().to_string()),
        Section::Data => {
            SecretValue::new(base64::engine::general_purpose::STANDARD.encode(v.expose()))
        }
    };
    let mut text = String::new();
    match &inj.layout {
        Layout::Value { trailing } => {
            if let Some((_, v)) = pairs.first() {
                quote_into(&mut text, encode(v).expose());
            }
            text.push_str(trailing);
        }
        Layout::Lines { indent, newline } => {
            if let Some((_, v)) = pairs.first() {
                let v = encode(v);
                for (i, line) in v.expose().trim_end_matches('\n').split('\n').enumerate() {
                    if i > 0 {
                        text.push_str(newline);
                        text.push_str(indent);
                    }
                    text.push_str(line);
                }
            }
        }
        Layout::Entries {
            col,
            flow,
            newline,
            trailing,
        } => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    if *flow {
                        text.push_str(", ");
                    } else {
                        text.push_str(newline);
                        text.push_str(&" ".repeat(*col));
                    }
                }
                quote_into(&mut text, k);
                text.push_str(": ");
                quote_into(&mut text, encode(v).expose());
            }
            text.push_str(trailing);
        }
    }
    SecretValue::new(text)
}
