//! Installing like a user (issue #14): `scripts/package` builds the release tarballs; they
//! are served over HTTP on 127.0.0.1 and installed with the real Helm 3.17 and Helm 4.1 into
//! empty plugin directories, then a chart is rendered through the installed post-renderer
//! with no checkout binary and no keyseed on PATH. The Argo CD sidecar's install script runs
//! outside a container build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::*;

/// `scripts/package`, run once per test binary; returns dist/.
fn dist() -> PathBuf {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let run = || {
            let mut c = Command::new(root().join("scripts/package"));
            c.current_dir(root());
            run_with_stdin(c, b"").ok();
            std::fs::read_to_string(root().join("dist/SHA256SUMS")).unwrap()
        };
        let first = run();
        assert_eq!(
            first,
            run(),
            "scripts/package is idempotent and reproducible"
        );
        root().join("dist")
    })
    .clone()
}

fn version() -> String {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string()
}

fn tarball(name: &str) -> String {
    format!("{name}-{}-linux-amd64.tar.gz", version())
}

/// Runs `tar` (the machine's) with `args`.
fn tar(args: &[&str]) -> Out {
    let mut c = Command::new("tar");
    c.args(args);
    run_with_stdin(c, b"")
}

/// A static HTTP server for `dir` on 127.0.0.1, stopped on drop.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let script = "import http.server, functools, socketserver, sys\n\
                      h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n\
                      s = socketserver.TCPServer(('127.0.0.1', 0), h)\n\
                      print(s.server_address[1], flush=True)\n\
                      s.serve_forever()\n";
        let mut child = Command::new(tool("python3"))
            .args(["-c", script, dir.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            port: line.trim().parse().unwrap(),
            child,
        }
    }
    fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Helm with empty data, config and cache directories, PATH without keyseed.
fn helm<'a>(t: &'a Tmp, which: &str) -> impl Fn(&[&str]) -> Out + 'a {
    let bin = tool(which);
    let which = which.to_string();
    move |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", t.path(&format!("{which}/home")))
            .env("HELM_DATA_HOME", t.path(&format!("{which}/data")))
            .env("HELM_CONFIG_HOME", t.path(&format!("{which}/config")))
            .env("HELM_CACHE_HOME", t.path(&format!("{which}/cache")))
            .envs(demo_key_env());
        run_with_stdin(c, b"")
    }
}

fn assert_no_keyseed_on_path() {
    for d in ["/usr/bin", "/bin"] {
        assert!(
            !Path::new(d).join("keyseed").exists(),
            "keyseed is on PATH in {d}"
        );
    }
}

fn check_render(out: &Out) {
    let v = secret_values(&out.stdout);
    assert_eq!(
        v["demo-demo-keys/encryption-key-0"].len(),
        44,
        "{}",
        out.stderr
    );
    assert!(!out.stdout_str().contains("<keyseed:"));
}

#[test]
fn release_tarballs_are_checksummed_safe_and_carry_a_running_binary() {
    let dist = dist();
    let mut c = Command::new("sha256sum");
    c.args(["-c", "SHA256SUMS"]).current_dir(&dist);
    run_with_stdin(c, b"").ok();
    let t = Tmp::new("tarballs");
    for name in [
        "keyseed",
        "keyseed-postrender",
        "keyseed-getter",
        "keyseed-getter-helm3",
    ] {
        let tgz = dist.join(tarball(name));
        let list = tar(&["-tzf", tgz.to_str().unwrap()]).ok().stdout_str();
        for entry in list.lines() {
            assert!(
                !entry.starts_with('/') && !entry.split('/').any(|p| p == ".."),
                "unsafe path {entry} in {name}"
            );
        }
        assert!(list.lines().any(|l| l == "plugin.yaml"), "{list}");
        assert!(list.lines().any(|l| l == "LICENSE"), "{list}");
        let dir = t.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        tar(&["-xzf", tgz.to_str().unwrap(), "-C", dir.to_str().unwrap()]).ok();
        let bin = if name == "keyseed" {
            "helm/bin/keyseed-bin"
        } else {
            "bin/keyseed-bin"
        };
        let mut c = Command::new(dir.join(bin));
        c.arg("--version");
        let v = run_with_stdin(c, b"").ok().stdout_str();
        assert!(v.contains(&version()), "{v}");
        let yaml = std::fs::read_to_string(dir.join("plugin.yaml")).unwrap();
        assert!(yaml.contains(&format!("version: {}", version())), "{yaml}");
    }
    // The CLI tarball carries completions equal to what the binary prints.
    for (shell, file) in [
        ("bash", "keyseed.bash"),
        ("zsh", "_keyseed"),
        ("fish", "keyseed.fish"),
    ] {
        let shipped = std::fs::read(t.path(&format!("keyseed/completions/{file}"))).unwrap();
        let printed = ks(&["completions", shell]).run().ok().stdout;
        assert!(!shipped.is_empty());
        assert_eq!(shipped, printed, "{shell}");
    }
}

/// Through the installed plugin: `helm keyseed derive` prints the demo key, and
/// `helm template` of the demo chart with `post_renderer` renders it (see [`check_render`]).
fn derive_then_render(h: &impl Fn(&[&str]) -> Out, post_renderer: &[&str]) {
    let d = h(&demo_keyring_derive("base64:32")).ok();
    assert_eq!(d.stdout_str().trim().len(), 44);
    let chart = root().join("charts-example/demo");
    let mut args = vec!["template", "demo", chart.to_str().unwrap()];
    args.extend_from_slice(post_renderer);
    check_render(&h(&args).ok());
}

#[test]
fn helm3_installs_the_cli_plugin_over_http_and_renders_with_its_binary() {
    let dist = dist();
    let server = Server::start(&dist);
    let t = Tmp::new("install-helm3");
    let h = helm(&t, "helm3");
    assert_no_keyseed_on_path();
    h(&["plugin", "install", &server.url(&tarball("keyseed"))]).ok();
    let plugins = h(&["env", "HELM_PLUGINS"])
        .ok()
        .stdout_str()
        .trim()
        .to_string();
    let post = format!("{plugins}/keyseed/helm/bin/keyseed");
    assert!(!Path::new(&plugins).join("keyseed/target").exists());
    derive_then_render(
        &h,
        &["--post-renderer", &post, "--post-renderer-args", "render"],
    );
    h(&[
        "plugin",
        "install",
        &server.url(&tarball("keyseed-getter-helm3")),
    ])
    .ok();
    check_values_render(&h);
}

/// Through the installed getter plugin: the Lightrun-shaped chart of charts-example/values
/// with `-f keyseed:///…/values.keyseed.yaml` (an absolute path).
fn check_values_render(h: &impl Fn(&[&str]) -> Out) {
    let dir = root().join("charts-example/values");
    let url = format!("keyseed://{}", dir.join("values.keyseed.yaml").display());
    let chart = dir.join("chart");
    let out = h(&["template", "rel", chart.to_str().unwrap(), "-f", &url]).ok();
    let v = secret_values(&out.stdout);
    assert_eq!(
        v["rel-backend/encryption-key-0"].len(),
        44,
        "{}",
        out.stderr
    );
    assert!(!out.stdout_str().contains("<keyseed:"));
}

#[test]
fn helm4_installs_both_plugins_over_http_and_renders_with_keyseed_postrender() {
    let dist = dist();
    let server = Server::start(&dist);
    let t = Tmp::new("install-helm4");
    let h = helm(&t, "helm4");
    assert_no_keyseed_on_path();
    // Helm 4.1 verifies plugin tarballs by default and keyseed ships no .prov (no release
    // signing key exists): the README says to check SHA256SUMS and pass --verify=false.
    h(&["plugin", "install", &server.url(&tarball("keyseed"))])
        .fails_with_any()
        .stderr_has("no provenance file");
    for name in ["keyseed", "keyseed-postrender"] {
        h(&[
            "plugin",
            "install",
            "--verify=false",
            &server.url(&tarball(name)),
        ])
        .ok();
    }
    derive_then_render(&h, &["--post-renderer", "keyseed-postrender"]);
    h(&[
        "plugin",
        "install",
        "--verify=false",
        &server.url(&tarball("keyseed-getter")),
    ])
    .ok();
    check_values_render(&h);
}

#[test]
fn argocd_sidecar_install_script_builds_a_working_cmp_root() {
    let dist = dist();
    let t = Tmp::new("sidecar");
    // A Helm release tarball's layout: linux-amd64/helm.
    std::fs::create_dir_all(t.path("helm-src/linux-amd64")).unwrap();
    std::fs::copy(tool("helm3"), t.path("helm-src/linux-amd64/helm")).unwrap();
    let helm_tgz = t.path("helm-v3.17.3-linux-amd64.tar.gz");
    tar(&[
        "-czf",
        helm_tgz.to_str().unwrap(),
        "-C",
        t.path("helm-src").to_str().unwrap(),
        "linux-amd64",
    ])
    .ok();
    let rootfs = t.path("rootfs");
    let mut c = Command::new("sh");
    c.arg(root().join("charts-example/argocd/install-sidecar.sh"))
        .arg(dist.join(tarball("keyseed")))
        .arg(&helm_tgz)
        .arg(root().join("charts-example/argocd/cmp-plugin.yaml"))
        .arg(&rootfs);
    run_with_stdin(c, b"").ok();
    let bin = rootfs.join("usr/local/bin");
    assert!(rootfs
        .join("home/argocd/cmp-server/config/plugin.yaml")
        .is_file());
    // The CMP's generate command, with only the sidecar's PATH.
    let plugin = rootfs.join("home/argocd/cmp-server/config/plugin.yaml");
    let app = root().join("charts-example/demo");
    let seed = [("ARGOCD_ENV_KEYSEED_SEED", "../keyseed.age".as_ref())];
    let out = cmp_generate(&plugin, &app, &bin, &t, &seed).ok();
    check_render(&out);
}
