//! Real chart layouts (issue #23): values a chart copies into several Secrets, CA material in
//! any YAML shape, certificate layouts of real Secrets, htpasswd lines, and the small
//! frictions a new user meets. Values are compared, never printed.

use crate::util::*;

/// A mastodon-shaped stream: the main Secret and its pre-install hook copy, values as the
/// chart's `b64enc` writes them.
fn mastodon(copy: &str) -> String {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = |name: &str, hook: bool| {
        format!(
            "---\n# Source: mastodon/templates/{name}.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{}type: Opaque\ndata:\n  SECRET_KEY_BASE: \"{}\"\n  OTP_SECRET: \"{}\"\n",
            if hook { "  annotations:\n    \"helm.sh/hook\": pre-install\n" } else { "" },
            b("<keyseed:hex:64>"),
            b("<keyseed:hex:64>"),
        )
    };
    secret("mastodon", false) + &secret(copy, true)
}

#[test]
fn copies_give_a_hook_secret_the_values_of_the_secret_it_copies() {
    let t = Tmp::new("copies");
    let input = mastodon("mastodon-prepare");
    // Without `copies:`: refused (a copied value would split), naming both Secrets and the
    // fix, in render, plan and check alike; nothing on stdout.
    for cmd in ["render", "plan", "check"] {
        let out = ks(&[cmd, "--scope", "prod"])
            .demo_keys()
            .cwd(&t.0)
            .stdin(&input)
            .run()
            .fails()
            .stderr_has("error: document 1 (Secret mastodon, from mastodon/templates/mastodon.yaml) .data.SECRET_KEY_BASE: `<keyseed:hex:64>` is written without `id=` in 4 places of 2 Secrets")
            .stderr_has("`.data.SECRET_KEY_BASE` of document 2 (Secret mastodon-prepare, from mastodon/templates/mastodon-prepare.yaml)")
            .stderr_has("add `copies: {mastodon-prepare: mastodon}` to keyseed.yaml");
        assert!(out.stdout.is_empty(), "{cmd}");
    }
    // The values the Secrets had: the default ids the pins name.
    let v = |secret: &str, key: &str| {
        ks(&["derive", "hex:64", "--id", &format!("prod/{secret}/{key}")])
            .demo_keys()
            .run()
            .ok()
            .stdout_str()
            .trim_end()
            .to_string()
    };
    let v: std::collections::BTreeMap<String, String> = ["mastodon", "mastodon-prepare"]
        .iter()
        .flat_map(|s| ["SECRET_KEY_BASE", "OTP_SECRET"].map(|k| (format!("{s}/{k}"), v(s, k))))
        .collect();

    t.write("keyseed.yaml", "copies:\n  mastodon-prepare: mastodon\n");
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let w = secret_values(&out.stdout);
    for k in ["SECRET_KEY_BASE", "OTP_SECRET"] {
        assert!(
            w[&format!("mastodon/{k}")] == w[&format!("mastodon-prepare/{k}")],
            "{k} is one value"
        );
        // The original keeps the value it had: `copies:` changes only the copy.
        assert!(
            w[&format!("mastodon/{k}")] == v[&format!("mastodon/{k}")],
            "{k} unchanged"
        );
    }
    assert!(w["mastodon/SECRET_KEY_BASE"] != w["mastodon/OTP_SECRET"]);
    // The copy's value is the original's default id, as `derive` gives it.
    let derived = ks(&["derive", "hex:64", "--id", "prod/mastodon/OTP_SECRET"])
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
    assert!(derived.trim_end() == w["mastodon-prepare/OTP_SECRET"]);
}

#[test]
fn copies_apply_to_config_entries_too() {
    let t = Tmp::new("copies-config");
    t.write(
        "keyseed.yaml",
        "copies:\n  app-hook: app\nsecrets:\n  - name: app\n    data: {password: \"<keyseed:password:20>\"}\n  - name: app-hook\n    data: {password: \"<keyseed:password:20>\"}\n",
    );
    let input = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData: {password: \"\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: app-hook}\nstringData: {password: \"\"}\n";
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok();
    let v = secret_values(&out.stdout);
    assert!(v["app/password"] == v["app-hook/password"]);
    assert_eq!(v["app/password"].len(), 20);
}

#[test]
fn one_placeholder_in_two_secrets_is_refused_with_pins_that_keep_each_value() {
    // `db` and `cache` both hold `password: <keyseed:password:24>`: a chart copying one
    // value would split it, so keyseed refuses and prints the `id=` that keeps each value.
    let input = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: \"<keyseed:password:24>\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: cache}\nstringData: {password: \"<keyseed:password:24>\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: db-admin}\nstringData: {password: \"<keyseed:password:24 id=x/y>\"}\n";
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("is written without `id=` in 2 places of 2 Secrets")
        .stderr_has(".stringData.password of document 1 (Secret db): `<keyseed:password:24 id=prod/db/password gen=0>`")
        .stderr_has(".stringData.password of document 2 (Secret cache): `<keyseed:password:24 id=prod/cache/password gen=0>`")
        .stderr_lacks("copies:");
    assert!(out.stdout.is_empty());
    // The pins, written in, render the values each Secret had under its default id.
    let pinned = input
        .replacen(
            "<keyseed:password:24>",
            "<keyseed:password:24 id=prod/db/password gen=0>",
            1,
        )
        .replacen(
            "<keyseed:password:24>",
            "<keyseed:password:24 id=prod/cache/password gen=0>",
            1,
        );
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .stdin(&pinned)
        .run()
        .ok();
    let v = secret_values(&out.stdout);
    for name in ["db", "cache"] {
        let want = ks(&[
            "derive",
            "password:24",
            "--id",
            &format!("prod/{name}/password"),
        ])
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
        assert!(
            v[&format!("{name}/password")] == want.trim_end(),
            "{name} keeps its value"
        );
    }
    // Keys of one Secret may share a text: two passwords, meant to differ.
    let one = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {a: \"<keyseed:password:24>\", b: \"<keyseed:password:24>\"}\n";
    let out = ks(&["render"]).demo_keys().stdin(one).run().ok();
    let v = secret_values(&out.stdout);
    assert!(v["db/a"] != v["db/b"]);
}

#[test]
fn bad_copies_are_config_errors() {
    for (cfg, want) in [
        (
            "copies: {a: a}\n",
            "copies.a: a Secret cannot be a copy of itself",
        ),
        (
            "copies: {b: a, c: b}\n",
            "copies.c: `b` is itself a copy (of `a`): name the original, `c: a`",
        ),
        ("copies: {\"a b\": a}\n", "is not a valid Secret name"),
    ] {
        let t = Tmp::new("copies-bad");
        t.write("keyseed.yaml", cfg);
        ks(&["render"])
            .demo_keys()
            .cwd(&t.0)
            .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
            .run()
            .fails()
            .stderr_has(want);
    }
}

fn derived_ca(id: &str) -> String {
    // `derive ca:ID` needs no `--id`: the CA is named by the spec (issue #23).
    let mut pem = ks(&["derive", &format!("ca:{id}")])
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
    // `derive` ends what it prints with a line break of its own.
    assert_eq!(pem.pop(), Some('\n'));
    pem
}

#[test]
fn public_ca_material_is_accepted_in_every_yaml_shape() {
    let input = "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: trust-roots\ndata:\n  strip: |-\n    <keyseed:ca:trust>\n  keep: |\n    <keyseed:ca:trust>\n  folded: >-\n    <keyseed:ca:trust>\n  plain: <keyseed:ca:trust>\n  single: '<keyseed:ca:trust>'\n  list-holder: |\n    x: 1\n  values: |\n    identityTrustAnchorsPEM: <keyseed:ca:trust>\n    nested:\n      - <keyseed:ca:trust>   # a comment\n    other: kept\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n        - name: p\n          env:\n            - name: TRUST\n              value: |\n                <keyseed:ca:trust>\n          args:\n            - |-\n              <keyseed:ca:trust>\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let pem = derived_ca("trust");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    let docs = yaml11_json(&out.stdout);
    let cm = &docs[0]["data"];
    for k in ["strip", "keep", "folded", "plain", "single"] {
        assert_eq!(
            cm[k].as_str().unwrap(),
            pem.trim_end_matches('\n').to_string() + "\n",
            "{k}"
        );
    }
    assert_eq!(cm["list-holder"], "x: 1\n", "other keys pass");
    // The values dump stays YAML and means the PEM where the placeholder was.
    let dump = python(
        "import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin.read())))",
        cm["values"].as_str().unwrap().as_bytes(),
    )
    .stdout;
    let dump: serde_json::Value = serde_json::from_slice(&dump).unwrap();
    assert_eq!(dump["identityTrustAnchorsPEM"], pem.as_str());
    assert_eq!(dump["nested"][0], pem.as_str());
    assert_eq!(dump["other"], "kept");
    let c = &docs[1]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["env"][0]["value"], pem.as_str());
    assert_eq!(c["args"][0], pem.as_str());
    // The certificate is the CA openssl accepts as its own root.
    let t = Tmp::new("ca-shapes");
    let f = t.write("ca.pem", &pem);
    let v = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&f)
        .arg(&f)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn secret_material_in_a_text_is_refused_and_named() {
    for (value, want) in [
        (
            "  values: |\n    key: <keyseed:ca-key:trust>\n",
            "document 1 (ConfigMap c) .data.values: a keyseed placeholder inside a larger text",
        ),
        (
            "  values: |\n    key: prefix <keyseed:ca:trust>\n",
            "document 1 (ConfigMap c) .data.values: a keyseed placeholder inside a larger text",
        ),
        (
            "  values: |-\n    <keyseed:password:20>\n",
            "document 1 (ConfigMap c) .data.values: a keyseed placeholder outside a Secret's `stringData` or `data`",
        ),
        (
            "  values: |\n    PGtleXNlZWQ6Y2E6dHJ1c3Q+\n",
            "document 1 (ConfigMap c) .data.values: a keyseed placeholder outside a Secret's `stringData` or `data`",
        ),
        (
            "  values: >\n    key: <keyseed:ca:trust>\n",
            "document 1 (ConfigMap c) .data.values: a keyseed placeholder outside a Secret's `stringData` or `data`",
        ),
    ] {
        let input = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n{value}");
        ks(&["render"]).demo_keys().stdin(&input).run().fails().stderr_has(want);
    }
}

#[test]
fn ca_bundles_set_a_derived_ca_into_config_map_keys_and_env_values() {
    let t = Tmp::new("ca-targets");
    t.write(
        "keyseed.yaml",
        "ca-bundles:\n  - ca: linkerd-trust\n    config-maps: [linkerd-identity-trust-roots/ca-bundle.crt, \"linkerd-*-extra/added\"]\n    env: [LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS]\n",
    );
    let input = "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: linkerd-identity-trust-roots\ndata:\n  ca-bundle.crt: |-\n    chart-placeholder\n  other: kept\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: linkerd-x-extra\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: linkerd-destination}\nspec:\n  template:\n    spec:\n      containers:\n        - name: linkerd-proxy\n          env:\n            - name: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS\n              value: |\n                chart-placeholder\n            - name: OTHER\n              value: kept\n      initContainers:\n        - name: init\n          env:\n            - {name: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS, valueFrom: {configMapKeyRef: {name: linkerd-identity-trust-roots, key: ca-bundle.crt}}}\n";
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok();
    let pem = derived_ca("linkerd-trust");
    let docs = yaml11_json(&out.stdout);
    assert_eq!(docs[0]["data"]["ca-bundle.crt"], pem.as_str());
    assert_eq!(docs[0]["data"]["other"], "kept");
    assert_eq!(docs[1]["data"]["added"], pem.as_str());
    let spec = &docs[2]["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["env"][0]["value"], pem.as_str());
    assert_eq!(spec["containers"][0]["env"][1]["value"], "kept");
    assert!(spec["initContainers"][0]["env"][0].get("value").is_none());
    // A pattern that matches nothing is an error naming it.
    t.write(
        "keyseed.yaml",
        "ca-bundles:\n  - ca: linkerd-trust\n    env: [NOT_THERE]\n",
    );
    ks(&["render"]).demo_keys().cwd(&t.0).stdin(input).run().fails()
        .stderr_has("ca-bundles[0] (linkerd-trust): `NOT_THERE` matches no container env variable with a `value` in any pod template");
    t.write(
        "keyseed.yaml",
        "ca-bundles:\n  - ca: x\n    config-maps: [nokey]\n",
    );
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .fails()
        .stderr_has("config-maps entry `nokey` must be NAME/KEY");
}

#[test]
fn htpasswd_gives_the_whole_line_a_registry_reads() {
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: harbor-registry-htpasswd}\nstringData:\n  REGISTRY_HTPASSWD: \"<keyseed:password:24 id=harbor/registry-password htpasswd=harbor_registry_user cost=5>\"\n  hash: \"<keyseed:password:24 id=harbor/registry-password hash=bcrypt cost=5>\"\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let v = secret_values(&out.stdout);
    let line = &v["harbor-registry-htpasswd/REGISTRY_HTPASSWD"];
    let (user, hash) = line.split_once(':').unwrap();
    assert_eq!(user, "harbor_registry_user");
    assert!(hash.starts_with("$2y$05$"));
    assert!(
        hash == v["harbor-registry-htpasswd/hash"],
        "the same hash as hash=bcrypt"
    );
    let password = ks(&["derive", "password:24", "--id", "harbor/registry-password"])
        .demo_keys()
        .run()
        .ok()
        .stdout;
    // Python's bcrypt (the oracle) checks the password against the line's hash.
    let check = python(
        "import sys, bcrypt\nline, pw = sys.stdin.buffer.read().split(b'\\n')[:2]\nuser, h = line.split(b':', 1)\nprint(bcrypt.checkpw(pw, h.replace(b'$2y$', b'$2b$', 1)))",
        &[line.as_bytes(), b"\n", &password].concat(),
    )
    .stdout;
    assert_eq!(String::from_utf8_lossy(&check).trim(), "True");
    for bad in ["htpasswd=a:b", "htpasswd=", "htpasswd=x\\\\y"] {
        let input = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  k: \"<keyseed:password:24 {bad}>\"\n");
        ks(&["render"])
            .demo_keys()
            .stdin(&input)
            .run()
            .fails()
            .stderr_has("document 1 (Secret s) .stringData.k");
    }
}

/// A chart recipe of docs/charts.md, run on its fixture (tests/fixtures/charts/NAME: two
/// renders with different chart randomness and the recipe's keyseed.yaml): both renders give
/// the same bytes, with no warning. Returns the project directory and the output.
fn recipe(name: &str) -> (Tmp, Vec<u8>) {
    let t = Tmp::new(&format!("recipe-{name}"));
    copy_dir(&root().join("tests/fixtures/charts").join(name), &t.0);
    let render = |file: &str| {
        let input = std::fs::read(t.path(file)).unwrap();
        let out = ks(&["render"])
            .demo_keys()
            .cwd(&t.0)
            .stdin(&input)
            .run()
            .ok();
        assert!(!out.stderr.contains("warning"), "{}", out.stderr);
        (input, out.stdout)
    };
    let (input_a, a) = render("render-a.yaml");
    let (input_b, b) = render("render-b.yaml");
    assert_ne!(input_a, input_b, "the fixture's renders differ");
    assert!(
        a == b,
        "{name}: two renders with different chart randomness, one output"
    );
    // What keyseed does not change passes byte for byte: every input document without a
    // placeholder, Secret, pod template or ConfigMap is in the output as it was.
    let text = String::from_utf8(a.clone()).unwrap();
    for doc in String::from_utf8(input_a).unwrap().split("---\n") {
        let untouched = !["keyseed", "kind: Secret", "template:", "kind: ConfigMap"]
            .iter()
            .any(|w| doc.contains(w));
        if untouched && !doc.trim().is_empty() {
            assert!(text.contains(doc), "{name}: a document changed:\n{doc}");
        }
    }
    (t, a)
}

/// Runs openssl on PEM inputs written to files; returns stdout (fails on a non-zero exit).
fn openssl(t: &Tmp, args: &[&str], files: &[(&str, &str)]) -> String {
    for (name, pem) in files {
        t.write(name, pem);
    }
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(&t.0)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The certificate's key and the key's public half are one key.
fn key_matches(t: &Tmp, cert: &str, key: &str) {
    let a = openssl(
        t,
        &["x509", "-in", "m.crt", "-noout", "-pubkey"],
        &[("m.crt", cert)],
    );
    let b = openssl(t, &["pkey", "-in", "m.key", "-pubout"], &[("m.key", key)]);
    assert!(a == b, "the private key belongs to the certificate");
}

#[test]
fn harbor_recipe_internal_tls_and_token_service() {
    let (t, out) = recipe("harbor");
    let v = secret_values(&out);
    for comp in ["core", "jobservice", "registry", "portal", "trivy"] {
        let s = format!("harbor-{comp}-internal-tls");
        let (ca, crt) = (&v[&format!("{s}/ca.crt")], &v[&format!("{s}/tls.crt")]);
        openssl(
            &t,
            &["verify", "-CAfile", "ca.pem", "leaf.pem"],
            &[("ca.pem", ca), ("leaf.pem", crt)],
        );
        key_matches(&t, crt, &v[&format!("{s}/tls.key")]);
        let san = openssl(
            &t,
            &[
                "x509",
                "-in",
                "leaf.pem",
                "-noout",
                "-ext",
                "subjectAltName",
            ],
            &[],
        );
        assert!(san.contains(&format!("DNS:harbor-{comp}")), "{san}");
    }
    // One entry per component, one CA for all; the core certificate has its IP SAN.
    assert!(v["harbor-core-internal-tls/ca.crt"] == v["harbor-trivy-internal-tls/ca.crt"]);
    let san = openssl(
        &t,
        &[
            "x509",
            "-in",
            "core.pem",
            "-noout",
            "-ext",
            "subjectAltName",
        ],
        &[("core.pem", &v["harbor-core-internal-tls/tls.crt"])],
    );
    assert!(
        san.contains("IP Address:127.0.0.1") && san.contains("DNS:localhost"),
        "{san}"
    );
    // The token service: an RSA certificate and key in the Secret that also holds the app
    // keys, issued by the RSA CA `cas:` declares; no ca.crt is added there.
    let token_ca = ks(&["derive", "ca:harbor-token"])
        .demo_keys()
        .cwd(&t.0)
        .run()
        .ok()
        .stdout_str();
    let token = &v["harbor-core/tls.crt"];
    openssl(
        &t,
        &["verify", "-CAfile", "token-ca.pem", "token.pem"],
        &[("token-ca.pem", &token_ca), ("token.pem", token)],
    );
    let ca_text = openssl(&t, &["x509", "-in", "token-ca.pem", "-noout", "-text"], &[]);
    assert!(
        ca_text.contains("rsaEncryption") && ca_text.contains("CA:TRUE"),
        "an RSA CA"
    );
    key_matches(&t, token, &v["harbor-core/tls.key"]);
    assert!(!v.contains_key("harbor-core/ca.crt"));
    for k in ["secret", "CSRF_KEY", "HARBOR_ADMIN_PASSWORD", "secretKey"] {
        assert!(
            !v[&format!("harbor-core/{k}")].contains("keyseed"),
            "{k} filled"
        );
    }
    // The ingress certificate (expose.tls.certSource: auto) verifies against its own CA.
    openssl(
        &t,
        &[
            "verify",
            "-CAfile",
            "ingress-ca.pem",
            "-verify_hostname",
            "core.harbor.domain",
            "ingress.pem",
        ],
        &[
            ("ingress-ca.pem", &v["harbor-ingress/ca.crt"]),
            ("ingress.pem", &v["harbor-ingress/tls.crt"]),
        ],
    );
    key_matches(
        &t,
        &v["harbor-ingress/tls.crt"],
        &v["harbor-ingress/tls.key"],
    );
    // The other randAlphaNum 16 secrets, and the registry password jobservice copies.
    for k in [
        "harbor-jobservice/JOBSERVICE_SECRET",
        "harbor-registry/REGISTRY_HTTP_SECRET",
    ] {
        assert!(
            v[k].len() == 16 && v[k].bytes().all(|b| b.is_ascii_alphanumeric()),
            "{k} derived"
        );
    }
    assert!(
        v["harbor-jobservice/REGISTRY_CREDENTIAL_PASSWORD"]
            == v["harbor-core/REGISTRY_CREDENTIAL_PASSWORD"]
    );
    // The registry's htpasswd line is for the password core sends (one id, one value).
    let line = &v["harbor-registry-htpasswd/REGISTRY_HTPASSWD"];
    let check = python(
        "import sys, bcrypt\nline, pw = sys.stdin.buffer.read().split(b'\\n')[:2]\nuser, h = line.split(b':', 1)\nprint(user.decode(), bcrypt.checkpw(pw, h.replace(b'$2y$', b'$2b$', 1)))",
        format!("{line}\n{}", v["harbor-core/REGISTRY_CREDENTIAL_PASSWORD"]).as_bytes(),
    )
    .stdout;
    assert_eq!(
        String::from_utf8_lossy(&check).trim(),
        "harbor_registry_user True"
    );
}

#[test]
fn mastodon_recipe_hook_copies_hold_the_same_values() {
    let (_t, out) = recipe("mastodon");
    let v = secret_values(&out);
    for (copy, original) in [
        ("mastodon-prepare", "mastodon"),
        ("mastodon-redis-pre-install", "mastodon-redis"),
    ] {
        let keys: Vec<&String> = v
            .keys()
            .filter(|k| k.starts_with(&format!("{original}/")))
            .collect();
        assert!(!keys.is_empty());
        for k in keys {
            let c = k.replacen(original, copy, 1);
            assert!(v[k] == v[&c], "{c} copies {k}");
            assert!(!v[k].contains("keyseed"));
        }
    }
    assert!(v["mastodon/SECRET_KEY_BASE"] != v["mastodon/OTP_SECRET"]);
    // The Job's `rollme` (the chart writes `.Release.Revision`) became the rollout digest.
    let docs = yaml11_json(&out);
    let job = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "Job")
        .unwrap();
    assert_eq!(
        job["spec"]["template"]["metadata"]["annotations"]["rollme"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

#[test]
fn linkerd2_recipe_trust_anchor_and_identity_issuer() {
    let (t, out) = recipe("linkerd2");
    let v = secret_values(&out);
    let docs = yaml11_json(&out);
    let docs = docs.as_array().unwrap();
    let anchors = docs[1]["data"]["ca-bundle.crt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        anchors == derived_ca("linkerd-trust"),
        "the derived trust anchor"
    );
    let issuer = &v["linkerd-identity-issuer/crt.pem"];
    openssl(
        &t,
        &["verify", "-CAfile", "anchors.pem", "issuer.pem"],
        &[("anchors.pem", &anchors), ("issuer.pem", issuer)],
    );
    let text = openssl(&t, &["x509", "-in", "issuer.pem", "-noout", "-text"], &[]);
    assert!(
        text.contains("CA:TRUE, pathlen:0"),
        "an issuing CA:\n{text}"
    );
    assert!(text.contains("Certificate Sign"), "{text}");
    assert!(
        text.contains("Subject: CN = identity.linkerd.cluster.local"),
        "{text}"
    );
    key_matches(&t, issuer, &v["linkerd-identity-issuer/key.pem"]);
    // The trust anchor in env and in the values dump is the same PEM; the dump stays YAML.
    let env = &docs[3]["spec"]["template"]["spec"]["containers"][0]["env"][1];
    assert_eq!(env["name"], "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS");
    assert_eq!(env["value"].as_str().unwrap(), anchors);
    let dump = python(
        "import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin.read())))",
        docs[2]["data"]["values"].as_str().unwrap().as_bytes(),
    )
    .stdout;
    let dump: serde_json::Value = serde_json::from_slice(&dump).unwrap();
    assert_eq!(dump["identityTrustAnchorsPEM"].as_str().unwrap(), anchors);
    assert_eq!(
        dump["identity"]["issuer"]["tls"]["crtPEM"]
            .as_str()
            .unwrap(),
        issuer.as_str()
    );
    assert_eq!(dump["proxyInit"]["runAsRoot"], false);
}

#[test]
fn derive_of_a_keyring_member_by_key_name_derives_the_member_or_refuses() {
    let t = Tmp::new("derive-member");
    t.write(
        "keyseed.yaml",
        "scope: prod\nsecrets:\n  - name: backend-keys\n    create: true\n    data:\n      encryption-key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\n",
    );
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin("")
        .arg("--allow-empty")
        .run()
        .ok();
    let v = secret_values(&out.stdout);
    let derive = |spec: &str, id: &str| {
        ks(&["derive", spec, "--id", id])
            .demo_keys()
            .cwd(&t.0)
            .run()
    };
    // With the config at hand, the member's key name derives the member.
    let d = derive("base64:32", "prod/backend-keys/encryption-key-1").ok().stderr_has(
        "note: `prod/backend-keys/encryption-key-1` is generation 1 of the keyring `prod/backend-keys/encryption-key-{gen}`",
    );
    assert!(d.stdout_str().trim_end() == v["backend-keys/encryption-key-1"]);
    // Without it keyseed cannot know: it prints the key named so, and says how to get the
    // member instead.
    let named_out = ks(&["derive", "base64:32", "--id", "prod/other/encryption-key-1"])
        .demo_keys()
        .run()
        .ok()
        .stderr_has("if it is generation 1 of a keyring `prod/other/encryption-key-{gen}` (a chart's keyring, not in the config), derive it with `--id 'prod/other/encryption-key-{gen}'` and `gen=1`");
    // No note where no generation can be meant.
    let plain = ks(&["derive", "base64:32", "--id", "prod/other/APP_VAR_007"])
        .demo_keys()
        .run()
        .ok();
    assert!(plain.stderr.is_empty(), "{}", plain.stderr);
    // Both ways out work.
    let member = ks(&[
        "derive",
        "base64:32 gen=1",
        "--id",
        "prod/backend-keys/encryption-key-{gen}",
    ])
    .demo_keys()
    .run()
    .ok();
    assert!(member.stdout_str().trim_end() == v["backend-keys/encryption-key-1"]);
    let named = ks(&[
        "derive",
        "base64:32 gen=0",
        "--id",
        "prod/other/encryption-key-1",
    ])
    .demo_keys()
    .run()
    .ok();
    assert!(named.stdout_str() != member.stdout_str());
    assert!(named.stdout == named_out.stdout && named.stderr.is_empty());
}

#[test]
fn small_frictions_of_a_new_user() {
    let t = Tmp::new("frictions");
    // A derived CA in a key not named like a bundle: keyseed made it, no self-signed warning.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData:\n  tls.crt: \"<keyseed:ca:token>\"\n  tls.key: \"<keyseed:ca-key:token>\"\n";
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok();
    assert!(!out.stderr.contains("self-signed"), "{}", out.stderr);
    // A self-signed certificate keyseed did not make still warns.
    let pem = derived_ca("token");
    let foreign = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: token}}\nstringData:\n  tls.crt: {}\n",
        serde_json::to_string(&pem).unwrap()
    );
    ks(&["render"])
        .cwd(&t.0)
        .stdin(&foreign)
        .run()
        .ok()
        .stderr_has("is self-signed");
    // A config syntax error says where once.
    t.write("keyseed.yaml", "secrets:\n  - name: [a\n");
    let e = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .fails();
    assert_eq!(e.stderr.matches("line ").count(), 1, "{}", e.stderr);
    // An expired derived certificate's hint names its entry's not-before and days.
    t.write("keyseed.yaml", "certificates:\n  - secret: web-tls\n    ca: web\n    not-before: 2020-01-01\n    days: 30\n    create: true\n");
    ks(&["render", "--allow-empty"]).demo_keys().cwd(&t.0).stdin("").run().fails()
        .stderr_has("expired on 2020-01-31")
        .stderr_has("hint: keyseed derives this certificate from the `certificates:` entry of Secret `web-tls`: move its `not-before` or raise its `days`");
    // An entry with a namespace the chart does not set hints --namespace.
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: app\n    namespace: prod\n    data: {k: \"<keyseed:hex:4>\"}\n",
    );
    let chart = "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData: {k: x}\n";
    ks(&["render"]).demo_keys().cwd(&t.0).stdin(chart).run().fails()
        .stderr_has("(prod/app) matches no Secret in the stream")
        .stderr_has("hint: the stream has a Secret `app` without `metadata.namespace`; pass `--namespace prod`");
    ks(&["render", "--namespace", "prod"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(chart)
        .run()
        .ok();
    let other =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: dev}\nstringData: {k: x}\n";
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(other)
        .run()
        .fails()
        .stderr_has("hint: the stream has a Secret `app` in namespace `dev`; fix `namespace:`");
}

#[test]
fn certificate_entries_are_checked() {
    for (cfg, want) in [
        ("certificates:\n  - {secret: a, ca: c, not-before: 2025-01-01, days: 1, ip-addresses: [999.1.1.1]}\n", "ip-addresses: `999.1.1.1` is not an IP address"),
        ("certificates:\n  - {secret: \"a-{each}\", ca: c, not-before: 2025-01-01, days: 1}\n", "`{each}` needs an `each:` list"),
        ("certificates:\n  - {secret: a, each: [x, y], ca: c, not-before: 2025-01-01, days: 1}\n", "with `each:`, `secret` must hold `{each}`"),
        ("certificates:\n  - {secret: a, ca: c, not-before: 2025-01-01, days: 1, keys: {}}\n", "`keys:` names no key"),
        ("certificates:\n  - {secret: a, ca: c, not-before: 2025-01-01, days: 1, keys: {cert: x, key: x}}\n", "keys: `x` is named twice"),
        ("secrets:\n  - {name: a, data: {tls.crt: \"<keyseed:hex:2>\"}}\ncertificates:\n  - {secret: a, ca: c, not-before: 2025-01-01, days: 1}\n", "key `tls.crt` of Secret `a` is also in its secrets: entry"),
        ("cas:\n  c: {key: ed25519}\n", "cas.c: key `ed25519` must be ecdsa-p256 or rsa:2048|3072|4096"),
    ] {
        let t = Tmp::new("cert-bad");
        t.write("keyseed.yaml", cfg);
        ks(&["render", "--allow-empty"]).demo_keys().cwd(&t.0).stdin("").run().fails().stderr_has(want);
    }
}

#[test]
fn the_layout_recipes_of_docs_charts_md_are_the_tested_files() {
    let doc = std::fs::read_to_string(root().join("docs/charts.md")).unwrap();
    for name in ["harbor", "mastodon", "linkerd2"] {
        let cfg = std::fs::read_to_string(
            root()
                .join("tests/fixtures/charts")
                .join(name)
                .join("keyseed.yaml"),
        )
        .unwrap();
        assert!(
            doc.contains(&format!("```yaml\n{cfg}```")),
            "docs/charts.md lacks the {name} recipe"
        );
    }
}

#[test]
fn a_public_placeholder_alone_on_a_line_of_a_text_becomes_the_pem_lines() {
    // A trust bundle of two CAs (linkerd's anchor rotation) and a config file holding a CA.
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: trust}\ndata:\n  ca-bundle.crt: |\n    <keyseed:ca:anchor-new>\n    <keyseed:ca:anchor-old>\n  proxy.conf: |-\n    [tls]\n      <keyseed:ca:anchor-new>  \n    verify = true\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let (new, old) = (derived_ca("anchor-new"), derived_ca("anchor-old"));
    let docs = yaml11_json(&out.stdout);
    assert_eq!(
        docs[0]["data"]["ca-bundle.crt"].as_str().unwrap(),
        format!("{new}{old}")
    );
    let indented: String = new.lines().map(|l| format!("  {l}\n")).collect();
    assert_eq!(
        docs[0]["data"]["proxy.conf"].as_str().unwrap(),
        format!(
            "[tls]\n{}  \nverify = true",
            indented.trim_end_matches('\n')
        )
    );
    // Both certificates of the bundle verify as the roots they are.
    let t = Tmp::new("bundle");
    openssl(
        &t,
        &["verify", "-CAfile", "new.pem", "new.pem"],
        &[("new.pem", &new)],
    );
    // CRLF documents keep their line breaks.
    let crlf = input.replace('\n', "\r\n");
    let out = ks(&["render"]).demo_keys().stdin(&crlf).run().ok();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "only CRLF line breaks"
    );
    assert_eq!(
        yaml11_json(&out.stdout)[0]["data"]["ca-bundle.crt"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n"),
        format!("{new}{old}")
    );
}
