//! The source layout is layered and arrows only point down: a module of `src/` may use only
//! modules of the layers below its own (and its own module's files). This test reads every
//! `crate::…` path in `src/` (unit tests excluded) and fails on any arrow pointing up or
//! sideways, so the structure of `docs/architecture.md` cannot erode silently.

use std::path::Path;

use crate::util::root;

/// The layers, bottom first. Keep in step with `src/lib.rs` and `docs/architecture.md`.
const LAYERS: &[(&str, &[&str])] = &[
    ("shared", &["secret", "diag", "io", "parallel", "text"]),
    ("bytes", &["placeholder", "manifest"]),
    ("domain", &["k8s", "seed", "derive"]),
    (
        "transforms and checks",
        &["config", "inject", "rollout", "checks", "seal", "sops"],
    ),
    ("orchestration", &["pipeline", "lock"]),
    ("application", &["app", "lib", "main"]),
];

fn level(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level module a file of `src/` belongs to (`src/inject/plan.rs` → `inject`).
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every top-level module a file's code (before `#[cfg(test)]`) names with `crate::`.
fn uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                for item in group.split(['}', ',']) {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        }
    }
    out
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_only_use_the_layers_below_them() {
    let src = root().join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = top_module(rel);
        let Some(own) = level(&module) else {
            wrong.push(format!(
                "{}: module `{module}` is in no layer of the table",
                rel.display()
            ));
            continue;
        };
        for used in uses(&std::fs::read_to_string(f).unwrap()) {
            if used == module {
                continue;
            }
            match level(&used) {
                Some(l) if l < own => {}
                Some(l) => wrong.push(format!(
                    "{}: `{module}` ({}) uses `{used}` ({})",
                    rel.display(),
                    LAYERS[own].0,
                    LAYERS[l].0
                )),
                None => wrong.push(format!(
                    "{}: uses `crate::{used}`, which is in no layer",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows must point down:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layering_check_sees_an_upward_arrow() {
    // Guards the guard: a use of a higher layer is found, in both path and group form.
    assert_eq!(uses("use crate::pipeline::plan;\n"), vec!["pipeline"]);
    assert_eq!(
        uses("use crate::{app, diag::Finding};\n"),
        vec!["app", "diag"]
    );
    assert!(uses("// crate::app\n#[cfg(test)]\nuse crate::app;").is_empty());
    assert!(level("app") > level("pipeline") && level("pipeline") > level("manifest"));
}
