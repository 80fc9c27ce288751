//! Checking an edit inside one block mapping by parsing that mapping's lines alone, instead
//! of the whole document again.
//!
//! A block mapping whose first key starts its line (spaces only before it, column `n` ≥ 1)
//! is read from its own lines: the scanner enters its first line in block context with a
//! parent indentation below `n`, every entry starts at column `n`, and the first later line
//! with content at a column below `n` ends it. None of that depends on the lines before or
//! after, so the same lines parsed on their own give the same entries, and a document whose
//! only change lies inside those lines means what it meant with that mapping replaced by
//! what the changed lines parse to. [`Window::of`] takes only mappings where this holds on
//! the text itself (it finds the end line by line, not from the parser's spans), and
//! [`Window::check`] parses the edited lines and compares them entry by entry with the
//! original: keys, and where values start, must be unchanged except where an edit wrote.
//! Anything it cannot show returns `None`, and the caller parses the whole document.

use std::ops::Range;

use crate::manifest::edit::{self, Edit};
use crate::manifest::yaml::{self, Mapping, Node};
use crate::secret::SecretValue;

/// One entry of the mapping as parsed in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The key's span.
    key: Range<usize>,
    /// Where the value starts.
    value_start: usize,
    /// The value's span when it is a scalar (collections' spans end at the next token).
    scalar: Option<Range<usize>>,
    /// What the value is.
    shape: Shape,
}

/// The kind of a node, as compared here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Map,
    Seq,
    Alias,
}

fn shape(n: &Node) -> Shape {
    match n {
        Node::Scalar(_) => Shape::Scalar,
        Node::Map(_) => Shape::Map,
        Node::Seq(_) => Shape::Seq,
        Node::Alias(..) => Shape::Alias,
    }
}

/// The lines of a block mapping, and its entries as the document parsed them.
#[derive(Debug, Clone)]
pub struct Window {
    /// Whole lines: from the start of the first key's line to the start of the first later
    /// line with content at a column below the keys' (or the end of the document).
    pub lines: Range<usize>,
    /// The keys' column.
    col: usize,
    entries: Vec<Entry>,
}

impl Window {
    /// The window of block mapping `m` of document `text`, or `None` where the mapping does
    /// not stand on lines of its own (flow style, an anchor others may alias, a first key
    /// after `- ` or `? `, column 0, a tab in its indentation).
    pub fn of(text: &str, m: &Mapping) -> Option<Window> {
        if m.flow || m.anchor != 0 {
            return None;
        }
        let bytes = text.as_bytes();
        let Node::Scalar(first) = &m.entries.first()?.0 else {
            return None;
        };
        let start = bytes[..first.span.start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let col = first.span.start - start;
        if col == 0
            || col != first.col
            || !bytes[start..first.span.start].iter().all(|&b| b == b' ')
        {
            return None;
        }
        // The end: the first line after the first key's with content below column `col`.
        let mut pos = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
        while pos < bytes.len() {
            let line_end =
                memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
            let line = &bytes[pos..line_end];
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            match line.get(indent) {
                // A tab where indentation may continue: not decided here.
                Some(b'\t') => return None,
                Some(b'\n' | b'\r') | None => {}
                // A comment (or block scalar content, which lies deeper than `col`).
                Some(b'#') => {}
                Some(_) if indent < col => break,
                Some(_) => {}
            }
            pos = line_end;
        }
        let end = pos;
        let mut entries = Vec::with_capacity(m.entries.len());
        for (k, v) in &m.entries {
            let Node::Scalar(ks) = k else { return None };
            let value_start = v.span().start;
            let scalar = matches!(v, Node::Scalar(_)).then(|| v.span());
            if ks.span.end > end
                || value_start > end
                || scalar.as_ref().is_some_and(|s| s.end > end)
            {
                return None;
            }
            entries.push(Entry {
                key: ks.span.clone(),
                value_start,
                scalar,
                shape: shape(v),
            });
        }
        Some(Window {
            lines: start..end,
            col,
            entries,
        })
    }

    /// Whether an edit lies inside the window (an insertion at its end does not).
    pub fn holds(&self, e: &Edit) -> bool {
        self.lines.start <= e.range.start
            && e.range.end <= self.lines.end
            && e.range.start < self.lines.end
    }

    /// Parses the window's lines of `text` with `edits` (all inside it) applied, on their
    /// own, and returns the mapping they hold when every entry of the original is still
    /// there, in order, with its key and the start of its value where they were (shifted
    /// past the edits before them), except values an edit replaced whole; new entries may
    /// appear only inside inserted text. `None` when any of that does not hold (the caller
    /// then parses the whole document).
    pub fn check(&self, text: &str, edits: &[&Edit]) -> Option<Mapping> {
        let a = self.lines.start;
        // A tab may be indentation in one context and not in another.
        if edits
            .iter()
            .any(|e| !self.holds(e) || e.text.expose().contains('\t'))
        {
            return None;
        }
        let mut local: Vec<Edit> = edits
            .iter()
            .map(|e| Edit {
                range: e.range.start - a..e.range.end - a,
                text: SecretValue::new(e.text.expose().to_string()),
            })
            .collect();
        local.sort_by_key(|e| (e.range.start, e.range.end));
        let lines = text.get(self.lines.clone())?;
        let new = edit::apply(lines.as_bytes(), &local)?;
        let new = std::str::from_utf8(new.expose()).ok()?;
        let mut roots = yaml::parse(new).ok()?;
        if roots.len() != 1 {
            return None;
        }
        let Some(Node::Map(m)) = roots.pop() else {
            return None;
        };
        // Still a block mapping at the keys' column, first on its line.
        let Some((Node::Scalar(first), _)) = m.entries.first() else {
            return None;
        };
        let line = new[..first.span.start].rfind('\n').map_or(0, |i| i + 1);
        if m.flow
            || first.span.start - line != self.col
            || !new[line..first.span.start].bytes().all(|b| b == b' ')
        {
            return None;
        }
        // Where an original offset lies in the edited lines; `None` inside a replaced range.
        // Text inserted at a start offset comes before what starts there; text inserted at
        // an end offset comes after what ends there.
        let shifted = |p: usize, end: bool| -> Option<usize> {
            let q = p.checked_sub(a)?;
            let mut shift: isize = 0;
            for e in &local {
                let at_end = end && e.range.is_empty() && e.range.start == q;
                if e.range.end <= q && !at_end {
                    shift += e.text.expose().len() as isize - e.range.len() as isize;
                } else if e.range.start < q && !at_end {
                    return None;
                }
            }
            q.checked_add_signed(shift)
        };
        let moved = |p: usize| shifted(p, false);
        let moved_end = |p: usize| shifted(p, true);
        // Whether an edited-lines range was written by an edit.
        let written = |r: &Range<usize>| {
            let mut shift: isize = 0;
            for e in &local {
                let at = e.range.start.checked_add_signed(shift)?;
                let len = e.text.expose().len();
                if at <= r.start && r.end <= at + len {
                    return Some(());
                }
                shift += len as isize - e.range.len() as isize;
            }
            None
        };
        let mut old = self.entries.iter().peekable();
        for (k, v) in &m.entries {
            let Node::Scalar(ks) = k else { return None };
            match old.peek() {
                Some(o) if moved(o.key.start) == Some(ks.span.start) => {
                    if moved_end(o.key.end) != Some(ks.span.end)
                        || shape(v) != o.shape && written(&v.span()).is_none()
                    {
                        return None;
                    }
                    let kept = moved(o.value_start) == Some(v.span().start)
                        && o.scalar
                            .as_ref()
                            .is_none_or(|s| moved_end(s.end) == Some(v.span().end));
                    if !kept && written(&v.span()).is_none() {
                        return None;
                    }
                    old.next();
                }
                _ => {
                    // A new entry: key and value wholly written by one edit.
                    written(&ks.span)?;
                    written(&v.span())?;
                }
            }
        }
        old.next().is_none().then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::edit::Edit;

    /// The block mapping at `path` (keys) of `text`'s first document.
    fn mapping<'a>(roots: &'a [Node], path: &[&str]) -> &'a Mapping {
        let mut n = &roots[0];
        for k in path {
            n = n.get(k).expect("path");
        }
        match n {
            Node::Map(m) => m,
            _ => panic!("not a mapping"),
        }
    }

    /// Inserts `"k": "v"` as the first entry of the mapping at `path`, checks it in the
    /// window, and compares with a parse of the whole edited document.
    fn insert_first(text: &str, path: &[&str]) -> Option<Mapping> {
        let roots = yaml::parse(text).expect("parses");
        let m = mapping(&roots, path);
        let w = Window::of(text, m)?;
        let slot = edit::insert_slot(text, m, "k");
        let e = slot.fill("\"v\"");
        assert!(w.holds(&e));
        let checked = w.check(text, &[&e]);
        if let Some(c) = &checked {
            // What the window says is what the whole edited document says.
            let new = edit::apply(text.as_bytes(), &[e]).expect("applies");
            let whole = yaml::parse(std::str::from_utf8(new.expose()).unwrap()).expect("parses");
            let full = mapping(&whole, path);
            let keys = |m: &Mapping| -> Vec<String> {
                m.entries
                    .iter()
                    .map(|(k, _)| k.scalar().unwrap().value.clone())
                    .collect()
            };
            assert_eq!(keys(c), keys(full));
            assert_eq!(c.entries.len(), m.entries.len() + 1);
        }
        checked
    }

    const TEMPLATE: &str = "spec:\n  template:\n    metadata:\n      annotations:\n        a: \"1\"\n        b: |\n          x\n          y\n\n        c: [1,\n          2]\n      labels:\n        app: x\n    spec: {}\n";

    #[test]
    fn an_insertion_is_checked_in_the_lines_of_its_mapping() {
        let m = insert_first(TEMPLATE, &["spec", "template", "metadata", "annotations"]);
        let m = m.expect("checked in the window");
        assert_eq!(Node::Map(m).get_str("k"), Some("v"));
        // The metadata mapping holds a nested mapping: checked there too.
        assert!(insert_first(TEMPLATE, &["spec", "template", "metadata"]).is_some());
        // A mapping at the end of the document, and one whose last line has no line break.
        assert!(insert_first("a:\n  b: 1\n  c: 2", &["a"]).is_some());
    }

    #[test]
    fn mappings_that_do_not_stand_on_lines_of_their_own_are_left_to_a_whole_parse() {
        let none = |text: &str, path: &[&str]| {
            let roots = yaml::parse(text).expect("parses");
            Window::of(text, mapping(&roots, path)).is_none()
        };
        assert!(none("a: {b: 1}\n", &["a"]), "flow style");
        assert!(
            none("a: &x\n  b: 1\nc: *x\n", &["a"]),
            "anchored: an alias reads it too"
        );
        assert!(none("a: 1\nb: 2\n", &[]), "column 0");
        let roots = yaml::parse("a:\n  - b: 1\n    c: 2\n").unwrap();
        let Node::Seq(s) = roots[0].get("a").unwrap() else {
            panic!()
        };
        let Node::Map(item) = &s.items[0] else {
            panic!()
        };
        assert!(
            Window::of("a:\n  - b: 1\n    c: 2\n", item).is_none(),
            "after `- `"
        );
    }

    #[test]
    fn a_window_that_does_not_hold_the_whole_mapping_is_refused() {
        // A comment below the keys' column inside the mapping ends the window early; the
        // edited lines then miss an entry, so the check refuses (the caller parses).
        let text = "a:\n  b: 1\n# note\n  c: 2\nd: 3\n";
        let roots = yaml::parse(text).unwrap();
        let m = mapping(&roots, &["a"]);
        if let Some(w) = Window::of(text, m) {
            let e = edit::insert_slot(text, m, "k").fill("\"v\"");
            if let Some(c) = w.check(text, &[&e]) {
                assert_eq!(c.entries.len(), 3, "all of a's entries, or nothing");
            }
        }
        // An edit that breaks the lines is refused, never vouched for.
        let text = "a:\n  b: 1\n  c: 2\n";
        let roots = yaml::parse(text).unwrap();
        let w = Window::of(text, mapping(&roots, &["a"])).unwrap();
        let bad = Edit::plain(5..5, "[".into());
        assert!(w.check(text, &[&bad]).is_none());
        // An edit outside the window is refused, not applied.
        assert!(w
            .check(text, &[&Edit::plain(0..0, "x: 1\n".into())])
            .is_none());
        // An edit that moves an entry into another (indentation) is refused.
        let deeper = Edit::plain(10..10, "  ".into());
        assert!(w.check(text, &[&deeper]).is_none());
    }

    #[test]
    fn a_replaced_value_is_checked_and_others_keep_their_spans() {
        let text = "m:\n  x: old\n  y: 2\n";
        let roots = yaml::parse(text).unwrap();
        let m = mapping(&roots, &["m"]);
        let w = Window::of(text, m).unwrap();
        let (k, v) = &m.entries[0];
        let e = edit::value_slot(text, k.scalar().unwrap(), v).fill("\"new\"");
        let c = w.check(text, &[&e]).expect("checked");
        let c = Node::Map(c);
        assert_eq!(c.get_str("x"), Some("new"));
        assert_eq!(c.get_str("y"), Some("2"));
    }

    /// The scalar values of a mapping's entries (keys and plain values), for comparison.
    fn flat(m: &Mapping) -> Vec<(String, String)> {
        m.entries
            .iter()
            .map(|(k, v)| {
                let val = match v {
                    Node::Scalar(s) => format!("={}", s.value),
                    Node::Map(m) => format!("{:?}", flat(m)),
                    Node::Seq(s) => format!("[{}]", s.items.len()),
                    Node::Alias(..) => "*".into(),
                };
                (k.scalar().map(|s| s.value.clone()).unwrap_or_default(), val)
            })
            .collect()
    }

    #[test]
    fn whatever_the_window_vouches_for_the_whole_document_parses_to() {
        // Random documents around one mapping `t.m`, random edits inside its window: when the
        // window's check says yes, the whole edited document must parse and hold the same
        // mapping at the same place.
        let lines = [
            "    a: 1\n",
            "    b: \"x\"\n",
            "    c: |\n      lit\n      more\n",
            "    d:\n      e: f\n",
            "    g: [1,\n      2]\n",
            "    # c\n",
            "\n",
            "# low\n",
            "    h: >-\n      folded\n\n",
            "    i: &a v\n",
            "    j: *a\n",
            "    k:\n    - x\n    - y\n",
            "    l: 'q'\n",
            "    m2: plain\n      cont\n",
        ];
        let snippets = [
            "\"k\": \"v\"\n    ",
            "\n",
            "  ",
            "x: 1\n",
            "- a\n",
            "#c\n",
            "'",
            "\"",
            "|\n",
            "&b ",
            "*a ",
            "    n: o\n",
            "z: {p: 1}\n    ",
            ": ",
            "? q\n",
            "\t",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut vouched = 0;
        for _ in 0..30_000 {
            let mut text = String::from("t:\n  m:\n    first: 0\n");
            for _ in 0..next(6) {
                text.push_str(lines[next(lines.len())]);
            }
            text.push_str(["  after: 1\n", "other: 2\n", ""][next(3)]);
            let Ok(roots) = yaml::parse(&text) else {
                continue;
            };
            let Some(Node::Map(m)) = roots
                .first()
                .and_then(|r| r.get("t"))
                .and_then(|t| t.get("m"))
            else {
                continue;
            };
            let Some(w) = Window::of(&text, m) else {
                continue;
            };
            let mut edits = Vec::new();
            for _ in 0..1 + next(2) {
                let at = w.lines.start + next(w.lines.len());
                if !text.is_char_boundary(at) {
                    continue;
                }
                edits.push(Edit::plain(at..at, snippets[next(snippets.len())].into()));
            }
            edits.sort_by_key(|e| e.range.start);
            edits.dedup_by_key(|e| e.range.start);
            let refs: Vec<&Edit> = edits.iter().collect();
            let Some(checked) = w.check(&text, &refs) else {
                continue;
            };
            vouched += 1;
            let new = edit::apply(text.as_bytes(), &edits).expect("applies");
            let new = std::str::from_utf8(new.expose()).unwrap();
            let whole =
                yaml::parse(new).unwrap_or_else(|e| panic!("vouched for, but {e}: {new:?}"));
            let full = whole[0].get("t").and_then(|t| t.get("m"));
            let Some(Node::Map(full)) = full else {
                panic!("no t.m in {new:?}")
            };
            assert_eq!(flat(&checked), flat(full), "{new:?}");
            // The rest of the document is what it was.
            let others = |r: &Node| -> Vec<String> {
                match r {
                    Node::Map(m) => m
                        .entries
                        .iter()
                        .map(|(k, _)| k.scalar().unwrap().value.clone())
                        .collect(),
                    _ => vec![],
                }
            };
            assert_eq!(others(&roots[0]), others(&whole[0]), "{new:?}");
        }
        assert!(vouched > 1000, "the test exercised the window ({vouched})");
    }
}
