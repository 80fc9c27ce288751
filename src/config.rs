//! `keyseed.yaml` (SPEC §6): stable secrets for charts you do not control.
//!
//! This module owns the config schema (unknown keys are errors, with line and column) and
//! turning `secrets:` entries into edits of the stream *before* planning: a matched Secret's
//! keys get placeholders (replacing whatever the chart wrote), missing keys are inserted, and
//! `create: true` entries become new Secret documents. The ordinary planner then fills them,
//! so config-driven and chart-driven placeholders behave identically. It holds no secret:
//! config `data` values must be placeholders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::edit::quote;
use crate::placeholder::{self, Generations, Placeholder};
use crate::yaml::{Mapping, Node, Scalar, Style};

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Derivation scope (flags and `KEYSEED_SCOPE` win).
    pub scope: Option<String>,
    /// Seed file, relative to the config file's directory.
    pub seed: Option<PathBuf>,
    /// Secrets to patch or create.
    #[serde(default)]
    pub secrets: Vec<SecretEntry>,
    /// Rollout annotation settings.
    pub rollme: Option<Rollme>,
    /// TLS validation settings.
    pub tls: Option<Tls>,
    /// Deterministic certificates.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
}

/// One `secrets:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretEntry {
    /// The Secret's `metadata.name`.
    pub name: String,
    /// Optional namespace to match (documents without one use `--namespace`).
    pub namespace: Option<String>,
    /// Create the Secret when the stream has none.
    #[serde(default)]
    pub create: bool,
    /// `type` of a created Secret (default `Opaque`).
    #[serde(rename = "type")]
    pub secret_type: Option<String>,
    /// Labels of a created Secret.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of a created Secret.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Data keys and their placeholders.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// `rollme:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rollme {
    /// Annotation name (default `keyseed.io/rollme`).
    pub annotation: Option<String>,
    /// Workload kinds to annotate.
    pub kinds: Option<Vec<String>>,
}

/// `tls:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tls {
    /// Warn when a certificate expires within this many days.
    pub min_days: Option<u32>,
}

/// One `certificates:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Certificate {
    /// The `kubernetes.io/tls` Secret to fill or create.
    pub secret: String,
    /// Derived CA id.
    pub ca: String,
    /// Subject common name.
    pub common_name: Option<String>,
    /// DNS SANs.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// Fixed start of validity (`YYYY-MM-DD`).
    pub not_before: String,
    /// Validity in days.
    pub days: u32,
    /// Key type.
    pub key: Option<String>,
}

/// A config problem, with its location in the file when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl Config {
    /// Parses config text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let mut opts = serde_saphyr::options::Options::default();
        opts.legacy_octal_numbers = true;
        let cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                match e.location() {
                    Some(l) => err(format!("line {} column {}: {first}", l.line(), l.column())),
                    None => err(first),
                }
            })?
        };
        let mut cfg = cfg;
        cfg.validate_certificates().map_err(err)?;
        cfg.validate().map_err(err)?;
        Ok(cfg)
    }

    /// Checks `certificates:` and turns each entry into a `secrets:` entry that fills (or
    /// creates) its `kubernetes.io/tls` Secret with `tls.crt`, `tls.key` and `ca.crt`.
    fn validate_certificates(&mut self) -> Result<(), String> {
        for (i, c) in self.certificates.iter().enumerate() {
            let at = format!("certificates[{i}] ({})", c.secret);
            crate::certs::leaf_format(c).map_err(|e| format!("{at}: {e}"))?;
            if !placeholder::is_key_name(&c.ca) {
                return Err(format!("{at}: ca `{}` must match [-._a-zA-Z0-9]+", c.ca));
            }
            if c.days == 0 {
                return Err(format!("{at}: days must be at least 1"));
            }
            if time::Date::parse(
                &c.not_before,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .is_err()
            {
                return Err(format!(
                    "{at}: not-before `{}` must be YYYY-MM-DD",
                    c.not_before
                ));
            }
            if self.secrets.iter().any(|s| s.name == c.secret) {
                return Err(format!("{at}: Secret `{}` is also in secrets:", c.secret));
            }
            if !placeholder::is_key_name(&c.secret) {
                return Err(format!("{at}: secret `{}` is not a valid name", c.secret));
            }
        }
        for c in self.certificates.clone() {
            let mut data = BTreeMap::new();
            data.insert(
                "tls.crt".to_string(),
                format!("<keyseed:cert:{}>", c.secret),
            );
            data.insert(
                "tls.key".to_string(),
                format!("<keyseed:cert-key:{}>", c.secret),
            );
            data.insert("ca.crt".to_string(), format!("<keyseed:ca:{}>", c.ca));
            self.secrets.push(SecretEntry {
                name: c.secret.clone(),
                namespace: None,
                create: true,
                secret_type: Some("kubernetes.io/tls".into()),
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                data,
            });
        }
        Ok(())
    }

    /// Checks what serde cannot: placeholders, names, key names.
    fn validate(&self) -> Result<(), String> {
        for (i, s) in self.secrets.iter().enumerate() {
            let at = format!("secrets[{i}] ({})", s.name);
            if s.name.is_empty() {
                return Err(format!("secrets[{i}]: `name` must not be empty"));
            }
            if s.data.is_empty() {
                return Err(format!("{at}: `data` is empty"));
            }
            for (k, v) in &s.data {
                let written = k.replace("{gen}", "0");
                if !placeholder::is_key_name(&written) {
                    return Err(format!("{at}: data key `{k}` must match [-._a-zA-Z0-9]+"));
                }
                let ph = placeholder::parse(v).map_err(|e| {
                    format!(
                        "{at}: data `{k}`: {e} (config values must be placeholders; secrets never sit in plaintext config)"
                    )
                })?;
                let range = matches!(ph.generations, Generations::Range(..));
                if k.contains("{gen}") != (range && ph.join.is_none()) {
                    return Err(format!(
                        "{at}: data `{k}`: a `{{gen}}` key needs `gen=A..B` (without join=), and `gen=A..B` needs a `{{gen}}` key or `join=`"
                    ));
                }
            }
            if let Some(k) = self.secrets[..i]
                .iter()
                .position(|o| o.name == s.name && o.namespace == s.namespace)
            {
                return Err(format!("{at}: the same Secret as secrets[{k}]"));
            }
        }
        if let Some(scope) = &self.scope {
            check_scope(scope)?;
        }
        Ok(())
    }
}

/// A scope becomes part of ids written into placeholders: no white space, `<` or `>`.
pub fn check_scope(scope: &str) -> Result<(), String> {
    if scope
        .chars()
        .any(|c| c.is_whitespace() || c == '<' || c == '>')
    {
        return Err(format!(
            "scope `{scope}` must not contain white space, `<` or `>`"
        ));
    }
    Ok(())
}

/// Loads the config: an explicit path must exist; the default `./keyseed.yaml` may not.
pub fn load(explicit: Option<&Path>) -> Result<Option<(Config, PathBuf)>, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("keyseed.yaml"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Config::parse(&text, &path).map(|c| Some((c, path))),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError {
            path,
            message: format!("cannot read the config file: {e}"),
        }),
    }
}

/// Writes a placeholder back as text, with an explicit id and one generation.
pub fn placeholder_text(ph: &Placeholder, id: &str, gen: Option<u64>) -> String {
    let mut s = format!("{}{}", placeholder::PREFIX, ph.format.canonical());
    if ph.format.is_derived() {
        s.push_str(&format!(" id={id}"));
        match (gen, ph.generations) {
            (Some(g), _) | (None, Generations::One(g)) => s.push_str(&format!(" gen={g}")),
            (None, Generations::Range(a, b)) => s.push_str(&format!(" gen={a}..{b}")),
        }
        match ph.encoding {
            placeholder::Encoding::Pkcs8 => {}
            placeholder::Encoding::Pkcs1 => s.push_str(" encoding=pkcs1"),
            placeholder::Encoding::Base64 => s.push_str(" encoding=base64"),
        }
        if let Some(j) = &ph.join {
            let esc = j
                .replace('\\', "\\\\")
                .replace(' ', "\\s")
                .replace('\n', "\\n")
                .replace('\t', "\\t");
            s.push_str(&format!(" join={esc}"));
            s.push_str(match ph.order {
                placeholder::Order::Asc => " order=asc",
                placeholder::Order::Desc => " order=desc",
            });
        }
    }
    s.push('>');
    s
}

/// One edit of a document's text made by the config.
#[derive(Debug, Clone)]
pub struct TextEdit {
    /// Byte range replaced (empty for an insertion).
    pub range: std::ops::Range<usize>,
    /// New text (placeholders only: no secret).
    pub text: String,
}

/// Applies text edits (non-overlapping) to a document.
pub fn apply_text_edits(text: &str, mut edits: Vec<TextEdit>) -> String {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut pos = 0;
    for e in edits {
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// The (key, placeholder text) pairs one entry writes into the Secret named `name`.
pub fn entry_pairs(entry: &SecretEntry, scope: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &entry.data {
        let ph = placeholder::parse(v).expect("validated");
        let id = ph
            .id
            .clone()
            .unwrap_or_else(|| format!("{scope}/{}/{k}", entry.name));
        if k.contains("{gen}") {
            for g in ph.generations.list() {
                out.push((
                    k.replace("{gen}", &g.to_string()),
                    placeholder_text(&ph, &id, Some(g)),
                ));
            }
        } else {
            out.push((k.clone(), placeholder_text(&ph, &id, None)));
        }
    }
    out
}

/// Edits that put `pairs` into the Secret `obj` (a mapping in `text`): existing keys get
/// their value replaced, missing keys are inserted into `stringData` (or `data`, base64,
/// when only `data` exists), and a missing `stringData` is added.
pub fn patch_secret(text: &str, obj: &Node, pairs: &[(String, String)]) -> Vec<TextEdit> {
    let Node::Map(root) = obj else { return vec![] };
    let find = |section: &str, key: &str| -> Option<(Scalar, Scalar)> {
        match obj.get(section) {
            Some(Node::Map(m)) => m.entries.iter().find_map(|(k, v)| match (k, v) {
                (Node::Scalar(ks), Node::Scalar(vs)) if ks.value == key => {
                    Some((ks.clone(), vs.clone()))
                }
                _ => None,
            }),
            _ => None,
        }
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut edits = Vec::new();
    let mut missing = Vec::new();
    for (k, ph) in pairs {
        if let Some((ks, vs)) = find("stringData", k) {
            edits.push(TextEdit {
                range: value_range(text, &ks, &vs),
                text: quote(ph) + &trailing(text, &ks, &vs),
            });
        } else if let Some((ks, vs)) = find("data", k) {
            edits.push(TextEdit {
                range: value_range(text, &ks, &vs),
                text: quote(&b64(ph)) + &trailing(text, &ks, &vs),
            });
        } else {
            missing.push((k.clone(), ph.clone()));
        }
    }
    if missing.is_empty() {
        return edits;
    }
    let (section, encode) = match (obj.get("stringData"), obj.get("data")) {
        (Some(Node::Map(m)), _) => (Some(m), false),
        (_, Some(Node::Map(m))) => (Some(m), true),
        _ => (None, false),
    };
    let entries: Vec<(String, String)> = missing
        .into_iter()
        .map(|(k, v)| (k, if encode { b64(&v) } else { v }))
        .collect();
    match section {
        Some(m) => edits.push(insert_into(text, m, &entries)),
        None => {
            // No stringData/data map: add `stringData` to the Secret itself. A `stringData:`
            // with a null value is replaced.
            if let Some((ks, vs)) = root.entries.iter().find_map(|(k, v)| match (k, v) {
                (Node::Scalar(ks), Node::Scalar(vs)) if ks.value == "stringData" => Some((ks, vs)),
                _ => None,
            }) {
                let flow = flow_map(&entries);
                let r = ks.span.end..vs.span.end.max(ks.span.end);
                let colon_and_value = &text[r.clone()];
                let start = ks.span.end + colon_and_value.find(':').map_or(0, |i| i + 1);
                edits.push(TextEdit {
                    range: start..vs.span.end.max(start),
                    text: format!(" {flow}"),
                });
            } else {
                edits.push(insert_section(text, root, "stringData", &entries));
            }
        }
    }
    edits
}

fn flow_map(entries: &[(String, String)]) -> String {
    let inner: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Inserts entries (plain values, written quoted) as the first entries of a mapping.
fn insert_into(text: &str, m: &Mapping, entries: &[(String, String)]) -> TextEdit {
    let raw: Vec<(String, String)> = entries.iter().map(|(k, v)| (k.clone(), quote(v))).collect();
    let (range, text) = crate::edit::insert_entries(text, m, &raw);
    TextEdit { range, text }
}

/// Adds `name: {entries}` as the first entry of a resource mapping.
fn insert_section(
    text: &str,
    root: &Mapping,
    name: &str,
    entries: &[(String, String)],
) -> TextEdit {
    let (range, text) =
        crate::edit::insert_entries(text, root, &[(name.to_string(), flow_map(entries))]);
    TextEdit { range, text }
}

/// Byte range of a value scalar (block scalars: header to the end of their content).
fn value_range(text: &str, key: &Scalar, value: &Scalar) -> std::ops::Range<usize> {
    crate::inject::scalar_value_range(text, key, value).0
}

fn trailing(text: &str, key: &Scalar, value: &Scalar) -> String {
    if matches!(value.style, Style::Literal | Style::Folded) {
        crate::inject::scalar_value_range(text, key, value).1
    } else {
        String::new()
    }
}

/// A new Secret document (YAML, `# Source:` comment for Helm 3, optional Helm 4 filename
/// annotation) with the entry's placeholders in `stringData`.
pub fn created_secret(
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
    helm4: bool,
) -> String {
    let mut s = String::from("---\n");
    s.push_str(&format!("# Source: keyseed/created/{}.yaml\n", entry.name));
    s.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
    s.push_str(&format!("  name: {}\n", quote(&entry.name)));
    if let Some(ns) = entry.namespace.as_deref().or(default_ns) {
        s.push_str(&format!("  namespace: {}\n", quote(ns)));
    }
    if !entry.labels.is_empty() {
        s.push_str("  labels:\n");
        for (k, v) in &entry.labels {
            s.push_str(&format!("    {}: {}\n", quote(k), quote(v)));
        }
    }
    let mut annotations = entry.annotations.clone();
    annotations.insert("keyseed.io/created".into(), "true".into());
    if helm4 {
        annotations.insert(
            "postrenderer.helm.sh/postrender-filename".into(),
            format!("keyseed/created/{}.yaml", entry.name),
        );
    }
    s.push_str("  annotations:\n");
    for (k, v) in &annotations {
        s.push_str(&format!("    {}: {}\n", quote(k), quote(v)));
    }
    s.push_str(&format!(
        "type: {}\n",
        quote(entry.secret_type.as_deref().unwrap_or("Opaque"))
    ));
    s.push_str("stringData:\n");
    for (k, v) in pairs {
        s.push_str(&format!("  {}: {}\n", quote(k), quote(v)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let e = Config::parse(
            "scope: prod\nsecrets:\n  - name: a\n    dta: {}\n",
            Path::new("keyseed.yaml"),
        )
        .unwrap_err();
        assert!(e.message.contains("line 4"), "{}", e.message);
        assert!(e.message.contains("dta"), "{}", e.message);
    }

    #[test]
    fn the_same_secret_twice_is_an_error() {
        let e = Config::parse("secrets:\n  - name: a\n    data: {k: \"<keyseed:hex:4>\"}\n  - name: a\n    data: {j: \"<keyseed:hex:4>\"}\n", Path::new("c")).unwrap_err();
        assert!(
            e.message
                .contains("secrets[1] (a): the same Secret as secrets[0]"),
            "{}",
            e.message
        );
    }

    #[test]
    fn config_values_must_be_placeholders() {
        let e = Config::parse(
            "secrets:\n  - name: a\n    data: {k: hunter2value}\n",
            Path::new("c"),
        )
        .unwrap_err();
        assert!(e.message.contains("must be placeholders"), "{}", e.message);
        assert!(!e.message.contains("hunter2value"), "{}", e.message);
    }

    #[test]
    fn placeholder_text_round_trips() {
        let ph = placeholder::parse("<keyseed:fernet gen=0..2 join=\\s order=asc>").unwrap();
        let t = placeholder_text(&ph, "s/n/k", None);
        let back = placeholder::parse(&t).unwrap();
        assert_eq!(back.join.as_deref(), Some(" "));
        assert_eq!(back.id.as_deref(), Some("s/n/k"));
        assert_eq!(back.generations, Generations::Range(0, 2));
    }
}

/// A created Secret as a one-line flow mapping (for a ResourceList's `items`).
fn created_secret_flow(
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
) -> String {
    let map = |m: &BTreeMap<String, String>| {
        let v: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
            .collect();
        format!("{{{}}}", v.join(", "))
    };
    let mut meta = vec![format!("\"name\": {}", quote(&entry.name))];
    if let Some(ns) = entry.namespace.as_deref().or(default_ns) {
        meta.push(format!("\"namespace\": {}", quote(ns)));
    }
    if !entry.labels.is_empty() {
        meta.push(format!("\"labels\": {}", map(&entry.labels)));
    }
    let mut annotations = entry.annotations.clone();
    annotations.insert("keyseed.io/created".into(), "true".into());
    meta.push(format!("\"annotations\": {}", map(&annotations)));
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{{}}}, \"type\": {}, \"stringData\": {}}}",
        meta.join(", "),
        quote(entry.secret_type.as_deref().unwrap_or("Opaque")),
        flow_map(pairs)
    )
}

/// An edit adding a created Secret as the first item of a ResourceList (block or flow
/// `items`). `None` when the list has no `items` sequence.
pub fn insert_item(
    text: &str,
    root: &Node,
    entry: &SecretEntry,
    pairs: &[(String, String)],
    default_ns: Option<&str>,
) -> Option<TextEdit> {
    let Some(Node::Seq(items)) = root.get("items") else {
        return None;
    };
    let item = created_secret_flow(entry, pairs, default_ns);
    let bytes = text.as_bytes();
    if bytes.get(items.span.start) == Some(&b'[') {
        let at = items.span.start + 1;
        let sep = if items.items.is_empty() { "" } else { ", " };
        return Some(TextEdit {
            range: at..at,
            text: format!("{item}{sep}"),
        });
    }
    let first = items.items.first()?.span().start;
    let dash = bytes[..first].iter().rposition(|&b| b == b'-')?;
    let line_start = bytes[..dash]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    Some(TextEdit {
        range: dash..dash,
        text: format!("- {item}{newline}{}", " ".repeat(dash - line_start)),
    })
}
