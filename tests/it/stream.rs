//! The manifest stream (): shapes from every host, byte-exact passthrough, YAML 1.1
//! meaning of changed documents, and bounded work on hostile input.

use std::time::Instant;

use crate::util::*;

fn render(input: &[u8]) -> Out {
    ks(&["render"]).demo_keys().stdin(input).run()
}

/// Splits output at the same boundaries as the input, for per-document comparison.
fn docs(s: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut start = 0;
    let mut pos = 0;
    for line in s.split_inclusive('\n') {
        if pos != 0 && (line.starts_with("---\n") || line.starts_with("---\r\n")) {
            out.push(&s[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    out.push(&s[start..]);
    out
}

const CM: &str = "---\n# Source: demo/templates/cm.yaml\n# a comment that must survive\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm   # trailing comment\ndata: {flow: 'x', \"q\": yes, n: 0777}\n";

const SECRET: &str = "---\n# Source: demo/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {enabled: on}\nstringData:\n  a: on\n  b: yes\n  mode: 0777\n  key: \"<keyseed:hex:8>\"\n  y: y\n  c: |\n    --- not a marker\n    ...\n";

#[test]
fn helm3_stream_untouched_documents_are_byte_identical() {
    let input = format!("{CM}{SECRET}{CM}");
    let out = render(input.as_bytes()).ok().stdout_str();
    let (i, o) = (docs(&input), docs(&out));
    assert_eq!(i.len(), o.len());
    assert_eq!(i[0], o[0]);
    assert_eq!(i[2], o[2]);
    assert_ne!(i[1], o[1]);
    // Only the placeholder's line changed.
    let changed: Vec<_> = i[1]
        .lines()
        .zip(o[1].lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.contains("<keyseed:hex:8>"));
    assert_eq!(i[1].lines().count(), o[1].lines().count());
}

#[test]
fn changed_document_keeps_its_yaml11_meaning() {
    let out = render(SECRET.as_bytes()).ok().stdout;
    let before = yaml11_json(SECRET.as_bytes());
    let after = yaml11_json(&out);
    // PyYAML reads YAML 1.1 like go-yaml v2: on/yes/y -> true, 0777 -> 511.
    let sd = &after[0]["stringData"];
    assert_eq!(sd["a"], serde_json::json!(true));
    assert_eq!(sd["b"], serde_json::json!(true));
    // (`y` is a bool to go-yaml v2 but a string to PyYAML; its bytes are unchanged either way.)
    assert!(String::from_utf8_lossy(&out).contains("\n  y: y\n"));
    assert_eq!(sd["mode"], serde_json::json!(511));
    assert_eq!(
        after[0]["metadata"]["labels"]["enabled"],
        serde_json::json!(true)
    );
    // Everything but the injected key means what it meant.
    let mut b = before[0].clone();
    let mut a = after[0].clone();
    b["stringData"].as_object_mut().unwrap().remove("key");
    a["stringData"].as_object_mut().unwrap().remove("key");
    assert_eq!(a, b);
    assert_eq!(after[0]["stringData"]["key"].as_str().unwrap().len(), 16);
}

#[test]
fn helm4_stream_without_leading_marker_and_with_filename_annotations() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'demo/templates/cm.yaml'\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'demo/templates/secret.yaml'\nstringData:\n  k: '<keyseed:alnum:10>'\n";
    let out = render(input.as_bytes()).ok().stdout_str();
    assert!(out.starts_with("apiVersion: v1\nkind: ConfigMap\n"));
    assert!(out
        .contains("    postrenderer.helm.sh/postrender-filename: 'demo/templates/secret.yaml'\n"));
    assert_eq!(secret_values(out.as_bytes())["s/k"].len(), 10);
    // Errors name the file from the annotation.
    let bad = input.replace("alnum:10", "alnum:0");
    render(bad.as_bytes())
        .fails()
        .stderr_has("from demo/templates/secret.yaml");
}

#[test]
fn json_documents_and_lists_are_filled() {
    let input = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"j\"},\"stringData\":{\"k\":\"<keyseed:hex:4>\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"x\":\"y\"}}\n";
    let out = render(input.as_bytes()).ok().stdout_str();
    let mut lines = out.lines();
    let first: serde_json::Value = serde_json::from_str(lines.next().unwrap()).expect("still JSON");
    assert_eq!(first["stringData"]["k"].as_str().unwrap().len(), 8);
    assert_eq!(lines.next().unwrap(), input.lines().nth(1).unwrap());

    let list = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: l1\n    stringData:\n      k: <keyseed:hex:4>\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: l2\n    data:\n      bad: <keyseed:hex:4>\n";
    render(list.as_bytes())
        .fails()
        .stderr_has(".items[1] (ConfigMap l2)")
        .stderr_has(".data.bad");
    let ok = list.replace("      bad: <keyseed:hex:4>\n", "      good: x\n");
    let out = render(ok.as_bytes()).ok();
    assert_eq!(secret_values(&out.stdout)["l1/k"].len(), 8);
}

#[test]
fn crlf_bom_comment_only_documents_and_end_markers() {
    let input = "\u{feff}---\r\n# Source: a.yaml\r\napiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: crlf\r\nstringData:\r\n  k-{gen}: \"<keyseed:hex:4 gen=0..1>\"\r\n  z: ok\r\n---\r\n# Source: b.yaml\r\n# HIDDEN: The Secret output has been suppressed\r\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: e}\n...\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: f}\nstringData:\n  v: |-\n    <keyseed:hex:2>\n  w: |\n    ---x\n    text\n...\n";
    let out = render(input.as_bytes()).ok().stdout_str();
    assert!(out.starts_with("\u{feff}---\r\n# Source: a.yaml\r\n"));
    assert!(out.contains("  \"k-0\": \""), "{out}");
    assert!(
        out.contains("\"\r\n  \"k-1\": \""),
        "keyring lines use the document's CRLF: {out}"
    );
    assert!(out.contains("\r\n  z: ok\r\n---\r\n# Source: b.yaml\r\n# HIDDEN: The Secret output has been suppressed\r\n---\nkind: ConfigMap"));
    assert!(out.contains("  w: |\n    ---x\n    text\n...\n"));
    let v = secret_values(out.as_bytes());
    assert_eq!(v["crlf/k-0"].len(), 8);
    assert_eq!(v["f/v"].len(), 4);
    assert_eq!(v["f/w"], "---x\ntext\n");
}

#[test]
fn document_order_and_count_are_kept() {
    let mut input = String::new();
    for i in 0..50 {
        if i % 7 == 0 {
            input.push_str(&format!("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\nstringData:\n  k: <keyseed:uuid id=s{i}>\n"));
        } else {
            input.push_str(&format!(
                "---\n# doc {i}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
            ));
        }
    }
    let out = render(input.as_bytes()).ok().stdout_str();
    let (i, o) = (docs(&input), docs(&out));
    assert_eq!(i.len(), o.len());
    for (a, b) in i.iter().zip(&o) {
        if a.contains("ConfigMap") {
            assert_eq!(a, b);
        } else {
            assert_eq!(a.lines().next(), b.lines().next());
        }
    }
}

/// Hostile input ends in an error or success, never a crash, and quickly.
fn bounded(input: &[u8]) -> Out {
    let t = Instant::now();
    let out = render(input);
    assert!(
        matches!(out.code, Some(0) | Some(1)),
        "crashed: {:?} {}",
        out.code,
        out.stderr
    );
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    out
}

#[test]
fn alias_bomb_is_bounded() {
    let mut s = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: bomb\nstringData:\n  k: <keyseed:hex:4>\nx:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 0..9 {
        let p = if i == 0 {
            "a".to_string()
        } else {
            format!("l{}", i - 1)
        };
        s.push_str(&format!(
            "  l{i}: &l{i} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    let out = bounded(s.as_bytes()).ok().stdout_str();
    // Not parsed back with PyYAML: it would expand the bomb.
    assert!(!out.contains("<keyseed:"));
    assert!(
        out.contains("  l8: &l8 [*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7]\n"),
        "aliases kept as written"
    );
    let line = out.lines().find(|l| l.starts_with("  k: ")).unwrap();
    assert_eq!(line.len(), "  k: \"\"".len() + 8);
}

#[test]
fn deep_nesting_is_a_clear_error() {
    let flow = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: d}}\nstringData: {{k: <keyseed:hex:4>}}\nx: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    bounded(flow.as_bytes())
        .fails()
        .stderr_has("not valid YAML");
    let mut block = String::from(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: d}\nstringData: {k: <keyseed:hex:4>}\nx:\n",
    );
    for i in 1..100_000usize {
        block.push_str(&" ".repeat(i.min(200_000)));
        block.push_str("- \n");
        if block.len() > 40_000_000 {
            break;
        }
    }
    bounded(block.as_bytes());
    // Deep nesting in a document keyseed does not need to read passes untouched.
    let untouched = format!("x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        bounded(untouched.as_bytes()).ok().stdout,
        untouched.as_bytes()
    );
}

#[test]
fn fifty_megabyte_document_is_handled() {
    // One 50 MB List: a small Secret to fill and a big ConfigMap.
    let mut s = String::from("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: small\n  stringData:\n    k: <keyseed:hex:4>\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: big\n  data:\n");
    let mut i = 0;
    while s.len() < 50_000_000 {
        s.push_str(&format!("    filler-{i}: \"{}\"\n", "x".repeat(200)));
        i += 1;
    }
    let out = bounded(s.as_bytes()).ok();
    assert_eq!(out.stdout.len(), s.len() - "<keyseed:hex:4>".len() + 10);
    // A 50 MB Secret is over Kubernetes' 1 MiB limit: a clear error, quickly.
    let secret = s.replacen("kind: ConfigMap", "kind: Secret", 1);
    bounded(secret.as_bytes())
        .fails()
        .stderr_has("Kubernetes allows at most 1048576 (1 MiB)");
}

#[test]
fn invalid_utf8_is_rejected() {
    render(b"apiVersion: v1\nkind: ConfigMap\ndata: {a: \"\xff\"}\n")
        .fails()
        .stderr_has("UTF-8");
}

#[test]
fn fuzz_regressions_end_cleanly() {
    // Inputs that once crashed a fuzz target (tests/fuzz-regressions/), replayed end to end.
    let dir = root().join("tests/fuzz-regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        bounded(&std::fs::read(e.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn regression_json_escaped_placeholders_are_not_missed() {
    // Go's JSON encoder (Helm's toJson) writes `<` and `>` as \u003c and \u003e: the
    // placeholder must still be found, filled, and refused outside a Secret.
    let secret = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"j\"},\"stringData\":{\"k\":\"\\u003ckeyseed:hex:4\\u003e\"}}\n";
    let out = render(secret.as_bytes()).ok();
    assert_eq!(secret_values(&out.stdout)["j/k"].len(), 8);
    assert!(!out.stdout_str().contains("keyseed:"));
    let cm = secret
        .replace("Secret", "ConfigMap")
        .replace("stringData", "data");
    render(cm.as_bytes()).fails().stderr_has("outside a Secret");
}

#[test]
fn oversized_stdin_file_is_refused_before_reading() {
    // A regular file on stdin larger than the 1 GiB cap: refused from its size alone.
    let t = Tmp::new("huge");
    let f = std::fs::File::create(t.path("huge.yaml")).unwrap();
    f.set_len((1 << 30) + 1).unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_keyseed"));
    c.arg("render")
        .env("HOME", t.path("home"))
        .stdin(std::fs::File::open(t.path("huge.yaml")).unwrap());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than 1073741824 bytes"));
}

#[test]
fn error_file_records_a_failure_and_a_success_clears_it() {
    let t = Tmp::new("errfile");
    let f = t.path("err.txt");
    let bad =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:nope>\"}\n";
    ks(&["render", "--error-file"])
        .arg(&f)
        .demo_keys()
        .stdin(bad)
        .run()
        .fails();
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains("unknown format `nope`"), "{text}");
    let last = ks(&["last-error", "--error-file"])
        .arg(&f)
        .run()
        .ok()
        .stdout_str();
    // The file starts with keyseed's mark (only such a file is ever replaced or removed).
    assert_eq!(
        Some(last.as_str()),
        text.strip_prefix("# keyseed: the error of the last failed run\n")
    );
    ks(&["render", "--error-file"])
        .arg(&f)
        .demo_keys()
        .stdin(bad.replace("nope", "hex:2"))
        .run()
        .ok();
    assert!(!f.exists());
}

#[test]
fn a_stream_read_from_a_file_renders_as_the_same_stream_from_a_pipe() {
    // A regular file on stdin from 128 KiB on is read into a mapping made at its size:
    // the render is byte for byte the one of the same bytes through a pipe.
    let t = Tmp::new("filein");
    let mut input = String::new();
    for i in 0..400 {
        input.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  blob: |\n{}",
            "    xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                .repeat(8)
        ));
    }
    input.push_str("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: \"<keyseed:hex:8>\"\n");
    assert!(input.len() > 200 * 1024);
    std::fs::write(t.path("in.yaml"), &input).unwrap();
    let piped = ks(&["render"]).demo_keys().stdin(&input).run().ok();
    let (mut c, _home) = ks(&["render"]).demo_keys().command();
    c.stdin(std::fs::File::open(t.path("in.yaml")).unwrap());
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == piped.stdout, "file and pipe renders differ");
    assert!(!out.stdout.windows(9).any(|w| w == b"<keyseed:"));
}
