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
        };
        Settings {
            seed,
            identities,
            plan: PlanContext {
                scope: g.scope.clone().unwrap_or_default(),
                namespace: g.namespace.clone(),
            },
        }
    }
}
