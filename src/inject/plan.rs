//! Finding placeholders and planning their replacement. Needs no seed.
//!
//! [`plan_document`] walks a parsed document (a resource, a `List` or a KRM `ResourceList`),
//! returns an [`Injection`] for every placeholder in a Secret's `stringData` or `data`, and a
//! [`Finding`] for every placeholder anywhere else. `check` and `plan` use it as it is; the
//! edits stage turns injections into byte edits once the seed is open. Values never appear
//! in findings.

use std::ops::Range;

use crate::diag::{Finding, Location};
use crate::k8s::data::decode;
use crate::k8s::object::{self, field_path, Context};
use crate::manifest::edit;
use crate::manifest::yaml::{Mapping, Node, Scalar, Style};
use crate::placeholder::{self, Generations, Placeholder, PREFIX};

/// Which field of a Secret holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `stringData`: the value as text.
    StringData,
    /// `data`: the value base64-encoded.
    Data,
}

impl Section {
    /// The section's field name.
    pub fn name(self) -> &'static str {
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
    /// A line of a literal block's text (a placeholder alone on its line): the value's
    /// lines as they are, each at the line's indentation, so the outer block holds them
    /// and the text means the PEM (a trust bundle, a config file).
    Lines {
        /// The indentation of the placeholder's line.
        indent: String,
        /// Line break of the document (`\n` or `\r\n`).
        newline: String,
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
        crate::inject::values::written_keys(&self.key, &self.placeholder)
    }

    /// Field path for messages.
    pub fn field(&self) -> String {
        field_path(self.section.name(), &self.key)
    }
}

struct Walker<'a> {
    number: usize,
    text: &'a str,
    ctx: &'a Context,
    /// A node above the one being walked carries an anchor (`&name`): an alias elsewhere
    /// may copy all of it, filled values included.
    anchored: bool,
    injections: Vec<Injection>,
    findings: Vec<Finding>,
}

/// Plans every placeholder of one stream document. `number` counts from 1.
pub fn plan_document(
    number: usize,
    text: &str,
    roots: &[Node],
    ctx: &Context,
) -> (Vec<Injection>, Vec<Finding>) {
    let mut w = Walker::new(number, text, ctx);
    for root in roots {
        w.object(root, None);
    }
    (w.injections, w.findings)
}

impl<'a> Walker<'a> {
    fn new(number: usize, text: &'a str, ctx: &'a Context) -> Self {
        Walker {
            number,
            text,
            ctx,
            anchored: false,
            injections: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn location(&self, obj: &Node, item: Option<String>) -> Location {
        object::location(self.number, self.text, obj, item)
    }

    fn object(&mut self, obj: &Node, item: Option<String>) {
        let Node::Map(map) = obj else {
            self.stray(obj, &self.location(obj, item.clone()), "");
            return;
        };
        let outer = self.anchored;
        self.anchored |= map.anchor != 0;
        self.object_entries(obj, map, item);
        self.anchored = outer;
    }

    fn object_entries(&mut self, obj: &Node, map: &Mapping, item: Option<String>) {
        let loc = self.location(obj, item.clone());
        let kind = obj.get_str("kind").unwrap_or("");
        let secret = object::is_core_secret(obj);
        let is_list = kind.ends_with("List") && matches!(obj.get("items"), Some(Node::Seq(_)));
        let is_resource_list = kind == "ResourceList";
        for (k, v) in &map.entries {
            let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
            match key {
                "items" if is_list || is_resource_list => {
                    if let Node::Seq(seq) = v {
                        let outer = self.anchored;
                        self.anchored |= seq.anchor != 0;
                        for (i, it) in seq.items.iter().enumerate() {
                            let path = match &item {
                                Some(p) => format!("{p}.items[{i}]"),
                                None => format!(".items[{i}]"),
                            };
                            self.object(it, Some(path));
                        }
                        self.anchored = outer;
                    }
                }
                // A KRM function's own config and results are not applied to a cluster.
                "functionConfig" | "results" if is_resource_list => {}
                "stringData" if secret => self.secret_section(v, Section::StringData, &loc, obj),
                "data" if secret => self.secret_section(v, Section::Data, &loc, obj),
                _ => {
                    self.stray(k, &loc, "");
                    self.stray_under(v, &loc, &format!(".{key}"), k.scalar());
                }
            }
        }
    }

    /// Reports any placeholder text outside a Secret's data.
    fn stray(&mut self, node: &Node, loc: &Location, path: &str) {
        self.stray_under(node, loc, path, None);
    }

    /// [`Walker::stray`] for a node that is the value of mapping key `key` (`None` for a
    /// sequence item or a key). Public certificate material (`ca:`, `cert:`) is planned
    /// wherever it is: as a whole scalar in any style, or as the whole value of a YAML line
    /// inside a literal block (a values dump); anything else is a finding.
    fn stray_under(&mut self, node: &Node, loc: &Location, path: &str, key: Option<&Scalar>) {
        match node {
            Node::Scalar(s) => {
                let mentioned = placeholder::mentions(&s.value)
                    || (placeholder::mentions_b64(&s.value)
                        && decode(&s.value).is_some_and(|d| placeholder::mentions_bytes(&d)));
                if !mentioned {
                    return;
                }
                let field = if path.is_empty() { "." } else { path };
                // A block scalar's value holds its final line break (`|`, `>`).
                let whole = match s.style {
                    Style::Literal | Style::Folded => s.value.trim_end_matches(['\n', '\r']),
                    _ => s.value.as_str(),
                };
                match placeholder::parse(whole) {
                    Ok(ph) if ph.format.is_public() => {
                        let name = path.rsplit('.').next().unwrap_or("").to_string();
                        let range = match (s.style, key) {
                            (Style::Literal | Style::Folded, Some(k)) => {
                                edit::value_range(self.text, k, s)
                            }
                            (Style::Literal | Style::Folded, None) => {
                                match edit::item_value_range(self.text, s) {
                                    Some(r) => r,
                                    None => return self.finding(loc, field, "cannot find the block scalar's header".into(), None),
                                }
                            }
                            _ => (s.span.clone(), String::new()),
                        };
                        let (range, trailing) = range;
                        self.public(loc, &name, ph, range, Layout::Value { trailing });
                    }
                    Ok(_) => self.outside(
                        loc,
                        field,
                        "move the value into a Secret and reference it (secretKeyRef, envFrom, a volume); only public certificate material (`ca:`, `cert:`) may go anywhere",
                    ),
                    Err(_) if s.style == Style::Literal && key.is_some() => {
                        let k = key.expect("checked");
                        let (range, _) = edit::value_range(self.text, k, s);
                        self.embedded(loc, field, range);
                    }
                    Err(_) => self.outside(
                        loc,
                        field,
                        "move the value into a Secret and reference it (secretKeyRef, envFrom, a volume); public certificate material (`ca:`, `cert:`) may go anywhere as a whole value, or as the whole value of a YAML line inside a literal block (`|`)",
                    ),
                }
            }
            Node::Map(m) => {
                for (k, v) in &m.entries {
                    let key = k.scalar().map(|s| s.value.clone()).unwrap_or_default();
                    self.stray_under(k, loc, path, None);
                    let p = format!("{path}.{key}");
                    self.stray_under(v, loc, &p, k.scalar());
                }
            }
            Node::Seq(s) => {
                for (i, it) in s.items.iter().enumerate() {
                    self.stray_under(it, loc, &format!("{path}[{i}]"), None);
                }
            }
            Node::Alias(..) => {}
        }
    }

    /// A placeholder outside a Secret that keyseed will not write there; `advice` follows
    /// the reason in the hint.
    fn outside(&mut self, loc: &Location, field: &str, advice: &str) {
        self.finding(
            loc,
            field,
            "a keyseed placeholder outside a Secret's `stringData` or `data`".into(),
            Some(format!(
                "secret values never land in non-secret objects; {advice}"
            )),
        );
    }

    /// Plans a public placeholder outside a Secret: a `caBundle` gets base64, anything else
    /// the PEM, written over `range` as `layout` says.
    fn public(
        &mut self,
        loc: &Location,
        key: &str,
        ph: Placeholder,
        range: Range<usize>,
        layout: Layout,
    ) {
        let section = if key == "caBundle" {
            Section::Data
        } else {
            Section::StringData
        };
        self.injections.push(Injection {
            location: loc.clone(),
            section,
            key: key.to_string(),
            id: ph.format.canonical(),
            placeholder: ph,
            range,
            layout,
        });
    }

    /// Plans the placeholders inside a literal block (`range`, the block in the document):
    /// each must be a public placeholder that is the whole value of its YAML line
    /// (`key: <keyseed:ca:ID>` or `- <keyseed:ca:ID>`: the double-quoted PEM written there
    /// keeps the embedded YAML valid and meaning the PEM) or alone on its line (the PEM's
    /// lines written there, at that line's indentation: a bundle of CAs, a config file).
    fn embedded(&mut self, loc: &Location, field: &str, range: Range<usize>) {
        let block = &self.text[range.clone()];
        if !block.contains(PREFIX) {
            // Mentioned in another spelling (base64, escapes): not a placeholder keyseed
            // can place in a text.
            return self.outside(
                loc,
                field,
                "public certificate material (`ca:`, `cert:`) may go anywhere as written text, not encoded",
            );
        }
        let mut planned = Vec::new();
        for (at, _) in block.match_indices(PREFIX) {
            let start = range.start + at;
            let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = self.text[start..]
                .find('\n')
                .map_or(self.text.len(), |i| start + i);
            let end = self.text[start..line_end]
                .find('>')
                .map_or(line_end, |close| start + close + 1);
            let before = &self.text[line_start..start];
            let after = self.text[end..line_end].trim_end_matches('\r');
            let lead = before.trim_end();
            let whole = (lead.ends_with(':') || lead.ends_with('-') || lead.is_empty())
                && before.len() > lead.len()
                && before.bytes().all(|b| b == b' ') == lead.is_empty()
                && (after.trim().is_empty()
                    || (after.starts_with([' ', '\t']) && after.trim_start().starts_with('#')));
            let ph = placeholder::parse(&self.text[start..end])
                .ok()
                .filter(|p| p.format.is_public());
            match (whole, ph) {
                (true, Some(ph)) if lead.is_empty() => {
                    let layout = Layout::Lines {
                        indent: before.to_string(),
                        newline: edit::newline(self.text).to_string(),
                    };
                    planned.push((String::new(), ph, start..end, layout));
                }
                (true, Some(ph)) => {
                    let name = lead
                        .trim_end_matches([':', '-'])
                        .trim()
                        .trim_start_matches("- ")
                        .trim_matches(['"', '\''])
                        .to_string();
                    let layout = Layout::Value {
                        trailing: String::new(),
                    };
                    planned.push((name, ph, start..end, layout));
                }
                _ => {
                    self.finding(
                        loc,
                        field,
                        "a keyseed placeholder inside a larger text".into(),
                        Some("only public certificate material (`ca:`, `cert:`) is replaced inside a text, and only as the whole value of a YAML line in a literal block (`key: <keyseed:ca:ID>`); secret values never land in non-secret objects".into()),
                    );
                    return;
                }
            }
        }
        for (name, ph, range, layout) in planned {
            self.public(loc, &name, ph, range, layout);
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
            v.scalar().is_some_and(|s| {
                placeholder::mentions(&s.value) || placeholder::mentions_b64(&s.value)
            })
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
                    // Line breaks may wrap base64 anywhere: decode every value that is not
                    // plainly free of the prefix.
                    if !placeholder::mentions_b64(&vs.value)
                        && !vs.value.contains(['\n', '\r', ' ', '\t'])
                    {
                        continue;
                    }
                    match decode(&vs.value) {
                        Some(d) if placeholder::mentions_bytes(&d) => match String::from_utf8(d) {
                            Ok(text) => text,
                            Err(_) => {
                                self.finding(
                                    loc,
                                    &field,
                                    "the decoded value contains `<keyseed:` inside binary data".into(),
                                    Some("a placeholder must be the whole value: base64-encode exactly `<keyseed:…>`, or put it in `stringData`".into()),
                                );
                                continue;
                            }
                        },
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
            if vs.anchor != 0 || map.anchor != 0 || self.anchored {
                // An alias elsewhere would copy the derived value into whatever object it
                // sits in, a ConfigMap included: refuse rather than expand or ignore.
                let what = if vs.anchor != 0 {
                    "a placeholder must not carry an anchor (`&name`)"
                } else {
                    "a placeholder must not lie under an anchored node (`&name` on its mapping, its Secret or its List)"
                };
                self.finding(
                    loc,
                    &field,
                    format!("{what}: an alias could copy the secret value into another object"),
                    Some(
                        "remove the anchor and write the placeholder itself wherever it is needed"
                            .into(),
                    ),
                );
                continue;
            }
            if let Some(tag) = vs
                .tag
                .as_deref()
                .filter(|t| !matches!(*t, "tag:yaml.org,2002:str" | "!!str"))
            {
                // go-yaml would read other bytes than keyseed derives (`!!binary` decodes).
                self.finding(
                    loc,
                    &field,
                    format!("a filled value must not carry the tag `{tag}`: Kubernetes' reader would store other bytes than keyseed derives, plans and locks"),
                    Some("remove the tag; keyseed writes the value as a plain string".into()),
                );
                continue;
            }
            self.plan(loc, obj, map, ks, vs, section, ph);
        }
    }

    fn finding(&mut self, loc: &Location, field: &str, message: String, hint: Option<String>) {
        self.findings
            .push(Finding::error(loc, field, message, hint));
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
        let mut ph = ph;
        let planned = self
            .id(obj, &key.value, &ph)
            .and_then(|id| {
                ph.resolve_current(&key.value, self.ctx.current_generation(&id))
                    .map_err(|e| Problem(e.to_string(), e.hint()))?;
                check_generations(&key.value, &ph)?;
                Ok(id)
            })
            .and_then(|id| {
                let mut inj = Injection {
                    location: loc.clone(),
                    section,
                    key: key.value.clone(),
                    placeholder: ph,
                    id,
                    range: 0..0,
                    layout: Layout::Value {
                        trailing: String::new(),
                    },
                };
                check_keyring_keys(&inj, map)?;
                let (vrange, trailing) = edit::value_range(self.text, key, value);
                if inj.key.contains("{gen}") {
                    inj.range = key.span.start..vrange.end;
                    inj.layout = Layout::Entries {
                        col: key.col,
                        flow: map.flow,
                        newline: edit::newline(self.text).to_string(),
                        trailing,
                    };
                } else {
                    inj.range = vrange;
                    inj.layout = Layout::Value { trailing };
                }
                Ok(inj)
            });
        match planned {
            Ok(inj) => self.injections.push(inj),
            Err(Problem(message, hint)) => self.finding(loc, &field, message, hint),
        }
    }

    /// The derivation id: `id=`, else `scope/secret-name/data-key`.
    fn id(&self, obj: &Node, key: &str, ph: &Placeholder) -> Result<String, Problem> {
        if let Some(id) = &ph.id {
            return Ok(id.clone());
        }
        let name = object::name(obj).ok_or_else(|| {
            Problem(
                "the Secret has no `metadata.name` to build the derivation id from".into(),
                Some("add `id=…` to the placeholder".into()),
            )
        })?;
        Ok(self.ctx.default_id(name, key))
    }
}

/// A problem with one placeholder: message and hint.
struct Problem(String, Option<String>);

/// A `{gen}` key needs `gen=A..B` without `join=`; `gen=A..B` needs a `{gen}` key or `join=`.
fn check_generations(key: &str, ph: &Placeholder) -> Result<(), Problem> {
    generations_problem(key, ph, "data key").map_or(Ok(()), |m| Err(Problem(m, None)))
}

/// What is wrong with the generations of placeholder `ph` under `key` (a Secret's "data
/// key", a values file's "key"), if anything: a `{gen}` key needs `gen=A..B` without
/// `join=`; `gen=A..B` needs a `{gen}` key or `join=`.
pub fn generations_problem(key: &str, ph: &Placeholder, noun: &str) -> Option<String> {
    let keyring = key.contains("{gen}");
    let range = matches!(ph.generations, Generations::Range(..));
    if keyring && !range {
        return Some(format!(
            "a {noun} with `{{gen}}` needs a generation range `gen=A..B`"
        ));
    }
    if keyring && ph.join.is_some() {
        return Some("`join=` writes one value; it cannot be used with a `{gen}` key".into());
    }
    if range && !keyring && ph.join.is_none() {
        return Some(format!(
            "`gen=A..B` writes several values: put `{{gen}}` in the {noun} (e.g. `encryption-key-{{gen}}`) or add `join=SEP`"
        ));
    }
    None
}

/// Every key a keyring writes must be a valid Secret key the mapping does not hold yet.
fn check_keyring_keys(inj: &Injection, map: &Mapping) -> Result<(), Problem> {
    if !inj.key.contains("{gen}") {
        return Ok(());
    }
    for (k, _) in inj.written_keys() {
        if !placeholder::is_key_name(&k) {
            return Err(Problem(
                format!("data key `{k}` is not a valid Secret key ([-._a-zA-Z0-9]+)"),
                None,
            ));
        }
    }
    match keyring_clash(map, &inj.key, &inj.placeholder) {
        Some(k) => Err(Problem(
            format!("the keyring writes `{k}`, which the Secret already has"),
            None,
        )),
        None => Ok(()),
    }
}

/// A key the keyring `key` (with `{gen}`) of `ph` would write that `map` already holds.
pub fn keyring_clash(map: &Mapping, key: &str, ph: &Placeholder) -> Option<String> {
    crate::inject::values::written_keys(key, ph)
        .into_iter()
        .map(|(k, _)| k)
        .find(|k| {
            map.entries
                .iter()
                .any(|(other, _)| other.scalar().is_some_and(|s| &s.value == k))
        })
}

/// Errors for one placeholder written without `id=` in more than one Secret: each place
/// derives its own value (its default id names its Secret and key), so a value a chart copies
/// (one `secrets.db.password` in values, written into keys of two Secrets) would become
/// several different values. One error per placeholder text, listing every place and the
/// `id=` that keeps each place's current value. Keys of one Secret may share a text (a user
/// writing two passwords), Secrets joined by `copies:` count as one, and `configured` says
/// which injections keyseed.yaml wrote (its user names each key there, on purpose).
pub fn copy_problems<'a>(
    injections: impl Iterator<Item = &'a Injection>,
    ctx: &Context,
    configured: impl Fn(&Injection) -> bool,
) -> Vec<Finding> {
    use std::collections::BTreeMap;
    // placeholder text without an id → its places, in stream order.
    let mut held: BTreeMap<String, Vec<&Injection>> = BTreeMap::new();
    for inj in injections {
        let ph = &inj.placeholder;
        if ph.id.is_some()
            || !ph.format.is_derived()
            || ph.format.is_certificate_material()
            || inj.location.kind.as_deref() != Some("Secret")
        {
            continue;
        }
        held.entry(placeholder::placeholder_text(ph, "", None))
            .or_default()
            .push(inj);
    }
    let mut problems = Vec::new();
    for list in held.values() {
        // The Secret each place derives for (a copy derives for the Secret it copies).
        let secret = |i: &Injection| {
            let name = i.location.name.as_deref().unwrap_or("");
            ctx.copies
                .get(name)
                .map_or(name, String::as_str)
                .to_string()
        };
        let mut secrets: Vec<String> = list.iter().map(|i| secret(i)).collect();
        secrets.sort_unstable();
        secrets.dedup();
        // Several keys of one Secret may share a placeholder text and differ on purpose;
        // the same text in two Secrets is what a copied value looks like.
        if secrets.len() < 2 || list.iter().all(|i| configured(i)) {
            continue;
        }
        // The text as a user writes it: no empty id, no default generation.
        let full = placeholder::placeholder_text(&list[0].placeholder, "", None);
        let written = full
            .trim_end_matches('>')
            .split(' ')
            .filter(|w| *w != "id=" && *w != "gen=0")
            .collect::<Vec<_>>()
            .join(" ")
            + ">";
        const SHOWN: usize = 5;
        let mut places = list
            .iter()
            .take(SHOWN)
            .map(|i| format!("`{}` of {}", i.field(), i.location))
            .collect::<Vec<_>>();
        if list.len() > SHOWN {
            places.push(format!(
                "and {} more (each pinned below)",
                list.len() - SHOWN
            ));
        }
        let pins = list
            .iter()
            .map(|i| {
                format!(
                    "  {} of {}: `{}`",
                    i.field(),
                    i.location,
                    placeholder::placeholder_text(&i.placeholder, &i.id, None)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        // A Secret named like another plus a suffix (`mastodon-prepare`) is a hook copy.
        let copies = secrets
            .iter()
            .flat_map(|c| secrets.iter().map(move |o| (c, o)))
            .filter(|(c, o)| {
                c.len() > o.len() + 1 && c.starts_with(o.as_str()) && c.as_bytes()[o.len()] == b'-'
            })
            .map(|(c, o)| format!("`copies: {{{c}: {o}}}`"))
            .collect::<Vec<_>>();
        let copies = if copies.is_empty() {
            String::new()
        } else {
            format!(
                " If a Secret copies another (a hook Secret does), add {} to keyseed.yaml: the copy then derives the values of the Secret it copies.",
                copies.join(" and ")
            )
        };
        problems.push(Finding::error(
            &list[0].location,
            &list[0].field(),
            format!(
                "`{written}` is written without `id=` in {} places of {} Secrets, so each place derives a different value: {}",
                list.len(),
                secrets.len(),
                places.join(", ")
            ),
            Some(format!(
                "a chart that copies one value (a password it writes into several Secrets) would get a different value in each place.{copies} To make them one value, give the placeholder the `id=` of the place whose value you keep (in values, once: every copy then gets it). To keep every current value as it is, pin each place:\n{pins}"
            )),
        ));
    }
    problems
}
