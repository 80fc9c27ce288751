//! Resources of a document and where they are: a document is one resource, a `List`, or a
//! KRM `ResourceList`; a [`Location`] names the document, the item, the kind, namespace and
//! name. Namespace defaulting (`--namespace` for resources without one) lives here only.

use crate::diag::Location;
use crate::manifest::edit::quote;
use crate::manifest::stream;
use crate::manifest::yaml::Node;

/// Helm 4's annotation naming the template a document came from.
pub const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// The resources of a document: itself, or the items of a List / ResourceList.
pub fn resources(roots: &[Node]) -> Vec<&Node> {
    let mut out = Vec::new();
    let mut stack: Vec<&Node> = roots.iter().rev().collect();
    while let Some(n) = stack.pop() {
        let kind = n.get_str("kind").unwrap_or("");
        match n.get("items") {
            Some(Node::Seq(items)) if kind.ends_with("List") => {
                stack.extend(items.items.iter().rev());
            }
            _ => out.push(n),
        }
    }
    out
}

/// The resource of `kind` named `name` among a document's resources (List items included).
pub fn find<'a>(roots: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    resources(roots)
        .into_iter()
        .find(|o| o.get_str("kind") == Some(kind) && self::name(o) == Some(name))
}

/// Whether `obj` is a core Kubernetes Secret (`apiVersion: v1`, `kind: Secret`): a custom
/// resource of another API group that happens to be called `Secret` is not, and keyseed
/// never fills it, nor lets it capture a `keyseed.yaml` entry.
pub fn is_core_secret(obj: &Node) -> bool {
    obj.get_str("kind") == Some("Secret") && obj.get_str("apiVersion") == Some("v1")
}

/// `metadata.name`.
pub fn name(obj: &Node) -> Option<&str> {
    obj.get("metadata").and_then(|m| m.get_str("name"))
}

/// `metadata.namespace`, else the default namespace (`--namespace`), else empty.
pub fn namespace<'a>(obj: &'a Node, default: Option<&'a str>) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get_str("namespace"))
        .or(default)
        .unwrap_or("")
}

/// The location of a resource of document `number` (from 1), `item` its List path.
pub fn location(number: usize, text: &str, obj: &Node, item: Option<String>) -> Location {
    let meta = obj.get("metadata");
    let source = meta
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get_str(HELM4_FILENAME))
        .map(String::from)
        .or_else(|| stream::source_comment(text.as_bytes()));
    Location {
        document: number,
        source,
        item,
        kind: obj.get_str("kind").map(String::from),
        name: meta.and_then(|m| m.get_str("name")).map(String::from),
        namespace: meta.and_then(|m| m.get_str("namespace")).map(String::from),
    }
}

/// The location of a document's (first) resource, for messages about the whole document.
pub fn document_location(number: usize, text: &str, roots: &[Node]) -> Location {
    match roots.first() {
        Some(r) => location(number, text, r, None),
        None => Location {
            source: stream::source_comment(text.as_bytes()),
            ..Location::document(number)
        },
    }
}

/// `.section.key`, the key quoted when it is not a simple identifier.
pub fn field_path(section: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if simple {
        format!(".{section}.{key}")
    } else {
        format!(".{section}.{}", quote(key))
    }
}

/// What resources do not say themselves: the derivation scope (the first part of default
/// ids), the namespace of resources without `metadata.namespace`, and which Secrets hold
/// copies of another's values (`copies:` in `keyseed.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `--scope`: the first part of default ids.
    pub scope: String,
    /// `--namespace`: namespace of resources without `metadata.namespace`.
    pub namespace: Option<String>,
    /// Copy Secret name → the Secret whose default ids it uses.
    pub copies: std::collections::BTreeMap<String, String>,
    /// Derivation id → current generation (`generations:` in `keyseed.yaml`), for
    /// `gen=current` placeholders; an id it does not hold is at generation 0.
    pub generations: std::collections::BTreeMap<String, u64>,
}

impl Context {
    /// The current generation of derivation id `id` (`generations:`), 0 when none is held.
    pub fn current_generation(&self, id: &str) -> u64 {
        self.generations.get(id).copied().unwrap_or(0)
    }

    /// The default derivation id of data key `key` in Secret `secret`:
    /// `scope/SECRET/KEY`, with a copy's Secret replaced by the one it copies.
    pub fn default_id(&self, secret: &str, key: &str) -> String {
        let secret = self.copies.get(secret).map_or(secret, String::as_str);
        format!("{}/{}/{}", self.scope, secret, key)
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (none
/// included) and everything else matches itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("checksum/*", "checksum/secret"));
        assert!(glob("checksum/*", "checksum/"));
        assert!(!glob("checksum/*", "rollme"));
        assert!(glob("rollme", "rollme"));
        assert!(!glob("rollme", "rollme2"));
        assert!(glob("*.example.io", "widgets.example.io"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("*", ""));
    }
}
