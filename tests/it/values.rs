//! Values files (issue #19): `keyseed fill` and the `keyseed://` getter plugins under the real
//! Helm 3.17 and Helm 4.1, the Argo CD recipes (getter guard, multi-source helm wrapper, the
//! init container's install script), the Flux values Secret decrypted by the real sops 3.11,
//! and the vendor recipes of docs/charts.md on self-written charts of their shape.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn keyseed_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyseed"))
}

fn values_example() -> PathBuf {
    root().join("charts-example/values")
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/values").join(name)
}

/// A Helm (3 or 4) with private directories, keyseed's getter plugin installed from the
/// checkout, the demo identity, and no keyseed on PATH.
struct Helm {
    bin: PathBuf,
    _tmp: Tmp,
    envs: Vec<(String, PathBuf)>,
}

impl Helm {
    fn new(which: &str) -> Helm {
        let tmp = Tmp::new(&format!("values-{which}"));
        let data = tmp.path("data");
        let envs = vec![
            ("HELM_DATA_HOME".to_string(), data.clone()),
            ("HELM_PLUGINS".to_string(), data.join("plugins")),
            ("HELM_CONFIG_HOME".to_string(), tmp.path("config")),
            ("HELM_CACHE_HOME".to_string(), tmp.path("cache")),
            ("HOME".to_string(), tmp.path("home")),
            ("XDG_CACHE_HOME".to_string(), tmp.path("xdg-cache")),
            ("KEYSEED_BIN".to_string(), keyseed_bin()),
            ("KEYSEED_AGE_KEY_FILE".to_string(), demo_identity()),
        ];
        let h = Helm {
            bin: tool(which),
            _tmp: tmp,
            envs,
        };
        let plugin = match which {
            "helm3" | "helm318" => "helm/keyseed-getter-helm3",
            _ => "helm/keyseed-getter",
        };
        h.run(
            &root(),
            &["plugin", "install", root().join(plugin).to_str().unwrap()],
            &[],
        )
        .ok();
        h
    }

    fn run(&self, cwd: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Out {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().copied());
        run_with_stdin(c, b"")
    }

    /// `helm template REL ./chart -f keyseed://values.keyseed.yaml` in `dir`.
    fn template(&self, dir: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Out {
        self.run(
            dir,
            &[
                "template",
                "rel",
                "./chart",
                "-f",
                "keyseed://values.keyseed.yaml",
            ],
            env,
        )
    }
}

/// `keyseed derive SPEC --id ID` with the demo keys.
fn derive(spec: &str, id: &str) -> String {
    let out = ks(&["derive", spec, "--id", id]).demo_keys().run().ok();
    out.stdout_str().trim_end_matches('\n').to_string()
}

#[test]
fn helm3_and_helm4_render_keyseed_values_twice_identically_with_the_derived_values() {
    let dir = values_example();
    let userkey = derive(
        "base64:32",
        "prod/values:secrets.keysEncryption.userEncryptionKey",
    );
    let db = derive("password:24", "prod/lightrun/db-password");
    let kc = derive("password:24", "prod/lightrun/keycloak-password");
    let mut renders = Vec::new();
    for which in ["helm3", "helm318", "helm4", "helm42"] {
        let h = Helm::new(which);
        let first = h.template(&dir, &[]).ok();
        let second = h.template(&dir, &[]).ok();
        assert_same(
            &first.stdout,
            &second.stdout,
            &format!("{which}: two renders"),
        );
        let v = secret_values(&first.stdout);
        assert_same(&v["rel-backend/encryption-key-0"], &userkey, which);
        // What the chart copies is one value, the one the post-render recipe derives.
        for k in [
            "rel-backend/SPRING_DATASOURCE_PASSWORD",
            "rel-backend/SPRING_FLYWAY_PASSWORD",
            "rel-keycloak/DB_PASSWORD",
        ] {
            assert_same(&v[k], &db, k);
        }
        for k in [
            "rel-backend/SPRING_SECURITY_KEYCLOAK_CLI_PASSWORD",
            "rel-keycloak/KEYCLOAK_PASSWORD",
        ] {
            assert_same(&v[k], &kc, k);
        }
        assert!(
            !v.contains_key("rel-backend/encryption-key-1"),
            "{which}: no keyring through values"
        );
        assert_eq!(
            v["rel-backend/SPRING_DATASOURCE_USERNAME"], "lightrun",
            "{which}: chart value kept"
        );
        // The base64 chain of the values file is the chain of the certificates: entry.
        let t = Tmp::new("values-chain");
        let chain = t.write("chain.pem", &v["rel-certificate/tls.crt"]);
        let key = t.write("tls.key", &v["rel-certificate/tls.key"]);
        assert_eq!(
            v["rel-certificate/tls.crt"]
                .matches("BEGIN CERTIFICATE")
                .count(),
            2
        );
        ks(&["cert", "check", "--cert"])
            .arg(&chain)
            .arg("--key")
            .arg(&key)
            .arg("--host")
            .arg("lightrun.example.com")
            .arg("--now")
            .arg("2026-06-01T00:00:00Z")
            .run()
            .ok();
        openssl_verify_chain(&t, &v["rel-certificate/tls.crt"]);
        assert!(!first.stderr.contains(&userkey) && !first.stderr.contains(&db));
        renders.push(first.stdout);
    }
    assert_same(&renders[0], &renders[1], "Helm 3 and Helm 4 renders");
}

/// `openssl verify` of a leaf → CA chain (the last certificate is the trust anchor).
fn openssl_verify_chain(t: &Tmp, chain: &str) {
    let blocks: Vec<String> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(String::from)
        .collect();
    let leaf = t.write("leaf.pem", &blocks[0]);
    let ca = t.write("ca.pem", blocks.last().unwrap());
    let out = host(
        "openssl",
        &[
            "verify",
            "-attime",
            "1780000000",
            "-CAfile",
            ca.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.code, Some(0), "openssl verify: {}", out.stderr);
}

#[test]
fn a_missing_or_tampered_seed_fails_the_helm_command_with_keyseeds_error_and_no_manifest() {
    let t = Tmp::new("values-bad-seed");
    let dir = t.path("app");
    copy_dir(&values_example().join("chart"), &dir.join("chart"));
    std::fs::copy(
        values_example().join("values.keyseed.yaml"),
        dir.join("values.keyseed.yaml"),
    )
    .unwrap();
    std::fs::copy(
        values_example().join("keyseed.yaml"),
        dir.join("keyseed.yaml"),
    )
    .unwrap();
    for which in ["helm3", "helm4"] {
        let h = Helm::new(which);
        // No keyseed.age beside the values file or above it in the tree.
        let out = h.template(&dir, &[]).fails_with_any();
        assert!(out.stdout.is_empty(), "{which}: manifests written");
        assert!(
            out.stderr.contains("cannot read seed file"),
            "{which}: {}",
            out.stderr
        );
        // A seed changed by one byte.
        let mut seed = std::fs::read(demo_seed()).unwrap();
        let mid = seed.len() / 2;
        seed[mid] = if seed[mid] == b'A' { b'B' } else { b'A' };
        std::fs::write(dir.join("keyseed.age"), &seed).unwrap();
        let out = h.template(&dir, &[]).fails_with_any();
        assert!(out.stdout.is_empty(), "{which}: manifests written");
        assert!(out.stderr.contains("error:"), "{which}: {}", out.stderr);
        assert!(out.stderr.contains("seed"), "{which}: {}", out.stderr);
        std::fs::remove_file(dir.join("keyseed.age")).unwrap();
    }
}

#[test]
fn fill_keeps_every_other_byte_and_the_yaml_11_meaning() {
    let t = Tmp::new("values-bytes");
    let text = "# comment kept\nenabled: yes\nmode: 0777\non: off\nkey: \"<keyseed:hex:8>\"   # trailing\nflow: {a: '<keyseed:alnum:4>', b: y}\nlist:\n  - <keyseed:uuid>\n  - plain\nblock: |-\n  <keyseed:base64:4>\nring:\n  k-{gen}: \"<keyseed:hex:2 gen=0..1>\"\nshared: \"<keyseed:hex:8 id=prod/backend/key>\"\n";
    let f = t.write("values.keyseed.yaml", text);
    let out = ks(&["fill"]).arg(&f).demo_keys().run().ok();
    let filled = out.stdout_str();
    let hex = derive("hex:8", "/values:key");
    let want = text
        .replace("\"<keyseed:hex:8>\"", &format!("\"{hex}\""))
        .replace(
            "'<keyseed:alnum:4>'",
            &format!("\"{}\"", derive("alnum:4", "/values:flow.a")),
        )
        .replace(
            "<keyseed:uuid>",
            &format!("\"{}\"", derive("uuid", "/values:list[0]")),
        )
        .replace(
            "|-\n  <keyseed:base64:4>\n",
            &format!("\"{}\"\n", derive("base64:4", "/values:block")),
        )
        .replace(
            "k-{gen}: \"<keyseed:hex:2 gen=0..1>\"",
            &format!(
                "\"k-0\": \"{}\"\n  \"k-1\": \"{}\"",
                derive("<keyseed:hex:2 gen=0>", "/values:ring.k-{gen}"),
                derive("<keyseed:hex:2 gen=1>", "/values:ring.k-{gen}")
            ),
        )
        .replace(
            "\"<keyseed:hex:8 id=prod/backend/key>\"",
            &format!("\"{}\"", derive("hex:8", "prod/backend/key")),
        );
    assert_same(&filled, &want, "the filled file");
    // Meaning: the input's, plus the filled values.
    let before = yaml11_json(text.as_bytes());
    let after = yaml11_json(filled.as_bytes());
    assert_eq!(after[0]["enabled"], true);
    assert_eq!(after[0]["mode"], 511);
    assert_eq!(
        after[0]["true"], false,
        "`on: off` reads as a boolean key and value"
    );
    assert_eq!(before[0]["flow"]["b"], after[0]["flow"]["b"]);
    // The id of a value shared with a Secret rendered by post-render.
    let secret = ks(&["render"])
        .demo_keys()
        .stdin("apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend\nstringData:\n  key: \"<keyseed:hex:8 id=prod/backend/key>\"\n")
        .run()
        .ok();
    assert_same(
        &secret_values(&secret.stdout)["backend/key"],
        after[0]["shared"].as_str().unwrap(),
        "a value shared by id with a Secret",
    );
}

#[test]
fn bad_values_files_fail_naming_file_path_and_reason_with_nothing_on_stdout() {
    let t = Tmp::new("values-bad");
    let cases = [
        ("- a\n- b\n", "must be a YAML mapping", "."),
        (
            "a:\n  \"<keyseed:hex:4>\": x\n",
            "a key cannot be a placeholder",
            "a.<keyseed:hex:4>",
        ),
        (
            "a:\n  b: &x \"<keyseed:hex:4>\"\n  c: *x\n",
            "must not carry an anchor",
            "a.b",
        ),
        ("a:\n  b: \"<keyseed:nope:4>\"\n", "unknown format", "a.b"),
        (
            "a:\n  b: \"key=<keyseed:hex:4>\"\n",
            "not exactly one placeholder",
            "a.b",
        ),
        ("# <keyseed:hex:4>\na: 1\n", "`<keyseed:` text is left", "."),
        ("a: \"<keyseed:hex:4 gen=0..1>\"\n", "gen=A..B", "a"),
        ("a: 1\n---\nb: 2\n", "one YAML document", "."),
        ("a: [\n", "not valid YAML", "."),
    ];
    for (i, (text, reason, path)) in cases.iter().enumerate() {
        let f = t.write(&format!("bad-{i}.keyseed.yaml"), text);
        let out = ks(&["fill"]).arg(&f).demo_keys().run().fails();
        assert!(out.stderr.contains(reason), "{text:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("values file {} {path}", f.display())),
            "{text:?}: {}",
            out.stderr
        );
    }
    // Through the getter too, and a URL of another scheme.
    let f = t.write("values.keyseed.yaml", "a: \"<keyseed:nope>\"\n");
    ks(&["getter", "", "", "", "keyseed://values.keyseed.yaml"])
        .cwd(&t.0)
        .demo_keys()
        .run()
        .fails()
        .stderr_has("unknown format");
    assert!(f.exists());
    let out = ks(&["getter", "", "", "", "https://x/values.yaml"]).run();
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn under_argocd_the_getter_refuses_paths_and_seeds_outside_the_repository() {
    let t = Tmp::new("values-argocd");
    let repo = t.path("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    copy_dir(&values_example().join("chart"), &repo.join("apps/lr/chart"));
    let app = repo.join("apps/lr");
    std::fs::copy(
        values_example().join("values.keyseed.yaml"),
        app.join("values.keyseed.yaml"),
    )
    .unwrap();
    std::fs::copy(
        values_example().join("keyseed.yaml"),
        app.join("keyseed.yaml"),
    )
    .unwrap();
    std::fs::copy(demo_seed(), repo.join("keyseed.age")).unwrap();
    let other = t.write("other/values.keyseed.yaml", "a: \"<keyseed:hex:4>\"\n");
    std::fs::create_dir_all(t.path("other/.git")).unwrap();
    let argo = |args: &[&str], cwd: &Path| {
        ks(args)
            .cwd(cwd)
            .env("ARGOCD_APP_NAME", "lr")
            .env("KEYSEED_AGE_KEY_FILE", demo_identity())
            .run()
    };
    // In the repository: filled, the seed found at the repository root.
    let ok = argo(
        &["getter", "", "", "", "keyseed://values.keyseed.yaml"],
        &app,
    )
    .ok();
    assert!(ok.stdout_str().contains("userEncryptionKey: \""));
    for url in [
        format!("keyseed://{}", other.display()),
        "keyseed://../../../other/values.keyseed.yaml".to_string(),
    ] {
        argo(&["getter", "", "", "", &url], &app)
            .fails()
            .stderr_has("refusing values file");
    }
    // A link inside the repository to a file outside it.
    std::os::unix::fs::symlink(&other, app.join("link.keyseed.yaml")).unwrap();
    argo(&["getter", "", "", "", "keyseed://link.keyseed.yaml"], &app)
        .fails()
        .stderr_has("symbolic link");
    // A config naming a seed outside the repository, and KEYSEED_SEED_FILE outside it.
    std::fs::copy(demo_seed(), t.path("other/keyseed.age")).unwrap();
    std::fs::write(
        app.join("keyseed.yaml"),
        format!(
            "scope: prod\nseed: {}\n",
            t.path("other/keyseed.age").display()
        ),
    )
    .unwrap();
    argo(
        &["getter", "", "", "", "keyseed://values.keyseed.yaml"],
        &app,
    )
    .fails()
    .stderr_has("refusing seed file");
    std::fs::copy(
        values_example().join("keyseed.yaml"),
        app.join("keyseed.yaml"),
    )
    .unwrap();
    ks(&["getter", "", "", "", "keyseed://values.keyseed.yaml"])
        .cwd(&app)
        .env("KEYSEED_ARGOCD", "true")
        .env("KEYSEED_SEED_FILE", t.path("other/keyseed.age"))
        .env("KEYSEED_AGE_KEY_FILE", demo_identity())
        .run()
        .fails()
        .stderr_has("refusing seed file");
}

#[test]
fn argocd_multisource_helm_wrapper_fills_values_from_the_values_repository() {
    let t = &Tmp::new("values-multisource");
    // The ref source (values repository) and the chart source, as Argo CD checks them out.
    let values_repo = t.path("values-repo");
    std::fs::create_dir_all(values_repo.join(".git")).unwrap();
    let vdir = values_repo.join("apps/lightrun");
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::copy(
        values_example().join("values.keyseed.yaml"),
        vdir.join("values.keyseed.yaml"),
    )
    .unwrap();
    std::fs::copy(
        values_example().join("keyseed.yaml"),
        vdir.join("keyseed.yaml"),
    )
    .unwrap();
    std::fs::copy(demo_seed(), values_repo.join("keyseed.age")).unwrap();
    let chart = t.path("chart-src/lightrun-like");
    copy_dir(&values_example().join("chart"), &chart);
    // The init container's install script, from the checkout's plugin (as the tarball holds it).
    let tools = t.path("custom-tools");
    let tgz = t.path("getter.tar.gz");
    let mut tar = Command::new("tar");
    tar.arg("-czhf")
        .arg(&tgz)
        .arg("-C")
        .arg(root().join("helm/keyseed-getter-helm3"))
        .arg(".");
    run_with_stdin(tar, b"").ok();
    let mut c = Command::new("sh");
    c.arg(root().join("charts-example/argocd/getter/install-getter.sh"))
        .arg(&tgz)
        .arg(&tools)
        .env("KEYSEED_BIN", keyseed_bin());
    run_with_stdin(c, b"").ok();
    assert!(tools.join("helm").is_file());
    assert!(tools
        .join("helm-plugins/keyseed-getter/plugin.yaml")
        .is_file());
    // Argo CD runs `helm template` in the chart directory with $values resolved to a path.
    let values_arg = vdir.join("values.keyseed.yaml");
    let tmpdir = t.path("tmpdir");
    std::fs::create_dir_all(&tmpdir).unwrap();
    // `values`: how the file is given (`--values F`, `-f F`, `--values=F`).
    let run = |values: &[std::ffi::OsString]| {
        let mut c = Command::new(tools.join("helm"));
        c.args(["template", "lightrun", ".", "--namespace", "lightrun"])
            .args(values)
            .current_dir(&chart)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", tools.display()))
            .env("HOME", t.path("home"))
            .env("HELM_CACHE_HOME", t.path("hc"))
            .env("HELM_CONFIG_HOME", t.path("hcfg"))
            .env("HELM_DATA_HOME", t.path("hd"))
            .env("HELM_PLUGINS", tools.join("helm-plugins"))
            .env("KEYSEED_REAL_HELM", tool("helm3"))
            .env("KEYSEED_BIN", keyseed_bin())
            .env("KEYSEED_ARGOCD", "true")
            .env("ARGOCD_APP_NAME", "lightrun")
            .env("KEYSEED_AGE_KEY_FILE", demo_identity())
            .env("TMPDIR", &tmpdir);
        run_with_stdin(c, b"")
    };
    let plain = ["--values".into(), values_arg.clone().into_os_string()];
    let out = run(&plain).ok();
    let v = secret_values(&out.stdout);
    assert_same(
        &v["lightrun-backend/encryption-key-0"],
        derive(
            "base64:32",
            "prod/values:secrets.keysEncryption.userEncryptionKey",
        ),
        "encryption-key-0",
    );
    assert_same(&run(&plain).ok().stdout, &out.stdout, "two renders");
    let mut joined = std::ffi::OsString::from("--values=");
    joined.push(&values_arg);
    for form in [
        vec!["-f".into(), values_arg.clone().into_os_string()],
        vec![joined],
    ] {
        assert_same(&run(&form).ok().stdout, &out.stdout, "-f F and --values=F");
    }
    // No filled file is left behind.
    assert_eq!(
        std::fs::read_dir(&tmpdir).unwrap().count(),
        0,
        "a filled values file was left"
    );
    // A broken seed stops Helm: nothing on stdout.
    std::fs::write(values_repo.join("keyseed.age"), b"not a seed").unwrap();
    let bad = run(&plain).fails_with_any();
    assert_eq!(std::fs::read_dir(&tmpdir).unwrap().count(), 0);
    assert!(bad.stdout.is_empty());
    assert!(bad.stderr.contains("error:"), "{}", bad.stderr);
}

#[test]
fn flux_values_secret_decrypts_with_sops_to_the_filled_file_and_reruns_are_identical() {
    let t = Tmp::new("values-flux");
    let (cluster_key, recipient) = age_keygen(&t, "cluster.agekey");
    let script = root().join("charts-example/flux/helmrelease/ci-values.sh");
    let pathdir = t.path("bin");
    std::fs::create_dir_all(&pathdir).unwrap();
    std::os::unix::fs::symlink(keyseed_bin(), pathdir.join("keyseed")).unwrap();
    let ci = |values: &Path, name: &str, out: &Path| {
        let mut c = Command::new("bash");
        c.arg(&script)
            .arg(values)
            .arg(name)
            .arg("lightrun")
            .arg(out)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", pathdir.display()))
            .env("HOME", t.path("home"))
            .env("FLUX_AGE_RECIPIENT", &recipient)
            .env(
                "KEYSEED_AGE_KEY",
                std::fs::read_to_string(demo_identity()).unwrap(),
            );
        run_with_stdin(c, b"").ok();
    };
    // Two values files (two HelmReleases), each written as its own Secret.
    let v1 = values_example().join("values.keyseed.yaml");
    let v2 = t.write(
        "values/other.keyseed.yaml",
        "other:\n  token: \"<keyseed:alnum:40>\"\n  second: \"<keyseed:hex:16>\"\n",
    );
    std::fs::copy(demo_seed(), t.path("values/keyseed.age")).unwrap();
    let out = t.path("deploy");
    ci(&v1, "lightrun-values", &out);
    ci(&v2, "other-values", &out);
    let read = |n: &str| std::fs::read_to_string(out.join(format!("{n}.sops.yaml"))).unwrap();
    let (a1, b1) = (read("lightrun-values"), read("other-values"));
    // The filled file, exactly, after decryption with the real sops.
    let filled = ks(&["fill"]).arg(&v1).demo_keys().run().ok().stdout_str();
    let dec = sops_decrypt_each(&t, &a1, &cluster_key);
    let doc = &yaml11_json(&dec)[0];
    assert_eq!(doc["kind"], "Secret");
    assert_eq!(doc["metadata"]["name"], "lightrun-values");
    assert_eq!(doc["metadata"]["namespace"], "lightrun");
    assert_same(
        doc["stringData"]["values.yaml"].as_str().unwrap(),
        &filled,
        "the decrypted values.yaml",
    );
    // No plaintext value, nor its base64, in the encrypted Secret.
    let key = derive(
        "base64:32",
        "prod/values:secrets.keysEncryption.userEncryptionKey",
    );
    for needle in [
        key.clone(),
        base64_of(&key),
        derive("password:24", "prod/lightrun/db-password"),
    ] {
        assert!(!a1.contains(&needle), "plaintext in the SOPS Secret");
    }
    // Reruns are byte-identical; one value changed changes only that Secret.
    ci(&v1, "lightrun-values", &out);
    ci(&v2, "other-values", &out);
    assert_eq!(read("lightrun-values"), a1);
    assert_eq!(read("other-values"), b1);
    std::fs::write(
        &v2,
        "other:\n  token: \"<keyseed:alnum:40 gen=1>\"\n  second: \"<keyseed:hex:16>\"\n",
    )
    .unwrap();
    ci(&v1, "lightrun-values", &out);
    ci(&v2, "other-values", &out);
    assert_eq!(read("lightrun-values"), a1);
    assert_ne!(read("other-values"), b1);
    // Helm renders the decrypted values exactly as the getter does (helm-controller's view).
    let values_file = t.write("decrypted.yaml", &filled);
    let h = Helm::new("helm4");
    let via_secret = h
        .run(
            &values_example(),
            &[
                "template",
                "rel",
                "./chart",
                "-f",
                values_file.to_str().unwrap(),
            ],
            &[],
        )
        .ok();
    let via_getter = h.template(&values_example(), &[]).ok();
    assert_same(
        &via_secret.stdout,
        &via_getter.stdout,
        "render from the decrypted Secret",
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn vendor_recipes_through_values_give_working_keys() {
    let h = Helm::new("helm3");
    let seed_file = demo_seed();
    let seed = [("KEYSEED_SEED_FILE", seed_file.as_os_str())];
    // Spacelift: ENCRYPTION_RSA_PRIVATE_KEY, base64 of an RSA-4096 PEM key.
    let out = h.template(&fixture("spacelift"), &seed).ok();
    let v = secret_values(&out.stdout);
    let rsa = &v["spacelift-shared/ENCRYPTION_RSA_PRIVATE_KEY"];
    assert_same(
        rsa,
        derive(
            "rsa:4096 encoding=base64",
            "prod/values:encryption.rsaPrivateKey",
        ),
        "ENCRYPTION_RSA_PRIVATE_KEY",
    );
    python(
        "import sys, base64\nfrom cryptography.hazmat.primitives.serialization import load_pem_private_key\n\
         k = load_pem_private_key(base64.b64decode(sys.stdin.read()), None)\nassert k.key_size == 4096, k.key_size",
        rsa.as_bytes(),
    )
    .ok();
    // flux-orchestrator: a Fernet ENCRYPTION_KEY that encrypts and decrypts.
    let out = h.template(&fixture("flux-orchestrator"), &seed).ok();
    let fernet = &secret_values(&out.stdout)["flux-orchestrator/ENCRYPTION_KEY"];
    assert_same(
        fernet,
        derive("fernet", "prod/values:backend.env.ENCRYPTION_KEY"),
        "ENCRYPTION_KEY",
    );
    python(
        "import sys\nfrom cryptography.fernet import Fernet\nf = Fernet(sys.stdin.read().encode())\nassert f.decrypt(f.encrypt(b'x')) == b'x'",
        fernet.as_bytes(),
    )
    .ok();
    // ~100 values in one app-secrets Secret, each its own derived value.
    let first = h.template(&fixture("app-secrets"), &seed).ok();
    let again = h.template(&fixture("app-secrets"), &seed).ok();
    assert_same(&first.stdout, &again.stdout, "two renders");
    let v = secret_values(&first.stdout);
    assert_eq!(
        v.keys().filter(|k| k.starts_with("app-secrets/")).count(),
        100
    );
    assert_same(
        &v["app-secrets/APP_VAR_007"],
        derive("hex:16", "prod/values:secrets.APP_VAR_007"),
        "APP_VAR_007",
    );
    let distinct: std::collections::BTreeSet<_> = v.values().collect();
    assert_eq!(distinct.len(), 100);
    assert!(!first.stdout_str().contains("<keyseed:"));
}

#[test]
fn the_values_recipes_of_docs_charts_md_are_the_tested_files() {
    let doc = std::fs::read_to_string(root().join("docs/charts.md")).unwrap();
    for f in [
        values_example().join("values.keyseed.yaml"),
        values_example().join("keyseed.yaml"),
        fixture("spacelift").join("values.keyseed.yaml"),
        fixture("flux-orchestrator").join("values.keyseed.yaml"),
    ] {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(doc.contains(&text), "docs/charts.md lacks {}", f.display());
    }
    // The 100-value file is shown by its first lines.
    let app = std::fs::read_to_string(fixture("app-secrets").join("values.keyseed.yaml")).unwrap();
    let head: String = app.lines().take(7).map(|l| format!("{l}\n")).collect();
    assert!(doc.contains(&head));
    assert_eq!(app.lines().filter(|l| l.contains("<keyseed:")).count(), 100);
}

#[test]
fn fill_reads_stdin_and_wraps_the_filled_file_in_a_plain_secret() {
    let text = "ca: \"<keyseed:ca:internal encoding=base64>\"\nkey: \"<keyseed:hex:8>\"\n";
    let from_stdin = ks(&["fill", "-"]).demo_keys().stdin(text).run().ok();
    let filled = yaml11_json(&from_stdin.stdout);
    // `encoding=base64` on a CA: the PEM that `ca:ID` gives, on one base64 line.
    let ca_pem = derive("ca:internal", "unused");
    assert_same(
        filled[0]["ca"].as_str().unwrap(),
        base64_of(&format!("{ca_pem}\n")),
        "ca: encoding=base64",
    );
    assert_same(
        filled[0]["key"].as_str().unwrap(),
        derive("hex:8", "/values:key"),
        "key",
    );
    // --secret without --sops-age: the Secret in plaintext, holding exactly the filled file.
    let out = ks(&["fill", "-", "--secret", "app-values", "--namespace", "apps"])
        .demo_keys()
        .stdin(text)
        .run()
        .ok();
    let doc = &yaml11_json(&out.stdout)[0];
    assert_eq!(doc["kind"], "Secret");
    assert_eq!(doc["metadata"]["namespace"], "apps");
    assert_same(
        doc["stringData"]["values.yaml"].as_str().unwrap(),
        &from_stdin.stdout,
        "values.yaml",
    );
    // A name Kubernetes would refuse is a usage error, with nothing on stdout.
    let bad = ks(&["fill", "-", "--secret", "App_Values"])
        .demo_keys()
        .stdin(text)
        .run();
    assert_eq!(bad.code, Some(2));
    assert!(bad.stdout.is_empty() && bad.stderr.contains("not a valid Secret name"));
}
