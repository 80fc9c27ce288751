//! The render pipeline: bytes → documents → plan → (seed) → edits → validation → bytes.
//!
//! Documents that need no change are copied byte for byte; only documents that mention a
//! placeholder are parsed. Output is assembled in one zeroizing buffer and returned only when
//! every check passed, so a failure writes nothing to stdout.

use crate::edit;
use crate::error::{Error, Finding, InputError, Location};
use crate::inject::{self, Injection, PREFIX_B64};
use crate::keys;
use crate::krm;
use crate::placeholder::PREFIX;
use crate::secret::SecretBytes;
use crate::settings::Settings;
use crate::stream;
use crate::yaml;

/// Options of one render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Accept an empty stream.
    pub allow_empty: bool,
    /// `keyseed krm`: the input must be one KRM `ResourceList`.
    pub require_resource_list: bool,
}

/// A document with its planned injections.
struct Planned {
    range: std::ops::Range<usize>,
    location: Location,
    injections: Vec<Injection>,
}

/// The plan of a whole stream: what would be injected where. Needs no seed.
pub struct StreamPlan<'a> {
    input: &'a str,
    docs: Vec<Planned>,
    /// The seed file to open (a KRM functionConfig may name it).
    pub seed: keys::SeedPath,
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
}

/// Checks the raw input: size and UTF-8.
pub fn check_input(input: &[u8]) -> Result<&str, InputError> {
    if input.len() > stream::MAX_INPUT {
        return Err(InputError::TooLarge(stream::MAX_INPUT));
    }
    std::str::from_utf8(input).map_err(|e| InputError::NotUtf8(e.valid_up_to()))
}

fn needs_parse(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), PREFIX.as_bytes()).is_some()
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
    let mut docs = Vec::with_capacity(ranges.len());
    let mut ctx = settings.plan.clone();
    let mut seed = settings.seed.clone();
    let mut resource_lists = 0;
    for (i, range) in ranges.into_iter().enumerate() {
        let text = &input[range.clone()];
        let is_rl = memchr::memmem::find(text.as_bytes(), b"ResourceList").is_some();
        let mut injections = Vec::new();
        let mut location = Location {
            document: i + 1,
            source: stream::source_comment(text.as_bytes()),
            ..Location::default()
        };
        if is_rl || needs_parse(text) {
            match yaml::parse(text) {
                Ok(roots) => {
                    location = inject::document_location(i + 1, text, &roots);
                    if let Some(fc) = roots.first().and_then(krm::resource_list_config) {
                        resource_lists += 1;
                        match fc.map(krm::from_function_config).transpose() {
                            Ok(Some(f)) => {
                                apply_function_settings(settings, f, &mut ctx, &mut seed)
                            }
                            Ok(None) => {}
                            Err(message) => findings.push(Finding {
                                location: location.clone(),
                                field: ".functionConfig".into(),
                                message,
                                hint: None,
                            }),
                        }
                    }
                    let (inj, f) = inject::plan_document(i + 1, text, &roots, &ctx);
                    injections = inj;
                    findings.extend(f);
                }
                Err(e) => findings.push(Finding {
                    location: location.clone(),
                    field: String::new(),
                    message: format!("not valid YAML: {e}"),
                    hint: None,
                }),
            }
        }
        docs.push(Planned {
            range,
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
    Ok(StreamPlan { input, docs, seed })
}

/// A KRM functionConfig fills in what flags and `KEYSEED_*` did not set.
fn apply_function_settings(
    settings: &Settings,
    f: krm::FunctionSettings,
    ctx: &mut inject::PlanContext,
    seed: &mut keys::SeedPath,
) {
    let mut s = Settings {
        seed: seed.clone(),
        identities: Default::default(),
        plan: ctx.clone(),
        error_file: None,
        explicit: settings.explicit,
    };
    s.apply_function(f);
    *ctx = s.plan;
    *seed = s.seed;
}

/// A rendered stream: runs of the input that are unchanged, and changed documents. Writing it
/// copies nothing twice, so peak memory stays near the input size.
#[derive(Debug, Default)]
pub struct Rendered {
    input: SecretBytes,
    parts: Vec<Part>,
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
    let parts = render_parts(input.expose(), settings, opts)?;
    let mut rendered = Rendered {
        input,
        parts: Vec::with_capacity(parts.len()),
    };
    for p in parts {
        rendered.push(p);
    }
    Ok(rendered)
}

fn render_parts(
    input: &[u8],
    settings: &Settings,
    opts: RenderOptions,
) -> Result<Vec<Part>, Error> {
    let text = check_input(input)?;
    let plan = plan(text, settings, opts)?;
    let seed = if plan.injections().next().is_some() {
        Some(keys::open_seed(&plan.seed, &settings.identities)?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(plan.docs.len());
    let mut findings = Vec::new();
    for doc in plan.docs.iter() {
        let original = &plan.input.as_bytes()[doc.range.clone()];
        let Some(seed) = seed.as_ref().filter(|_| !doc.injections.is_empty()) else {
            leftovers(&doc.location, original, &mut findings);
            out.push(Part::Input(doc.range.clone()));
            continue;
        };
        let mut edits = inject::edits(seed, &doc.injections, &plan.seed.path)?;
        let changed = edit::apply(original, &mut edits);
        leftovers(&doc.location, changed.expose(), &mut findings);
        // Self-check: an edited document must still parse.
        let reparsed = std::str::from_utf8(changed.expose()).ok().map(yaml::parse);
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
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }
    Ok(out)
}

/// After render no `<keyseed:` text may remain anywhere (comments included).
fn leftovers(location: &Location, doc: &[u8], findings: &mut Vec<Finding>) {
    if memchr::memmem::find(doc, PREFIX.as_bytes()).is_some() {
        findings.push(Finding {
            location: location.clone(),
            field: String::new(),
            message: "`<keyseed:` text remains after render (in a comment or a field keyseed does not fill)".into(),
            hint: Some("remove the text, or move the placeholder into a Secret's stringData/data".into()),
        });
    }
}
