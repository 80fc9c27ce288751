//! `keyseed.yaml` (issue #7): patching and creating Secrets of charts keyseed cannot
//! edit, on real Helm 3 and Helm 4 output.

use std::process::Command;

use crate::util::*;

fn vendor() -> String {
    root()
        .join("charts-example/vendor/chart")
        .display()
        .to_string()
}

fn helm_template(helm: &str, extra: &[&str]) -> Vec<u8> {
    let chart = vendor();
    let mut args = vec!["template", "vendor", chart.as_str()];
    args.extend_from_slice(extra);
    let t = Tmp::new("helmhome");
    let mut c = Command::new(tool(helm));
    c.args(&args)
        .env("HELM_DATA_HOME", t.path("d"))
        .env("HELM_CONFIG_HOME", t.path("c"))
        .env("HELM_CACHE_HOME", t.path("k"));
    run_with_stdin(c, b"").ok().stdout
}

fn render_with(config: &std::path::Path, input: &[u8], extra: &[&str]) -> Out {
    let mut k = ks(&["render", "--config"]).arg(config);
    for a in extra {
        k = k.arg(a);
    }
    k.demo_keys().stdin(input).run()
}

#[test]
fn vendor_random_key_is_overridden_and_stable() {
    let cfg = root().join("charts-example/vendor/keyseed.yaml");
    // randAlphaNum: two plain Helm renders differ...
    let a = helm_template("helm3", &[]);
    let b = helm_template("helm3", &[]);
    assert_ne!(
        secret_values(&a)["vendor-backend-keys/encryption-key"],
        secret_values(&b)["vendor-backend-keys/encryption-key"]
    );
    // ...and keyseed makes them identical.
    let ra = render_with(&cfg, &a, &[]).ok();
    let rb = render_with(&cfg, &b, &[]).ok();
    assert_eq!(ra.stdout, rb.stdout);
    let v = secret_values(&ra.stdout);
    let d = ks(&[
        "derive",
        "base64:32",
        "--id",
        "prod/vendor-backend-keys/encryption-key",
    ])
    .demo_keys()
    .run()
    .ok();
    assert_eq!(
        v["vendor-backend-keys/encryption-key"],
        d.stdout_str().trim()
    );
    assert_eq!(
        v["vendor-backend-keys/api-url"], "https://api.example.com",
        "keys the config does not name pass"
    );
    // Only the overridden line differs from Helm's output; other documents are byte-identical.
    let (ia, oa) = (String::from_utf8(a).unwrap(), ra.stdout_str());
    // (The Deployment also gets its rollout annotation: one added line.)
    let oa: String = oa
        .lines()
        .filter(|l| !l.contains("keyseed.io/rollme"))
        .map(|l| format!("{l}\n"))
        .collect();
    let diff: Vec<_> = ia.lines().zip(oa.lines()).filter(|(x, y)| x != y).collect();
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(diff[0].0.trim_start().starts_with("encryption-key:"));
    // Helm 4 output (re-serialized by kyaml, filename annotations) gets the same value.
    let h4 = render_with(&cfg, &helm_template("helm4", &[]), &[]).ok();
    assert_eq!(
        secret_values(&h4.stdout)["vendor-backend-keys/encryption-key"],
        v["vendor-backend-keys/encryption-key"]
    );
}

#[test]
fn existing_secret_is_created_with_keyring_and_static_values() {
    let cfg = root().join("charts-example/vendor/keyseed-existing.yaml");
    for helm in ["helm3", "helm4"] {
        let input = helm_template(helm, &["--set", "existingSecrets.backend=backend-keys"]);
        let out = render_with(&cfg, &input, &["--namespace", "team-a"]).ok();
        let text = out.stdout_str();
        let input_text = std::str::from_utf8(&input).unwrap();
        let created = &text[text.find("# Source: keyseed/created/").unwrap() - 4..];
        let before: String = text[..text.len() - created.len()]
            .lines()
            .filter(|l| !l.contains("keyseed.io/rollme"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            before, input_text,
            "{helm}: the input comes first, unchanged but for the rollout annotation"
        );
        assert!(
            created.starts_with("---\n# Source: keyseed/created/backend-keys.yaml\n"),
            "{created}"
        );
        let docs = yaml11_json(created.as_bytes());
        assert_eq!(docs[0]["metadata"]["namespace"], "team-a");
        assert_eq!(docs[0]["metadata"]["labels"]["app"], "backend");
        assert_eq!(docs[0]["type"], "Opaque");
        let v = secret_values(&out.stdout);
        assert_eq!(v["backend-keys/openai-api-key"], "sk-TEST-ONLY-openai");
        assert_eq!(v["backend-keys/encryption-key-1"].len(), 44);
        let d = ks(&[
            "derive",
            "base64:32 gen=1",
            "--id",
            "prod/backend-keys/encryption-key-{gen}",
        ])
        .demo_keys()
        .run()
        .ok();
        assert_eq!(v["backend-keys/encryption-key-1"], d.stdout_str().trim());
        // Identical on every render.
        assert_eq!(
            render_with(&cfg, &input, &["--namespace", "team-a"])
                .ok()
                .stdout,
            out.stdout
        );
    }
    // Helm 4 accepts the created document back (it parses post-renderer output).
    let t = Tmp::new("h4create");
    let cfgabs = cfg.display().to_string();
    let pathdir = t.path("bin");
    std::fs::create_dir_all(&pathdir).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keyseed"), pathdir.join("keyseed")).unwrap();
    let mut c = Command::new(tool("helm4"));
    c.args(["plugin", "install"])
        .arg(root().join("helm/keyseed-postrender"));
    let envs = [
        ("HELM_DATA_HOME", t.path("d")),
        ("HELM_PLUGINS", t.path("d/plugins")),
        ("HELM_CONFIG_HOME", t.path("c")),
        ("HELM_CACHE_HOME", t.path("k")),
        (
            "KEYSEED_BIN",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_keyseed")),
        ),
        ("KEYSEED_CONFIG", std::path::PathBuf::from(&cfgabs)),
        ("KEYSEED_NAMESPACE", "team-a".into()),
        ("KEYSEED_SEED_FILE", demo_seed()),
        ("KEYSEED_AGE_KEY_FILE", demo_identity()),
    ];
    c.envs(envs.clone());
    run_with_stdin(c, b"").ok();
    let mut c = Command::new(tool("helm4"));
    c.args([
        "template",
        "vendor",
        &vendor(),
        "--set",
        "existingSecrets.backend=backend-keys",
        "--post-renderer",
        "keyseed-postrender",
    ]);
    c.envs(envs);
    let out = run_with_stdin(c, b"").ok();
    assert!(
        out.stdout_str()
            .contains("# Source: keyseed/created/backend-keys.yaml"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        secret_values(&out.stdout)["backend-keys/openai-api-key"],
        "sk-TEST-ONLY-openai"
    );
}

#[test]
fn app_secrets_from_a_hundred_static_values() {
    let t = Tmp::new("appsecrets");
    let mut cfg = String::from("secrets:\n  - name: app-secrets\n    create: true\n    data:\n");
    for i in 1..=100 {
        cfg.push_str(&format!(
            "      APP_VAR_{i:03}: \"<keyseed:value:app-var-{i:03}>\"\n"
        ));
    }
    cfg.push_str("      DATADOG_API_KEY: \"<keyseed:value:datadog-api-key>\"\n");
    let c = t.write("keyseed.yaml", &cfg);
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b";
    let out = render_with(&c, input.as_bytes(), &[]).ok();
    let text = out.stdout_str();
    assert!(
        text.starts_with(&format!("{input}\n---\n")),
        "a newline is added before the created document"
    );
    let v = secret_values(&out.stdout);
    assert_eq!(v.len(), 101);
    assert_eq!(v["app-secrets/APP_VAR_042"], "test-only-value-042");
    // The default ./keyseed.yaml is found too.
    let out2 = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok();
    assert_eq!(out2.stdout, out.stdout);
}

#[test]
fn config_overrides_data_and_string_data_and_inserts_missing_keys() {
    let t = Tmp::new("override");
    let cfg = t.write(
        "keyseed.yaml",
        "secrets:\n  - name: s\n    data:\n      in-data: \"<keyseed:hex:4>\"\n      in-sd: \"<keyseed:hex:4>\"\n      new-key: \"<keyseed:uuid>\"\n      ring-{gen}: \"<keyseed:hex:2 gen=0..1>\"\n  - name: j\n    data:\n      k: \"<keyseed:hex:3>\"\n  - name: bare\n    data:\n      k: \"<keyseed:hex:3>\"\n",
    );
    let input = "---\n# Source: x.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  in-data: Y2hhcnQtcmFuZG9t\n  keep: a2VlcA==\nstringData:\n  in-sd: chart-set-value\n  ring-1: old\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"j\"},\"data\":{}}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bare\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata: {x: y}\n";
    let out = render_with(&cfg, input.as_bytes(), &[]).ok();
    let text = out.stdout_str();
    let v = secret_values(&out.stdout);
    assert_eq!(v["s/in-data"].len(), 8);
    assert_eq!(v["s/in-sd"].len(), 8);
    assert_ne!(v["s/in-sd"], "chart-set-value");
    assert_eq!(v["s/keep"], "keep");
    assert_eq!(v["s/new-key"].len(), 36);
    assert_eq!(v["s/ring-0"].len(), 4);
    assert_eq!(v["s/ring-1"].len(), 4);
    let d = ks(&["derive", "hex:2 gen=1", "--id", "/s/ring-{gen}"])
        .demo_keys()
        .run()
        .ok();
    assert_eq!(v["s/ring-1"], d.stdout_str().trim());
    assert_eq!(v["j/k"].len(), 6);
    assert_eq!(v["bare/k"].len(), 6);
    assert!(
        text.ends_with("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata: {x: y}\n"),
        "a ConfigMap of the same name is untouched"
    );
    let json_line = text.lines().find(|l| l.starts_with("{")).unwrap();
    let _: serde_json::Value = serde_json::from_str(json_line).expect("a JSON Secret stays JSON");
}

#[test]
fn config_matching_errors_guard_against_typos() {
    let t = Tmp::new("match");
    let typo = t.write(
        "typo.yaml",
        "secrets:\n  - name: backend-kyes\n    data: {k: \"<keyseed:hex:4>\"}\n",
    );
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\nstringData: {a: b}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\n  namespace: other\nstringData: {a: b}\n";
    render_with(&typo, input.as_bytes(), &[])
        .fails()
        .stderr_has("secrets[0] (backend-kyes) matches no Secret");
    let two = t.write(
        "two.yaml",
        "secrets:\n  - name: backend-keys\n    data: {k: \"<keyseed:hex:4>\"}\n",
    );
    render_with(&two, input.as_bytes(), &[])
        .fails()
        .stderr_has("matches 2 Secrets");
    // Namespace matching: the first document has none and takes --namespace.
    let ns = t.write("ns.yaml", "secrets:\n  - name: backend-keys\n    namespace: team-a\n    data: {k: \"<keyseed:hex:4>\"}\n");
    render_with(&ns, input.as_bytes(), &[])
        .fails()
        .stderr_has("matches no Secret");
    let out = render_with(&ns, input.as_bytes(), &["--namespace", "team-a"]).ok();
    let text = out.stdout_str();
    assert!(text.contains("stringData: {\"k\": \""), "{text}");
    assert!(text.ends_with("  namespace: other\nstringData: {a: b}\n"));
}

#[test]
fn config_errors_are_clear() {
    let t = Tmp::new("cfgerr");
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n";
    ks(&["render", "--config", "/nonexistent/keyseed.yaml"])
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("cannot read the config file");
    let bad = t.write("bad.yaml", "scope: prod\nsecrets:\n  - name: s\n    create: true\n    dtaa:\n      k: \"<keyseed:hex:4>\"\n");
    let out = ks(&["render"])
        .env("KEYSEED_CONFIG", &bad)
        .demo_keys()
        .stdin(input)
        .run()
        .fails();
    out.stderr_has("line 5").stderr_has("dtaa");
    let key = t.write(
        "key.yaml",
        "secrets:\n  - name: s\n    data:\n      \"bad key\": \"<keyseed:hex:4>\"\n",
    );
    ks(&["render", "--config"])
        .arg(&key)
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("must match [-._a-zA-Z0-9]+");
    let big = t.write(
        "big.yaml",
        "secrets:\n  - name: s\n    data:\n      k: \"<keyseed:hex:600000>\"\n",
    );
    ks(&["render", "--config"])
        .arg(&big)
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("at most 1048576 (1 MiB)");
    let sections = t.write("sections.yaml", "rollme:\n  annotation: rollme\n  kinds: [Deployment]\ntls:\n  min-days: 30\ncertificates:\n  - secret: t\n    create: true\n    ca: internal\n    not-before: 2026-01-01\n    days: 365\n");
    ks(&["check", "--config"])
        .arg(&sections)
        .stdin(input)
        .run()
        .ok();
}

#[test]
fn config_messages_name_the_config_file_in_use() {
    // Regression: messages said `keyseed.yaml` even when `--config other.yaml` was given.
    let t = Tmp::new("cfgname");
    let cfg = t.write(
        "other.yaml",
        "secrets:\n  - name: backend-kyes\n    data: {k: \"<keyseed:hex:4>\"}\n",
    );
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: backend-keys}\nstringData: {a: b}\n";
    let out = render_with(&cfg, input.as_bytes(), &[]).fails();
    let name = cfg.display().to_string();
    out.stderr_has(&format!(
        "{name} secrets[0] (backend-kyes) matches no Secret"
    ))
    .stderr_has(&format!("fix the name in {name}"));
    assert!(!out_stderr_mentions_default(&cfg, input));
}

fn out_stderr_mentions_default(cfg: &std::path::Path, input: &str) -> bool {
    render_with(cfg, input.as_bytes(), &[])
        .stderr
        .contains("keyseed.yaml")
}

#[test]
fn cert_placeholder_without_certificates_entry_names_the_config() {
    // Regression: a `<keyseed:cert:x>` with no `certificates:` entry was reported as a missing
    // static value with a `keyseed values set` hint.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: \"<keyseed:cert:web-tls>\"\n  tls.key: \"<keyseed:cert-key:web-tls>\"\n";
    let out = ks(&["render"])
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("`cert:web-tls` names no `certificates:` entry")
        .stderr_has("add a `certificates:` entry with `secret: web-tls`");
    assert!(!out.stderr.contains("static value"), "{}", out.stderr);
    assert!(!out.stderr.contains("values set"), "{}", out.stderr);
}
