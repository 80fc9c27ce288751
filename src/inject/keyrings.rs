//! Keyrings reach the pods: charts often mount a Secret with an explicit `items:` list that
//! `lookup` computed, which returns nothing under `helm template` and Argo CD, so only
//! generation 0 is listed. When keyseed writes a keyring (`key-{gen}` with `gen=A..B`) into a
//! Secret, every `secret` volume and projected `secret` source of a pod template that names
//! the Secret with an `items:` list holding a key of the keyring gets the missing generations
//! appended, following the listed member's path pattern (`prefix` + key + `suffix`). Volumes
//! without `items:` already see every key and are left alone.

use crate::diag::Finding;
use crate::inject::budget;
use crate::inject::plan::Injection;
use crate::k8s::object::{self, Context};
use crate::k8s::pod;
use crate::manifest::document::Documents;
use crate::manifest::edit::{self, quote, Edit};
use crate::manifest::yaml::{Node, Sequence};

/// The keys one keyring placeholder writes into one Secret, oldest generation first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    /// The Secret's namespace (the default namespace when it has none; empty when unknown).
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    /// The data keys, oldest generation first.
    pub keys: Vec<String>,
}

/// The keyrings among planned injections: a `{gen}` data key (all generations in one
/// injection), or the generations `keyseed.yaml` expanded into one injection each, which
/// share their Secret and their `{gen}` id.
pub fn keyrings<'a>(
    injections: impl Iterator<Item = &'a Injection>,
    ctx: &Context,
) -> Vec<Keyring> {
    let mut out: Vec<(String, Keyring)> = Vec::new();
    for inj in injections.filter(|i| i.key.contains("{gen}") || i.id.contains("{gen}")) {
        let Some(name) = inj.location.name.clone() else {
            continue;
        };
        let namespace = inj
            .location
            .namespace
            .clone()
            .or_else(|| ctx.namespace.clone())
            .unwrap_or_default();
        let keys = inj.written_keys().into_iter().map(|(k, _)| k);
        match out
            .iter_mut()
            .find(|(id, k)| *id == inj.id && k.name == name && k.namespace == namespace)
        {
            Some((_, k)) => k.keys.extend(keys),
            None => out.push((
                inj.id.clone(),
                Keyring {
                    namespace,
                    name,
                    keys: keys.collect(),
                },
            )),
        }
    }
    out.into_iter().map(|(_, k)| k).collect()
}

/// The edits appending missing keyring members to `items:` lists, by document index. The
/// appended text is bounded ([`budget::MAX_PROJECTION`] per document,
/// [`budget::MAX_PROJECTION_TOTAL`] in all): a keyring of a thousand generations mounted by a thousand volumes would turn a
/// small stream into a huge one; a finding names the first workload over the bound.
pub fn item_edits(
    docs: &Documents,
    keyrings: &[Keyring],
    ctx: &Context,
) -> Result<Vec<(usize, Vec<Edit>)>, Vec<Finding>> {
    let mut out = Vec::new();
    if keyrings.is_empty() {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0..docs.len() {
        let bytes = docs.bytes(i);
        let named = keyrings
            .iter()
            .any(|k| memchr::memmem::find(bytes, k.name.as_bytes()).is_some());
        if !named || crate::text::find!(bytes, b"items").is_none() {
            continue;
        }
        let Some(roots) = docs.view(i) else { continue };
        let text = docs.text(i);
        let mut edits = Vec::new();
        let mut appended = 0usize;
        for obj in object::resources(&roots) {
            let Some(spec) = pod::pod_template(obj).and_then(|t| t.get("spec")) else {
                continue;
            };
            let ns = object::namespace(obj, ctx.namespace.as_deref());
            for (secret, items) in pod::secret_items(spec) {
                let Some(ring) = keyrings
                    .iter()
                    .find(|k| k.name == secret && k.namespace == ns)
                else {
                    continue;
                };
                let Some((edit, len)) = append_members(text, items, ring) else {
                    continue;
                };
                appended += len;
                total += len;
                if appended > budget::MAX_PROJECTION || total > budget::MAX_PROJECTION_TOTAL {
                    return Err(vec![Finding::error(
                        &object::location(i + 1, text, obj, None),
                        "items",
                        format!(
                            "listing every generation of keyring Secret `{}` in the `items:` of its volumes would add more than {} bytes to {}",
                            ring.name,
                            if appended > budget::MAX_PROJECTION { budget::MAX_PROJECTION } else { budget::MAX_PROJECTION_TOTAL },
                            if appended > budget::MAX_PROJECTION { "this document" } else { "the stream" }
                        ),
                        Some("mount the Secret without `items:` (every key is then visible), or keep fewer generations".into()),
                    )]);
                }
                edits.push(edit);
            }
        }
        if !edits.is_empty() {
            out.push((i, edits));
        }
    }
    Ok(out)
}

/// The `key`/`path` pairs of an `items:` list.
fn listed(items: &Sequence) -> Vec<(String, String)> {
    items
        .items
        .iter()
        .filter_map(|it| {
            let key = it.get_str("key")?.to_string();
            let path = it.get_str("path").unwrap_or(&key).to_string();
            Some((key, path))
        })
        .collect()
}

/// The edit appending the keyring members an `items:` list lacks, if it lists one of them,
/// and the length of the text it adds.
fn append_members(text: &str, items: &Sequence, ring: &Keyring) -> Option<(Edit, usize)> {
    let listed = listed(items);
    let (member, path) = listed.iter().find(|(k, _)| ring.keys.contains(k))?;
    // The path pattern of the listed member: prefix + key + suffix.
    let (prefix, suffix) = match path.find(member.as_str()) {
        Some(at) => (&path[..at], &path[at + member.len()..]),
        None => ("", ""),
    };
    let missing: Vec<(&String, String)> = ring
        .keys
        .iter()
        .filter(|k| !listed.iter().any(|(l, _)| l == *k))
        .map(|k| (k, format!("{prefix}{k}{suffix}")))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let item = |k: &str, p: &str| format!("{{\"key\": {}, \"path\": {}}}", quote(k), quote(p));
    let bytes = text.as_bytes();
    if bytes.get(items.span.start) == Some(&b'[') {
        // Flow sequence: before the closing bracket.
        let close = items
            .span
            .end
            .checked_sub(1)
            .filter(|&c| bytes.get(c) == Some(&b']'))?;
        let added: String = missing
            .iter()
            .map(|(k, p)| format!(", {}", item(k, p)))
            .collect();
        let len = added.len();
        return Some((Edit::plain(close..close, added), len));
    }
    // Block sequence: a new `- {…}` line after the last item, at its dash's column.
    let last = items.items.last()?;
    let dash = bytes[..last.span().start]
        .iter()
        .rposition(|&b| b == b'-')?;
    let line_start = bytes[..dash]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let indent = " ".repeat(dash - line_start);
    let nl = edit::newline(text);
    let at = deep_end(last);
    let added: String = missing
        .iter()
        .map(|(k, p)| format!("{nl}{indent}- {}", item(k, p)))
        .collect();
    let len = added.len();
    Some((Edit::plain(at..at, added), len))
}

/// The end of the last token of a node (a block collection's own span runs to the next
/// token, so it is not used).
fn deep_end(n: &Node) -> usize {
    match n {
        Node::Scalar(s) => s.span.end,
        Node::Alias(r, _) => r.end,
        Node::Map(m) if m.flow => m.span.end,
        Node::Map(m) => m
            .entries
            .iter()
            .map(|(k, v)| deep_end(k).max(deep_end(v)))
            .max()
            .unwrap_or(m.span.start),
        Node::Seq(s) => s.items.iter().map(deep_end).max().unwrap_or(s.span.start),
    }
}
