//! Pod templates and what they reference: the template of each workload kind, and every
//! Secret and ConfigMap a pod spec names (`env[].valueFrom`, `envFrom`, volumes including
//! projected sources, in init, regular and ephemeral containers).

use std::collections::BTreeSet;

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

/// Every Secret/ConfigMap a pod spec references, by (kind, name), read as Kubernetes reads
/// YAML 1.1: aliases and merge keys resolved through the document's `anchors`.
pub fn references<'a>(pod_spec: &'a Node, anchors: &Anchors<'a>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut add = |kind: &str, n: Option<&str>| {
        if let Some(n) = n.filter(|n| !n.is_empty()) {
            out.insert((kind.to_string(), n.to_string()));
        }
    };
    let get = |n: &'a Node, k: &str| anchors.get(n, k);
    let name = |n: Option<&'a Node>, k: &str| n.and_then(|n| anchors.get_str(n, k));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in anchors.items(get(pod_spec, list)) {
            for e in anchors.items(get(c, "env")) {
                if let Some(vf) = get(e, "valueFrom") {
                    add("Secret", name(get(vf, "secretKeyRef"), "name"));
                    add("ConfigMap", name(get(vf, "configMapKeyRef"), "name"));
                }
            }
            for e in anchors.items(get(c, "envFrom")) {
                add("Secret", name(get(e, "secretRef"), "name"));
                add("ConfigMap", name(get(e, "configMapRef"), "name"));
            }
        }
    }
    for v in anchors.items(get(pod_spec, "volumes")) {
        add("Secret", name(get(v, "secret"), "secretName"));
        add("ConfigMap", name(get(v, "configMap"), "name"));
        let sources = get(v, "projected").and_then(|p| get(p, "sources"));
        for s in anchors.items(sources) {
            add("Secret", name(get(s, "secret"), "name"));
            add("ConfigMap", name(get(s, "configMap"), "name"));
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
