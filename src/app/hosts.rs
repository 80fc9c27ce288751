//! What keyseed must do differently for each host: Argo CD's path guard (an Application may
//! only name files in its own repository), the error file Helm 4 needs (it discards a
//! post-renderer's stderr), and the kustomize legacy exec plugin's config file.

use std::path::{Path, PathBuf};

use crate::k8s::krm::{self, FunctionSettings, KrmError};

/// A host contract keyseed refuses to break.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Under Argo CD, a path outside the Application's repository.
    #[error("refusing {what} `{}` under Argo CD: {why}", path.display())]
    ArgoPath {
        /// `seed file`, `config file`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The kustomize plugin config cannot be read.
    #[error("cannot read kustomize plugin config `{}`", path.display())]
    PluginRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The kustomize plugin config is not a `KeyseedTransformer`.
    #[error("kustomize plugin config `{}`", path.display())]
    PluginConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: KrmError,
    },
}

impl HostError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            HostError::ArgoPath { .. } => {
                Some("Applications may only name files inside their own repository".into())
            }
            HostError::PluginConfig { .. } => Some(
                "expected `kind: KeyseedTransformer` with optional spec.scope, spec.namespace, spec.seed"
                    .into(),
            ),
            HostError::PluginRead { .. } => None,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `$XDG_CACHE_HOME/keyseed/last-error.txt`, else `~/.cache/keyseed/last-error.txt`.
pub fn default_error_file() -> Option<PathBuf> {
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("keyseed").join("last-error.txt"))
}

/// Whether keyseed runs as a Helm plugin (Helm sets `HELM_PLUGIN_NAME` for plugins).
pub fn under_helm_plugin() -> bool {
    env("HELM_PLUGIN_NAME").is_some()
}

/// The first line of every error file keyseed writes: only a file that starts with it is
/// ever replaced or removed, so `--error-file notes.txt` cannot clobber a user's file.
pub const ERROR_FILE_MARK: &str = "# keyseed: the error of the last failed run\n";

/// Whether the file at `path` is an error file keyseed wrote (read without following a
/// symbolic link).
fn is_our_error_file(path: &Path) -> bool {
    use std::io::Read;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    let Ok(f) = opts.open(path) else { return false };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = vec![0u8; ERROR_FILE_MARK.len()];
    f.take(head.len() as u64).read_exact(&mut head).is_ok() && head == ERROR_FILE_MARK.as_bytes()
}

/// Helm 4 discards a post-renderer's stderr, even on failure: keep the error where the user
/// can read it (`keyseed last-error`, `helm keyseed last-error`), and on a terminal show it.
/// Errors never hold secret values; the file is still private (0600). A symbolic link or a
/// file keyseed did not write is never written through or replaced.
pub fn record_error(path: &Path, text: &str) {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let exists = std::fs::symlink_metadata(path).is_ok();
    if !exists || is_our_error_file(path) {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true)
            .truncate(true)
            .create(!exists)
            .create_new(!exists);
        #[cfg(unix)]
        {
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
        }
        if let Ok(mut f) = opts.open(path) {
            let _ = f.write_all(format!("{ERROR_FILE_MARK}{text}").as_bytes());
        }
    }
    if under_helm_plugin() {
        if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            let _ = write!(tty, "keyseed (post-renderer) failed:\n{text}");
        }
    }
}

/// After a successful run: removes the error file, if keyseed wrote it.
pub fn clear_error(path: &Path) {
    if is_our_error_file(path) {
        let _ = std::fs::remove_file(path);
    }
}

/// Reads a kustomize legacy exec plugin's config file (`kind: KeyseedTransformer`).
pub fn legacy_plugin_settings(path: &Path) -> Result<FunctionSettings, HostError> {
    let text = crate::io::read_regular_text(path, crate::io::MAX_SMALL_FILE).map_err(|source| {
        HostError::PluginRead {
            path: path.to_path_buf(),
            source,
        }
    })?;
    krm::from_legacy_config(&text).map_err(|source| HostError::PluginConfig {
        path: path.to_path_buf(),
        source,
    })
}

/// Under Argo CD (`ARGOCD_APP_NAME` set), paths an Application may choose (through
/// `ARGOCD_ENV_*` → `--seed`, `--config`, a KRM functionConfig's or plugin config's `seed`, the
/// config's `seed:`, an implicit `./keyseed.yaml`) must stay inside the repository the sidecar
/// received: not absolute, no symbolic link on the way, and inside the repository root, which
/// is the real working directory minus `ARGOCD_APP_SOURCE_PATH` (normalised: `x/../app` is
/// `app`). Otherwise one tenant could render with another tenant's seed through the shared
/// identity. Anything unclear is refused.
pub fn check_argocd_path(path: &Path, what: &'static str) -> Result<(), HostError> {
    guard(path, what, false, repository_root)
}

/// Whether keyseed runs under Argo CD: `ARGOCD_APP_NAME` is set (a CMP, and Helm where Argo
/// CD passes its build environment on), or the repo-server sets `KEYSEED_ARGOCD=true` (the
/// getter recipe does: Argo CD does not promise to pass the build environment to Helm's
/// getter plugins).
pub fn under_argocd() -> bool {
    env("ARGOCD_APP_NAME").is_some()
        || env("KEYSEED_ARGOCD").is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes"))
}

/// The nearest directory from `dir` upwards that holds `.git` (Argo CD's checkouts do).
fn git_root(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
}

/// The repository a file lies in: [`git_root`] of its directory, on the real path (links
/// resolved).
pub fn repository_of(file: &Path) -> Option<PathBuf> {
    let real = file.canonicalize().ok()?;
    git_root(real.parent()?).map(Path::to_path_buf)
}

/// Under Argo CD, the values file a `keyseed://PATH` URL names must lie in the repository
/// Helm runs in (the working directory's, see [`check_argocd_path`]; without
/// `ARGOCD_APP_SOURCE_PATH`, the working directory's git checkout): PATH relative, no
/// symbolic link on the way, not leaving the repository. A URL is text an Application
/// chooses; Argo CD checks plain value file paths itself but passes URLs on unchecked.
pub fn check_getter_path(path: &Path) -> Result<(), HostError> {
    if env("ARGOCD_APP_SOURCE_PATH").is_some() {
        return check_argocd_path(path, "values file");
    }
    guard(path, "values file", false, |cwd| {
        git_root(cwd)
            .map(Path::to_path_buf)
            .ok_or_else(|| "the working directory is in no git checkout".to_string())
    })
}

/// Under Argo CD, a seed or config file a values file uses must lie in that values file's
/// repository (`root`): no symbolic link on the way, not leaving it. One tenant's values
/// file cannot open another tenant's seed through the repo-server's shared identity.
pub fn check_values_companion(
    root: Option<&Path>,
    path: &Path,
    what: &'static str,
) -> Result<(), HostError> {
    guard(path, what, true, |_| {
        let root = root.ok_or_else(|| "the values file is in no git checkout".to_string())?;
        root.canonicalize().map_err(|e| e.to_string())
    })
}

/// The Argo CD path guard: off outside Argo CD; else `path` (absolute only where
/// `absolute_ok`) must stay [`inside`] the repository `root` finds from the real working
/// directory. Every refusal names `what` and `path`.
fn guard(
    path: &Path,
    what: &'static str,
    absolute_ok: bool,
    root: impl FnOnce(&Path) -> Result<PathBuf, String>,
) -> Result<(), HostError> {
    if !under_argocd() {
        return Ok(());
    }
    let refuse = |why: String| HostError::ArgoPath {
        what,
        path: path.to_path_buf(),
        why,
    };
    if path.is_absolute() && !absolute_ok {
        return Err(refuse("the path is absolute".into()));
    }
    let cwd = std::env::current_dir()
        .and_then(|c| c.canonicalize())
        .map_err(|e| refuse(e.to_string()))?;
    let root = root(&cwd).map_err(refuse)?;
    inside(&root, &cwd, path).map_err(refuse)
}

/// Whether `path` (relative to `cwd` unless absolute) stays inside `root`, walked lexically
/// (the file may not exist) with no symbolic link on the way and, for a relative path, never
/// leaving `root` on the way; and its real path, when it exists, inside too.
fn inside(root: &Path, cwd: &Path, path: &Path) -> Result<(), String> {
    let mut cur = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        cwd.to_path_buf()
    };
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                cur.pop();
            }
            std::path::Component::Normal(n) => {
                cur.push(n);
                if cur.starts_with(root)
                    && std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink())
                {
                    return Err("it goes through a symbolic link".into());
                }
            }
            _ => {}
        }
        // Relative paths start inside; one that leaves the repository on the way is refused
        // even if it comes back (`../repo/x` through a directory outside).
        if !path.is_absolute() && !cur.starts_with(root) {
            return Err("it is outside the repository".into());
        }
    }
    if !cur.starts_with(root) {
        return Err("it is outside the repository".into());
    }
    if let Ok(real) = cwd.join(path).canonicalize() {
        if !real.starts_with(root) {
            return Err("it is outside the repository".into());
        }
    }
    Ok(())
}

/// The repository root: the working directory without `ARGOCD_APP_SOURCE_PATH`, which Argo
/// CD passes as written in the Application (it may hold `.` and `..`).
fn repository_root(cwd: &Path) -> Result<PathBuf, String> {
    let src = env("ARGOCD_APP_SOURCE_PATH").unwrap_or_default();
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(&src).components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "ARGOCD_APP_SOURCE_PATH `{src}` leaves the repository"
                    ));
                }
            }
            _ => return Err(format!("ARGOCD_APP_SOURCE_PATH `{src}` is absolute")),
        }
    }
    let rel: PathBuf = parts.iter().collect();
    if !cwd.ends_with(&rel) {
        return Err(format!(
            "the working directory does not end with ARGOCD_APP_SOURCE_PATH `{src}`"
        ));
    }
    let mut root = cwd.to_path_buf();
    for _ in &parts {
        root.pop();
    }
    Ok(root)
}
