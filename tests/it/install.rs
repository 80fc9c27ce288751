//! Installing like a user (issue #14): `scripts/package` builds the release tarballs; they
//! are served over HTTP on 127.0.0.1 and installed with the real Helm 3.17 and Helm 4.1 into
//! empty plugin directories, then a chart is rendered through the installed post-renderer
//! with no checkout binary and no keyseed on PATH. The Argo CD sidecar's install script runs
//! outside a container build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::*;

/// A throwaway OpenPGP key (Ed25519, no passphrase) in its own GnuPG home under the system
/// temporary directory (short socket paths): the release key the tests sign with, or another.
pub(crate) struct Key {
    pub home: PathBuf,
    /// `gpg --export-secret-keys --armor`: what `scripts/package --sign-key` takes.
    pub secret: PathBuf,
    /// `gpg --export` (binary): what `helm plugin install --keyring` reads.
    pub keyring: PathBuf,
    /// `gpg --export --armor`.
    pub armored: PathBuf,
}

fn gpg(home: &Path, args: &[&str]) -> Out {
    let mut c = Command::new("gpg");
    c.arg("--homedir")
        .arg(home)
        .args(["--batch", "--no-tty"])
        .args(args);
    run_with_stdin(c, b"")
}

impl Key {
    fn new(name: &str) -> Key {
        let home = std::env::temp_dir().join(format!("ks-gpg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let uid = format!("keyseed {name} (TEST-ONLY) <{name}@keyseed.invalid>");
        gpg(
            &home,
            &[
                "--passphrase",
                "",
                "--quick-gen-key",
                &uid,
                "ed25519",
                "sign",
                "never",
            ],
        )
        .ok();
        let key = Key {
            secret: home.join("secret.asc"),
            keyring: home.join("public.gpg"),
            armored: home.join("public.asc"),
            home,
        };
        let export = |args: &[&str], to: &Path| {
            std::fs::write(to, gpg(&key.home, args).ok().stdout).unwrap();
        };
        export(&["--armor", "--export-secret-keys"], &key.secret);
        export(&["--export"], &key.keyring);
        export(&["--armor", "--export"], &key.armored);
        let mut c = Command::new("gpgconf");
        c.arg("--homedir")
            .arg(&key.home)
            .args(["--kill", "gpg-agent"]);
        run_with_stdin(c, b"");
        key
    }
}

/// The release: `scripts/package --sign-key` with a throwaway release key, run twice per test
/// binary (the bytes must not change, signatures included).
pub(crate) struct Release {
    pub dir: PathBuf,
    pub key: Key,
    /// A key that did not sign the release.
    pub other: Key,
}

pub(crate) fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let key = Key::new("release");
        let other = Key::new("other");
        let dir = root().join("dist");
        let run = || {
            let mut c = Command::new(root().join("scripts/package"));
            c.arg("--sign-key").arg(&key.secret).current_dir(root());
            let out = run_with_stdin(c, b"").ok();
            assert!(
                out.stderr.contains("package: signed with"),
                "{}",
                out.stderr
            );
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap())
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap())
                })
                .collect();
            files.sort();
            files
        };
        let first = run();
        let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "SHA256SUMS",
            "SHA256SUMS.asc",
            "keyseed-release.gpg",
            "keyseed-release.asc",
        ] {
            assert!(names.contains(&want), "{names:?}");
        }
        assert_eq!(
            names.iter().filter(|n| n.ends_with(".tar.gz.prov")).count(),
            4,
            "{names:?}"
        );
        assert!(
            first == run(),
            "scripts/package is idempotent and reproducible, signatures included"
        );
        Release { dir, key, other }
    })
}

/// dist/, signed.
fn dist() -> PathBuf {
    release().dir.clone()
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
struct EmptyHelm<'a> {
    bin: PathBuf,
    t: &'a Tmp,
    which: String,
}

impl EmptyHelm<'_> {
    fn new<'a>(t: &'a Tmp, which: &str) -> EmptyHelm<'a> {
        EmptyHelm {
            bin: tool(which),
            t,
            which: which.to_string(),
        }
    }
    fn data(&self) -> PathBuf {
        self.t.path(&format!("{}/data", self.which))
    }
    fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Out {
        let w = &self.which;
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.t.path(&format!("{w}/home")))
            .env("HELM_DATA_HOME", self.data())
            .env("HELM_CONFIG_HOME", self.t.path(&format!("{w}/config")))
            .env("HELM_CACHE_HOME", self.t.path(&format!("{w}/cache")))
            .envs(demo_key_env());
        run_with_stdin(c, stdin)
    }
    fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, b"")
    }
    /// `helm plugin install SOURCE`, verification on (Helm's default), with the release key.
    fn install_verified(&self, source: &str, keyring: &Path, extra: &[&str]) -> Out {
        let mut args = vec![
            "plugin",
            "install",
            source,
            "--keyring",
            keyring.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }
    /// Nothing was installed: no plugin directory, no plugin listed but none.
    #[track_caller]
    fn assert_nothing_installed(&self) {
        let plugins = self.data().join("plugins");
        let dirs: Vec<String> = std::fs::read_dir(&plugins)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(dirs.is_empty(), "installed anyway: {dirs:?}");
        let list = self.run(&["plugin", "list"]).ok().stdout_str();
        assert!(!list.contains("keyseed"), "{list}");
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
fn release_tarballs_are_checksummed_signed_safe_and_carry_a_running_binary() {
    let r = release();
    let dist = dist();
    let mut c = Command::new("sha256sum");
    c.args(["-c", "SHA256SUMS"]).current_dir(&dist);
    let sums = run_with_stdin(c, b"").ok().stdout_str();
    assert_eq!(
        sums.lines().count(),
        8,
        "4 tarballs and their .prov: {sums}"
    );
    // SHA256SUMS.asc verifies with the release key only.
    let gpgv = |keyring: &Path| {
        let mut c = Command::new("gpgv");
        c.arg("--keyring")
            .arg(keyring)
            .arg(dist.join("SHA256SUMS.asc"))
            .arg(dist.join("SHA256SUMS"));
        run_with_stdin(c, b"")
    };
    gpgv(&r.key.keyring).ok();
    gpgv(&r.other.keyring)
        .fails_with_any()
        .stderr_has("No public key");
    // Each .prov is Helm's provenance: the tarball's SHA-256 under its own name and under
    // the NAME-VERSION.tgz name an OCI pull gives it.
    let prov = std::fs::read_to_string(dist.join(format!("{}.prov", tarball("keyseed")))).unwrap();
    let sum = sums_of(&dist)[&tarball("keyseed")].clone();
    assert!(
        prov.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"),
        "{prov}"
    );
    assert!(
        prov.contains(&format!(
            "\n...\nfiles:\n  {}: sha256:{sum}\n  keyseed-{}.tgz: sha256:{sum}\n",
            tarball("keyseed"),
            version()
        )),
        "{prov}"
    );
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

/// `sha256sum` lines of dist/SHA256SUMS: file name to hex digest.
fn sums_of(dist: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(dist.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|l| {
            let (sum, name) = l.split_once("  ").unwrap();
            (name.to_string(), sum.to_string())
        })
        .collect()
}

/// Through the installed plugins: `helm keyseed derive` prints the demo key; `helm template`
/// of the demo chart with `post_renderer` renders it, and so does the CLI plugin reading the
/// plain `helm template` output (`helm keyseed render`); see [`check_render`].
fn derive_then_render(h: &EmptyHelm, post_renderer: &[&str]) {
    let d = h.run(&demo_keyring_derive("base64:32")).ok();
    assert_eq!(d.stdout_str().trim().len(), 44);
    let chart = root().join("charts-example/demo");
    let mut args = vec!["template", "demo", chart.to_str().unwrap()];
    args.extend_from_slice(post_renderer);
    check_render(&h.run(&args).ok());
    let plain = h.run(&["template", "demo", chart.to_str().unwrap()]).ok();
    check_render(&h.run_stdin(&["keyseed", "render"], &plain.stdout).ok());
}

/// Helm 3.17.3 and 3.18.0 (the newest Helm 3 the package registries serve) install the CLI
/// plugin and the Helm 3 getter over HTTP (Helm 3 has no plugin verification).
#[test]
fn helm3_installs_the_cli_plugin_over_http_and_renders_with_its_binary() {
    let dist = dist();
    let server = Server::start(&dist);
    assert_no_keyseed_on_path();
    for which in ["helm3", "helm318"] {
        let t = Tmp::new(&format!("install-{which}"));
        let h = EmptyHelm::new(&t, which);
        h.run(&["plugin", "install", &server.url(&tarball("keyseed"))])
            .ok();
        let plugins = h
            .run(&["env", "HELM_PLUGINS"])
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
        h.run(&[
            "plugin",
            "install",
            &server.url(&tarball("keyseed-getter-helm3")),
        ])
        .ok();
        check_values_render(&h);
    }
}

/// Through the installed getter plugin: the Lightrun-shaped chart of charts-example/values
/// with `-f keyseed:///…/values.keyseed.yaml` (an absolute path).
fn check_values_render(h: &EmptyHelm) {
    let dir = root().join("charts-example/values");
    let url = format!("keyseed://{}", dir.join("values.keyseed.yaml").display());
    let chart = dir.join("chart");
    let out = h
        .run(&["template", "rel", chart.to_str().unwrap(), "-f", &url])
        .ok();
    let v = secret_values(&out.stdout);
    assert_eq!(
        v["rel-backend/encryption-key-0"].len(),
        44,
        "{}",
        out.stderr
    );
    assert!(!out.stdout_str().contains("<keyseed:"));
}

/// Helm's report of a verified install names the release key and the tarball's hash.
#[track_caller]
fn assert_verified(out: &Out, r: &Release, sum: &str) {
    let text = out.stdout_str();
    assert!(
        text.contains("Signed by: keyseed release (TEST-ONLY)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Plugin Hash Verified: sha256:{sum}")),
        "{text}"
    );
    let fpr = gpg(&r.key.home, &["--with-colons", "--fingerprint"])
        .ok()
        .stdout_str();
    let fpr = fpr
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .unwrap()
        .trim_matches(':');
    assert!(text.contains(fpr), "{text}");
}

/// Helm 4.1.4 and 4.2.3 (the newest Helm 4 the registries serve) install the three Helm 4
/// plugins over HTTP with verification on (no `--verify=false`), checking each .prov against
/// the release key, and render through `keyseed-postrender`, the CLI plugin and the getter.
#[test]
fn helm4_installs_signed_plugins_over_http_with_verification_on() {
    let r = release();
    let server = Server::start(&r.dir);
    let sums = sums_of(&r.dir);
    assert_no_keyseed_on_path();
    for which in ["helm4", "helm42"] {
        let t = Tmp::new(&format!("install-{which}"));
        let h = EmptyHelm::new(&t, which);
        for name in ["keyseed", "keyseed-postrender", "keyseed-getter"] {
            let out = h
                .install_verified(&server.url(&tarball(name)), &r.key.keyring, &[])
                .ok();
            assert_verified(&out, r, &sums[&tarball(name)]);
        }
        let list = h.run(&["plugin", "list"]).ok().stdout_str();
        assert_eq!(
            list.lines().filter(|l| l.contains("signed")).count(),
            3,
            "{list}"
        );
        derive_then_render(&h, &["--post-renderer", "keyseed-postrender"]);
        check_values_render(&h);
    }
}

/// What Helm 4 must refuse, each with its own error and nothing installed: a tarball
/// changed by one byte, a .prov signed by another key, no .prov at all (an unsigned
/// release), and the release's own .prov checked against a keyring without the release key.
#[test]
fn helm4_refuses_a_changed_tarball_a_foreign_signature_and_a_missing_prov() {
    let r = release();
    let t = Tmp::new("install-refused");
    let name = tarball("keyseed-postrender");
    let original = std::fs::read(r.dir.join(&name)).unwrap();
    let prov = std::fs::read_to_string(r.dir.join(format!("{name}.prov"))).unwrap();
    // changed/: one byte of the tarball flipped, the release's .prov.
    let mut changed = original.clone();
    let mid = changed.len() / 2;
    changed[mid] ^= 1;
    t.write(&format!("changed/{name}"), &changed);
    t.write(&format!("changed/{name}.prov"), &prov);
    // foreign/: the same signed text, signed by the other key.
    let signed = resign(&t, &prov, &r.other);
    t.write(&format!("foreign/{name}"), &original);
    t.write(&format!("foreign/{name}.prov"), &signed);
    // signed/: the release as it is (checked against the other key's keyring).
    t.write(&format!("signed/{name}"), &original);
    t.write(&format!("signed/{name}.prov"), &prov);
    // missing/: the tarball alone.
    t.write(&format!("missing/{name}"), &original);
    let server = Server::start(&t.0);
    for which in ["helm4", "helm42"] {
        for (dir, keyring, error) in [
            ("changed", &r.key.keyring, "sha256 sum does not match"),
            (
                "foreign",
                &r.key.keyring,
                "signature made by unknown entity",
            ),
            ("missing", &r.key.keyring, "no provenance file"),
            (
                "signed",
                &r.other.keyring,
                "signature made by unknown entity",
            ),
        ] {
            let th = Tmp::new(&format!("refused-{which}-{dir}"));
            let h = EmptyHelm::new(&th, which);
            let url = server.url(&format!("{dir}/{name}"));
            h.install_verified(&url, keyring, &[])
                .fails_with_any()
                .stderr_has("plugin verification failed")
                .stderr_has(error);
            h.assert_nothing_installed();
        }
    }
}

/// `prov`'s signed text, clearsigned again by `key`.
fn resign(t: &Tmp, prov: &str, key: &Key) -> Vec<u8> {
    let body = t.write("body", cleartext(prov));
    let args = ["--digest-algo", "SHA256", "--output", "-", "--clearsign"];
    let mut args = args.to_vec();
    args.push(body.to_str().unwrap());
    gpg(&key.home, &args).ok().stdout
}

/// The text a clearsigned message signs (RFC 4880 7.1: dash-escaped lines unescaped).
fn cleartext(prov: &str) -> String {
    let body = prov.split_once("\n\n").unwrap().1;
    let body = &body[..body.find("\n-----BEGIN PGP SIGNATURE-----").unwrap()];
    body.lines()
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
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

/// The CNCF distribution registry (Debian's docker-registry) on 127.0.0.1, stopped on drop.
struct Registry {
    child: std::process::Child,
    port: u16,
}

impl Registry {
    fn start(t: &Tmp) -> Registry {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = t.write(
            "registry.yml",
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                t.path("registry-data").display()
            ),
        );
        let child = Command::new(tool("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the registry did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        registry
    }
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scripts/publish-oci --plain-http PREFIX --dist DIR`.
fn publish_oci(prefix: &str, dist: &Path) -> Out {
    let mut c = Command::new(tool("python3"));
    c.arg(root().join("scripts/publish-oci"))
        .args(["--plain-http", prefix, "--dist"])
        .arg(dist);
    run_with_stdin(c, b"")
}

/// Helm 4.1.4 and 4.2.3 install the signed plugins from a real OCI registry on 127.0.0.1
/// (`scripts/publish-oci` pushes them), verifying each .prov that travels in the artifact,
/// and render through them; a .prov signed by another key is refused there too, and an
/// unsigned dist/ is never pushed.
#[test]
fn helm4_installs_signed_plugins_from_an_oci_registry() {
    let r = release();
    let t = Tmp::new("oci");
    let registry = Registry::start(&t);
    let out = publish_oci(&format!("{}/keyseed", registry.host()), &r.dir).ok();
    assert_eq!(out.stderr.matches("pushed").count(), 4, "{}", out.stderr);
    // A copy of the release whose post-renderer .prov the other key signed.
    let name = tarball("keyseed-postrender");
    let prov = std::fs::read_to_string(r.dir.join(format!("{name}.prov"))).unwrap();
    let foreign = resign(&t, &prov, &r.other);
    t.write(
        &format!("bad/{name}"),
        std::fs::read(r.dir.join(&name)).unwrap(),
    );
    t.write(&format!("bad/{name}.prov"), &foreign);
    publish_oci(&format!("{}/forged", registry.host()), &t.path("bad")).ok();
    // Unsigned: nothing pushed.
    t.write(
        &format!("unsigned/{name}"),
        std::fs::read(r.dir.join(&name)).unwrap(),
    );
    publish_oci(
        &format!("{}/unsigned", registry.host()),
        &t.path("unsigned"),
    )
    .fails()
    .stderr_has("has no .prov");

    let sums = sums_of(&r.dir);
    let tag = format!("{}-linux-amd64", version());
    assert_no_keyseed_on_path();
    for which in ["helm4", "helm42"] {
        let th = Tmp::new(&format!("oci-{which}"));
        let h = EmptyHelm::new(&th, which);
        for plugin in ["keyseed", "keyseed-postrender", "keyseed-getter"] {
            let source = format!("oci://{}/keyseed/{plugin}:{tag}", registry.host());
            let out = h
                .install_verified(&source, &r.key.keyring, &["--plain-http"])
                .ok();
            assert_verified(&out, r, &sums[&tarball(plugin)]);
        }
        derive_then_render(&h, &["--post-renderer", "keyseed-postrender"]);
        check_values_render(&h);

        let th = Tmp::new(&format!("oci-forged-{which}"));
        let h = EmptyHelm::new(&th, which);
        let source = format!("oci://{}/forged/keyseed-postrender:{tag}", registry.host());
        h.install_verified(&source, &r.key.keyring, &["--plain-http"])
            .fails_with_any()
            .stderr_has("signature made by unknown entity");
        h.assert_nothing_installed();
    }
}

/// Runs the steps of the composite action in action.yml the way a GitHub runner does: each
/// `run:` as `bash --noprofile --norc -eo pipefail FILE` with the step's `env:` (the
/// `${{ … }}` expressions it uses filled in), GITHUB_PATH lines put in front of PATH for the
/// steps after. Returns the last step's result (or the first failing one's).
fn run_action(t: &Tmp, inputs: &[(&str, &str)], stdin: &[u8]) -> Out {
    let action = yaml11_json(&std::fs::read(root().join("action.yml")).unwrap());
    let action = &action[0];
    assert_eq!(action["runs"]["using"], "composite");
    let input = |name: &str| -> String {
        inputs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .or_else(|| action["inputs"][name]["default"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("action.yml has no input {name}"))
    };
    let runner_temp = t.path("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let github_path = t.write("github-path", "");
    let github_output = t.write("github-output", "");
    let expr = |e: &str| -> String {
        let e = e.trim();
        if let Some(name) = e.strip_prefix("inputs.") {
            input(name)
        } else {
            match e {
                "github.action_repository" => "keyseed/keyseed".into(),
                "runner.temp" => runner_temp.display().to_string(),
                other => panic!("the test does not know the expression {other}"),
            }
        }
    };
    let fill = |v: &str| -> String {
        let mut out = String::new();
        let mut rest = v;
        while let Some(i) = rest.find("${{") {
            out.push_str(&rest[..i]);
            let j = rest[i..].find("}}").unwrap() + i;
            out.push_str(&expr(&rest[i + 3..j]));
            rest = &rest[j + 2..];
        }
        out + rest
    };
    let mut last = None;
    for (n, step) in action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(step["shell"], "bash");
        let script = t.write(&format!("step-{n}.sh"), step["run"].as_str().unwrap());
        let extra: String = std::fs::read_to_string(&github_path)
            .unwrap()
            .lines()
            .map(|l| format!("{l}:"))
            .collect();
        let mut c = Command::new("bash");
        c.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .current_dir(t.path("workspace"))
            .env_clear()
            .env("PATH", format!("{extra}/usr/bin:/bin"))
            .env("HOME", t.path("home"))
            .env("GITHUB_ACTION_PATH", root())
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_OUTPUT", &github_output)
            .env("RUNNER_TEMP", &runner_temp)
            .envs(demo_key_env());
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                c.env(k, fill(v.as_str().unwrap()));
            }
        }
        let out = run_with_stdin(c, stdin);
        let failed = out.code != Some(0);
        last = Some(out);
        if failed {
            break;
        }
    }
    last.unwrap()
}

/// The GitHub Action's own shell steps, against the release served on 127.0.0.1: install
/// a signature-verified release (optionally checksum-pinned), run `keyseed check` and
/// `keyseed render` (into a file, never the job log); a SHA256SUMS not signed by the key,
/// a wrong pin or a render without `output:` fail with nothing installed or written.
#[test]
fn ci_action_installs_a_verified_release_and_runs_check_and_render() {
    let r = release();
    let server = Server::start(&r.dir);
    let t = Tmp::new("action");
    std::fs::create_dir_all(t.path("workspace")).unwrap();
    let plain = Command::new(tool("helm3"))
        .args(["template", "demo"])
        .arg(root().join("charts-example/demo"))
        .env("HOME", t.path("home"))
        .output()
        .unwrap();
    assert!(plain.status.success());
    t.write("workspace/rendered.yaml", &plain.stdout);
    let url = server.url("").trim_end_matches('/').to_string();
    let key = r.key.armored.display().to_string();
    let sum = sums_of(&r.dir)[&tarball("keyseed")].clone();
    let version = version();
    let base = [
        ("version", version.as_str()),
        ("release-url", url.as_str()),
        ("public-key", key.as_str()),
    ];
    let with = |more: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = base.to_vec();
        v.extend_from_slice(more);
        v
    };

    // check, pinned to the right SHA-256: installs into RUNNER_TEMP and puts it on PATH.
    let mut inputs = with(&[("run", "check"), ("input", "rendered.yaml")]);
    inputs.push(("sha256", &sum));
    let out = run_action(&t, &inputs, b"");
    let out = out.ok();
    let installed = t.path(&format!("runner-temp/keyseed-{version}/keyseed"));
    assert!(installed.is_file());
    let path = std::fs::read_to_string(t.path("github-path")).unwrap();
    assert_eq!(
        path.trim(),
        installed.parent().unwrap().display().to_string()
    );
    let output = std::fs::read_to_string(t.path("github-output")).unwrap();
    assert!(
        output.contains(&format!("path={}", installed.parent().unwrap().display())),
        "{output}"
    );
    assert!(out.stdout.is_empty(), "check prints nothing on stdout");

    // render into a file.
    let out = run_action(
        &t,
        &with(&[
            ("run", "render"),
            ("input", "rendered.yaml"),
            ("output", "out.yaml"),
        ]),
        b"",
    )
    .ok();
    assert!(out.stdout.is_empty(), "no Secret value in the job log");
    let rendered = std::fs::read(t.path("workspace/out.yaml")).unwrap();
    check_render(&Out {
        code: Some(0),
        stdout: rendered,
        stderr: String::new(),
    });

    // render without output: refused before keyseed runs.
    run_action(
        &t,
        &with(&[("run", "render"), ("input", "rendered.yaml")]),
        b"",
    )
    .fails()
    .stderr_has("give output: FILE");

    // Failures install nothing (a fresh runner each).
    let refused = |inputs: &[(&str, &str)], error: &str| {
        let t = Tmp::new("action-refused");
        std::fs::create_dir_all(t.path("workspace")).unwrap();
        run_action(&t, inputs, b"").fails().stderr_has(error);
        assert!(!t.path(&format!("runner-temp/keyseed-{version}")).exists());
        assert_eq!(std::fs::read_to_string(t.path("github-path")).unwrap(), "");
    };
    let wrong_pin = "0".repeat(64);
    let mut inputs = with(&[("run", "check")]);
    inputs.push(("sha256", &wrong_pin));
    refused(&inputs, "not the pinned KEYSEED_SHA256");
    let other = r.other.armored.display().to_string();
    let mut inputs = with(&[("run", "check")]);
    inputs.retain(|(k, _)| *k != "public-key");
    inputs.push(("public-key", &other));
    refused(&inputs, "is not signed by the release key");
    // No key given and none committed (ci/release-key.asc) yet.
    let mut inputs = with(&[("run", "check")]);
    inputs.retain(|(k, _)| *k != "public-key");
    assert!(!root().join("ci/release-key.asc").exists());
    refused(&inputs, "no release public key at");
    // A release whose SHA256SUMS was edited after signing (the tarball swapped for another).
    let forged = Tmp::new("forged-release");
    for f in ["SHA256SUMS.asc", &tarball("keyseed-postrender")] {
        std::fs::copy(r.dir.join(f), forged.path(f)).unwrap();
    }
    let sums = std::fs::read_to_string(r.dir.join("SHA256SUMS")).unwrap();
    let swapped = sums_of(&r.dir)[&tarball("keyseed-postrender")].clone();
    forged.write("SHA256SUMS", sums.replace(&sum, &swapped));
    std::fs::copy(
        r.dir.join(tarball("keyseed-postrender")),
        forged.path(&tarball("keyseed")),
    )
    .unwrap();
    let forged_server = Server::start(&forged.0);
    let forged_url = forged_server.url("").trim_end_matches('/').to_string();
    let mut inputs = with(&[("run", "check")]);
    inputs.retain(|(k, _)| *k != "release-url");
    inputs.push(("release-url", &forged_url));
    refused(&inputs, "is not signed by the release key");
    // A tarball that does not match its signed line.
    let mut inputs = with(&[("run", "check")]);
    let swapped_dir = Tmp::new("swapped-release");
    for f in ["SHA256SUMS", "SHA256SUMS.asc"] {
        std::fs::copy(r.dir.join(f), swapped_dir.path(f)).unwrap();
    }
    std::fs::copy(
        r.dir.join(tarball("keyseed-postrender")),
        swapped_dir.path(&tarball("keyseed")),
    )
    .unwrap();
    let swapped_server = Server::start(&swapped_dir.0);
    let swapped_url = swapped_server.url("").trim_end_matches('/').to_string();
    inputs.retain(|(k, _)| *k != "release-url");
    inputs.push(("release-url", &swapped_url));
    refused(&inputs, "does not match its signed checksum");
}

/// The pre-commit hook's entry (`language: script`: pre-commit runs the file with the hook's
/// args, then the staged file names): a verified install, `keyseed check` per file, the
/// failing file named, exit 1; a good file alone passes.
#[test]
fn pre_commit_hook_checks_each_file_with_a_verified_release() {
    let r = release();
    let server = Server::start(&r.dir);
    let t = Tmp::new("pre-commit");
    let hooks = yaml11_json(&std::fs::read(root().join(".pre-commit-hooks.yaml")).unwrap());
    let hook = &hooks[0][0];
    assert_eq!(hook["id"], "keyseed-check");
    assert_eq!(hook["language"], "script");
    let entry = root().join(hook["entry"].as_str().unwrap());
    let good = t.write(
        "good.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData:\n  key: \"<keyseed:base64:32>\"\n",
    );
    let bad = t.write(
        "bad.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData:\n  key: \"<keyseed:base64:0>\"\n",
    );
    let url = format!("--release-url={}", server.url("").trim_end_matches('/'));
    let key = format!("--public-key={}", r.key.armored.display());
    let version = format!("--version={}", version());
    let run = |files: &[&Path]| {
        let mut c = Command::new(&entry);
        c.args([&version, &url, &key])
            .args(files)
            .current_dir(t.path(""))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", t.path("home"))
            .env("XDG_CACHE_HOME", t.path("cache"));
        run_with_stdin(c, b"")
    };
    let out = run(&[&good, &bad]).fails_with_any();
    assert_eq!(out.code, Some(1));
    let err = out.stderr.clone();
    assert!(err.contains(&format!("{}: error:", bad.display())), "{err}");
    assert!(
        !err.contains(&format!("{}: error:", good.display())),
        "{err}"
    );
    run(&[&good]).ok();
    assert!(t
        .path(&format!("cache/keyseed-ci/{}/keyseed", self::version()))
        .is_file());
}
