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
    if matches!(ph.generations, Generations::Range(..)) && ph.join.is_none() {
        return Err(CommandError::RangeWithoutJoin.into());
    }
    let seed = open_seed(settings, &settings.seed)?;
    let certs = settings.certs(&settings.ctx.scope);
    let source = Source {
        seed: &seed,
        seed_path: &settings.seed.path,
        certs: &certs,
    };
    let values = source.values(&ph, &id, "")?;
    let mut out = Vec::new();
    if let Some((_, v)) = values.first() {
        out.reserve_exact(v.expose().len() + 1);
        out.extend_from_slice(v.expose().as_bytes());
    }
    out.push(b'\n');
    Ok(Output::bytes(out))
}
