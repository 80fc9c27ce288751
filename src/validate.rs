//! Validation of the final documents: TLS material (SPEC §7: every `kubernetes.io/tls` Secret
//! and every Secret key holding PEM certificates, checked with [`crate::tls`], and every
//! Ingress and Gateway host against the leaf of the Secret it names), Kubernetes' Secret
//! limits, and no `<keyseed:` text left behind. Collects all findings; the caller fails once.
//! Reads documents only.

use std::collections::BTreeMap;

use crate::error::{Finding, Location};
use crate::inject::{self, field_path, PlanContext};
use crate::tls::{self, Leaf, Severity, TlsFinding, TlsOptions};
use crate::yaml::{self, Node};

/// base64 of `-----BEGIN CERTIFICATE-----` (a certificate in a Secret's `data`).
const B64_CERT: &[u8] = b"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t";

/// Errors (fail the run) and warnings (stderr only).
#[derive(Debug, Default)]
pub struct TlsReport {
    /// Errors.
    pub errors: Vec<Finding>,
    /// Warnings, rendered.
    pub warnings: Vec<String>,
}

fn candidate(t: &[u8]) -> bool {
    if let Some(kind) = crate::stream::top_level_kind(t) {
        return matches!(kind, "Secret" | "Ingress" | "Gateway");
    }
    [
        b"kubernetes.io/tls".as_slice(),
        b"BEGIN CERTIFICATE",
        B64_CERT,
        b"TFMwdExTMUNSVWRKVG",
        b"Ingress",
        b"Gateway",
    ]
    .iter()
    .any(|w| memchr::memmem::find(t, w).is_some())
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

/// The values of a Secret as the workload sees them: `data` decoded, `stringData` over it.
/// Each comes with its field path.
fn secret_values(obj: &Node) -> BTreeMap<String, (String, Vec<u8>)> {
    inject::data_entries(obj)
        .into_iter()
        .filter_map(|e| Some((e.key.to_string(), (field_path(e.section, e.key), e.bytes?))))
        .collect()
}

fn push(report: &mut TlsReport, location: &Location, f: TlsFinding) {
    let finding = Finding {
        location: location.clone(),
        field: f.field,
        message: f.message,
        hint: f.hint,
    };
    match f.severity {
        Severity::Error => report.errors.push(finding),
        Severity::Warning => report.warnings.push(format!("warning: {finding}")),
    }
}

/// Validates TLS material in the final documents.
pub fn validate(texts: &[&[u8]], ctx: &PlanContext, opts: &TlsOptions) -> TlsReport {
    let mut report = TlsReport::default();
    let mut leaves: BTreeMap<(String, String), Leaf> = BTreeMap::new();
    let mut ingresses = Vec::new();
    let ns_of = |obj: &Node| {
        obj.get("metadata")
            .and_then(|m| m.get_str("namespace"))
            .map(String::from)
            .or_else(|| ctx.namespace.clone())
            .unwrap_or_default()
    };
    for (i, t) in texts.iter().enumerate() {
        if !candidate(t) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(t) else {
            continue;
        };
        let Ok(roots) = yaml::parse(text) else {
            continue;
        };
        for obj in inject::resources(&roots) {
            let location = inject::document_location(i + 1, text, std::slice::from_ref(obj));
            match obj.get_str("kind") {
                Some("Secret") => {
                    let mut out = Vec::new();
                    let values = secret_values(obj);
                    let is_tls = obj.get_str("type") == Some("kubernetes.io/tls");
                    let mut leaf = None;
                    if is_tls {
                        for k in ["tls.crt", "tls.key"] {
                            if !values.contains_key(k) {
                                out.push(TlsFinding {
                                    severity: Severity::Error,
                                    field: field_path("data", k),
                                    message: format!("a kubernetes.io/tls Secret needs `{k}`"),
                                    hint: None,
                                });
                            }
                        }
                    }
                    for (key, (field, bytes)) in &values {
                        // `check` sees placeholders where render puts values: nothing to check yet.
                        if memchr::memmem::find(bytes, crate::placeholder::PREFIX.as_bytes())
                            .is_some()
                        {
                            continue;
                        }
                        let looks_cert =
                            memchr::memmem::find(bytes, b"-----BEGIN CERTIFICATE-----").is_some()
                                || bytes.trim_ascii_start().starts_with(B64_CERT);
                        if (is_tls && key == "tls.crt") || looks_cert {
                            let bundle = is_ca_bundle_key(key) && !(is_tls && key == "tls.crt");
                            if let Some(chain) = tls::decode_certs(field, bytes, &mut out) {
                                let l = tls::check_chain(field, &chain, bundle, opts, &mut out);
                                if key == "tls.crt" || (leaf.is_none() && !bundle) {
                                    leaf = l.or(leaf);
                                }
                            }
                        }
                    }
                    if is_tls {
                        if let Some((field, bytes)) = values.get("tls.key").filter(|(_, b)| {
                            memchr::memmem::find(b, crate::placeholder::PREFIX.as_bytes()).is_none()
                        }) {
                            tls::check_key(field, bytes, leaf.as_ref(), &mut out);
                        }
                    }
                    for f in out {
                        push(&mut report, &location, f);
                    }
                    if let (Some(l), Some(name)) =
                        (leaf, obj.get("metadata").and_then(|m| m.get_str("name")))
                    {
                        leaves.insert((ns_of(obj), name.to_string()), l);
                    }
                }
                Some("Ingress") => {
                    if let Some(Node::Seq(tlss)) = obj.get("spec").and_then(|s| s.get("tls")) {
                        for (j, entry) in tlss.items.iter().enumerate() {
                            let Some(secret) = entry.get_str("secretName") else {
                                continue;
                            };
                            let Some(Node::Seq(hosts)) = entry.get("hosts") else {
                                continue;
                            };
                            for (h, host) in hosts.items.iter().enumerate() {
                                if let Some(host) = host.scalar() {
                                    ingresses.push((
                                        location.clone(),
                                        format!(".spec.tls[{j}].hosts[{h}]"),
                                        ns_of(obj),
                                        secret.to_string(),
                                        host.value.clone(),
                                    ));
                                }
                            }
                        }
                    }
                }
                Some("Gateway") => {
                    if let Some(Node::Seq(ls)) = obj.get("spec").and_then(|s| s.get("listeners")) {
                        for (j, l) in ls.items.iter().enumerate() {
                            let Some(host) = l.get_str("hostname") else {
                                continue;
                            };
                            let Some(Node::Seq(refs)) =
                                l.get("tls").and_then(|t| t.get("certificateRefs"))
                            else {
                                continue;
                            };
                            for r in &refs.items {
                                let Some(name) = r.get_str("name") else {
                                    continue;
                                };
                                let ns = r
                                    .get_str("namespace")
                                    .map(String::from)
                                    .unwrap_or_else(|| ns_of(obj));
                                ingresses.push((
                                    location.clone(),
                                    format!(".spec.listeners[{j}].hostname"),
                                    ns,
                                    name.to_string(),
                                    host.to_string(),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for (location, field, ns, secret, host) in ingresses {
        let Some(leaf) = leaves.get(&(ns.clone(), secret.clone())) else {
            continue;
        };
        if !tls::covers(leaf, &host) {
            let names = if leaf.has_san {
                leaf.dns_names.join(", ")
            } else {
                "none (no subjectAltName; clients ignore the CN)".into()
            };
            report.errors.push(Finding {
                location,
                field,
                message: format!("host `{host}` is not covered by the leaf certificate of Secret {secret} ({}); its DNS names: {names}", leaf.subject),
                hint: Some("issue the certificate for this host (wildcards cover one label: *.example.com covers a.example.com only)".into()),
            });
        }
    }
    report
}

/// After render no `<keyseed:` text may remain anywhere (comments included).
pub fn leftovers(location: &Location, doc: &[u8], findings: &mut Vec<Finding>) {
    if memchr::memmem::find(doc, crate::placeholder::PREFIX.as_bytes()).is_some() {
        findings.push(Finding {
            location: location.clone(),
            field: String::new(),
            message: "`<keyseed:` text remains after render (in a comment or a field keyseed does not fill)".into(),
            hint: Some("remove the text, or move the placeholder into a Secret's stringData/data".into()),
        });
    }
}

/// Kubernetes' limits on a Secret keyseed changed: data keys match `[-._a-zA-Z0-9]+` and the
/// data (keys plus decoded values, `stringData` included) is at most 1 MiB.
pub fn secret_limits(location: &Location, roots: &[Node], findings: &mut Vec<Finding>) {
    const MAX: usize = 1024 * 1024;
    for obj in inject::resources(roots) {
        if obj.get_str("kind") != Some("Secret") {
            continue;
        }
        let mut total = 0usize;
        for section in ["data", "stringData"] {
            let Some(Node::Map(m)) = obj.get(section) else {
                continue;
            };
            for (k, v) in &m.entries {
                let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
                if !crate::placeholder::is_key_name(key) {
                    findings.push(Finding {
                        location: location.clone(),
                        field: inject::field_path(section, key),
                        message: "a Secret data key must match [-._a-zA-Z0-9]+".into(),
                        hint: None,
                    });
                }
                let value = v.scalar().map(|s| s.value.as_str()).unwrap_or("");
                total += key.len()
                    + if section == "data" {
                        inject::decode_b64(value).map_or(value.len() * 3 / 4, |d| d.len())
                    } else {
                        value.len()
                    };
            }
        }
        if total > MAX {
            findings.push(Finding {
                location: location.clone(),
                field: String::new(),
                message: format!("the Secret holds {total} bytes of data; Kubernetes allows at most {MAX} (1 MiB)"),
                hint: Some("split the values over several Secrets".into()),
            });
        }
    }
}
