//! The render pipeline: bytes → documents → plan → (seed) → edits → validation → bytes.
//!
//! Documents that need no change are copied byte for byte; only documents that mention a
//! placeholder are parsed. Output is assembled in one zeroizing buffer and returned only when
//! every check passed, so a failure writes nothing to stdout.

use crate::config;
use crate::edit;
use crate::error::{Error, Finding, InputError, Location};
use crate::inject::{self, Injection, PREFIX_B64};
use crate::keys;
use crate::krm;
use crate::placeholder::PREFIX;
use crate::rollme;
use crate::secret::SecretBytes;
use crate::settings::Settings;
use crate::stream;
use crate::validate;
use crate::yaml;

/// Options of one render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `--lock` / `--update-lock`.
    pub lock: crate::lock::LockOptions,
    /// Accept an empty stream.
    pub allow_empty: bool,
    /// `keyseed krm`: the input must be one KRM `ResourceList`.
    pub require_resource_list: bool,
}

/// A document with its planned injections.
struct Planned {
    range: std::ops::Range<usize>,
    /// The document's text when the config changed or created it.
    text: Option<String>,
    location: Location,
    injections: Vec<Injection>,
}

/// The plan of a whole stream: what would be injected where. Needs no seed.
pub struct StreamPlan<'a> {
    input: &'a str,
    docs: Vec<Planned>,
    /// The seed file to open (a KRM functionConfig may name it).
    pub seed: keys::SeedPath,
    /// Scope and namespace in effect (after any functionConfig).
    pub ctx: inject::PlanContext,
}

impl StreamPlan<'_> {
    /// Every planned injection, in stream order.
    pub fn injections(&self) -> impl Iterator<Item = &Injection> {
        self.docs.iter().flat_map(|d| d.injections.iter())
    }

    /// Number of documents in the stream.
    pub fn documents(&self) -> usize {
        self.docs.len()
    }

    /// Every document's text before injection (the config's edits applied).
    pub fn texts(&self) -> Vec<&[u8]> {
        self.docs
            .iter()
            .map(|d| match &d.text {
                Some(t) => t.as_bytes(),
                None => &self.input.as_bytes()[d.range.clone()],
            })
            .collect()
    }
}

/// Checks the raw input: size and UTF-8.
pub fn check_input(input: &[u8]) -> Result<&str, InputError> {
    if input.len() > stream::MAX_INPUT {
        return Err(InputError::TooLarge(stream::MAX_INPUT));
    }
    std::str::from_utf8(input).map_err(|e| InputError::NotUtf8(e.valid_up_to()))
}

/// Whether a document may hold a placeholder. `keyseed:` without the `<` also catches
/// escaped forms: Go's JSON encoder (Helm's `toJson`) writes `<` as `\u003c`.
fn needs_parse(text: &str) -> bool {
    debug_assert!(PREFIX.ends_with("keyseed:"));
    memchr::memmem::find(text.as_bytes(), b"keyseed:").is_some()
        || memchr::memmem::find(text.as_bytes(), PREFIX_B64.as_bytes()).is_some()
}

/// Splits and plans the stream. Collects every finding before failing.
pub fn plan<'a>(
    input: &'a str,
    settings: &Settings,
    opts: RenderOptions,
) -> Result<StreamPlan<'a>, Error> {
    let ranges = stream::split(input.as_bytes());
    if !opts.allow_empty
        && !ranges
            .iter()
            .any(|r| stream::has_content(&input.as_bytes()[r.clone()]))
    {
        return Err(InputError::Empty.into());
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut ctx = settings.plan.clone();
    let mut seed = settings.seed.clone();
    let mut resource_lists = 0;
    let entries = settings
        .config
        .as_ref()
        .map(|c| c.secrets.as_slice())
        .unwrap_or(&[]);
    let mut matches: Vec<Vec<Location>> = vec![Vec::new(); entries.len()];

    // Pass 1: parse what needs it, read KRM functionConfig, apply the config's `secrets:`.
    let mut pre: Vec<Pre> = Vec::with_capacity(ranges.len());
    for (i, range) in ranges.into_iter().enumerate() {
        let text = &input[range.clone()];
        let is_rl = memchr::memmem::find(text.as_bytes(), b"ResourceList").is_some();
        let candidate = !entries.is_empty() && config_candidate(text, entries);
        let mut doc = Pre {
            range,
            text: None,
            roots: None,
        };
        if is_rl || candidate || needs_parse(text) {
            let parsed = yaml::parse(text);
            if let Ok(roots) = &parsed {
                if let Some(fc) = roots.first().and_then(krm::resource_list_config) {
                    resource_lists += 1;
                    match fc.map(krm::from_function_config).transpose() {
                        Ok(Some(f)) => settings.explicit.fill(f, &mut ctx, &mut seed),
                        Ok(None) => {}
                        Err(message) => findings.push(Finding {
                            location: inject::document_location(i + 1, text, roots),
                            field: ".functionConfig".into(),
                            message,
                            hint: None,
                        }),
                    }
                }
                if candidate {
                    let mut edits = Vec::new();
                    for obj in inject::resources(roots) {
                        let ns = obj
                            .get("metadata")
                            .and_then(|m| m.get_str("namespace"))
                            .map(String::from)
                            .or_else(|| ctx.namespace.clone());
                        let name = obj.get("metadata").and_then(|m| m.get_str("name"));
                        if obj.get_str("kind") != Some("Secret") {
                            continue;
                        }
                        for (j, e) in entries.iter().enumerate() {
                            let ns_ok = e.namespace.is_none() || e.namespace == ns;
                            if name == Some(e.name.as_str()) && ns_ok {
                                matches[j].push(inject::document_location(
                                    i + 1,
                                    text,
                                    std::slice::from_ref(obj),
                                ));
                                let pairs = config::entry_pairs(e, &ctx.scope);
                                edits.extend(config::patch_secret(text, obj, &pairs));
                            }
                        }
                    }
                    if !edits.is_empty() {
                        doc.text = Some(config::apply_text_edits(text, edits));
                    }
                }
            }
            doc.roots = Some(match &doc.text {
                Some(t) => yaml::parse(t),
                None => parsed,
            });
        }
        pre.push(doc);
    }

    // Config entries: exactly one match, or `create: true` with none.
    let config_path = "keyseed.yaml";
    let helm4 = memchr::memmem::find(
        input.as_bytes(),
        b"postrenderer.helm.sh/postrender-filename",
    )
    .is_some();
    for (j, e) in entries.iter().enumerate() {
        let at = format!(
            "{config_path} secrets[{j}] ({}{})",
            e.namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            e.name
        );
        match (matches[j].len(), e.create) {
            (1, _) => {}
            (0, true) => {
                let pairs = config::entry_pairs(e, &ctx.scope);
                if resource_lists == 1 && pre.len() == 1 {
                    let doc = &mut pre[0];
                    let text = doc
                        .text
                        .clone()
                        .unwrap_or_else(|| input[doc.range.clone()].to_string());
                    let roots = doc.roots.as_ref().and_then(|r| r.as_ref().ok());
                    match roots.and_then(|r| {
                        config::insert_item(&text, &r[0], e, &pairs, ctx.namespace.as_deref())
                    }) {
                        Some(edit) => {
                            let t = config::apply_text_edits(&text, vec![edit]);
                            doc.roots = Some(yaml::parse(&t));
                            doc.text = Some(t);
                        }
                        None => findings.push(config_finding(format!(
                            "{at}: cannot add a Secret to this ResourceList's `items`"
                        ))),
                    }
                } else {
                    let mut t = config::created_secret(e, &pairs, ctx.namespace.as_deref(), helm4);
                    let last_ends_nl = pre.last().is_none_or(|d| match &d.text {
                        Some(x) => x.ends_with('\n'),
                        None => input[d.range.clone()].ends_with('\n') || d.range.is_empty(),
                    });
                    if !last_ends_nl {
                        t.insert(0, '\n');
                    }
                    let n = input.len();
                    pre.push(Pre {
                        range: n..n,
                        roots: Some(yaml::parse(&t)),
                        text: Some(t),
                    });
                }
            }
            (0, false) => findings.push(config_finding(format!(
                "{at} matches no Secret in the stream{}",
                match &ctx.namespace {
                    Some(ns) => format!(" (documents without a namespace count as `{ns}`)"),
                    None => String::new(),
                }
            ))),
            (n, _) => findings.push(config_finding(format!(
                "{at} matches {n} Secrets ({}); add `namespace:` to the entry to pick one",
                matches[j]
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    // Pass 2: plan every placeholder.
    let mut docs = Vec::with_capacity(pre.len());
    for (i, doc) in pre.into_iter().enumerate() {
        let text: &str = match &doc.text {
            Some(t) => t,
            None => &input[doc.range.clone()],
        };
        let mut injections = Vec::new();
        let mut location = Location {
            document: i + 1,
            source: stream::source_comment(text.as_bytes()),
            ..Location::default()
        };
        match &doc.roots {
            Some(Ok(roots)) => {
                location = inject::document_location(i + 1, text, roots);
                let (inj, f) = inject::plan_document(i + 1, text, roots, &ctx);
                injections = inj;
                findings.extend(f);
            }
            Some(Err(e)) => findings.push(Finding {
                location: location.clone(),
                field: String::new(),
                message: format!("not valid YAML: {e}"),
                hint: None,
            }),
            None => {}
        }
        docs.push(Planned {
            range: doc.range,
            text: doc.text,
            location,
            injections,
        });
    }
    if opts.require_resource_list && (resource_lists != 1 || docs.len() != 1) {
        findings.push(Finding {
            location: Location {
                document: 1,
                ..Location::default()
            },
            field: String::new(),
            message: "`keyseed krm` expects exactly one KRM ResourceList on stdin".into(),
            hint: Some("use `keyseed render` for a plain manifest stream".into()),
        });
    }
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }
    Ok(StreamPlan {
        input,
        docs,
        seed,
        ctx,
    })
}

/// A document between the two passes.
struct Pre {
    range: std::ops::Range<usize>,
    /// The text when the config changed it (or created it).
    text: Option<String>,
    roots: Option<Result<Vec<yaml::Node>, yaml::ParseError>>,
}

fn config_finding(message: String) -> Finding {
    Finding {
        location: Location::default(),
        field: String::new(),
        message,
        hint: Some(
            "fix the name in keyseed.yaml, or set `create: true` to have keyseed add the Secret"
                .into(),
        ),
    }
}

/// Whether a document may hold a Secret a config entry names (cheap byte test).
fn config_candidate(text: &str, entries: &[config::SecretEntry]) -> bool {
    memchr::memmem::find(text.as_bytes(), b"Secret").is_some()
        && entries
            .iter()
            .any(|e| memchr::memmem::find(text.as_bytes(), e.name.as_bytes()).is_some())
}

/// A rendered stream: runs of the input that are unchanged, and changed documents. Writing it
/// copies nothing twice, so peak memory stays near the input size.
#[derive(Debug, Default)]
pub struct Rendered {
    input: SecretBytes,
    parts: Vec<Part>,
    /// What was injected (no values).
    pub report: Report,
}

#[derive(Debug)]
enum Part {
    Input(std::ops::Range<usize>),
    Changed(SecretBytes),
}

impl Rendered {
    /// A result that is one buffer (used by commands other than render).
    pub fn from_bytes(b: SecretBytes) -> Self {
        let n = b.expose().len();
        Rendered {
            input: b,
            parts: vec![Part::Input(0..n)],
            report: Report::default(),
        }
    }

    /// Writes the stream. SECRET: this is the one place rendered manifests leave the process.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        for p in &self.parts {
            match p {
                Part::Input(r) => w.write_all(&self.input.expose()[r.clone()])?,
                Part::Changed(b) => w.write_all(b.expose())?,
            }
        }
        w.flush()
    }

    /// Total length in bytes.
    pub fn len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Input(r) => r.len(),
                Part::Changed(b) => b.expose().len(),
            })
            .sum()
    }

    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, p: Part) {
        if let (Part::Input(r), Some(Part::Input(last))) = (&p, self.parts.last_mut()) {
            if last.end == r.start {
                last.end = r.end;
                return;
            }
        }
        self.parts.push(p);
    }
}

/// Renders the stream: plans, opens the seed when a value is needed, applies the edits and
/// validates the result. Keeps the input buffer for the documents it does not change.
pub fn render(
    input: SecretBytes,
    settings: &Settings,
    opts: RenderOptions,
) -> Result<Rendered, Error> {
    let (parts, report) = render_parts(input.expose(), settings, opts.clone())?;
    crate::lock::check(&opts.lock, &report)?;
    let mut rendered = Rendered {
        input,
        parts: Vec::with_capacity(parts.len()),
        report: Report::default(),
    };
    for p in parts {
        rendered.push(p);
    }
    rendered.report = report;
    Ok(rendered)
}

/// What a render did, without any value: for `plan` and the lock.
#[derive(Debug, Default)]
pub struct Report {
    /// Every injected value.
    pub injected: Vec<inject::InjectedValue>,
    /// Every workload with references, and which are in the stream.
    pub workloads: Vec<rollme::Workload>,
    /// Namespace used for resources without one.
    pub namespace: Option<String>,
    /// Warnings for stderr (TLS expiry, self-signed certificates, ...).
    pub warnings: Vec<String>,
}

fn render_parts(
    input: &[u8],
    settings: &Settings,
    opts: RenderOptions,
) -> Result<(Vec<Part>, Report), Error> {
    let text = check_input(input)?;
    let plan = plan(text, settings, opts)?;
    let open = || -> Result<keys::SeedFile, Error> {
        let mut s = keys::open_seed(&plan.seed, &settings.identities)?;
        s.certs = crate::certs::CertContext::new(settings, &plan.ctx.scope);
        Ok(s)
    };
    let mut seed = if plan.injections().next().is_some() {
        Some(open()?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(plan.docs.len());
    let mut findings = Vec::new();
    let mut report = Report::default();
    for doc in plan.docs.iter() {
        let original = match &doc.text {
            Some(t) => t.as_bytes(),
            None => &plan.input.as_bytes()[doc.range.clone()],
        };
        let Some(seed) = seed.as_ref().filter(|_| !doc.injections.is_empty()) else {
            validate::leftovers(&doc.location, original, &mut findings);
            match &doc.text {
                Some(t) => out.push(Part::Changed(SecretBytes::new(t.as_bytes().to_vec()))),
                None => out.push(Part::Input(doc.range.clone())),
            }
            continue;
        };
        let mut edits =
            inject::edits(seed, &doc.injections, &plan.seed.path, &mut report.injected)?;
        let changed = edit::apply(original, &mut edits);
        validate::leftovers(&doc.location, changed.expose(), &mut findings);
        // Self-check: an edited document must still parse.
        let reparsed = std::str::from_utf8(changed.expose()).ok().map(yaml::parse);
        if let Some(Ok(roots)) = &reparsed {
            validate::secret_limits(&doc.location, roots, &mut findings);
        }
        if !matches!(reparsed, Some(Ok(_))) {
            findings.push(Finding {
                location: doc.location.clone(),
                field: String::new(),
                message: "internal error: the edited document no longer parses".into(),
                hint: Some("please report this with the document's shape (not its values)".into()),
            });
        }
        out.push(Part::Changed(changed));
    }
    // TLS validation over the final documents.
    let texts: Vec<&[u8]> = out
        .iter()
        .map(|p| match p {
            Part::Input(r) => &input[r.clone()],
            Part::Changed(b) => b.expose(),
        })
        .collect();
    let tls = crate::validate::validate(&texts, &plan.ctx, &settings.tls_options()?);
    findings.extend(tls.errors);
    report.warnings = tls.warnings;
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }

    // Rollout annotations over the final documents.
    let rollme = rollme::RollmeSettings::from_settings(settings);
    let analysis = rollme::analyze(&texts, &plan.ctx, &rollme);
    report.namespace = plan.ctx.namespace.clone();
    if analysis.needs_key() {
        if seed.is_none() {
            seed = Some(open()?);
        }
        let key = crate::derive::hkdf(
            &seed.as_ref().expect("opened").seed,
            &crate::derive::info(rollme::KEY_FORMAT, "", 0),
            32,
        );
        let changed = analysis.annotate(&texts, Some(key.expose()));
        drop(texts);
        for (i, new) in changed {
            out[i] = Part::Changed(new);
        }
    }
    report.workloads = analysis.workloads;
    Ok((out, report))
}
