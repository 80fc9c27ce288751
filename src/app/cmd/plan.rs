//! `keyseed plan`: renders without writing the stream and reports what was injected and
//! which workloads are annotated. Values never appear, only keyed fingerprints.

use std::collections::BTreeMap;

use serde_json::json;

use super::{render_stream, Output};
use crate::app::args::PlanArgs;
use crate::app::error::Error;
use crate::app::settings::Settings;
use crate::diag::Location;
use crate::inject::edits::InjectedValue;
use crate::lock::{Change, Entry};
use crate::pipeline::Rendered;
use crate::rollout::{ObjectRef, Report, Workload};
use crate::secret::SecretInput;

/// `keyseed plan`.
pub fn run(settings: &Settings, args: &PlanArgs, stdin: SecretInput) -> Result<Output, Error> {
    let r = render_stream(settings, &args.render, stdin, false, Report::Every)?;
    let lock = super::lock_options(&args.render);
    let diff = match lock.path {
        Some(_) => crate::lock::diff(
            &crate::lock::load(&lock)?,
            &r.injected,
            r.namespace.as_ref(),
        ),
        None => Diff::new(),
    };
    let p = Plan { r: &r, diff };
    let text = match args.format.as_str() {
        "json" => json_report(&p),
        "markdown" => markdown_report(&p),
        _ => table_report(&p),
    };
    let mut out = Output::bytes(text);
    out.notes = crate::app::error::render_warnings(&r.warnings);
    Ok(out)
}

/// `Secret ns/name`, the default namespace filled in.
fn secret_name(r: &Rendered, l: &Location) -> String {
    let name = l.name.clone().unwrap_or_default();
    match l.namespace.as_ref().or(r.namespace.as_ref()) {
        Some(ns) => format!("Secret {ns}/{name}"),
        None => format!("Secret {name}"),
    }
}

/// `Kind ns/name`.
fn object(o: &ObjectRef) -> String {
    if o.namespace.is_empty() {
        format!("{} {}", o.kind, o.name)
    } else {
        format!("{} {}/{}", o.kind, o.namespace, o.name)
    }
}

/// `Kind name` of a workload.
fn workload(w: &Workload) -> String {
    format!(
        "{} {}",
        w.location.kind.clone().unwrap_or_default(),
        w.location.name.clone().unwrap_or_default()
    )
}

/// Every value compared with the lock: `(secret, key)` → (entry, change); empty without
/// `--lock`.
type Diff = BTreeMap<(String, String), (Entry, Change)>;

/// What a plan reports: the render, and how it compares with the lock.
struct Plan<'a> {
    r: &'a Rendered,
    diff: Diff,
}

/// How `v` compares with the lock (`plan --lock`), if a lock was given.
fn change(p: &Plan<'_>, v: &InjectedValue) -> Option<Change> {
    let key = crate::lock::entries(std::slice::from_ref(v), p.r.namespace.as_ref())
        .into_keys()
        .next()?;
    p.diff.get(&key).map(|(_, c)| *c)
}

/// Values of the lock that this render lacks: (`secret`, key, entry).
fn removed<'a>(p: &'a Plan<'_>) -> Vec<(&'a str, &'a str, &'a Entry)> {
    p.diff
        .iter()
        .filter(|(_, (_, c))| *c == Change::Removed)
        .map(|((s, k), (e, _))| (s.as_str(), k.as_str(), e))
        .collect()
}

/// Text taken from the input (a Secret's name, a key, an id, a format, a generation) as one
/// Markdown code span that nothing in it can leave: the fence is one backtick longer than the
/// longest run inside, padded when the text starts or ends with a backtick or a space; line
/// breaks and other control characters become spaces; `|` is escaped, which GitHub's tables
/// undo inside code spans, so a cell cannot be split. Inside a code span nothing is a link,
/// an image or HTML.
fn md(s: &str) -> String {
    code_span(s).replace('|', "\\|")
}

/// [`md`] outside a table: `|` needs no escape there (it would show).
fn md_text(s: &str) -> String {
    code_span(s)
}

/// The code span of [`md`], `|` as it is.
fn code_span(s: &str) -> String {
    let text: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.is_empty() || text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A Markdown report for a pull-request comment: what changes against the lock first (one
/// line per added, changed or removed value), then every value. Fingerprints only; every
/// input-derived text is one code span ([`md`]).
fn markdown_report(p: &Plan<'_>) -> String {
    let r = p.r;
    let mut out = String::from("### keyseed plan\n\n");
    if !p.diff.is_empty() {
        let mut lines = Vec::new();
        for v in &r.injected {
            if let Some(c @ (Change::Added | Change::Changed)) = change(p, v) {
                lines.push(format!(
                    "- {} {} {}: {} gen {} (fingerprint `{}`){}",
                    md_text(&secret_name(r, &v.location)),
                    md_text(&v.key),
                    c.word(),
                    md_text(&v.format),
                    md_text(&v.gen),
                    v.fingerprint,
                    if v.never_rotate && c == Change::Changed {
                        " **never-rotate: render --lock refuses this**"
                    } else {
                        ""
                    }
                ));
            }
        }
        for (secret, key, e) in removed(p) {
            lines.push(format!(
                "- {} {} removed: {} gen {} (fingerprint {})",
                md_text(&format!("Secret {secret}")),
                md_text(key),
                md_text(&e.format),
                md_text(&e.gen),
                md_text(&e.fingerprint)
            ));
        }
        if lines.is_empty() {
            out.push_str("No value changes against the lock.\n\n");
        } else {
            out.push_str(&format!("{} change(s) against the lock:\n\n", lines.len()));
            out.push_str(&lines.join("\n"));
            out.push_str("\n\n");
        }
    }
    out.push_str("| resource | key | format | id | generation | fingerprint |");
    let with_lock = !p.diff.is_empty();
    out.push_str(if with_lock { " change |\n" } else { "\n" });
    out.push_str("|---|---|---|---|---|---|");
    out.push_str(if with_lock { "---|\n" } else { "\n" });
    for v in &r.injected {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | `{}` |",
            md(&secret_name(r, &v.location)),
            md(&v.key),
            md(&v.format),
            md(&v.id),
            md(&v.gen),
            v.fingerprint
        ));
        if with_lock {
            out.push_str(&format!(" {} |", change(p, v).map_or("", Change::word)));
        }
        out.push('\n');
    }
    out
}

fn json_report(p: &Plan<'_>) -> String {
    let r = p.r;
    let injected: Vec<_> = r
        .injected
        .iter()
        .map(|v| {
            json!({
                "resource": secret_name(r, &v.location),
                "document": v.location.document,
                "key": v.key,
                "format": v.format,
                "id": v.id,
                "generation": v.gen,
                "fingerprint": v.fingerprint,
                "never_rotate": v.never_rotate,
                "change": change(p, v).map(Change::word),
            })
        })
        .collect();
    let removed: Vec<_> = removed(p)
        .into_iter()
        .map(|(secret, key, e)| {
            json!({
                "secret": secret,
                "key": key,
                "format": e.format,
                "generation": e.gen,
                "fingerprint": e.fingerprint,
            })
        })
        .collect();
    let workloads: Vec<_> = r
        .workloads
        .iter()
        .map(|w| {
            json!({
                "workload": workload(w),
                "document": w.location.document,
                "references": w.found.iter().map(object).collect::<Vec<_>>(),
                "not_in_stream": w.missing.iter().map(object).collect::<Vec<_>>(),
                "annotated": !w.found.is_empty(),
            })
        })
        .collect();
    format!(
        "{}\n",
        json!({"injected": injected, "removed": removed, "workloads": workloads})
    )
}

fn table_report(p: &Plan<'_>) -> String {
    let r = p.r;
    let mut rows = vec![[
        "RESOURCE".to_string(),
        "KEY".into(),
        "FORMAT".into(),
        "ID".into(),
        "GEN".into(),
        "FINGERPRINT".into(),
        if p.diff.is_empty() { "" } else { "CHANGE" }.into(),
    ]];
    for v in &r.injected {
        rows.push([
            secret_name(r, &v.location),
            v.key.clone(),
            v.format.clone(),
            v.id.clone(),
            v.gen.clone(),
            v.fingerprint.clone(),
            change(p, v).map_or("", Change::word).into(),
        ]);
    }
    for (secret, key, e) in removed(p) {
        rows.push([
            format!("Secret {secret}"),
            key.into(),
            e.format.clone(),
            "-".into(),
            e.gen.clone(),
            e.fingerprint.clone(),
            Change::Removed.word().into(),
        ]);
    }
    let mut t = table(&rows);
    if !r.workloads.is_empty() {
        t.push('\n');
        let list = |v: &[ObjectRef]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.iter().map(object).collect::<Vec<_>>().join(", ")
            }
        };
        let mut rows = vec![[
            "WORKLOAD".to_string(),
            "ROLLOUT ANNOTATION FROM".into(),
            "NOT IN THE STREAM (ignored)".into(),
        ]];
        for w in &r.workloads {
            rows.push([workload(w), list(&w.found), list(&w.missing)]);
        }
        t.push_str(&table(&rows));
    }
    t
}

/// Left-aligned columns, two spaces apart. Padding is written out, so any width works.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut w = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < N {
                line.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
