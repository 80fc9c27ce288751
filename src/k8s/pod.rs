//! Pod templates and what they reference: the template of each workload kind, and every
//! Secret and ConfigMap a pod spec names (`env[].valueFrom`, `envFrom`, volumes including
//! projected sources, in init, regular and ephemeral containers).

use std::collections::BTreeSet;

use crate::manifest::yaml::{Node, Sequence};

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
