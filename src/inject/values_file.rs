//! Placeholders in a Helm values file (`keyseed fill`, the `keyseed://` getter plugin).
//!
//! A values file is one YAML mapping, any shape. Every scalar value that is exactly a
//! placeholder is replaced at its byte span, as `render` does in a Secret; every other byte is
//! kept, so comments, quoting and the YAML 1.1 meaning of the rest of the file survive. A
//! key holding `{gen}` with `gen=A..B` becomes one entry per generation (a keyring).
//!
//! The default derivation id of a value is `SCOPE/values:PATH`, PATH being the value's path
//! in Helm's `--set` syntax (`secrets.keysEncryption.userEncryptionKey`, `a.list[0]`, a dot
//! inside a key written `\.`). No Secret's default id (`SCOPE/SECRET/KEY`) can equal it: a
//! Secret name and a data key never hold `:`. An explicit `id=` shares one value with a
//! Secret rendered by `render`.
//!
//! Planning needs no seed; [`fill`] writes the values once it is open, then parses the result
//! and checks that each path holds exactly the value written and that no `<keyseed:` text is
//! left. Problems name the file, the path and the reason, never a value.

use crate::diag::{Finding, Location};
use crate::inject::edits;
use crate::inject::plan::{self, Injection, Layout, Section};
use crate::inject::values::{Source, ValueError};
use crate::manifest::edit;
use crate::manifest::yaml::{self, Mapping, Node, Scalar, Style};
use crate::placeholder;
use crate::secret::SecretBytes;

/// One step of a value's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key (its scalar text).
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path in Helm's `--set` syntax: `a.b[0].c`, with `\.` for a dot inside a key.
pub fn set_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                for c in k.chars() {
                    if matches!(c, '.' | '\\' | '[' | ']' | ',' | '=') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The default derivation id of the value at `steps` under `scope`.
pub fn default_id(scope: &str, steps: &[Step]) -> String {
    format!("{scope}/values:{}", set_path(steps))
}

/// A placeholder found in a values file.
#[derive(Debug, Clone)]
pub struct ValueSlot {
    /// Where in the file (the path of the mapping holding it, then its key or index).
    pub steps: Vec<Step>,
    /// What to write, as `render` writes a Secret value.
    pub injection: Injection,
}

/// The placeholders of one values file, found without the seed.
#[derive(Debug)]
pub struct PlannedValues {
    /// The file name, for messages.
    pub file: String,
    /// Every placeholder, in file order.
    pub slots: Vec<ValueSlot>,
}

impl PlannedValues {
    /// Whether any value needs the seed.
    pub fn needs_seed(&self) -> bool {
        !self.slots.is_empty()
    }
}

/// A finding about the values file `file` at `path`.
fn problem(file: &str, path: &str, message: String, hint: Option<String>) -> Finding {
    let at = if path.is_empty() { "." } else { path };
    Finding {
        field: format!("values file {file} {at}"),
        ..Finding::about_file(message, hint)
    }
}

/// Finds every placeholder of the values file `text` (named `file` in messages).
pub fn plan(
    text: &str,
    file: &str,
    ctx: &crate::k8s::object::Context,
) -> Result<PlannedValues, Vec<Finding>> {
    let roots = yaml::parse(text)
        .map_err(|e| vec![problem(file, "", format!("not valid YAML: {e}"), None)])?;
    let mut w = Walker {
        file,
        text,
        ctx,
        location: Location {
            source: Some(file.to_string()),
            kind: Some("values file".into()),
            ..Location::document(1)
        },
        slots: Vec::new(),
        findings: Vec::new(),
    };
    match roots.as_slice() {
        [] => {}
        [Node::Scalar(s)] if s.is_null() => {}
        [Node::Map(m)] => w.mapping(m, &mut Vec::new()),
        [_] => w.findings.push(problem(
            file,
            "",
            "a values file must be a YAML mapping (`key: value` lines)".into(),
            Some("Helm reads values as a mapping; put the value under a key".into()),
        )),
        _ => w.findings.push(problem(
            file,
            "",
            format!(
                "a values file is one YAML document; this one has {}",
                roots.len()
            ),
            Some("split it into one file per document (`-f a.yaml -f b.yaml`)".into()),
        )),
    }
    if crate::text::find!(text.as_bytes(), placeholder::PREFIX.as_bytes()).is_some()
        && w.findings.is_empty()
        && w.slots.is_empty()
    {
        w.findings.push(leftover(file));
    }
    if !w.findings.is_empty() {
        return Err(w.findings);
    }
    Ok(PlannedValues {
        file: file.to_string(),
        slots: w.slots,
    })
}

/// The finding for `<keyseed:` text that is not a value keyseed fills (a comment, a key).
fn leftover(file: &str) -> Finding {
    problem(
        file,
        "",
        "`<keyseed:` text is left that is not a placeholder value (a comment, part of a longer string, or a key)".into(),
        Some("a placeholder must be a whole value, e.g. `key: \"<keyseed:base64:32>\"`; remove the text elsewhere".into()),
    )
}

struct Walker<'a> {
    file: &'a str,
    text: &'a str,
    ctx: &'a crate::k8s::object::Context,
    location: Location,
    slots: Vec<ValueSlot>,
    findings: Vec<Finding>,
}

impl Walker<'_> {
    fn finding(&mut self, steps: &[Step], message: String, hint: Option<String>) {
        self.findings
            .push(problem(self.file, &set_path(steps), message, hint));
    }

    fn mapping(&mut self, m: &Mapping, steps: &mut Vec<Step>) {
        for (k, v) in &m.entries {
            let Node::Scalar(ks) = k else {
                if mentions(k) {
                    self.finding(steps, "a placeholder inside a complex key".into(), None);
                }
                continue;
            };
            steps.push(Step::Key(ks.value.clone()));
            if placeholder::mentions(&ks.value) {
                self.finding(
                    steps,
                    "a key cannot be a placeholder".into(),
                    Some("put the placeholder in the value: `name: \"<keyseed:…>\"`".into()),
                );
            } else {
                match v {
                    Node::Scalar(vs) => self.value(Some((m, ks)), vs, steps),
                    other => self.node(other, steps),
                }
            }
            steps.pop();
        }
    }

    fn node(&mut self, n: &Node, steps: &mut Vec<Step>) {
        match n {
            Node::Map(m) => self.mapping(m, steps),
            Node::Seq(s) => {
                for (i, it) in s.items.iter().enumerate() {
                    steps.push(Step::Index(i));
                    match it {
                        Node::Scalar(vs) => self.value(None, vs, steps),
                        other => self.node(other, steps),
                    }
                    steps.pop();
                }
            }
            Node::Scalar(s) => self.value(None, s, steps),
            Node::Alias(..) => {}
        }
    }

    /// One scalar value; `entry` is its mapping and key (None in a sequence).
    fn value(&mut self, entry: Option<(&Mapping, &Scalar)>, vs: &Scalar, steps: &[Step]) {
        if !placeholder::mentions(&vs.value) {
            return;
        }
        let ph = match placeholder::parse(&vs.value) {
            Ok(p) => p,
            Err(e) => {
                let hint = e.hint();
                self.finding(steps, e.to_string(), hint);
                return;
            }
        };
        if vs.anchor != 0 {
            self.finding(
                steps,
                "a placeholder must not carry an anchor (`&name`): an alias would copy the secret value wherever it is used".into(),
                Some("remove the anchor and write the placeholder itself wherever it is needed".into()),
            );
            return;
        }
        if vs.tag.is_some() {
            self.finding(
                steps,
                "a placeholder must not carry a tag (`!!str`, `!!binary`, …)".into(),
                None,
            );
            return;
        }
        let key = match steps.last() {
            Some(Step::Key(k)) => k.clone(),
            _ => String::new(),
        };
        // A `{gen}` key is a keyring only in a mapping (a list item has no key).
        let key_text = if entry.is_some() { key.as_str() } else { "" };
        let id = ph
            .id
            .clone()
            .unwrap_or_else(|| default_id(&self.ctx.scope, steps));
        let mut ph = ph;
        if let Err(e) = ph.resolve_current(key_text, self.ctx.current_generation(&id)) {
            self.finding(steps, e.to_string(), e.hint());
            return;
        }
        if let Some(message) = plan::generations_problem(key_text, &ph, "key") {
            self.finding(steps, message, None);
            return;
        }
        let (range, layout) = match entry {
            Some((m, ks)) => {
                let (vrange, trailing) = edit::value_range(self.text, ks, vs);
                if key.contains("{gen}") {
                    if let Some(clash) = plan::keyring_clash(m, &key, &ph) {
                        self.finding(
                            steps,
                            format!("the keyring writes `{clash}`, which the mapping already has"),
                            None,
                        );
                        return;
                    }
                    (
                        ks.span.start..vrange.end,
                        Layout::Entries {
                            col: ks.col,
                            flow: m.flow,
                            newline: edit::newline(self.text).to_string(),
                            trailing,
                        },
                    )
                } else {
                    (vrange, Layout::Value { trailing })
                }
            }
            None if matches!(vs.style, Style::Literal | Style::Folded) => {
                self.finding(
                    steps,
                    "a placeholder in a list must be a plain or quoted scalar, not a block (`|`, `>`)".into(),
                    Some("write `- \"<keyseed:…>\"`".into()),
                );
                return;
            }
            None => (
                vs.span.clone(),
                Layout::Value {
                    trailing: String::new(),
                },
            ),
        };
        self.slots.push(ValueSlot {
            steps: steps.to_vec(),
            injection: Injection {
                location: self.location.clone(),
                section: Section::StringData,
                key,
                placeholder: ph,
                id,
                range,
                layout,
            },
        });
    }
}

fn mentions(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => placeholder::mentions(&s.value),
        Node::Map(m) => m.entries.iter().any(|(k, v)| mentions(k) || mentions(v)),
        Node::Seq(s) => s.items.iter().any(mentions),
        Node::Alias(..) => false,
    }
}

/// Why a values file could not be filled.
#[derive(Debug, thiserror::Error)]
pub enum FillError {
    /// A value cannot be produced.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// Problems found after filling (text left over).
    #[error("{} problem(s) found; nothing was written to stdout", .0.len())]
    Findings(Vec<Finding>),
    /// The filled file does not parse, or does not hold what was written: a bug.
    #[error("internal error: refusing to write a values file keyseed could not fill safely ({0})")]
    Internal(&'static str),
}

/// Writes every planned value into `text` (the seed is open in `source`) and returns the
/// filled file, after checking it: it parses, each path holds exactly what was written, and
/// no `<keyseed:` is left.
pub fn fill(
    text: &str,
    planned: &PlannedValues,
    source: &Source<'_>,
) -> Result<SecretBytes, FillError> {
    let mut edits = Vec::with_capacity(planned.slots.len());
    let mut written = Vec::with_capacity(planned.slots.len());
    for slot in &planned.slots {
        let (edit, pairs) = edits::edit_of(source, &slot.injection)?;
        edits.push(edit);
        written.push(pairs);
    }
    let out =
        edit::apply(text.as_bytes(), &edits).ok_or(FillError::Internal("overlapping edits"))?;
    let filled = std::str::from_utf8(out.expose()).map_err(|_| FillError::Internal("not UTF-8"))?;
    let roots = yaml::parse(filled).map_err(|_| FillError::Internal("it does not parse"))?;
    let root = roots.first().ok_or(FillError::Internal("it is empty"))?;
    for (slot, pairs) in planned.slots.iter().zip(&written) {
        let (parent, last) = slot.steps.split_at(slot.steps.len() - 1);
        let holder = walk(root, parent).ok_or(FillError::Internal("a path is gone"))?;
        for (k, v) in pairs {
            let step = match (&last[0], &slot.injection.layout) {
                (Step::Key(_), Layout::Entries { .. }) => Step::Key(k.clone()),
                (s, _) => s.clone(),
            };
            let got = walk(holder, std::slice::from_ref(&step))
                .and_then(Node::scalar)
                .ok_or(FillError::Internal("a value is not a scalar"))?;
            if got.value != v.expose() || got.tag.is_some() || got.style != Style::Double {
                return Err(FillError::Internal("a value reads back differently"));
            }
        }
    }
    if crate::text::find!(out.expose(), placeholder::PREFIX.as_bytes()).is_some() {
        return Err(FillError::Findings(vec![leftover(&planned.file)]));
    }
    Ok(out)
}

/// The node at `steps` below `n` (keys compared as scalar text, as Helm reads them).
fn walk<'a>(mut n: &'a Node, steps: &[Step]) -> Option<&'a Node> {
    for s in steps {
        n = match (s, n) {
            (Step::Key(k), Node::Map(m)) => m
                .entries
                .iter()
                .find(|(key, _)| key.scalar().is_some_and(|ks| &ks.value == k))
                .map(|(_, v)| v)?,
            (Step::Index(i), Node::Seq(seq)) => seq.items.get(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_paths_escape_what_helm_set_escapes() {
        let steps = [
            Step::Key("a".into()),
            Step::Key("b.c".into()),
            Step::Index(2),
            Step::Key("d".into()),
        ];
        assert_eq!(set_path(&steps), "a.b\\.c[2].d");
        assert_eq!(default_id("prod", &steps), "prod/values:a.b\\.c[2].d");
    }

    #[test]
    fn default_ids_never_equal_a_secrets_default_id() {
        // A Secret's default id is SCOPE/NAME/KEY; neither NAME (a DNS subdomain) nor KEY
        // ([-._a-zA-Z0-9]+) may hold `:`, so `values:` can never be their NAME/KEY part.
        let id = default_id("prod", &[Step::Key("x".into())]);
        let rest = id.strip_prefix("prod/").unwrap();
        let (name, key) = rest.split_once('/').unwrap_or((rest, ""));
        assert!(!placeholder::is_key_name(name) || !placeholder::is_key_name(key));
    }

    #[test]
    fn planning_names_file_path_and_reason() {
        let text = "a:\n  b: \"<keyseed:nope:1>\"\n  \"<keyseed:hex:4>\": x\n  c: &x \"<keyseed:hex:4>\"\n";
        let errs = plan(text, "v.yaml", &Default::default()).unwrap_err();
        let all: Vec<String> = errs.iter().map(|f| f.to_string()).collect();
        assert!(
            all[0].contains("values file v.yaml a.b") && all[0].contains("unknown format"),
            "{all:?}"
        );
        assert!(all[1].contains("a key cannot be a placeholder"), "{all:?}");
        assert!(
            all[2].contains("values file v.yaml a.c") && all[2].contains("anchor"),
            "{all:?}"
        );
        assert!(
            plan("- a\n- b\n", "v.yaml", &Default::default()).unwrap_err()[0]
                .to_string()
                .contains("must be a YAML mapping")
        );
        assert!(plan("a: 1\n---\nb: 2\n", "v.yaml", &Default::default()).is_err());
        assert!(plan("", "v.yaml", &Default::default())
            .unwrap()
            .slots
            .is_empty());
        assert!(plan("# <keyseed:hex:4>\na: 1\n", "v.yaml", &Default::default()).is_err());
    }

    #[test]
    fn keyrings_and_lists_are_planned_with_their_paths() {
        let text =
            "k:\n  key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\nl:\n  - \"<keyseed:hex:4>\"\n";
        let p = plan(
            text,
            "v.yaml",
            &crate::k8s::object::Context {
                scope: "s".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(p.slots.len(), 2);
        assert_eq!(p.slots[0].injection.id, "s/values:k.key-{gen}");
        assert!(matches!(
            p.slots[0].injection.layout,
            Layout::Entries { .. }
        ));
        assert_eq!(p.slots[1].injection.id, "s/values:l[0]");
    }
}
