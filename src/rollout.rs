//! Rollout annotations: pods restart exactly when the data they use changes.
//!
//! Every pod template of a workload kind that references a Secret or ConfigMap present in the
//! stream (`env[].valueFrom`, `envFrom`, `volumes` including projected sources, in init and
//! regular containers) gets one annotation: an HMAC-SHA256 over the data it reads of the
//! referenced objects (the keys a `secretKeyRef` or a volume's `items:` names, every key
//! through `envFrom` or a plain volume), canonically ordered, keyed from the seed. Metadata, unreferenced objects and references to
//! objects outside the stream do not count. This module reads final (already injected)
//! documents and returns edits; it never sees anything but data bytes and never prints them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::derive::mac;
use crate::diag::{Finding, Location, Severity};
use crate::k8s::data;
use crate::k8s::object::{self, Context};
use crate::k8s::pod::{self, Reads, WORKLOAD_KINDS};
use crate::manifest::document::{Documents, EditError};
use crate::manifest::edit::{self, quote, Edit, Slot};
use crate::manifest::stream;
use crate::manifest::window::Window;
use crate::manifest::yaml::{Anchors, Mapping, Node, Scalar};
use crate::parallel::{cost, par_map};

/// Default annotation name.
pub const DEFAULT_ANNOTATION: &str = "keyseed.io/rollme";

/// What to annotate, and with which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSettings {
    /// Annotation name.
    pub annotation: String,
    /// Workload kinds.
    pub kinds: Vec<String>,
    /// Pod-template annotations (`*` globs) whose values become the rollout digest where a
    /// chart sets them (`checksum/*`, `rollme`).
    pub replace: Vec<String>,
}

impl Default for RolloutSettings {
    fn default() -> Self {
        RolloutSettings {
            annotation: DEFAULT_ANNOTATION.into(),
            kinds: WORKLOAD_KINDS.iter().map(|s| s.to_string()).collect(),
            replace: Vec::new(),
        }
    }
}

impl RolloutSettings {
    /// Whether an annotation name is one `replace` overwrites.
    pub fn replaces(&self, name: &str) -> bool {
        self.replace.iter().any(|p| object::glob(p, name))
    }
}

/// An object a pod template may reference, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `Secret` or `ConfigMap`.
    pub kind: String,
    /// Namespace (the document's or the default one; empty when unknown).
    pub namespace: String,
    /// Name.
    pub name: String,
}

fn lp(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_be_bytes());
    out.extend_from_slice(b);
}

/// The canonical byte string hashed for a set of objects: for each object in (kind,
/// namespace, name) order, length-prefixed kind, namespace, name, key count, then each key and
/// value in key order (lengths as 8-byte big-endian).
pub fn canonical(
    objects: &BTreeMap<ObjectRef, BTreeMap<String, Vec<u8>>>,
    refs: &[ObjectRef],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"keyseed/v1/rollme\0");
    for r in refs {
        let Some(data) = objects.get(r) else { continue };
        lp(&mut out, r.kind.as_bytes());
        lp(&mut out, r.namespace.as_bytes());
        lp(&mut out, r.name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_be_bytes());
        for (k, v) in data {
            lp(&mut out, k.as_bytes());
            lp(&mut out, v);
        }
    }
    out
}

/// Where keyseed's annotation goes in a pod template (or any object with `metadata`): the
/// first mapping on the way that exists, with the null entry the missing one is written
/// into, if the mapping has one (`metadata:`, `annotations: ~`).
enum Target<'a> {
    /// Into the annotations mapping.
    Annotations(&'a Mapping),
    /// Into `metadata`, which gets `annotations`.
    Metadata(&'a Mapping, Option<(&'a Scalar, &'a Node)>),
    /// Into the template, which gets `metadata`.
    Template(&'a Mapping, Option<(&'a Scalar, &'a Node)>),
}

/// [`Target`] of `template`; `None` when `metadata` or `annotations` is something else than
/// a mapping or null.
fn target(template: &Node) -> Option<Target<'_>> {
    let Node::Map(t) = template else {
        return None;
    };
    fn entry<'a>(m: &'a Mapping, name: &str) -> Option<(&'a Scalar, &'a Node)> {
        m.entries.iter().find_map(|(k, v)| match k {
            Node::Scalar(ks) if ks.value == name => Some((ks, v)),
            _ => None,
        })
    }
    let null = |n: &Node| n.scalar().is_some_and(Scalar::is_null);
    Some(match entry(t, "metadata") {
        None => Target::Template(t, None),
        Some((k, v)) if null(v) => Target::Template(t, Some((k, v))),
        Some((_, Node::Map(mm))) => match entry(mm, "annotations") {
            None => Target::Metadata(mm, None),
            Some((_, Node::Map(am))) => Target::Annotations(am),
            Some((k, v)) if null(v) => Target::Metadata(mm, Some((k, v))),
            Some(_) => return None,
        },
        Some(_) => return None,
    })
}

/// Where the annotation goes in a pod template: an existing value is replaced; otherwise
/// `annotations:` or `metadata:` is added, or filled when it is empty (`metadata:`, `~`).
pub fn annotation_slot(text: &str, template: &Node, annotation: &str) -> Option<Slot> {
    let key = quote(annotation);
    // A missing mapping is written as a flow mapping holding the annotation: inserted as an
    // entry, or after the key of a null value.
    let wrap = |s: Slot, before: String, after: &str| Slot {
        range: s.range,
        before: format!("{}{before}", s.before),
        after: format!("{after}{}", s.after),
    };
    let entry = |m: &Mapping, name: &str, null: Option<(&Scalar, &Node)>| match null {
        Some((k, v)) => edit::value_slot(text, k, v),
        None => edit::insert_slot(text, m, name),
    };
    Some(match target(template)? {
        Target::Annotations(am) => {
            let existing = am.entries.iter().find_map(|(k, v)| {
                k.scalar()
                    .filter(|s| s.value == annotation)
                    .map(|ks| (ks, v))
            });
            match existing {
                Some((ks, v)) => edit::value_slot(text, ks, v),
                None => edit::insert_slot(text, am, annotation),
            }
        }
        Target::Metadata(mm, null) => {
            wrap(entry(mm, "annotations", null), format!("{{{key}: "), "}")
        }
        Target::Template(t, null) => wrap(
            entry(t, "metadata", null),
            format!("{{\"annotations\": {{{key}: "),
            "}}",
        ),
    })
}

/// The block mapping a pod template's annotation edits land in (the annotations; else the
/// template's `metadata`, which gets `annotations`; else the template, which gets
/// `metadata`), as a [`Window`], with how deep the annotations lie below it: 0, 1
/// (`annotations`) or 2 (`metadata.annotations`). `None` where that mapping does not stand
/// on lines of its own.
fn annotation_window(text: &str, template: &Node) -> Option<(Window, usize)> {
    let (container, depth) = match target(template)? {
        Target::Annotations(am) => (am, 0),
        Target::Metadata(mm, _) => (mm, 1),
        Target::Template(t, _) => (t, 2),
    };
    Window::of(text, container).map(|w| (w, depth))
}

/// Words a pod spec must contain to reference a Secret or ConfigMap (a cheap pre-filter).
const REF_WORDS: [&[u8]; 5] = [
    b"secretKeyRef",
    b"secretRef",
    b"secretName",
    b"configMap",
    b"projected",
];

/// One workload (pod template) found in the stream.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Index of its document in the stream.
    pub doc: usize,
    /// Where it is, for messages and `plan`.
    pub location: Location,
    /// Referenced objects in the stream.
    pub found: Vec<ObjectRef>,
    /// Referenced objects not in the stream.
    pub missing: Vec<ObjectRef>,
    /// The keys the pod reads of each object of `found` (same order); `None` where it
    /// reads the whole object.
    reads: Vec<Option<BTreeSet<String>>>,
    /// Where keyseed's own annotation value goes (when the workload references data).
    slot: Option<Slot>,
    /// The chart's annotations `rollme.replace` overwrites.
    replaced: Vec<Slot>,
    /// The block mapping every annotation edit lands in, and how deep the annotations lie
    /// below it (see [`annotation_window`]): the edit is checked there, without parsing the
    /// whole document again.
    window: Option<(Window, usize)>,
    /// Warnings about the workload's annotation: none although it references data, or
    /// references matched across a half-written namespace.
    pub notes: Vec<Finding>,
}

impl Workload {
    /// Whether the pod reads key `key` of `object` (a key written `NAME-{gen}` matches each
    /// generation): `None` when it does not reference the object, `Some(true)` when it reads
    /// the whole object or that key.
    pub fn reads_key(&self, object: &ObjectRef, key: &str) -> Option<bool> {
        let i = self.found.iter().position(|r| r == object)?;
        let matches = |k: &str| match key.split_once("{gen}") {
            Some((pre, post)) => k
                .strip_prefix(pre)
                .and_then(|r| r.strip_suffix(post))
                .is_some_and(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit())),
            None => k == key,
        };
        Some(match self.reads.get(i) {
            Some(Some(keys)) => keys.iter().any(|k| matches(k)),
            _ => true,
        })
    }

    /// Whether keyseed writes its own annotation: the workload references data of the
    /// stream and has a place for it.
    fn writes_own(&self) -> bool {
        self.slot.is_some() && !self.found.is_empty()
    }
}

/// Whether annotations `ann` hold `digest` under keyseed's annotation (when `own`) and under
/// every annotation `rollme.replace` names; `Err` says which does not (names, no values).
fn holds_digest(
    ann: &Node,
    digest: &str,
    own: bool,
    settings: &RolloutSettings,
) -> Result<(), &'static str> {
    let holds = |name: &str| ann.get_str(name) == Some(digest);
    if own && !holds(&settings.annotation) {
        return Err("the rollout annotation");
    }
    let Node::Map(m) = ann else {
        return Err("annotations");
    };
    for (k, _) in &m.entries {
        let Some(k) = k.scalar() else { continue };
        if settings.replaces(&k.value) && !holds(&k.value) {
            return Err("a replaced annotation");
        }
    }
    Ok(())
}

/// Workloads, their references, and the digest of every referenced object in the stream.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Every workload that references at least one Secret or ConfigMap.
    pub workloads: Vec<Workload>,
    objects: HashMap<ObjectRef, DataDigest>,
}

/// The digests of one object's data; they never leave the process.
#[derive(Debug, Clone)]
struct DataDigest {
    /// SHA-256 of the whole canonical data (see [`canonical`]).
    whole: [u8; 32],
    /// SHA-256 of each key and its value, by key.
    keys: BTreeMap<String, [u8; 32]>,
}

/// The digests of one object's canonical data.
fn object_digest(r: &ObjectRef, data: BTreeMap<String, Vec<u8>>) -> DataDigest {
    let keys = data
        .iter()
        .map(|(k, v)| {
            let mut msg = b"keyseed/v1/rollme-key\0".to_vec();
            lp(&mut msg, k.as_bytes());
            lp(&mut msg, v);
            (k.clone(), Sha256::digest(msg).into())
        })
        .collect();
    let mut m = BTreeMap::new();
    m.insert(r.clone(), data);
    DataDigest {
        whole: Sha256::digest(canonical(&m, std::slice::from_ref(r))).into(),
        keys,
    }
}

/// The digest of the keys `keys` of object `r`: SHA-256 over `"keyseed/v1/rollme-keys\0"`,
/// the object's kind, namespace and name, then for each key in byte order the key and
/// `0x01 ‖ digest` when the object holds it, `0x00` when not (all length-prefixed as in
/// [`canonical`]).
fn keyed_digest(r: &ObjectRef, d: &DataDigest, keys: &BTreeSet<String>) -> [u8; 32] {
    let mut msg = b"keyseed/v1/rollme-keys\0".to_vec();
    lp(&mut msg, r.kind.as_bytes());
    lp(&mut msg, r.namespace.as_bytes());
    lp(&mut msg, r.name.as_bytes());
    for k in keys {
        lp(&mut msg, k.as_bytes());
        match d.keys.get(k) {
            Some(kd) => {
                msg.push(1);
                msg.extend_from_slice(kd);
            }
            None => msg.push(0),
        }
    }
    Sha256::digest(msg).into()
}

/// The workloads of document `i` that reference a Secret or ConfigMap.
fn workloads_of(
    docs: &Documents,
    i: usize,
    ctx: &Context,
    settings: &RolloutSettings,
) -> Vec<Workload> {
    let Some(roots) = docs.view(i) else {
        return vec![];
    };
    let text = docs.text(i);
    let anchors = Anchors::new(&roots);
    let mut aliased = None;
    let mut out = Vec::new();
    for obj in object::resources(&roots) {
        let kind = obj.get_str("kind").unwrap_or("");
        if !settings.kinds.iter().any(|k| k == kind) {
            continue;
        }
        let Some(template) = pod::pod_template(obj) else {
            continue;
        };
        let Some(spec) = anchors.get(template, "spec") else {
            continue;
        };
        let ns = object::namespace(obj, ctx.namespace.as_deref());
        let (refs, reads): (Vec<ObjectRef>, Vec<_>) = pod::references(spec, &anchors)
            .into_iter()
            .map(|((kind, name), reads)| {
                let r = ObjectRef {
                    kind,
                    namespace: ns.to_string(),
                    name,
                };
                let keys = match reads {
                    Reads::Whole => None,
                    Reads::Keys(k) => Some(k),
                };
                (r, keys)
            })
            .unzip();
        let replaced = replaced_slots(text, template, settings);
        if refs.is_empty() && replaced.is_empty() {
            continue;
        }
        let own = !refs.is_empty() && !settings.replaces(&settings.annotation);
        let window = annotation_window(text, template);
        let location = object::location(i + 1, text, obj, None);
        let mut slot = own
            .then(|| annotation_slot(text, template, &settings.annotation))
            .flatten();
        let mut replaced = replaced;
        // An edit inside a node an alias reads would change the alias too: none is made.
        let aliased = aliased.get_or_insert_with(|| anchors.aliased_spans(&roots));
        let at = slot.iter().chain(&replaced).map(|s| s.range.start);
        let mut notes = Vec::new();
        if at
            .clone()
            .any(|p| aliased.iter().any(|r| r.start <= p && p <= r.end))
        {
            (slot, replaced) = (None, Vec::new());
            notes.push(Finding {
                severity: Severity::Warning,
                ..Finding::error(
                    &location,
                    "",
                    format!("no {} annotation: the pod template's annotations lie inside an anchored node (`&name`) that an alias reads, which would get it too; this workload does not restart when its data changes", settings.annotation),
                    Some("remove the anchor or its aliases from the chart's output".into()),
                )
            });
        }
        out.push(Workload {
            doc: i,
            location,
            found: refs,
            missing: Vec::new(),
            reads,
            slot,
            replaced,
            window,
            notes,
        });
    }
    out
}

/// The value slots of a pod template's annotations that `rollme.replace` names.
fn replaced_slots(text: &str, template: &Node, settings: &RolloutSettings) -> Vec<Slot> {
    if settings.replace.is_empty() {
        return Vec::new();
    }
    let Some(Node::Map(am)) = template.get("metadata").and_then(|m| m.get("annotations")) else {
        return Vec::new();
    };
    am.entries
        .iter()
        .filter_map(|(k, v)| {
            let ks = k.scalar()?;
            settings
                .replaces(&ks.value)
                .then(|| edit::value_slot(text, ks, v))
        })
        .collect()
}

/// The digests of the Secrets and ConfigMaps of document `i` (only the `wanted` ones, when
/// given).
fn objects_of(
    docs: &Documents,
    i: usize,
    ctx: &Context,
    wanted: Option<&HashSet<ObjectRef>>,
) -> ObjectDigests {
    let Some(roots) = docs.view(i) else {
        return vec![];
    };
    let anchors = Anchors::new(&roots);
    let mut out = Vec::new();
    for obj in object::resources(&roots) {
        let kind = obj.get_str("kind").unwrap_or("");
        if kind != "Secret" && kind != "ConfigMap" {
            continue;
        }
        let Some(name) = object::name(obj) else {
            continue;
        };
        let r = ObjectRef {
            kind: kind.into(),
            namespace: object::namespace(obj, ctx.namespace.as_deref()).to_string(),
            name: name.into(),
        };
        let bare = || ObjectRef {
            namespace: String::new(),
            ..r.clone()
        };
        if wanted.is_none_or(|w| w.contains(&r) || (ctx.namespace.is_none() && w.contains(&bare())))
        {
            let d = object_digest(&r, data::canonical(obj, &anchors));
            out.push((r, d));
        }
    }
    out
}

/// Whether document bytes may hold a workload of `kinds` with references, or with an
/// annotation to replace (cheap test).
fn workload_candidate(docs: &Documents, i: usize, settings: &RolloutSettings) -> bool {
    let t = docs.bytes(i);
    let kinds = &settings.kinds;
    let kind_hit = match docs.kind(i) {
        Some(kind) => kinds.iter().any(|k| k == kind),
        None => kinds
            .iter()
            .any(|k| memchr::memmem::find(t, k.as_bytes()).is_some()),
    };
    kind_hit && (!settings.replace.is_empty() || crate::text::find_any!(t, REF_WORDS))
}

/// Whether document bytes may hold a Secret or ConfigMap (cheap test).
fn object_candidate(docs: &Documents, i: usize) -> bool {
    match docs.kind(i) {
        Some(kind) => kind == "Secret" || kind == "ConfigMap",
        None => {
            crate::text::find_any!(docs.bytes(i), [b"Secret".as_slice(), b"ConfigMap"])
        }
    }
}

/// Which workloads [`analyze`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Every workload with references, those outside the stream included (`plan`).
    Every,
    /// At least every workload that gets an annotation (`render`): a workload whose text
    /// names no Secret or ConfigMap of the stream is not parsed.
    Annotated,
}

/// Finds workloads and the objects they reference in the final documents.
pub fn analyze(
    docs: &Documents,
    ctx: &Context,
    settings: &RolloutSettings,
    report: Report,
) -> Analysis {
    let mut a = Analysis::default();
    if settings.kinds.is_empty() {
        return a;
    }
    let scan = Scan {
        docs,
        ctx,
        settings,
    };
    let objects: Vec<usize> = (0..docs.len())
        .filter(|&i| object_candidate(docs, i))
        .collect();
    if report == Report::Annotated && settings.replace.is_empty() {
        scan.by_name(&mut a, &objects);
    } else {
        scan.everything(&mut a, &objects);
    }
    for w in &mut a.workloads {
        let (mut found, missing): (Vec<_>, Vec<_>) = w
            .found
            .drain(..)
            .zip(w.reads.drain(..))
            .partition(|(r, _)| a.objects.contains_key(r));
        let mut guessed = Vec::new();
        for (r, reads) in missing {
            match half_written(&a.objects, &r, ctx) {
                Some(o) => {
                    guessed.push(format!("{} {}", r.kind, r.name));
                    found.push((o.clone(), reads));
                }
                None => w.missing.push(r),
            }
        }
        (w.found, w.reads) = found.into_iter().unzip();
        if !guessed.is_empty() {
            w.notes.push(namespace_note(&w.location, &guessed));
        }
        // The chart's checksum of data that is not in the stream is kept: a digest of
        // nothing would be the same for every config, and no change would restart the pod.
        if w.found.is_empty() && !w.missing.is_empty() && !w.replaced.is_empty() {
            w.replaced.clear();
            w.notes.push(Finding {
                severity: Severity::Warning,
                ..Finding::error(
                    &w.location,
                    "",
                    format!(
                        "`rollme.replace` leaves this workload's annotations as the chart wrote them: it reads {} and none of them is in the stream, so keyseed has no data to digest",
                        w.missing.iter().map(|r| format!("{} {}", r.kind, r.name)).collect::<Vec<_>>().join(", ")
                    ),
                    Some("render the objects it reads in the same stream, or pass --namespace when they are written without one".into()),
                )
            });
        }
    }
    a
}

/// The object of the stream that reference `r` means when the namespace is only half
/// written (the workload or the object has none) and no `--namespace` says which it is:
/// Helm installs both into the release namespace, so they are the same object there. The
/// digest then includes it (a restart too many, never one too few) and a warning says so.
fn half_written<'o>(
    objects: &'o HashMap<ObjectRef, DataDigest>,
    r: &ObjectRef,
    ctx: &Context,
) -> Option<&'o ObjectRef> {
    if ctx.namespace.is_some() {
        return None;
    }
    let mut same = objects.keys().filter(|o| {
        o.kind == r.kind && o.name == r.name && (o.namespace.is_empty() || r.namespace.is_empty())
    });
    let first = same.next()?;
    // Two candidates (an object in two namespaces): no guess.
    same.next().is_none().then_some(first)
}

/// The warning for references matched across a half-written namespace.
fn namespace_note(location: &Location, objects: &[String]) -> Finding {
    Finding {
        severity: Severity::Warning,
        ..Finding::error(
            location,
            "",
            format!(
                "reads {} of the stream, but only one of the two names a namespace and no --namespace says which the other is in; keyseed takes them as one object (as in a release installed into that namespace)",
                objects.join(", ")
            ),
            Some("pass --namespace RELEASE-NAMESPACE (Helm 3's --post-renderer-args, or `helm keyseed template -n`, which passes it) so that keyseed knows where objects without a namespace go".into()),
        )
    }
}

/// What [`analyze`] reads, shared by its two ways of reading it.
struct Scan<'a> {
    docs: &'a Documents,
    ctx: &'a Context,
    settings: &'a RolloutSettings,
}

impl<'a> Scan<'a> {
    /// Every workload, then the objects they reference (`plan`, and `rollme.replace`, which
    /// annotates workloads without references too).
    fn everything(&self, a: &mut Analysis, objects: &[usize]) {
        self.parse_workloads(a, &self.workload_docs(None));
        // Without --namespace, an object without one may be what a workload in a namespace
        // reads, and the other way round ([`half_written`]): both spellings are wanted.
        let unknown = self.ctx.namespace.is_none();
        let wanted: HashSet<ObjectRef> = a
            .workloads
            .iter()
            .flat_map(|w| w.found.iter())
            .flat_map(|r| {
                let bare = ObjectRef {
                    namespace: String::new(),
                    ..r.clone()
                };
                [Some(r.clone()), unknown.then_some(bare)]
            })
            .flatten()
            .collect();
        if wanted.is_empty() {
            return;
        }
        a.add_objects(par_map(
            objects,
            |&i| cost::parse(self.docs.bytes(i).len()),
            |&i| objects_of(self.docs, i, self.ctx, Some(&wanted)),
        ));
    }

    /// Only what can reference each other: a workload can reference an object only if its
    /// text names it, and an object matters only if a workload's text names it. Names are
    /// read without parsing where the document is plain block style; other objects are
    /// parsed first.
    fn by_name(&self, a: &mut Analysis, objects: &[usize]) {
        let (cheap, unknown): (Vec<Named<'a>>, Vec<Named<'a>>) = objects
            .iter()
            .map(|&i| (i, cheap_object_name(self.docs, i)))
            .partition(|(_, n)| n.is_some());
        let mut found = self.parse_objects(&unknown);
        // Each name with the kinds of the objects that bear it.
        let mut kinds: BTreeMap<&str, u8> = BTreeMap::new();
        for &(i, n) in &cheap {
            if let Some(n) = n {
                *kinds.entry(n).or_default() |= kind_bit(self.docs.kind(i).unwrap_or(""));
            }
        }
        for (r, _) in found.iter().flat_map(|(_, v)| v) {
            *kinds.entry(r.name.as_str()).or_default() |= kind_bit(&r.kind);
        }
        let names: Vec<&str> = kinds.keys().copied().collect();
        if names.is_empty() {
            return;
        }
        let filter = NameFilter::new(kinds.into_iter());
        let candidates = self.workload_docs(filter.as_ref());
        let mut mentioned: BTreeSet<&str> = BTreeSet::new();
        let mut anything = filter.is_none();
        for (_, m) in &candidates {
            match m {
                Mentions::Anything => anything = true,
                Mentions::Names(ns) => mentioned.extend(ns.iter().map(|&k| names[k])),
                Mentions::Nothing => {}
            }
        }
        let needed: Vec<Named> = cheap
            .into_iter()
            .filter(|(_, n)| anything || n.is_some_and(|n| mentioned.contains(n)))
            .collect();
        found.extend(self.parse_objects(&needed));
        // Stream order: the same object twice combines in the order it appears.
        found.sort_by_key(|(i, _)| *i);
        a.add_objects(found.into_iter().map(|(_, v)| v).collect());
        if !a.objects.is_empty() {
            self.parse_workloads(a, &candidates);
        }
    }

    /// The workload candidates and the names each may mention (anything without a filter),
    /// without those that mention none.
    fn workload_docs(&self, names: Option<&NameFilter>) -> Vec<(usize, Mentions)> {
        let docs = self.docs;
        let all: Vec<usize> = (0..docs.len()).collect();
        // Every byte of every workload is looked at: on every core.
        // A document of a known kind other than a workload's costs nothing to pass over.
        let other = |i: usize| {
            docs.kind(i)
                .is_some_and(|k| !self.settings.kinds.iter().any(|w| w == k))
        };
        par_map(
            &all,
            |&i| {
                if other(i) {
                    0
                } else {
                    cost::scan(docs.bytes(i).len())
                }
            },
            |&i| {
                if !workload_candidate(docs, i, self.settings) {
                    return None;
                }
                let m = names.map_or(Mentions::Anything, |n| n.mentions(docs.bytes(i)));
                (!matches!(m, Mentions::Nothing)).then_some((i, m))
            },
        )
        .into_iter()
        .flatten()
        .collect()
    }

    fn parse_workloads(&self, a: &mut Analysis, candidates: &[(usize, Mentions)]) {
        a.workloads = par_map(
            candidates,
            |(i, _)| cost::parse(self.docs.bytes(*i).len()),
            |(i, _)| workloads_of(self.docs, *i, self.ctx, self.settings),
        )
        .into_iter()
        .flatten()
        .collect();
    }

    /// The digests of the objects in `list`, by document index.
    fn parse_objects(&self, list: &[Named]) -> Vec<(usize, ObjectDigests)> {
        par_map(
            list,
            |(i, _)| cost::parse(self.docs.bytes(*i).len()),
            |(i, _)| (*i, objects_of(self.docs, *i, self.ctx, None)),
        )
    }
}

/// An object document and its name, when read without parsing.
type Named<'a> = (usize, Option<&'a str>);

/// The digests of the Secrets and ConfigMaps of one document.
type ObjectDigests = Vec<(ObjectRef, DataDigest)>;

/// The name of a Secret or ConfigMap read without parsing, where its document is plain block
/// style (see [`stream::block_metadata_name`]); `None` when it must be parsed to know.
fn cheap_object_name(docs: &Documents, i: usize) -> Option<&str> {
    matches!(docs.kind(i), Some("Secret" | "ConfigMap"))
        .then(|| stream::block_metadata_name(docs.bytes(i)))
        .flatten()
}

/// Which object names a workload's text may mention.
enum Mentions {
    /// None: the workload cannot reference an object of the stream.
    Nothing,
    /// These names (pattern ids of the [`NameFilter`]), each as a whole word.
    Names(Vec<usize>),
    /// Any name (the text holds a backslash: a quoted name may be escaped).
    Anything,
}

/// A cheap, sound test of which objects a document's text may name: each name as a whole
/// word (not inside a longer name), or anything when the text holds a backslash (a
/// double-quoted scalar may spell a name with escapes). Anchored, tagged and block-scalar
/// names still appear literally in their document; folded scalars hold spaces, which no name
/// here holds.
///
/// A whole-word occurrence of a name is exactly a maximal run of name bytes
/// (`[A-Za-z0-9._-]`) equal to it, so the test splits the text into such runs and looks each
/// up in a hash map: linear in the text, and building it costs one insertion per name (an
/// Aho-Corasick automaton of 10 000 names cost more to build than the whole search).
///
/// A name counts only where the text can reference its kind: every key through which a pod
/// reads a Secret holds `secret` (`secretKeyRef`, `secretRef`, `secretName`, a projected
/// `secret`), every ConfigMap key holds `configMap`, and field names are case-sensitive.
struct NameFilter<'a> {
    /// Each name, with its id and the kinds bearing it.
    names: rustc_hash::FxHashMap<&'a [u8], (usize, u8)>,
    /// The lengths of the names (63 standing for 63 and longer), and the first bytes: a word
    /// that matches neither is no name, without hashing it.
    lengths: u64,
    firsts: [bool; 256],
}

/// [`NameFilter`]'s bit for an object kind.
fn kind_bit(kind: &str) -> u8 {
    match kind {
        "Secret" => 1,
        "ConfigMap" => 2,
        _ => 0,
    }
}

impl<'a> NameFilter<'a> {
    /// `None` (no filtering) when a name holds anything but `[A-Za-z0-9._-]`. Ids follow the
    /// iteration order of `names`, each with the [`kind_bit`]s of the objects bearing it.
    fn new(names: impl Iterator<Item = (&'a str, u8)>) -> Option<Self> {
        let mut f = NameFilter {
            names: rustc_hash::FxHashMap::default(),
            lengths: 0,
            firsts: [false; 256],
        };
        for (i, (n, kinds)) in names.enumerate() {
            if n.is_empty() || !n.bytes().all(stream::is_name_byte) {
                return None;
            }
            f.names.entry(n.as_bytes()).or_insert((i, kinds));
            f.lengths |= 1 << n.len().min(63);
            f.firsts[n.as_bytes()[0] as usize] = true;
        }
        Some(f)
    }

    fn mentions(&self, text: &[u8]) -> Mentions {
        if memchr::memchr(b'\\', text).is_some() {
            return Mentions::Anything;
        }
        let mut readable = 0;
        if crate::text::find!(text, b"secret").is_some() {
            readable |= kind_bit("Secret");
        }
        if crate::text::find!(text, b"configMap").is_some() {
            readable |= kind_bit("ConfigMap");
        }
        if readable == 0 {
            return Mentions::Nothing;
        }
        const NAME: [bool; 256] = {
            let mut t = [false; 256];
            let mut b = 0;
            while b < 256 {
                t[b] = stream::is_name_byte(b as u8);
                b += 1;
            }
            t
        };
        let mut ids = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !NAME[text[i] as usize] {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len() && NAME[text[i] as usize] {
                i += 1;
            }
            if self.lengths & (1 << (i - start).min(63)) == 0 || !self.firsts[text[start] as usize]
            {
                continue;
            }
            if let Some(&(id, kinds)) = self.names.get(&text[start..i]) {
                if kinds & readable != 0 {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            Mentions::Nothing
        } else {
            Mentions::Names(ids)
        }
    }
}

impl Analysis {
    /// Records object digests found by document, in stream order.
    fn add_objects(&mut self, found: Vec<ObjectDigests>) {
        let both = |a: &[u8; 32], b: &[u8; 32]| -> [u8; 32] {
            Sha256::digest([a.as_slice(), b.as_slice()].concat()).into()
        };
        for (r, d) in found.into_iter().flatten() {
            // The same object twice (a Helm 4 hook and a template): both count, in order,
            // and so does each key either one holds.
            let combined = match self.objects.remove(&r) {
                Some(mut prev) => {
                    prev.whole = both(&prev.whole, &d.whole);
                    for (k, kd) in d.keys {
                        let v = match prev.keys.get(&k) {
                            Some(p) => both(p, &kd),
                            None => kd,
                        };
                        prev.keys.insert(k, v);
                    }
                    prev
                }
                None => d,
            };
            self.objects.insert(r, combined);
        }
    }

    /// Whether any workload gets an annotation (so the seed-derived key is needed).
    pub fn needs_key(&self) -> bool {
        self.workloads
            .iter()
            .any(|w| !w.found.is_empty() || !w.replaced.is_empty())
    }

    /// The rollout digest of every workload, in [`Analysis::workloads`] order:
    /// HMAC-SHA256 (or SHA-256 without a key) over `"keyseed/v1/rollme\0"` followed by the
    /// digest of what the pod reads of each referenced object, in (kind, namespace, name)
    /// order: the whole object's digest, or [`keyed_digest`] of the keys it reads; with no
    /// referenced object, the digest of nothing.
    pub fn digests(&self, key: Option<&[u8]>) -> Vec<String> {
        self.workloads
            .iter()
            .map(|w| {
                let mut msg = b"keyseed/v1/rollme\0".to_vec();
                for (r, keys) in w.found.iter().zip(&w.reads) {
                    let Some(d) = self.objects.get(r) else {
                        continue;
                    };
                    match keys {
                        Some(keys) => msg.extend_from_slice(&keyed_digest(r, d, keys)),
                        None => msg.extend_from_slice(&d.whole),
                    }
                }
                mac::digest(key, &msg)
            })
            .collect()
    }

    /// The workloads of document `doc` with their indices (workloads are in document order).
    fn workloads_in(&self, doc: usize) -> impl Iterator<Item = (usize, &Workload)> {
        let start = self.workloads.partition_point(|w| w.doc < doc);
        let end = self.workloads.partition_point(|w| w.doc <= doc);
        (start..end).map(|k| (k, &self.workloads[k]))
    }

    /// Checks that annotated document `doc` (`roots`, freshly parsed) means what the edits
    /// intended: each annotated workload's pod template carries the digest under keyseed's
    /// annotation and under every replaced one. Anything else is a bug, refused before it
    /// can be written.
    pub fn verify(
        &self,
        doc: usize,
        roots: &[Node],
        digests: &[String],
        settings: &RolloutSettings,
    ) -> Result<(), EditError> {
        for (k, w) in self.workloads_in(doc) {
            let own = w.writes_own();
            if !own && w.replaced.is_empty() {
                continue;
            }
            let unintended = |what: &str| EditError::Unintended {
                document: w.doc + 1,
                what: format!("{what} of {}", w.location),
            };
            let obj = object::resources(roots).into_iter().find(|o| {
                o.get_str("kind") == w.location.kind.as_deref()
                    && object::name(o) == w.location.name.as_deref()
            });
            let ann = obj
                .and_then(pod::pod_template)
                .and_then(|t| t.get("metadata"))
                .and_then(|m| m.get("annotations"))
                .ok_or_else(|| unintended("no annotations"))?;
            holds_digest(ann, &digests[k], own, settings).map_err(unintended)?;
        }
        Ok(())
    }

    /// [`Analysis::verify`] without parsing document `doc` again: `true` when every edit of
    /// `edits` lies in the window of an annotated workload of the document, and each window,
    /// parsed alone with its edits, holds the digest under keyseed's annotation and under
    /// every replaced one, every other entry unchanged (see [`crate::manifest::window`]).
    /// `false` sends the caller to the whole-document parse and [`Analysis::verify`].
    pub fn verified_in_windows(
        &self,
        doc: usize,
        text: &str,
        edits: &[Edit],
        digests: &[String],
        settings: &RolloutSettings,
    ) -> bool {
        let mut windows: Vec<(&Window, usize, usize)> = Vec::new();
        for (k, w) in self.workloads_in(doc) {
            if !w.writes_own() && w.replaced.is_empty() {
                continue;
            }
            let Some((win, depth)) = &w.window else {
                return false;
            };
            windows.push((win, *depth, k));
        }
        windows.sort_by_key(|(w, _, _)| w.lines.start);
        if windows
            .windows(2)
            .any(|p| p[0].0.lines.end > p[1].0.lines.start)
        {
            return false;
        }
        let mut per: Vec<Vec<&Edit>> = vec![Vec::new(); windows.len()];
        for e in edits {
            let Some(j) = windows.iter().position(|(w, _, _)| w.holds(e)) else {
                return false;
            };
            per[j].push(e);
        }
        for ((win, depth, k), es) in windows.iter().zip(&per) {
            let Some(m) = win.check(text, es) else {
                return false;
            };
            let container = Node::Map(m);
            let ann = match depth {
                0 => Some(&container),
                1 => container.get("annotations"),
                _ => container.get("metadata").and_then(|m| m.get("annotations")),
            };
            let own = self.workloads[*k].writes_own();
            if ann.is_none_or(|a| holds_digest(a, &digests[*k], own, settings).is_err()) {
                return false;
            }
        }
        true
    }

    /// The annotation edits, by document index: keyseed's own annotation on every workload
    /// with references in the stream, and every annotation `rollme.replace` names.
    pub fn edits(&self, digests: &[String]) -> BTreeMap<usize, Vec<Edit>> {
        let mut by_doc: BTreeMap<usize, Vec<Edit>> = BTreeMap::new();
        for (w, digest) in self.workloads.iter().zip(digests) {
            let own = w.slot.as_ref().filter(|_| w.writes_own());
            if own.is_none() && w.replaced.is_empty() {
                continue;
            }
            let value = quote(digest);
            let edits = by_doc.entry(w.doc).or_default();
            edits.extend(own.map(|s| s.fill(&value)));
            edits.extend(w.replaced.iter().map(|s| s.fill(&value)));
        }
        by_doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(m: Mentions) -> Option<Vec<usize>> {
        match m {
            Mentions::Nothing => Some(vec![]),
            Mentions::Names(v) => Some(v),
            Mentions::Anything => None,
        }
    }

    #[test]
    fn the_name_filter_finds_whole_names_where_their_kind_can_be_read() {
        let secret = kind_bit("Secret");
        let cm = kind_bit("ConfigMap");
        let long = "a".repeat(70);
        let names = [
            ("db", secret),
            ("app-config", cm),
            ("shared", secret | cm),
            (long.as_str(), secret),
        ];
        let f = NameFilter::new(names.into_iter()).expect("plain names");
        let env = "env:\n- valueFrom:\n    secretKeyRef: {name: db, key: k}\n";
        assert_eq!(ids(f.mentions(env.as_bytes())), Some(vec![0]));
        // Inside a longer name, or only where the other kind could be read: not a mention.
        let other = "secretKeyRef: {name: db-2}\nlabels: {app-config: x}\n";
        assert_eq!(ids(f.mentions(other.as_bytes())), Some(vec![]));
        let both = "configMapRef: {name: app-config}\nsecretRef: {name: shared}\nx: db\n";
        assert_eq!(ids(f.mentions(both.as_bytes())), Some(vec![0, 1, 2]));
        // No key that reads a Secret or a ConfigMap: nothing, whatever the words.
        assert_eq!(
            ids(f.mentions(b"labels: {db: app-config, shared: x}\n")),
            Some(vec![])
        );
        // A name longer than the length table: found by its hash.
        let far = format!("secretName: {long}\n");
        assert_eq!(ids(f.mentions(far.as_bytes())), Some(vec![3]));
        // A backslash may spell a name with escapes: anything.
        assert_eq!(ids(f.mentions(b"secretKeyRef: {name: \"d\\x62\"}\n")), None);
        // A name with other bytes: no filter at all.
        assert!(NameFilter::new([("a b", secret)].into_iter()).is_none());
    }
}
