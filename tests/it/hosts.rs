//! Real hosts: Helm 3.17.3 and 4.1.4, and the newest the package registries serve, 3.18.0 and
//! 4.2.3 (plugins and post-renderers), the Argo CD CMP
//! generate command run as cmp-server runs it, kpt running `keyseed krm`, and
//! `kubectl kustomize` running the legacy exec plugin. Every example under charts-example/
//! is exercised here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn keyseed_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyseed"))
}

/// A Helm with private data/config/cache dirs, the demo keys, and keyseed on PATH.
struct Helm {
    bin: PathBuf,
    tmp: Tmp,
    envs: Vec<(String, String)>,
}

impl Helm {
    fn new(version: &str) -> Helm {
        let tmp = Tmp::new(version);
        let data = tmp.path("data");
        let pathdir = tmp.path("path");
        std::fs::create_dir_all(&pathdir).unwrap();
        std::os::unix::fs::symlink(keyseed_bin(), pathdir.join("keyseed")).unwrap();
        let envs = vec![
            ("HELM_DATA_HOME".into(), data.display().to_string()),
            (
                "HELM_PLUGINS".into(),
                data.join("plugins").display().to_string(),
            ),
            (
                "HELM_CONFIG_HOME".into(),
                tmp.path("config").display().to_string(),
            ),
            (
                "HELM_CACHE_HOME".into(),
                tmp.path("cache").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                tmp.path("xdg-cache").display().to_string(),
            ),
            ("HOME".into(), tmp.path("home").display().to_string()),
            ("KEYSEED_BIN".into(), keyseed_bin().display().to_string()),
            (
                "KEYSEED_SEED_FILE".into(),
                demo_seed().display().to_string(),
            ),
            (
                "KEYSEED_AGE_KEY_FILE".into(),
                demo_identity().display().to_string(),
            ),
            (
                "PATH".into(),
                format!("{}:{}", pathdir.display(), std::env::var("PATH").unwrap()),
            ),
        ];
        let h = Helm {
            bin: tool(version),
            tmp,
            envs,
        };
        // Another plugin, to prove keyseed's never break the rest.
        let other = h.tmp.write("other/plugin.yaml", "name: hello\nversion: 0.1.0\nusage: hello\ndescription: another plugin\nplatformCommand:\n  - os: linux\n    command: echo\n  - os: darwin\n    command: echo\n");
        h.run(&[
            "plugin",
            "install",
            other.parent().unwrap().to_str().unwrap(),
        ])
        .ok();
        h
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).env_clear();
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }
    fn run(&self, args: &[&str]) -> Out {
        run_with_stdin(self.cmd(args), b"")
    }
    /// Installs keyseed's CLI plugin from the checkout, and with `postrender` (Helm 4 only)
    /// its post-renderer plugin.
    fn install_keyseed(&self, postrender: bool) {
        self.run(&["plugin", "install", root().to_str().unwrap()])
            .ok();
        if postrender {
            let dir = root().join("helm/keyseed-postrender");
            self.run(&["plugin", "install", dir.to_str().unwrap()]).ok();
        }
    }

    fn without(mut self, key: &str) -> Self {
        self.envs.retain(|(k, _)| k != key);
        self
    }
}

fn chart() -> String {
    root().join("charts-example/demo").display().to_string()
}

fn assert_other_plugin_still_works(h: &Helm) {
    let list = h.run(&["plugin", "list"]).ok().stdout_str();
    assert!(list.contains("hello"), "{list}");
    assert_eq!(h.run(&["hello", "world"]).ok().stdout_str().trim(), "world");
}

fn check_demo_render(out: &[u8]) -> std::collections::BTreeMap<String, String> {
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(!text.contains("<keyseed:"), "placeholders left");
    let v = secret_values(out);
    assert_eq!(v["demo-demo-keys/encryption-key-0"].len(), 44);
    assert_eq!(v["demo-demo-keys/openai-api-key"], "sk-TEST-ONLY-openai");
    assert_eq!(
        v["demo-demo-app-secrets/APP_VAR_100"],
        "test-only-value-100"
    );
    assert_eq!(
        v.keys()
            .filter(|k| k.starts_with("demo-demo-app-secrets/"))
            .count(),
        101
    );
    v
}

#[test]
fn helm3_cli_plugin_and_post_renderer() {
    for which in ["helm3", "helm318"] {
        helm3_cli_plugin_and_post_renderer_on(which);
    }
}

fn helm3_cli_plugin_and_post_renderer_on(which: &str) {
    let h = Helm::new(which);
    h.install_keyseed(false);
    assert_other_plugin_still_works(&h);
    let d = h.run(&demo_keyring_derive("base64:32")).ok();
    // By absolute path and by name on $PATH.
    for pr in [keyseed_bin().display().to_string(), "keyseed".to_string()] {
        let out = h
            .run(&[
                "template",
                "demo",
                &chart(),
                "--post-renderer",
                &pr,
                "--post-renderer-args",
                "render",
            ])
            .ok();
        let text = out.stdout_str();
        assert!(
            text.contains("# Source: demo/templates/backend-keys.yaml"),
            "Helm 3 keeps # Source: lines"
        );
        let v = check_demo_render(&out.stdout);
        let d0 = h.run(&demo_keyring_derive("base64:32 gen=0")).ok();
        assert_eq!(d0.stdout_str().trim(), v["demo-demo-keys/encryption-key-0"]);
    }
    assert_eq!(d.stdout_str().trim().len(), 44);
}

#[test]
fn helm4_postrenderer_plugin_cli_plugin_and_same_values_as_helm3() {
    for which in ["helm4", "helm42"] {
        helm4_postrenderer_plugin_cli_plugin_and_same_values_as_helm3_on(which);
    }
}

fn helm4_postrenderer_plugin_cli_plugin_and_same_values_as_helm3_on(which: &str) {
    let h = Helm::new(which);
    h.install_keyseed(true);
    let list = h.run(&["plugin", "list"]).ok().stdout_str();
    assert!(
        list.contains("keyseed-postrender") && list.contains("postrenderer/v1"),
        "{list}"
    );
    assert_other_plugin_still_works(&h);
    h.run(&["keyseed", "check"]).fails().stderr_has("empty");
    let out = h
        .run(&[
            "template",
            "demo",
            &chart(),
            "--post-renderer",
            "keyseed-postrender",
        ])
        .ok();
    let text = out.stdout_str();
    assert!(
        text.contains("helm.sh/hook"),
        "Helm 4 sends hooks through the post-renderer too"
    );
    // The hook (a pre-install Job reading the keys Secret) went through keyseed: its pod
    // template carries the rollout annotation.
    let docs = yaml11_json(&out.stdout);
    let hook = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "Job")
        .unwrap_or_else(|| panic!("{which}: no hook Job"));
    let annotations = &hook["spec"]["template"]["metadata"]["annotations"];
    assert!(
        annotations
            .as_object()
            .is_some_and(|a| a.keys().any(|k| k.starts_with("keyseed.io/"))),
        "{which}: the hook was not post-rendered by keyseed: {annotations}"
    );
    let v4 = check_demo_render(&out.stdout);

    let h3 = Helm::new("helm3");
    let out3 = h3
        .run(&[
            "template",
            "demo",
            &chart(),
            "--post-renderer",
            "keyseed",
            "--post-renderer-args",
            "render",
        ])
        .ok();
    let v3 = check_demo_render(&out3.stdout);
    assert_eq!(v3, v4, "Helm 3 and {which} renders inject identical values");
    // A second Helm 4 render is byte-identical.
    let again = h
        .run(&[
            "template",
            "demo",
            &chart(),
            "--post-renderer",
            "keyseed-postrender",
        ])
        .ok();
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn helm4_failure_reason_reaches_the_user() {
    for which in ["helm4", "helm42"] {
        helm4_failure_reason_reaches_the_user_on(which);
    }
}

fn helm4_failure_reason_reaches_the_user_on(which: &str) {
    let h = Helm::new(which);
    h.install_keyseed(true);
    // A chart with a typo in a placeholder.
    let t = Tmp::new("badchart");
    copy_dir(&root().join("charts-example/demo"), &t.path("demo"));
    t.write("demo/templates/typo.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: typo\nstringData:\n  k: \"<keyseed:base46:32>\"\n");
    let out = h.run(&[
        "template",
        "demo",
        t.path("demo").to_str().unwrap(),
        "--post-renderer",
        "keyseed-postrender",
    ]);
    assert_ne!(out.code, Some(0));
    assert!(
        !out.stderr.contains("base46"),
        "Helm 4 discards the post-renderer's stderr (if this fails, Helm fixed it)"
    );
    let last = h.run(&["keyseed", "last-error"]).ok().stdout_str();
    assert!(
        last.contains("document")
            && last.contains("Secret typo")
            && last.contains("unknown format `base46:32`"),
        "{last}"
    );
    // A successful run clears it.
    h.run(&[
        "template",
        "demo",
        &chart(),
        "--post-renderer",
        "keyseed-postrender",
    ])
    .ok();
    assert!(h
        .run(&["keyseed", "last-error"])
        .ok()
        .stdout_str()
        .contains("no error recorded"));
}

/// How the binary gets into a plugin directory: a release layout ships it as
/// `helm/bin/keyseed-bin` next to the launcher; no KEYSEED_BIN, no PATH entry needed.
#[test]
fn plugin_launcher_finds_a_shipped_binary() {
    let t = Tmp::new("release");
    let rel = t.path("keyseed-plugin");
    std::fs::create_dir_all(&rel).unwrap();
    std::fs::copy(root().join("plugin.yaml"), rel.join("plugin.yaml")).unwrap();
    copy_dir(&root().join("helm"), &rel.join("helm"));
    std::fs::copy(keyseed_bin(), rel.join("helm/bin/keyseed-bin")).unwrap();
    for v in ["helm3", "helm318", "helm4", "helm42"] {
        let h = Helm::new(v).without("KEYSEED_BIN");
        h.run(&["plugin", "install", rel.to_str().unwrap()]).ok();
        let out = h.run(&["keyseed", "--version"]).ok();
        assert!(
            out.stdout_str().starts_with("keyseed "),
            "{v}: {}",
            out.stdout_str()
        );
    }
    let h = Helm::new("helm4").without("KEYSEED_BIN");
    h.run(&[
        "plugin",
        "install",
        rel.join("helm/keyseed-postrender").to_str().unwrap(),
    ])
    .ok();
    let out = h
        .run(&[
            "template",
            "demo",
            &chart(),
            "--post-renderer",
            "keyseed-postrender",
        ])
        .ok();
    check_demo_render(&out.stdout);
    // Without any binary the launcher says what to do.
    std::fs::remove_file(rel.join("helm/bin/keyseed-bin")).unwrap();
    let mut c = Command::new(rel.join("helm/bin/keyseed"));
    c.arg("--version")
        .env("PATH", "/usr/bin:/bin")
        .env_remove("KEYSEED_BIN");
    let out = run_with_stdin(c, b"");
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("found no keyseed binary"),
        "{}",
        out.stderr
    );
}

/// Runs charts-example's CMP generate command in `app_dir` with `helm` and keyseed on PATH
/// and `ARGOCD_ENV_KEYSEED_SEED` = `seed` (see [`cmp_generate`]).
fn argocd_generate(app_dir: &Path, helm: &str, seed: &str) -> Out {
    let t = Tmp::new("argocd-path");
    std::os::unix::fs::symlink(tool(helm), t.path("helm")).unwrap();
    std::os::unix::fs::symlink(keyseed_bin(), t.path("keyseed")).unwrap();
    let plugin = root().join("charts-example/argocd/cmp-plugin.yaml");
    let env = [("ARGOCD_ENV_KEYSEED_SEED", std::ffi::OsStr::new(seed))];
    cmp_generate(&plugin, app_dir, &t.0, &t, &env)
}

#[test]
fn argocd_cmp_generate_renders_and_fails_closed() {
    // The repo as the sidecar receives it: a copy, with the app dir as cwd.
    let t = Tmp::new("argocd-repo");
    copy_dir(&root().join("charts-example"), &t.path("charts-example"));
    let app = t.path("charts-example/demo");
    let mut outputs = vec![];
    for helm in ["helm3", "helm4"] {
        let out = argocd_generate(&app, helm, "../keyseed.age").ok();
        check_demo_render(&out.stdout);
        outputs.push(secret_values(&out.stdout));
    }
    assert_eq!(outputs[0], outputs[1]);
    // A failing render: non-zero exit and nothing on stdout (no prune of everything).
    t.write("charts-example/demo/templates/typo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  k: \"<keyseed:hex:8>\"\n");
    let out = argocd_generate(&app, "helm4", "../keyseed.age");
    assert_ne!(out.code, Some(0));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("ConfigMap leak"), "{}", out.stderr);
    // An Application may not point the shared identity at a seed outside its repository.
    let outside = demo_seed().display().to_string();
    for (bad, why) in [
        (outside.as_str(), "absolute"),
        ("../../../keyseed.age", "outside the repository"),
    ] {
        let out = argocd_generate(&app, "helm3", bad);
        assert_ne!(out.code, Some(0));
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains(why), "{bad}: {}", out.stderr);
    }
    std::os::unix::fs::symlink(demo_seed(), t.path("charts-example/demo/link.age")).unwrap();
    let out = argocd_generate(&app, "helm3", "link.age");
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    std::fs::remove_file(t.path("charts-example/demo/link.age")).unwrap();
    // The same holds for a config file named on the command line.
    let out = ks(&["check", "--config", "/etc/keyseed.yaml"])
        .env("ARGOCD_APP_NAME", "demo")
        .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
        .run()
        .fails();
    out.stderr_has("refusing config file `/etc/keyseed.yaml` under Argo CD: the path is absolute");
    // A missing seed fails the same way.
    std::fs::remove_file(t.path("charts-example/demo/templates/typo.yaml")).unwrap();
    let out = argocd_generate(&app, "helm3", "missing.age");
    assert_ne!(out.code, Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn kpt_runs_keyseed_krm_with_the_example_function_config() {
    let t = Tmp::new("kpt");
    copy_dir(
        &root().join("charts-example/kustomize/base"),
        &t.path("base"),
    );
    let pathdir = t.path("bin");
    std::fs::create_dir_all(&pathdir).unwrap();
    std::os::unix::fs::symlink(keyseed_bin(), pathdir.join("keyseed")).unwrap();
    let run = |dir: &Path| {
        let mut c = Command::new(tool("kpt"));
        c.args([
            "fn",
            "eval",
            dir.to_str().unwrap(),
            "--exec",
            "keyseed krm",
            "--fn-config",
        ])
        .arg(root().join("charts-example/kustomize/krm/keyseed-fn.yaml"))
        .args(["-o", "unwrap"])
        .env(
            "PATH",
            format!("{}:{}", pathdir.display(), std::env::var("PATH").unwrap()),
        )
        .env("HOME", t.path("home"))
        .envs(demo_key_env());
        run_with_stdin(c, b"")
    };
    let out = run(&t.path("base")).ok();
    let v = secret_values(&out.stdout);
    assert_eq!(v["backend-keys/encryption-key-1"].len(), 44);
    assert_eq!(v["backend-keys/openai-api-key"], "sk-TEST-ONLY-openai");
    // Same values as `keyseed render` on the same manifests.
    let base = [std::fs::read_to_string(t.path("base/secret.yaml")).unwrap()].concat();
    let direct = secret_values(&ks(&["render"]).demo_keys().stdin(&base).run().ok().stdout);
    assert_eq!(
        direct["backend-keys/fernet-key"],
        v["backend-keys/fernet-key"]
    );
    // A failure fails the function (non-zero exit), with the reason.
    t.write(
        "base/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  k: <keyseed:uuid>\n",
    );
    let out = run(&t.path("base"));
    assert_ne!(out.code, Some(0));
    assert!(format!("{}{}", out.stdout_str(), out.stderr).contains("ConfigMap bad"));
}

#[test]
fn krm_resource_list_keeps_annotations_and_reads_function_config() {
    let rl = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n    annotations:\n      config.kubernetes.io/index: '0'\n      internal.config.kubernetes.io/path: 'secret.yaml'\n  stringData:\n    k: \"<keyseed:hex:8>\"\nfunctionConfig:\n  apiVersion: keyseed.io/v1\n  kind: KeyseedTransformer\n  metadata: {name: x}\n  spec: {scope: prod}\n";
    let out = ks(&["krm"]).demo_keys().stdin(rl).run().ok().stdout_str();
    assert!(out.contains("      config.kubernetes.io/index: '0'\n      internal.config.kubernetes.io/path: 'secret.yaml'\n"));
    let v = secret_values(out.as_bytes());
    let d = ks(&["derive", "hex:8", "--id", "prod/s/k"])
        .demo_keys()
        .run()
        .ok();
    assert_eq!(
        d.stdout_str().trim(),
        v["s/k"],
        "functionConfig scope applied"
    );
    // Only `krm` reads a functionConfig: in a plain render the stream must not choose the
    // seed or the scope, so a ResourceList that tries is refused, with nothing on stdout.
    let refused = ks(&["render"])
        .demo_keys()
        .stdin(rl)
        .run()
        .fails()
        .stderr_has("a KRM functionConfig sets keyseed's settings only under `keyseed krm`");
    assert!(refused.stdout.is_empty());
    let seed_from_stream = rl.replace("spec: {scope: prod}", "data: {seed: /tmp/other.age}");
    ks(&["render"])
        .demo_keys()
        .stdin(seed_from_stream)
        .run()
        .fails()
        .stderr_has(".functionConfig");
    // A functionConfig that sets nothing is fine in render: the items are filled.
    let plain = rl.replace("spec: {scope: prod}", "spec: {}");
    let v0 = secret_values(&ks(&["render"]).demo_keys().stdin(plain).run().ok().stdout);
    assert_eq!(v0["s/k"].len(), 16);
    // The function config and keyseed.yaml must agree on the scope; an empty one sets nothing.
    let t = Tmp::new("krm-scope");
    t.write("keyseed.yaml", "scope: staging\n");
    ks(&["krm"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(rl)
        .run()
        .fails()
        .stderr_has(
            "the function config sets `scope: prod` but keyseed.yaml sets `scope: staging`",
        );
    let empty = rl.replace("scope: prod", "scope: \"\"");
    let staged = secret_values(
        &ks(&["krm"])
            .demo_keys()
            .cwd(&t.0)
            .stdin(empty)
            .run()
            .ok()
            .stdout,
    );
    let d = ks(&["derive", "hex:8", "--id", "staging/s/k"])
        .demo_keys()
        .run()
        .ok();
    assert_same(
        d.stdout_str().trim(),
        &staged["s/k"],
        "keyseed.yaml's scope holds",
    );
    // The legacy exec plugin's config is held to the same rule.
    let plugin = t.write(
        "plugin.yaml",
        "apiVersion: keyseed.io/v1\nkind: KeyseedTransformer\nmetadata: {name: k}\nspec: {scope: prod}\n",
    );
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:8>\"}\n";
    ks(&[plugin.to_str().unwrap()])
        .demo_keys()
        .cwd(&t.0)
        .stdin(secret)
        .run()
        .fails()
        .stderr_has(
            "the function config sets `scope: prod` but keyseed.yaml sets `scope: staging`",
        );
    t.write(
        "plugin.yaml",
        "apiVersion: keyseed.io/v1\nkind: KeyseedTransformer\nmetadata: {name: k}\nspec: {scope: \"\"}\n",
    );
    let legacy = secret_values(
        &ks(&[plugin.to_str().unwrap()])
            .demo_keys()
            .cwd(&t.0)
            .stdin(secret)
            .run()
            .ok()
            .stdout,
    );
    assert_same(
        &legacy["s/k"],
        &staged["s/k"],
        "one configuration, one value in every host",
    );
    let flagged = secret_values(
        &ks(&["krm", "--scope", "dev"])
            .demo_keys()
            .stdin(rl)
            .run()
            .ok()
            .stdout,
    );
    assert_ne!(flagged["s/k"], v["s/k"]);
    // krm insists on a ResourceList; typos in functionConfig are errors.
    ks(&["krm"])
        .demo_keys()
        .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
        .run()
        .fails()
        .stderr_has("ResourceList");
    ks(&["krm"])
        .demo_keys()
        .stdin(rl.replace("scope: prod", "scoep: prod"))
        .run()
        .fails()
        .stderr_has("scoep");
}

#[test]
fn kubectl_kustomize_runs_the_legacy_exec_plugin() {
    let t = Tmp::new("kustomize");
    copy_dir(
        &root().join("charts-example/kustomize"),
        &t.path("kustomize"),
    );
    std::fs::copy(demo_seed(), t.path("keyseed.age")).unwrap();
    let mut c = Command::new(tool("kubectl135"));
    c.args(["kustomize", "--enable-alpha-plugins"])
        .arg(t.path("kustomize/legacy"))
        .env("KUSTOMIZE_PLUGIN_HOME", t.path("kustomize/plugins"))
        .env("KEYSEED_BIN", keyseed_bin())
        .env("HOME", t.path("home"))
        .env("KEYSEED_AGE_KEY_FILE", demo_identity());
    let out = run_with_stdin(c, b"").ok();
    let v = secret_values(&out.stdout);
    assert_eq!(v["backend-keys/encryption-key-0"].len(), 44);
    let direct = secret_values(
        &ks(&["render"])
            .demo_keys()
            .stdin(std::fs::read(root().join("charts-example/kustomize/base/secret.yaml")).unwrap())
            .run()
            .ok()
            .stdout,
    );
    assert_eq!(
        direct,
        v.into_iter()
            .filter(|(k, _)| k.starts_with("backend-keys/"))
            .collect()
    );
}

/// The Flux CI flow: ci-render.sh renders and SOPS-encrypts to the cluster's age key; what
/// it writes holds no plaintext secret, decrypts (as Flux's kustomize-controller does) to
/// exactly what keyseed rendered, and builds with kustomize.
#[test]
fn flux_ci_flow_encrypts_to_the_cluster_key() {
    let t = Tmp::new("flux");
    let (_, recipient) = age_keygen(&t, "cluster.key");
    let pathdir = t.path("bin");
    std::fs::create_dir_all(&pathdir).unwrap();
    std::os::unix::fs::symlink(tool("helm3"), pathdir.join("helm")).unwrap();
    std::os::unix::fs::symlink(tool("sops"), pathdir.join("sops")).unwrap();
    std::os::unix::fs::symlink(keyseed_bin(), pathdir.join("keyseed")).unwrap();
    let identity = std::fs::read_to_string(demo_identity()).unwrap();
    let ci_render = |out: &str| {
        let mut c = Command::new(root().join("charts-example/flux/ci-render.sh"));
        c.arg(root().join("charts-example/demo"))
            .arg(t.path(out))
            .current_dir(root())
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", pathdir.display()))
            .env("HOME", t.path("home"))
            .env("FLUX_AGE_RECIPIENT", &recipient)
            .env("KEYSEED_SEED_FILE", demo_seed())
            .env("KEYSEED_AGE_KEY", &identity);
        run_with_stdin(c, b"").ok();
    };
    ci_render("deploy/demo");
    let enc = std::fs::read_to_string(t.path("deploy/demo/manifests.sops.yaml")).unwrap();
    assert!(
        enc.contains("ENC[AES256_GCM,"),
        "Secret data is SOPS-encrypted"
    );
    for plain in ["sk-TEST-ONLY-openai", "test-only-value-042", "dd-TEST-ONLY"] {
        assert!(
            !enc.contains(plain),
            "plaintext {plain} in the committed output"
        );
    }
    // Re-running on unchanged input writes the same bytes: nothing to commit.
    ci_render("deploy/again");
    assert_eq!(
        enc,
        std::fs::read_to_string(t.path("deploy/again/manifests.sops.yaml")).unwrap()
    );
    // Decrypt as Flux does, resource by resource, with the cluster's key.
    let dec = sops_decrypt_each(&t, &enc, &t.path("cluster.key"));
    let h = Helm::new("helm3");
    let direct = h
        .run(&[
            "template",
            "demo",
            &chart(),
            "--namespace",
            "demo",
            "--post-renderer",
            "keyseed",
            "--post-renderer-args",
            "render",
        ])
        .ok();
    assert_eq!(secret_values(&dec), check_demo_render(&direct.stdout));
    // The output directory builds with kustomize.
    let k = host(
        "kubectl135",
        &["kustomize", t.path("deploy/demo").to_str().unwrap()],
        b"",
    )
    .ok();
    assert!(k.stdout_str().contains("kind: Deployment"));
    let flux = yaml11_json(
        &std::fs::read(root().join("charts-example/flux/cluster/kustomization.yaml")).unwrap(),
    );
    assert_eq!(flux[0]["spec"]["decryption"]["provider"], "sops");
}

/// Helm 4.2's `separate` strategy (Flux's `postRenderStrategy`) calls the post-renderer
/// twice: hooks, then manifests. Splitting a real Helm 4 render that way gives exactly the
/// values of one combined call.
#[test]
fn helm4_hooks_and_manifests_rendered_apart_inject_the_same_values() {
    let h = Helm::new("helm4");
    let raw = h.run(&["template", "demo", &chart()]).ok().stdout_str();
    let docs: Vec<&str> = raw.split("\n---\n").collect();
    let (hooks, manifests): (Vec<&str>, Vec<&str>) =
        docs.iter().partition(|d| d.contains("helm.sh/hook"));
    assert!(!hooks.is_empty() && !manifests.is_empty());
    let join = |v: &[&str]| {
        v.iter()
            .map(|d| format!("---\n{}\n", d.trim_start_matches("---\n")))
            .collect::<String>()
    };
    let combined = secret_values(&ks(&["render"]).demo_keys().stdin(&raw).run().ok().stdout);
    let mut apart = secret_values(
        &ks(&["render"])
            .demo_keys()
            .stdin(join(&hooks))
            .run()
            .ok()
            .stdout,
    );
    apart.extend(secret_values(
        &ks(&["render"])
            .demo_keys()
            .stdin(join(&manifests))
            .run()
            .ok()
            .stdout,
    ));
    assert_eq!(apart, combined);
}

/// A chart whose password value lands in its Secret and in a pre-install hook Secret.
fn hook_chart(t: &Tmp, password: &str) -> String {
    t.write(
        "hk/Chart.yaml",
        "apiVersion: v2\nname: hk\nversion: 0.1.0\n",
    );
    t.write("hk/values.yaml", format!("password: \"{password}\"\n"));
    t.write(
        "hk/templates/s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\nstringData:\n  password: {{ .Values.password | quote }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db-init\n  annotations:\n    helm.sh/hook: pre-install\nstringData:\n  password: {{ .Values.password | quote }}\n",
    );
    t.path("hk").display().to_string()
}

#[test]
fn helm3_hooks_never_reach_a_cluster_with_a_placeholder() {
    for which in ["helm3", "helm318"] {
        let h = Helm::new(which);
        h.install_keyseed(false);
        let chart = hook_chart(&h.tmp, "<keyseed:password:24 id=hk/db-password>");
        let me = keyseed_bin().display().to_string();
        // The problem: Helm 3 hands no hook to a post-renderer.
        let plain = h
            .run(&[
                "template",
                "r",
                &chart,
                "--post-renderer",
                &me,
                "--post-renderer-args",
                "render",
            ])
            .ok()
            .stdout_str();
        assert!(
            plain.contains("<keyseed:password:24"),
            "{which}: the hook kept its placeholder"
        );
        // `helm keyseed template`: Helm's whole output, hooks included, one value in both.
        let out = h
            .run(&["keyseed", "template", "r", &chart, "-n", "prod"])
            .ok();
        assert!(!out.stdout_str().contains("keyseed:"), "{which}");
        let v = secret_values(&out.stdout);
        assert_eq!(v["r-db/password"].len(), 24);
        assert!(
            v["r-db/password"] == v["r-db-init/password"],
            "{which}: one value"
        );
        // `helm keyseed install|upgrade`: refused before Helm applies anything, the hook and
        // the ways out named, nothing on stdout.
        for verb in ["install", "upgrade"] {
            h.run(&["keyseed", verb, "r", &chart, "-n", "prod"])
                .fails()
                .stderr_has("document 2 (Secret r-db-init, from hk/templates/s.yaml): is a Helm hook (`helm.sh/hook: pre-install`)")
                .stderr_has("keyseed-postrender")
                .stderr_has("keyseed://values.keyseed.yaml");
        }
        // Without a placeholder in a hook, keyseed hands over to Helm (which then finds no
        // cluster here): the check passed.
        let out = h.run(&[
            "keyseed",
            "upgrade",
            "--install",
            "r",
            &chart,
            "-n",
            "prod",
            "--set",
            "password=plain",
        ]);
        assert_ne!(out.code, Some(0));
        assert!(
            out.stderr.contains("Kubernetes cluster unreachable"),
            "{which}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("is a Helm hook"),
            "{which}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_config_entry_naming_a_missing_secret_suggests_the_close_name_or_hooks() {
    let t = Tmp::new("did-you-mean");
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: lightrun-backend}\nstringData: {}\n";
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: lightrun-bakend\n    data: {k: \"<keyseed:hex:8>\"}\n",
    );
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .fails()
        .stderr_has("did you mean `lightrun-backend`?");
    t.write(
        "keyseed.yaml",
        "secrets:\n  - name: db-init\n    data: {k: \"<keyseed:hex:8>\"}\n",
    );
    ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .fails()
        .stderr_has("Under Helm 3 a hook Secret (`helm.sh/hook`) never reaches a post-renderer");
}

/// The Argo CD repo-server patches mount the age identity so that the repo-server user
/// (uid 999, in the pod's fsGroup) can read it: checked on the patches, then as the kubelet
/// lays the file out (root-owned, group fsGroup, defaultMode) with keyseed run as uid 999.
#[test]
fn argocd_patches_let_the_repo_server_user_read_the_identity() {
    use std::os::unix::fs::PermissionsExt as _;
    for patch in [
        "charts-example/argocd/repo-server-patch.yaml",
        "charts-example/argocd/getter/repo-server-patch.yaml",
    ] {
        let doc = yaml11_json(&std::fs::read(root().join(patch)).unwrap());
        let spec = &doc[0]["spec"]["template"]["spec"];
        assert_eq!(spec["securityContext"]["fsGroup"], 999, "{patch}");
        let volume = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| {
                v["secret"]["secretName"]
                    .as_str()
                    .is_some_and(|n| n.contains("identity"))
            })
            .unwrap_or_else(|| panic!("{patch}: no identity volume"));
        assert_eq!(
            volume["secret"]["defaultMode"], 0o440,
            "{patch}: group-readable (YAML 1.1 octal)"
        );
    }
    let t = Tmp::new("uid999");
    std::fs::set_permissions(&t.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = t.path("keyseed");
    std::fs::copy(keyseed_bin(), &bin).unwrap();
    let seed = t.path("keyseed.age");
    std::fs::copy(demo_seed(), &seed).unwrap();
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let identity = t.path("keys.txt");
    std::fs::copy(demo_identity(), &identity).unwrap();
    std::os::unix::fs::chown(&identity, Some(0), Some(999)).unwrap();
    let run_as_999 = |mode: u32| {
        std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "999", "--regid", "999", "--groups", "999", "--"])
            .arg(&bin)
            .arg("render")
            .env_clear()
            .env("HOME", t.path("home"))
            .env("KEYSEED_SEED_FILE", &seed)
            .env("KEYSEED_AGE_KEY_FILE", &identity)
            .current_dir(&t.0);
        run_with_stdin(c, b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"<keyseed:hex:8>\"}\n")
    };
    // As the patches mount it: read.
    let ok = run_as_999(0o440);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert_eq!(secret_values(&ok.stdout)["s/k"].len(), 16);
    // As the old patches did (0400, root's): a clear error that says permission denied,
    // who keyseed runs as, who owns the file, and the fix.
    run_as_999(0o400)
        .fails()
        .stderr_has("permission denied: keyseed runs as uid 999 (gid 999); the file is owned by uid 0 (gid 999), mode 0400")
        .stderr_has("fsGroup: 999")
        .stderr_has("docs/troubleshooting.md");
}
