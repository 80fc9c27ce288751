//! Raw arguments + environment → the one resolved [`Settings`] every command reads.
//!
//! This is the only module that reads `KEYSEED_*` variables other than through clap, and it
//! never opens the seed: it only decides *where* things are.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::inject::PlanContext;
use crate::keys::{IdentitySources, SeedPath};
use crate::secret::SecretValue;

/// Resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// Where the seed file is and how that was decided.
    pub seed: SeedPath,
    /// Where identities may come from.
    pub identities: IdentitySources,
    /// Scope and namespace for planning.
    pub plan: PlanContext,
    /// Where errors are also written, if anywhere.
    pub error_file: Option<PathBuf>,
    /// Which of scope, namespace and seed were set by a flag or `KEYSEED_*` (these win over
    /// a KRM `functionConfig`).
    pub explicit: Explicit,
    /// `keyseed.yaml`, when there is one.
    pub config: Option<crate::config::Config>,
    /// `--now`: the time TLS checks use (RFC 3339).
    pub now: Option<String>,
}

/// Settings given on the command line or in the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    /// `--scope` / `KEYSEED_SCOPE`.
    pub scope: bool,
    /// `--namespace` / `KEYSEED_NAMESPACE`.
    pub namespace: bool,
    /// `--seed` / `KEYSEED_SEED_FILE`.
    pub seed: bool,
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

/// `$XDG_CONFIG_HOME/keyseed/keys.txt`, else `~/.config/keyseed/keys.txt`.
pub fn default_identity_file() -> Option<PathBuf> {
    if let Some(x) = env("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(x).join("keyseed").join("keys.txt"));
    }
    env("HOME").map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("keyseed")
            .join("keys.txt")
    })
}

impl Settings {
    /// Resolves global arguments and the environment.
    pub fn resolve(g: &GlobalArgs) -> Settings {
        let seed = match &g.seed {
            Some(p) => SeedPath {
                path: p.clone(),
                origin: "--seed / KEYSEED_SEED_FILE",
            },
            None => SeedPath {
                path: PathBuf::from("keyseed.age"),
                origin: "the default ./keyseed.age",
            },
        };
        let identities = IdentitySources {
            files: g.identity.clone(),
            key_text: env("KEYSEED_AGE_KEY").map(SecretValue::new),
            key_file: env("KEYSEED_AGE_KEY_FILE").map(PathBuf::from),
            default_file: default_identity_file(),
            passphrase: std::env::var("KEYSEED_PASSPHRASE")
                .ok()
                .map(SecretValue::new),
        };
        let error_file = g
            .error_file
            .clone()
            .or_else(|| under_helm_plugin().then(default_error_file).flatten());
        Settings {
            explicit: Explicit {
                scope: g.scope.is_some(),
                namespace: g.namespace.is_some(),
                seed: g.seed.is_some(),
            },
            seed,
            identities,
            error_file,
            config: None,
            now: g.now.clone(),
            plan: PlanContext {
                scope: g.scope.clone().unwrap_or_default(),
                namespace: g.namespace.clone(),
            },
        }
    }
}

impl Settings {
    /// TLS options: `--now` and `tls.min-days` from the config.
    pub fn tls_options(&self) -> Result<crate::tls::TlsOptions, crate::error::Error> {
        let min_days = self
            .config
            .as_ref()
            .and_then(|c| c.tls.as_ref())
            .and_then(|t| t.min_days);
        crate::tls::TlsOptions::new(self.now.as_deref(), min_days)
            .map_err(crate::error::Error::Usage)
    }

    /// Fills in scope, namespace and seed from a KRM functionConfig or a kustomize plugin
    /// config, where no flag or `KEYSEED_*` variable set them.
    pub fn apply_function(&mut self, f: crate::krm::FunctionSettings) {
        self.explicit.fill(f, &mut self.plan, &mut self.seed);
    }
}

impl Explicit {
    /// Fills scope, namespace and seed from a function or plugin config where no flag or
    /// `KEYSEED_*` variable set them.
    pub fn fill(
        &self,
        f: crate::krm::FunctionSettings,
        plan: &mut PlanContext,
        seed: &mut SeedPath,
    ) {
        if let (false, Some(s)) = (self.scope, f.scope) {
            plan.scope = s;
        }
        if let (false, Some(n)) = (self.namespace, f.namespace) {
            plan.namespace = Some(n);
        }
        if let (false, Some(p)) = (self.seed, f.seed) {
            *seed = SeedPath {
                path: p,
                origin: "`seed` in the function or plugin config",
            };
        }
    }
}

impl Settings {
    /// Loads `keyseed.yaml` (`--config`/`KEYSEED_CONFIG`, else `./keyseed.yaml` when present)
    /// and takes `scope` and `seed` from it where no flag or variable set them. A seed path in
    /// the config is relative to the config file.
    pub fn with_config(
        mut self,
        explicit: Option<&std::path::Path>,
    ) -> Result<Self, crate::error::Error> {
        if let Some(scope) = self.explicit.scope.then_some(&self.plan.scope) {
            crate::config::check_scope(scope).map_err(|m| crate::error::Error::BadArgument {
                message: m,
                hint: None,
            })?;
        }
        let Some((cfg, path)) = crate::config::load(explicit)? else {
            return Ok(self);
        };
        if let (false, Some(scope)) = (self.explicit.scope, &cfg.scope) {
            self.plan.scope = scope.clone();
        }
        if let (false, Some(seed)) = (self.explicit.seed, &cfg.seed) {
            let base = path.parent().unwrap_or(std::path::Path::new(""));
            self.seed = SeedPath {
                path: base.join(seed),
                origin: "`seed:` in the config",
            };
        }
        self.config = Some(cfg);
        Ok(self)
    }
}

/// Under Argo CD (`ARGOCD_APP_NAME` set), paths an Application may choose (through
/// `ARGOCD_ENV_*` → `--seed`, `--config`) must stay inside the repository the sidecar received:
/// not absolute, no symlink, and inside the repository root, which is the working directory
/// minus `ARGOCD_APP_SOURCE_PATH`. Otherwise one tenant could render with another tenant's seed
/// through the shared identity.
pub fn check_argocd_path(path: &std::path::Path, what: &str) -> Result<(), crate::error::Error> {
    let Some(_) = env("ARGOCD_APP_NAME") else {
        return Ok(());
    };
    let refuse = |why: String| crate::error::Error::BadArgument {
        message: format!("refusing {what} `{}` under Argo CD: {why}", path.display()),
        hint: Some("Applications may only name files inside their own repository".into()),
    };
    if path.is_absolute() {
        return Err(refuse("the path is absolute".into()));
    }
    let cwd = std::env::current_dir()
        .and_then(|c| c.canonicalize())
        .map_err(|e| refuse(e.to_string()))?;
    let mut root = cwd.clone();
    if let Some(src) = env("ARGOCD_APP_SOURCE_PATH") {
        for c in std::path::Path::new(&src).components() {
            if matches!(c, std::path::Component::Normal(_)) {
                root.pop();
            }
        }
    }
    // Resolve lexically first (the file may not exist), checking every step for a symlink.
    let mut cur = cwd.clone();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                cur.pop();
            }
            std::path::Component::Normal(n) => {
                cur.push(n);
                if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(refuse("it goes through a symbolic link".into()));
                }
            }
            _ => {}
        }
        if !cur.starts_with(&root) {
            return Err(refuse("it is outside the repository".into()));
        }
    }
    Ok(())
}
