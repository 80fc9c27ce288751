//! The documents of one stream as they travel through the pipeline.
//!
//! [`Documents`] owns the input bytes once (checked to be UTF-8 once). A document is a byte
//! range of the input until a stage changes it; then it owns its new text. Every change goes
//! through [`Documents::apply`] (or [`Documents::apply_all_checked`]), which applies
//! [`Edit`]s and parses the result at once: an edit that does not parse is refused (the
//! caller reports an internal error), and the tree is kept while the kept trees' text stays
//! under 1 MiB, so later stages read the tree of the final bytes instead of parsing them
//! again. A caller may vouch for edits without that parse where it can show them sound
//! otherwise ([`crate::manifest::window`]). Trees of unchanged documents are parsed on
//! demand and kept only where a later stage asks for it ([`Documents::tree`]); read-only
//! analysis of many documents uses [`Documents::view`], which borrows a kept tree or parses
//! one that is dropped after use, so memory stays near the input size. Each document's kind
//! is read once per version ([`Documents::kind`]). Writing the stream copies nothing twice.

use std::collections::BTreeMap;
use std::ops::{Deref, Range};
use std::sync::OnceLock;

use crate::manifest::edit::{self, Edit};
use crate::manifest::stream;
use crate::manifest::yaml::{self, Node, ParseError};
use crate::parallel::{cost, par_map};
use crate::secret::{SecretInput, SecretText};

/// A parsed document: its root nodes, or why it does not parse.
pub type Tree = Result<Vec<Node>, ParseError>;

/// Errors reading the raw stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The stream is larger than keyseed accepts.
    #[error("the manifest stream is larger than {0} bytes")]
    TooLarge(usize),
    /// The stream is not UTF-8.
    #[error("the manifest stream is not valid UTF-8 (first bad byte at offset {0})")]
    NotUtf8(usize),
}

/// Why a change to a document was refused. Either is a bug in keyseed, never bad input.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Two edits of one document overlap, or one lies outside it.
    #[error("edits of document {0} overlap")]
    Overlap(usize),
    /// The edited document parses, but not to the intended change.
    #[error("the edited document {document} does not hold the intended change ({what})")]
    Unintended {
        /// Document number.
        document: usize,
        /// What is missing (names and keys, never values).
        what: String,
    },
    /// The edited document no longer parses.
    #[error("the edited document {document} no longer parses")]
    NoLongerParses {
        /// Document number.
        document: usize,
        /// The parser's complaint (positions only).
        #[source]
        source: ParseError,
    },
}

struct Doc {
    /// The range in the input (empty for a document keyseed created).
    range: Range<usize>,
    /// The text after a change.
    changed: Option<SecretText>,
    /// The tree of the current bytes, when a stage kept it.
    tree: Option<Tree>,
    /// Where the current bytes' [`stream::top_level_kind`] lies, read once (many stages ask).
    kind: OnceLock<Option<Range<usize>>>,
}

impl Doc {
    fn new(range: Range<usize>, changed: Option<SecretText>) -> Self {
        Doc {
            range,
            changed,
            tree: None,
            kind: OnceLock::new(),
        }
    }
}

/// The most text of changed documents whose trees [`Documents::apply`] keeps (their trees
/// are some tens of times larger): the Secrets a render fills are read again by the
/// rollout analysis and the checks, and a kept tree saves those parses; past this much,
/// later stages parse on demand, so memory stays bounded whatever the stream.
const KEPT_TEXT: usize = 1 << 20;

/// The stream's documents, in order.
pub struct Documents {
    /// The stream as read, checked to be UTF-8 once.
    input: SecretInput,
    docs: Vec<Doc>,
    /// Text of the changed documents whose trees [`Documents::apply`] kept so far, counted
    /// once kept (see [`KEPT_TEXT`]).
    kept_text: usize,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Documents({} documents, [REDACTED])", self.docs.len())
    }
}

/// A tree to read: kept by [`Documents`] or parsed for this one use.
pub enum View<'a> {
    /// A tree the documents keep.
    Kept(&'a [Node]),
    /// A tree parsed for this use, dropped with the view.
    Fresh(Vec<Node>),
}

impl Deref for View<'_> {
    type Target = [Node];
    fn deref(&self) -> &[Node] {
        match self {
            View::Kept(n) => n,
            View::Fresh(n) => n,
        }
    }
}

impl Documents {
    /// Splits the input (size and UTF-8 checked) into documents. Nothing is parsed yet.
    pub fn split(input: impl Into<SecretInput>) -> Result<Self, StreamError> {
        let input = input.into();
        let bytes = input.expose();
        if bytes.len() > stream::MAX_INPUT {
            return Err(StreamError::TooLarge(stream::MAX_INPUT));
        }
        // The fast check first; the standard one only to say where the first bad byte is.
        if simdutf8::basic::from_utf8(bytes).is_err() {
            let at = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(StreamError::NotUtf8(at));
        }
        let docs = stream::split(bytes)
            .into_iter()
            .map(|range| Doc::new(range, None))
            .collect();
        Ok(Documents {
            input,
            docs,
            kept_text: 0,
        })
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the stream has no document at all.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Whether any document holds more than white space, markers and comments.
    pub fn has_content(&self) -> bool {
        (0..self.len()).any(|i| stream::has_content(self.bytes(i)))
    }

    /// The whole input, as read.
    pub fn input(&self) -> &[u8] {
        self.input.expose()
    }

    /// The current bytes of document `i` (0-based).
    pub fn bytes(&self, i: usize) -> &[u8] {
        let d = &self.docs[i];
        match &d.changed {
            Some(t) => t.expose().as_bytes(),
            None => &self.input.expose()[d.range.clone()],
        }
    }

    /// The current text of document `i`. The stream was checked to be UTF-8 as a whole and
    /// documents start at line starts or at a JSON object's `{`, so this check (of one
    /// document, for a stage that parses or quotes it) never fails; stages that only search
    /// bytes use [`Documents::bytes`].
    pub fn text(&self, i: usize) -> &str {
        let d = &self.docs[i];
        match &d.changed {
            Some(t) => t.expose(),
            None => std::str::from_utf8(&self.input.expose()[d.range.clone()]).unwrap_or_default(),
        }
    }

    /// The `kind` of document `i` read without parsing ([`stream::top_level_kind`]), found
    /// once per version of the document.
    pub fn kind(&self, i: usize) -> Option<&str> {
        let bytes = self.bytes(i);
        let range = self.docs[i].kind.get_or_init(|| {
            stream::top_level_kind(bytes).map(|k| {
                let start = k.as_ptr() as usize - bytes.as_ptr() as usize;
                start..start + k.len()
            })
        });
        range
            .clone()
            .and_then(|r| std::str::from_utf8(&bytes[r]).ok())
    }

    /// Whether a stage changed document `i` (or created it).
    pub fn is_changed(&self, i: usize) -> bool {
        self.docs[i].changed.is_some()
    }

    /// The tree of document `i`, parsed once and kept.
    pub fn tree(&mut self, i: usize) -> &Tree {
        if self.docs[i].tree.is_none() {
            let t = yaml::parse(self.text(i));
            self.docs[i].tree = Some(t);
        }
        self.docs[i].tree.as_ref().expect("set above")
    }

    /// The kept tree of document `i`, if a stage kept one.
    pub fn kept_tree(&self, i: usize) -> Option<&Tree> {
        self.docs[i].tree.as_ref()
    }

    /// A tree of document `i` to read: the kept one, or a fresh parse dropped after use.
    /// `None` when the document does not parse.
    pub fn view(&self, i: usize) -> Option<View<'_>> {
        match &self.docs[i].tree {
            Some(Ok(t)) => Some(View::Kept(t)),
            Some(Err(_)) => None,
            None => yaml::parse(self.text(i)).ok().map(View::Fresh),
        }
    }

    /// Forgets the kept tree of document `i` (no later stage needs it).
    pub fn forget_tree(&mut self, i: usize) {
        self.docs[i].tree = None;
    }

    /// Forgets every kept tree (after the last stage that reads trees).
    pub fn drop_trees(&mut self) {
        for d in &mut self.docs {
            d.tree = None;
        }
    }

    /// Applies edits to document `i` and parses the result, which must parse. The tree of
    /// the new bytes is kept while the kept trees' text stays under [`KEPT_TEXT`] (later
    /// stages read it instead of parsing again); past that, a later stage that reads it
    /// parses it on demand ([`Documents::view`]), so memory stays bounded whatever the
    /// number of changed documents. On error the document is unchanged.
    pub fn apply(&mut self, i: usize, edits: Vec<Edit>) -> Result<(), EditError> {
        self.apply_checked(i, edits, |_| Ok(()))
    }

    /// [`Documents::apply`], and `check` reads the parsed result (to verify the edits mean
    /// what they intend) first: one parse serves both.
    pub fn apply_checked(
        &mut self,
        i: usize,
        edits: Vec<Edit>,
        check: impl Fn(&[Node]) -> Result<(), EditError>,
    ) -> Result<(), EditError> {
        if edits.is_empty() {
            return Ok(());
        }
        let new = edited_text(i, self.bytes(i), &edits)?;
        let tree = parse_edited(i, &new)?;
        check(&tree)?;
        let keep = self.kept_text + new.expose().len() <= KEPT_TEXT;
        self.set(i, new);
        if keep {
            self.kept_text += self.bytes(i).len();
            self.docs[i].tree = Some(Ok(tree));
        }
        Ok(())
    }

    /// [`Documents::apply_checked`] for many documents at once, on every core (each edit
    /// and parse is independent): `check` gets the document index and its parsed result.
    /// `quick` may vouch for a document's edits without that parse (it gets the index, the
    /// current text and the edits, and answers `true` only when it showed them to mean what
    /// they intend, e.g. with [`crate::manifest::window`]); otherwise the whole document is
    /// parsed and checked. All or nothing: on any error no document changes, and the error
    /// of the first failing document is returned.
    pub fn apply_all_checked(
        &mut self,
        edits: BTreeMap<usize, Vec<Edit>>,
        quick: impl Fn(usize, &str, &[Edit]) -> bool + Sync,
        check: impl Fn(usize, &[Node]) -> Result<(), EditError> + Sync,
    ) -> Result<(), EditError> {
        let items: Vec<(usize, Vec<Edit>)> =
            edits.into_iter().filter(|(_, e)| !e.is_empty()).collect();
        let results = par_map(
            &items,
            |(i, _)| cost::parse(self.bytes(*i).len()),
            |(i, e)| {
                let new = edited_text(*i, self.bytes(*i), e)?;
                if !quick(*i, self.text(*i), e) {
                    check(*i, &parse_edited(*i, &new)?)?;
                }
                Ok((*i, new))
            },
        );
        let results: Vec<(usize, SecretText)> = results.into_iter().collect::<Result<_, _>>()?;
        for (i, new) in results {
            self.set(i, new);
        }
        Ok(())
    }

    fn set(&mut self, i: usize, new: SecretText) {
        let d = &mut self.docs[i];
        d.changed = Some(new);
        d.tree = None;
        d.kind = OnceLock::new();
    }

    /// Replaces document `i` with a document keyseed wrote whole (a SealedSecret). It must
    /// parse.
    pub fn replace(&mut self, i: usize, text: String) -> Result<(), EditError> {
        yaml::parse(&text).map_err(|source| EditError::NoLongerParses {
            document: i + 1,
            source,
        })?;
        self.set(i, SecretText::new(text));
        Ok(())
    }

    /// Appends a document keyseed created. It must parse.
    pub fn push(&mut self, text: String) -> Result<(), EditError> {
        let n = self.input.expose().len();
        let number = self.docs.len() + 1;
        yaml::parse(&text).map_err(|source| EditError::NoLongerParses {
            document: number,
            source,
        })?;
        self.docs.push(Doc::new(n..n, Some(SecretText::new(text))));
        Ok(())
    }

    /// Writes every document's current bytes, in order. SECRET: this is where rendered
    /// manifests leave the process, only after every check passed.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let input = self.input.expose();
        let mut run: Option<Range<usize>> = None;
        for d in &self.docs {
            match (&d.changed, &mut run) {
                (None, Some(r)) if r.end == d.range.start => r.end = d.range.end,
                (None, _) => {
                    if let Some(r) = run.take() {
                        w.write_all(&input[r])?;
                    }
                    run = Some(d.range.clone());
                }
                (Some(b), _) => {
                    if let Some(r) = run.take() {
                        w.write_all(&input[r])?;
                    }
                    w.write_all(b.expose().as_bytes())?;
                }
            }
        }
        if let Some(r) = run {
            w.write_all(&input[r])?;
        }
        w.flush()
    }
}

/// Document `i`'s bytes `old` after `edits` (UTF-8 in, UTF-8 edits: UTF-8 out, checked).
fn edited_text(i: usize, old: &[u8], edits: &[Edit]) -> Result<SecretText, EditError> {
    let new = edit::apply(old, edits).ok_or(EditError::Overlap(i + 1))?;
    SecretText::from_utf8(new).map_err(|_| EditError::Overlap(i + 1))
}

/// The tree of document `i`'s edited text, which must parse.
fn parse_edited(i: usize, new: &SecretText) -> Result<Vec<Node>, EditError> {
    yaml::parse(new.expose()).map_err(|source| EditError::NoLongerParses {
        document: i + 1,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &str) -> Documents {
        Documents::split(crate::secret::SecretBytes::new(s.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn unchanged_documents_write_back_byte_for_byte() {
        let input = "# c\na: 1\n---\nb: [x]\n---\n";
        let d = docs(input);
        let mut out = Vec::new();
        d.write_to(&mut out).unwrap();
        assert_eq!(out, input.as_bytes());
    }

    #[test]
    fn an_edit_that_does_not_parse_is_refused_and_changes_nothing() {
        let mut d = docs("a: 1\n---\nb: 2\n");
        let bad = vec![Edit::plain(3..4, "[".into())];
        assert!(matches!(
            d.apply(0, bad),
            Err(EditError::NoLongerParses { document: 1, .. })
        ));
        assert!(!d.is_changed(0));
        d.apply(1, vec![Edit::plain(7..8, "\"3\"".into())]).unwrap();
        let mut out = Vec::new();
        d.write_to(&mut out).unwrap();
        assert_eq!(out, b"a: 1\n---\nb: \"3\"\n");
        assert!(
            matches!(d.kept_tree(1), Some(Ok(r)) if r[0].get_str("b") == Some("3")),
            "a changed document's tree is kept, of its new bytes"
        );
        assert_eq!(d.kind(1), None);
        // A document's kind is read again after an edit.
        let mut k = docs("kind: Secret\n");
        assert_eq!(k.kind(0), Some("Secret"));
        k.apply(0, vec![Edit::plain(6..12, "ConfigMap".into())])
            .unwrap();
        assert_eq!(k.kind(0), Some("ConfigMap"));
    }

    #[test]
    fn edits_of_many_documents_apply_all_or_nothing() {
        let mut d = docs("a: 1\n---\nb: 2\n---\nc: 3\n");
        let edits = |second: &str| {
            BTreeMap::from([
                (0, vec![Edit::plain(3..4, "\"1\"".into())]),
                (1, vec![Edit::plain(7..8, second.into())]),
            ])
        };
        let checked = |i: usize, _: &[Node]| {
            (i != 0).then_some(()).ok_or(EditError::Unintended {
                document: i + 1,
                what: "test".into(),
            })
        };
        // One document fails its check: nothing changes, and its error is the one returned.
        assert!(matches!(
            d.apply_all_checked(edits("\"2\""), |_, _, _| false, checked),
            Err(EditError::Unintended { document: 1, .. })
        ));
        assert!(matches!(
            d.apply_all_checked(edits("["), |_, _, _| false, |_, _| Ok(())),
            Err(EditError::NoLongerParses { document: 2, .. })
        ));
        assert!((0..3).all(|i| !d.is_changed(i)));
        d.apply_all_checked(edits("\"2\""), |_, _, _| false, |_, _| Ok(()))
            .unwrap();
        let mut out = Vec::new();
        d.write_to(&mut out).unwrap();
        assert_eq!(out, b"a: \"1\"\n---\nb: \"2\"\n---\nc: 3\n");
    }
}
