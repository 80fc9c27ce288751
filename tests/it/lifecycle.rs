//! A key's life after its birth (issue #21): values that must never rotate, and an audit of
//! what changes against the lock without any value.

use crate::util::*;

const SPACELIFT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: spacelift\nstringData:\n  ENCRYPTION_RSA_PRIVATE_KEY: \"<keyseed:rsa:2048 encoding=base64 rotate=never>\"\n  session: \"<keyseed:base64:32>\"\n";

#[test]
fn a_never_rotate_value_cannot_change_under_the_lock_even_with_update_lock() {
    let (t, id, lock) = locked_project("never", SPACELIFT);
    let l = lock.to_str().unwrap();
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("@never-rotate\tspacelift\tENCRYPTION_RSA_PRIVATE_KEY\trsa:2048\t"),
        "{text}"
    );
    in_project(&t, &id, &["render", "--lock", l], SPACELIFT).ok();
    // An id edited: the value would change. Refused, --update-lock included; nothing written.
    let edited = SPACELIFT.replace("rotate=never", "rotate=never id=spacelift/rsa");
    for args in [
        &["render", "--lock", l][..],
        &["render", "--lock", l, "--update-lock"],
    ] {
        in_project(&t, &id, args, &edited)
            .fails()
            .stderr_has("spacelift/ENCRYPTION_RSA_PRIVATE_KEY is marked never-rotate")
            .stderr_has("refused even with --update-lock");
    }
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), text);
    // The mark taken off the placeholder does not lift the lock's record.
    let unmarked = edited.replace(" rotate=never", "");
    in_project(
        &t,
        &id,
        &["render", "--lock", l, "--update-lock"],
        &unmarked,
    )
    .fails()
    .stderr_has("never-rotate");
    // A seed replaced: another project's seed renders another key. Refused.
    let (other, other_id) = init_project("never-other");
    std::fs::copy(&lock, other.path("keyseed.lock")).unwrap();
    in_project(
        &other,
        &other_id,
        &["render", "--lock", "keyseed.lock", "--update-lock"],
        SPACELIFT,
    )
    .fails()
    .stderr_has("never-rotate");
    // The other value rotates as usual with --update-lock.
    let rotated = SPACELIFT.replace("base64:32", "base64:24");
    in_project(&t, &id, &["render", "--lock", l], &rotated)
        .fails()
        .stderr_has("would rotate spacelift/session");
    in_project(&t, &id, &["render", "--lock", l, "--update-lock"], &rotated).ok();
    // A bad option value is an error naming the field.
    let bad = SPACELIFT.replace("rotate=never", "rotate=sometimes");
    in_project(&t, &id, &["render"], &bad)
        .fails()
        .stderr_has("ENCRYPTION_RSA_PRIVATE_KEY")
        .stderr_has("rotate");
}

const KEYRING: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\n  namespace: lightrun\nstringData:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\n  db: \"<keyseed:password:24>\"\n";

#[test]
fn plan_shows_what_changes_against_the_lock_in_json_and_markdown_without_values() {
    let (t, id) = init_project("audit");
    let lock = t.path("keyseed.lock");
    let l = lock.to_str().unwrap();
    let values = secret_values(&in_project(&t, &id, &["render"], KEYRING).ok().stdout);
    in_project(&t, &id, &["render", "--lock", l, "--update-lock"], KEYRING).ok();
    let before = std::fs::read_to_string(&lock).unwrap();
    // A rotation: generation 2 added, generation 0 dropped, the password's format changed.
    let next = KEYRING
        .replace("gen=0..1", "gen=1..2")
        .replace("password:24", "password:32");
    let json = in_project(&t, &id, &["plan", "--lock", l, "--format", "json"], &next).ok();
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let change = |key: &str| {
        j["injected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == key)
            .map(|v| v["change"].as_str().unwrap().to_string())
    };
    assert_eq!(change("encryption-key-1").as_deref(), Some("unchanged"));
    assert_eq!(change("encryption-key-2").as_deref(), Some("added"));
    assert_eq!(change("db").as_deref(), Some("changed"));
    let removed = j["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["key"], "encryption-key-0");
    assert_eq!(removed[0]["secret"], "lightrun/backend-keys");
    // plan neither fails on the lock nor writes it.
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), before);
    let md = in_project(
        &t,
        &id,
        &["plan", "--lock", l, "--format", "markdown"],
        &next,
    )
    .ok()
    .stdout_str();
    assert!(md.contains("3 change(s) against the lock"), "{md}");
    assert!(md.contains("`encryption-key-2` added"), "{md}");
    assert!(md.contains("`encryption-key-0` removed"), "{md}");
    assert!(md.contains("`db` changed"), "{md}");
    assert!(md.contains("| resource | key | format | id | generation | fingerprint | change |"));
    let table = in_project(&t, &id, &["plan", "--lock", l], &next)
        .ok()
        .stdout_str();
    assert!(
        table.contains("CHANGE") && table.contains("removed"),
        "{table}"
    );
    // Fingerprints are keyed with the seed: no value, and no plain hash of one, appears.
    let next_values = secret_values(&in_project(&t, &id, &["render"], &next).ok().stdout);
    for v in values.values().chain(next_values.values()) {
        for out in [
            &md,
            &String::from_utf8_lossy(&json.stdout).into_owned(),
            &table,
        ] {
            assert!(!out.contains(v.as_str()), "a value in plan output");
        }
        let sha = python(
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
            v.as_bytes(),
        )
        .ok()
        .stdout_str();
        assert!(
            !md.contains(&sha.trim()[..16]),
            "a plain hash of a value in plan output"
        );
    }
    // Without a lock: no change column, no removed list.
    let plain = in_project(&t, &id, &["plan", "--format", "markdown"], &next)
        .ok()
        .stdout_str();
    assert!(!plain.contains("change"), "{plain}");
}

/// The plain values of the stream's one Secret, by data key.
fn by_key(stream: &[u8]) -> std::collections::BTreeMap<String, String> {
    secret_values(stream)
        .into_iter()
        .map(|(k, v)| (k.split_once('/').unwrap().1.to_string(), v))
        .collect()
}

const ROTATING: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\nstringData:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=current keep=2>\"\n  fernet-keys: \"<keyseed:fernet gen=current keep=3 join=, order=desc>\"\n  signing-{gen}: \"<keyseed:ed25519 gen=current>\"\n  db: \"<keyseed:password:24 gen=current>\"\n  rsa: \"<keyseed:rsa:2048 rotate=never>\"\n";

const RING: &str = "/backend-keys/encryption-key-{gen}";

#[test]
fn rotate_advances_a_keyring_with_overlap_and_the_lock_catches_unrecorded_rotations() {
    let (t, id) = init_project("rotate");
    let lock = t.path("keyseed.lock");
    let l = lock.to_str().unwrap();
    let gen0 = by_key(&in_project(&t, &id, &["render"], ROTATING).ok().stdout);
    assert!(gen0.contains_key("encryption-key-0") && !gen0.contains_key("encryption-key-1"));
    assert!(gen0.contains_key("signing-0") && !gen0.contains_key("signing-1"));
    assert!(!gen0["fernet-keys"].contains(','));
    in_project(&t, &id, &["render", "--lock", l, "--update-lock"], ROTATING).ok();

    // One rotation: the new key is added, the old one kept (keep=2).
    let out = in_project(&t, &id, &["rotate", RING, "--lock", l], ROTATING)
        .ok()
        .stdout_str();
    assert!(
        out.contains(&format!("rotated `{RING}`: generation 0 -> 1")),
        "{out}"
    );
    assert!(
        out.contains("adds encryption-key-1, drops nothing (keeps 0..1)"),
        "{out}"
    );
    let config1 = std::fs::read_to_string(t.path("keyseed.yaml")).unwrap();
    assert_eq!(config1, format!("generations:\n  \"{RING}\": 1\n"));
    assert!(std::fs::read_to_string(&lock)
        .unwrap()
        .contains(&format!("@generation\t{RING}\t1\t-\t-\n")));
    let gen1 = by_key(
        &in_project(&t, &id, &["render", "--lock", l], ROTATING)
            .ok()
            .stdout,
    );
    assert_same(
        &gen1["encryption-key-0"],
        &gen0["encryption-key-0"],
        "encryption-key-0 after a rotation",
    );
    assert_differs(
        &gen1["encryption-key-1"],
        &gen0["encryption-key-0"],
        "the new key",
    );
    // Other ids did not move.
    for k in ["fernet-keys", "signing-0", "db", "rsa"] {
        assert_same(&gen1[k], &gen0[k], k);
    }

    // The second rotation drops the oldest beyond keep=2.
    let out = in_project(&t, &id, &["rotate", RING, "--lock", l], ROTATING)
        .ok()
        .stdout_str();
    assert!(
        out.contains("adds encryption-key-2, drops encryption-key-0 (keeps 1..2)"),
        "{out}"
    );
    let gen2 = by_key(
        &in_project(&t, &id, &["render", "--lock", l], ROTATING)
            .ok()
            .stdout,
    );
    assert!(!gen2.contains_key("encryption-key-0"));
    assert_same(
        &gen2["encryption-key-1"],
        &gen1["encryption-key-1"],
        "encryption-key-1 after the second rotation",
    );

    // A reverted config gives the old bytes exactly; the lock calls it a reverted rotation.
    let at_gen1 = in_project(&t, &id, &["render"], ROTATING);
    std::fs::write(t.path("keyseed.yaml"), &config1).unwrap();
    let reverted = in_project(&t, &id, &["render"], ROTATING).ok();
    std::fs::write(t.path("keyseed.yaml"), config1.replace(": 1\n", ": 2\n")).unwrap();
    assert_differs(
        &at_gen1.stdout,
        &reverted.stdout,
        "renders at generations 2 and 1",
    );
    std::fs::write(t.path("keyseed.yaml"), &config1).unwrap();
    let again = in_project(&t, &id, &["render"], ROTATING).ok();
    assert_same(&again.stdout, &reverted.stdout, "the reverted render");
    assert!(
        by_key(&again.stdout) == gen1,
        "the reverted values differ from generation 1's (values not shown)"
    );
    in_project(&t, &id, &["render", "--lock", l], ROTATING)
        .fails()
        .stderr_has("a rotation reverted");
    // A hand edit the lock did not record is caught too.
    std::fs::write(t.path("keyseed.yaml"), config1.replace(": 1\n", ": 5\n")).unwrap();
    in_project(&t, &id, &["render", "--lock", l], ROTATING)
        .fails()
        .stderr_has("a rotation it did not record");
    std::fs::write(t.path("keyseed.yaml"), config1.replace(": 1\n", ": 2\n")).unwrap();
    in_project(&t, &id, &["render", "--lock", l], ROTATING).ok();
}

#[test]
fn rotate_joined_keyrings_single_values_and_asymmetric_keys_newest_first() {
    let (t, id) = init_project("rotate-kinds");
    let before = by_key(&in_project(&t, &id, &["render"], ROTATING).ok().stdout);
    let ids = [
        "/backend-keys/fernet-keys",
        "/backend-keys/signing-{gen}",
        "/backend-keys/db",
    ];
    let mut args = vec!["rotate"];
    args.extend(ids);
    let out = in_project(&t, &id, &args, ROTATING).ok().stdout_str();
    assert!(out.contains("key db: generation 0 -> 1"), "{out}");
    assert!(
        out.contains("key fernet-keys: generation 0..0 -> 0..1"),
        "{out}"
    );
    let after = by_key(&in_project(&t, &id, &["render"], ROTATING).ok().stdout);
    // MultiFernet order: the new key first, the old one after it.
    let fernet: Vec<&str> = after["fernet-keys"].split(',').collect();
    assert_eq!(fernet.len(), 2);
    assert_same(fernet[1], &before["fernet-keys"], "the old Fernet key");
    assert_differs(fernet[0], fernet[1], "the new Fernet key");
    // A token made with the old key still opens with the rotated keyring (Python's MultiFernet).
    python(
        &format!(
            "import sys; sys.path.insert(0, {:?})\nfrom cryptography.fernet import Fernet, MultiFernet\nold = Fernet({:?}.encode())\nring = MultiFernet([Fernet(k.encode()) for k in {:?}.split(',')])\nassert ring.decrypt(old.encrypt(b'data')) == b'data'\n",
            pythonpath(),
            before["fernet-keys"],
            after["fernet-keys"]
        ),
        b"",
    )
    .ok();
    assert_same(&after["signing-0"], &before["signing-0"], "signing-0");
    assert!(after["signing-1"].starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_differs(&after["db"], &before["db"], "the rotated password");
    assert_same(&after["rsa"], &before["rsa"], "the never-rotate key");
    // `keyseed derive` of gen=current gives the current generation.
    let derived = ks(&[
        "derive",
        "password:24 gen=current",
        "--id",
        "/backend-keys/db",
    ])
    .arg("-i")
    .arg(&id)
    .cwd(&t.0)
    .run()
    .ok()
    .stdout_str();
    assert_same(derived.trim_end(), &after["db"], "derive of gen=current");
}

#[test]
fn bad_rotations_are_refused_with_nothing_written() {
    let (t, id) = init_project("rotate-bad");
    let config = "scope: ''\n# keep me\n";
    std::fs::write(t.path("keyseed.yaml"), config).unwrap();
    for (args, msg) in [
        (
            vec!["rotate", "/backend-keys/nope"],
            "no `gen=current` placeholder",
        ),
        (vec!["rotate", "/backend-keys/rsa"], "marked rotate=never"),
        (
            vec!["rotate", RING, "/backend-keys/rsa"],
            "marked rotate=never",
        ),
        (vec!["rotate", "/backend-keys/a\tb"], "control character"),
    ] {
        in_project(&t, &id, &args, ROTATING).fails().stderr_has(msg);
        assert_eq!(
            std::fs::read_to_string(t.path("keyseed.yaml")).unwrap(),
            config
        );
    }
    // Nothing on stdin and no such id in keyseed.yaml: unknown.
    in_project(&t, &id, &["rotate", RING], "")
        .fails()
        .stderr_has("no `gen=current` placeholder");
    for (bad, msg) in [
        ("gen=current keep=2>", "keep=0>"),
        ("gen=current keep=2>", "keep=2 rotate=never>"),
        ("gen=current keep=2>", "keep=2 gen=1>"),
    ] {
        let input = ROTATING.replacen(bad, msg, 1);
        in_project(&t, &id, &["render"], &input)
            .fails()
            .stderr_has("encryption-key-{gen}");
    }
    let single = ROTATING.replace("password:24 gen=current", "password:24 gen=current keep=2");
    in_project(&t, &id, &["render"], &single)
        .fails()
        .stderr_has("stringData.db")
        .stderr_has("`keep` applies to a keyring");
    // The rotation then runs, and keeps the comment of the config.
    in_project(&t, &id, &["rotate", RING], ROTATING).ok();
    let text = std::fs::read_to_string(t.path("keyseed.yaml")).unwrap();
    assert_eq!(text, format!("{config}generations:\n  \"{RING}\": 1\n"));
}

#[test]
fn seed_verify_and_a_recovery_drill_with_an_offline_recipient() {
    let (t, me) = init_project("verify");
    let out = in_project(&t, &me, &["seed", "verify"], "")
        .ok()
        .stdout_str();
    assert!(
        out.contains(&format!(
            "opens with the identity from --identity {}",
            me.display()
        )),
        "{out}"
    );
    assert!(out.contains("exactly the 1 recipient(s)"), "{out}");
    assert!(out.contains("holds 1 recipient stanza(s)"), "{out}");
    // A second recipient kept offline.
    let (offline, offline_pub) = age_keygen(&t, "offline.txt");
    in_project(&t, &me, &["recipients", "add", &offline_pub], "").ok();
    let out = in_project(&t, &me, &["seed", "verify"], "")
        .ok()
        .stdout_str();
    assert!(
        out.contains("exactly the 2 recipient(s)") && out.contains("holds 2 recipient stanza(s)"),
        "{out}"
    );
    let rendered = in_project(&t, &me, &["render"], ROTATING).ok().stdout;
    // The drill: the first identity is lost; the offline one restores rendering, same bytes.
    std::fs::remove_file(&me).unwrap();
    in_project(&t, &me, &["seed", "verify"], "").fails();
    let out = in_project(&t, &offline, &["seed", "verify"], "")
        .ok()
        .stdout_str();
    assert!(
        out.contains(&format!("--identity {}", offline.display())),
        "{out}"
    );
    assert_eq!(
        in_project(&t, &offline, &["render"], ROTATING).ok().stdout,
        rendered
    );

    // The recipients file edited without re-encrypting: another set than the seed records.
    let rfile = t.path("keyseed.recipients");
    let listed = std::fs::read_to_string(&rfile).unwrap();
    let (_, third) = age_keygen(&t, "third.txt");
    std::fs::write(&rfile, format!("{listed}{third}\n")).unwrap();
    in_project(&t, &offline, &["seed", "verify"], "")
        .fails()
        .stderr_has("was last encrypted to another recipient set");
    std::fs::write(&rfile, &listed).unwrap();
    // Re-encrypted by Go age to the offline key alone: the digest inside still says two
    // recipients, the header holds one stanza.
    let seed = t.path("keyseed.age");
    let plain = host(
        "age",
        &[
            "-d",
            "-i",
            offline.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
        b"",
    )
    .ok()
    .stdout;
    let one = host("age", &["-e", "-a", "-r", &offline_pub], &plain)
        .ok()
        .stdout;
    std::fs::write(&seed, one).unwrap();
    in_project(&t, &offline, &["seed", "verify"], "")
        .fails()
        .stderr_has("holds 1 recipient stanza(s) (X25519)")
        .stderr_has("lists 2 recipient(s)");
    // A seed whose plaintext records no recipient set (an older keyseed, another tool),
    // encrypted to both listed recipients.
    let unrecorded: String = String::from_utf8(plain)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("recipients:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut args = vec!["-e", "-a"];
    for r in listed.lines().filter(|l| l.starts_with("age1")) {
        args.extend(["-r", r]);
    }
    let two = host("age", &args, unrecorded.as_bytes()).ok().stdout;
    std::fs::write(&seed, two).unwrap();
    in_project(&t, &offline, &["seed", "verify"], "")
        .fails()
        .stderr_has("records no recipient set");
}

#[test]
fn audit_annotation_shows_each_keys_generation_and_fingerprint_on_the_secret() {
    let (t, id) = init_project("audit-annotation");
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\n  labels: {app: x}\nstringData:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\n  db: \"<keyseed:password:24>\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n";
    let plain = in_project(&t, &id, &["render"], input).ok().stdout;
    std::fs::write(t.path("keyseed.yaml"), "audit:\n  annotate: true\n").unwrap();
    let annotated = in_project(&t, &id, &["render"], input).ok().stdout;
    let plan = in_project(&t, &id, &["plan", "--format", "json"], input).ok();
    let j: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let fp = |k: &str| {
        j["injected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == k)
            .unwrap()["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let want = format!(
        "db=0:{} encryption-key-0=0:{} encryption-key-1=1:{}",
        fp("db"),
        fp("encryption-key-0"),
        fp("encryption-key-1")
    );
    // The same documents, plus the annotation: nothing else changes, the ConfigMap not at all.
    let mut before = yaml11_json(&plain);
    let after = yaml11_json(&annotated);
    assert_eq!(
        after[0]["metadata"]["annotations"]["keyseed.io/fingerprints"],
        serde_json::Value::String(want)
    );
    before[0]["metadata"]["annotations"] = serde_json::json!({"keyseed.io/fingerprints": after[0]["metadata"]["annotations"]["keyseed.io/fingerprints"]});
    assert!(
        before == after,
        "the annotated render means more than the plain one plus the annotation (values not shown)"
    );
    let text = String::from_utf8(annotated).unwrap();
    assert!(text
        .ends_with("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n"));
    for v in secret_values(&plain).values() {
        assert!(!text
            .split("stringData")
            .next()
            .unwrap()
            .contains(v.as_str()));
    }
}

#[test]
fn rotate_ids_of_keyseed_yaml_secrets_without_manifests() {
    let (t, id) = init_project("rotate-config");
    let config = "secrets:\n  - name: backend-keys\n    create: true\n    data:\n      key-{gen}: \"<keyseed:hex:16 gen=current keep=2>\"\n";
    std::fs::write(t.path("keyseed.yaml"), config).unwrap();
    let before = by_key(
        &in_project(&t, &id, &["render", "--allow-empty"], "")
            .ok()
            .stdout,
    );
    assert_eq!(before.keys().collect::<Vec<_>>(), ["key-0"]);
    let out = in_project(&t, &id, &["rotate", "/backend-keys/key-{gen}"], "")
        .ok()
        .stdout_str();
    assert!(
        out.contains("Secret backend-keys: adds key-1, drops nothing"),
        "{out}"
    );
    let after = by_key(
        &in_project(&t, &id, &["render", "--allow-empty"], "")
            .ok()
            .stdout,
    );
    assert_same(&after["key-0"], &before["key-0"], "key-0 after a rotation");
    assert!(after.contains_key("key-1"));
    let text = std::fs::read_to_string(t.path("keyseed.yaml")).unwrap();
    assert_eq!(
        text,
        format!("{config}generations:\n  \"/backend-keys/key-{{gen}}\": 1\n")
    );
}

#[test]
fn rotate_values_file_ids_in_the_config_fill_reads() {
    let (t, id) = init_project("rotate-values");
    let values = t.write(
        "values.keyseed.yaml",
        "backend:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=current keep=2>\"\n  replicas: 2\n",
    );
    let fill = || {
        ks(&["fill"])
            .arg(&values)
            .arg("-i")
            .arg(&id)
            .cwd(&t.0)
            .run()
            .ok()
            .stdout_str()
    };
    let before = fill();
    assert!(before.contains("encryption-key-0") && !before.contains("encryption-key-1"));
    in_project(
        &t,
        &id,
        &["rotate", "--values", "values.keyseed.yaml", "nope"],
        "",
    )
    .fails()
    .stderr_has("the values file values.keyseed.yaml")
    .stderr_has("/values:backend.encryption-key-{gen}");
    // A values file that is not text is bad input (exit 1), not a usage error.
    t.write("binary.keyseed.yaml", b"backend:\n  k: \xff\n");
    in_project(
        &t,
        &id,
        &["rotate", "--values", "binary.keyseed.yaml", "x"],
        "",
    )
    .fails()
    .stderr_has("is not UTF-8 text");
    let out = in_project(
        &t,
        &id,
        &[
            "rotate",
            "--values",
            "values.keyseed.yaml",
            "/values:backend.encryption-key-{gen}",
        ],
        "",
    )
    .ok()
    .stdout_str();
    assert!(out.contains("adds encryption-key-1"), "{out}");
    let after = fill();
    let line = |s: &str, k: &str| s.lines().find(|l| l.contains(k)).map(String::from);
    assert!(
        line(&after, "encryption-key-0") == line(&before, "encryption-key-0"),
        "encryption-key-0 changed with the rotation (values not shown)"
    );
    assert!(after.contains("encryption-key-1") && after.contains("replicas: 2"));
}

/// The text of a Markdown line outside its code spans (CommonMark: a run of n backticks opens
/// a span that the next run of exactly n backticks closes; an unclosed run is text).
fn outside_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let run_at = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            out.push(b[i] as char);
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => i = end,
            None => {
                out.push_str(&line[i..i + n]);
                i += n;
            }
        }
    }
    out
}

#[test]
fn plan_markdown_escapes_everything_taken_from_the_input() {
    // Regression: backticks in an `id=` or a Secret's name closed the code span and put live
    // links and images into a pull-request comment; `|` split table cells.
    let (t, id) = init_project("plan-md");
    let lock = t.path("keyseed.lock");
    let l = lock.to_str().unwrap();
    let doc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"{name}\"\nstringData:\n  k: \"<keyseed:base64:32 id=a``b](http://x)![i](http://x)|c`>\"\n"
        )
    };
    let evil = "s`x](http://x)![i](http://x)<b>|";
    in_project(
        &t,
        &id,
        &["render", "--lock", l, "--update-lock"],
        &doc(evil),
    )
    .ok();
    let renamed = doc("t``](http://y)|");
    for args in [
        &["plan", "--format", "markdown"][..],
        &["plan", "--format", "markdown", "--lock", l][..],
    ] {
        let md = in_project(&t, &id, args, &renamed).ok().stdout_str();
        assert!(md.contains("http://x") && md.contains("http://y"), "{md}");
        let cells = if args.len() > 3 { 8 } else { 7 };
        for line in md.lines() {
            let text = outside_code_spans(line);
            for live in ["](", "![", "<", "http"] {
                assert!(!text.contains(live), "{live:?} outside a code span: {line}");
            }
            if line.starts_with('|') {
                let pipes = line.matches('|').count() - line.matches("\\|").count();
                assert_eq!(pipes, cells, "a cell was split: {line}");
            }
        }
        if args.len() > 3 {
            assert!(md.contains("added") && md.contains("removed"), "{md}");
        }
    }
}
