//! The render pipeline, one stage after the other over one [`Documents`] value:
//!
//! 1. [`plan`]: split the stream, read a KRM `functionConfig`, apply `keyseed.yaml`, find
//!    every placeholder. Needs no seed (`check` stops here).
//! 2. [`Planned::inject`]: with the open seed, replace the placeholders.
//! 3. [`Injected::analyze`] and [`Injected::finish`]: add rollout annotations, then run every
//!    check over the final bytes (leftover placeholders, Secret limits, TLS).
//!
//! Every change goes through [`Documents::apply`], which refuses an edit that does not parse
//! (an internal error, never written). Opening the seed is the caller's job, between stages,
//! so this module never decides which file to trust. Nothing is written here: the caller
//! writes [`Rendered::docs`] only after everything passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::documents;
use crate::checks::tls::TlsOptions;
use crate::config::{self, schema::Config};
use crate::derive::certs::CertContext;
use crate::derive::hint::RsaHints;
use crate::diag::{Finding, Location};
use crate::inject::edits::{self, InjectedValue};
use crate::inject::keyrings;
use crate::inject::plan::{copy_problems, plan_document, Injection};
use crate::inject::values::{Source, ValueError};
use crate::k8s::krm::{self, FunctionSettings};
use crate::k8s::object::{self, Context};
use crate::manifest::document::{Documents, EditError, StreamError};
use crate::manifest::stream;
use crate::placeholder::{PREFIX, PREFIX_B64_SHIFTS};
use crate::rollout::{self, Analysis, RolloutSettings, Workload};
use crate::secret::SecretInput;
use crate::seed::file::SeedFile;

/// Why a render stops.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The stream cannot be read.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The stream holds no document.
    #[error("the manifest stream is empty")]
    Empty,
    /// Problems in the stream, all of them.
    #[error("{} problem(s) found; nothing was written to stdout", .0.len())]
    Findings(Vec<Finding>),
    /// A value cannot be produced.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// An edit keyseed made does not parse: a bug, never written.
    #[error("internal error: refusing to write a document keyseed could not edit safely")]
    Internal(#[from] EditError),
}

/// What the pipeline reads besides the stream.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    /// `keyseed.yaml` and its path, when there is one.
    pub config: Option<(&'a Config, &'a Path)>,
    /// Scope and default namespace from flags, the environment and the config.
    pub ctx: Context,
    /// Which of scope, namespace and seed a flag or `KEYSEED_*` set (a KRM functionConfig
    /// fills only the others).
    pub explicit: Explicit,
    /// Append a keyring's missing generations to `items:` lists that mount it.
    pub project_items: bool,
}

/// Settings given on the command line or in the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    /// `--scope` / `KEYSEED_SCOPE`.
    pub scope: bool,
    /// `--namespace` / `KEYSEED_NAMESPACE`.
    pub namespace: bool,
    /// `--seed` / `KEYSEED_SEED_FILE`.
    pub seed: bool,
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept an empty stream.
    pub allow_empty: bool,
    /// `keyseed krm`: the input must be one KRM `ResourceList`.
    pub require_resource_list: bool,
}

/// The stream after planning: placeholders found, no value written yet.
#[derive(Debug)]
pub struct Planned {
    /// The documents (the config's edits applied).
    pub docs: Documents,
    /// The injections of each document.
    injections: Vec<Vec<Injection>>,
    /// Which documents may hold placeholder text (changed by the config, or named by
    /// [`may_hold_placeholder`]): the only ones where `<keyseed:` text can remain.
    scanned: Vec<bool>,
    /// Scope and namespace in effect (a functionConfig may have set them).
    pub ctx: Context,
    /// The seed file a KRM functionConfig names, if any (the caller checks and opens it).
    pub function_seed: Option<PathBuf>,
    /// See [`Inputs::project_items`].
    project_items: bool,
    /// Warnings of planning (values a chart copies that derive differently).
    pub warnings: Vec<Finding>,
    /// Keys keyseed.yaml added to Secrets that lacked them (checked against what pods read).
    inserted: Vec<config::apply::Inserted>,
}

/// Whether a document may hold a placeholder. `keyseed:` without the `<` also catches
/// escaped forms: Go's JSON encoder (Helm's `toJson`) writes `<` as `\u003c`.
/// A double-quoted YAML scalar may spell any character as `\xNN`, `\uNNNN` or
/// `\UNNNNNNNN`, or join two lines with an escaped line break (`"<keys\` then `eed:…>"`
/// on the next line), so a document with such an escape is parsed too. base64 is searched
/// for `<keyseed:` at every offset ([`PREFIX_B64_SHIFTS`]); a Secret is always parsed (its
/// `data` may wrap base64 across lines).
fn may_hold_placeholder(kind: Option<&str>, text: &[u8]) -> bool {
    debug_assert!(PREFIX.ends_with("keyseed:"));
    kind == Some("Secret")
        || crate::text::find!(text, b"keyseed:").is_some()
        || crate::text::find_any!(
            text,
            [
                PREFIX_B64_SHIFTS[0].as_bytes(),
                PREFIX_B64_SHIFTS[1].as_bytes(),
                PREFIX_B64_SHIFTS[2].as_bytes(),
            ]
        )
        || memchr::memchr_iter(b'\\', text).any(|i| {
            matches!(
                text.get(i + 1),
                Some(b'x' | b'u' | b'U' | b'\n' | b'\r' | b' ' | b'\t')
            )
        })
}

/// Stage 1: splits and plans the stream. Collects every finding before failing.
pub fn plan(
    input: impl Into<SecretInput>,
    inputs: &Inputs<'_>,
    opts: Options,
) -> Result<Planned, PipelineError> {
    let mut docs = Documents::split(input)?;
    if !opts.allow_empty && !docs.has_content() {
        return Err(PipelineError::Empty);
    }
    let mut findings = Vec::new();
    let mut ctx = inputs.ctx.clone();
    // Each document's cheap facts in one visit, while its bytes are in cache: its kind (read
    // by every later stage) and whether it may hold a placeholder.
    let may_hold: Vec<bool> = (0..docs.len())
        .map(|i| may_hold_placeholder(docs.kind(i), docs.bytes(i)))
        .collect();
    let (resource_lists, function) =
        function_config(&mut docs, opts.require_resource_list, &mut findings);
    let mut function_seed = None;
    if let Some(f) = function {
        let config_scope = inputs.config.and_then(|(c, _)| c.scope.as_deref());
        match inputs.explicit.fill(f, &mut ctx, config_scope) {
            Ok(seed) => function_seed = seed,
            Err(e) => findings.push(Finding::error(
                &Location::document(1),
                ".functionConfig",
                e.to_string(),
                Some("remove `scope:` from one of them, or make them equal".into()),
            )),
        }
    }
    let mut inserted = Vec::new();
    if let Some((cfg, path)) = inputs.config {
        findings.extend(config::apply::apply(
            &mut docs,
            cfg,
            path,
            &ctx,
            &mut inserted,
        )?);
        findings.extend(config::apply::apply_ca_bundles(&mut docs, cfg, path)?);
    }
    let mut injections = Vec::with_capacity(docs.len());
    let mut scanned = Vec::with_capacity(docs.len());
    for i in 0..docs.len() {
        scanned.push(docs.is_changed(i) || may_hold.get(i) == Some(&true));
        if !scanned[i] {
            injections.push(Vec::new());
            continue;
        }
        docs.tree(i);
        let text = docs.text(i);
        match docs.kept_tree(i) {
            Some(Ok(roots)) => {
                let (inj, f) = plan_document(i + 1, text, roots, &ctx);
                injections.push(inj);
                findings.extend(f);
                // Injections carry byte ranges: no later stage needs this tree.
                docs.forget_tree(i);
            }
            Some(Err(e)) => {
                let location = Location {
                    source: stream::source_comment(text.as_bytes()),
                    ..Location::document(i + 1)
                };
                findings.push(Finding::error(
                    &location,
                    "",
                    format!("not valid YAML: {e}"),
                    None,
                ));
                injections.push(Vec::new());
            }
            None => injections.push(Vec::new()),
        }
    }
    findings.extend(copy_problems(injections.iter().flatten(), &ctx, |inj| {
        configured(inputs.config.map(|(c, _)| c), inj, &ctx)
    }));
    if opts.require_resource_list && (resource_lists != 1 || docs.len() != 1) {
        findings.push(Finding::error(
            &Location::document(1),
            "",
            "`keyseed krm` expects exactly one KRM ResourceList on stdin".into(),
            Some("use `keyseed render` for a plain manifest stream".into()),
        ));
    }
    if !findings.is_empty() {
        return Err(PipelineError::Findings(findings));
    }
    // No later stage needs a kept tree; later stages parse on demand and drop, so memory
    // stays near the input size.
    docs.drop_trees();
    let warnings = Vec::new();
    Ok(Planned {
        docs,
        injections,
        scanned,
        ctx,
        function_seed,
        project_items: inputs.project_items,
        warnings,
        inserted,
    })
}

/// Errors for keys keyseed.yaml added to a Secret that pods of the stream read key by key,
/// none of them this one: a recipe line for a look-alike chart (`db-password` where the chart
/// reads `DB_PASSWORD`) would otherwise add a value nothing uses, silently. A Secret no
/// workload of the stream references (an operator reads it) or one a pod reads whole
/// (`envFrom`, a volume without `items:`) may get any key.
fn unread_keys(inserted: &[config::apply::Inserted], analysis: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ns, name, key, location) in inserted {
        let object = rollout::ObjectRef {
            kind: "Secret".into(),
            namespace: ns.clone(),
            name: name.clone(),
        };
        let reads: Vec<bool> = analysis
            .workloads
            .iter()
            .filter_map(|w| w.reads_key(&object, key))
            .collect();
        if reads.is_empty() || reads.iter().any(|r| *r) {
            continue;
        }
        let readers: Vec<String> = analysis
            .workloads
            .iter()
            .filter(|w| w.reads_key(&object, key).is_some())
            .map(|w| w.location.to_string())
            .collect();
        out.push(Finding::error(
            location,
            &object::field_path("stringData", key),
            format!(
                "keyseed.yaml adds key `{key}` to Secret `{name}`, but no pod of the stream reads it: {} read other keys of it",
                readers.join(", ")
            ),
            Some("fix the key name in keyseed.yaml to one the chart's pods read (`keyseed plan` lists the workloads), or remove the line".into()),
        ));
    }
    out
}

/// Whether `keyseed.yaml`'s `secrets:` wrote the placeholder of `inj` (an entry naming its
/// Secret, its namespace and its key).
fn configured(config: Option<&Config>, inj: &Injection, ctx: &Context) -> bool {
    let Some(config) = config else {
        return false;
    };
    let ns = inj
        .location
        .namespace
        .as_deref()
        .or(ctx.namespace.as_deref());
    config.secrets.iter().any(|e| {
        Some(e.name.as_str()) == inj.location.name.as_deref()
            && e.namespace.as_deref().is_none_or(|n| Some(n) == ns)
            && e.data.contains_key(&inj.key)
    })
}

/// Finds KRM ResourceLists; returns how many there are and the settings of the last
/// `functionConfig` that has any. Only `keyseed krm` (`read`) takes settings from a
/// functionConfig: in a plain render the stream is a chart's output, and a ResourceList in
/// it must not choose the seed or the scope, so one that sets anything is refused.
fn function_config(
    docs: &mut Documents,
    read: bool,
    findings: &mut Vec<Finding>,
) -> (usize, Option<FunctionSettings>) {
    let mut count = 0;
    let mut settings = None;
    for i in 0..docs.len() {
        // A document with a kind of its own (read once, for later stages too) is no list.
        if docs.kind(i).is_some() || crate::text::find!(docs.bytes(i), b"ResourceList").is_none() {
            continue;
        }
        docs.tree(i);
        let Some(Ok(roots)) = docs.kept_tree(i) else {
            continue;
        };
        let Some(fc) = roots.first().and_then(krm::resource_list_config) else {
            continue;
        };
        count += 1;
        match fc.map(krm::from_function_config).transpose() {
            Ok(Some(f)) if !read && f != FunctionSettings::default() => {
                findings.push(Finding::error(
                    &object::document_location(i + 1, docs.text(i), roots),
                    ".functionConfig",
                    "a KRM functionConfig sets keyseed's settings only under `keyseed krm`; in `keyseed render` the stream (a chart's output) must not choose the seed, scope or namespace".into(),
                    Some("run `keyseed krm` as the KRM function, or pass --seed/--scope/--namespace (or keyseed.yaml) to `keyseed render`".into()),
                ));
            }
            Ok(Some(f)) => settings = Some(f),
            Ok(None) => {}
            Err(e) => findings.push(Finding::error(
                &object::document_location(i + 1, docs.text(i), roots),
                ".functionConfig",
                e.to_string(),
                None,
            )),
        }
    }
    (count, settings)
}

impl Explicit {
    /// Fills scope and namespace from a function or plugin config where no flag or
    /// `KEYSEED_*` variable set them; returns the seed it names, likewise. A scope that
    /// differs from keyseed.yaml's (`config_scope`) is an error: flags and `KEYSEED_*` win
    /// over both, and the two files must agree (docs/configuration.md, "Precedence").
    pub fn fill(
        &self,
        f: FunctionSettings,
        ctx: &mut Context,
        config_scope: Option<&str>,
    ) -> Result<Option<PathBuf>, krm::KrmError> {
        if let (false, Some(s)) = (self.scope, f.scope) {
            if let Some(c) = config_scope.filter(|c| *c != s) {
                return Err(krm::KrmError::ScopeConflict {
                    function: s,
                    config: c.to_string(),
                });
            }
            ctx.scope = s;
        }
        if let (false, Some(n)) = (self.namespace, f.namespace) {
            ctx.namespace = Some(n);
        }
        Ok(f.seed.filter(|_| !self.seed))
    }
}

impl Planned {
    /// Every planned injection, in stream order.
    pub fn injections(&self) -> impl Iterator<Item = &Injection> {
        self.injections.iter().flatten()
    }

    /// Whether render changes document `i` (it holds placeholders, or the config changed it).
    pub fn changes(&self, i: usize) -> bool {
        self.docs.is_changed(i) || self.injections.get(i).is_some_and(|v| !v.is_empty())
    }

    /// Whether writing the values needs the seed.
    pub fn needs_seed(&self) -> bool {
        self.injections().next().is_some()
    }

    /// Stage 2: writes every placeholder's value. `seed` must be open when
    /// [`Planned::needs_seed`].
    pub fn inject(
        mut self,
        seed: Option<(&SeedFile, &Path)>,
        certs: &CertContext,
        hints: &RsaHints,
    ) -> Result<Injected, PipelineError> {
        let mut injected = Vec::new();
        if let Some((seed, seed_path)) = seed {
            let source = Source {
                seed,
                seed_path,
                certs,
                hints,
            };
            let mut findings = Vec::new();
            for (i, inj) in self.injections.iter().enumerate() {
                if inj.is_empty() {
                    continue;
                }
                let mut doc_edits = Vec::with_capacity(inj.len());
                for one in inj {
                    // A value that cannot be made is named by its document and field.
                    match edits::edits(&source, std::slice::from_ref(one), &mut injected) {
                        Ok(e) => doc_edits.extend(e),
                        Err(e) => findings.push(Finding::error(
                            &one.location,
                            &one.field(),
                            e.to_string(),
                            e.hint(),
                        )),
                    }
                }
                if findings.is_empty() {
                    self.docs.apply(i, doc_edits)?;
                }
            }
            if !findings.is_empty() {
                return Err(PipelineError::Findings(findings));
            }
        }
        if self.project_items {
            let rings = keyrings::keyrings(self.injections(), &self.ctx);
            let edits = keyrings::item_edits(&self.docs, &rings, &self.ctx)
                .map_err(PipelineError::Findings)?;
            for (i, e) in edits {
                self.docs.apply(i, e)?;
            }
        }
        Ok(Injected {
            docs: self.docs,
            scanned: self.scanned,
            ctx: self.ctx,
            injected,
            warnings: self.warnings,
            inserted: self.inserted,
        })
    }
}

/// The stream with every value written, before rollout annotations and checks.
#[derive(Debug)]
pub struct Injected {
    docs: Documents,
    /// See [`Planned::scanned`].
    scanned: Vec<bool>,
    ctx: Context,
    injected: Vec<InjectedValue>,
    warnings: Vec<Finding>,
    inserted: Vec<config::apply::Inserted>,
}

/// A finished render: the documents to write and what was done (no values).
#[derive(Debug)]
pub struct Rendered {
    /// The final documents.
    pub docs: Documents,
    /// Every injected value (fingerprints only).
    pub injected: Vec<InjectedValue>,
    /// Every workload with references, and which are in the stream.
    pub workloads: Vec<Workload>,
    /// Namespace used for resources without one.
    pub namespace: Option<String>,
    /// Warnings for stderr (TLS expiry, self-signed certificates, ...).
    pub warnings: Vec<Finding>,
}

/// The annotation `audit: {annotate: true}` writes on every Secret keyseed filled.
pub const AUDIT_ANNOTATION: &str = "keyseed.io/fingerprints";

impl Injected {
    /// Writes [`AUDIT_ANNOTATION`] on every Secret that got values (opt-in, issue #21): its
    /// keys, sorted, each as `KEY=GEN:FINGERPRINT`, space-separated. Fingerprints are keyed
    /// with the seed, so the annotation says *that* a value changed, never what it is; a
    /// reviewer of a rendered-manifests branch (or `argocd app diff`, which hides Secret
    /// data) sees which keys appeared, rotated or went.
    pub fn annotate_fingerprints(&mut self) -> Result<(), PipelineError> {
        // (document, Secret name) → KEY=GEN:FINGERPRINT, sorted by key.
        let mut by_secret: BTreeMap<(usize, String), BTreeMap<String, String>> = BTreeMap::new();
        for v in &self.injected {
            by_secret
                .entry((
                    v.location.document - 1,
                    v.location.name.clone().unwrap_or_default(),
                ))
                .or_default()
                .insert(
                    v.key.clone(),
                    format!("{}={}:{}", v.key, v.gen, v.fingerprint),
                );
        }
        let value = |entries: &BTreeMap<String, String>| {
            entries.values().cloned().collect::<Vec<_>>().join(" ")
        };
        let mut edits: BTreeMap<usize, Vec<crate::manifest::edit::Edit>> = BTreeMap::new();
        for ((doc, name), entries) in &by_secret {
            let Some(roots) = self.docs.view(*doc) else {
                continue;
            };
            let text = self.docs.text(*doc);
            let slot = object::find(&roots, "Secret", name)
                .and_then(|o| rollout::annotation_slot(text, o, AUDIT_ANNOTATION));
            match slot {
                Some(s) => edits
                    .entry(*doc)
                    .or_default()
                    .push(s.fill(&crate::manifest::edit::quote(&value(entries)))),
                None => {
                    return Err(PipelineError::Internal(EditError::Unintended {
                        document: doc + 1,
                        what: format!("no place for {AUDIT_ANNOTATION} in Secret {name}"),
                    }))
                }
            }
        }
        self.docs.apply_all_checked(
            edits,
            |_, _, _| false,
            |i, roots| {
                for ((doc, name), entries) in by_secret.range((i, String::new())..) {
                    if *doc != i {
                        break;
                    }
                    let holds = object::find(roots, "Secret", name)
                        .and_then(|o| o.get("metadata"))
                        .and_then(|m| m.get("annotations"))
                        .and_then(|a| a.get_str(AUDIT_ANNOTATION))
                        == Some(value(entries).as_str());
                    if !holds {
                        return Err(EditError::Unintended {
                            document: i + 1,
                            what: format!("the {AUDIT_ANNOTATION} annotation of Secret {name}"),
                        });
                    }
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    /// Finds the workloads and the data they reference in the injected documents.
    pub fn analyze(&self, settings: &RolloutSettings, report: rollout::Report) -> Analysis {
        rollout::analyze(&self.docs, &self.ctx, settings, report)
    }

    /// Stage 3: writes the rollout annotations (keyed with `rollout_key`, plain SHA-256
    /// without one), then checks the final documents and fails once with every finding.
    pub fn finish(
        mut self,
        analysis: Analysis,
        rollout: &RolloutSettings,
        rollout_key: Option<&[u8]>,
        tls: &TlsOptions,
    ) -> Result<Rendered, PipelineError> {
        let digests = analysis.digests(rollout_key);
        self.docs.apply_all_checked(
            analysis.edits(&digests),
            |i, text, edits| analysis.verified_in_windows(i, text, edits, &digests, rollout),
            |i, roots| analysis.verify(i, roots, &digests, rollout),
        )?;
        let mut findings = Vec::new();
        for i in 0..self.docs.len() {
            // Placeholder text can only be where planning looked, or in what a stage wrote.
            let may_remain = self.docs.is_changed(i) || self.scanned.get(i) == Some(&true);
            if may_remain && documents::has_leftover(self.docs.bytes(i)) {
                let text = self.docs.text(i);
                let location = match self.docs.view(i) {
                    Some(roots) => object::document_location(i + 1, text, &roots),
                    None => Location {
                        source: stream::source_comment(text.as_bytes()),
                        ..Location::document(i + 1)
                    },
                };
                findings.push(documents::leftover(&location));
            }
            // Secret limits for the Secrets keyseed changed (a workload that only got an
            // annotation holds none: not parsed again).
            let maybe_secret = self.docs.kind(i).is_none_or(|k| k == "Secret");
            if self.docs.is_changed(i) && maybe_secret {
                if let Some(roots) = self.docs.view(i) {
                    let text = self.docs.text(i);
                    documents::secret_limits(i + 1, text, &roots, &BTreeMap::new(), &mut findings);
                }
            }
        }
        findings.extend(analysis.workloads.iter().flat_map(|w| w.notes.clone()));
        findings.extend(unread_keys(&self.inserted, &analysis));
        // The value keyseed injected where a TLS finding points, if any.
        let made = |f: &Finding| {
            self.injected.iter().find(|v| {
                f.location.as_ref().map(|l| l.document) == Some(v.location.document)
                    && ["data", "stringData"]
                        .iter()
                        .any(|s| object::field_path(s, &v.key) == f.field)
            })
        };
        for mut f in documents::tls(&self.docs, &self.ctx, tls) {
            let by = made(&f).map(|v| v.format.clone()).unwrap_or_default();
            // A derived CA is self-signed by design: keyseed made it, so it says nothing.
            if !f.is_error() && f.message.contains("is self-signed") && by.starts_with("ca:") {
                continue;
            }
            // A derived certificate's validity comes from its `certificates:` entry.
            let dated = ["expired on", "expires in", "is not valid before"]
                .iter()
                .any(|m| f.message.contains(m));
            if let (true, Some(entry)) = (dated, by.strip_prefix("cert:")) {
                f.hint = Some(format!(
                    "keyseed derives this certificate from the `certificates:` entry of Secret `{entry}`: move its `not-before` or raise its `days` (the certificate changes, and pods reading it restart)"
                ));
            }
            findings.push(f);
        }
        self.docs.drop_trees();
        let (errors, mut warnings): (Vec<_>, Vec<_>) =
            findings.into_iter().partition(Finding::is_error);
        warnings.splice(0..0, self.warnings);
        if !errors.is_empty() {
            return Err(PipelineError::Findings(errors));
        }
        Ok(Rendered {
            docs: self.docs,
            injected: self.injected,
            workloads: analysis.workloads,
            namespace: self.ctx.namespace,
            warnings,
        })
    }
}
