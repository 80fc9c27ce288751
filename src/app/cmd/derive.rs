//! `keyseed derive SPEC --id ID`: prints one derived value, to bootstrap an external system.

use super::{open_seed, Output};
use crate::app::args::DeriveArgs;
use crate::app::error::{CommandError, Error};
use crate::app::settings::Settings;
use crate::inject::values::Source;
use crate::placeholder::{self, Generations};

/// `keyseed derive`.
pub fn run(settings: &Settings, args: &DeriveArgs) -> Result<Output, Error> {
    let spec = args.spec.trim();
    let ph = if spec.starts_with(placeholder::PREFIX) {
        placeholder::parse(spec)
    } else {
        placeholder::parse_spec(spec)
    }
    .map_err(|source| CommandError::Spec {
        spec: spec.to_string(),
        source,
    })?;
    let id = match (&args.id, &ph.id) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Usage(format!("--id `{a}` and `id={b}` disagree")));
        }
        (Some(a), _) | (None, Some(a)) => a.clone(),
        // A CA or a `certificates:` entry is named by the spec itself.
        (None, None) if ph.format.is_certificate_material() => ph.format.canonical(),
        (None, None) => return Err(CommandError::NoId.into()),
    };
    let mut ph = ph;
    // `gen=current`: the current generation `generations:` holds for the id (a joined
    // keyring: its kept generations).
    if ph.current.is_some() && ph.join.is_none() {
        ph.current = Some(None);
    }
    ph.resolve_current("", settings.ctx.current_generation(&id))
        .map_err(|e| Error::Usage(e.to_string()))?;
    if matches!(ph.generations, Generations::Range(..)) && ph.join.is_none() {
        return Err(CommandError::RangeWithoutJoin.into());
    }
    let mut notes = String::new();
    let id = match keyring_member(settings, &id) {
        // A member of a keyring the config declares: derive that member.
        Some((ring, gen)) if !spec.contains("gen=") => {
            notes = format!(
                "note: `{id}` is generation {gen} of the keyring `{ring}` in the config; derived that member\n"
            );
            ph.generations = Generations::One(gen);
            ring
        }
        _ => {
            // Not silent: a keyring member would have printed another value.
            if let (Some((stem, n)), false) = (member_name(&id), spec.contains("gen=")) {
                notes = format!(
                    "note: this is the value of a key named `{id}`; if it is generation {n} of a keyring `{stem}{{gen}}` (a chart's keyring, not in the config), derive it with `--id '{stem}{{gen}}'` and `gen={n}`\n"
                );
            }
            id
        }
    };
    let seed = open_seed(settings, &settings.seed)?;
    let certs = settings.certs(&settings.ctx.scope);
    let source = Source {
        seed: &seed,
        seed_path: &settings.seed.path,
        certs: &certs,
        hints: &crate::derive::hint::RsaHints::none(),
    };
    let values = source.values(&ph, &id, "")?;
    let mut out = Vec::new();
    if let Some((_, v)) = values.first() {
        out.reserve_exact(v.expose().len() + 1);
        out.extend_from_slice(v.expose().as_bytes());
    }
    out.push(b'\n');
    let mut output = Output::bytes(out);
    output.notes = notes;
    Ok(output)
}

/// `(stem, N)` when the id's last segment ends in a generation-like number (no leading zero) after `-`, `_`
/// or `.` (`prod/backend-keys/encryption-key-1` → `prod/backend-keys/encryption-key-`, 1).
fn member_name(id: &str) -> Option<(&str, u64)> {
    let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits == id.len() {
        return None;
    }
    let stem = &id[..id.len() - digits];
    let last = stem.rsplit('/').next().unwrap_or(stem);
    if !(last.len() > 1 && (stem.ends_with('-') || stem.ends_with('_') || stem.ends_with('.'))) {
        return None;
    }
    let n = &id[stem.len()..];
    // A generation is written in decimal without leading zeros (`APP_VAR_007` is no member).
    if n.len() > 1 && n.starts_with('0') {
        return None;
    }
    Some((stem, n.parse().ok()?))
}

/// The keyring id and generation of `id` when it names a member of a keyring in the config's
/// `secrets:` (`scope/SECRET/KEY-{gen}` with `gen=A..B` holding the generation).
fn keyring_member(settings: &Settings, id: &str) -> Option<(String, u64)> {
    let (config, _) = settings.config.as_ref()?;
    for e in &config.secrets {
        for (key, v) in &e.data {
            let Some((before, after)) = key.split_once("{gen}") else {
                continue;
            };
            let Ok(p) = placeholder::parse(v) else {
                continue;
            };
            let ring =
                p.id.clone()
                    .unwrap_or_else(|| settings.ctx.default_id(&e.name, key));
            let default_stem = settings.ctx.default_id(&e.name, before);
            let Some(n) = id
                .strip_prefix(default_stem.as_str())
                .and_then(|r| r.strip_suffix(after))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if p.generations.list().contains(&n) {
                return Some((ring, n));
            }
        }
    }
    None
}
