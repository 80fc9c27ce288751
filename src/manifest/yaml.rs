//! A read-only YAML tree with byte spans, built from `granit-parser` events.
//!
//! keyseed never re-emits a document: it reads this tree to find what to change and then
//! edits the original bytes at the spans recorded here. Aliases are recorded, never expanded,
//! so an alias bomb costs nothing; nesting is capped by the parser (a clear error, no stack
//! overflow). This module owns parsing only; it does not know Kubernetes.

use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

/// Largest number of nodes one document may hold. A tree node costs about 100 bytes while
/// a node of input may be two (`a,`), so this bounds one parse to about 100 MB whatever the
/// input; real documents (the largest CRDs included) hold far fewer.
pub const MAX_NODES: usize = 1_000_000;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A plain scalar.
    Plain,
    /// `'single'`.
    Single,
    /// `"double"`.
    Double,
    /// `|` literal block.
    Literal,
    /// `>` folded block.
    Folded,
}

/// A scalar with its span (the quotes included; for block scalars the content lines only).
#[derive(Debug, Clone)]
pub struct Scalar {
    /// The scalar's text after YAML unescaping and folding.
    pub value: String,
    /// How it was written.
    pub style: Style,
    /// An explicit tag such as `!!binary`.
    pub tag: Option<String>,
    /// Byte span in the document text.
    pub span: Range<usize>,
    /// 0-based column of the first character.
    pub col: usize,
    /// 1-based line.
    pub line: usize,
    /// The parser's id of its anchor (`&name`); 0 when it has none.
    pub anchor: usize,
}

impl Scalar {
    /// Whether the scalar is null under YAML 1.1 (go-yaml v2): plain and empty (`key:`),
    /// `~`, `null`, `Null` or `NULL`, with no tag.
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && self.tag.is_none()
            && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

/// A node of the tree.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar.
    Scalar(Scalar),
    /// A mapping, in source order.
    Map(Mapping),
    /// A sequence.
    Seq(Sequence),
    /// An alias (`*name`), not expanded: its span and the id of the anchor it names.
    Alias(Range<usize>, usize),
}

/// A mapping node.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Key/value pairs in source order.
    pub entries: Vec<(Node, Node)>,
    /// `{...}` flow style.
    pub flow: bool,
    /// Span (start of the first key .. end) in the document text.
    pub span: Range<usize>,
    /// The parser's id of its anchor; 0 when it has none.
    pub anchor: usize,
}

/// A sequence node.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Items in order.
    pub items: Vec<Node>,
    /// Span in the document text.
    pub span: Range<usize>,
    /// The parser's id of its anchor; 0 when it has none.
    pub anchor: usize,
}

impl Node {
    /// The scalar, if this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a mapping entry whose key is the plain string `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m
                .entries
                .iter()
                .find(|(k, _)| k.scalar().is_some_and(|s| s.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value of `key`, if it is a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Node::scalar)
            .map(|s| s.value.as_str())
    }

    /// Byte span of the node.
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Scalar(s) => s.span.clone(),
            Node::Map(m) => m.span.clone(),
            Node::Seq(s) => s.span.clone(),
            Node::Alias(r, _) => r.clone(),
        }
    }

    /// The parser's id of the node's anchor; 0 when it has none (or is an alias).
    pub fn anchor(&self) -> usize {
        match self {
            Node::Scalar(s) => s.anchor,
            Node::Map(m) => m.anchor,
            Node::Seq(s) => s.anchor,
            Node::Alias(..) => 0,
        }
    }
}

/// A parse failure, with a 1-based line and column in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// The parser's message (it names YAML syntax, never scalar content).
    pub message: String,
}

/// The anchored nodes of a document, to resolve aliases the way Kubernetes' reader does.
#[derive(Debug, Default)]
pub struct Anchors<'a> {
    by_id: std::collections::HashMap<usize, &'a Node>,
}

/// Most alias hops followed when resolving (an alias of an alias of ...).
const MAX_ALIAS_HOPS: usize = 64;

impl<'a> Anchors<'a> {
    /// Indexes every anchored node of `roots`.
    pub fn new(roots: &'a [Node]) -> Self {
        let mut by_id = std::collections::HashMap::new();
        let mut stack: Vec<&'a Node> = roots.iter().collect();
        while let Some(n) = stack.pop() {
            if n.anchor() != 0 {
                by_id.insert(n.anchor(), n);
            }
            match n {
                Node::Map(m) => {
                    for (k, v) in &m.entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                Node::Seq(s) => stack.extend(s.items.iter()),
                _ => {}
            }
        }
        Anchors { by_id }
    }

    /// The spans of the anchored nodes some alias of the document names: an edit inside one
    /// would change what the alias reads too.
    pub fn aliased_spans(&self, roots: &[Node]) -> Vec<Range<usize>> {
        let mut ids = std::collections::BTreeSet::new();
        let mut stack: Vec<&Node> = roots.iter().collect();
        while let Some(n) = stack.pop() {
            match n {
                Node::Alias(_, id) => {
                    ids.insert(*id);
                }
                Node::Map(m) => {
                    for (k, v) in &m.entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                Node::Seq(s) => stack.extend(s.items.iter()),
                Node::Scalar(_) => {}
            }
        }
        ids.iter()
            .filter_map(|id| self.by_id.get(id))
            .map(|n| n.span())
            .collect()
    }

    /// The node an alias stands for (aliases of aliases followed); other nodes as they are.
    pub fn resolve(&self, mut n: &'a Node) -> &'a Node {
        for _ in 0..MAX_ALIAS_HOPS {
            match n {
                Node::Alias(_, id) => match self.by_id.get(id) {
                    Some(t) => n = t,
                    None => return n,
                },
                _ => return n,
            }
        }
        n
    }

    /// The value of `key` in the mapping `n` as YAML 1.1 reads it: `n` and the value resolved
    /// through aliases, merge keys expanded (see [`Anchors::entries`]).
    pub fn get(&self, n: &'a Node, key: &str) -> Option<&'a Node> {
        let Node::Map(m) = self.resolve(n) else {
            return None;
        };
        let merges = m.entries.iter().any(|(k, _)| {
            k.scalar()
                .is_some_and(|s| s.value == "<<" && s.style == Style::Plain)
        });
        if !merges {
            return m
                .entries
                .iter()
                .find(|(k, _)| k.scalar().is_some_and(|s| s.value == key))
                .map(|(_, v)| self.resolve(v));
        }
        self.entries(m)
            .into_iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// The string value of `key` (see [`Anchors::get`]), if it is a scalar.
    pub fn get_str(&self, n: &'a Node, key: &str) -> Option<&'a str> {
        self.get(n, key)
            .and_then(Node::scalar)
            .map(|s| s.value.as_str())
    }

    /// The items of the sequence `n` (`n` and each item resolved through aliases); none when
    /// `n` is not a sequence.
    pub fn items(&self, n: Option<&'a Node>) -> Vec<&'a Node> {
        match n.map(|n| self.resolve(n)) {
            Some(Node::Seq(s)) => s.items.iter().map(|i| self.resolve(i)).collect(),
            _ => Vec::new(),
        }
    }

    /// The entries of a mapping as YAML 1.1 reads them: merge keys (`<<: *base`,
    /// `<<: [*a, *b]`) expanded, keys written in the mapping winning over merged ones, and
    /// earlier merged mappings over later ones; values resolved through aliases.
    pub fn entries(&self, m: &'a Mapping) -> Vec<(&'a Scalar, &'a Node)> {
        let mut out: Vec<(&'a Scalar, &'a Node)> = Vec::new();
        let mut merged: Vec<(&'a Scalar, &'a Node)> = Vec::new();
        for (k, v) in &m.entries {
            match k {
                Node::Scalar(ks) if ks.value == "<<" && ks.style == Style::Plain => {
                    let sources: Vec<&'a Node> = match self.resolve(v) {
                        Node::Seq(s) => s.items.iter().map(|i| self.resolve(i)).collect(),
                        other => vec![other],
                    };
                    for src in sources {
                        if let Node::Map(sm) = src {
                            for (mk, mv) in &sm.entries {
                                if let Node::Scalar(mks) = mk {
                                    if !merged.iter().any(|(x, _)| x.value == mks.value) {
                                        merged.push((mks, self.resolve(mv)));
                                    }
                                }
                            }
                        }
                    }
                }
                Node::Scalar(ks) => out.push((ks, self.resolve(v))),
                _ => {}
            }
        }
        for (k, v) in merged {
            if !out.iter().any(|(x, _)| x.value == k.value) {
                out.push((k, v));
            }
        }
        out
    }
}

enum Frame {
    /// A mapping, its pending key, and the hashes of its scalar keys so far.
    Map(Mapping, Option<Node>, std::collections::HashSet<u64>),
    Seq(Sequence),
}

/// Fails when `k` repeats a key of `m`. Small mappings are scanned; large ones keep key
/// hashes (built once they grow), so the check stays linear without allocating for most.
fn check_new_key(
    m: &Mapping,
    keys: &mut std::collections::HashSet<u64>,
    k: &Scalar,
) -> Result<(), ParseError> {
    if k.value == "<<" {
        return Ok(());
    }
    let seen = || {
        m.entries
            .iter()
            .any(|(e, _)| e.scalar().is_some_and(|e| e.value == k.value))
    };
    let repeated = if m.entries.len() < 16 {
        seen()
    } else {
        if keys.is_empty() {
            keys.extend(
                m.entries
                    .iter()
                    .filter_map(|(e, _)| e.scalar().map(key_hash)),
            );
        }
        !keys.insert(key_hash(k)) && seen()
    };
    if repeated {
        return Err(ParseError {
            line: k.line,
            col: k.col + 1,
            message: format!("the key `{}` appears twice in one mapping", k.value),
        });
    }
    Ok(())
}

/// A hash of a scalar key, to find a repeated key without comparing every pair.
fn key_hash(s: &Scalar) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.value.hash(&mut h);
    h.finish()
}

/// Parses one document's text into its YAML documents (usually one; empty for a
/// comment-only document).
pub fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes = 0usize;
    let off = |m: &granit_parser::Marker| m.byte_offset().unwrap_or(0);
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| ParseError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(ParseError {
                line: span.start.line(),
                col: span.start.col() + 1,
                message: format!("document has more than {MAX_NODES} YAML nodes"),
            });
        }
        let node = match ev {
            Event::StreamEnd => break,
            Event::Scalar(value, style, anchor, tag) => Node::Scalar(Scalar {
                value: value.into_owned(),
                style: match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::Single,
                    ScalarStyle::DoubleQuoted => Style::Double,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                },
                tag: tag.map(|t| t.to_string()),
                span: off(&span.start)..off(&span.end),
                col: span.start.col(),
                line: span.start.line(),
                anchor,
            }),
            Event::Alias(id) => Node::Alias(off(&span.start)..off(&span.end), id),
            Event::MappingStart(style, anchor, _) => {
                stack.push(Frame::Map(
                    Mapping {
                        entries: Vec::new(),
                        flow: style == StructureStyle::Flow,
                        span: off(&span.start)..off(&span.start),
                        anchor,
                    },
                    None,
                    std::collections::HashSet::new(),
                ));
                continue;
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq(Sequence {
                    items: Vec::new(),
                    span: off(&span.start)..off(&span.start),
                    anchor,
                }));
                continue;
            }
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(mut m, _, _)) => {
                    m.span.end = off(&span.end).max(m.span.start);
                    Node::Map(m)
                }
                _ => unreachable!("parser balances mapping events"),
            },
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(mut s)) => {
                    s.span.end = off(&span.end).max(s.span.start);
                    Node::Seq(s)
                }
                _ => unreachable!("parser balances sequence events"),
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(s)) => s.items.push(node),
            Some(Frame::Map(m, pending, keys)) => match pending.take() {
                None => {
                    // go-yaml (Kubernetes) rejects a mapping that repeats a key.
                    if let Node::Scalar(k) = &node {
                        check_new_key(m, keys, k)?;
                    }
                    *pending = Some(node)
                }
                Some(k) => m.entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}

/// What a plain scalar means to go-yaml v2 (`sigs.k8s.io/yaml`'s reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    /// A string.
    Str,
    /// `true`/`false` (including `yes`, `on`, `y`, ...).
    Bool(bool),
    /// `~`, `null`, empty.
    Null,
    /// An integer (decimal, `0x`, `0o`, `0b`, leading-zero octal, underscores allowed).
    Int,
    /// A float.
    Float,
}

/// Resolves a plain scalar the way go-yaml v2 (`resolve.go`) does.
pub fn resolve_plain(s: &str) -> Plain {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Plain::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Plain::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Plain::Float,
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Plain::Str;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    let digits = plain.trim_start_matches(['-', '+']);
    let int = if let Some(h) = digits.strip_prefix("0x") {
        !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())
    } else if let Some(o) = digits.strip_prefix("0o") {
        !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b))
    } else if let Some(b) = digits.strip_prefix("0b") {
        !b.is_empty() && b.bytes().all(|b| b == b'0' || b == b'1')
    } else if digits.len() > 1 && digits.starts_with('0') {
        digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    } else {
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if int && plain.len() - digits.len() <= 1 {
        return Plain::Int;
    }
    if is_float(&plain) {
        return Plain::Float;
    }
    Plain::Str
}

/// go-yaml v2's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && matches!(b[i], b'-' | b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'-' | b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_get_reads_aliases_and_merge_keys_as_yaml_1_1() {
        let t = "base: &b {x: from-base, y: from-base}\nm:\n  <<: *b\n  y: own\nr: &r {k: v}\na: *r\nl: &l [1, 2]\nn: *l\n";
        let roots = parse(t).unwrap();
        let a = Anchors::new(&roots);
        let d = &roots[0];
        let m = d.get("m").unwrap();
        assert_eq!(a.get_str(m, "x"), Some("from-base"));
        assert_eq!(
            a.get_str(m, "y"),
            Some("own"),
            "a written key wins over a merged one"
        );
        assert_eq!(a.get_str(d.get("a").unwrap(), "k"), Some("v"));
        assert_eq!(a.items(d.get("n")).len(), 2);
        assert_eq!(a.get(m, "missing").map(|_| ()), None);
        assert!(a.items(d.get("m")).is_empty());
    }

    #[test]
    fn spans_cover_the_source_text() {
        let t = "a: b\nc: \"q\"\nd: |\n  lit\ne: {f: 'g'}\n";
        let d = &parse(t).unwrap()[0];
        assert_eq!(&t[d.get("a").unwrap().span()], "b");
        assert_eq!(&t[d.get("c").unwrap().span()], "\"q\"");
        assert_eq!(&t[d.get("d").unwrap().span()], "lit\n");
        let e = d.get("e").unwrap();
        assert!(matches!(e, Node::Map(m) if m.flow));
        assert_eq!(&t[e.get("f").unwrap().span()], "'g'");
    }

    #[test]
    fn aliases_are_not_expanded() {
        let mut t = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            t.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let docs = parse(&t).unwrap();
        assert!(matches!(docs[0].get("l8"), Some(Node::Seq(s)) if s.items.len() == 9));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let t = "[".repeat(100_000);
        assert!(parse(&t).is_err());
        let mut b = String::new();
        for i in 0..5000 {
            b.push_str(&" ".repeat(i));
            b.push_str("a:\n");
        }
        assert!(parse(&b).is_err());
    }

    #[test]
    fn go_yaml_v2_resolution() {
        for (s, want) in [
            ("yes", Plain::Bool(true)),
            ("on", Plain::Bool(true)),
            ("y", Plain::Bool(true)),
            ("Off", Plain::Bool(false)),
            ("0777", Plain::Int),
            ("0x1F", Plain::Int),
            ("1_000", Plain::Int),
            ("-12", Plain::Int),
            ("1e3", Plain::Float),
            (".5", Plain::Float),
            ("~", Plain::Null),
            ("08", Plain::Float),
            ("12:30", Plain::Str),
            ("abc", Plain::Str),
            ("2024-01-01", Plain::Str),
        ] {
            assert_eq!(resolve_plain(s), want, "{s}");
        }
    }
}
