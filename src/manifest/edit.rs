//! Surgical edits of a document's bytes: the one edit type, the one way to apply edits,
//! quoting, insertion of mapping entries, and the byte ranges of values.
//!
//! keyseed changes a document by replacing byte ranges (a scalar, or a `key: value` entry)
//! with new text and leaves every other byte alone, so comments, quoting, indentation and the
//! YAML 1.1 meaning of untouched fields survive. New scalars are always written double-quoted
//! with escapes valid in both YAML and JSON, so `yes`, `0777` or `1e3` stay strings and a
//! JSON document stays JSON.

use std::ops::Range;

use crate::manifest::yaml::{Mapping, Node, Scalar, Style};
use crate::secret::{SecretBytes, SecretValue};

/// One replacement in a document's text. Every change keyseed makes is one of these.
#[derive(Debug)]
pub struct Edit {
    /// Byte range to replace (empty for an insertion).
    pub range: Range<usize>,
    /// The new text (it may hold secret values).
    pub text: SecretValue,
}

impl Edit {
    /// An edit whose text is not secret (placeholders, annotations, structure).
    pub fn plain(range: Range<usize>, text: String) -> Self {
        Edit {
            range,
            text: SecretValue::new(text),
        }
    }
}

/// An edit with a hole for a value that is not known yet: `before` + value + `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Byte range to replace.
    pub range: Range<usize>,
    /// Text before the value.
    pub before: String,
    /// Text after the value.
    pub after: String,
}

impl Slot {
    /// The edit writing `raw` (YAML text, e.g. an already quoted scalar) into the hole.
    pub fn fill(&self, raw: &str) -> Edit {
        Edit::plain(
            self.range.clone(),
            format!("{}{raw}{}", self.before, self.after),
        )
    }
}

/// The line break a document uses: `\r\n` when it has one, else `\n`.
pub fn newline(text: &str) -> &'static str {
    if crate::text::find!(text.as_bytes(), b"\r\n").is_some() {
        "\r\n"
    } else {
        "\n"
    }
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
        && crate::manifest::yaml::resolve_plain(k) == crate::manifest::yaml::Plain::Str;
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
pub fn insert_entries(text: &str, m: &Mapping, entries: &[(String, String)]) -> Edit {
    if m.entries.is_empty() {
        // An empty flow mapping `{}` is replaced whole, the entries joined inside it.
        let inner: Vec<String> = entries
            .iter()
            .map(|(k, raw)| format!("{}: {raw}", quote(k)))
            .collect();
        return Edit::plain(m.span.clone(), format!("{{{}}}", inner.join(", ")));
    }
    let mut range = 0..0;
    let mut out = String::new();
    for (k, raw) in entries {
        let s = insert_slot(text, m, k);
        out.push_str(&format!("{}{raw}{}", s.before, s.after));
        range = s.range;
    }
    Edit::plain(range, out)
}

/// The slot inserting `key: <value>` as the first entry of a mapping (see
/// [`insert_entries`]).
pub fn insert_slot(text: &str, m: &Mapping, key: &str) -> Slot {
    let newline = newline(text);
    match m.entries.first() {
        Some((Node::Scalar(first), _)) if !m.flow => Slot {
            range: first.span.start..first.span.start,
            before: format!("{}: ", block_key(key)),
            after: format!("{newline}{}", " ".repeat(first.col)),
        },
        Some((first, _)) => {
            let at = first.span().start;
            Slot {
                range: at..at,
                before: format!("{}: ", quote(key)),
                after: ", ".into(),
            }
        }
        None => Slot {
            range: m.span.clone(),
            before: format!("{{{}: ", quote(key)),
            after: "}".into(),
        },
    }
}

/// Where a new value for the entry `key: value` goes. An empty value (`key:` at the end of a
/// line or of the file, `{key: , …}`, `{key, …}`) has a zero-length span at the end of its
/// key, before any colon, so it is written after the colon (or after `: ` that is added when
/// the key has none); `~`, `null`, `""` and `''` are replaced; a block scalar is replaced
/// from its header to its last content line, its line break kept.
pub fn value_slot(text: &str, key: &Scalar, value: &Node) -> Slot {
    let span = value.span();
    if let Node::Scalar(v) = value {
        if matches!(v.style, Style::Literal | Style::Folded) {
            let (range, trailing) = value_range(text, key, v);
            return Slot {
                range,
                before: String::new(),
                after: trailing,
            };
        }
    }
    if !span.is_empty() {
        return Slot {
            range: span,
            before: String::new(),
            after: String::new(),
        };
    }
    let bytes = text.as_bytes();
    let mut pos = key.span.end;
    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    if bytes.get(pos) == Some(&b':') {
        Slot {
            range: pos + 1..pos + 1,
            before: " ".into(),
            after: String::new(),
        }
    } else {
        Slot {
            range: key.span.end..key.span.end,
            before: ": ".into(),
            after: String::new(),
        }
    }
}

/// The bytes of a value to replace and the line break to write after the new value.
/// Block scalars' spans start at their content and run to the next token, so the range
/// is rebuilt: from the `|`/`>` header after the key to the end of the last content line
/// (lines indented deeper than the key), keeping later blank lines and comments.
pub fn value_range(text: &str, key: &Scalar, value: &Scalar) -> (Range<usize>, String) {
    if !matches!(value.style, Style::Literal | Style::Folded) {
        return (value.span.clone(), String::new());
    }
    block_range(text, key.span.end, key.col, value)
}

/// [`value_range`] for a block scalar that is a sequence item (`- |-`): the header is on the
/// nearest non-blank line before the content, after the item's `-`, and the content is the
/// following lines indented deeper than that `-`. `None` when no header is found there.
pub fn item_value_range(text: &str, value: &Scalar) -> Option<(Range<usize>, String)> {
    let bytes = text.as_bytes();
    let content_line = bytes[..value.span.start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut end = content_line.checked_sub(1)?;
    loop {
        let start = bytes[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = &bytes[start..end];
        if !line.iter().all(|b| b.is_ascii_whitespace()) {
            let h = line.iter().position(|&b| b == b'|' || b == b'>')?;
            let dash = line[..h].iter().rposition(|&b| b == b'-')?;
            return Some(block_range(text, start + h, dash, value));
        }
        end = start.checked_sub(1)?;
    }
}

/// The range of block scalar `value` whose header is the first `|`/`>` at or after
/// `header_from`, its content the lines indented deeper than column `col`.
fn block_range(
    text: &str,
    header_from: usize,
    col: usize,
    value: &Scalar,
) -> (Range<usize>, String) {
    let bytes = text.as_bytes();
    let header = bytes[header_from..value.span.start]
        .iter()
        .position(|&b| b == b'|' || b == b'>')
        .map(|i| header_from + i)
        .unwrap_or(value.span.start);
    // First content line starts at the line holding value.span.start.
    let mut pos = bytes[..value.span.start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut end = pos;
    while pos < bytes.len() {
        let line_end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..line_end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line.iter().all(|b| b.is_ascii_whitespace());
        if !blank && indent <= col {
            break;
        }
        if !blank {
            end = line_end;
        }
        pos = line_end;
    }
    let body = &text[..end];
    let trailing = if body.ends_with("\r\n") {
        "\r\n"
    } else if body.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    (header..end.max(header), trailing.to_string())
}

/// Applies edits to `doc`. The result is held in a zeroizing buffer because it may contain
/// injected secrets. Overlapping edits are a bug of the caller: `None`, never a guess.
pub fn apply(doc: &[u8], edits: &[Edit]) -> Option<SecretBytes> {
    let mut edits: Vec<&Edit> = edits.iter().collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let extra: usize = edits.iter().map(|e| e.text.expose().len()).sum();
    let mut out = SecretBytes::new(Vec::with_capacity(doc.len() + extra));
    let buf = out.expose_mut();
    let mut pos = 0;
    for e in edits.iter() {
        if e.range.start < pos || e.range.end > doc.len() || e.range.start > e.range.end {
            return None;
        }
        buf.extend_from_slice(&doc[pos..e.range.start]);
        buf.extend_from_slice(e.text.expose().as_bytes());
        pos = e.range.end;
    }
    buf.extend_from_slice(&doc[pos..]);
    Some(out)
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
        let e = vec![Edit {
            range: 8..9,
            text: SecretValue::new("\"y\"".into()),
        }];
        assert_eq!(apply(doc, &e).unwrap().expose(), b"a: 1\nb: \"y\"\nc: 3\n");
    }
}
