//! `keyseed pin FILE`: a values file with every derived placeholder that has no `id=` given
//! the id it derives under now (`SCOPE/values:PATH`), printed to stdout. Needs no seed.
//!
//! A default id depends on the deploy shape: the getter and `fill` use the value's path in
//! the values file, a post-rendered Secret uses `SCOPE/SECRET/KEY`. A pinned file derives the
//! same values in every shape, so an install can move from the getter or Flux `valuesFrom` to
//! a post-renderer (or the CMP) without a key changing (docs/migration.md).

use std::path::Path;

use super::Output;
use crate::app::args::{GlobalArgs, PinArgs};
use crate::app::error::Error;
use crate::diag::Finding;
use crate::inject::values_file;
use crate::manifest::edit::{self, quote, Edit};
use crate::placeholder::{self, PREFIX};
use crate::secret::SecretBytes;

/// `keyseed pin FILE`.
pub fn run(g: &GlobalArgs, args: &PinArgs) -> Result<Output, Error> {
    let path = args.file.as_path();
    let text = super::fill::read_values(path)?;
    let settings = super::fill::resolve(g, Some(path))?;
    let text = std::str::from_utf8(text.expose()).map_err(|_| {
        Error::Findings(vec![Finding::about_file(
            format!("values file {} is not UTF-8 text", path.display()),
            None,
        )])
    })?;
    let name = path.display().to_string();
    let planned = values_file::plan(text, &name, &settings.ctx).map_err(Error::Findings)?;
    let mut edits = Vec::new();
    let mut problems = Vec::new();
    for slot in &planned.slots {
        let inj = &slot.injection;
        let ph = &inj.placeholder;
        if ph.id.is_some() || !ph.format.is_derived() {
            continue;
        }
        match value_start(text, inj.range.clone()) {
            Some(start) => edits.push(Edit {
                range: start..inj.range.end,
                text: crate::secret::SecretValue::new(quote(&placeholder::placeholder_text(ph, &inj.id, None))),
            }),
            None => problems.push(Finding::about_file(
                format!(
                    "values file {name} {}: the placeholder is not written as plain text (an escape or a block scalar); cannot pin it",
                    values_file::set_path(&slot.steps)
                ),
                Some(format!("write `id={}` into it by hand", inj.id)),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Findings(problems));
    }
    let out = edit::apply(text.as_bytes(), &edits)
        .ok_or_else(|| Error::Internal("overlapping pin edits".into()))?;
    check_same_ids(text, out.expose(), &name, &settings.ctx)?;
    Ok(Output {
        stdout: super::Stdout::Bytes(SecretBytes::new(out.expose().to_vec())),
        notes: format!(
            "pinned {} placeholder(s) of {}\n",
            edits.len(),
            Path::new(&name).display()
        ),
    })
}

/// Where the value written last in `range` starts: its placeholder text, with the quote
/// before it when it is quoted. `None` when the placeholder is not spelled out there.
fn value_start(text: &str, range: std::ops::Range<usize>) -> Option<usize> {
    let at = range.start + text.get(range.clone())?.rfind(PREFIX)?;
    Some(match text[..at].chars().next_back() {
        Some(q @ ('"' | '\'')) => at - q.len_utf8(),
        _ => at,
    })
}

/// The pinned file must plan to the same ids, path for path (else an internal error: a pin
/// that changed a value is never printed).
fn check_same_ids(
    before: &str,
    after: &[u8],
    name: &str,
    ctx: &crate::k8s::object::Context,
) -> Result<(), Error> {
    let after = std::str::from_utf8(after)
        .map_err(|_| Error::Internal("pinned file is not UTF-8".into()))?;
    let a = values_file::plan(before, name, ctx).map_err(Error::Findings)?;
    let b = values_file::plan(after, name, ctx)
        .map_err(|_| Error::Internal("the pinned file does not plan".into()))?;
    let ids = |p: &values_file::PlannedValues| {
        p.slots
            .iter()
            .map(|s| (values_file::set_path(&s.steps), s.injection.id.clone()))
            .collect::<Vec<_>>()
    };
    if ids(&a) != ids(&b)
        || b.slots.iter().any(|s| {
            s.injection.placeholder.format.is_derived() && s.injection.placeholder.id.is_none()
        })
    {
        return Err(Error::Internal(
            "a pinned placeholder derives under another id".into(),
        ));
    }
    Ok(())
}
