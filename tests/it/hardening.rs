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
    std::fs::copy(
        root().join("charts-example/keyseed.age"),
        t.write("repos/b/keyseed.age", ""),
    )
    .unwrap();
    (t, app)
}

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:8>\"}\n";

fn argo(app: &std::path::Path, source_path: &str, args: &[&str], stdin: &str) -> Out {
    ks(args)
        .cwd(app)
        .env("ARGOCD_APP_NAME", "a")
        .env("ARGOCD_APP_SOURCE_PATH", source_path)
        .env(
            "KEYSEED_AGE_KEY_FILE",
            root().join("charts-example/identity.TEST-ONLY.txt"),
        )
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
            .env(
                "KEYSEED_AGE_KEY_FILE",
                root().join("charts-example/identity.TEST-ONLY.txt"),
            )
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
        .env(
            "KEYSEED_SEED_FILE",
            root().join("charts-example/keyseed.age"),
        )
        .env(
            "KEYSEED_AGE_KEY_FILE",
            root().join("charts-example/identity.TEST-ONLY.txt"),
        );
    run_with_stdin(c, stdin)
}

#[test]
fn huge_flow_sequences_are_bounded_in_memory_and_time() {
    // Regression: a Secret holding a 40 MB flow sequence (20 M nodes) took 2.4 GB and 31 s;
    // under a 2 GB limit the process aborted.
    let doc = |i: usize, n: usize| {
        let mut d = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}}}\nstringData: {{k: \"<keyseed:hex:8>\"}}\nlist: [");
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
