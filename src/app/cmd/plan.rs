//! `keyseed plan`: renders without writing the stream and reports what was injected and
//! which workloads are annotated. Values never appear, only keyed fingerprints.

use serde_json::json;

use super::{render_stream, Output};
use crate::app::args::PlanArgs;
use crate::app::error::Error;
use crate::app::settings::Settings;
use crate::diag::Location;
use crate::pipeline::Rendered;
use crate::rollout::{ObjectRef, Report, Workload};
use crate::secret::SecretBytes;

/// `keyseed plan`.
pub fn run(settings: &Settings, args: &PlanArgs, stdin: SecretBytes) -> Result<Output, Error> {
    let r = render_stream(settings, &args.render, stdin, false, Report::Every)?;
    let text = if args.format == "json" {
        json_report(&r)
    } else {
        table_report(&r)
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

fn json_report(r: &Rendered) -> String {
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
        json!({"injected": injected, "workloads": workloads})
    )
}

fn table_report(r: &Rendered) -> String {
    let mut rows = vec![[
        "RESOURCE".to_string(),
        "KEY".into(),
        "FORMAT".into(),
        "ID".into(),
        "GEN".into(),
        "FINGERPRINT".into(),
    ]];
    for v in &r.injected {
        rows.push([
            secret_name(r, &v.location),
            v.key.clone(),
            v.format.clone(),
            v.id.clone(),
            v.gen.clone(),
            v.fingerprint.clone(),
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
