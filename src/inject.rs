//! Finding placeholders in the stream and planning their replacement (SPEC §4).
//!
//! [`plan_document`] walks a parsed document (a resource, a `List` or a KRM `ResourceList`),
//! returns an [`Injection`] for every placeholder in a Secret's `stringData` or `data`, and a
//! [`Finding`] for every placeholder anywhere else. Planning needs no seed, so `check` and
//! `plan` use it as it is; [`edits`] then turns injections into byte edits once the seed is
//! open. Values never appear in findings.

use std::ops::Range;

use base64::Engine as _;

use crate::edit::{quote, quote_into, Edit};
use crate::error::{Finding, KeyError, Location};
use crate::keys::SeedFile;
use crate::placeholder::{self, Generations, Order, Placeholder, PREFIX};
use crate::secret::SecretValue;
use crate::yaml::{Mapping, Node, Scalar, Style};

/// base64 of `<keyseed:` (a placeholder stored in a Secret's `data`).
pub const PREFIX_B64: &str = "PGtleXNlZWQ6";

/// Which field of a Secret holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `stringData`: the value as text.
    StringData,
    /// `data`: the value base64-encoded.
    Data,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::StringData => "stringData",
            Section::Data => "data",
        }
    }
}

/// How the replacement text is laid out.
#[derive(Debug, Clone)]
pub enum Layout {
    /// Replace the value scalar only.
    Value {
        /// Line break to write after the value (a block scalar's span holds its line break).
        trailing: String,
    },
    /// Replace the whole `key: value` entry with one entry per generation.
    Entries {
        /// Column of the key, for block mappings.
        col: usize,
        /// The mapping is `{...}` flow style.
        flow: bool,
        /// Line break of the document (`\n` or `\r\n`).
        newline: String,
        /// Line break to write after the last entry.
        trailing: String,
    },
}

/// One placeholder to replace.
#[derive(Debug, Clone)]
pub struct Injection {
    /// Where.
    pub location: Location,
    /// `stringData` or `data`.
    pub section: Section,
    /// The data key as written (`{gen}` included for a keyring).
    pub key: String,
    /// The parsed placeholder.
    pub placeholder: Placeholder,
    /// The derivation id.
    pub id: String,
    /// Bytes to replace in the document text.
    pub range: Range<usize>,
    /// How to write the replacement.
    pub layout: Layout,
}

impl Injection {
    /// The (data key, generation) pairs this injection writes, or one pair with `None` for a
    /// single value or a joined keyring.
    pub fn written_keys(&self) -> Vec<(String, Option<u64>)> {
        if self.key.contains("{gen}") {
            self.placeholder
                .generations
                .list()
                .into_iter()
                .map(|g| (self.key.replace("{gen}", &g.to_string()), Some(g)))
                .collect()
        } else {
            vec![(self.key.clone(), None)]
        }
    }

    /// Field path for messages.
    pub fn field(&self) -> String {
        field_path(self.section.name(), &self.key)
    }
}

/// Settings the planner needs.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// `--scope`: the first part of default ids.
    pub scope: String,
    /// `--namespace`: namespace of resources without `metadata.namespace`.
    pub namespace: Option<String>,
}

/// `.a.b` with quoting for keys that are not simple identifiers.
pub fn field_path(section: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if simple {
        format!(".{section}.{key}")
    } else {
        format!(".{section}.{}", quote(key))
    }
}

struct Walker<'a> {
    text: &'a str,
    ctx: &'a PlanContext,
    base: Location,
    injections: Vec<Injection>,
    findings: Vec<Finding>,
}

/// The location of a document's (first) resource, for messages about the whole document.
pub fn document_location(number: usize, text: &str, roots: &[Node]) -> Location {
    let ctx = PlanContext::default();
    let w = Walker::new(number, text, &ctx);
    match roots.first() {
        Some(r) => w.location(r, None),
        None => w.base,
    }
}

/// Plans every placeholder of one stream document. `number` counts from 1.
pub fn plan_document(
    number: usize,
    text: &str,
    roots: &[Node],
    ctx: &PlanContext,
) -> (Vec<Injection>, Vec<Finding>) {
    let mut w = Walker::new(number, text, ctx);
    for root in roots {
        w.object(root, None);
    }
    (w.injections, w.findings)
}

impl<'a> Walker<'a> {
    fn new(number: usize, text: &'a str, ctx: &'a PlanContext) -> Self {
        Walker {
            text,
            ctx,
            base: Location {
                document: number,
                source: crate::stream::source_comment(text.as_bytes()),
                ..Location::default()
            },
            injections: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn location(&self, obj: &Node, item: Option<String>) -> Location {
        let meta = obj.get("metadata");
        let mut loc = self.base.clone();
        loc.item = item;
        loc.kind = obj.get_str("kind").map(String::from);
        loc.name = meta.and_then(|m| m.get_str("name")).map(String::from);
        loc.namespace = meta.and_then(|m| m.get_str("namespace")).map(String::from);
        if let Some(f) = meta
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get_str("postrenderer.helm.sh/postrender-filename"))
        {
            loc.source = Some(f.to_string());
        }
        loc
    }

    fn object(&mut self, obj: &Node, item: Option<String>) {
        let Node::Map(map) = obj else {
            self.stray(obj, &self.location(obj, item.clone()), "");
            return;
        };
        let loc = self.location(obj, item.clone());
        let kind = obj.get_str("kind").unwrap_or("");
        let is_list = kind.ends_with("List") && matches!(obj.get("items"), Some(Node::Seq(_)));
        let is_resource_list = kind == "ResourceList";
        for (k, v) in &map.entries {
            let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
            match key {
                "items" if is_list || is_resource_list => {
                    if let Node::Seq(seq) = v {
                        for (i, it) in seq.items.iter().enumerate() {
                            let path = match &item {
                                Some(p) => format!("{p}.items[{i}]"),
                                None => format!(".items[{i}]"),
                            };
                            self.object(it, Some(path));
                        }
                    }
                }
                // A KRM function's own config and results are not applied to a cluster.
                "functionConfig" | "results" if is_resource_list => {}
                "stringData" if kind == "Secret" => {
                    self.secret_section(v, Section::StringData, &loc, obj)
                }
                "data" if kind == "Secret" => self.secret_section(v, Section::Data, &loc, obj),
                _ => {
                    self.stray(k, &loc, "");
                    self.stray(v, &loc, &format!(".{key}"));
                }
            }
        }
    }

    /// Reports any placeholder text outside a Secret's data.
    fn stray(&mut self, node: &Node, loc: &Location, path: &str) {
        match node {
            Node::Scalar(s)
                if s.value.starts_with("<keyseed:ca:")
                    && !matches!(s.style, Style::Literal | Style::Folded) =>
            {
                // Public material: a derived CA may go anywhere; a `caBundle` gets base64.
                match placeholder::parse(&s.value) {
                    Ok(ph) if matches!(ph.format, placeholder::Format::Ca(_)) => {
                        let key = path.rsplit('.').next().unwrap_or("").to_string();
                        let section = if key == "caBundle" {
                            Section::Data
                        } else {
                            Section::StringData
                        };
                        self.injections.push(Injection {
                            location: loc.clone(),
                            section,
                            key,
                            id: ph.format.canonical(),
                            placeholder: ph,
                            range: s.span.clone(),
                            layout: Layout::Value {
                                trailing: String::new(),
                            },
                        });
                    }
                    Ok(_) => {}
                    Err(e) => self.findings.push(Finding {
                        location: loc.clone(),
                        field: path.to_string(),
                        message: e.to_string(),
                        hint: e.hint(),
                    }),
                }
            }
            Node::Scalar(s) => {
                let mentioned = placeholder::mentions(&s.value)
                    || (s.value.contains(PREFIX_B64)
                        && decode_b64(&s.value).is_some_and(|d| d.contains(PREFIX)));
                if mentioned {
                    self.findings.push(Finding {
                        location: loc.clone(),
                        field: if path.is_empty() { ".".into() } else { path.to_string() },
                        message: "a keyseed placeholder outside a Secret's `stringData` or `data`".into(),
                        hint: Some(
                            "secret values never land in non-secret objects; move the value into a Secret and reference it (secretKeyRef, envFrom, a volume)"
                                .into(),
                        ),
                    });
                }
            }
            Node::Map(m) => {
                for (k, v) in &m.entries {
                    let key = k.scalar().map(|s| s.value.clone()).unwrap_or_default();
                    self.stray(k, loc, path);
                    let p = format!("{path}.{key}");
                    self.stray(v, loc, &p);
                }
            }
            Node::Seq(s) => {
                for (i, it) in s.items.iter().enumerate() {
                    self.stray(it, loc, &format!("{path}[{i}]"));
                }
            }
            Node::Alias(_) => {}
        }
    }

    fn secret_section(&mut self, node: &Node, section: Section, loc: &Location, obj: &Node) {
        let Node::Map(map) = node else {
            self.stray(node, loc, &format!(".{}", section.name()));
            return;
        };
        // Kubernetes (go-yaml) rejects a mapping with a repeated key; say so for a Secret
        // keyseed is about to change.
        let changes = map.entries.iter().any(|(_, v)| {
            v.scalar()
                .is_some_and(|s| placeholder::mentions(&s.value) || s.value.contains(PREFIX_B64))
        });
        let mut seen = std::collections::BTreeSet::new();
        for (k, v) in &map.entries {
            let Some(ks) = k.scalar() else {
                self.stray(k, loc, &format!(".{}", section.name()));
                self.stray(v, loc, &format!(".{}", section.name()));
                continue;
            };
            let field = field_path(section.name(), &ks.value);
            if !seen.insert(ks.value.as_str()) && changes {
                self.finding(
                    loc,
                    &field,
                    format!("the key `{}` appears twice", ks.value),
                    Some("remove one of them".into()),
                );
                continue;
            };

            if placeholder::mentions(&ks.value) {
                self.finding(
                    loc,
                    &field,
                    "a data key cannot be a placeholder".into(),
                    None,
                );
            }
            let Node::Scalar(vs) = v else {
                self.stray(v, loc, &field);
                continue;
            };
            let text = match section {
                Section::StringData => {
                    if !placeholder::mentions(&vs.value) {
                        continue;
                    }
                    vs.value.clone()
                }
                Section::Data => {
                    if placeholder::mentions(&vs.value) {
                        self.finding(
                            loc,
                            &field,
                            "a placeholder in `data` must be base64-encoded".into(),
                            Some("put the placeholder in `stringData`, or base64-encode it (`printf '%s' '<keyseed:…>' | base64`)".into()),
                        );
                        continue;
                    }
                    if !vs.value.contains(PREFIX_B64) {
                        continue;
                    }
                    match decode_b64(&vs.value) {
                        Some(d) if placeholder::mentions(&d) => d,
                        _ => continue,
                    }
                }
            };
            let ph = match placeholder::parse(&text) {
                Ok(p) => p,
                Err(e) => {
                    self.finding(loc, &field, e.to_string(), e.hint());
                    continue;
                }
            };
            self.plan(loc, obj, map, ks, vs, section, ph);
        }
    }

    fn finding(&mut self, loc: &Location, field: &str, message: String, hint: Option<String>) {
        self.findings.push(Finding {
            location: loc.clone(),
            field: field.to_string(),
            message,
            hint,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn plan(
        &mut self,
        loc: &Location,
        obj: &Node,
        map: &Mapping,
        key: &Scalar,
        value: &Scalar,
        section: Section,
        ph: Placeholder,
    ) {
        let field = field_path(section.name(), &key.value);
        let keyring = key.value.contains("{gen}");
        let range = matches!(ph.generations, Generations::Range(..));
        if keyring && !range {
            return self.finding(
                loc,
                &field,
                "a data key with `{gen}` needs a generation range `gen=A..B`".into(),
                None,
            );
        }
        if keyring && ph.join.is_some() {
            return self.finding(
                loc,
                &field,
                "`join=` writes one value; it cannot be used with a `{gen}` key".into(),
                None,
            );
        }
        if range && !keyring && ph.join.is_none() {
            return self.finding(
                loc,
                &field,
                "`gen=A..B` writes several values: put `{gen}` in the data key (e.g. `encryption-key-{gen}`) or add `join=SEP`".into(),
                None,
            );
        }
        let id = match &ph.id {
            Some(id) => id.clone(),
            None => {
                let Some(name) = obj.get("metadata").and_then(|m| m.get_str("name")) else {
                    return self.finding(
                        loc,
                        &field,
                        "the Secret has no `metadata.name` to build the derivation id from".into(),
                        Some("add `id=…` to the placeholder".into()),
                    );
                };
                format!("{}/{}/{}", self.ctx.scope, name, key.value)
            }
        };
        let injection_key = key.value.clone();
        let mut inj = Injection {
            location: loc.clone(),
            section,
            key: injection_key,
            placeholder: ph,
            id,
            range: 0..0,
            layout: Layout::Value {
                trailing: String::new(),
            },
        };
        // Check keys written by a keyring against the other keys of the mapping.
        if keyring {
            for (k, _) in inj.written_keys() {
                if !placeholder::is_key_name(&k) {
                    return self.finding(
                        loc,
                        &field,
                        format!("data key `{k}` is not a valid Secret key ([-._a-zA-Z0-9]+)"),
                        None,
                    );
                }
                let clash = map
                    .entries
                    .iter()
                    .any(|(other, _)| other.scalar().is_some_and(|s| s.value == k));
                if clash {
                    return self.finding(
                        loc,
                        &field,
                        format!("the keyring writes `{k}`, which the Secret already has"),
                        None,
                    );
                }
            }
        }
        let (vrange, trailing) = self.value_range(key, value);
        let newline = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        if keyring {
            inj.range = key.span.start..vrange.end;
            inj.layout = Layout::Entries {
                col: key.col,
                flow: map.flow,
                newline: newline.to_string(),
                trailing,
            };
        } else {
            inj.range = vrange;
            inj.layout = Layout::Value { trailing };
        }
        self.injections.push(inj);
    }

    fn value_range(&self, key: &Scalar, value: &Scalar) -> (Range<usize>, String) {
        scalar_value_range(self.text, key, value)
    }
}

/// The bytes of the value to replace and the line break to write after the new value.
/// Block scalars' spans start at their content and run to the next token, so the range
/// is rebuilt: from the `|`/`>` header after the key to the end of the last content line
/// (lines indented deeper than the key), keeping later blank lines and comments.
pub fn scalar_value_range(text: &str, key: &Scalar, value: &Scalar) -> (Range<usize>, String) {
    if !matches!(value.style, Style::Literal | Style::Folded) {
        return (value.span.clone(), String::new());
    }
    let bytes = text.as_bytes();
    let header = bytes[key.span.end..value.span.start]
        .iter()
        .position(|&b| b == b'|' || b == b'>')
        .map(|i| key.span.end + i)
        .unwrap_or(value.span.start);
    // First content line starts at the line holding value.span.start.
    let mut pos = bytes[..value.span.start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut end = pos;
    while pos < bytes.len() {
        let line_end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..line_end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line.iter().all(|b| b.is_ascii_whitespace());
        if !blank && indent <= key.col {
            break;
        }
        if !blank {
            end = line_end;
        }
        pos = line_end;
    }
    let body = &text[..end];
    let trailing = if body.ends_with("\r\n") {
        "\r\n"
    } else if body.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    (header..end.max(header), trailing.to_string())
}

/// Decodes a base64 `data`/`binaryData` value as Kubernetes does (standard alphabet; line
/// breaks and other white space ignored).
pub fn decode_data(v: &str) -> Option<Vec<u8>> {
    let clean: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Decodes a Secret `data` value to text, if it is base64 of UTF-8.
pub fn decode_b64(v: &str) -> Option<String> {
    String::from_utf8(decode_data(v)?).ok()
}

/// One entry of a Secret's or ConfigMap's data, as the workload sees it.
pub struct DataEntry<'a> {
    /// `data`, `stringData` or `binaryData`.
    pub section: &'static str,
    /// The key.
    pub key: &'a str,
    /// The value as written.
    pub raw: &'a str,
    /// The value's bytes (`None`: a base64 section holding invalid base64).
    pub bytes: Option<Vec<u8>>,
}

/// The data entries of a Secret (`data` decoded, then `stringData`) or a ConfigMap (`data`,
/// then `binaryData` decoded), in that order: a later entry for the same key wins, as the
/// API server merges `stringData` over `data`.
pub fn data_entries(obj: &Node) -> Vec<DataEntry<'_>> {
    let sections: [(&'static str, bool); 2] = if obj.get_str("kind") == Some("Secret") {
        [("data", true), ("stringData", false)]
    } else {
        [("data", false), ("binaryData", true)]
    };
    let mut out = Vec::new();
    for (section, b64) in sections {
        let Some(Node::Map(m)) = obj.get(section) else {
            continue;
        };
        for (k, v) in &m.entries {
            let (Some(k), Some(v)) = (k.scalar(), v.scalar()) else {
                continue;
            };
            let bytes = if b64 {
                decode_data(&v.value)
            } else {
                Some(v.value.as_bytes().to_vec())
            };
            out.push(DataEntry {
                section,
                key: &k.value,
                raw: &v.value,
                bytes,
            });
        }
    }
    out
}

/// Computes the value of one (placeholder, generation) pair.
pub fn value_for(
    seed: &SeedFile,
    inj: &Injection,
    gen: u64,
    seed_path: &std::path::Path,
) -> Result<SecretValue, KeyError> {
    let ph = &inj.placeholder;
    match &ph.format {
        placeholder::Format::Value(name) => seed
            .values
            .get(name)
            .map(|v| SecretValue::new(v.expose().to_string()))
            .ok_or_else(|| KeyError::MissingValue {
                name: name.clone(),
                path: seed_path.to_path_buf(),
            }),
        placeholder::Format::Ca(id) => Ok(SecretValue::new(crate::certs::ca_pem(&seed.seed, id))),
        placeholder::Format::Cert(s) | placeholder::Format::CertKey(s) => {
            let entry = seed
                .certs
                .certificates
                .iter()
                .find(|c| &c.secret == s)
                .ok_or_else(|| KeyError::MissingValue {
                    name: format!("certificates entry for secret `{s}`"),
                    path: seed_path.to_path_buf(),
                })?;
            if matches!(ph.format, placeholder::Format::Cert(_)) {
                crate::certs::leaf_cert_pem(&seed.seed, &seed.certs, entry)
                    .map(SecretValue::new)
                    .map_err(|why| KeyError::SeedFormat {
                        path: seed_path.to_path_buf(),
                        why,
                    })
            } else {
                Ok(crate::certs::leaf_key_pem(&seed.seed, &seed.certs, entry))
            }
        }
        f => Ok(
            crate::derive::derive(&seed.seed, f, ph.encoding, &inj.id, gen)
                .expect("derived format"),
        ),
    }
}

/// The (data key, plain value) pairs one injection writes.
pub fn values(
    seed: &SeedFile,
    inj: &Injection,
    seed_path: &std::path::Path,
) -> Result<Vec<(String, SecretValue)>, KeyError> {
    let ph = &inj.placeholder;
    if let Some(sep) = &ph.join {
        let mut gens = ph.generations.list();
        if ph.order == Order::Desc {
            gens.reverse();
        }
        let mut joined = String::new();
        for (i, g) in gens.iter().enumerate() {
            if i > 0 {
                joined.push_str(sep);
            }
            joined.push_str(value_for(seed, inj, *g, seed_path)?.expose());
        }
        let v = SecretValue::new(joined.clone());
        crate::secret::wipe(&mut joined);
        return Ok(vec![(inj.key.clone(), v)]);
    }
    let mut out = Vec::new();
    for (key, gen) in inj.written_keys() {
        let g = gen.unwrap_or(match ph.generations {
            Generations::One(g) => g,
            Generations::Range(a, _) => a,
        });
        out.push((key, value_for(seed, inj, g, seed_path)?));
    }
    Ok(out)
}

/// The derivation format whose `okm(32)` (id empty, gen 0) keys value fingerprints.
pub const FINGERPRINT_FORMAT: &str = "fingerprint";

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
}

/// A short keyed fingerprint of a value: it identifies a change without revealing anything.
pub fn fingerprint(key: &[u8], value: &str) -> String {
    crate::rollme::digest(Some(key), value.as_bytes())[..16].to_string()
}

/// Turns injections into byte edits of the document text.
pub fn edits(
    seed: &SeedFile,
    injections: &[Injection],
    seed_path: &std::path::Path,
    report: &mut Vec<InjectedValue>,
) -> Result<Vec<Edit>, KeyError> {
    let mut out = Vec::with_capacity(injections.len());
    let fkey = crate::derive::hkdf(
        &seed.seed,
        &crate::derive::info(FINGERPRINT_FORMAT, "", 0),
        32,
    );
    for inj in injections {
        let pairs = values(seed, inj, seed_path)?;
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
                fingerprint: fingerprint(fkey.expose(), v.expose()),
            });
        }
        let mut text = String::new();
        let encode = |v: &SecretValue| match inj.section {
            Section::StringData => SecretValue::new(v.expose().to_string()),
            Section::Data => {
                SecretValue::new(base64::engine::general_purpose::STANDARD.encode(v.expose()))
            }
        };
        match &inj.layout {
            Layout::Value { trailing } => {
                let v = encode(&pairs[0].1);
                quote_into(&mut text, v.expose());
                text.push_str(trailing);
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
        out.push(Edit {
            range: inj.range.clone(),
            text: SecretValue::new(std::mem::take(&mut text)),
        });
    }
    Ok(out)
}

/// The resources of a document: itself, or the items of a List / ResourceList.
pub fn resources(roots: &[Node]) -> Vec<&Node> {
    let mut out = Vec::new();
    let mut stack: Vec<&Node> = roots.iter().rev().collect();
    while let Some(n) = stack.pop() {
        let kind = n.get_str("kind").unwrap_or("");
        match n.get("items") {
            Some(Node::Seq(items)) if kind.ends_with("List") => {
                stack.extend(items.items.iter().rev());
            }
            _ => out.push(n),
        }
    }
    out
}
