//! Rollout annotations (SPEC §8): pods restart exactly when the data they use changes.
//!
//! Every pod template of a workload kind that references a Secret or ConfigMap present in the
//! stream (`env[].valueFrom`, `envFrom`, `volumes` including projected sources, in init and
//! regular containers) gets one annotation: an HMAC-SHA256 over the referenced objects' data,
//! canonically ordered, keyed from the seed (plain SHA-256 in `check`, which has no seed).
//! Metadata, unreferenced objects and references to objects outside the stream do not count.
//! This module reads final (already injected) documents and returns edits; it never sees
//! anything but data bytes and never prints them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::edit::quote;
use crate::error::Location;
use crate::yaml::{Mapping, Node};

/// Default annotation name.
pub const DEFAULT_ANNOTATION: &str = "keyseed.io/rollme";
/// Default workload kinds.
pub const DEFAULT_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// Rollme settings.
#[derive(Debug, Clone)]
pub struct RollmeSettings {
    /// Annotation name.
    pub annotation: String,
    /// Workload kinds.
    pub kinds: Vec<String>,
}

impl RollmeSettings {
    /// The config's `rollme:` section, defaults for what it leaves out.
    pub fn from_settings(settings: &crate::settings::Settings) -> Self {
        let mut r = RollmeSettings::default();
        if let Some(c) = settings.config.as_ref().and_then(|c| c.rollme.as_ref()) {
            if let Some(a) = &c.annotation {
                r.annotation = a.clone();
            }
            if let Some(k) = &c.kinds {
                r.kinds = k.clone();
            }
        }
        r
    }
}

impl Default for RollmeSettings {
    fn default() -> Self {
        RollmeSettings {
            annotation: DEFAULT_ANNOTATION.into(),
            kinds: DEFAULT_KINDS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// An object a pod template may reference, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `Secret` or `ConfigMap`.
    pub kind: String,
    /// Namespace (the document's or the default one; empty when unknown).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// What one workload references and whether each is in the stream (for `plan`).
#[derive(Debug, Clone)]
pub struct WorkloadRefs {
    /// The workload.
    pub location: Location,
    /// Referenced objects found in the stream.
    pub found: Vec<ObjectRef>,
    /// Referenced objects not in the stream (they add nothing).
    pub missing: Vec<ObjectRef>,
}

/// The canonical data of a Secret or ConfigMap: key → bytes (Secret `data` base64-decoded
/// with `stringData` merged over it, as the API server does; ConfigMap `data` and decoded
/// `binaryData`).
pub fn object_data(obj: &Node) -> BTreeMap<String, Vec<u8>> {
    crate::inject::data_entries(obj)
        .into_iter()
        .map(|e| {
            (
                e.key.to_string(),
                e.bytes.unwrap_or_else(|| e.raw.as_bytes().to_vec()),
            )
        })
        .collect()
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

/// HMAC-SHA256 with the seed-derived key, or SHA-256 when there is no seed; lowercase hex.
pub fn digest(key: Option<&[u8]>, msg: &[u8]) -> String {
    match key {
        Some(k) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("any key length");
            mac.update(msg);
            crate::derive::hex(&mac.finalize().into_bytes())
        }
        None => crate::derive::hex(&Sha256::digest(msg)),
    }
}

/// The pod template mapping of a workload, by kind.
pub fn pod_template(obj: &Node) -> Option<&Node> {
    let spec = obj.get("spec")?;
    match obj.get_str("kind")? {
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template"),
        _ => spec.get("template"),
    }
}

/// Every Secret/ConfigMap a pod spec references, by (kind, name).
pub fn references(pod_spec: &Node) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut add = |kind: &str, n: Option<&str>| {
        if let Some(n) = n.filter(|n| !n.is_empty()) {
            out.insert((kind.to_string(), n.to_string()));
        }
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(Node::Seq(cs)) = pod_spec.get(list) else {
            continue;
        };
        for c in &cs.items {
            if let Some(Node::Seq(env)) = c.get("env") {
                for e in &env.items {
                    if let Some(vf) = e.get("valueFrom") {
                        add(
                            "Secret",
                            vf.get("secretKeyRef").and_then(|r| r.get_str("name")),
                        );
                        add(
                            "ConfigMap",
                            vf.get("configMapKeyRef").and_then(|r| r.get_str("name")),
                        );
                    }
                }
            }
            if let Some(Node::Seq(ef)) = c.get("envFrom") {
                for e in &ef.items {
                    add("Secret", e.get("secretRef").and_then(|r| r.get_str("name")));
                    add(
                        "ConfigMap",
                        e.get("configMapRef").and_then(|r| r.get_str("name")),
                    );
                }
            }
        }
    }
    if let Some(Node::Seq(vols)) = pod_spec.get("volumes") {
        for v in &vols.items {
            add(
                "Secret",
                v.get("secret").and_then(|s| s.get_str("secretName")),
            );
            add(
                "ConfigMap",
                v.get("configMap").and_then(|s| s.get_str("name")),
            );
            if let Some(Node::Seq(srcs)) = v.get("projected").and_then(|p| p.get("sources")) {
                for s in &srcs.items {
                    add("Secret", s.get("secret").and_then(|x| x.get_str("name")));
                    add(
                        "ConfigMap",
                        s.get("configMap").and_then(|x| x.get_str("name")),
                    );
                }
            }
        }
    }
    out
}

/// An edit setting `annotation: value` in a pod template (replacing an existing value,
/// adding `annotations:` or `metadata:` as needed).
pub fn annotate(
    text: &str,
    template: &Node,
    annotation: &str,
    value: &str,
) -> Option<(Range<usize>, String)> {
    let Node::Map(tmap) = template else {
        return None;
    };
    let meta = template.get("metadata");
    if let Some(Node::Map(_)) = meta {
        let meta = meta.expect("checked");
        if let Some(ann) = meta.get("annotations") {
            match ann {
                Node::Map(am) => {
                    // Replace an existing value, else insert.
                    for (k, v) in &am.entries {
                        if k.scalar().is_some_and(|s| s.value == annotation) {
                            return Some((v.span(), quote(value)));
                        }
                    }
                    return Some(insert_entry(text, am, annotation, &quote(value)));
                }
                Node::Scalar(s) if s.value.is_empty() || s.value == "null" || s.value == "~" => {
                    // `annotations:` with no value.
                    let flow = format!("{{{}: {}}}", quote(annotation), quote(value));
                    let Node::Map(mm) = meta else { return None };
                    let (k, _) = mm
                        .entries
                        .iter()
                        .find(|(k, _)| k.scalar().is_some_and(|s| s.value == "annotations"))?;
                    let start = k.span().end + text[k.span().end..].find(':')? + 1;
                    return Some((start..s.span.end.max(start), format!(" {flow}")));
                }
                _ => return None,
            }
        }
        let Node::Map(mm) = meta else { return None };
        let flow = format!("{{{}: {}}}", quote(annotation), quote(value));
        return Some(insert_entry(text, mm, "annotations", &flow));
    }
    let flow = format!(
        "{{\"annotations\": {{{}: {}}}}}",
        quote(annotation),
        quote(value)
    );
    Some(insert_entry(text, tmap, "metadata", &flow))
}

/// Inserts `key: raw` as the first entry of a mapping (see [`crate::edit::insert_entries`]).
pub fn insert_entry(text: &str, m: &Mapping, key: &str, raw: &str) -> (Range<usize>, String) {
    crate::edit::insert_entries(text, m, &[(key.to_string(), raw.to_string())])
}

/// The derivation format whose `okm(32)` (id empty, gen 0) keys the rollme HMAC.
pub const KEY_FORMAT: &str = "rollme";

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
    /// The annotation edit: its range and the text around the value.
    edit: Option<(Range<usize>, String, String)>,
}

/// Workloads, their references, and the digest of every referenced object in the stream.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Every workload that references at least one Secret or ConfigMap.
    pub workloads: Vec<Workload>,
    objects: BTreeMap<ObjectRef, [u8; 32]>,
}

fn namespace_of(obj: &Node, default_ns: Option<&str>) -> String {
    obj.get("metadata")
        .and_then(|m| m.get_str("namespace"))
        .or(default_ns)
        .unwrap_or("")
        .to_string()
}

/// SHA-256 of one object's canonical data (see [`canonical`]); never leaves the process.
fn object_digest(r: &ObjectRef, data: BTreeMap<String, Vec<u8>>) -> [u8; 32] {
    let mut m = BTreeMap::new();
    m.insert(r.clone(), data);
    Sha256::digest(canonical(&m, std::slice::from_ref(r))).into()
}

/// Runs `f` over `items` on up to `available_parallelism` threads (documents are
/// independent), keeping the order. Small inputs run on the calling thread.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let total: usize = items.iter().map(&weight).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || total < 32 * 1024 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|sc| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| sc.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

fn workloads_of(
    i: usize,
    t: &[u8],
    ns_default: Option<&str>,
    settings: &RollmeSettings,
) -> Vec<Workload> {
    let Ok(text) = std::str::from_utf8(t) else {
        return vec![];
    };
    let Ok(roots) = crate::yaml::parse(text) else {
        return vec![];
    };
    let mut out = Vec::new();
    for obj in crate::inject::resources(&roots) {
        let kind = obj.get_str("kind").unwrap_or("");
        if !settings.kinds.iter().any(|k| k == kind) {
            continue;
        }
        let Some(template) = pod_template(obj) else {
            continue;
        };
        let Some(spec) = template.get("spec") else {
            continue;
        };
        let ns = namespace_of(obj, ns_default);
        let refs: Vec<ObjectRef> = references(spec)
            .into_iter()
            .map(|(kind, name)| ObjectRef {
                kind,
                namespace: ns.clone(),
                name,
            })
            .collect();
        if refs.is_empty() {
            continue;
        }
        // The edit is prepared now with a marker where the value goes, so the document is
        // parsed once.
        let edit = annotate(text, template, &settings.annotation, "\u{1}").and_then(|(r, t)| {
            let (pre, post) = t.split_once("\\u0001")?;
            Some((r, pre.to_string(), post.to_string()))
        });
        out.push(Workload {
            doc: i,
            location: crate::inject::document_location(i + 1, text, std::slice::from_ref(obj)),
            found: refs,
            missing: Vec::new(),
            edit,
        });
    }
    out
}

fn objects_of(
    t: &[u8],
    ns_default: Option<&str>,
    wanted: &BTreeSet<ObjectRef>,
) -> Vec<(ObjectRef, [u8; 32])> {
    let Some(Ok(roots)) = std::str::from_utf8(t).ok().map(crate::yaml::parse) else {
        return vec![];
    };
    let mut out = Vec::new();
    for obj in crate::inject::resources(&roots) {
        let kind = obj.get_str("kind").unwrap_or("");
        if kind != "Secret" && kind != "ConfigMap" {
            continue;
        }
        let Some(name) = obj.get("metadata").and_then(|m| m.get_str("name")) else {
            continue;
        };
        let r = ObjectRef {
            kind: kind.into(),
            namespace: namespace_of(obj, ns_default),
            name: name.into(),
        };
        if wanted.contains(&r) {
            let d = object_digest(&r, object_data(obj));
            out.push((r, d));
        }
    }
    out
}

/// Finds workloads and the objects they reference in the final documents.
pub fn analyze(
    texts: &[&[u8]],
    ctx: &crate::inject::PlanContext,
    settings: &RollmeSettings,
) -> Analysis {
    let mut a = Analysis::default();
    if settings.kinds.is_empty() {
        return a;
    }
    let ns_default = ctx.namespace.as_deref();
    let candidates: Vec<(usize, &[u8])> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            let kind_hit = match crate::stream::top_level_kind(t) {
                Some(kind) => settings.kinds.iter().any(|k| k == kind),
                None => settings
                    .kinds
                    .iter()
                    .any(|k| memchr::memmem::find(t, k.as_bytes()).is_some()),
            };
            kind_hit
                && REF_WORDS
                    .iter()
                    .any(|w| memchr::memmem::find(t, w).is_some())
        })
        .map(|(i, t)| (i, *t))
        .collect();
    a.workloads = par_map(
        &candidates,
        |c| c.1.len(),
        |(i, t)| workloads_of(*i, t, ns_default, settings),
    )
    .into_iter()
    .flatten()
    .collect();
    let wanted: BTreeSet<ObjectRef> = a
        .workloads
        .iter()
        .flat_map(|w| w.found.iter().cloned())
        .collect();
    if wanted.is_empty() {
        return a;
    }
    let objects: Vec<&[u8]> = texts
        .iter()
        .filter(|t| match crate::stream::top_level_kind(t) {
            Some(kind) => kind == "Secret" || kind == "ConfigMap",
            None => {
                memchr::memmem::find(t, b"Secret").is_some()
                    || memchr::memmem::find(t, b"ConfigMap").is_some()
            }
        })
        .copied()
        .collect();
    for found in par_map(
        &objects,
        |t| t.len(),
        |t| objects_of(t, ns_default, &wanted),
    ) {
        for (r, d) in found {
            // The same object twice (a Helm 4 hook and a template): both count, in order.
            let combined = match a.objects.get(&r) {
                Some(prev) => Sha256::digest([prev.as_slice(), d.as_slice()].concat()).into(),
                None => d,
            };
            a.objects.insert(r, combined);
        }
    }
    for w in &mut a.workloads {
        let (found, missing): (Vec<_>, Vec<_>) =
            w.found.drain(..).partition(|r| a.objects.contains_key(r));
        w.found = found;
        w.missing = missing;
    }
    a
}

impl Analysis {
    /// Whether any workload gets an annotation (so the seed-derived key is needed).
    pub fn needs_key(&self) -> bool {
        self.workloads.iter().any(|w| !w.found.is_empty())
    }

    /// The annotation value of a workload: HMAC-SHA256 (or SHA-256 without a key) over
    /// `"keyseed/v1/rollme\0"` followed by the digest of each referenced object in
    /// (kind, namespace, name) order.
    pub fn value(&self, w: &Workload, key: Option<&[u8]>) -> Option<String> {
        if w.found.is_empty() {
            return None;
        }
        let mut msg = b"keyseed/v1/rollme\0".to_vec();
        for r in &w.found {
            msg.extend_from_slice(&self.objects[r]);
        }
        Some(digest(key, &msg))
    }

    /// Annotated documents: (index, new bytes) for every document holding a workload with
    /// references in the stream.
    pub fn annotate(
        &self,
        texts: &[&[u8]],
        key: Option<&[u8]>,
    ) -> Vec<(usize, crate::secret::SecretBytes)> {
        let mut by_doc: BTreeMap<usize, Vec<crate::edit::Edit>> = BTreeMap::new();
        for w in self.workloads.iter().filter(|w| !w.found.is_empty()) {
            let Some((range, pre, post)) = &w.edit else {
                continue;
            };
            let value = self.value(w, key).expect("found refs");
            by_doc.entry(w.doc).or_default().push(crate::edit::Edit {
                range: range.clone(),
                text: crate::secret::SecretValue::new(format!("{pre}{value}{post}")),
            });
        }
        by_doc
            .into_iter()
            .map(|(doc, mut edits)| (doc, crate::edit::apply(texts[doc], &mut edits)))
            .collect()
    }
}
