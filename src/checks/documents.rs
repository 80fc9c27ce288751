//! Checks of the final documents, run last over the bytes keyseed writes: TLS material
//! (every `kubernetes.io/tls` Secret and every Secret key holding PEM certificates, checked
//! with [`crate::checks::tls`], and every Ingress and Gateway host against the leaf of the
//! Secret it names), Kubernetes' limits on the Secrets keyseed changed, and no `<keyseed:`
//! text left behind. Collects every finding; the caller fails once. Reads documents only.

use std::collections::BTreeMap;

use crate::checks::tls::{self, Leaf, TlsOptions};
use crate::diag::{Finding, Location, Severity};
use crate::k8s::data::{self, decode_text};
use crate::k8s::object::{self, field_path, Context};
use crate::manifest::document::Documents;
use crate::manifest::yaml::{Anchors, Node};
use crate::placeholder::{self, PREFIX};

/// base64 of `-----BEGIN CERTIFICATE-----` (a certificate in a Secret's `data`).
const B64_CERT: &[u8] = b"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t";

/// The largest Secret Kubernetes accepts: keys plus decoded values.
pub const MAX_SECRET: usize = 1024 * 1024;

/// Whether a document may hold TLS material or a host to check (cheap byte test).
fn tls_candidate(docs: &Documents, i: usize) -> bool {
    if let Some(kind) = docs.kind(i) {
        return matches!(kind, "Secret" | "Ingress" | "Gateway");
    }
    crate::text::find_any!(
        docs.bytes(i),
        [
            b"kubernetes.io/tls".as_slice(),
            b"BEGIN CERTIFICATE",
            B64_CERT,
            b"TFMwdExTMUNSVWRKVG",
            b"Ingress",
            b"Gateway",
        ]
    )
}

/// Whether a key name is a CA bundle (unrelated CA certificates, not a chain).
fn is_ca_bundle_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "ca.crt"
        || k.starts_with("ca.")
        || k.starts_with("ca-")
        || k.contains("cabundle")
        || k.contains("ca-bundle")
        || k.contains("cacert")
        || k.starts_with("ca_")
}

/// A host that must be covered by the leaf of a Secret.
struct HostRef {
    location: Location,
    field: String,
    namespace: String,
    secret: String,
    host: String,
}

/// TLS findings (errors and warnings) over the final documents.
pub fn tls(docs: &Documents, ctx: &Context, opts: &TlsOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut leaves: BTreeMap<(String, String), Leaf> = BTreeMap::new();
    let mut hosts = Vec::new();
    let ns_default = ctx.namespace.as_deref();
    for i in 0..docs.len() {
        if !tls_candidate(docs, i) {
            continue;
        }
        let Some(roots) = docs.view(i) else { continue };
        let text = docs.text(i);
        let anchors = Anchors::new(&roots);
        for obj in object::resources(&roots) {
            let location = object::location(i + 1, text, obj, None);
            match obj.get_str("kind") {
                Some("Secret") => {
                    let mut out = Vec::new();
                    let leaf = check_secret(obj, &anchors, opts, &mut out);
                    findings.extend(out.into_iter().map(|f| Finding {
                        location: Some(location.clone()),
                        ..f
                    }));
                    if let (Some(l), Some(name)) = (leaf, object::name(obj)) {
                        let ns = object::namespace(obj, ns_default).to_string();
                        leaves.insert((ns, name.to_string()), l);
                    }
                }
                Some("Ingress") => ingress_hosts(obj, &location, ns_default, &mut hosts),
                Some("Gateway") => gateway_hosts(obj, &location, ns_default, &mut hosts),
                _ => {}
            }
        }
    }
    for h in hosts {
        let Some(leaf) = leaves.get(&(h.namespace.clone(), h.secret.clone())) else {
            continue;
        };
        if !tls::covers(leaf, &h.host) {
            let names = if leaf.has_san {
                leaf.dns_names.join(", ")
            } else {
                "none (no subjectAltName; clients ignore the CN)".into()
            };
            findings.push(Finding::error(
                &h.location,
                &h.field,
                format!("host `{}` is not covered by the leaf certificate of Secret {} ({}); its DNS names: {names}", h.host, h.secret, leaf.subject),
                Some("issue the certificate for this host (wildcards cover one label: *.example.com covers a.example.com only)".into()),
            ));
        }
    }
    findings
}

/// Checks the certificates and key of one Secret; returns its leaf.
fn check_secret<'a>(
    obj: &'a Node,
    anchors: &Anchors<'a>,
    opts: &TlsOptions,
    out: &mut Vec<Finding>,
) -> Option<Leaf> {
    // The values as the workload sees them: `data` decoded, `stringData` over it.
    let values: BTreeMap<String, (String, Vec<u8>)> = data::entries(obj, anchors)
        .into_iter()
        .filter_map(|e| Some((e.key.to_string(), (field_path(e.section, e.key), e.bytes?))))
        .collect();
    let is_tls = obj.get_str("type") == Some("kubernetes.io/tls");
    let unfilled = |b: &[u8]| crate::text::find!(b, PREFIX.as_bytes()).is_some();
    let mut leaf = None;
    if is_tls {
        for k in ["tls.crt", "tls.key"] {
            let (field, message) = match values.get(k) {
                None => (
                    field_path("data", k),
                    format!("a kubernetes.io/tls Secret needs `{k}`"),
                ),
                Some((field, b)) if b.trim_ascii().is_empty() => {
                    (field.clone(), format!("`{k}` is empty"))
                }
                Some(_) => continue,
            };
            out.push(Finding {
                severity: Severity::Error,
                location: None,
                field,
                message,
                hint: Some(
                    "supply a certificate and key (e.g. in the chart's values), or add a `certificates:` entry for this Secret to the config to have keyseed derive them"
                        .into(),
                ),
            });
        }
    }
    for (key, (field, bytes)) in &values {
        if is_tls && bytes.trim_ascii().is_empty() {
            continue; // reported above
        }
        // `check` sees placeholders where render puts values: nothing to check yet.
        if unfilled(bytes) {
            continue;
        }
        let looks_cert = crate::text::find!(bytes, b"-----BEGIN CERTIFICATE-----").is_some()
            || bytes.trim_ascii_start().starts_with(B64_CERT);
        if (is_tls && key == "tls.crt") || looks_cert {
            let bundle = is_ca_bundle_key(key) && !(is_tls && key == "tls.crt");
            if let Some(chain) = tls::decode_certs(field, bytes, out) {
                let l = tls::check_chain(field, &chain, bundle, opts, out);
                if key == "tls.crt" || (leaf.is_none() && !bundle) {
                    leaf = l.or(leaf);
                }
            }
        }
    }
    if is_tls {
        if let Some((field, bytes)) = values
            .get("tls.key")
            .filter(|(_, b)| !unfilled(b) && !b.trim_ascii().is_empty())
        {
            tls::check_key(field, bytes, leaf.as_ref(), out);
        }
    }
    leaf
}

/// The hosts of an Ingress's `spec.tls` entries.
fn ingress_hosts(obj: &Node, location: &Location, ns: Option<&str>, out: &mut Vec<HostRef>) {
    let Some(Node::Seq(tlss)) = obj.get("spec").and_then(|s| s.get("tls")) else {
        return;
    };
    for (j, entry) in tlss.items.iter().enumerate() {
        let Some(secret) = entry.get_str("secretName") else {
            continue;
        };
        let Some(Node::Seq(hosts)) = entry.get("hosts") else {
            continue;
        };
        for (h, host) in hosts.items.iter().enumerate() {
            if let Some(host) = host.scalar() {
                out.push(HostRef {
                    location: location.clone(),
                    field: format!(".spec.tls[{j}].hosts[{h}]"),
                    namespace: object::namespace(obj, ns).to_string(),
                    secret: secret.to_string(),
                    host: host.value.clone(),
                });
            }
        }
    }
}

/// The hostnames of a Gateway's listeners with certificate references.
fn gateway_hosts(obj: &Node, location: &Location, ns: Option<&str>, out: &mut Vec<HostRef>) {
    let Some(Node::Seq(ls)) = obj.get("spec").and_then(|s| s.get("listeners")) else {
        return;
    };
    for (j, l) in ls.items.iter().enumerate() {
        let Some(host) = l.get_str("hostname") else {
            continue;
        };
        let Some(Node::Seq(refs)) = l.get("tls").and_then(|t| t.get("certificateRefs")) else {
            continue;
        };
        for r in &refs.items {
            let Some(name) = r.get_str("name") else {
                continue;
            };
            out.push(HostRef {
                location: location.clone(),
                field: format!(".spec.listeners[{j}].hostname"),
                namespace: r
                    .get_str("namespace")
                    .unwrap_or_else(|| object::namespace(obj, ns))
                    .to_string(),
                secret: name.to_string(),
                host: host.to_string(),
            });
        }
    }
}

/// Whether `<keyseed:` text remains in a document (comments included): after render none
/// may.
pub fn has_leftover(doc: &[u8]) -> bool {
    crate::text::find!(doc, PREFIX.as_bytes()).is_some()
}

/// The finding for a document with [`has_leftover`].
pub fn leftover(location: &Location) -> Finding {
    Finding::error(
        location,
        "",
        "`<keyseed:` text remains after render (in a comment or a field keyseed does not fill)"
            .into(),
        Some("remove the text, or move the placeholder into a Secret's stringData/data".into()),
    )
}

/// Kubernetes' limits on a Secret keyseed changed: data keys match `[-._a-zA-Z0-9]+` and the
/// data (keys plus decoded values, `stringData` included) is at most 1 MiB. `expanded` maps a
/// key still written as a template (`encryption-key-{gen}`, before render) to the keys render
/// writes for it; those are the names checked.
pub fn secret_limits(
    number: usize,
    text: &str,
    roots: &[Node],
    expanded: &BTreeMap<String, Vec<String>>,
    findings: &mut Vec<Finding>,
) {
    for obj in object::resources(roots) {
        if obj.get_str("kind") != Some("Secret") {
            continue;
        }
        let location = object::location(number, text, obj, None);
        let mut total = 0usize;
        for section in ["data", "stringData"] {
            let Some(Node::Map(m)) = obj.get(section) else {
                continue;
            };
            for (k, v) in &m.entries {
                let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
                let valid = match expanded.get(key) {
                    Some(names) => names.iter().all(|n| placeholder::is_key_name(n)),
                    None => placeholder::is_key_name(key),
                };
                if !valid {
                    findings.push(Finding::error(
                        &location,
                        &field_path(section, key),
                        "a Secret data key must match [-._a-zA-Z0-9]+".into(),
                        None,
                    ));
                }
                let value = v.scalar().map(|s| s.value.as_str()).unwrap_or("");
                total += key.len()
                    + if section == "data" {
                        decode_text(value).map_or(value.len() * 3 / 4, |d| d.len())
                    } else {
                        value.len()
                    };
            }
        }
        if total > MAX_SECRET {
            findings.push(Finding::error(
                &location,
                "",
                format!("the Secret holds {total} bytes of data; Kubernetes allows at most {MAX_SECRET} (1 MiB)"),
                Some("split the values over several Secrets".into()),
            ));
        }
    }
}
