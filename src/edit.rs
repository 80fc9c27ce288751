//! Surgical edits of a document's bytes.
//!
//! keyseed changes a document by replacing byte ranges (a scalar, or a `key: value` entry)
//! with new text and leaves every other byte alone, so comments, quoting, indentation and the
//! YAML 1.1 meaning of untouched fields survive. New scalars are always written double-quoted
//! with escapes valid in both YAML and JSON, so `yes`, `0777` or `1e3` stay strings and a
//! JSON document stays JSON.

use std::ops::Range;

use crate::secret::{SecretBytes, SecretValue};

/// One replacement in a document's text.
#[derive(Debug)]
pub struct Edit {
    /// Byte range to replace.
    pub range: Range<usize>,
    /// The new text (it holds secret values).
    pub text: SecretValue,
}

/// Writes `s` as a double-quoted scalar that YAML 1.1, YAML 1.2 and JSON read back as `s`.
pub fn quote_into(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `quote_into` into a new string.
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    quote_into(&mut out, s);
    out
}

/// A key for a block mapping: plain when it is a simple word that means itself in YAML 1.1
/// (`annotations`, `metadata`, `stringData`), double-quoted otherwise.
pub fn block_key(k: &str) -> String {
    let simple = k.len() > 1
        && k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && k.bytes().all(|b| b.is_ascii_alphanumeric())
        && crate::yaml::resolve_plain(k) == crate::yaml::Plain::Str;
    if simple {
        k.to_string()
    } else {
        quote(k)
    }
}

/// An insertion of `key: raw` entries (raw = YAML text of the value) as the first entries of
/// a mapping: in a block mapping one line each at the mapping's column (the document's line
/// break kept); in a flow mapping `"key": raw, ` (keys always quoted, so JSON stays JSON); an
/// empty flow mapping is filled.
pub fn insert_entries(
    text: &str,
    m: &crate::yaml::Mapping,
    entries: &[(String, String)],
) -> (Range<usize>, String) {
    use crate::yaml::Node;
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut s = String::new();
    match m.entries.first() {
        Some((Node::Scalar(first), _)) if !m.flow => {
            for (k, raw) in entries {
                s.push_str(&format!(
                    "{}: {raw}{newline}{}",
                    block_key(k),
                    " ".repeat(first.col)
                ));
            }
            (first.span.start..first.span.start, s)
        }
        Some((first, _)) => {
            for (k, raw) in entries {
                s.push_str(&format!("{}: {raw}, ", quote(k)));
            }
            let at = first.span().start;
            (at..at, s)
        }
        None => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, raw)| format!("{}: {raw}", quote(k)))
                .collect();
            (m.span.clone(), format!("{{{}}}", inner.join(", ")))
        }
    }
}

/// Applies non-overlapping edits to `doc`. The result is held in a zeroizing buffer because
/// it contains the injected secrets.
pub fn apply(doc: &[u8], edits: &mut [Edit]) -> SecretBytes {
    edits.sort_by_key(|e| e.range.start);
    let extra: usize = edits.iter().map(|e| e.text.expose().len()).sum();
    let mut out = SecretBytes::new(Vec::with_capacity(doc.len() + extra));
    let buf = out.expose_mut();
    let mut pos = 0;
    for e in edits.iter() {
        assert!(e.range.start >= pos, "edits overlap");
        buf.extend_from_slice(&doc[pos..e.range.start]);
        buf.extend_from_slice(e.text.expose().as_bytes());
        pos = e.range.end;
    }
    buf.extend_from_slice(&doc[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_yaml_and_json_need() {
        assert_eq!(quote("yes"), "\"yes\"");
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(quote("\u{1}\u{7f}\u{85}"), "\"\\u0001\\u007f\\u0085\"");
        assert_eq!(quote("é"), "\"é\"");
    }

    #[test]
    fn edits_replace_only_their_ranges() {
        let doc = b"a: 1\nb: x\nc: 3\n";
        let mut e = vec![Edit {
            range: 8..9,
            text: SecretValue::new("\"y\"".into()),
        }];
        assert_eq!(apply(doc, &mut e).expose(), b"a: 1\nb: \"y\"\nc: 3\n");
    }
}
