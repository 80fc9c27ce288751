//! `keyseed render`: formats, options, determinism and placement rules, end to end.

use base64::Engine as _;

use crate::util::*;

fn secret(string_data: &str) -> String {
    format!(
        "---\n# Source: demo/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: backend\ntype: Opaque\nstringData:\n{string_data}"
    )
}

fn render(input: &str) -> Out {
    ks(&["render"]).demo_keys().stdin(input).run()
}

fn render_values(input: &str) -> std::collections::BTreeMap<String, String> {
    secret_values(&render(input).ok().stdout)
}

#[test]
fn every_format_renders_the_right_shape() {
    let v = render_values(&secret(
        "  b64: \"<keyseed:base64:32>\"\n  url: \"<keyseed:base64url:20>\"\n  hex: \"<keyseed:hex:16>\"\n  fernet: \"<keyseed:fernet>\"\n  alnum: \"<keyseed:alnum:40>\"\n  pw: \"<keyseed:password:24>\"\n  uuid: \"<keyseed:uuid>\"\n  static: \"<keyseed:value:openai-api-key>\"\n",
    ));
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE;
    assert_eq!(std.decode(&v["backend/b64"]).unwrap().len(), 32);
    assert_eq!(v["backend/b64"].len(), 44, "openssl rand -base64 32 shape");
    assert_eq!(url.decode(&v["backend/url"]).unwrap().len(), 20);
    assert!(!v["backend/url"].contains(['+', '/']));
    assert_eq!(v["backend/hex"].len(), 32);
    assert!(v["backend/hex"]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(url.decode(&v["backend/fernet"]).unwrap().len(), 32);
    assert_eq!(v["backend/alnum"].len(), 40);
    assert!(v["backend/alnum"]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    let pw = &v["backend/pw"];
    assert_eq!(pw.len(), 24);
    assert!(
        pw.bytes().any(|b| b.is_ascii_lowercase()) && pw.bytes().any(|b| b.is_ascii_uppercase())
    );
    assert!(
        pw.bytes().any(|b| b.is_ascii_digit()) && pw.bytes().any(|b| b"-_.~!@#%^*+=".contains(&b))
    );
    assert!(pw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~!@#%^*+=".contains(&b)));
    let u = &v["backend/uuid"];
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4", "version 4");
    assert!(
        matches!(&u[19..20], "8" | "9" | "a" | "b"),
        "RFC 9562 variant"
    );
    assert_eq!(v["backend/static"], "sk-TEST-ONLY-openai");
}

#[test]
fn render_is_byte_identical_across_runs() {
    let input = secret("  a: \"<keyseed:base64:32>\"\n  b: \"<keyseed:password:30>\"\n");
    let one = render(&input).ok().stdout;
    let two = render(&input).ok().stdout;
    assert_eq!(one, two);
}

#[test]
fn another_seed_changes_every_derived_value() {
    let (t, id) = init_project("otherseed");
    let input = secret(
        "  a: \"<keyseed:base64:32>\"\n  b: \"<keyseed:hex:8>\"\n  c: \"<keyseed:fernet>\"\n  d: \"<keyseed:alnum:12>\"\n  e: \"<keyseed:password:12>\"\n  f: \"<keyseed:uuid>\"\n  g: \"<keyseed:base64url:9>\"\n",
    );
    let demo = render_values(&input);
    let other = secret_values(
        &ks(&["render", "--identity"])
            .arg(&id)
            .cwd(&t.0)
            .stdin(&input)
            .run()
            .ok()
            .stdout,
    );
    assert_eq!(demo.len(), 7);
    for (k, v) in &demo {
        assert_ne!(v, &other[k], "{k} did not change with the seed");
    }
}

#[test]
fn the_scope_changes_default_ids_but_not_explicit_ones() {
    let input = secret("  a: \"<keyseed:hex:16>\"\n  b: \"<keyseed:hex:16 id=shared/b>\"\n");
    let plain = render_values(&input);
    let prod = secret_values(
        &ks(&["render", "--scope", "prod"])
            .demo_keys()
            .stdin(&input)
            .run()
            .ok()
            .stdout,
    );
    let envv = secret_values(
        &ks(&["render"])
            .env("KEYSEED_SCOPE", "prod")
            .demo_keys()
            .stdin(&input)
            .run()
            .ok()
            .stdout,
    );
    assert_ne!(plain["backend/a"], prod["backend/a"]);
    assert_eq!(
        prod["backend/a"], envv["backend/a"],
        "KEYSEED_SCOPE is the twin of --scope"
    );
    assert_eq!(plain["backend/b"], prod["backend/b"]);
}

#[test]
fn derive_prints_what_render_injects() {
    let input = secret("  encryption-key: \"<keyseed:base64:32>\"\n  shared: \"<keyseed:fernet id=ext/one gen=3>\"\n");
    let v = secret_values(
        &ks(&["render", "--scope", "prod"])
            .demo_keys()
            .stdin(&input)
            .run()
            .ok()
            .stdout,
    );
    let d = ks(&["derive", "base64:32", "--id", "prod/backend/encryption-key"])
        .demo_keys()
        .run()
        .ok();
    assert_eq!(d.stdout_str(), format!("{}\n", v["backend/encryption-key"]));
    let d = ks(&["derive", "<keyseed:fernet gen=3>", "--id", "ext/one"])
        .demo_keys()
        .run()
        .ok();
    assert_eq!(d.stdout_str().trim_end(), v["backend/shared"]);
}

#[test]
fn keyring_writes_one_key_per_generation() {
    let input = secret("  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..2>\"\n  after: kept\n");
    let out = render(&input).ok().stdout_str();
    assert!(out.contains("  \"encryption-key-0\": \""), "{out}");
    assert!(out.contains("\n  \"encryption-key-2\": \""), "{out}");
    assert!(out.contains("\n  after: kept\n"), "{out}");
    let v = secret_values(out.as_bytes());
    assert_eq!(
        v.keys()
            .filter(|k| k.starts_with("backend/encryption-key-"))
            .count(),
        3
    );
    // Generations differ only by gen: derive with the `{gen}` id reproduces each.
    for g in 0..3 {
        let d = ks(&["derive"])
            .arg(format!("base64:32 gen={g}"))
            .args_id("/backend/encryption-key-{gen}")
            .demo_keys()
            .run()
            .ok();
        assert_eq!(
            d.stdout_str().trim_end(),
            v[&format!("backend/encryption-key-{g}")]
        );
    }
    // Raising the upper bound keeps the old generations: rotation never loses a key.
    let more = render_values(&secret(
        "  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..3>\"\n",
    ));
    for g in 0..3 {
        let k = format!("backend/encryption-key-{g}");
        assert_eq!(more[&k], v[&k]);
    }
}

trait IdArg {
    fn args_id(self, id: &str) -> Self;
}
impl IdArg for Ks {
    fn args_id(self, id: &str) -> Self {
        self.arg("--id").arg(id)
    }
}

#[test]
fn joined_keyring_is_newest_first() {
    let v = render_values(&secret(
        "  keys: \"<keyseed:fernet gen=0..2 join=, order=desc>\"\n  asc: \"<keyseed:fernet gen=0..1 join=\\\\s order=asc id=x>\"\n",
    ));
    let parts: Vec<&str> = v["backend/keys"].split(',').collect();
    assert_eq!(parts.len(), 3);
    for (i, g) in [2, 1, 0].iter().enumerate() {
        let d = ks(&["derive"])
            .arg(format!("fernet gen={g}"))
            .args_id("/backend/keys")
            .demo_keys()
            .run()
            .ok();
        assert_eq!(d.stdout_str().trim_end(), parts[i]);
    }
    assert_eq!(v["backend/asc"].split(' ').count(), 2);
}

#[test]
fn data_placeholders_are_base64_in_and_out() {
    let b64 = base64::engine::general_purpose::STANDARD.encode("<keyseed:hex:16>");
    let input = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: {b64}\n  other: aGVsbG8=\n");
    let out = render(&input).ok().stdout_str();
    assert!(
        out.contains("  other: aGVsbG8=\n"),
        "untouched data stays byte-identical"
    );
    let v = secret_values(out.as_bytes());
    assert_eq!(v["s/k"].len(), 32);
    let d = ks(&["derive", "hex:16", "--id", "/s/k"])
        .demo_keys()
        .run()
        .ok();
    assert_eq!(d.stdout_str().trim_end(), v["s/k"]);
}

#[test]
fn placeholders_outside_secrets_are_errors() {
    let cases = [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: \"<keyseed:hex:8>\"\n", "ConfigMap cm", ".data.k"),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          env:\n            - name: X\n              value: <keyseed:base64:32>\n",
            "Deployment web",
            ".spec.template.spec.containers[0].env[0].value",
        ),
        (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    a: \"<keyseed:uuid>\"\nstringData:\n  k: v\n",
            "Secret s",
            ".metadata.annotations.a",
        ),
    ];
    for (doc, res, field) in cases {
        let input =
            format!("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: first\n---\n{doc}");
        ks(&["render"])
            .demo_keys()
            .stdin(&input)
            .run()
            .fails()
            .stderr_has("document 2")
            .stderr_has(res)
            .stderr_has(field);
    }
}

#[test]
fn unknown_format_or_option_names_document_resource_and_field() {
    let input = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n{}",
        secret("  k: \"<keyseed:base65:32>\"\n  j: \"<keyseed:hex:8 colour=red>\"\n")
    );
    let out = ks(&["render"]).demo_keys().stdin(&input).run().fails();
    out.stderr_has("document 2 (Secret backend, from demo/templates/secret.yaml) .stringData.k: unknown format `base65:32`")
        .stderr_has(".stringData.j: unknown option `colour`")
        .stderr_has("2 problem(s) found");
}

#[test]
fn check_needs_no_seed_and_finds_the_same_errors() {
    let good = secret("  k: \"<keyseed:base64:32>\"\n");
    let out = ks(&["check"]).stdin(&good).run().ok();
    assert!(
        out.stderr.contains("ok: 1 placeholder(s)"),
        "{}",
        out.stderr
    );
    ks(&["check"])
        .stdin(secret("  k: \"<keyseed:nope>\"\n"))
        .run()
        .fails()
        .stderr_has("unknown format");
}

#[test]
fn empty_input_is_an_error_unless_allowed() {
    for input in [
        "",
        "\n\n",
        "---\n# Source: x\n# HIDDEN: The Secret output has been suppressed\n",
    ] {
        ks(&["render"])
            .demo_keys()
            .stdin(input)
            .run()
            .fails()
            .stderr_has("empty")
            .stderr_has("--allow-empty");
        let out = ks(&["render", "--allow-empty"])
            .demo_keys()
            .stdin(input)
            .run()
            .ok();
        assert_eq!(out.stdout, input.as_bytes());
    }
}

#[test]
fn no_placeholder_text_survives_a_render() {
    let input = secret("  k: \"<keyseed:hex:8>\"\n  # a comment mentioning <keyseed:hex:4>\n");
    ks(&["render"])
        .demo_keys()
        .stdin(&input)
        .run()
        .fails()
        .stderr_has("document 1 (Secret backend")
        .stderr_has("remains");
    let input = secret("  k: \"prefix <keyseed:hex:8>\"\n");
    ks(&["render"])
        .demo_keys()
        .stdin(&input)
        .run()
        .fails()
        .stderr_has("not exactly one placeholder");
}

#[test]
fn keyring_errors_are_clear() {
    for (sd, msg) in [
        (
            "  k-{gen}: \"<keyseed:hex:8>\"\n",
            "needs a generation range",
        ),
        (
            "  k: \"<keyseed:hex:8 gen=0..1>\"\n",
            "put `{gen}` in the data key",
        ),
        (
            "  k-{gen}: \"<keyseed:hex:8 gen=0..1>\"\n  k-1: x\n",
            "already has",
        ),
        (
            "  k: \"<keyseed:value:nope>\"\n",
            "static value `nope` is not in seed file",
        ),
    ] {
        ks(&["render"])
            .demo_keys()
            .stdin(secret(sd))
            .run()
            .fails()
            .stderr_has(msg);
    }
}

/// `check` (no seed) judged a keyring's key as written (`encryption-key-{gen}`) against
/// Kubernetes' key syntax and failed a stream `render` accepts; it now checks the keys render
/// writes, as render does.
#[test]
fn check_accepts_a_keyring_key_template_that_render_accepts() {
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\n";
    ks(&["check"])
        .stdin(input)
        .run()
        .ok()
        .stderr_has("ok: 1 placeholder(s)");
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let v = secret_values(&out.stdout);
    assert_eq!(v.len(), 2, "{v:?}");
    let bad = input.replace("encryption-key-{gen}", "\"encryption key {gen}\"");
    ks(&["check"])
        .stdin(bad)
        .run()
        .fails()
        .stderr_has("not a valid Secret key");
}
