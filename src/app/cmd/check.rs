//! `keyseed check`: placeholders, config and certificates without any seed or identity (for
//! PR CI that holds no keys).

use std::collections::BTreeMap;

use super::Output;
use crate::app::args::RenderArgs;
use crate::app::error::{render_warnings, Error};
use crate::app::settings::Settings;
use crate::checks::documents;
use crate::manifest::stream;
use crate::pipeline::{self, Options, PipelineError};
use crate::secret::SecretBytes;

/// `keyseed check`.
pub fn run(settings: &Settings, args: &RenderArgs, stdin: SecretBytes) -> Result<Output, Error> {
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
