//! Property test (issue #11; rollout window shapes, issue #22): generated Secrets and pod templates in the empty-value shapes
//! real charts render, with config overrides and rollout edits applied; every output must
//! parse (YAML 1.1, duplicate keys rejected) and mean exactly the input plus the change.
//! `KEYSEED_SHAPES=N` runs N cases (default 300); `scripts/fuzz-shapes` runs many more.

use serde_json::{json, Value};

use crate::util::*;

/// A small deterministic generator (xorshift), so a failing case can be replayed by seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// How an empty or present value is written, in block and flow style.
const BLOCK_VALUES: &[&str] = &[
    "",
    " ",
    " ~",
    " null",
    " \"\"",
    " ''",
    " old",
    " \"old\"",
    " |\n    old",
];
const FLOW_VALUES: &[&str] = &["", ": ", ": ~", ": null", ": \"\"", ": ''", ": old"];

/// One generated case: the input stream, the config, and the data section the override
/// lands in.
struct Case {
    input: String,
    config: String,
}

fn secret(g: &mut Gen, i: usize) -> (String, String) {
    let name = format!("s{i}");
    let section = *g.pick(&["data", "stringData"]);
    let mut keys: Vec<String> = vec!["pw".into()];
    if g.chance(60) {
        keys.push("other".into());
    }
    if g.chance(50) {
        keys.reverse();
    }
    let value = |g: &mut Gen, k: &str, flow: bool| -> String {
        if k == "other" {
            return if flow {
                ": eA==".into()
            } else {
                " eA==".into()
            };
        }
        if flow {
            g.pick(FLOW_VALUES).to_string()
        } else {
            g.pick(BLOCK_VALUES).to_string()
        }
    };
    let body = match g.next() % 4 {
        // Block mapping.
        0 | 1 => {
            let mut s = format!("{section}:\n");
            for k in &keys {
                let v = value(g, k, false);
                s.push_str(&format!("  {k}:{v}\n"));
            }
            s
        }
        // Flow mapping.
        2 => {
            let items: Vec<String> = keys
                .iter()
                .map(|k| {
                    let v = value(g, k, true);
                    format!("{k}{v}")
                })
                .collect();
            format!("{section}: {{{}}}\n", items.join(", "))
        }
        // An empty or null section.
        _ => format!("{section}:{}\n", g.pick(&["", " ~", " null", " {}"])),
    };
    let trailer = *g.pick(&["", "type: Opaque\n"]);
    (
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{body}{trailer}"),
        name,
    )
}

fn workload(g: &mut Gen, secret: &str) -> String {
    let meta = *g.pick(&[
        "",
        "    metadata:\n",
        "    metadata: ~\n",
        "    metadata: {}\n",
        "    metadata:\n      annotations:\n",
        "    metadata:\n      annotations: ~\n",
        "    metadata:\n      annotations:\n        checksum/secret: abc\n",
        "    metadata:\n      annotations: {checksum/secret: abc, rollme: x}\n",
        "    metadata:\n      labels: {a: b}\n",
        // Shapes the rollout edit is checked in (manifest::window) or falls back from.
        "    metadata:\n      annotations:\n        a: |\n          lit\n\n        checksum/secret: abc\n",
        "    metadata:\n      annotations:\n        # note\n        b: c\n# low\n        d: e\n",
        "    metadata:\n      labels:\n        app: x\n      annotations:\n        x: [1,\n          2]\n",
        "    metadata:\n      annotations: &a\n        k: v\n",
        "    metadata:\n        annotations:\n            deep: x\n        labels: {a: b}\n",
    ]);
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w-{secret}\nspec:\n  template:\n{meta}    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef:\n                name: {secret}\n")
}

fn case(seed: u64) -> Case {
    let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut docs = Vec::new();
    let mut entries = String::new();
    let n = 1 + (g.next() % 2) as usize;
    for i in 0..n {
        let (s, name) = secret(&mut g, i);
        docs.push(s);
        if g.chance(80) {
            docs.push(workload(&mut g, &name));
        }
        entries.push_str(&format!(
            "  - name: {name}\n    data: {{pw: \"<keyseed:password:16>\"}}\n"
        ));
    }
    let end = *g.pick(&["", "---\n"]);
    let config = format!(
        "secrets:\n{entries}rollme:\n  replace: [\"checksum/*\"{}]\n",
        if g.chance(50) { ", \"rollme\"" } else { "" }
    );
    Case {
        input: format!("{}{end}", docs.join("---\n")),
        config,
    }
}

/// The meaning keyseed must produce: every Secret `sN` holds `pw` = the derived password
/// (in `data` base64 when the value was there or only `data` is a mapping), and every
/// Deployment has keyseed's annotation and its `checksum/*` (and maybe `rollme`) replaced.
fn expected(
    input: &Value,
    output: &Value,
    pws: &std::collections::BTreeMap<String, String>,
) -> Value {
    let mut want = input.clone();
    for (i, doc) in want.as_array_mut().unwrap().iter_mut().enumerate() {
        if doc.is_null() {
            continue;
        }
        let out = &output[i];
        match doc["kind"].as_str() {
            Some("Secret") => {
                let name = doc["metadata"]["name"].as_str().unwrap().to_string();
                let pw = &pws[&name];
                let in_data = doc["data"]
                    .as_object()
                    .is_some_and(|d| d.contains_key("pw"));
                let in_sd = doc["stringData"]
                    .as_object()
                    .is_some_and(|d| d.contains_key("pw"));
                let data_map = doc["data"].is_object();
                let sd_map = doc["stringData"].is_object();
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(pw);
                if in_sd || (!in_data && (sd_map || !data_map)) {
                    if !doc["stringData"].is_object() {
                        doc["stringData"] = json!({});
                    }
                    doc["stringData"]["pw"] = json!(pw);
                } else {
                    doc["data"]["pw"] = json!(b64);
                }
            }
            Some("Deployment") => {
                let t = doc["spec"]["template"].as_object_mut().unwrap();
                let got = &out["spec"]["template"]["metadata"]["annotations"];
                let digest = got["keyseed.io/rollme"].clone();
                assert!(digest.as_str().is_some_and(|d| d.len() == 64), "{out}");
                let meta = t.entry("metadata").or_insert(json!({}));
                if !meta.is_object() {
                    *meta = json!({});
                }
                let ann = meta
                    .as_object_mut()
                    .unwrap()
                    .entry("annotations")
                    .or_insert(json!({}));
                if !ann.is_object() {
                    *ann = json!({});
                }
                let ann = ann.as_object_mut().unwrap();
                for (k, v) in ann.iter_mut() {
                    if k.starts_with("checksum/") || (k == "rollme" && got["rollme"] == digest) {
                        *v = digest.clone();
                    }
                }
                ann.insert("keyseed.io/rollme".into(), digest);
            }
            _ => {}
        }
    }
    want
}

pub fn run_cases(n: u64, first: u64) {
    let mut pws = std::collections::BTreeMap::new();
    for i in 0..2 {
        let out = ks(&["derive", "password:16", "--id", &format!("/s{i}/pw")])
            .demo_keys()
            .run()
            .ok();
        pws.insert(format!("s{i}"), out.stdout_str().trim_end().to_string());
    }
    let t = Tmp::new("shapes");
    let mut cases = Vec::new();
    for seed in first..first + n {
        let c = case(seed);
        let cfg = t.write("keyseed.yaml", &c.config);
        let out = ks(&["render", "--config"])
            .arg(&cfg)
            .demo_keys()
            .stdin(&c.input)
            .run();
        assert_eq!(
            out.code,
            Some(0),
            "case {seed}: exit {:?}\n{}\ninput:\n{}\nconfig:\n{}",
            out.code,
            out.stderr,
            c.input,
            c.config
        );
        cases.push((seed, c, out));
    }
    let mut streams = Vec::new();
    for (_, c, out) in &cases {
        streams.push(c.input.as_bytes().to_vec());
        streams.push(out.stdout.clone());
    }
    let parsed = yaml11_json_many(&streams);
    for (i, (seed, c, out)) in cases.iter().enumerate() {
        let (input, got) = (&parsed[2 * i], &parsed[2 * i + 1]);
        let want = expected(input, got, &pws);
        assert_eq!(
            got,
            &want,
            "case {seed}: the output does not mean input + change\ninput:\n{}\noutput:\n{}",
            c.input,
            out.stdout_str()
        );
        assert_ne!(
            c.input.as_bytes(),
            &out.stdout[..],
            "case {seed}: nothing changed"
        );
    }
}

#[test]
fn generated_empty_value_shapes_mean_input_plus_change() {
    let n = std::env::var("KEYSEED_SHAPES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let first = std::env::var("KEYSEED_SHAPES_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    run_cases(n, first);
}
