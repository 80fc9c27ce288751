//! plan, the lock, and team key management (issue #4): recipients and static values.

use crate::util::*;

const INPUT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-keys\nstringData:\n  encryption-key-{gen}: \"<keyseed:base64:32 gen=0..1>\"\n  api: \"<keyseed:value:api>\"\n";

/// A project directory with its own seed (values: api) and identity.
fn project(name: &str) -> (Tmp, std::path::PathBuf) {
    let (t, id) = init_project(name);
    in_project(&t, &id, &["values", "set", "api"], "api-secret-1\n").ok();
    (t, id)
}

#[test]
fn plan_lists_injections_with_fingerprints_never_values() {
    let (t, id) = project("plan");
    let out = in_project(&t, &id, &["render"], INPUT).ok();
    let values = secret_values(&out.stdout);
    let table = in_project(&t, &id, &["plan"], INPUT).ok().stdout_str();
    assert!(table.starts_with("RESOURCE"), "{table}");
    assert!(
        table.contains("Secret backend-keys")
            && table.contains("encryption-key-1")
            && table.contains("base64:32")
    );
    assert!(table.contains("/backend-keys/encryption-key-{gen}"));
    for v in values.values() {
        assert!(!table.contains(v.as_str()), "plan printed a value");
    }
    let json = in_project(&t, &id, &["plan", "--format", "json"], INPUT).ok();
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let inj = j["injected"].as_array().unwrap();
    assert_eq!(inj.len(), 3);
    assert_eq!(inj[0]["key"], "encryption-key-0");
    assert_eq!(inj[0]["generation"], "0");
    assert_eq!(inj[0]["fingerprint"].as_str().unwrap().len(), 16);
    assert!(!String::from_utf8_lossy(&json.stdout).contains("api-secret-1"));
}

#[test]
fn lock_fails_on_rotation_unless_updated() {
    let (t, id) = project("lock");
    let lock = t.path("keyseed.lock");
    let lock = lock.to_str().unwrap();
    let check = ["render", "--lock", lock];
    let update = ["render", "--update-lock", "--lock", lock];
    in_project(&t, &id, &check, INPUT)
        .fails()
        .stderr_has("--update-lock");
    in_project(&t, &id, &update, INPUT).ok();
    let text = std::fs::read_to_string(lock).unwrap();
    assert!(
        text.contains("backend-keys\tencryption-key-0\tbase64:32\t0\t"),
        "{text}"
    );
    assert!(!text.contains("api-secret-1"));
    // Same render: passes. A rotation (the format changes the value): fails, names it.
    in_project(&t, &id, &check, INPUT).ok();
    let rotated = INPUT.replace("base64:32 gen=0..1", "base64:24 gen=0..1");
    in_project(&t, &id, &check, &rotated)
        .fails()
        .stderr_has("would rotate backend-keys/encryption-key-0");
    // A changed static value is a rotation too.
    in_project(&t, &id, &["values", "set", "api"], "api-secret-2").ok();
    in_project(&t, &id, &check, INPUT)
        .fails()
        .stderr_has("would rotate backend-keys/api");
    // Adding a generation is not a rotation of the old ones.
    in_project(&t, &id, &["values", "set", "api"], "api-secret-1").ok();
    let more = INPUT.replace("gen=0..1", "gen=0..2");
    in_project(&t, &id, &check, &more).ok();
    // --update-lock accepts a rotation and records it.
    in_project(&t, &id, &update, &rotated).ok();
    in_project(&t, &id, &check, &rotated).ok();
}

#[test]
fn recipients_add_and_remove_control_who_can_render() {
    let (t, me) = project("recipients");
    let (alice, alice_pub) = age_keygen(&t, "alice.txt");
    let before = in_project(&t, &me, &["render"], INPUT).ok().stdout;
    in_project(&t, &alice, &["render"], INPUT)
        .fails()
        .stderr_has("none of the identities");
    in_project(&t, &me, &["recipients", "add", &alice_pub], "").ok();
    let list = ks(&["recipients", "list"])
        .cwd(&t.0)
        .run()
        .ok()
        .stdout_str();
    assert!(list.contains(&alice_pub));
    // Alice renders the very same values; the seed did not change, only its encryption.
    assert_eq!(
        in_project(&t, &alice, &["render"], INPUT).ok().stdout,
        before
    );
    // Go age agrees the new file opens with Alice's key.
    host(
        "age",
        &[
            "-d",
            "-i",
            alice.to_str().unwrap(),
            t.path("keyseed.age").to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    let me_pub = std::fs::read_to_string(t.path("keyseed.recipients"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("age1") && !l.contains(&alice_pub))
        .unwrap()
        .to_string();
    in_project(&t, &alice, &["recipients", "remove", &me_pub], "").ok();
    in_project(&t, &me, &["render"], INPUT)
        .fails()
        .stderr_has("none of the identities");
    assert_eq!(
        in_project(&t, &alice, &["render"], INPUT).ok().stdout,
        before
    );
    in_project(&t, &alice, &["recipients", "remove", &alice_pub], "")
        .fails()
        .stderr_has("last recipient");
    in_project(&t, &alice, &["recipients", "add", "age1notakey"], "").fails();
    // An ssh-ed25519 recipient, and an identity file holding several keys.
    let (_, ssh_pub) = ssh_keygen(&t, "ssh");
    in_project(&t, &alice, &["recipients", "add", ssh_pub.trim()], "").ok();
    assert_eq!(
        ks(&["render", "-i", "ssh"])
            .cwd(&t.0)
            .stdin(INPUT)
            .run()
            .ok()
            .stdout,
        before
    );
    let both = t.write(
        "both.txt",
        format!(
            "{}\n{}",
            std::fs::read_to_string(&me).unwrap(),
            std::fs::read_to_string(&alice).unwrap()
        ),
    );
    assert_eq!(
        in_project(&t, &both, &["render"], INPUT).ok().stdout,
        before
    );
    // No temp files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&t.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("keyseed-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn values_set_list_rm_never_print_values() {
    let (t, id) = project("values");
    in_project(&t, &id, &["values", "set", "db-password"], "s3cr3t-value\n").ok();
    let f = t.write("cert.pem", "-----BEGIN X-----\nabc\n-----END X-----\n");
    ks(&["values", "set", "pem", "--from-file"])
        .arg(&f)
        .arg("-i")
        .arg(&id)
        .cwd(&t.0)
        .run()
        .ok();
    let list = in_project(&t, &id, &["values", "list"], "").ok();
    assert_eq!(list.stdout_str(), "api\ndb-password\npem\n");
    assert!(!list.stderr.contains("s3cr3t"));
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  a: \"<keyseed:value:db-password>\"\n  b: \"<keyseed:value:pem>\"\n";
    let v = secret_values(&in_project(&t, &id, &["render"], input).ok().stdout);
    assert_eq!(
        v["s/a"], "s3cr3t-value",
        "one trailing newline from stdin is dropped"
    );
    assert_eq!(
        v["s/b"], "-----BEGIN X-----\nabc\n-----END X-----\n",
        "--from-file is byte for byte"
    );
    in_project(&t, &id, &["values", "rm", "db-password"], "").ok();
    in_project(&t, &id, &["render"], input)
        .fails()
        .stderr_has("static value `db-password` is not in seed file");
    in_project(&t, &id, &["values", "rm", "nope"], "")
        .fails()
        .stderr_has("no static value `nope`");
    in_project(&t, &id, &["values", "set", "bad name"], "x").fails();
    // The rewritten seed still decrypts with Go age.
    host(
        "age",
        &[
            "-d",
            "-i",
            id.to_str().unwrap(),
            t.path("keyseed.age").to_str().unwrap(),
        ],
        b"",
    )
    .ok();
}

#[test]
fn failed_rewrite_leaves_the_seed_intact() {
    let (t, id) = project("atomic");
    let before = std::fs::read(t.path("keyseed.age")).unwrap();
    // A broken recipients file makes re-encryption fail before anything is written.
    std::fs::write(t.path("keyseed.recipients"), "age1broken\n").unwrap();
    in_project(&t, &id, &["values", "set", "x"], "y").fails();
    assert_eq!(std::fs::read(t.path("keyseed.age")).unwrap(), before);
    // A read-only directory makes the write itself fail: the old seed survives.
    let me_pub = std::fs::read_to_string(&id)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("# public key: "))
        .unwrap()
        .trim_start_matches("# public key: ")
        .to_string();
    std::fs::write(t.path("keyseed.recipients"), format!("{me_pub}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&t.0, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = in_project(&t, &id, &["values", "set", "x"], "y");
    std::fs::set_permissions(&t.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    if out.code == Some(0) {
        // Running as root ignores directory permissions; nothing more to check then.
        return;
    }
    assert_eq!(std::fs::read(t.path("keyseed.age")).unwrap(), before);
}
