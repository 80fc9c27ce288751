//! Rollout annotations (issue #4): pods restart exactly when the data they use
//! changes, never on an unchanged sync.

use crate::util::*;

const ANN: &str = "keyseed.io/rollme";

fn stream(secret_value: &str, cm_value: &str, unrelated: &str, secret_label: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  labels: {{tier: {secret_label}}}\nstringData:\n  password: \"{secret_value}\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: \"{cm_value}\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\ndata:\n  x: \"{unrelated}\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n          envFrom:\n            - configMapRef: {{name: settings}}\n          env:\n            - name: P\n              valueFrom:\n                secretKeyRef: {{name: creds, key: password}}\n            - name: EXTERNAL\n              valueFrom:\n                secretKeyRef: {{name: not-in-stream, key: k}}\n"
    )
}

/// The annotation value of every workload, by name.
fn annotations(out: &[u8]) -> std::collections::BTreeMap<String, String> {
    let docs = yaml11_json(out);
    let mut m = std::collections::BTreeMap::new();
    for d in docs.as_array().unwrap() {
        let t = match d["kind"].as_str() {
            Some("CronJob") => &d["spec"]["jobTemplate"]["spec"]["template"],
            Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job") => {
                &d["spec"]["template"]
            }
            _ => continue,
        };
        if let Some(a) = t["metadata"]["annotations"][ANN].as_str() {
            m.insert(
                d["metadata"]["name"].as_str().unwrap().to_string(),
                a.to_string(),
            );
        }
    }
    m
}

fn render(input: &str) -> Vec<u8> {
    ks(&["render"]).demo_keys().stdin(input).run().ok().stdout
}

#[test]
fn annotation_changes_exactly_when_referenced_data_changes() {
    let base = annotations(&render(&stream("<keyseed:hex:8>", "a", "u", "x")))["web"].clone();
    assert_eq!(base.len(), 64);
    // Same input twice: identical.
    assert_eq!(
        annotations(&render(&stream("<keyseed:hex:8>", "a", "u", "x")))["web"],
        base
    );
    // A referenced value changes: a new annotation.
    assert_ne!(
        annotations(&render(&stream("<keyseed:hex:8 gen=1>", "a", "u", "x")))["web"],
        base
    );
    assert_ne!(
        annotations(&render(&stream("<keyseed:hex:8>", "b", "u", "x")))["web"],
        base
    );
    // Unreferenced data and metadata: no change.
    assert_eq!(
        annotations(&render(&stream("<keyseed:hex:8>", "a", "other", "x")))["web"],
        base
    );
    assert_eq!(
        annotations(&render(&stream("<keyseed:hex:8>", "a", "u", "y")))["web"],
        base
    );
}

#[test]
fn annotation_is_an_hmac_that_depends_on_the_seed() {
    let input = stream("static-password", "a", "u", "x");
    let demo = annotations(&render(&input))["web"].clone();
    let (t, id) = init_project("rollseed");
    let other = ks(&["render", "-i"])
        .arg(&id)
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok()
        .stdout;
    assert_ne!(
        annotations(&other)["web"],
        demo,
        "keyed by the seed: leaks nothing about the data"
    );
}

#[test]
fn every_reference_kind_counts() {
    let objs = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {k: \"v\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\ndata: {k: v}\n";
    let workloads = [
        ("Deployment", "spec:\n  template:\n    spec:\n      initContainers:\n        - name: i\n          envFrom:\n            - secretRef: {name: TARGET}\n      containers: [{name: c}]\n"),
        ("StatefulSet", "spec:\n  template:\n    spec:\n      containers: [{name: c}]\n      volumes:\n        - name: v\n          secret: {secretName: TARGET}\n"),
        ("DaemonSet", "spec:\n  template:\n    spec:\n      containers: [{name: c}]\n      volumes:\n        - name: v\n          projected:\n            sources:\n              - configMap: {name: TARGET}\n"),
        ("Job", "spec:\n  template:\n    spec:\n      containers:\n        - name: c\n          env:\n            - name: X\n              valueFrom: {configMapKeyRef: {name: TARGET, key: k}}\n"),
        ("CronJob", "spec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c}]\n          volumes: [{name: v, configMap: {name: TARGET}}]\n"),
        ("ReplicaSet", "spec:\n  template:\n    metadata:\n      annotations: {other: kept}\n    spec:\n      containers:\n        - name: c\n          envFrom: [{secretRef: {name: TARGET}}]\n"),
    ];
    let targets = ["s1", "s1", "c1", "c1", "c1", "s1"];
    let mut input = String::from(objs);
    for ((kind, body), target) in workloads.iter().zip(targets) {
        input.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: w-{}}}\n{}",
            kind.to_lowercase(),
            body.replace("TARGET", target)
        ));
    }
    let out = render(&input);
    let a = annotations(&out);
    assert_eq!(a.len(), 6, "{a:?}");
    assert_eq!(
        a["w-deployment"], a["w-statefulset"],
        "same data, same annotation"
    );
    assert_eq!(a["w-daemonset"], a["w-cronjob"]);
    assert_ne!(a["w-deployment"], a["w-job"]);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("annotations: {\"keyseed.io/rollme\": "),
        "{text}"
    );
    assert!(text.contains("other: kept"));
}

#[test]
fn references_outside_the_stream_add_nothing() {
    let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          envFrom: [{secretRef: {name: external}}]\n";
    // Nothing to annotate, so no seed is needed and the document passes byte for byte.
    let out = ks(&["render"]).stdin(input).run().ok();
    assert_eq!(out.stdout, input.as_bytes());
    let p = ks(&["plan"])
        .demo_keys()
        .stdin(input)
        .run()
        .ok()
        .stdout_str();
    assert!(
        p.contains("Secret external") && p.contains("NOT IN THE STREAM"),
        "{p}"
    );
}

#[test]
fn configurable_annotation_replaces_a_charts_random_rollme() {
    let t = Tmp::new("rollcfg");
    let cfg = t.write(
        "keyseed.yaml",
        "rollme:\n  annotation: rollme\n  kinds: [Deployment]\n",
    );
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata:\n      annotations:\n        rollme: \"x7Rq2\"\n    spec:\n      containers:\n        - name: c\n          envFrom: [{configMapRef: {name: c}}]\n";
    let out = ks(&["render", "--config"])
        .arg(&cfg)
        .stdin(input)
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
    assert!(!out.contains("x7Rq2"), "randAlphaNum-style value replaced");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("rollme: "))
        .unwrap();
    assert_eq!(line.trim_start().len(), "rollme: \"\"".len() + 64);
    assert!(!out.contains(ANN));
    // kinds: [] turns rollme off.
    let off = t.write("off.yaml", "rollme:\n  kinds: []\n");
    let out = ks(&["render", "--config"])
        .arg(&off)
        .stdin(input)
        .run()
        .ok();
    assert_eq!(out.stdout, input.as_bytes());
}

#[test]
fn helm3_and_helm4_renders_get_the_same_annotations() {
    let chart = root().join("charts-example/demo");
    let mut results = vec![];
    for helm in ["helm3", "helm4"] {
        let t = Tmp::new("rollhelm");
        let mut c = std::process::Command::new(tool(helm));
        c.args(["template", "demo"])
            .arg(&chart)
            .env("HELM_DATA_HOME", t.path("d"))
            .env("HELM_CONFIG_HOME", t.path("c"))
            .env("HELM_CACHE_HOME", t.path("k"));
        let rendered = run_with_stdin(c, b"").ok().stdout;
        let a = annotations(&render(std::str::from_utf8(&rendered).unwrap()));
        assert!(a.contains_key("demo-demo"), "{helm}: {a:?}");
        results.push(a);
    }
    assert_eq!(results[0]["demo-demo"], results[1]["demo-demo"]);
}

#[test]
fn empty_annotations_and_json_templates_are_annotated() {
    let objs = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n";
    let empty = format!("{objs}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    metadata:\n      annotations:\n      labels: {{app: web}}\n    spec:\n      containers:\n        - name: c\n          envFrom: [{{configMapRef: {{name: c}}}}]\n");
    let out = render(&empty);
    let a = annotations(&out);
    assert_eq!(a["web"].len(), 64);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("      labels: {app: web}\n"));
    // A JSON workload stays JSON.
    let json = format!("{objs}{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{{\"name\":\"j\"}},\"spec\":{{\"template\":{{\"spec\":{{\"containers\":[{{\"name\":\"c\",\"envFrom\":[{{\"configMapRef\":{{\"name\":\"c\"}}}}]}}]}}}}}}}}\n");
    let out = String::from_utf8(render(&json)).unwrap();
    let line = out.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(line).expect("still JSON");
    assert_eq!(
        v["spec"]["template"]["metadata"]["annotations"][ANN]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

/// `render` parses only workloads whose text names a Secret or ConfigMap of the stream, and
/// only objects whose name a workload's text holds (issue #13); `plan`, and `render` with
/// `rollme.replace`, parse them all. A name spelled with escapes, through an alias, in flow
/// style, in a block scalar, quoted, or one that is a prefix of another name must still be
/// found: `plan` reports as annotated exactly the workloads `render` annotates, and the
/// annotations equal those of the unfiltered path (an object twice combines in stream order).
#[test]
fn the_name_prefilter_misses_no_reference_however_it_is_spelled() {
    let objects = concat!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-1\ndata:\n  a: \"1\"\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-11\ndata:\n  a: \"11\"\n",
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db.creds\nstringData:\n  p: x\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"quoted-cm\"\ndata:\n  a: q\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  a: first\n",
        "---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: twice}, data: {a: second}}\n",
    );
    let env_from = |r: &str| {
        format!("      containers:\n        - name: c\n          envFrom:\n            - {r}\n")
    };
    let cases = [
        ("aliased", format!("      x: &n cm-11\n{}", env_from("configMapRef: {name: *n}"))),
        ("flow", "      {containers: [{name: c, envFrom: [{configMapRef: {name: cm-1}}]}]}\n".into()),
        ("block-scalar", "      volumes:\n        - name: v\n          configMap:\n            name: |-\n              cm-11\n".into()),
        ("prefix-only", env_from("configMapRef: {name: cm-111}")),
        ("longer-name", env_from("configMapRef: {name: xcm-1}")),
        ("tagged", env_from("secretRef: {name: !!str db.creds}")),
        ("quoted-object", env_from("configMapRef: {name: quoted-cm}")),
        ("twice-object", env_from("configMapRef: {name: twice}")),
        ("unrelated", env_from("configMapRef: {name: elsewhere}")),
        (
            "merged",
            "      x: &c {envFrom: [{configMapRef: {name: cm-11}}]}\n      containers:\n        - <<: *c\n          name: c\n".into(),
        ),
        (
            "merge-overridden",
            "      x: &c {envFrom: [{configMapRef: {name: cm-11}}]}\n      containers:\n        - <<: *c\n          name: c\n          envFrom: []\n".into(),
        ),
    ];
    // Aliases and merge keys resolve as Kubernetes reads them (a key written in the mapping
    // wins over a merged one).
    let want = [
        "aliased",
        "flow",
        "block-scalar",
        "tagged",
        "quoted-object",
        "twice-object",
        "merged",
    ];
    prefilter_agrees(objects, &cases, &want);
    // A backslash anywhere in a workload: every object may be named.
    let cases = [
        ("escaped", env_from("configMapRef: {name: \"\\x63m-1\"}")),
        (
            "unicode-escaped",
            env_from("secretRef: {name: \"db\\u002ecreds\"}"),
        ),
        ("unrelated", env_from("configMapRef: {name: elsewhere}")),
    ];
    prefilter_agrees(objects, &cases, &["escaped", "unicode-escaped"]);
    // A name folded from two lines holds a space: no filtering at all, same annotations.
    let continued = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n    continued\ndata:\n  a: c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: d\n";
    let cases = [
        (
            "continued-name",
            env_from("configMapRef: {name: plain continued}"),
        ),
        ("first-word", env_from("configMapRef: {name: plain}")),
        ("unrelated", env_from("configMapRef: {name: elsewhere}")),
    ];
    prefilter_agrees(continued, &cases, &["continued-name", "first-word"]);
}

/// Renders `objects` plus one Deployment per case, and checks that `plan`, `render` and the
/// unfiltered `render` (with `rollme.replace`) agree, and annotate exactly `want`.
fn prefilter_agrees(objects: &str, cases: &[(&str, String)], want: &[&str]) {
    let mut input = objects.to_string();
    for (name, spec) in cases {
        input.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n{spec}"
        ));
    }
    let plan = ks(&["plan", "--format", "json"])
        .demo_keys()
        .stdin(input.as_str())
        .run()
        .ok()
        .stdout;
    let plan: serde_json::Value = serde_json::from_slice(&plan).unwrap();
    let planned: std::collections::BTreeSet<String> = plan["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["annotated"] == true)
        .map(|w| {
            w["workload"]
                .as_str()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let filtered = annotations(&render(&input));
    let t = Tmp::new("prefilter");
    let cfg = t.write("keyseed.yaml", "rollme:\n  replace: [\"never-set-*\"]\n");
    let unfiltered = ks(&["render", "--config"])
        .arg(&cfg)
        .stdin(input.as_str())
        .demo_keys()
        .run()
        .ok()
        .stdout;
    assert_eq!(filtered, annotations(&unfiltered));
    let rendered: std::collections::BTreeSet<String> = filtered.into_keys().collect();
    let want: std::collections::BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(planned, want, "plan: {plan}");
    assert_eq!(rendered, want);
}

/// Issue #23: a pod restarts when a key it reads changes, not when another key of the same
/// Secret does (lightrun's keycloak and mq read one key each of a shared Secret).
#[test]
fn rotating_one_key_restarts_only_pods_that_read_it() {
    let input = |a: &str, b: &str| {
        let deploy = |name: &str, pod: &str| {
            format!("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n{pod}")
        };
        let mut s = format!("---\napiVersion: v1\nkind: Secret\nmetadata: {{name: shared}}\nstringData:\n  a: \"{a}\"\n  b: \"{b}\"\n");
        s += &deploy("reads-a", "      containers:\n        - name: c\n          env:\n            - {name: A, valueFrom: {secretKeyRef: {name: shared, key: a}}}\n");
        s += &deploy("reads-b", "      containers:\n        - name: c\n          env:\n            - {name: B, valueFrom: {secretKeyRef: {name: shared, key: b}}}\n");
        s += &deploy("mounts-a", "      containers: [{name: c}]\n      volumes:\n        - name: v\n          secret: {secretName: shared, items: [{key: a, path: a}]}\n");
        s += &deploy("projects-b", "      containers: [{name: c}]\n      volumes:\n        - name: v\n          projected: {sources: [{secret: {name: shared, items: [{key: b, path: b}]}}]}\n");
        s += &deploy("env-from", "      containers:\n        - name: c\n          envFrom: [{secretRef: {name: shared}}]\n");
        s += &deploy("whole-volume", "      containers: [{name: c}]\n      volumes: [{name: v, secret: {secretName: shared}}]\n");
        s += &deploy("empty-items", "      containers: [{name: c}]\n      volumes: [{name: v, secret: {secretName: shared, items: []}}]\n");
        s += &deploy("a-and-whole", "      containers:\n        - name: c\n          env:\n            - {name: A, valueFrom: {secretKeyRef: {name: shared, key: a}}}\n          envFrom: [{secretRef: {name: shared}}]\n");
        s
    };
    let base = annotations(&render(&input("<keyseed:hex:8>", "<keyseed:hex:8>")));
    let a_rotated = annotations(&render(&input("<keyseed:hex:8 gen=1>", "<keyseed:hex:8>")));
    let b_rotated = annotations(&render(&input("<keyseed:hex:8>", "<keyseed:hex:8 gen=1>")));
    assert_eq!(base.len(), 8, "{base:?}");
    let whole = ["env-from", "whole-volume", "empty-items", "a-and-whole"];
    for w in whole {
        assert_ne!(base[w], a_rotated[w], "{w} reads a");
        assert_ne!(base[w], b_rotated[w], "{w} reads b");
    }
    for w in ["reads-a", "mounts-a"] {
        assert_ne!(base[w], a_rotated[w], "{w} reads a");
        assert_eq!(base[w], b_rotated[w], "{w} does not read b");
    }
    for w in ["reads-b", "projects-b"] {
        assert_eq!(base[w], a_rotated[w], "{w} does not read a");
        assert_ne!(base[w], b_rotated[w], "{w} reads b");
    }
    // Reading the same key by env or by volume is the same reading.
    assert_eq!(base["reads-a"], base["mounts-a"]);
    assert_eq!(base["reads-b"], base["projects-b"]);
    assert_ne!(base["reads-a"], base["reads-b"]);
    assert_eq!(base["env-from"], base["whole-volume"]);
}

/// A key a pod names that the Secret does not hold yet counts once it appears.
#[test]
fn a_key_added_later_restarts_the_pod_that_reads_it() {
    let input = |extra: &str| {
        format!("---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  a: x\n{extra}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          env:\n            - {{name: B, valueFrom: {{secretKeyRef: {{name: s, key: b, optional: true}}}}}}\n")
    };
    let before = annotations(&render(&input("")))["w"].clone();
    let after = annotations(&render(&input("  b: y\n")))["w"].clone();
    let other = annotations(&render(&input("  c: y\n")))["w"].clone();
    assert_ne!(before, after);
    assert_eq!(before, other);
}

#[test]
fn regression_no_annotation_written_into_a_node_an_alias_reads() {
    // The pod template's annotations are anchored and read again as its labels: an added
    // annotation would become a label too (a 64-character value the API server refuses).
    // keyseed leaves that workload unannotated and says so; the other one is annotated.
    let input = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: \"<keyseed:password:16>\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: aliased\nspec:\n  template:\n    metadata:\n      annotations: &shared\n        team: a\n      labels: *shared\n    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef: {name: creds}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: plain\nspec:\n  template:\n    metadata:\n      annotations: &own\n        team: a\n    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef: {name: creds}\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    let ann = annotations(&out.stdout);
    assert!(
        !ann.contains_key("aliased"),
        "written into an aliased anchor"
    );
    assert!(
        ann.contains_key("plain"),
        "an anchor no alias reads is edited as usual"
    );
    let docs = yaml11_json(&out.stdout);
    let labels = &docs[1]["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels, &serde_json::json!({"team": "a"}));
    out.stderr_has("no keyseed.io/rollme annotation")
        .stderr_has("Deployment aliased");
}
