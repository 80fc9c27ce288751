//! Applying `keyseed.yaml` to the stream, before planning: each `secrets:` entry (and the
//! Secret of each `certificates:` entry) must match exactly one Secret, whose keys then get
//! the entry's placeholders (replacing whatever the chart wrote; missing keys are inserted),
//! or, with `create: true` and no match, becomes a new Secret document. The ordinary planner
//! then fills them, so config-driven and chart-driven placeholders behave identically.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use crate::config::schema::{Config, SecretEntry, CA_BUNDLE_KINDS};
use crate::diag::{Finding, Location};
use crate::k8s::object::{self, Context, HELM4_FILENAME};
use crate::manifest::document::{Documents, EditError};
use crate::manifest::edit::{self, quote, Edit};
use crate::manifest::yaml::{Anchors, Mapping, Node, Scalar};
use crate::placeholder::{self, placeholder_text, Placeholder};

/// Applies the config's `secrets:` to the stream. Returns the findings (an entry that
/// matches nothing or several Secrets); an edit that does not parse is an internal error.
/// A key an entry added to a Secret that did not have it: (namespace, Secret, key, where).
pub type Inserted = (String, String, String, Location);

pub fn apply(
    docs: &mut Documents,
    config: &Config,
    config_path: &Path,
    ctx: &Context,
    inserted: &mut Vec<Inserted>,
) -> Result<Vec<Finding>, EditError> {
    let entries = &config.secrets;
    let mut findings = Vec::new();
    if entries.is_empty() {
        return Ok(findings);
    }
    let mut matches: Vec<Vec<Location>> = vec![Vec::new(); entries.len()];
    // Secrets of an entry's name in another namespace (or none): near misses, for the hint.
    let mut elsewhere: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
    for i in 0..docs.len() {
        if !candidate(docs.bytes(i), entries) {
            continue;
        }
        docs.tree(i);
        let (text, Some(Ok(roots))) = (docs.text(i), docs.kept_tree(i)) else {
            continue; // the planner reports a document that does not parse
        };
        let mut edits = Vec::new();
        let mut intended: Vec<Intended> = Vec::new();
        for obj in object::resources(roots) {
            if !object::is_core_secret(obj) {
                continue;
            }
            let ns = object::namespace(obj, ctx.namespace.as_deref());
            let name = object::name(obj);
            for (j, e) in entries.iter().enumerate() {
                let ns_ok = e.namespace.as_deref().is_none_or(|n| n == ns);
                if name == Some(e.name.as_str()) && !ns_ok {
                    elsewhere[j].push(object::namespace(obj, None).to_string());
                }
                if name == Some(e.name.as_str()) && ns_ok {
                    let location = object::location(i + 1, text, obj, None);
                    let pairs = entry_pairs(e, ctx);
                    findings.extend(anchored_values(&location, obj, &pairs));
                    for (k, _) in &pairs {
                        if entry(obj.get("stringData"), k).is_none()
                            && entry(obj.get("data"), k).is_none()
                        {
                            inserted.push((
                                ns.to_string(),
                                e.name.clone(),
                                k.clone(),
                                location.clone(),
                            ));
                        }
                    }
                    edits.extend(patch_secret(text, obj, &pairs));
                    matches[j].push(location);
                    intended.push((ns.to_string(), e.name.clone(), pairs));
                }
            }
        }
        if edits.is_empty() {
            continue;
        }
        docs.apply_checked(i, edits, |roots| verify(i, roots, &intended, ctx))?;
    }
    let helm4 = memchr::memmem::find(docs.input(), HELM4_FILENAME.as_bytes()).is_some();
    // Every Secret name of the stream, for "did you mean" (read only when an entry missed).
    let names: std::collections::BTreeSet<String> = if matches.iter().any(Vec::is_empty) {
        secret_names(docs)
    } else {
        Default::default()
    };
    for (j, e) in entries.iter().enumerate() {
        let at = format!(
            "{} {} ({}{})",
            config_path.display(),
            e.origin.clone().unwrap_or_else(|| format!("secrets[{j}]")),
            e.namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            e.name
        );
        let hint = Some(format!(
            "fix the name in {}, or set `create: true` to have keyseed add the Secret",
            config_path.display()
        ));
        match (matches[j].len(), e.create) {
            (1, _) => {}
            (0, true) => {
                if !create(docs, e, &entry_pairs(e, ctx), ctx, helm4)? {
                    findings.push(Finding::about_file(
                        format!("{at}: cannot add a Secret to this ResourceList's `items`"),
                        None,
                    ));
                }
            }
            (0, false) => {
                let wanted = e.namespace.as_deref().unwrap_or_default();
                // The chart sets no namespace (Helm passes none to a post-renderer).
                let hint = if elsewhere[j].iter().any(String::is_empty) {
                    Some(format!(
                        "the stream has a Secret `{}` without `metadata.namespace`; pass `--namespace {wanted}` (or set KEYSEED_NAMESPACE) so it counts as `{wanted}`, or drop `namespace:` from the entry",
                        e.name
                    ))
                } else if let Some(ns) = elsewhere[j].first() {
                    Some(format!(
                        "the stream has a Secret `{}` in namespace `{ns}`; fix `namespace:` in {}",
                        e.name,
                        config_path.display()
                    ))
                } else if let Some(close) = did_you_mean(&e.name, &names) {
                    Some(format!(
                        "did you mean `{close}`? fix the name in {}",
                        config_path.display()
                    ))
                } else {
                    Some(format!(
                        "fix the name in {}, or set `create: true` to have keyseed add the Secret. Under Helm 3 a hook Secret (`helm.sh/hook`) never reaches a post-renderer, so an entry naming one matches nothing there: `helm keyseed install|upgrade` says which hooks, and Helm 4's post-renderer plugin or the values route (`-f keyseed://…`) fill them",
                        config_path.display()
                    ))
                };
                findings.push(Finding::about_file(
                    format!(
                        "{at} matches no Secret in the stream{}",
                        match &ctx.namespace {
                            Some(ns) => format!(" (documents without a namespace count as `{ns}`)"),
                            None => String::new(),
                        }
                    ),
                    hint,
                ))
            }
            (n, _) => findings.push(Finding::about_file(
                format!(
                    "{at} matches {n} Secrets ({}); add `namespace:` to the entry to pick one",
                    matches[j]
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint,
            )),
        }
    }
    Ok(findings)
}

/// Sets what `ca-bundles:` names to `<keyseed:ca:ID>`: every `caBundle` of the objects it
/// names, the ConfigMap keys of `config-maps:` and the `value` of every container env
/// variable of `env:` (the planner fills them: base64 for a `caBundle`, the PEM elsewhere).
/// A pattern that matches nothing is a finding (typo safety).
pub fn apply_ca_bundles(
    docs: &mut Documents,
    config: &Config,
    config_path: &Path,
) -> Result<Vec<Finding>, EditError> {
    let mut findings = Vec::new();
    let bundles = &config.ca_bundles;
    if bundles.is_empty() {
        return Ok(findings);
    }
    // One flag per pattern: objects, then config-maps, then env, per entry.
    let targets =
        |b: &crate::config::schema::CaBundles| b.objects.len() + b.config_maps.len() + b.env.len();
    let mut matched: Vec<Vec<bool>> = bundles.iter().map(|b| vec![false; targets(b)]).collect();
    for i in 0..docs.len() {
        let bytes = docs.bytes(i);
        let has = |w: &str| memchr::memmem::find(bytes, w.as_bytes()).is_some();
        let wanted = bundles.iter().any(|b| {
            (!b.objects.is_empty() && CA_BUNDLE_KINDS.iter().any(|k| has(k)))
                || (!b.config_maps.is_empty() && has("ConfigMap"))
                || b.env.iter().any(|e| has(e))
        });
        if !wanted {
            continue;
        }
        docs.tree(i);
        let (text, Some(Ok(roots))) = (docs.text(i), docs.kept_tree(i)) else {
            continue;
        };
        let mut edits = Vec::new();
        for obj in object::resources(roots) {
            let (Some(kind), Some(name)) = (obj.get_str("kind"), object::name(obj)) else {
                continue;
            };
            for (j, b) in bundles.iter().enumerate() {
                let raw = quote(&format!("{}ca:{}>", placeholder::PREFIX, b.ca));
                for (p, pattern) in b.objects.iter().enumerate() {
                    let Some((k, n)) = pattern.split_once('/') else {
                        continue;
                    };
                    if k == kind && object::glob(n, name) {
                        matched[j][p] = true;
                        edits.extend(ca_bundle_edits(text, obj, &raw));
                    }
                }
                let base = b.objects.len();
                for (p, pattern) in b.config_maps.iter().enumerate() {
                    let Some((n, key)) = pattern.split_once('/') else {
                        continue;
                    };
                    if kind == "ConfigMap" && object::glob(n, name) {
                        matched[j][base + p] = true;
                        edits.extend(config_map_edit(text, obj, key, &raw));
                    }
                }
                let base = base + b.config_maps.len();
                for (p, var) in b.env.iter().enumerate() {
                    let e = env_edits(text, obj, var, &raw);
                    if !e.is_empty() {
                        matched[j][base + p] = true;
                        edits.extend(e);
                    }
                }
            }
        }
        docs.apply(i, edits)?;
    }
    for (j, b) in bundles.iter().enumerate() {
        let patterns = b
            .objects
            .iter()
            .map(|o| (o.clone(), "no object"))
            .chain(b.config_maps.iter().map(|c| (c.clone(), "no ConfigMap")))
            .chain(b.env.iter().map(|e| {
                (
                    e.clone(),
                    "no container env variable with a `value` in any pod template",
                )
            }));
        for (p, (pattern, what)) in patterns.enumerate() {
            if !matched[j][p] {
                findings.push(Finding::about_file(
                    format!(
                        "{} ca-bundles[{j}] ({}): `{pattern}` matches {what} in the stream",
                        config_path.display(),
                        b.ca
                    ),
                    Some(format!("fix the pattern in {}", config_path.display())),
                ));
            }
        }
    }
    Ok(findings)
}

/// The edit setting ConfigMap key `key` of `obj` to `raw`: replaced in `data` when present,
/// else inserted into `data` (added when missing).
fn config_map_edit(text: &str, obj: &Node, key: &str, raw: &str) -> Option<Edit> {
    if let Some((k, v)) = entry(obj.get("data"), key) {
        return Some(edit::value_slot(text, k, v).fill(raw));
    }
    let Node::Map(root) = obj else { return None };
    match obj.get("data") {
        Some(Node::Map(m)) => Some(edit::insert_entries(
            text,
            m,
            &[(key.to_string(), raw.to_string())],
        )),
        Some(_) => match entry(Some(obj), "data") {
            Some((ks, v @ Node::Scalar(s))) if s.is_null() => {
                Some(edit::value_slot(text, ks, v).fill(&format!("{{{}: {raw}}}", quote(key))))
            }
            _ => None,
        },
        None => Some(edit::insert_entries(
            text,
            root,
            &[("data".to_string(), format!("{{{}: {raw}}}", quote(key)))],
        )),
    }
}

/// Edits setting the `value` of every env variable `var` of the containers of `obj`'s pod
/// template to `raw`. A variable read `valueFrom` somewhere else is left alone.
fn env_edits(text: &str, obj: &Node, var: &str, raw: &str) -> Vec<Edit> {
    let mut out = Vec::new();
    let Some(spec) = crate::k8s::pod::pod_template(obj).and_then(|t| t.get("spec")) else {
        return out;
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(Node::Seq(cs)) = spec.get(list) else {
            continue;
        };
        for c in &cs.items {
            let Some(Node::Seq(env)) = c.get("env") else {
                continue;
            };
            for e in &env.items {
                if e.get_str("name") != Some(var) {
                    continue;
                }
                if let Some((k, v)) = entry(Some(e), "value") {
                    out.push(edit::value_slot(text, k, v).fill(raw));
                }
            }
        }
    }
    out
}

/// Edits setting every `caBundle` of one object to `raw`: each webhook's `clientConfig`, a
/// CRD's conversion webhook `clientConfig`, an APIService's `spec`. A present `caBundle` is
/// replaced; a `clientConfig` (or APIService `spec`) without one gets it.
fn ca_bundle_edits(text: &str, obj: &Node, raw: &str) -> Vec<Edit> {
    let mut holders: Vec<&Node> = Vec::new();
    match obj.get_str("kind") {
        Some("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration") => {
            if let Some(Node::Seq(hooks)) = obj.get("webhooks") {
                holders.extend(hooks.items.iter().filter_map(|h| h.get("clientConfig")));
            }
        }
        Some("CustomResourceDefinition") => holders.extend(
            obj.get("spec")
                .and_then(|s| s.get("conversion"))
                .and_then(|c| c.get("webhook"))
                .and_then(|w| w.get("clientConfig")),
        ),
        Some("APIService") => holders.extend(obj.get("spec")),
        _ => {}
    }
    let mut out = Vec::new();
    for h in holders {
        match entry(Some(h), "caBundle") {
            Some((k, v)) => out.push(edit::value_slot(text, k, v).fill(raw)),
            None => {
                if let Node::Map(m) = h {
                    out.push(edit::insert_entries(
                        text,
                        m,
                        &[("caBundle".to_string(), raw.to_string())],
                    ));
                }
            }
        }
    }
    out
}

/// A patched Secret (namespace, name) and the (key, placeholder) pairs it must hold.
type Intended = (String, String, Vec<(String, String)>);

/// Checks that an edited document means what the edits intended: every patched Secret holds
/// each entry's placeholder under its key (in `stringData`, or base64 in `data`). Anything
/// else is a bug, refused before it can be written.
fn verify(i: usize, roots: &[Node], intended: &[Intended], ctx: &Context) -> Result<(), EditError> {
    let unintended = |what: String| EditError::Unintended {
        document: i + 1,
        what,
    };
    let anchors = Anchors::new(roots);
    for (ns, name, pairs) in intended {
        let obj = object::resources(roots).into_iter().find(|o| {
            object::is_core_secret(o)
                && object::name(o) == Some(name.as_str())
                && object::namespace(o, ctx.namespace.as_deref()) == ns
        });
        let Some(obj) = obj else {
            return Err(unintended(format!("Secret {name} is gone")));
        };
        let data: BTreeMap<String, Vec<u8>> = crate::k8s::data::canonical(obj, &anchors);
        for (k, ph) in pairs {
            if data.get(k).map(Vec::as_slice) != Some(ph.as_bytes()) {
                return Err(unintended(format!("Secret {name} key {k}")));
            }
        }
    }
    Ok(())
}

/// Whether a document may hold a Secret a config entry names (cheap byte test).
fn candidate(text: &[u8], entries: &[SecretEntry]) -> bool {
    crate::text::find!(text, b"Secret").is_some()
        && entries
            .iter()
            .any(|e| memchr::memmem::find(text, e.name.as_bytes()).is_some())
}

/// The names of the stream's Secrets.
fn secret_names(docs: &Documents) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for i in 0..docs.len() {
        if docs
            .kind(i)
            .is_some_and(|k| k != "Secret" && !k.ends_with("List"))
        {
            continue;
        }
        if let Some(roots) = docs.view(i) {
            for obj in object::resources(&roots) {
                if object::is_core_secret(obj) {
                    names.extend(object::name(obj).map(str::to_string));
                }
            }
        }
    }
    names
}

/// The Secret name of the stream closest to `name`, when it is close enough to be a typo
/// (at most a quarter of its characters differ, and at least one).
pub fn did_you_mean<'a>(
    name: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 4).max(2);
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(name, n), n))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min()
        .map(|(_, n)| n.as_str())
}

/// Adds the Secret of a `create: true` entry: as the first item of a stream that is one
/// KRM ResourceList, else as a new document at the end. `false` when a ResourceList has no
/// `items` to add it to.
fn create(
    docs: &mut Documents,
    e: &SecretEntry,
    pairs: &[(String, String)],
    ctx: &Context,
    helm4: bool,
) -> Result<bool, EditError> {
    let is_resource_list = docs.len() == 1
        && matches!(docs.tree(0), Ok(r) if r.first().and_then(|r| r.get_str("kind")) == Some("ResourceList"));
    if is_resource_list {
        let (text, Some(Ok(roots))) = (docs.text(0), docs.kept_tree(0)) else {
            return Ok(false);
        };
        let Some(edit) = insert_item(text, &roots[0], e, pairs, ctx.namespace.as_deref()) else {
            return Ok(false);
        };
        docs.apply(0, vec![edit])?;
        return Ok(true);
    }
    let mut t = created_secret(e, pairs, ctx.namespace.as_deref(), helm4);
    let last_ends_nl = docs.is_empty() || {
        let last = docs.bytes(docs.len() - 1);
        last.is_empty() || last.ends_with(b"\n")
    };
    if !last_ends_nl {
        t.insert(0, '\n');
    }
    docs.push(t)?;
    Ok(true)
}

/// The placeholders of one `secrets:` entry as written: (data key, placeholder, derivation
/// id — `id=`, else the default id of the entry's Secret). Entries were checked when the
/// config was loaded, so none fails to parse here.
pub fn entry_placeholders<'a>(
    entry: &'a SecretEntry,
    ctx: &'a Context,
) -> impl Iterator<Item = (&'a str, Placeholder, String)> + 'a {
    entry.data.iter().filter_map(move |(k, v)| {
        let ph = placeholder::parse(v).ok()?;
        let id = ph
            .id
            .clone()
            .unwrap_or_else(|| ctx.default_id(&entry.name, k));
        Some((k.as_str(), ph, id))
    })
}

/// The (key, placeholder text) pairs one entry writes into the Secret named `name`.
fn entry_pairs(entry: &SecretEntry, ctx: &Context) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, mut ph, id) in entry_placeholders(entry, ctx) {
        if ph.resolve_current(k, ctx.current_generation(&id)).is_err() {
            continue; // checked when the config was loaded
        }
        if k.contains("{gen}") {
            for g in ph.generations.list() {
                out.push((
                    k.replace("{gen}", &g.to_string()),
                    placeholder_text(&ph, &id, Some(g)),
                ));
            }
        } else {
            out.push((k.to_string(), placeholder_text(&ph, &id, None)));
        }
    }
    out
}

/// Edits that put `pairs` into the Secret `obj` (a mapping in `text`): existing keys get
/// their value replaced, missing keys are inserted into `stringData` (or `data`, base64,
/// when only `data` exists), and a missing `stringData` is added.
fn patch_secret(text: &str, obj: &Node, pairs: &[(String, String)]) -> Vec<Edit> {
    let Node::Map(root) = obj else { return vec![] };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut edits = Vec::new();
    let mut missing = Vec::new();
    for (k, ph) in pairs {
        // An existing key gets its value replaced, whatever it was (empty, null, a block
        // scalar, an alias): inserting it again would repeat the key, which go-yaml rejects.
        if let Some((ks, v)) = entry(obj.get("stringData"), k) {
            edits.push(edit::value_slot(text, ks, v).fill(&quote(ph)));
        } else if let Some((ks, v)) = entry(obj.get("data"), k) {
            edits.push(edit::value_slot(text, ks, v).fill(&quote(&b64(ph))));
        } else {
            missing.push((k.clone(), ph.clone()));
        }
    }
    if missing.is_empty() {
        return edits;
    }
    let (section, encode) = match (obj.get("stringData"), obj.get("data")) {
        (Some(Node::Map(m)), _) => (Some(m), false),
        (_, Some(Node::Map(m))) => (Some(m), true),
        _ => (None, false),
    };
    let entries: Vec<(String, String)> = missing
        .into_iter()
        .map(|(k, v)| (k, if encode { b64(&v) } else { v }))
        .collect();
    match section {
        Some(m) => edits.push(insert_into(text, m, &entries)),
        // No stringData/data mapping: a `stringData:` that is empty or null gets the
        // entries as its value; otherwise `stringData` is added to the Secret.
        None => match entry(Some(obj), "stringData") {
            Some((ks, v @ Node::Scalar(_))) => {
                edits.push(edit::value_slot(text, ks, v).fill(&flow_map(&entries)));
            }
            _ => edits.push(insert_section(text, root, "stringData", &entries)),
        },
    }
    edits
}

/// A value the config would replace that carries an anchor: an alias elsewhere would copy
/// the new secret value into its own object (a ConfigMap, say), so it is an error.
fn anchored_values(location: &Location, obj: &Node, pairs: &[(String, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for section in ["stringData", "data"] {
        for (k, _) in pairs {
            if entry(obj.get(section), k).is_some_and(|(_, v)| v.anchor() != 0) {
                out.push(Finding::error(
                    location,
                    &object::field_path(section, k),
                    "the value keyseed would replace carries an anchor (`&name`): an alias could copy the secret value into another object".into(),
                    Some("remove the anchor from the chart's output (or the aliases that use it)".into()),
                ));
            }
        }
    }
    out
}

/// The entry `key` of a mapping node, if there is one.
fn entry<'a>(map: Option<&'a Node>, key: &str) -> Option<(&'a Scalar, &'a Node)> {
    match map? {
        Node::Map(m) => m.entries.iter().find_map(|(k, v)| match k {
            Node::Scalar(ks) if ks.value == key => Some((ks, v)),
            _ => None,
        }),
        _ => None,
    }
}

fn flow_map(entries: &[(String, String)]) -> String {
    let inner: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Inserts entries (plain values, written quoted) as the first entries of a mapping.
fn insert_into(text: &str, m: &Mapping, entries: &[(String, String)]) -> Edit {
    let raw: Vec<(String, String)> = entries.iter().map(|(k, v)| (k.clone(), quote(v))).collect();
    edit::insert_entries(text, m, &raw)
}

/// Adds `name: {entries}` as the first entry of a resource mapping.
fn insert_section(text: &str, root: &Mapping, name: &str, entries: &[(String, String)]) -> Edit {
    edit::insert_entries(text, root, &[(name.to_string(), flow_map(entries))])
}

/// A new Secret document (YAML, `# Source:` comment for Helm 3, optional Helm 4 filename
/// annotation) with the entry's placeholders in `stringData`.
fn created_secret(
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
    helm4: bool,
) -> String {
    let mut s = String::from("---\n");
    s.push_str(&format!("# Source: keyseed/created/{}.yaml\n", entry.name));
    s.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
    s.push_str(&format!("  name: {}\n", quote(&entry.name)));
    if let Some(ns) = entry.namespace.as_deref().or(default_ns) {
        s.push_str(&format!("  namespace: {}\n", quote(ns)));
    }
    if !entry.labels.is_empty() {
        s.push_str("  labels:\n");
        for (k, v) in &entry.labels {
            s.push_str(&format!("    {}: {}\n", quote(k), quote(v)));
        }
    }
    let mut annotations = entry.annotations.clone();
    annotations.insert("keyseed.io/created".into(), "true".into());
    if helm4 {
        annotations.insert(
            "postrenderer.helm.sh/postrender-filename".into(),
            format!("keyseed/created/{}.yaml", entry.name),
        );
    }
    s.push_str("  annotations:\n");
    for (k, v) in &annotations {
        s.push_str(&format!("    {}: {}\n", quote(k), quote(v)));
    }
    s.push_str(&format!(
        "type: {}\n",
        quote(entry.secret_type.as_deref().unwrap_or("Opaque"))
    ));
    s.push_str("stringData:\n");
    for (k, v) in pairs {
        s.push_str(&format!("  {}: {}\n", quote(k), quote(v)));
    }
    s
}

/// A created Secret as a one-line flow mapping (for a ResourceList's `items`).
fn created_secret_flow(
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
) -> String {
    let map = |m: &BTreeMap<String, String>| {
        let v: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
            .collect();
        format!("{{{}}}", v.join(", "))
    };
    let mut meta = vec![format!("\"name\": {}", quote(&entry.name))];
    if let Some(ns) = entry.namespace.as_deref().or(default_ns) {
        meta.push(format!("\"namespace\": {}", quote(ns)));
    }
    if !entry.labels.is_empty() {
        meta.push(format!("\"labels\": {}", map(&entry.labels)));
    }
    let mut annotations = entry.annotations.clone();
    annotations.insert("keyseed.io/created".into(), "true".into());
    meta.push(format!("\"annotations\": {}", map(&annotations)));
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{{}}}, \"type\": {}, \"stringData\": {}}}",
        meta.join(", "),
        quote(entry.secret_type.as_deref().unwrap_or("Opaque")),
        flow_map(pairs)
    )
}

/// An edit adding a created Secret as the first item of a ResourceList (block or flow
/// `items`). `None` when the list has no `items` sequence.
fn insert_item(
    text: &str,
    root: &Node,
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
) -> Option<Edit> {
    let Some(Node::Seq(items)) = root.get("items") else {
        return None;
    };
    let item = created_secret_flow(entry, pairs, default_ns);
    let bytes = text.as_bytes();
    if bytes.get(items.span.start) == Some(&b'[') {
        let at = items.span.start + 1;
        let sep = if items.items.is_empty() { "" } else { ", " };
        return Some(Edit::plain(at..at, format!("{item}{sep}")));
    }
    let first = items.items.first()?.span().start;
    let dash = bytes[..first].iter().rposition(|&b| b == b'-')?;
    let line_start = bytes[..dash]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let newline = edit::newline(text);
    Some(Edit::plain(
        dash..dash,
        format!("- {item}{newline}{}", " ".repeat(dash - line_start)),
    ))
}
