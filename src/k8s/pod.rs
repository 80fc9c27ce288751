//! Pod templates and what they reference: the template of each workload kind, and every
//! Secret and ConfigMap a pod spec names (`env[].valueFrom`, `envFrom`, volumes including
//! projected sources, in init, regular and ephemeral containers), and which of its keys it
//! reads.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::yaml::{Anchors, Node, Sequence};

/// The workload kinds whose pod templates keyseed annotates by default.
pub const WORKLOAD_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// The pod template mapping of a workload, by kind.
pub fn pod_template(obj: &Node) -> Option<&Node> {
    let spec = obj.get("spec")?;
    match obj.get_str("kind")? {
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template"),
        _ => spec.get("template"),
    }
}

/// What a pod reads of one Secret or ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// Every key (`envFrom`, a volume without `items:`).
    Whole,
    /// Only these keys (`secretKeyRef`/`configMapKeyRef`, a volume's `items:`).
    Keys(BTreeSet<String>),
}

impl Reads {
    /// Both readings together: a whole reading absorbs any keys.
    fn merge(&mut self, other: Reads) {
        match (&mut *self, other) {
            (Reads::Whole, _) => {}
            (_, Reads::Whole) => *self = Reads::Whole,
            (Reads::Keys(a), Reads::Keys(b)) => a.extend(b),
        }
    }
}

/// Every Secret/ConfigMap a pod spec references, by (kind, name), with what it reads of
/// each, read as Kubernetes reads YAML 1.1: aliases and merge keys resolved through the
/// document's `anchors`. A reference whose keys cannot be read (a `secretKeyRef` without
/// `key`, an `items:` entry without one) reads the whole object, so nothing it might use
/// is missed.
pub fn references<'a>(
    pod_spec: &'a Node,
    anchors: &Anchors<'a>,
) -> BTreeMap<(String, String), Reads> {
    let mut out: BTreeMap<(String, String), Reads> = BTreeMap::new();
    let mut add = |kind: &str, n: Option<&str>, reads: Reads| {
        if let Some(n) = n.filter(|n| !n.is_empty()) {
            match out.entry((kind.to_string(), n.to_string())) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(reads);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(reads),
            }
        }
    };
    let get = |n: &'a Node, k: &str| anchors.get(n, k);
    let name = |n: Option<&'a Node>, k: &str| n.and_then(|n| anchors.get_str(n, k));
    // One key (`secretKeyRef.key`), or the whole object when it has none.
    let one = |r: Option<&'a Node>| match r.and_then(|r| anchors.get_str(r, "key")) {
        Some(k) => Reads::Keys(BTreeSet::from([k.to_string()])),
        None => Reads::Whole,
    };
    // A volume source's `items:` keys, or the whole object without `items:`.
    let items = |src: Option<&'a Node>| {
        let Some(list) = src.and_then(|s| get(s, "items")) else {
            return Reads::Whole;
        };
        let mut keys = BTreeSet::new();
        for it in anchors.items(Some(list)) {
            match anchors.get_str(it, "key") {
                Some(k) => keys.insert(k.to_string()),
                None => return Reads::Whole,
            };
        }
        // `items: []` projects every key, as no `items:` does.
        if keys.is_empty() {
            Reads::Whole
        } else {
            Reads::Keys(keys)
        }
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in anchors.items(get(pod_spec, list)) {
            for e in anchors.items(get(c, "env")) {
                if let Some(vf) = get(e, "valueFrom") {
                    let s = get(vf, "secretKeyRef");
                    add("Secret", name(s, "name"), one(s));
                    let m = get(vf, "configMapKeyRef");
                    add("ConfigMap", name(m, "name"), one(m));
                }
            }
            for e in anchors.items(get(c, "envFrom")) {
                add("Secret", name(get(e, "secretRef"), "name"), Reads::Whole);
                add(
                    "ConfigMap",
                    name(get(e, "configMapRef"), "name"),
                    Reads::Whole,
                );
            }
        }
    }
    for v in anchors.items(get(pod_spec, "volumes")) {
        let s = get(v, "secret");
        add("Secret", name(s, "secretName"), items(s));
        let m = get(v, "configMap");
        add("ConfigMap", name(m, "name"), items(m));
        let sources = get(v, "projected").and_then(|p| get(p, "sources"));
        for src in anchors.items(sources) {
            let s = get(src, "secret");
            add("Secret", name(s, "name"), items(s));
            let m = get(src, "configMap");
            add("ConfigMap", name(m, "name"), items(m));
        }
    }
    out
}

/// Every `items:` list of a pod spec's Secret volumes and projected Secret sources, with the
/// Secret's name.
pub fn secret_items(pod_spec: &Node) -> Vec<(&str, &Sequence)> {
    let mut out = Vec::new();
    let Some(Node::Seq(vols)) = pod_spec.get("volumes") else {
        return out;
    };
    for v in &vols.items {
        if let Some(s) = v.get("secret") {
            if let (Some(name), Some(Node::Seq(items))) = (s.get_str("secretName"), s.get("items"))
            {
                out.push((name, items));
            }
        }
        if let Some(Node::Seq(srcs)) = v.get("projected").and_then(|p| p.get("sources")) {
            for src in &srcs.items {
                if let Some(s) = src.get("secret") {
                    if let (Some(name), Some(Node::Seq(items))) =
                        (s.get_str("name"), s.get("items"))
                    {
                        out.push((name, items));
                    }
                }
            }
        }
    }
    out
}
