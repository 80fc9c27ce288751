//! Editing `keyseed.yaml` in place: `keyseed rotate` sets `generations:` entries by editing
//! the file's bytes at parser spans, so comments, order and quoting elsewhere stay as the
//! user wrote them. The result is parsed again and must hold exactly the intended change.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::schema::{Config, ConfigError};
use crate::manifest::yaml::{self, Node};

/// `text` with `generations:` holding `updates` (id → generation); other entries, and the
/// rest of the file, unchanged. Fails when the file's shape cannot be edited safely (a root
/// that is not a block mapping) or when the edit would not read back as intended.
pub fn set_generations(
    text: &str,
    updates: &BTreeMap<String, u64>,
    path: &Path,
) -> Result<String, ConfigError> {
    let err = |message: String| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    };
    let before = Config::parse(text, path)?;
    let roots = yaml::parse(text).map_err(|e| err(e.to_string()))?;
    let out = match roots.first() {
        None => append_block(text, updates),
        Some(Node::Scalar(s)) if s.is_null() => append_block(text, updates),
        Some(Node::Map(root)) if !root.flow => {
            let entry = root
                .entries
                .iter()
                .find(|(k, _)| k.scalar().is_some_and(|k| k.value == "generations"));
            match entry {
                None => append_block(text, updates),
                Some((_, Node::Map(m))) if !m.flow && !m.entries.is_empty() => {
                    edit_block(text, m, updates)
                }
                Some((_, value)) => {
                    // Empty, null or flow: the whole value becomes one flow mapping.
                    let mut all: BTreeMap<String, u64> = before.generations.clone();
                    all.extend(updates.iter().map(|(k, v)| (k.clone(), *v)));
                    let span = value.span();
                    let lead = if span.is_empty() && !text[..span.start].ends_with(' ') {
                        " "
                    } else {
                        ""
                    };
                    format!(
                        "{}{lead}{}{}",
                        &text[..span.start],
                        flow(&all),
                        &text[span.end..]
                    )
                }
            }
        }
        Some(_) => {
            return Err(err(
                "keyseed rotate edits a keyseed.yaml whose top level is a block mapping (`key: value` lines)".into(),
            ))
        }
    };
    let after = Config::parse(&out, path).map_err(|e| {
        err(format!(
            "internal error: the edited file would not load ({e}); nothing was written"
        ))
    })?;
    let mut want = before.generations.clone();
    want.extend(updates.iter().map(|(k, v)| (k.clone(), *v)));
    if after.generations != want {
        return Err(err(
            "internal error: the edited file would not hold the intended generations; nothing was written".into(),
        ));
    }
    Ok(out)
}

/// A YAML double-quoted key (JSON's string syntax is a subset of it).
fn quoted(id: &str) -> String {
    serde_json::to_string(id).expect("a string serializes")
}

fn flow(all: &BTreeMap<String, u64>) -> String {
    let items: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}: {v}", quoted(k)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// `text` followed by a new `generations:` block.
fn append_block(text: &str, updates: &BTreeMap<String, u64>) -> String {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
    out.push_str(&format!("generations:{nl}"));
    for (id, g) in updates {
        out.push_str(&format!("  {}: {g}{nl}", quoted(id)));
    }
    out
}

/// Sets entries of the block mapping `m`: a present id gets its value replaced, a new one a
/// line after the mapping's last entry, at its indentation.
fn edit_block(text: &str, m: &yaml::Mapping, updates: &BTreeMap<String, u64>) -> String {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut new_lines = String::new();
    let col = m.entries[0].0.scalar().map_or(2, |k| k.col);
    for (id, g) in updates {
        let present = m
            .entries
            .iter()
            .find(|(k, _)| k.scalar().is_some_and(|k| &k.value == id));
        match present {
            Some((_, v)) => {
                let span = v.span();
                let lead = if span.is_empty() { " " } else { "" };
                edits.push((span, format!("{lead}{g}")));
            }
            None => new_lines.push_str(&format!("{}{}: {g}{nl}", " ".repeat(col), quoted(id))),
        }
    }
    if !new_lines.is_empty() {
        let last_end = m.entries.last().map_or(m.span.end, |(_, v)| v.span().end);
        let at = text[last_end..]
            .find('\n')
            .map_or(text.len(), |i| last_end + i + 1);
        if at == text.len() && !text.ends_with('\n') {
            new_lines.insert_str(0, nl);
        }
        edits.push((at..at, new_lines));
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_string();
    for (r, s) in edits {
        out.replace_range(r, &s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, id: &str, g: u64) -> String {
        let updates = BTreeMap::from([(id.to_string(), g)]);
        set_generations(text, &updates, Path::new("keyseed.yaml")).unwrap()
    }

    #[test]
    fn generations_are_set_at_their_spans_and_the_rest_stays() {
        let id = "prod/backend-keys/encryption-key-{gen}";
        assert_eq!(
            set("", id, 1),
            "generations:\n  \"prod/backend-keys/encryption-key-{gen}\": 1\n"
        );
        let text = "# my config\nscope: prod   # the scope\n";
        assert_eq!(
            set(text, id, 1),
            format!("{text}generations:\n  \"{id}\": 1\n")
        );
        let text = "scope: prod\ngenerations:\n  # rotated 2026-12-01\n  \"a/b/c\": 3 # note\n  other: 1\nrollme: {}\n";
        assert_eq!(
            set(text, "a/b/c", 4),
            text.replace("\"a/b/c\": 3", "\"a/b/c\": 4")
        );
        assert_eq!(
            set(text, "x/y", 1),
            text.replace("  other: 1\n", "  other: 1\n  \"x/y\": 1\n")
        );
        assert_eq!(
            set("generations: {}\n", "a", 2),
            "generations: {\"a\": 2}\n"
        );
        assert_eq!(
            set("scope: p\ngenerations: {b: 1}", "a", 2),
            "scope: p\ngenerations: {\"a\": 2, \"b\": 1}"
        );
        let crlf = "scope: prod\r\n";
        assert_eq!(
            set(crlf, "a", 1),
            "scope: prod\r\ngenerations:\r\n  \"a\": 1\r\n"
        );
    }

    #[test]
    fn a_config_that_is_not_a_block_mapping_is_refused() {
        let updates = BTreeMap::from([("a".to_string(), 1)]);
        assert!(set_generations("{scope: p}\n", &updates, Path::new("k")).is_err());
    }
}
