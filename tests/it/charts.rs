//! Real charts' shapes (issue #11): empty values and sections, empty pod-template metadata,
//! keyrings mounted with `items:`, chart-made randomness outside Secrets. Every fixture is
//! self-written and reproduces a pattern seen in a public chart; no third-party chart is
//! committed. Results are read back with PyYAML (YAML 1.1, duplicate keys rejected).

use serde_json::{json, Value};

use crate::util::*;

/// `keyseed derive SPEC --id ID` with the demo seed.
pub fn derive(spec: &str, id: &str) -> String {
    let out = ks(&["derive", spec, "--id", id]).demo_keys().run().ok();
    out.stdout_str().trim_end_matches('\n').to_string()
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Renders `input` with the config text `cfg`.
pub fn render_cfg(cfg: &str, input: &str, extra: &[&str]) -> Out {
    let t = Tmp::new("chartcfg");
    let path = t.write("keyseed.yaml", cfg);
    let mut k = ks(&["render", "--config"]).arg(&path);
    for a in extra {
        k = k.arg(a);
    }
    k.demo_keys().stdin(input).run()
}

const DB_CFG: &str =
    "secrets:\n  - name: db\n    data:\n      password: \"<keyseed:password:24>\"\n";

#[test]
fn empty_values_in_any_spelling_are_overridden_by_the_config() {
    // Regression: `password:` with nothing after it became `password"<base64>":`, a new key,
    // and the password was never written (exit 0).
    let pw = derive("password:24", "/db/password");
    let head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n";
    let shapes = [
        "data:\n  password:\n  user: YWRtaW4=\n",
        "data:\n  user: YWRtaW4=\n  password:",
        "data:\n  user: YWRtaW4=\n  password:\n",
        "data:\n  password: \n  user: YWRtaW4=\n",
        "data:\n  password: ~\n  user: YWRtaW4=\n",
        "data:\n  password: null\n  user: YWRtaW4=\n",
        "data:\n  password: \"\"\n  user: YWRtaW4=\n",
        "data:\n  password: ''\n  user: YWRtaW4=\n",
        "data: {password: , user: YWRtaW4=}\n",
        "data: {password, user: YWRtaW4=}\n",
        "data: {user: YWRtaW4=, password}\n",
        "data:\n  password: |\n    old\n  user: YWRtaW4=\n",
    ];
    for shape in shapes {
        let input = format!("{head}{shape}");
        let out = render_cfg(DB_CFG, &input, &[]).ok();
        let docs = yaml11_json(&out.stdout);
        let mut want = yaml11_json(input.as_bytes());
        want[0]["data"]["password"] = json!(b64(&pw));
        assert_eq!(
            docs,
            want,
            "shape {shape:?} rendered:\n{}",
            out.stdout_str()
        );
    }
    // stringData too.
    for shape in [
        "stringData:\n  password:\n  user: admin\n",
        "stringData: {password: , user: admin}\n",
        "stringData: {password, user: admin}\n",
    ] {
        let input = format!("{head}{shape}");
        let out = render_cfg(DB_CFG, &input, &[]).ok();
        let mut want = yaml11_json(input.as_bytes());
        want[0]["stringData"]["password"] = json!(pw);
        assert_eq!(yaml11_json(&out.stdout), want, "shape {shape:?}");
    }
}

#[test]
fn empty_sections_get_the_configs_keys() {
    // Regression: argo-cd renders `stringData:` empty; a config entry for that Secret failed
    // with "invalid trailing content" whatever followed.
    let pw = derive("password:24", "/db/password");
    let head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n";
    for (body, after) in [
        (
            "stringData:\n",
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        ),
        ("stringData:\n", ""),
        ("stringData:", ""),
        ("stringData:\ntype: Opaque\n", ""),
        ("stringData: ~\n", ""),
        ("stringData: null\n", "---\n"),
        ("data:\n", ""),
        ("data: {}\n", ""),
        ("stringData: {}\n", ""),
    ] {
        let input = format!("{head}{body}{after}");
        let out = render_cfg(DB_CFG, &input, &[]).ok();
        let got = yaml11_json(&out.stdout);
        let mut want = yaml11_json(input.as_bytes());
        let v = if got[0].get("data").and_then(|d| d.get("password")).is_some() {
            want[0]["data"] = json!({"password": b64(&pw)});
            got[0]["data"]["password"].clone()
        } else {
            want[0]["stringData"] = json!({"password": pw});
            got[0]["stringData"]["password"].clone()
        };
        assert!(v.is_string(), "{body:?}: {}", out.stdout_str());
        assert_eq!(
            got,
            want,
            "{body:?}{after:?} rendered:\n{}",
            out.stdout_str()
        );
    }
}

/// A Deployment whose pod template has `metadata` written as `meta` and references Secret
/// `db`, and that Secret.
fn workload(meta: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: \"<keyseed:password:24>\"}}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n{meta}    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef:\n                name: db\n"
    )
}

#[test]
fn empty_pod_template_metadata_gets_the_annotation_once() {
    // Regression: `metadata:` empty in a pod template got a second `metadata` key.
    for meta in [
        "    metadata:\n",
        "    metadata: ~\n",
        "    metadata: null\n",
        "    metadata: {}\n",
        "    metadata:\n      annotations:\n",
        "    metadata:\n      annotations: ~\n",
        "    metadata:\n      labels: {app: web}\n",
        "",
    ] {
        let input = workload(meta);
        let out = ks(&["render"]).demo_keys().stdin(&input).run().ok();
        let docs = yaml11_json(&out.stdout);
        let tmeta = &docs[1]["spec"]["template"]["metadata"];
        let ann = tmeta["annotations"]["keyseed.io/rollme"].as_str();
        assert!(
            ann.is_some_and(|a| a.len() == 64),
            "{meta:?}: {}",
            out.stdout_str()
        );
        // Nothing else changed in the workload.
        let want = without_template_annotation(yaml11_json(input.as_bytes())[1].clone());
        assert_eq!(
            without_template_annotation(docs[1].clone()),
            want,
            "{meta:?}"
        );
    }
}

#[test]
fn an_empty_tls_value_is_reported_as_empty() {
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\ndata:\n  tls.crt:\n  tls.key: \"\"\n";
    let out = ks(&["render"])
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("`tls.crt` is empty")
        .stderr_has("`tls.key` is empty")
        .stderr_has("certificates:");
    assert!(!out.stderr.contains("needs `tls.crt`"), "{}", out.stderr);
}

/// A workload without keyseed's annotation and without empty or null template metadata
/// or annotations, so "input + annotation" compares equal to the input.
fn without_template_annotation(mut w: Value) -> Value {
    let t = w["spec"]["template"].as_object_mut().unwrap();
    if let Some(m) = t.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        if let Some(a) = m.get_mut("annotations").and_then(|a| a.as_object_mut()) {
            a.remove("keyseed.io/rollme");
        }
        if m.get("annotations")
            .is_some_and(|a| a.is_null() || a.as_object().is_some_and(|a| a.is_empty()))
        {
            m.remove("annotations");
        }
    }
    if t.get("metadata")
        .is_some_and(|m| m.is_null() || m.as_object().is_some_and(|m| m.is_empty()))
    {
        t.remove("metadata");
    }
    w
}

#[test]
fn a_certificates_entry_that_matches_nothing_is_an_error_unless_create() {
    // Regression: a typo in `secret:` silently appended a stray Secret.
    let cfg = "certificates:\n  - secret: web-tsl\n    ca: ca\n    dns-names: [web.example.com]\n    not-before: 2026-01-01\n    days: 365\n";
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\ndata:\n  tls.crt:\n  tls.key:\n";
    render_cfg(cfg, input, &["--now", "2026-06-01T00:00:00Z"])
        .fails()
        .stderr_has("certificates[0] (web-tsl) matches no Secret");
    // The right name fills the chart's empty Secret.
    let fixed = cfg.replace("web-tsl", "web-tls");
    let out = render_cfg(&fixed, input, &["--now", "2026-06-01T00:00:00Z"]).ok();
    let v = secret_values(&out.stdout);
    assert!(v["web-tls/tls.crt"].starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(out.stdout_str().matches("kind: Secret").count(), 1);
    // `create: true` adds it.
    let create = cfg.replace("    ca: ca\n", "    ca: ca\n    create: true\n");
    let out = render_cfg(&create, input, &["--now", "2026-06-01T00:00:00Z"])
        .fails()
        .stderr_has("`tls.crt` is empty");
    let _ = out;
}

#[test]
fn rollout_digest_follows_aliases_and_merge_keys() {
    // Regression: rollme hashed the alias text, so changing the anchored value did not
    // change the annotation.
    let stream = |v: &str| {
        format!(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: base}}\n    data: &d {{version: &v \"{v}\", mode: a}}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: app}}\n    data:\n      pinned: *v\n      <<: *d\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          envFrom:\n            - configMapRef: {{name: app}}\n"
        )
    };
    let ann = |v: &str| {
        let out = ks(&["render"]).demo_keys().stdin(stream(v)).run().ok();
        let docs = yaml11_json(&out.stdout);
        docs[1]["spec"]["template"]["metadata"]["annotations"]["keyseed.io/rollme"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(ann("1"), ann("1"));
    assert_ne!(ann("1"), ann("2"), "the aliased and merged value changed");
}

#[test]
fn check_counts_documents_with_content_only() {
    let input = "# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# another\n";
    let out = ks(&["check"]).stdin(input).run().ok();
    assert!(out.stderr.contains("in 1 document(s)"), "{}", out.stderr);
}
