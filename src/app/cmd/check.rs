//! `keyseed check`: placeholders, config and certificates without any seed or identity (for
//! PR CI that holds no keys).

use std::collections::BTreeMap;

use super::Output;
use crate::app::args::RenderArgs;
use crate::app::error::{render_warnings, Error};
use crate::app::settings::Settings;
use crate::checks::documents;
use crate::diag::Finding;
use crate::manifest::stream;
use crate::pipeline::{self, Options, PipelineError};
use crate::placeholder::Format;
use crate::secret::SecretInput;

/// RSA search hints of the `--lock` file against this stream (issue #22): `rsa:N` keys
/// without a hint (every render searches for them) and hints no key of the stream uses.
/// `check` holds no seed, so it cannot tell a hint that would not verify.
fn hint_findings(
    settings: &Settings,
    planned: &pipeline::Planned,
    args: &RenderArgs,
) -> Result<Vec<Finding>, Error> {
    let lock = super::lock_options(args);
    let Some(path) = &lock.path else {
        return Ok(Vec::new());
    };
    let ledger = crate::lock::load(&lock)?;
    let certs = settings.certs(&planned.ctx.scope);
    let mut used = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for v in planned.injections() {
        // An RSA CA's key (`ca-key:ID` of a `cas:` entry) is the `rsa:N` key of id `ca/ID`.
        let (format, id, gens) = match &v.placeholder.format {
            f @ Format::Rsa(_) => (
                f.canonical(),
                v.id.clone(),
                v.placeholder.generations.list(),
            ),
            Format::CaKey(ca) => match certs.ca_key(ca) {
                f @ Format::Rsa(_) => (f.canonical(), format!("ca/{ca}"), vec![0]),
                _ => continue,
            },
            _ => continue,
        };
        for gen in gens {
            let label = (format.clone(), id.clone(), gen.to_string());
            if !ledger.hints.contains_key(&label) {
                out.push(Finding::warning_about_file(format!(
                            "no RSA search hint in {} for {format} `{}` gen {gen} ({}): every render searches for its primes; render once with --lock {0} --update-lock",
                            path.display(),
                            id,
                            v.field(),
                        )));
            }
            used.insert(label);
        }
    }
    for (format, id, gen) in ledger.hints.keys().filter(|l| !used.contains(*l)) {
        out.push(Finding::warning_about_file(format!(
                    "stale RSA search hint in {} for {format} `{id}` gen {gen}: no key of this stream uses it; render with --update-lock after removing the line, or keep it if another render (hooks, another chart) uses it",
                    path.display()
                )));
    }
    Ok(out)
}

/// `keyseed check`.
pub fn run(settings: &Settings, args: &RenderArgs, stdin: SecretInput) -> Result<Output, Error> {
    let opts = Options {
        allow_empty: args.allow_empty,
        require_resource_list: false,
    };
    let planned = pipeline::plan(stdin, &settings.inputs(), opts)?;
    let n = planned.injections().count();
    let mut findings = documents::tls(&planned.docs, &planned.ctx, &settings.tls()?);
    // Kubernetes' limits on the Secrets render would change, as render checks them.
    // Keys written as templates (`{gen}`, `{each}`) are checked as the keys render writes.
    for i in (0..planned.docs.len()).filter(|&i| planned.changes(i)) {
        let expanded: BTreeMap<String, Vec<String>> = planned
            .injections()
            .filter(|v| v.location.document == i + 1)
            .map(|v| {
                (
                    v.key.clone(),
                    v.written_keys().into_iter().map(|(k, _)| k).collect(),
                )
            })
            .collect();
        if let Some(roots) = planned.docs.view(i) {
            let text = planned.docs.text(i);
            documents::secret_limits(i + 1, text, &roots, &expanded, &mut findings);
        }
    }
    let (errors, mut warnings): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.is_error());
    warnings.extend(hint_findings(settings, &planned, args)?);
    warnings.splice(0..0, planned.warnings.iter().cloned());
    if !errors.is_empty() {
        return Err(PipelineError::Findings(errors).into());
    }
    let docs = &planned.docs;
    let documents = (0..docs.len())
        .filter(|&i| stream::has_content(docs.bytes(i)))
        .count();
    Ok(Output::notes(format!(
        "{}ok: {n} placeholder(s) in {documents} document(s)\n",
        render_warnings(&warnings),
    )))
}
