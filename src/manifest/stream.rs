//! The manifest stream: raw bytes split into documents without parsing them.
//!
//! Splitting is byte-exact: concatenating every range [`split`] returns gives back the input.
//! A document starts at a column-0 `---` marker line (or at the start of input) and keeps its
//! leading comments (`# Source:` lines). A document whose content is several concatenated
//! JSON objects is split further at top-level object boundaries. This module never parses
//! YAML and never changes a byte.

use std::ops::Range;

/// Largest input keyseed accepts on stdin.
pub const MAX_INPUT: usize = 1 << 30;

/// Whether a line (with its line break) is a YAML document marker `---` or `...`.
fn is_marker(line: &[u8]) -> bool {
    (line.starts_with(b"---") || line.starts_with(b"..."))
        && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Splits `input` into document ranges. YAML 1.2 `c-forbidden`: a column-0 `---` or `...`
/// followed by white space or end of line ends any scalar and the current document.
/// Directive lines (`%YAML`) after `...` belong to the following document.
pub fn split(input: &[u8]) -> Vec<Range<usize>> {
    // Only lines starting with `---`, `...` or `%` change anything, and only their first
    // four bytes matter: find those line starts (rare) instead of visiting every line. A
    // directive line matters only where no document is open: before the first `---` and
    // after a `...`, so `%` is looked for only there.
    let lines_at = |needle: &'static [u8], within: Range<usize>| {
        memchr::memmem::find_iter(&input[within.clone()], needle).map(move |i| within.start + i + 1)
    };
    let mut starts: Vec<usize> = lines_at(b"\n---", 0..input.len())
        .chain(lines_at(b"\n...", 0..input.len()))
        .chain((!input.is_empty()).then_some(0))
        .collect();
    starts.sort_unstable();
    let mut open_from = 0;
    let mut directives = Vec::new();
    for &pos in &starts {
        let line = &input[pos..input.len().min(pos + 4)];
        if !is_marker(line) {
            continue;
        }
        if line[0] == b'-' {
            // Directives between the last end (or the start) and this marker; after the
            // last marker none matters.
            if open_from < pos {
                directives.extend(lines_at(b"\n%", open_from.saturating_sub(1)..pos));
            }
            open_from = input.len();
        } else {
            open_from = open_from.min(pos);
        }
    }
    starts.extend(directives);
    starts.sort_unstable();
    starts.dedup();
    let mut cuts = Cuts::default();
    for pos in starts {
        let line = &input[pos..input.len().min(pos + 4)];
        let line = match line.iter().position(|&b| b == b'\n') {
            Some(i) => &line[..=i],
            None => line,
        };
        cuts.line(pos, line);
    }
    documents_between(input, cuts.cuts)
}

/// Where documents start, read line by line: markers end documents; directive lines after
/// `...` (or at the start) belong to the document that follows.
struct Cuts {
    cuts: Vec<usize>,
    between: bool,
    dir_start: Option<usize>,
}

impl Default for Cuts {
    fn default() -> Self {
        Cuts {
            cuts: vec![0],
            between: true,
            dir_start: None,
        }
    }
}

impl Cuts {
    /// The line starting at `pos` (at least its first four bytes, up to its newline).
    fn line(&mut self, pos: usize, line: &[u8]) {
        let first = line.first().copied();
        if matches!(first, Some(b'-' | b'.')) && is_marker(line) {
            if line[0] == b'-' {
                let cut = self.dir_start.take().unwrap_or(pos);
                if cut != 0 && *self.cuts.last().expect("non-empty") != cut {
                    self.cuts.push(cut);
                }
                self.between = false;
            } else {
                self.between = true;
                self.dir_start = None;
            }
        } else if self.between && first == Some(b'%') {
            self.dir_start.get_or_insert(pos);
        }
    }
}

/// The document ranges between the cuts (the first is 0) and the end of `input`; empty
/// ranges are dropped but one, and concatenated JSON objects become one range each.
fn documents_between(input: &[u8], mut cuts: Vec<usize>) -> Vec<Range<usize>> {
    cuts.push(input.len());
    let mut out = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        if w[0] < w[1] || out.is_empty() {
            out.extend(split_json(input, w[0]..w[1]));
        }
    }
    out
}

/// Splits a document whose content is several concatenated JSON objects (`{..}{..}` or one per
/// line) into one range per object. Anything else comes back as the one range.
fn split_json(input: &[u8], r: Range<usize>) -> Vec<Range<usize>> {
    let body = &input[r.clone()];
    let Some(first) = content_start(body) else {
        return vec![r];
    };
    if body[first] != b'{' {
        return vec![r];
    }
    let mut cuts = vec![];
    let mut i = first;
    loop {
        let Some(end) = json_object_end(body, i) else {
            return vec![r];
        };
        let mut j = end;
        while j < body.len() && body[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= body.len() {
            break;
        }
        if body[j] != b'{' {
            return vec![r];
        }
        cuts.push(j);
        i = j;
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = r.start;
    for c in cuts {
        out.push(start..r.start + c);
        start = r.start + c;
    }
    out.push(start..r.end);
    out
}

/// Offset of the first byte that is not white space, a marker line or a comment line (a
/// UTF-8 BOM at the very start is skipped).
fn content_start(body: &[u8]) -> Option<usize> {
    let mut pos = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    while pos < body.len() {
        let end = memchr::memchr(b'\n', &body[pos..])
            .map(|i| pos + i + 1)
            .unwrap_or(body.len());
        let line = &body[pos..end];
        let skip = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let rest = &line[skip..];
        if skip == 0 && is_marker(line) {
            // `--- {"kind": …}`: content may follow the marker on its line.
            let after = &line[3..];
            let lead = after
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            let tail = &after[lead..];
            if !(tail.is_empty() || tail[0] == b'#' || tail[0] == b'\n' || tail[0] == b'\r') {
                return Some(pos + 3 + lead);
            }
        } else if !(rest.is_empty() || rest[0] == b'#') {
            return Some(pos + skip);
        }
        pos = end;
    }
    None
}

/// End (exclusive) of the JSON object starting at `start`, respecting strings.
fn json_object_end(b: &[u8], start: usize) -> Option<usize> {
    let (mut depth, mut i, mut in_str) = (0usize, start, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Whether a document holds anything but white space, markers and comments.
pub fn has_content(doc: &[u8]) -> bool {
    content_start(doc).is_some()
}

/// The start of the one line that begins with `key` (column 0), or `None` when there is no
/// such line or more than one. `find` finds `"\n" + key` (a searcher built once).
fn only_line(doc: &[u8], key: &[u8], find: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
    let mut found = doc.starts_with(key).then_some(0);
    let mut pos = usize::from(found.is_some());
    while let Some(i) = find(&doc[pos..]) {
        if found.is_some() {
            return None;
        }
        found = Some(pos + i + 1);
        pos = pos + i + 1;
    }
    found
}

/// The `kind` of a block-style document, read without parsing: the value of its one
/// column-0 `kind:` line. `None` (the caller must look closer) when there is no such line,
/// more than one, or the document is a `List`/`ResourceList` (whose items have kinds of
/// their own). Used only to skip documents cheaply, never to decide what to change.
pub fn top_level_kind(doc: &[u8]) -> Option<&str> {
    let start = only_line(doc, b"kind:", |h| crate::text::find!(h, b"\nkind:"))? + 5;
    let end = memchr::memchr(b'\n', &doc[start..]).map_or(doc.len(), |i| start + i);
    let v = std::str::from_utf8(&doc[start..end]).ok()?;
    let v = v
        .split(" #")
        .next()?
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    if v.is_empty() || v.ends_with("List") {
        return None;
    }
    Some(v)
}

/// Whether a byte may appear in a Kubernetes object name as keyseed matches names in text.
pub const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// The `metadata.name` of a plain block-style document, read without parsing: exactly one
/// column-0 `metadata:` line with nothing after the colon, the next line exactly
/// `  name: NAME` with NAME of [`is_name_byte`]s, and the line after that (if any) starting
/// with content at column 0, 1 or 2, so the scalar cannot continue. `None` when anything
/// differs. Used only to skip documents cheaply, never to decide what to change.
pub fn block_metadata_name(doc: &[u8]) -> Option<&str> {
    let found = only_line(doc, b"metadata:", |h| crate::text::find!(h, b"\nmetadata:"))?;
    let rest = &doc[found + "metadata:".len()..];
    let rest = rest
        .strip_prefix(b"\n")
        .or_else(|| rest.strip_prefix(b"\r\n"))?
        .strip_prefix(b"  name: ")?;
    let len = rest.iter().take_while(|&&b| is_name_byte(b)).count();
    let (name, tail) = rest.split_at(len);
    if name.is_empty() {
        return None;
    }
    if !tail.is_empty() {
        let next = tail
            .strip_prefix(b"\n")
            .or_else(|| tail.strip_prefix(b"\r\n"))?;
        let indent = next.iter().take_while(|&&b| b == b' ').count();
        if !next.is_empty()
            && (indent > 2 || matches!(next.get(indent), Some(b'\n' | b'\r' | b'\t') | None))
        {
            return None;
        }
    }
    std::str::from_utf8(name).ok()
}

/// The first `# Source: FILE` comment of a document (Helm 3), for error locations.
pub fn source_comment(doc: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(doc).ok()?;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("# Source:") {
            return Some(rest.trim().to_string());
        }
        if !(t.is_empty() || t.starts_with('#') || t.starts_with("---")) {
            break;
        }
    }
    None
}

/// A document's leading `---` and comment lines (`# Source:`), for a document keyseed
/// writes whole in its place (a SealedSecret, a SOPS document).
pub fn leading_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() || t == "---" {
            out.push_str(line);
        } else {
            break;
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `split` as written before issue #13: every line visited, whole.
    fn split_line_by_line(input: &[u8]) -> Vec<Range<usize>> {
        let mut cuts = Cuts::default();
        let mut pos = 0;
        while pos < input.len() {
            let end = memchr::memchr(b'\n', &input[pos..])
                .map(|i| pos + i + 1)
                .unwrap_or(input.len());
            cuts.line(pos, &input[pos..end]);
            pos = end;
        }
        documents_between(input, cuts.cuts)
    }

    #[test]
    fn block_metadata_name_is_read_only_where_it_cannot_be_wrong() {
        fn n(s: &str) -> Option<&str> {
            block_metadata_name(s.as_bytes())
        }
        assert_eq!(
            n("kind: Secret\nmetadata:\n  name: db.creds\n  labels: {}\n"),
            Some("db.creds")
        );
        assert_eq!(n("metadata:\n  name: a-1\r\ndata: {}\n"), Some("a-1"));
        assert_eq!(n("metadata:\n  name: last"), Some("last"));
        // Quoted, tagged, anchored, aliased or commented names, other layouts: parse instead.
        for doc in [
            "metadata:\n  name: \"q\"\n",
            "metadata:\n  name: !!str t\n",
            "metadata:\n  name: &a n\n",
            "metadata:\n  name: *a\n",
            "metadata:\n  name: n # c\n",
            "metadata:\n  name: n\n    continued\n",
            "metadata:\n  name: n\n\n    continued\n",
            "metadata:\n    name: n\n",
            "metadata: {name: n}\n",
            "metadata:\n  labels: {}\n  name: n\n",
            "metadata:\n  name: a\nmetadata:\n  name: b\n",
            "x: 1\n",
        ] {
            assert_eq!(n(doc), None, "{doc:?}");
        }
    }

    #[test]
    fn split_finds_the_same_documents_as_visiting_every_line() {
        let lines: [&str; 20] = [
            "---\n",
            "--- x\n",
            "---",
            "...\n",
            "... \n",
            "...x\n",
            "%YAML 1.1\n",
            "%TAG ! x\n",
            "a: 1\n",
            "- b\n",
            "-- c\n",
            ".d\n",
            "# c\n",
            "\n",
            "---\r\n",
            "  - e\n",
            "--\n",
            "{\"a\":1}\n",
            "---\t{}\n",
            "..",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for case in 0..20_000 {
            let mut input = String::new();
            for _ in 0..(case % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                input.push_str(lines[(x % lines.len() as u64) as usize]);
            }
            assert_eq!(
                split(input.as_bytes()),
                split_line_by_line(input.as_bytes()),
                "{input:?}"
            );
        }
    }

    fn parts(s: &str) -> Vec<&str> {
        split(s.as_bytes()).into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn split_is_byte_exact() {
        for s in [
            "",
            "a: 1\n",
            "---\n# Source: x\na: 1\n---\n# Source: y\nb: 2\n",
            "a: 1\n---\nb: |\n  ---x\n  --- y\n---\nc: 3",
            "a: 1\r\n---\r\nb: 2\r\n",
            "a: 1\n...\n%YAML 1.1\n---\nb: 2\n",
            "{\"a\":1}\n{\"b\":2}\n",
        ] {
            assert_eq!(parts(s).concat(), s);
        }
    }

    #[test]
    fn splits_on_markers_only_at_column_zero() {
        assert_eq!(parts("a: 1\n---\nb: 2\n"), vec!["a: 1\n", "---\nb: 2\n"]);
        assert_eq!(parts("a: |\n  ---\n  x\n").len(), 1);
        assert_eq!(parts("a: 1\n---x: 2\n").len(), 1);
        assert_eq!(parts("---\na: 1\n--- \nb: 2\n").len(), 2);
    }

    #[test]
    fn directives_belong_to_the_next_document() {
        let p = parts("a: 1\n...\n%YAML 1.1\n---\nb: 2\n");
        assert_eq!(p, vec!["a: 1\n...\n", "%YAML 1.1\n---\nb: 2\n"]);
    }

    #[test]
    fn concatenated_json_objects_are_separate_documents() {
        let p = parts("{\"a\":\"}{\"}\n{\"b\":[1,{}]}");
        assert_eq!(p, vec!["{\"a\":\"}{\"}\n", "{\"b\":[1,{}]}"]);
        assert_eq!(parts("{\"a\":1}").len(), 1);
    }

    #[test]
    fn regression_bom_only_input_is_empty_not_a_crash() {
        // Found by `cargo fuzz run stream`: a lone BOM indexed past the end.
        assert_eq!(split(b"\xEF\xBB\xBF"), vec![0..3]);
        assert!(!has_content(b"\xEF\xBB\xBF"));
        assert!(!has_content(b"\xEF\xBB\xBF---\n# c\n"));
        assert_eq!(split(b"\xEF\xBB\xBF{\"a\":1}{\"b\":2}").len(), 2);
    }

    #[test]
    fn top_level_kind_is_read_cheaply_or_not_at_all() {
        assert_eq!(
            top_level_kind(b"---\napiVersion: v1\nkind: Secret\nmetadata: {}\n"),
            Some("Secret")
        );
        assert_eq!(
            top_level_kind(b"kind: \"ConfigMap\" # c\n"),
            Some("ConfigMap")
        );
        assert_eq!(top_level_kind(b"kind: List\nitems: []\n"), None);
        assert_eq!(top_level_kind(b"kind: A\nx: |\n  y\nkind: B\n"), None);
        assert_eq!(top_level_kind(b"{\"kind\":\"Secret\"}"), None);
    }

    #[test]
    fn content_detection_skips_comments_and_markers() {
        assert!(!has_content(b"---\n# HIDDEN\n\n"));
        assert!(has_content(b"---\n# c\na: 1\n"));
        assert_eq!(
            source_comment(b"---\n# Source: demo/x.yaml\na: 1"),
            Some("demo/x.yaml".into())
        );
    }
}
