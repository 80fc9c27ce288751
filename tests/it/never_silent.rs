//! Cases where keyseed once exited 0 and did the wrong thing on a real chart: each must now
//! work right or fail loudly (exit 1, nothing on stdout, the document and field named).

use crate::util::*;

fn b64(s: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret_data(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: dex}}\ndata:\n  config.yaml: {value}\n"
    )
}

#[test]
fn a_placeholder_in_base64_data_is_found_at_every_offset() {
    // dex's `config.yaml` went to the cluster holding the literal text: the placeholder did
    // not start at an offset divisible by 3, so its base64 did not hold `PGtleXNlZWQ6`.
    for lead in ["", "a", "ab", "abc", "issuer: x\nsecret: ", "\u{feff}x"] {
        let value = b64(format!("{lead}<keyseed:alnum:32>\n").as_bytes());
        for cmd in ["render", "check", "plan"] {
            let out = ks(&[cmd])
                .demo_keys()
                .stdin(secret_data(&value))
                .run()
                .fails()
                .stderr_has("document 1 (Secret dex) .data.\"config.yaml\"")
                .stderr_has("is not exactly one placeholder");
            assert!(out.stdout.is_empty(), "{cmd} {lead:?}");
        }
    }
    // Wrapped over lines, as `base64` without -w0 writes it.
    let long = b64(format!("{}<keyseed:alnum:32>", "x".repeat(70)).as_bytes());
    let wrapped = format!("|\n    {}\n    {}", &long[..60], &long[60..]);
    ks(&["render"])
        .demo_keys()
        .stdin(secret_data(&wrapped))
        .run()
        .fails()
        .stderr_has("is not exactly one placeholder");
    // Binary bytes around it: still refused, never passed through.
    let mut bytes = vec![0xffu8, 0xfe];
    bytes.extend_from_slice(b"<keyseed:alnum:32>");
    ks(&["render"])
        .demo_keys()
        .stdin(secret_data(&b64(&bytes)))
        .run()
        .fails()
        .stderr_has("inside binary data");
    // Outside a Secret (a ConfigMap's binaryData), at an odd offset: refused.
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\nbinaryData:\n  k: {}\n",
        b64(b"a<keyseed:alnum:32>")
    );
    ks(&["render"])
        .demo_keys()
        .stdin(cm)
        .run()
        .fails()
        .stderr_has("ConfigMap c");
    // A whole placeholder in data at offset 0 is still filled.
    let out = ks(&["render"])
        .demo_keys()
        .stdin(secret_data(&b64(b"<keyseed:alnum:32>")))
        .run()
        .ok();
    assert_eq!(secret_values(&out.stdout)["dex/config.yaml"].len(), 32);
}

#[test]
fn a_placeholder_split_by_an_escaped_line_break_is_filled() {
    // A double-quoted scalar joins `<keys\` and `eed:password:24>`: a YAML reader sees the
    // whole placeholder, so keyseed must too (it was neither filled nor refused).
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  p: \"<keys\\\n    eed:password:24>\"\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let v = secret_values(&out.stdout);
    assert_eq!(v["s/p"].len(), 24);
    assert!(!out.stdout_str().contains("keyseed:"));
    // Outside a Secret the same spelling is refused.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  p: \"<keys\\\n    eed:password:24>\"\n";
    let out = ks(&["render"]).demo_keys().stdin(cm).run().fails();
    assert!(out.stdout.is_empty());
}

#[test]
fn bcrypt_of_a_value_longer_than_71_bytes_is_refused_by_check_with_its_field() {
    // bcrypt reads 72 bytes, the last the zero byte it appends: `alnum:72` cannot be hashed.
    // `check` passed and `render` said "at most 72 bytes; this one is 72" with no field.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  h: \"<keyseed:alnum:72 hash=bcrypt>\"\n";
    for cmd in ["check", "render"] {
        let out = ks(&[cmd])
            .demo_keys()
            .stdin(input)
            .run()
            .fails()
            .stderr_has("document 1 (Secret s) .stringData.h")
            .stderr_has("bcrypt reads at most 71 bytes");
        assert!(out.stdout.is_empty());
    }
    // 71 is hashed.
    let ok = input.replace("alnum:72", "alnum:71");
    let out = ks(&["render"]).demo_keys().stdin(ok).run().ok();
    assert!(secret_values(&out.stdout)["s/h"].starts_with("$2y$"));
}

#[test]
fn a_static_value_too_long_for_bcrypt_names_its_document_and_field() {
    let (t, id) = init_project("bcrypt-static");
    let set = in_project(&t, &id, &["values", "set", "long"], &"v".repeat(80));
    assert_eq!(set.code, Some(0), "{}", set.stderr);
    let out = in_project(
        &t,
        &id,
        &["render"],
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  h: \"<keyseed:value:long hash=bcrypt>\"\n",
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("document 1 (Secret s) .stringData.h"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("this one is 80 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_value_the_chart_copies_into_several_secrets_is_never_split() {
    // The Lightrun chart writes `secrets.db.password` into SPRING_FLYWAY_PASSWORD and
    // SPRING_DATASOURCE_PASSWORD of one Secret and DB_PASSWORD of another: three passwords.
    let ph = "<keyseed:password:24>";
    let input = format!("---\napiVersion: v1\nkind: Secret\nmetadata: {{name: lightrun-backend}}\nstringData:\n  SPRING_FLYWAY_PASSWORD: \"{ph}\"\n  SPRING_DATASOURCE_PASSWORD: \"{ph}\"\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: lightrun-keycloak}}\nstringData:\n  DB_PASSWORD: \"{ph}\"\n");
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .stdin(&input)
        .run()
        .fails()
        .stderr_has("in 3 places of 2 Secrets")
        .stderr_has("`<keyseed:password:24 id=prod/lightrun-backend/SPRING_FLYWAY_PASSWORD gen=0>`")
        .stderr_has("`<keyseed:password:24 id=prod/lightrun-keycloak/DB_PASSWORD gen=0>`");
    assert!(out.stdout.is_empty());
    // One `id=` in the values: one value in all three places.
    let one = input.replace(ph, "<keyseed:password:24 id=prod/lightrun/db-password>");
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .stdin(one)
        .run()
        .ok();
    let v = secret_values(&out.stdout);
    assert!(v["lightrun-backend/SPRING_FLYWAY_PASSWORD"] == v["lightrun-keycloak/DB_PASSWORD"]);
    assert!(v["lightrun-backend/SPRING_DATASOURCE_PASSWORD"] == v["lightrun-keycloak/DB_PASSWORD"]);
}

/// ConfigMap `cfg` without a namespace, Deployment `app` in `prod` reading it (supabase,
/// sentry), with the chart's `checksum/config`.
fn half_namespaced(cfg: &str) -> String {
    format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg}}\ndata: {{mode: \"{cfg}\"}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app, namespace: prod}}\nspec:\n  template:\n    metadata:\n      annotations: {{checksum/config: \"chart-{cfg}\"}}\n    spec:\n      containers:\n        - name: app\n          image: x\n          envFrom:\n            - configMapRef: {{name: cfg}}\n")
}

fn annotation(out: &[u8], name: &str) -> Option<String> {
    let docs = yaml11_json(out);
    docs.as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .and_then(|d| d["spec"]["template"]["metadata"]["annotations"][name].as_str())
        .map(str::to_string)
}

#[test]
fn a_half_written_namespace_never_loses_the_restart_signal() {
    let t = Tmp::new("half-ns");
    t.write("keyseed.yaml", "rollme:\n  replace: [\"checksum/*\"]\n");
    let run = |cfg: &str, args: &[&str], env: &[(&str, &str)]| {
        let mut k = ks(&[&["render"], args].concat())
            .demo_keys()
            .cwd(&t.0)
            .stdin(half_namespaced(cfg));
        for (n, v) in env {
            k = k.env(n, v);
        }
        k.run().ok()
    };
    // Without --namespace: the two are taken as one object, with a warning naming the
    // workload and the flag; a config change still changes the annotation.
    let a = run("a", &[], &[]);
    assert!(
        a.stderr
            .contains("warning: document 2 (Deployment prod/app)"),
        "{}",
        a.stderr
    );
    assert!(
        a.stderr.contains("reads ConfigMap cfg of the stream"),
        "{}",
        a.stderr
    );
    assert!(a.stderr.contains("--namespace"), "{}", a.stderr);
    let b = run("b", &[], &[]);
    let (ca, cb) = (
        annotation(&a.stdout, "checksum/config").unwrap(),
        annotation(&b.stdout, "checksum/config").unwrap(),
    );
    assert_eq!(ca.len(), 64, "the digest replaced the chart's checksum");
    assert_ne!(ca, cb, "a config change restarts the pod");
    // With --namespace prod: no warning, and a digest of the ConfigMap.
    let n = run("a", &["--namespace", "prod"], &[]);
    assert!(!n.stderr.contains("warning"), "{}", n.stderr);
    let cn = annotation(&n.stdout, "checksum/config").unwrap();
    assert_eq!(cn.len(), 64);
    let nb = run("b", &["--namespace", "prod"], &[]);
    assert_ne!(annotation(&nb.stdout, "checksum/config").unwrap(), cn);
    // Under a Helm plugin, HELM_NAMESPACE (Helm sets it from -n) is the release namespace.
    let h = run(
        "a",
        &[],
        &[("HELM_PLUGIN_NAME", "keyseed"), ("HELM_NAMESPACE", "prod")],
    );
    assert!(!h.stderr.contains("warning"), "{}", h.stderr);
    assert_eq!(annotation(&h.stdout, "checksum/config").unwrap(), cn);
    // Outside a plugin a HELM_NAMESPACE in the shell is not trusted.
    let s = run("a", &[], &[("HELM_NAMESPACE", "prod")]);
    assert!(s.stderr.contains("--namespace"), "{}", s.stderr);
    // Another namespace: the ConfigMap is not in `prod`, so the chart's checksum is kept
    // (never a digest of nothing) and a warning says so.
    let o = run("a", &["--namespace", "staging"], &[]);
    assert_eq!(annotation(&o.stdout, "checksum/config").unwrap(), "chart-a");
    assert!(
        o.stderr.contains("none of them is in the stream"),
        "{}",
        o.stderr
    );
}

#[test]
fn an_empty_scope_setting_never_overrides_keyseed_yaml() {
    // `KEYSEED_SCOPE=$SCOPE` with `$SCOPE` unset changed every default id.
    let t = Tmp::new("empty-scope");
    t.write("keyseed.yaml", "scope: prod\n");
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:8>\"}\n";
    let want = ks(&["derive", "hex:8", "--id", "prod/s/k"])
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
    for (args, env) in [
        (&["render"][..], ""),
        (&["render", "--scope", ""][..], ""),
        (&["render"][..], "KEYSEED_SCOPE"),
    ] {
        let mut k = ks(args).demo_keys().cwd(&t.0).stdin(input);
        if !env.is_empty() {
            k = k.env(env, "");
        }
        let v = secret_values(&k.run().ok().stdout);
        assert!(v["s/k"] == want.trim_end(), "{args:?} {env}");
    }
}

#[test]
fn only_core_v1_secrets_get_values() {
    // A custom resource called Secret is not filled (a placeholder there is refused as
    // outside a Secret) and does not capture a keyseed.yaml `create: true` entry.
    let cr = "apiVersion: evil.example.com/v1\nkind: Secret\nmetadata: {name: app}\nstringData: {k: \"<keyseed:hex:8 id=prod/backend-keys/encryption-key>\"}\n";
    let out = ks(&["render"])
        .demo_keys()
        .stdin(cr)
        .run()
        .fails()
        .stderr_has("outside a Secret");
    assert!(out.stdout.is_empty());
    let t = Tmp::new("core-secret");
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: app\n    create: true\n    data: {k: \"<keyseed:hex:8>\"}\n",
    );
    let cr = "apiVersion: evil.example.com/v1\nkind: Secret\nmetadata: {name: app}\nspec: {}\n";
    let out = ks(&["render"]).demo_keys().cwd(&t.0).stdin(cr).run().ok();
    let docs = yaml11_json(&out.stdout);
    let created = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["apiVersion"] == "v1" && d["kind"] == "Secret" && d["metadata"]["name"] == "app"
        })
        .count();
    assert_eq!(created, 1, "the real Secret is created");
}

#[test]
fn a_filled_value_under_an_anchored_node_is_refused() {
    // `stringData: &d {…}` then `data: *d` in a ConfigMap copied the derived value into the
    // ConfigMap (and, with --sops-age, into plaintext annotations).
    let cases = [
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: &d {a: \"<keyseed:hex:8>\"}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: *d\n",
        "apiVersion: v1\nkind: List\nitems:\n  - &s\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {a: \"<keyseed:hex:8>\"}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c, annotations: *s}\n",
        "apiVersion: v1\nkind: List\nitems: &all\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {a: \"<keyseed:hex:8>\"}\n",
    ];
    for input in cases {
        let out = ks(&["render"])
            .demo_keys()
            .stdin(input)
            .run()
            .fails()
            .stderr_has("an alias could copy the secret value into another object");
        assert!(out.stdout.is_empty(), "{input}");
    }
    // A keyseed.yaml patch under an anchored mapping: refused the same way.
    let t = Tmp::new("anchored-patch");
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: s\n    data: {a: \"<keyseed:hex:8>\"}\n",
    );
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: &d {x: y}}\nstringData: &e {a: \"\"}\n";
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .fails_with_any();
    assert!(out.stdout.is_empty());
}

#[test]
fn a_tag_on_a_filled_value_is_refused() {
    // go-yaml base64-decodes `!!binary`: the cluster would store other bytes.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  k: !!binary \"<keyseed:hex:8>\"\n";
    let out = ks(&["render"])
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("must not carry the tag");
    assert!(out.stdout.is_empty());
    // `!!str` means what it says: filled.
    let ok = input.replace("!!binary", "!!str");
    let v = secret_values(&ks(&["render"]).demo_keys().stdin(ok).run().ok().stdout);
    assert_eq!(v["s/k"].len(), 16);
}

#[test]
fn pinned_values_keep_every_value_when_the_deploy_shape_changes() {
    // The getter derives `SCOPE/values:PATH`, a post-rendered Secret `SCOPE/SECRET/KEY`:
    // moving an install from one to the other replaced the key. `keyseed pin` writes the
    // current ids in, and the pinned file gives the same values in every shape.
    let t = Tmp::new("pin");
    t.write("keyseed.yaml", "scope: prod\n");
    std::fs::copy(demo_seed(), t.path("keyseed.age")).unwrap();
    let values = t.write(
        "values.keyseed.yaml",
        "# comment kept\nsecrets:\n  key: \"<keyseed:base64:32>\"\n  pw: '<keyseed:password:24>'\n  fixed: \"<keyseed:hex:8 id=prod/x>\"\n  ring:\n    k-{gen}: \"<keyseed:fernet gen=0..1>\"\n",
    );
    let pinned = ks(&["pin"]).arg(&values).demo_keys().run().ok();
    let text = pinned.stdout_str();
    assert!(text.starts_with("# comment kept\n"));
    assert!(
        text.contains("key: \"<keyseed:base64:32 id=prod/values:secrets.key gen=0>\""),
        "{text}"
    );
    assert!(
        text.contains("fixed: \"<keyseed:hex:8 id=prod/x>\""),
        "{text}"
    );
    assert!(!text.contains("<keyseed:password:24>"), "{text}");
    let pinned_file = t.write("pinned.keyseed.yaml", &text);
    let fill = |f: &std::path::Path| ks(&["fill"]).arg(f).demo_keys().run().ok().stdout;
    assert_same(
        fill(&values),
        fill(&pinned_file),
        "filled values, pinned or not",
    );
    // The pinned text post-rendered in a Secret (a chart copying the value) gives the value
    // the getter gave.
    let filled = yaml11_json(&fill(&values));
    let key_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("key:"))
        .unwrap();
    let ph = key_line.split('"').nth(1).unwrap();
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: app}}\nstringData:\n  KEY: \"{ph}\"\n"
    );
    let out = ks(&["render", "--scope", "other"])
        .demo_keys()
        .stdin(secret)
        .run()
        .ok();
    assert!(secret_values(&out.stdout)["app/KEY"] == filled[0]["secrets"]["key"].as_str().unwrap());
}

#[test]
fn a_config_key_no_pod_reads_is_refused() {
    // A recipe written for a look-alike chart added `db-password` to the real chart's
    // Secret, whose pods read `DB_PASSWORD`: a value nothing used, silently.
    let t = Tmp::new("unread-key");
    let stream = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData: {DB_PASSWORD: \"\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x\n          env:\n            - name: P\n              valueFrom:\n                secretKeyRef: {name: app, key: DB_PASSWORD}\n";
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: app\n    data:\n      db-password: \"<keyseed:password:24>\"\n",
    );
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(stream)
        .run()
        .fails()
        .stderr_has("keyseed.yaml adds key `db-password` to Secret `app`, but no pod of the stream reads it")
        .stderr_has("Deployment web");
    assert!(out.stdout.is_empty());
    // The key the pod reads: filled.
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: app\n    data:\n      DB_PASSWORD: \"<keyseed:password:24>\"\n",
    );
    let v = secret_values(
        &ks(&["render"])
            .demo_keys()
            .cwd(&t.0)
            .stdin(stream)
            .run()
            .ok()
            .stdout,
    );
    assert_eq!(v["app/DB_PASSWORD"].len(), 24);
    // A Secret read whole (envFrom), or read by no pod of the stream (an operator): any key.
    let whole = stream.replace("env:\n            - name: P\n              valueFrom:\n                secretKeyRef: {name: app, key: DB_PASSWORD}\n", "envFrom:\n            - secretRef: {name: app}\n");
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: app\n    data:\n      db-password: \"<keyseed:password:24>\"\n",
    );
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(whole)
        .run()
        .ok();
    let alone = "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData: {}\n";
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(alone)
        .run()
        .ok();
}

#[test]
fn a_lock_covers_values_files_in_fill_and_the_getter() {
    let t = Tmp::new("values-lock");
    t.write("keyseed.yaml", "scope: prod\n");
    std::fs::copy(demo_seed(), t.path("keyseed.age")).unwrap();
    let values = t.write(
        "values.keyseed.yaml",
        "db:\n  password: \"<keyseed:password:24>\"\n",
    );
    let lock = t.path("keyseed.lock");
    ks(&["fill"])
        .arg(&values)
        .arg("--lock")
        .arg(&lock)
        .arg("--update-lock")
        .demo_keys()
        .run()
        .ok();
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("db.password"), "{text}");
    let filled = yaml11_json(&ks(&["fill"]).arg(&values).demo_keys().run().ok().stdout);
    let value = filled[0]["db"]["password"].as_str().unwrap().to_string();
    assert!(
        !text.contains(&value),
        "the lock holds fingerprints, never values"
    );
    ks(&["fill"])
        .arg(&values)
        .arg("--lock")
        .arg(&lock)
        .demo_keys()
        .run()
        .ok();
    // The value at the same place changes (another generation): refused in fill and getter.
    t.write(
        "values.keyseed.yaml",
        "db:\n  password: \"<keyseed:password:24 gen=1>\"\n",
    );
    let out = ks(&["fill"])
        .arg(&values)
        .arg("--lock")
        .arg(&lock)
        .demo_keys()
        .run()
        .fails()
        .stderr_has("would rotate values/db.password");
    assert!(out.stdout.is_empty());
    let url = format!("keyseed://{}", values.display());
    let out = ks(&["getter", "c", "k", "ca", &url])
        .env("KEYSEED_LOCK", &lock)
        .demo_keys()
        .run()
        .fails();
    assert!(out.stdout.is_empty());
}

#[test]
fn a_never_rotate_value_cannot_change_by_renaming_its_secret() {
    let t = Tmp::new("never-rename");
    let lock = t.path("keyseed.lock");
    let secret = |name: &str, ph: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{k: \"{ph}\"}}\n")
    };
    let render = |input: String, update: bool| {
        let mut k = ks(&["render", "--scope", "prod", "--lock"])
            .arg(&lock)
            .demo_keys()
            .stdin(input);
        if update {
            k = k.arg("--update-lock");
        }
        k.run()
    };
    let first = render(secret("app-keys", "<keyseed:hex:8 rotate=never>"), true).ok();
    let before = secret_values(&first.stdout)["app-keys/k"].clone();
    // A renamed release: refused, even with --update-lock, with the pin that keeps the value.
    for update in [false, true] {
        let out = render(secret("prod-keys", "<keyseed:hex:8 rotate=never>"), update);
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains("a renamed Secret derives a new value"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("`id=prod/app-keys/k`"),
            "{}",
            out.stderr
        );
    }
    // Another app's Secret sharing the lock (no common `-suffix`): not taken for a rename.
    render(secret("cache", "<keyseed:hex:8 rotate=never>"), true).ok();
    // With the pin: the old value, accepted.
    let pinned = render(
        secret(
            "prod-keys",
            "<keyseed:hex:8 rotate=never id=prod/app-keys/k>",
        ),
        true,
    )
    .ok();
    assert!(secret_values(&pinned.stdout)["prod-keys/k"] == before);
}
