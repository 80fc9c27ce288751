//! Raw arguments + environment + `keyseed.yaml` → the one resolved [`Settings`] every
//! command reads.
//!
//! This is the only module that reads `KEYSEED_*` variables other than through clap, and it
//! never opens the seed: it only decides *where* things are and which settings win (flags and
//! `KEYSEED_*` over a KRM functionConfig over the config over defaults).

use std::path::{Path, PathBuf};

use crate::app::args::GlobalArgs;
use crate::app::error::Error;
use crate::checks::tls::{parse_time, TlsOptions};
use crate::config::schema::{self, Config};
use crate::derive::certs::CertContext;
use crate::k8s::krm::{FunctionSettings, KrmError};
use crate::k8s::object::Context;
use crate::pipeline::{Explicit, Inputs};
use crate::rollout::RolloutSettings;
use crate::secret::SecretValue;
use crate::seed::identity::IdentitySources;

/// The seed file to open, and how it was chosen (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPath {
    /// The path.
    pub path: PathBuf,
    /// `--seed`, `KEYSEED_SEED_FILE`, `seed: in the config` or `the default ./keyseed.age`.
    pub origin: &'static str,
}

/// Resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// Where the seed file is and how that was decided.
    pub seed: SeedPath,
    /// Where identities may come from.
    pub identities: IdentitySources,
    /// Scope and namespace for planning.
    pub ctx: Context,
    /// Where errors are also written, if anywhere.
    pub error_file: Option<PathBuf>,
    /// Which of scope, namespace and seed were set by a flag or `KEYSEED_*` (these win over
    /// a KRM `functionConfig`).
    pub explicit: Explicit,
    /// `keyseed.yaml` and its path, when there is one.
    pub config: Option<(Config, PathBuf)>,
    /// `--now`: the time TLS checks use (RFC 3339).
    pub now: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
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
            plugin_timeout: env("KEYSEED_PLUGIN_TIMEOUT")
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|&s| s > 0)
                .map(std::time::Duration::from_secs),
        };
        let error_file = g.error_file.clone().or_else(|| {
            crate::app::hosts::under_helm_plugin()
                .then(crate::app::hosts::default_error_file)
                .flatten()
        });
        // Helm sets HELM_NAMESPACE from `-n` for the plugins it runs (the CLI plugin: `helm
        // keyseed …`); elsewhere it may be a stale shell variable, so it is not read.
        let namespace = g.namespace.clone().filter(|n| !n.is_empty()).or_else(|| {
            crate::app::hosts::under_helm_plugin()
                .then(|| env("HELM_NAMESPACE"))
                .flatten()
                .filter(|n| !n.is_empty())
        });
        // An empty value sets nothing (`KEYSEED_SCOPE=$UNSET` must not change every id).
        let scope = g.scope.clone().filter(|s| !s.is_empty());
        Settings {
            explicit: Explicit {
                scope: scope.is_some(),
                namespace: namespace.is_some(),
                seed: g.seed.is_some(),
            },
            seed,
            identities,
            error_file,
            config: None,
            now: g.now.clone(),
            ctx: Context {
                scope: scope.unwrap_or_default(),
                namespace,
                copies: Default::default(),
                generations: Default::default(),
            },
        }
    }

    /// Loads `keyseed.yaml` (`--config`/`KEYSEED_CONFIG`, else `./keyseed.yaml` when present)
    /// and takes `scope` and `seed` from it where no flag or variable set them
    /// ([`Settings::with_loaded_config`]).
    pub fn with_config(self, explicit: Option<&Path>) -> Result<Self, Error> {
        self.check_explicit_scope()?;
        let loaded = schema::load(explicit)?;
        Ok(self.with_loaded_config(loaded))
    }

    /// A `--scope`/`KEYSEED_SCOPE` must be a valid scope.
    pub fn check_explicit_scope(&self) -> Result<(), Error> {
        if self.explicit.scope {
            schema::check_scope(&self.ctx.scope)?;
        }
        Ok(())
    }

    /// Takes `scope` and `seed` from a loaded config where no flag or variable set them. A
    /// seed path in the config is relative to the config file.
    pub fn with_loaded_config(mut self, loaded: Option<(Config, PathBuf)>) -> Self {
        let Some((cfg, path)) = loaded else {
            return self;
        };
        if let (false, Some(scope)) = (self.explicit.scope, &cfg.scope) {
            self.ctx.scope = scope.clone();
        }
        self.ctx.copies = cfg.copies.clone();
        self.ctx.generations = cfg.generations.clone();
        if let (false, Some(seed)) = (self.explicit.seed, &cfg.seed) {
            let base = path.parent().unwrap_or(Path::new(""));
            self.seed = SeedPath {
                path: base.join(seed),
                origin: "`seed:` in the config",
            };
        }
        self.config = Some((cfg, path));
        self
    }

    /// Fills in scope, namespace and seed from a kustomize plugin config, where no flag or
    /// `KEYSEED_*` variable set them.
    pub fn apply_function(&mut self, f: FunctionSettings) -> Result<(), KrmError> {
        let config_scope = self.config.as_ref().and_then(|(c, _)| c.scope.clone());
        if let Some(seed) = self
            .explicit
            .fill(f, &mut self.ctx, config_scope.as_deref())?
        {
            self.seed = function_seed(seed);
        }
        Ok(())
    }

    /// TLS options: `--now` and `tls.min-days` from the config.
    pub fn tls(&self) -> Result<TlsOptions, Error> {
        let min_days = self
            .config
            .as_ref()
            .and_then(|(c, _)| c.tls.as_ref())
            .and_then(|t| t.min_days);
        match self.now.as_deref() {
            Some(s) => parse_time(s)
                .map(|now| TlsOptions::at(now, min_days))
                .map_err(|e| Error::Usage(format!("--now {e}"))),
            None => Ok(TlsOptions::now(min_days)),
        }
    }

    /// Rollout settings: the config's `rollme:`, defaults for what it leaves out.
    pub fn rollout(&self) -> RolloutSettings {
        let mut r = RolloutSettings::default();
        if let Some(c) = self.config.as_ref().and_then(|(c, _)| c.rollme.as_ref()) {
            if let Some(a) = &c.annotation {
                r.annotation = a.clone();
            }
            if let Some(k) = &c.kinds {
                r.kinds = k.clone();
            }
            r.replace = c.replace.clone();
        }
        r
    }

    /// Whether `audit: {annotate: true}` asks for fingerprint annotations on Secrets.
    pub fn audit_annotations(&self) -> bool {
        self.config
            .as_ref()
            .and_then(|(c, _)| c.audit.as_ref())
            .and_then(|a| a.annotate)
            .unwrap_or(false)
    }

    /// What certificate placeholders need, with the scope in effect.
    pub fn certs(&self, scope: &str) -> CertContext {
        CertContext {
            certificates: self
                .config
                .as_ref()
                .map(|(c, _)| c.leaves.clone())
                .unwrap_or_default(),
            scope: scope.to_string(),
            cas: self
                .config
                .as_ref()
                .map(|(c, _)| c.ca_keys.clone())
                .unwrap_or_default(),
        }
    }

    /// What the pipeline reads besides the stream.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            config: self.config.as_ref().map(|(c, p)| (c, p.as_path())),
            ctx: self.ctx.clone(),
            explicit: self.explicit,
            project_items: self
                .config
                .as_ref()
                .and_then(|(c, _)| c.keyrings.as_ref())
                .and_then(|k| k.project_items)
                .unwrap_or(true),
        }
    }
}

/// The seed a function or plugin config names.
pub fn function_seed(path: PathBuf) -> SeedPath {
    SeedPath {
        path,
        origin: "`seed` in the function or plugin config",
    }
}
