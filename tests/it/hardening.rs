//! Attacks by a hostile tenant, a careless user and a broken disk (issue #15). Each test is
//! named after what it guards and runs the real binary.

use crate::util::*;

#[test]
fn derived_secrets_never_reach_other_objects_through_aliases() {
    // A placeholder with an anchor, and an alias in a ConfigMap of the same List: the derived
    // password would land in the ConfigMap in plaintext.
    let input = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {password: &pw \"<keyseed:password:24>\"}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {shown: *pw}\n";
    for cmd in ["render", "check"] {
        ks(&[cmd])
            .demo_keys()
            .stdin(input)
            .run()
            .fails()
            .stderr_has("must not carry an anchor");
    }
    // A config override of an anchored value: the alias would copy the new secret.
    let t = Tmp::new("alias-cfg");
    let cfg = t.write(
        "keyseed.yaml",
        "secrets:\n  - name: s\n    data: {password: \"<keyseed:password:24>\"}\n",
    );
    let chart = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {password: &pw changeme}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {shown: *pw}\n";
    let out = ks(&["render", "--config"])
        .arg(&cfg)
        .demo_keys()
        .stdin(chart)
        .run()
        .fails()
        .stderr_has("carries an anchor");
    assert!(!out.stderr.contains("changeme"));
}

/// Two tenants' repositories as an Argo CD repo-server holds them; returns (tmp, tenant A's
/// app directory). Tenant B's seed is `repos/b/keyseed.age`.
fn tenants() -> (Tmp, std::path::PathBuf) {
    let t = Tmp::new("tenants");
    let app = t.path("repos/a/app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(demo_seed(), t.write("repos/b/keyseed.age", "")).unwrap();
    (t, app)
}

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:8>\"}\n";

fn argo(app: &std::path::Path, source_path: &str, args: &[&str], stdin: &str) -> Out {
    ks(args)
        .cwd(app)
        .env("ARGOCD_APP_NAME", "a")
        .env("ARGOCD_APP_SOURCE_PATH", source_path)
        .env("KEYSEED_AGE_KEY_FILE", demo_identity())
        .stdin(stdin)
        .run()
}

#[test]
fn argocd_guard_resolves_dot_dot_in_the_source_path() {
    // Regression: `x/../app` counted three components, so the repository root moved up and
    // `--seed ../../b/keyseed.age` rendered with tenant B's seed.
    let (_t, app) = tenants();
    for src in ["x/../app", "app", "./app", "x/y/../../app"] {
        let out = argo(
            &app,
            src,
            &["render", "--seed", "../../b/keyseed.age"],
            SECRET,
        )
        .fails();
        out.stderr_has("outside the repository");
    }
    // A source path that leaves the repository or does not match the working directory is
    // refused outright.
    argo(&app, "../app", &["render", "--seed", "x.age"], SECRET)
        .fails()
        .stderr_has("leaves the repository");
    argo(&app, "other", &["render", "--seed", "x.age"], SECRET)
        .fails()
        .stderr_has("does not end with");
}

#[test]
fn argocd_guard_covers_function_config_seeds_and_the_implicit_config() {
    let (t, app) = tenants();
    // A KRM functionConfig inside a plain render stream names another tenant's seed.
    let rl = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: fc}\n  data: {seed: ../../b/keyseed.age}\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {k: \"<keyseed:hex:8>\"}\n";
    argo(&app, "app", &["render"], rl)
        .fails()
        .stderr_has("a KRM functionConfig sets keyseed's settings only under `keyseed krm`");
    // Under `krm`, which reads it, the guard refuses the path.
    argo(&app, "app", &["krm"], rl)
        .fails()
        .stderr_has("refusing seed file `../../b/keyseed.age`");
    // The implicit ./keyseed.yaml is not followed through a symlink.
    let cfg = t.write("repos/b/keyseed.yaml", "seed: keyseed.age\n");
    std::os::unix::fs::symlink(&cfg, app.join("keyseed.yaml")).unwrap();
    argo(&app, "app", &["render"], SECRET)
        .fails()
        .stderr_has("refusing config file `keyseed.yaml`");
}

#[test]
fn seeds_and_configs_must_be_regular_files_of_bounded_size() {
    // Regression: a FIFO hung forever; /dev/zero grew without bound.
    let t = Tmp::new("fifo");
    let fifo = t.path("seed.fifo");
    let ok = python(
        &format!("import os; os.mkfifo({:?})", fifo.display().to_string()),
        b"",
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    for (flag, path) in [
        ("--seed", fifo.display().to_string()),
        ("--seed", "/dev/zero".to_string()),
        ("--config", fifo.display().to_string()),
        ("--config", "/dev/zero".to_string()),
    ] {
        let start = std::time::Instant::now();
        ks(&["render", flag, &path])
            .env("KEYSEED_AGE_KEY_FILE", demo_identity())
            .stdin(SECRET)
            .run()
            .fails()
            .stderr_has("not a regular file");
        assert!(
            start.elapsed().as_secs() < 10,
            "{flag} {path} took too long"
        );
    }
    // An oversized seed file is refused before it is read whole.
    let big = t.write("big.age", vec![b'a'; 17 << 20]);
    ks(&["render", "--seed"])
        .arg(&big)
        .demo_keys()
        .env("KEYSEED_SEED_FILE", &big)
        .stdin(SECRET)
        .run()
        .fails()
        .stderr_has("larger than");
}

/// Runs keyseed under a virtual-memory limit (KiB) with `stdin`.
fn ks_limited(limit_kib: u64, args: &str, stdin: &[u8]) -> Out {
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(format!("ulimit -v {limit_kib}; exec \"$0\" {args}"))
        .arg(env!("CARGO_BIN_EXE_keyseed"))
        .envs(demo_key_env());
    run_with_stdin(c, stdin)
}

#[test]
fn huge_flow_sequences_are_bounded_in_memory_and_time() {
    // Regression: a Secret holding a 40 MB flow sequence (20 M nodes) took 2.4 GB and 31 s;
    // under a 2 GB limit the process aborted.
    let doc = |i: usize, n: usize| {
        let mut d = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}}}\nstringData: {{k: \"<keyseed:hex:8 id=s{i}>\"}}\nlist: [");
        d.push_str(&"a,".repeat(n));
        d.push_str("a]\n");
        d
    };
    let bomb = doc(0, 20_000_000);
    let start = std::time::Instant::now();
    let out = ks_limited(1 << 20, "render", bomb.as_bytes()).fails();
    out.stderr_has("more than 1000000 YAML nodes");
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    // Many large documents that are each under the cap: trees are not all kept at once.
    let many: Vec<String> = (0..10).map(|i| doc(i, 900_000)).collect();
    let out = ks_limited(1 << 20, "render", many.join("---\n").as_bytes()).ok();
    assert_eq!(out.stdout_str().matches("kind: Secret").count(), 10);
}

fn project(name: &str) -> (Tmp, std::path::PathBuf) {
    init_project(name)
}

#[test]
fn a_newline_in_a_recipient_cannot_smuggle_in_another() {
    let (t, id) = project("smuggle");
    let (_, a) = age_keygen(&t, "a.txt");
    let (_, attacker) = age_keygen(&t, "attacker.txt");
    for key in [
        format!("{a}\n{attacker}"),
        format!("{a} x\n{attacker}"),
        format!("{a}\r{attacker}"),
    ] {
        in_project(&t, &id, &["recipients", "add", &key], "")
            .fails()
            .stderr_has("one key on one line");
    }
    let list = in_project(&t, &id, &["recipients", "list"], "")
        .ok()
        .stdout_str();
    assert_eq!(list.lines().count(), 1, "{list}");
    // init too.
    let t2 = Tmp::new("smuggle-init");
    ks(&["init", "--recipient", &format!("{a}\n{attacker}")])
        .cwd(&t2.0)
        .run()
        .fails()
        .stderr_has("one key on one line");
    assert!(!t2.path("keyseed.age").exists());
}

#[test]
fn concurrent_value_writers_lose_nothing() {
    // Regression: 20 parallel `values set` all exited 0 and 17 values were lost.
    let (t, id) = project("race");
    let handles: Vec<_> = (0..12)
        .map(|i| {
            spawn_in_project(
                &t,
                &id,
                &["values", "set", &format!("v{i}")],
                &format!("value-{i}\n"),
            )
        })
        .collect();
    for h in handles {
        h.join().unwrap().ok();
    }
    let names = in_project(&t, &id, &["values", "list"], "")
        .ok()
        .stdout_str();
    assert_eq!(names.lines().count(), 12, "{names}");
}

#[test]
fn values_no_secret_can_hold_are_refused_and_the_seed_stays_readable() {
    // Regression: a 64 MiB value was written (rc 0), then every command failed.
    let (t, id) = project("bigvalue");
    let big = "x".repeat((1 << 20) + 1);
    in_project(&t, &id, &["values", "set", "big"], &big)
        .fails()
        .stderr_has("at most 1048576");
    in_project(&t, &id, &["values", "list"], "").ok();
}

#[test]
fn the_error_file_never_follows_a_symlink_or_clobbers_a_users_file() {
    let t = Tmp::new("errlink");
    let target = t.write("precious.txt", "keep me\n");
    let link = t.path("last-error.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let bad =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:nope>\"}\n";
    ks(&["render", "--error-file"])
        .arg(&link)
        .demo_keys()
        .stdin(bad)
        .run()
        .fails();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    // A user's file named as --error-file is neither overwritten nor deleted.
    let notes = t.write("notes.txt", "my notes\n");
    ks(&["render", "--error-file"])
        .arg(&notes)
        .demo_keys()
        .stdin(bad)
        .run()
        .fails();
    let ok = bad.replace("nope", "hex:2");
    ks(&["render", "--error-file"])
        .arg(&notes)
        .demo_keys()
        .stdin(&ok)
        .run()
        .ok();
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
}

#[test]
fn plan_and_render_never_panic_on_long_ids_or_far_dates() {
    // Regression: exit 101 for an id over 65 535 characters (plan's table) and for
    // certificates with `days: 3000000` or `not-before: 9999-12-31`.
    let id = "i".repeat(70_000);
    let input = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{k: \"<keyseed:hex:4 id={id}>\"}}\n");
    let out = ks(&["plan"]).demo_keys().stdin(&input).run().ok();
    assert!(out.stdout_str().contains(&id));
    let t = Tmp::new("far");
    for (days, nb) in [("3000000", "2026-01-01"), ("1", "9999-12-31")] {
        let cfg = t.write(
            "k.yaml",
            format!("certificates:\n  - secret: s\n    create: true\n    ca: c\n    not-before: {nb}\n    days: {days}\n"),
        );
        for cmd in ["render", "plan", "check"] {
            let out = ks(&[cmd, "--config"])
                .arg(&cfg)
                .demo_keys()
                .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
                .run()
                .fails();
            out.stderr_has("ends after 9999-12-31");
        }
    }
}

#[test]
fn temp_files_are_exclusive_and_links_are_not_replaced() {
    let (t, id) = project("tmplink");
    // A link planted where the seed is: refused, not replaced by a regular file.
    let real = t.path("real.age");
    std::fs::rename(t.path("keyseed.age"), &real).unwrap();
    std::os::unix::fs::symlink(&real, t.path("keyseed.age")).unwrap();
    in_project(&t, &id, &["values", "set", "x"], "v\n")
        .fails()
        .stderr_has("is a symbolic link");
    assert!(std::fs::symlink_metadata(t.path("keyseed.age"))
        .unwrap()
        .file_type()
        .is_symlink());
    std::fs::remove_file(t.path("keyseed.age")).unwrap();
    std::fs::rename(&real, t.path("keyseed.age")).unwrap();
    // A link planted at the old predictable temp name is never written through.
    let victim = t.write("victim.txt", "untouched\n");
    let pid_names: Vec<_> = (0..50)
        .map(|i| t.path(&format!(".keyseed.age.keyseed-tmp-{i}")))
        .collect();
    for p in &pid_names {
        std::os::unix::fs::symlink(&victim, p).unwrap();
    }
    in_project(&t, &id, &["values", "set", "x"], "v\n").ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
}

#[test]
fn one_unusable_identity_source_does_not_hide_a_good_one() {
    // Regression: a malformed default keys.txt broke a working -i.
    let (t, id) = project("idskip");
    let home_cfg = t.write("cfg/keyseed/keys.txt", "AGE-SECRET-KEY-1NOTAKEY\n");
    let out = ks(&["values", "list", "-i"])
        .arg(&id)
        .cwd(&t.0)
        .env("XDG_CONFIG_HOME", t.path("cfg"))
        .run()
        .ok();
    assert!(
        out.stderr.is_empty() || !out.stderr.contains("error"),
        "{}",
        out.stderr
    );
    let _ = home_cfg;
    // The same for render: the skipped source is noted, the render succeeds.
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:4>\"}\n";
    let out = ks(&["render", "-i"])
        .arg(&id)
        .cwd(&t.0)
        .env("XDG_CONFIG_HOME", t.path("cfg"))
        .stdin(input)
        .run()
        .ok();
    assert!(
        out.stderr.contains("skipped identity source"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("NOTAKEY"), "{}", out.stderr);
}

#[test]
fn init_is_all_or_nothing() {
    // Regression: with a read-only seed directory the identity was written, then init
    // failed, and a retry said the identity exists.
    let t = Tmp::new("init-ro");
    let ro = t.path("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let id = t.path("home/keys.txt");
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&ro, perms).unwrap();
    let out = ks(&["init", "--seed", "ro/keyseed.age", "--identity-out"])
        .arg(&id)
        .cwd(&t.0)
        .run();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&ro, perms).unwrap();
    // Root ignores directory permissions; then init simply succeeds, which is fine too.
    if out.code != Some(0) {
        assert!(!id.exists(), "the identity was left behind: {}", out.stderr);
        ks(&["init", "--seed", "ro/keyseed.age", "--identity-out"])
            .arg(&id)
            .cwd(&t.0)
            .run()
            .ok();
    }
    assert!(id.exists() && t.path("ro/keyseed.age").exists());
}

#[test]
fn misc_hardening_edges() {
    // A Secret name with a line break cannot corrupt keyseed.lock.
    let t = Tmp::new("misc");
    let lock = t.path("keyseed.lock");
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: \"a\\tb\"}\nstringData: {k: \"<keyseed:hex:4 id=x>\"}\n";
    ks(&["render", "--lock"])
        .arg(&lock)
        .arg("--update-lock")
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("holds a tab or a line break");
    // --update-lock on a partial stream keeps the other entries and says so.
    let two = "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: \"<keyseed:hex:4>\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\nstringData: {k: \"<keyseed:hex:5>\"}\n";
    let one =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: \"<keyseed:hex:4>\"}\n";
    ks(&["render", "--lock"])
        .arg(&lock)
        .arg("--update-lock")
        .demo_keys()
        .stdin(two)
        .run()
        .ok();
    ks(&["render", "--lock"])
        .arg(&lock)
        .arg("--update-lock")
        .demo_keys()
        .stdin(one)
        .run()
        .ok()
        .stderr_has("1 entry of");
    assert_eq!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        2
    );
    // An escaped placeholder without the literal `keyseed:` is rendered, not shipped.
    let esc = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"\\x3c\\x6beyseed:hex:8>\"}\n";
    let out = ks(&["render"]).demo_keys().stdin(esc).run().ok();
    let v = secret_values(&out.stdout);
    assert_eq!(v["s/k"].len(), 16, "{}", out.stdout_str());
    // Duplicate top-level keys are refused (go-yaml rejects them).
    let dup = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:4>\"}\nkind: ConfigMap\n";
    ks(&["render"])
        .demo_keys()
        .stdin(dup)
        .run()
        .fails()
        .stderr_has("appears twice");
    // check refuses a Secret over 1 MiB that render would refuse.
    let huge = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  k: \"<keyseed:hex:4>\"\n  big: \"{}\"\n", "x".repeat(1 << 20));
    ks(&["check"])
        .stdin(&huge)
        .run()
        .fails()
        .stderr_has("at most 1048576");
    // `--- {json}` as the only document is not empty.
    let json =
        "--- {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}\n";
    let out = ks(&["render"]).demo_keys().stdin(json).run().ok();
    assert_eq!(out.stdout_str(), json);
}

#[test]
fn a_removed_recipient_stays_removed_when_writers_race() {
    // Regression: `values set` racing `recipients remove X` left X able to decrypt in 7 of 10
    // tries (the seed was re-encrypted to a recipients list read before the removal).
    for round in 0..3 {
        let (t, id) = project(&format!("race-remove-{round}"));
        let (x_id, x) = age_keygen(&t, "x.txt");
        in_project(&t, &id, &["recipients", "add", &x], "").ok();
        let mut handles: Vec<_> = (0..4)
            .map(|i| spawn_in_project(&t, &id, &["values", "set", &format!("v{i}")], "value\n"))
            .collect();
        handles.push(spawn_in_project(&t, &id, &["recipients", "remove", &x], ""));
        for h in handles {
            h.join().unwrap().ok();
        }
        // X can no longer open the seed, and is not listed.
        in_project(&t, &x_id, &["values", "list"], "")
            .fails()
            .stderr_has("none of the identities can decrypt");
        let list = in_project(&t, &id, &["recipients", "list"], "")
            .ok()
            .stdout_str();
        assert!(!list.contains(&x), "{list}");
        let names = in_project(&t, &id, &["values", "list"], "")
            .ok()
            .stdout_str();
        assert_eq!(names.lines().count(), 4, "{names}");
    }
}

#[test]
fn seed_write_checks_everything_before_writing() {
    // Regression: with `keyseed.recipients` a link, `values set` and `recipients add` wrote
    // the seed and then failed on the list: the value was stored, or a new recipient could
    // open a seed that does not list it.
    let (t, id) = project("halfwrite");
    let (_, other) = age_keygen(&t, "other.txt");
    let list = t.path("keyseed.recipients");
    let real = t.path("real.recipients");
    std::fs::rename(&list, &real).unwrap();
    std::os::unix::fs::symlink(&real, &list).unwrap();
    let seed_before = std::fs::read(t.path("keyseed.age")).unwrap();
    in_project(&t, &id, &["values", "set", "stored"], "v\n")
        .fails()
        .stderr_has("keyseed.recipients` is a symbolic link")
        .stderr_has("hint: replace");
    in_project(&t, &id, &["recipients", "add", &other], "")
        .fails()
        .stderr_has("keyseed.recipients` is a symbolic link");
    assert!(
        std::fs::read(t.path("keyseed.age")).unwrap() == seed_before,
        "the seed was rewritten by a command that failed"
    );
    // A directory where the list should be: refused as well, nothing written.
    std::fs::remove_file(&list).unwrap();
    std::fs::create_dir(&list).unwrap();
    in_project(&t, &id, &["values", "set", "stored"], "v\n").fails();
    assert!(std::fs::read(t.path("keyseed.age")).unwrap() == seed_before);
    std::fs::remove_dir(&list).unwrap();
    std::fs::rename(&real, &list).unwrap();
    let names = in_project(&t, &id, &["values", "list"], "")
        .ok()
        .stdout_str();
    assert!(!names.contains("stored"), "{names}");
}

#[test]
fn concurrent_update_lock_renders_lose_no_record() {
    // Regression: four parallel `render --lock L --update-lock` all exited 0 and lost
    // `@never-rotate` records in 20 of 20 rounds (each merged into the lock it read first).
    let doc = |i: usize| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\nstringData:\n  k: \"<keyseed:base64:32 rotate=never>\"\n")
    };
    for round in 0..3 {
        let (t, id) = project(&format!("lockrace-{round}"));
        let l = t.path("keyseed.lock");
        let l = l.to_str().unwrap();
        let handles: Vec<_> = (0..6)
            .map(|i| spawn_in_project(&t, &id, &["render", "--lock", l, "--update-lock"], &doc(i)))
            .collect();
        for h in handles {
            h.join().unwrap().ok();
        }
        let text = std::fs::read_to_string(l).unwrap();
        for i in 0..6 {
            assert!(
                text.contains(&format!("@never-rotate\ts{i}\tk\t")),
                "round {round}: the record of s{i} was lost:\n{text}"
            );
        }
    }
}

/// A render of `doc` with the demo seed, `extra` arguments first; with its duration.
fn timed_render(extra: &[&str], doc: &str) -> (Out, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = ks(&[&["render"][..], extra].concat())
        .arg("--seed")
        .arg(demo_seed())
        .arg("-i")
        .arg(demo_identity())
        .stdin(doc)
        .run();
    (out, start.elapsed())
}

fn secret_doc(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n{data}")
}

#[test]
fn expensive_work_is_budgeted_before_anything_is_generated() {
    // Regression: one 103-byte line asking for a thousand RSA-4096 keys, or a thousand bcrypt
    // hashes at cost 14, ran until killed (50 separate rsa:4096 placeholders took 47 s).
    let rsa = secret_doc("s", "  k-{gen}: \"<keyseed:rsa:4096 gen=0..999>\"\n");
    let many: String = (0..50)
        .map(|i| format!("  k{i}: \"<keyseed:rsa:4096 id=k{i}>\"\n"))
        .collect();
    let bcrypt = secret_doc(
        "s",
        "  k-{gen}: \"<keyseed:password:12 hash=bcrypt cost=14 gen=0..999>\"\n",
    );
    for (doc, what) in [
        (rsa.as_str(), "RSA-4096 key searches"),
        (&secret_doc("s", &many), "RSA-4096 key searches"),
        (bcrypt.as_str(), "bcrypt hashes at cost 12"),
    ] {
        let (out, took) = timed_render(&[], doc);
        out.fails()
            .stderr_has("document 1 (Secret s) .stringData.")
            .stderr_has(what)
            .stderr_has("--budget N (KEYSEED_BUDGET=N)");
        assert!(took.as_secs() < 5, "the budget check took {took:?}");
    }
    // fill: a values file is budgeted the same way.
    let t = Tmp::new("budget-fill");
    let values = t.write(
        "v.yaml",
        (0..20)
            .map(|i| format!("r{i}: \"<keyseed:rsa:4096 id=r{i}>\"\n"))
            .collect::<String>(),
    );
    ks(&["fill"])
        .arg(&values)
        .arg("--seed")
        .arg(demo_seed())
        .arg("-i")
        .arg(demo_identity())
        .run()
        .fails()
        .stderr_has("values file")
        .stderr_has("RSA-4096 key searches")
        .stderr_has("--budget N");
    // Within the budget, or with it raised, work is done as before.
    let small = secret_doc(
        "s",
        "  k-{gen}: \"<keyseed:password:12 hash=bcrypt cost=4 gen=0..2>\"\n",
    );
    timed_render(&[], &small).0.ok();
    let two = secret_doc(
        "s",
        "  a: \"<keyseed:rsa:2048 id=a>\"\n  b: \"<keyseed:rsa:2048 id=b>\"\n",
    );
    timed_render(&[], &two).0.ok();
    // 11 000 values: over the default count; --budget 2 or KEYSEED_BUDGET=2 allows them.
    let keys: String = (0..11)
        .map(|i| format!("  a{i}-{{gen}}: \"<keyseed:hex:1 gen=0..999>\"\n"))
        .collect();
    let lots = secret_doc("s", &keys);
    timed_render(&[], &lots)
        .0
        .fails()
        .stderr_has("10000 generated values");
    let (out, took) = timed_render(&["--budget", "2"], &lots);
    out.ok();
    assert!(took.as_secs() < 10, "{took:?}");
    ks(&["render"])
        .arg("--seed")
        .arg(demo_seed())
        .arg("-i")
        .arg(demo_identity())
        .env("KEYSEED_BUDGET", "2")
        .stdin(&lots)
        .run()
        .ok();
}

#[test]
fn huge_values_are_refused_before_they_are_generated() {
    // Regression: `<keyseed:base64:1048576 gen=0..999>` took 826 MB at 200 generations and
    // aborted (exit 134, a backtrace) at 1000 under a 2 GB limit: the 1 MiB Secret limit was
    // checked after generating.
    let huge = secret_doc("s", "  k-{gen}: \"<keyseed:base64:1048576 gen=0..999>\"\n");
    let (out, took) = timed_render(&[], &huge);
    out.fails()
        .stderr_has("document 1 (Secret s)")
        .stderr_has("at most 1048576 (1 MiB) per Secret")
        .stderr_lacks("panicked");
    assert!(took.as_secs() < 5, "{took:?}");
    // Over 1 MiB in one Secret even within the byte budget: refused whatever the budget.
    let two = secret_doc("s", "  k-{gen}: \"<keyseed:base64:600000 gen=0..1>\"\n");
    timed_render(&["--budget", "100"], &two)
        .0
        .fails()
        .stderr_has("per Secret");
    // Many Secrets of less than 1 MiB each: the byte budget of the render.
    let many: Vec<String> = (0..100)
        .map(|i| {
            secret_doc(
                &format!("s{i}"),
                &format!("  k: \"<keyseed:base64:700000 id=s{i}>\"\n"),
            )
        })
        .collect();
    timed_render(&[], &many.join("---\n"))
        .0
        .fails()
        .stderr_has("bytes of generated values")
        .stderr_has("--budget N");
    // Keyring `items:` projection: a thousand generations listed in a thousand volumes.
    let mut stream = secret_doc("ring", "  k-{gen}: \"<keyseed:hex:1 gen=0..999>\"\n");
    for i in 0..100 {
        stream.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n  template:\n    spec:\n      containers: [{{name: c, image: x}}]\n      volumes:\n{}",
            (0..5)
                .map(|v| format!("      - name: v{v}\n        secret:\n          secretName: ring\n          items:\n          - key: k-0\n            path: k-0\n"))
                .collect::<String>()
        ));
    }
    timed_render(&[], &stream)
        .0
        .fails()
        .stderr_has("items")
        .stderr_has("keyring Secret `ring`");
}
