//! A key's life after its birth (issue #21): values that must never rotate, and an audit of
//! what changes against the lock without any value.

use crate::util::*;

const SPACELIFT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: spacelift\nstringData:\n  ENCRYPTION_RSA_PRIVATE_KEY: \"<keyseed:rsa:2048 encoding=base64 rotate=never>\"\n  session: \"<keyseed:base64:32>\"\n";

#[test]
fn a_never_rotate_value_cannot_change_under_the_lock_even_with_update_lock() {
    let (t, id) = init_project("never");
    let lock = t.path("keyseed.lock");
    let l = lock.to_str().unwrap();
    in_project(
        &t,
        &id,
        &["render", "--lock", l, "--update-lock"],
        SPACELIFT,
    )
    .ok();
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
