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

// ---------------------------------------------------------------------------------------
// Recipes of docs/charts.md, each on a self-written fixture of the chart's pattern.

/// The `keyseed.yaml` of recipe `id` in docs/charts.md (the yaml block that starts with
/// `# keyseed.yaml for ID`).
fn recipe(id: &str) -> String {
    let doc = std::fs::read_to_string(root().join("docs/charts.md")).unwrap();
    let marker = format!("# keyseed.yaml for {id}\n");
    let start = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("no recipe {id} in docs/charts.md"));
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

/// Chart randomness: a different value for every render number `n`.
fn rand(n: u32, what: &str) -> String {
    format!("r{n}{what}{}", n * 7919 % 1000)
}

fn sha(s: &str) -> String {
    use std::fmt::Write;
    let out = python(
        "import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        s.as_bytes(),
    );
    let mut h = String::new();
    write!(h, "{}", out.stdout_str().trim()).unwrap();
    h
}

/// A change a recipe intends: document index, path, and the expected value (`None`: take
/// the output's value after `check` accepts it).
type Check = fn(&Value) -> bool;
struct Change {
    doc: usize,
    path: Vec<String>,
    want: Option<Value>,
    check: Option<Check>,
}

fn change(doc: usize, path: &str, want: Value) -> Change {
    Change {
        doc,
        path: path.split('|').map(String::from).collect(),
        want: Some(want),
        check: None,
    }
}

fn change_checked(doc: usize, path: &str, check: Check) -> Change {
    Change {
        doc,
        path: path.split('|').map(String::from).collect(),
        want: None,
        check: Some(check),
    }
}

/// Annotation `name` of document `doc`'s pod template now holds a keyseed digest.
fn pod_digest(doc: usize, name: &str) -> Change {
    change_checked(
        doc,
        &format!("spec|template|metadata|annotations|{name}"),
        is_digest,
    )
}

fn is_digest(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn get<'a>(v: &'a Value, path: &[String]) -> &'a Value {
    path.iter().fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) if v.is_array() => &v[i],
        _ => &v[k.as_str()],
    })
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for (n, k) in path.iter().enumerate() {
        let last = n + 1 == path.len();
        cur = match k.parse::<usize>() {
            Ok(i) if cur.is_array() => {
                let a = cur.as_array_mut().unwrap();
                while a.len() <= i {
                    a.push(Value::Null);
                }
                &mut a[i]
            }
            _ => {
                if !cur.is_object() {
                    *cur = json!({});
                }
                cur.as_object_mut()
                    .unwrap()
                    .entry(k.clone())
                    .or_insert(Value::Null)
            }
        };
        if last {
            *cur = new;
            return;
        }
    }
}

/// Splits a Helm-style stream into documents' texts.
fn doc_texts(s: &str) -> Vec<String> {
    s.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Runs recipe `id` on two renders of `fixture` and checks: identical output; every document
/// is the input plus exactly `changes` (PyYAML); documents without changes byte-identical.
/// Returns the output.
fn run_recipe(id: &str, fixture: fn(u32) -> String, changes: &[Change], extra: &[&str]) -> Out {
    let cfg = recipe(id);
    let (a, b) = (fixture(1), fixture(2));
    // argo-cd's chart renders no random value: Argo CD writes the keys at runtime instead.
    assert!(
        a != b || id == "argo-cd",
        "the fixture's renders must differ"
    );
    let out = render_cfg(&cfg, &a, extra).ok();
    let again = render_cfg(&cfg, &b, extra).ok();
    assert_eq!(
        out.stdout_str(),
        again.stdout_str(),
        "{id}: renders whose chart randomness differs must give identical output"
    );
    let got = yaml11_json(&out.stdout);
    let mut want = yaml11_json(a.as_bytes());
    assert_eq!(
        got.as_array().unwrap().len(),
        want.as_array().unwrap().len(),
        "{id}: document count"
    );
    let mut touched = std::collections::BTreeSet::new();
    for c in changes {
        touched.insert(c.doc);
        let new = match (&c.want, c.check) {
            (Some(w), _) => w.clone(),
            (None, Some(check)) => {
                let v = get(&got[c.doc], &c.path).clone();
                assert!(
                    check(&v),
                    "{id}: doc {} {:?} = {v}\n{}",
                    c.doc,
                    c.path,
                    out.stdout_str()
                );
                v
            }
            (None, None) => unreachable!(),
        };
        set(&mut want[c.doc], &c.path, new);
    }
    for (i, (g, w)) in got
        .as_array()
        .unwrap()
        .iter()
        .zip(want.as_array().unwrap())
        .enumerate()
    {
        assert_eq!(
            g, w,
            "{id}: document {i} is not the input plus the intended change"
        );
    }
    let (ins, outs) = (doc_texts(&a), doc_texts(&out.stdout_str()));
    for (i, (x, y)) in ins.iter().zip(&outs).enumerate() {
        if !touched.contains(&i) {
            assert_eq!(x, y, "{id}: unchanged document {i} must pass byte for byte");
        }
    }
    out
}

/// bitnami/postgresql 17.1.0 with `auth.username`/`auth.database` set: `postgres-password`
/// and `password` made with `randAlphaNum 10`, mounted as files (`*_PASSWORD_FILE`), and no
/// checksum annotation on the pod template.
fn bitnami_postgresql(n: u32) -> String {
    format!(
        "---\n# Source: postgresql/templates/secrets.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db-postgresql\n  namespace: \"default\"\n  labels:\n    app.kubernetes.io/name: postgresql\ntype: Opaque\ndata:\n  postgres-password: \"{}\"\n  password: \"{}\"\n  # We don't auto-generate metrics password when it's not provided as we do for other passwords\n  # We don't auto-generate LDAP password when it's not provided as we do for other passwords\n---\n# Source: postgresql/templates/primary/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: db-postgresql\n  namespace: \"default\"\nspec:\n  ports:\n    - name: tcp-postgresql\n      port: 5432\n---\n# Source: postgresql/templates/primary/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db-postgresql\n  namespace: \"default\"\nspec:\n  serviceName: db-postgresql-hl\n  template:\n    metadata:\n      name: db-postgresql\n      labels:\n        app.kubernetes.io/name: postgresql\n    spec:\n      containers:\n        - name: postgresql\n          env:\n            - name: POSTGRES_PASSWORD_FILE\n              value: /opt/bitnami/postgresql/secrets/password\n            - name: POSTGRES_POSTGRES_PASSWORD_FILE\n              value: /opt/bitnami/postgresql/secrets/postgres-password\n          volumeMounts:\n            - name: postgresql-password\n              mountPath: /opt/bitnami/postgresql/secrets/\n      volumes:\n        - name: postgresql-password\n          secret:\n            secretName: db-postgresql\n",
        b64(&rand(n, "pg")),
        b64(&rand(n, "app")),
    )
}

#[test]
fn recipes_bitnami_postgresql() {
    let pg = derive("password:24", "/db-postgresql/postgres-password");
    let app = derive("password:24", "/db-postgresql/password");
    run_recipe(
        "bitnami-postgresql",
        bitnami_postgresql,
        &[
            change(0, "data|postgres-password", json!(b64(&pg))),
            change(0, "data|password", json!(b64(&app))),
            pod_digest(2, "keyseed.io/rollme"),
        ],
        &[],
    );
}

fn grafana(n: u32) -> String {
    let ini = "[analytics]\ncheck_for_updates = true\n";
    format!(
        "---\n# Source: grafana/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: monitoring-grafana\n  namespace: monitoring\ntype: Opaque\ndata:\n  \n  admin-user: \"YWRtaW4=\"\n  admin-password: \"{}\"\n  ldap-toml: \"\"\n---\n# Source: grafana/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: monitoring-grafana\n  namespace: monitoring\ndata:\n  grafana.ini: |\n    [analytics]\n    check_for_updates = true\n---\n# Source: grafana/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: monitoring-grafana\n  namespace: monitoring\nspec:\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: grafana\n      annotations:\n        checksum/config: {}\n        checksum/sc-dashboard-provider-config: e70bf6a851099d385178a76de9757bb0bef8299da6d8443602590e44f05fdf24\n        checksum/secret: {}\n        kubectl.kubernetes.io/default-container: grafana\n    spec:\n      containers:\n        - name: grafana\n          env:\n            - name: GF_SECURITY_ADMIN_USER\n              valueFrom:\n                secretKeyRef:\n                  name: monitoring-grafana\n                  key: admin-user\n            - name: GF_SECURITY_ADMIN_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: monitoring-grafana\n                  key: admin-password\n          volumeMounts:\n            - name: config\n              mountPath: \"/etc/grafana/grafana.ini\"\n              subPath: grafana.ini\n      volumes:\n        - name: config\n          configMap:\n            name: monitoring-grafana\n",
        b64(&rand(n, "grafana-admin-password-0123456789abcdef")),
        sha(ini),
        sha(&rand(n, "secret"))
    )
}

#[test]
fn recipes_grafana() {
    let pw = derive("password:32", "/monitoring-grafana/admin-password");
    let out = run_recipe(
        "grafana",
        grafana,
        &[
            change(0, "data|admin-password", json!(b64(&pw))),
            pod_digest(2, "checksum/config"),
            pod_digest(2, "checksum/sc-dashboard-provider-config"),
            pod_digest(2, "checksum/secret"),
            pod_digest(2, "keyseed.io/rollme"),
        ],
        &[],
    );
    // Every replaced checksum is keyseed's digest of the data the pod reads.
    let docs = yaml11_json(&out.stdout);
    let ann = &docs[2]["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(ann["checksum/secret"], ann["keyseed.io/rollme"]);
    assert_eq!(ann["checksum/config"], ann["keyseed.io/rollme"]);
}

/// argo-cd 10.1.1 (Argo CD v3.4.4), default values: `argocd-secret` without `data:` (the chart
/// writes `admin.password` and a `now` mtime only when given
/// `configs.secret.argocdServerAdminPassword`; Argo CD writes `server.secretkey` itself at
/// start) and `argocd-notifications-secret` with an empty `stringData:`.
fn argo_cd(_n: u32) -> String {
    "---\n# Source: argo-cd/templates/argocd-configs/argocd-notifications-secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-notifications-secret\n  namespace: argocd\n  labels:\n    app.kubernetes.io/part-of: argocd\ntype: Opaque\nstringData:\n---\n# Source: argo-cd/templates/argocd-configs/argocd-secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-secret\n  namespace: argocd\n  labels:\n    app.kubernetes.io/part-of: argocd\ntype: Opaque\n---\n# Source: argo-cd/templates/argocd-server/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-server\n  namespace: argocd\nspec:\n  template:\n    metadata:\n      annotations:\n        checksum/cmd-params: 2e0c1d8b1f4c4c1a8f0e8f6e0b9f5c2f0d1e2c3b4a5968778695a4b3c2d1e0f9\n    spec:\n      containers:\n        - name: server\n          image: quay.io/argoproj/argocd:v3.4.4\n".to_string()
}

#[test]
fn recipes_argo_cd() {
    let key = derive("base64:32", "/argocd-secret/server.secretkey");
    let hash = derive(
        "<keyseed:password:24 hash=bcrypt>",
        "/argocd-secret/admin.password",
    );
    let plain = derive("password:24", "/argocd-secret/admin.password");
    let token = derive("alnum:40", "/argocd-notifications-secret/webhook-token");
    let out = run_recipe(
        "argo-cd",
        argo_cd,
        &[
            change(0, "stringData", json!({"webhook-token": token})),
            change(1, "stringData|admin.password", json!(hash)),
            change(1, "stringData|server.secretkey", json!(key)),
        ],
        &[],
    );
    assert!(hash.starts_with("$2y$10$"), "{hash}");
    // The hash verifies with a real bcrypt against the password `keyseed derive` prints.
    let v = secret_values(&out.stdout);
    let check = python(
        "import sys, bcrypt; pw, h = sys.stdin.read().split('\\n')[:2]; print(bcrypt.checkpw(pw.encode(), h.encode()))",
        format!("{plain}\n{}\n", v["argocd-secret/admin.password"]).as_bytes(),
    );
    assert_eq!(check.stdout_str().trim(), "True", "{}", check.stderr);
}

/// opentelemetry-operator 0.122.0 with `admissionWebhooks.certManager.enabled: false`,
/// `autoGenerateCert.enabled: true` and `manager.rolling: true`: `genCA`/`genSignedCert` in
/// one Secret, the CA in every webhook's and the collector CRD's `caBundle`, and a
/// `randAlphaNum 5` `rollme` on the pod template.
fn otel_operator(n: u32) -> String {
    let ca = b64(&rand(n, "generated-ca"));
    format!(
        "---\n# Source: opentelemetry-operator/templates/admission-webhooks/operator-webhook.yaml\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: otel-opentelemetry-operator-controller-manager-service-cert\n  namespace: observability\ndata:\n  tls.crt: {}\n  tls.key: {}\n  ca.crt: {ca}\n---\n# Source: opentelemetry-operator/templates/admission-webhooks/operator-webhook.yaml\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: otel-opentelemetry-operator-mutation\nwebhooks:\n  - admissionReviewVersions:\n      - v1\n    clientConfig:\n      caBundle: {ca}\n      service:\n        name: otel-opentelemetry-operator-webhook\n        namespace: observability\n        path: /mutate-opentelemetry-io-v1beta1-opentelemetrycollector\n    name: mopentelemetrycollectorbeta.kb.io\n  - admissionReviewVersions:\n      - v1\n    clientConfig:\n      caBundle: {ca}\n      service:\n        name: otel-opentelemetry-operator-webhook\n        namespace: observability\n        path: /mutate-v1-pod\n    name: mpod.kb.io\n---\n# Source: opentelemetry-operator/templates/admission-webhooks/operator-webhook.yaml\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: otel-opentelemetry-operator-validation\nwebhooks:\n  - clientConfig: {{caBundle: {ca}, service: {{name: otel-opentelemetry-operator-webhook, namespace: observability, path: /validate}}}}\n    name: vopentelemetrycollectorcreateupdatebeta.kb.io\n---\n# Source: opentelemetry-operator/templates/crds/crd-opentelemetrycollector.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: opentelemetrycollectors.opentelemetry.io\nspec:\n  group: opentelemetry.io\n  conversion:\n    strategy: Webhook\n    webhook:\n      clientConfig:\n        caBundle: {ca}\n        service:\n          name: otel-opentelemetry-operator-webhook\n          namespace: observability\n          path: /convert\n      conversionReviewVersions: [v1]\n---\n# Source: opentelemetry-operator/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: otel-opentelemetry-operator\n  namespace: observability\nspec:\n  template:\n    metadata:\n      annotations:\n        rollme: \"{}\"\n        kubectl.kubernetes.io/default-container: manager\n    spec:\n      containers:\n        - name: manager\n      volumes:\n        - name: cert\n          secret:\n            secretName: otel-opentelemetry-operator-controller-manager-service-cert\n",
        b64(&rand(n, "generated-cert")),
        b64(&rand(n, "generated-key")),
        rand(n, "x")
    )
}

#[test]
fn recipes_otel_operator() {
    let out = run_recipe(
        "otel-operator",
        otel_operator,
        &[
            change_checked(0, "data|tls.crt", Value::is_string),
            change_checked(0, "data|tls.key", Value::is_string),
            change_checked(0, "data|ca.crt", Value::is_string),
            change_checked(1, "webhooks|0|clientConfig|caBundle", Value::is_string),
            change_checked(1, "webhooks|1|clientConfig|caBundle", Value::is_string),
            change_checked(2, "webhooks|0|clientConfig|caBundle", Value::is_string),
            change_checked(
                3,
                "spec|conversion|webhook|clientConfig|caBundle",
                Value::is_string,
            ),
            pod_digest(4, "keyseed.io/rollme"),
            pod_digest(4, "rollme"),
        ],
        &["--now", "2026-06-01T00:00:00Z"],
    );
    let docs = yaml11_json(&out.stdout);
    let v = secret_values(&out.stdout);
    let name = "otel-opentelemetry-operator-controller-manager-service-cert";
    let ca = &v[&format!("{name}/ca.crt")];
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    // Every caBundle is the derived CA, base64.
    for b in [
        &docs[1]["webhooks"][0]["clientConfig"]["caBundle"],
        &docs[1]["webhooks"][1]["clientConfig"]["caBundle"],
        &docs[2]["webhooks"][0]["clientConfig"]["caBundle"],
        &docs[3]["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
    ] {
        assert_eq!(b.as_str().unwrap(), b64(ca));
    }
    // The serving certificate verifies against it, for the webhook's service name.
    let t = Tmp::new("otel");
    let (cap, crt) = (
        t.write("ca.pem", ca),
        t.write("tls.crt", &v[&format!("{name}/tls.crt")]),
    );
    let ok = host(
        "openssl",
        &[
            "verify",
            "-attime",
            "1780000000",
            "-verify_hostname",
            "otel-opentelemetry-operator-webhook.observability.svc",
            "-CAfile",
            cap.to_str().unwrap(),
            crt.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(ok.code, Some(0), "{}{}", ok.stdout_str(), ok.stderr);
    // A pattern that matches nothing is an error.
    let typo =
        recipe("otel-operator").replace("otel-opentelemetry-operator-mutation", "otel-mutation");
    render_cfg(&typo, &otel_operator(1), &["--now", "2026-06-01T00:00:00Z"])
        .fails()
        .stderr_has("`MutatingWebhookConfiguration/otel-mutation` matches no object");
}

/// The Lightrun chart's layout (lightrun-helm-chart 3.50.0, default values): the certificate
/// Secret with empty keys (no fallback), the backend Secret whose `encryption-key-0` is
/// `randBytes 32` written as a multi-line plain scalar, `secrets.db.password` and
/// `secrets.keycloak.password` copied into the backend and keycloak Secrets, and the
/// `items:` list the chart builds with `lookup` (only `encryption-key-0` under `helm template`)
/// in the backend and crons Deployments.
fn lightrun(n: u32) -> String {
    let items = "            optional: true\n            items: \n              # Only select items that start with encryption-key-\n              \n              \n              - key: encryption-key-0\n                path: encryption-key-0\n              \n";
    let deployment = |name: &str| {
        format!(
            "---\n# Source: lightrun-helm-chart/templates/{name}-deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: lightrun-{name}\n  labels:\n    app: lightrun-{name}\nspec:\n  template:\n    metadata:\n      labels:\n        app: lightrun-{name}\n    spec:\n      volumes:\n        \n        - name: encryption-keys\n          secret: \n            secretName: lightrun-backend\n{items}        - name: certificates\n          secret:\n            secretName: lightrun-certificate\n      containers:\n        - name: lightrun-{name}\n          envFrom:\n            - secretRef:\n                name: lightrun-backend\n          volumeMounts:\n            - name: encryption-keys\n              mountPath: /encryption-keys\n"
        )
    };
    format!(
        "---\n# Source: lightrun-helm-chart/templates/secrets.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: lightrun-certificate\ndata:\n  tls.crt: \n  tls.key: \ntype: kubernetes.io/tls\n---\n# Source: lightrun-helm-chart/templates/secrets.yaml\nkind: Secret\napiVersion: v1\nmetadata:\n  name: lightrun-backend\ntype: Opaque\nstringData:\n  # Mandatory fields\n  SPRING_SECURITY_KEYCLOAK_CLI_PASSWORD: \"\"\n  SPRING_MAIL_PASSWORD: \"\"\n  SPRING_FLYWAY_PASSWORD: \"\"\n  SPRING_FLYWAY_USER: \"lightrun\"\n  SPRING_DATASOURCE_USERNAME: \"lightrun\"\n  SPRING_DATASOURCE_PASSWORD: \"\"\n  KEYSTORE_PASSWORD: \"\"\n  SPRING_RABBITMQ_USERNAME: \"lightrun\"\n  SPRING_RABBITMQ_PASSWORD: \"\"\n  encryption-key-0: \n            {}\n        \n  \n  # Optional fields\n---\n# Source: lightrun-helm-chart/templates/secrets.yaml\nkind: Secret\napiVersion: v1\nmetadata:\n  name: lightrun-keycloak\ntype: Opaque\nstringData:\n  KEYCLOAK_USER: admin\n  KEYCLOAK_PASSWORD: \"\"\n  DB_USER: \"lightrun\"\n  DB_PASSWORD: \"\"\n{}{}---\n# Source: lightrun-helm-chart/templates/keycloak-statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: lightrun-keycloak\nspec:\n  serviceName: lightrun-keycloak\n  template:\n    metadata:\n      labels:\n        app: lightrun-keycloak\n    spec:\n      containers:\n        - name: lightrun-keycloak\n          env:\n            - name: KC_DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: lightrun-keycloak\n                  key: DB_PASSWORD\n",
        b64(&rand(n, "key0-32-bytes-of-randomness")),
        deployment("backend"),
        deployment("crons"),
    )
}

#[test]
fn recipes_lightrun_keyring_reaches_the_pods() {
    let k0 = derive("base64:32", "prod/lightrun-backend/encryption-key-{gen}");
    let k1 = derive(
        "<keyseed:base64:32 gen=1>",
        "prod/lightrun-backend/encryption-key-{gen}",
    );
    let db = derive("password:24", "prod/lightrun/db-password");
    let kc = derive("password:24", "prod/lightrun/keycloak-password");
    let mq = derive("password:24", "prod/lightrun/mq-password");
    let ks_pw = derive("password:24", "prod/lightrun-backend/KEYSTORE_PASSWORD");
    let items = "spec|template|spec|volumes|0|secret|items|1";
    let out = run_recipe(
        "lightrun",
        lightrun,
        &[
            change_checked(0, "data|tls.crt", Value::is_string),
            change_checked(0, "data|tls.key", Value::is_string),
            change_checked(0, "data|ca.crt", Value::is_string),
            change(1, "stringData|encryption-key-0", json!(k0)),
            change(1, "stringData|encryption-key-1", json!(k1)),
            change(1, "stringData|SPRING_DATASOURCE_PASSWORD", json!(db)),
            change(1, "stringData|SPRING_FLYWAY_PASSWORD", json!(db)),
            change(
                1,
                "stringData|SPRING_SECURITY_KEYCLOAK_CLI_PASSWORD",
                json!(kc),
            ),
            change(1, "stringData|SPRING_RABBITMQ_PASSWORD", json!(mq)),
            change(1, "stringData|KEYSTORE_PASSWORD", json!(ks_pw)),
            change(2, "stringData|DB_PASSWORD", json!(db)),
            change(2, "stringData|KEYCLOAK_PASSWORD", json!(kc)),
            change(
                3,
                items,
                json!({"key": "encryption-key-1", "path": "encryption-key-1"}),
            ),
            pod_digest(3, "keyseed.io/rollme"),
            change(
                4,
                items,
                json!({"key": "encryption-key-1", "path": "encryption-key-1"}),
            ),
            pod_digest(4, "keyseed.io/rollme"),
            pod_digest(5, "keyseed.io/rollme"),
        ],
        &["--now", "2026-06-01T00:00:00Z"],
    );
    assert!(k0 != k1 && db != kc && db != mq);
    // What the chart copies is one value: the database password in the three keys that
    // carry it, in the values route too (the same explicit id).
    let v = secret_values(&out.stdout);
    assert_eq!(
        v["lightrun-backend/SPRING_DATASOURCE_PASSWORD"],
        v["lightrun-keycloak/DB_PASSWORD"]
    );
    assert_eq!(
        v["lightrun-backend/SPRING_FLYWAY_PASSWORD"],
        v["lightrun-keycloak/DB_PASSWORD"]
    );
    assert_eq!(
        v["lightrun-certificate/tls.crt"]
            .matches("BEGIN CERTIFICATE")
            .count(),
        1
    );
    // Turned off, the items lists stay as the chart wrote them.
    let off = format!("{}keyrings: {{project-items: false}}\n", recipe("lightrun"));
    let plain = render_cfg(&off, &lightrun(1), &["--now", "2026-06-01T00:00:00Z"]).ok();
    let docs = yaml11_json(&plain.stdout);
    for d in [3, 4] {
        assert_eq!(
            docs[d]["spec"]["template"]["spec"]["volumes"][0]["secret"]["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}

fn flux_manifests(n: u32) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orchestrator-credentials\n  namespace: flux-apps\nstringData:\n  api-token:\n  cluster-id: \"\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orchestrator\n  namespace: flux-apps\nspec:\n  template:\n    metadata:\n      annotations:\n        rollme: {}\n    spec:\n      containers:\n        - name: orchestrator\n          envFrom:\n            - secretRef:\n                name: orchestrator-credentials\n",
        rand(n, "ab")
    )
}

#[test]
fn recipes_flux_manifests() {
    let token = derive("alnum:40", "/orchestrator-credentials/api-token");
    let id = derive(
        "<keyseed:base64url:16 pad=false>",
        "/orchestrator-credentials/cluster-id",
    );
    assert_eq!(id.len(), 22, "{id}");
    run_recipe(
        "flux-manifests",
        flux_manifests,
        &[
            change(0, "stringData|api-token", json!(token)),
            change(0, "stringData|cluster-id", json!(id)),
            pod_digest(1, "rollme"),
            pod_digest(1, "keyseed.io/rollme"),
        ],
        &[],
    );
}

#[test]
fn ca_key_is_the_private_key_of_the_derived_ca_and_stays_in_secrets() {
    // Charts that keep their CA key in a Secret (mongodb's TLS CA) get the key of the CA
    // that `<keyseed:ca:ID>` derives.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: mongo-ca}\nstringData:\n  ca.crt: \"<keyseed:ca:mongo>\"\n  ca.key: \"<keyseed:ca-key:mongo>\"\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let v = secret_values(&out.stdout);
    let t = Tmp::new("cakey");
    let (crt, key) = (
        t.write("ca.crt", &v["mongo-ca/ca.crt"]),
        t.write("ca.key", &v["mongo-ca/ca.key"]),
    );
    let from_cert = host(
        "openssl",
        &["x509", "-noout", "-pubkey", "-in", crt.to_str().unwrap()],
        b"",
    )
    .ok()
    .stdout;
    let from_key = host(
        "openssl",
        &["pkey", "-pubout", "-in", key.to_str().unwrap()],
        b"",
    )
    .ok()
    .stdout;
    assert_eq!(
        from_cert, from_key,
        "ca-key must be the CA certificate's key"
    );
    // It is secret: outside a Secret it is an error (unlike the public `ca:`).
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"<keyseed:ca-key:mongo>\"}\n";
    ks(&["render"])
        .demo_keys()
        .stdin(cm)
        .run()
        .fails()
        .stderr_has("outside a Secret");
}

#[test]
fn replaced_annotations_and_apiservice_ca_bundles() {
    // A workload that references no data in the stream still gets its `checksum/*`
    // replaced, by the digest of nothing: a constant, so it never churns.
    let cfg = "rollme:\n  replace: [\"checksum/*\"]\ncertificates:\n  - secret: ms-tls\n    ca: ms-ca\n    dns-names: [metrics-server.kube-system.svc]\n    not-before: 2026-01-01\n    days: 365\nca-bundles:\n  - ca: ms-ca\n    objects: [APIService/v1beta1.metrics.k8s.io]\n";
    let input = |n: u32| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: ms-tls}}\ntype: kubernetes.io/tls\ndata: {{tls.crt: \"\", tls.key: \"\"}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: lonely}}\nspec:\n  template:\n    metadata:\n      annotations: {{checksum/config: \"{}\"}}\n    spec:\n      containers: [{{name: c}}]\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {{name: v1beta1.metrics.k8s.io}}\nspec:\n  group: metrics.k8s.io\n  service: {{name: metrics-server, namespace: kube-system}}\n",
            rand(n, "cfg")
        )
    };
    let a = render_cfg(cfg, &input(1), &["--now", "2026-06-01T00:00:00Z"]).ok();
    let b = render_cfg(cfg, &input(2), &["--now", "2026-06-01T00:00:00Z"]).ok();
    assert_eq!(a.stdout, b.stdout);
    let docs = yaml11_json(&a.stdout);
    let ann = &docs[1]["spec"]["template"]["metadata"]["annotations"];
    assert!(is_digest(&ann["checksum/config"]), "{ann}");
    assert!(
        ann["keyseed.io/rollme"].is_null(),
        "no data referenced: no own annotation"
    );
    let v = secret_values(&a.stdout);
    assert_eq!(
        docs[2]["spec"]["caBundle"].as_str().unwrap(),
        b64(&v["ms-tls/ca.crt"])
    );
    assert_eq!(docs[2]["spec"]["group"], "metrics.k8s.io");
}
