//! Test harness: run the real `keyseed` binary with a clean environment, temp dirs, the
//! TEST-ONLY fixtures of charts-example/, and the host tools installed by
//! `scripts/install-hosts` (a missing tool fails the test: it never skips).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The checkout.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The TEST-ONLY seed of charts-example/.
pub fn demo_seed() -> PathBuf {
    root().join("charts-example/keyseed.age")
}

/// The TEST-ONLY age identity that opens [`demo_seed`].
pub fn demo_identity() -> PathBuf {
    root().join("charts-example/identity.TEST-ONLY.txt")
}

/// The arguments of `helm keyseed derive SPEC` for the demo chart's encryption keyring
/// (`demo-demo-keys`, keys `encryption-key-{gen}`).
pub fn demo_keyring_derive(spec: &str) -> [&str; 5] {
    [
        "keyseed",
        "derive",
        spec,
        "--id",
        "/demo-demo-keys/encryption-key-{gen}",
    ]
}

/// `KEYSEED_SEED_FILE` and `KEYSEED_AGE_KEY_FILE` pointing at the demo seed and identity,
/// for a `Command` that runs keyseed through a host (`Command::envs`).
pub fn demo_key_env() -> [(&'static str, PathBuf); 2] {
    [
        ("KEYSEED_SEED_FILE", demo_seed()),
        ("KEYSEED_AGE_KEY_FILE", demo_identity()),
    ]
}

/// A host tool from `.cache/hosts/bin` (or, for kpt/openssl/ssh-keygen, the machine).
pub fn tool(name: &str) -> PathBuf {
    let p = root().join(".cache/hosts/bin").join(name);
    if p.exists() {
        return p;
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let c = Path::new(dir).join(name);
        if c.exists() && matches!(name, "kpt" | "openssl" | "ssh-keygen" | "python3") {
            return c;
        }
    }
    panic!("host tool `{name}` is missing: run scripts/install-hosts (scripts/test does)");
}

/// PYTHONPATH with the PyPI packages scripts/install-hosts put in .cache/hosts/py.
pub fn pythonpath() -> String {
    root().join(".cache/hosts/py").display().to_string()
}

/// A fresh directory for one test.
pub struct Tmp(pub PathBuf);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Tmp {
    pub fn new(name: &str) -> Tmp {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = root()
            .join("target/it-tmp")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// What a process did.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success; stderr:\n{}",
            self.stderr
        );
        self
    }
    /// Exit 1 with nothing on stdout.
    #[track_caller]
    pub fn fails(self) -> Self {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit 1; stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "stdout must be empty on failure, got {} bytes",
            self.stdout.len()
        );
        self
    }
    /// Any non-zero exit (another program's failure).
    #[track_caller]
    pub fn fails_with_any(self) -> Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a failure; stdout:\n{}",
            String::from_utf8_lossy(&self.stdout)
        );
        self
    }
    #[track_caller]
    pub fn stderr_lacks(self, s: &str) -> Self {
        assert!(
            !self.stderr.contains(s),
            "stderr has {s:?}:\n{}",
            self.stderr
        );
        self
    }
    #[track_caller]
    pub fn stderr_has(self, s: &str) -> Self {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// `got == want` for secret-bearing bytes (rendered streams, values) without printing either:
/// a failing test names `what`, never a value (even the TEST-ONLY seed's).
#[track_caller]
pub fn assert_same(got: impl AsRef<[u8]>, want: impl AsRef<[u8]>, what: &str) {
    assert!(
        got.as_ref() == want.as_ref(),
        "{what}: differs from what was expected (values not shown)"
    );
}

/// `a != b` for secret-bearing bytes, printing neither side on failure.
#[track_caller]
pub fn assert_differs(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>, what: &str) {
    assert!(
        a.as_ref() != b.as_ref(),
        "{what}: unexpectedly equal (values not shown)"
    );
}

/// A `keyseed` invocation with a clean environment (no KEYSEED_*, HOME in a temp dir).
pub struct Ks {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    stdin: Vec<u8>,
    _home: Tmp,
}

pub fn ks(args: &[&str]) -> Ks {
    let home = Tmp::new("home");
    let mut env = BTreeMap::new();
    env.insert("HOME".into(), home.0.display().to_string());
    env.insert(
        "XDG_CONFIG_HOME".into(),
        home.path(".config").display().to_string(),
    );
    Ks {
        args: args.iter().map(|s| s.to_string()).collect(),
        env,
        cwd: None,
        stdin: Vec::new(),
        _home: home,
    }
}

impl Ks {
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.args.push(a.as_ref().to_string_lossy().into_owned());
        self
    }
    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.env
            .insert(k.into(), v.as_ref().to_string_lossy().into_owned());
        self
    }
    pub fn cwd(mut self, d: &Path) -> Self {
        self.cwd = Some(d.to_path_buf());
        self
    }
    pub fn stdin(mut self, s: impl AsRef<[u8]>) -> Self {
        self.stdin = s.as_ref().to_vec();
        self
    }
    /// The TEST-ONLY seed and identity of charts-example/.
    pub fn demo_keys(self) -> Self {
        self.env("KEYSEED_SEED_FILE", demo_seed())
            .env("KEYSEED_AGE_KEY_FILE", demo_identity())
    }
    pub fn home(&self) -> PathBuf {
        self._home.0.clone()
    }
    /// The command, not run (for a caller that sets stdin itself); the temporary home
    /// lives as long as the returned guard.
    pub fn command(self) -> (Command, Tmp) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyseed"));
        cmd.args(&self.args);
        for (k, _) in std::env::vars() {
            if k.starts_with("KEYSEED_") || k == "XDG_CONFIG_HOME" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(&self.env);
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        (cmd, self._home)
    }
    pub fn run(mut self) -> Out {
        let stdin = std::mem::take(&mut self.stdin);
        let (cmd, _home) = self.command();
        run_with_stdin(cmd, &stdin)
    }
}

/// Runs a command feeding `stdin`, collecting everything.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Out {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a host tool.
pub fn host(name: &str, args: &[&str], stdin: &[u8]) -> Out {
    let mut cmd = Command::new(tool(name));
    cmd.args(args);
    cmd.env("PYTHONPATH", pythonpath());
    run_with_stdin(cmd, stdin)
}

/// A new age identity made by Go `age-keygen` in `t/name`: (file, public key).
pub fn age_keygen(t: &Tmp, name: &str) -> (PathBuf, String) {
    let path = t.path(name);
    let out = host("age-keygen", &["-o", path.to_str().unwrap()], b"").ok();
    let public = out
        .stderr
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    (path, public)
}

/// A new unencrypted ssh-ed25519 key made by `ssh-keygen` at `t/name`: (private key file,
/// public key line).
pub fn ssh_keygen(t: &Tmp, name: &str) -> (PathBuf, String) {
    let path = t.path(name);
    host(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            path.to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    let public = std::fs::read_to_string(t.path(&format!("{name}.pub"))).unwrap();
    (path, public.trim().to_string())
}

/// Runs a Python snippet with the project's PyPI packages.
pub fn python(code: &str, stdin: &[u8]) -> Out {
    host("python3", &["-c", code], stdin)
}

/// Loads every document of a YAML stream with PyYAML (a YAML 1.1 reader, like go-yaml v2)
/// and returns them as JSON, so tests compare meaning, not bytes. A mapping that repeats a
/// key fails, as it does in go-yaml (Kubernetes).
pub fn yaml11_json(stream: &[u8]) -> serde_json::Value {
    yaml11_json_many(&[stream.to_vec()]).remove(0)
}

/// [`yaml11_json`] for many streams in one Python run.
pub fn yaml11_json_many(streams: &[Vec<u8>]) -> Vec<serde_json::Value> {
    let input: Vec<String> = streams
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let out = python(
        "import sys, yaml, json\n\
         class Strict(yaml.SafeLoader):\n\
         \x20   def construct_mapping(self, node, deep=False):\n\
         \x20       seen = set()\n\
         \x20       for k, _ in node.value:\n\
         \x20           if k.tag == 'tag:yaml.org,2002:merge':\n\
         \x20               continue\n\
         \x20           key = self.construct_object(k, deep=True)\n\
         \x20           if key in seen:\n\
         \x20               raise yaml.constructor.ConstructorError(None, None, 'duplicate key %r' % (key,), k.start_mark)\n\
         \x20           seen.add(key)\n\
         \x20       return super().construct_mapping(node, deep)\n\
         out = [list(yaml.load_all(s, Loader=Strict)) for s in json.load(sys.stdin)]\n\
         print(json.dumps(out, default=str))",
        serde_json::to_string(&input).unwrap().as_bytes(),
    );
    assert_eq!(out.code, Some(0), "PyYAML failed: {}", out.stderr);
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

/// The Secrets' plain values of a rendered stream, by `name/key` (data base64-decoded).
pub fn secret_values(stream: &[u8]) -> BTreeMap<String, String> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    let docs = yaml11_json(stream);
    let mut stack: Vec<serde_json::Value> = docs.as_array().unwrap().clone();
    while let Some(d) = stack.pop() {
        if let Some(items) = d.get("items").and_then(|i| i.as_array()) {
            stack.extend(items.iter().cloned());
        }
        if d.get("kind").and_then(|k| k.as_str()) != Some("Secret") {
            continue;
        }
        let name = d["metadata"]["name"].as_str().unwrap_or("").to_string();
        if let Some(sd) = d.get("stringData").and_then(|s| s.as_object()) {
            for (k, v) in sd {
                out.insert(
                    format!("{name}/{k}"),
                    v.as_str().map(String::from).unwrap_or(v.to_string()),
                );
            }
        }
        if let Some(sd) = d.get("data").and_then(|s| s.as_object()) {
            for (k, v) in sd {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap_or("").replace('\n', ""))
                    .unwrap_or_default();
                out.insert(
                    format!("{name}/{k}"),
                    String::from_utf8_lossy(&raw).into_owned(),
                );
            }
        }
    }
    out
}

/// A project directory with its own seed and a new identity, as `keyseed init` makes it:
/// (directory, identity file).
pub fn init_project(name: &str) -> (Tmp, PathBuf) {
    let t = Tmp::new(name);
    let id = t.path("me.txt");
    ks(&["init", "--identity-out"])
        .arg(&id)
        .cwd(&t.0)
        .run()
        .ok();
    (t, id)
}

/// [`init_project`], then `render --lock keyseed.lock --update-lock` of `input` in it:
/// (directory, identity file, lock file).
pub fn locked_project(name: &str, input: &str) -> (Tmp, PathBuf, PathBuf) {
    let (t, id) = init_project(name);
    let lock = t.path("keyseed.lock");
    let l = lock.to_str().unwrap();
    in_project(&t, &id, &["render", "--lock", l, "--update-lock"], input).ok();
    (t, id, lock)
}

/// keyseed run in project `t` with identity `id`: `args`, then `-i ID`, with `stdin`.
pub fn in_project(t: &Tmp, id: &Path, args: &[&str], stdin: &str) -> Out {
    ks(args).arg("-i").arg(id).cwd(&t.0).stdin(stdin).run()
}

/// [`in_project`] on a thread of its own, for tests of writers that race.
pub fn spawn_in_project(
    t: &Tmp,
    id: &Path,
    args: &[&str],
    stdin: &str,
) -> std::thread::JoinHandle<Out> {
    let (dir, id, stdin) = (t.0.clone(), id.to_path_buf(), stdin.to_string());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ks(&args).arg("-i").arg(&id).cwd(&dir).stdin(stdin).run()
    })
}

/// Runs the `generate` command of the Argo CD CMP `plugin_yaml` exactly as argocd-cmp-server
/// does: exec(command + args) with cwd = `app_dir` (the Application's source directory),
/// Argo CD's build environment, `path_dir` (holding `helm` and `keyseed`) first on PATH, the
/// demo identity as the sidecar's key, and `env` (e.g. `ARGOCD_ENV_KEYSEED_SEED`).
pub fn cmp_generate(
    plugin_yaml: &Path,
    app_dir: &Path,
    path_dir: &Path,
    t: &Tmp,
    env: &[(&str, &std::ffi::OsStr)],
) -> Out {
    let cmp = yaml11_json(&std::fs::read(plugin_yaml).unwrap());
    let gen = &cmp[0]["spec"]["generate"];
    let argv: Vec<&str> = [&gen["command"], &gen["args"]]
        .iter()
        .flat_map(|list| list.as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..])
        .current_dir(app_dir)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", path_dir.display()))
        .env("HOME", t.path("home"))
        .env("HELM_CACHE_HOME", t.path("helmhome/cache"))
        .env("HELM_CONFIG_HOME", t.path("helmhome/config"))
        .env("HELM_DATA_HOME", t.path("helmhome/data"))
        .env("ARGOCD_APP_NAME", "demo")
        .env("ARGOCD_APP_NAMESPACE", "demo")
        .env("ARGOCD_APP_PROJECT_NAME", "default")
        .env("ARGOCD_APP_REVISION", "0123456789abcdef")
        .env("ARGOCD_APP_SOURCE_PATH", "charts-example/demo")
        .env("KUBE_VERSION", "1.31.0")
        .env(
            "KUBE_API_VERSIONS",
            "v1,apps/v1,batch/v1,networking.k8s.io/v1",
        )
        .env("KEYSEED_AGE_KEY_FILE", demo_identity())
        .envs(env.iter().copied());
    run_with_stdin(c, b"")
}

/// Decrypts every SOPS document of a stream with the real `sops` and `identity` (as Flux's
/// kustomize-controller does, resource by resource); other documents pass as they are.
/// Returns the decrypted stream.
pub fn sops_decrypt_each(t: &Tmp, stream: &str, identity: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, doc) in stream.split("\n---\n").enumerate() {
        let doc = doc.strip_prefix("---\n").unwrap_or(doc);
        out.extend_from_slice(b"---\n");
        if doc.contains("\nsops:\n") {
            let f = t.write(&format!("sops-doc-{i}.yaml"), doc);
            let mut d = Command::new(tool("sops"));
            d.args(["--decrypt", "--input-type", "yaml", "--output-type", "yaml"])
                .arg(&f)
                .env_clear()
                .env("SOPS_AGE_KEY_FILE", identity)
                .env("HOME", t.path("home"));
            let dec = run_with_stdin(d, b"");
            assert_eq!(
                dec.code,
                Some(0),
                "sops could not decrypt document {i}: {}",
                dec.stderr
            );
            out.extend_from_slice(&dec.stdout);
        } else {
            out.extend_from_slice(doc.as_bytes());
            if !doc.ends_with('\n') {
                out.push(b'\n');
            }
        }
    }
    out
}

/// Copies a directory tree (symbolic links as links).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dest).unwrap();
        } else if ft.is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}
