//! The data of Secrets and ConfigMaps as a workload sees it: `data` base64-decoded as
//! Kubernetes decodes it, `stringData` merged over a Secret's `data`, a ConfigMap's
//! `binaryData` decoded.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::manifest::yaml::{Anchors, Node};

/// Decodes a base64 `data`/`binaryData` value as Kubernetes does (standard alphabet; line
/// breaks and other white space ignored).
pub fn decode(v: &str) -> Option<Vec<u8>> {
    let clean: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Decodes a Secret `data` value to text, if it is base64 of UTF-8.
pub fn decode_text(v: &str) -> Option<String> {
    String::from_utf8(decode(v)?).ok()
}

/// One entry of a Secret's or ConfigMap's data, as the workload sees it.
pub struct DataEntry<'a> {
    /// `data`, `stringData` or `binaryData`.
    pub section: &'static str,
    /// The key.
    pub key: &'a str,
    /// The value as written.
    pub raw: &'a str,
    /// The value's bytes (`None`: a base64 section holding invalid base64).
    pub bytes: Option<Vec<u8>>,
}

/// The data entries of a Secret (`data` decoded, then `stringData`) or a ConfigMap (`data`,
/// then `binaryData` decoded), in that order: a later entry for the same key wins, as the
/// API server merges `stringData` over `data`. Aliases and merge keys are resolved through
/// `anchors`, the document's anchors, as Kubernetes' reader resolves them.
pub fn entries<'a>(obj: &'a Node, anchors: &Anchors<'a>) -> Vec<DataEntry<'a>> {
    let sections: [(&'static str, bool); 2] = if obj.get_str("kind") == Some("Secret") {
        [("data", true), ("stringData", false)]
    } else {
        [("data", false), ("binaryData", true)]
    };
    let mut out = Vec::new();
    for (section, b64) in sections {
        let Some(Node::Map(m)) = obj.get(section).map(|n| anchors.resolve(n)) else {
            continue;
        };
        for (k, v) in anchors.entries(m) {
            let Some(v) = v.scalar() else {
                continue;
            };
            // A null value is an empty one to the API server.
            let raw = if v.is_null() { "" } else { v.value.as_str() };
            let bytes = if b64 {
                decode(raw)
            } else {
                Some(raw.as_bytes().to_vec())
            };
            out.push(DataEntry {
                section,
                key: &k.value,
                raw,
                bytes,
            });
        }
    }
    out
}

/// The canonical data of a Secret or ConfigMap: key → bytes, the later entry winning
/// (see [`entries`]); invalid base64 counts as its text.
pub fn canonical<'a>(obj: &'a Node, anchors: &Anchors<'a>) -> BTreeMap<String, Vec<u8>> {
    entries(obj, anchors)
        .into_iter()
        .map(|e| {
            (
                e.key.to_string(),
                e.bytes.unwrap_or_else(|| e.raw.as_bytes().to_vec()),
            )
        })
        .collect()
}
