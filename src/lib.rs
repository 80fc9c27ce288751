//! keyseed: stable secrets for GitOps, derived from one age-encrypted seed.
//!
//! The crate is layered; a module uses only modules of the layers below it (the
//! `layering` test enforces this, `docs/architecture.md` draws it):
//!
//! | layer | modules | owns |
//! |---|---|---|
//! | application | [`app`] | arguments, settings, hosts, commands, files, the top error |
//! | orchestration | `pipeline`, `lock` | the stages of a render; the fingerprint ledger |
//! | transforms and checks | `config`, `inject`, `rollout`, `checks` | edits and validation of documents |
//! | domain | `k8s`, `seed`, `derive` | Kubernetes objects; the seed file; derivation |
//! | bytes | `manifest`, `placeholder` | documents, spanned trees, edits; placeholder grammar |
//! | shared | `diag`, `secret`, `io`, `parallel`, `text` | locations and findings; secret wrappers; bounded file reads; threads; byte searches |
//!
//! Data flows one way: stdin bytes → documents → config edits → plan → values → rollout
//! annotations → checks → stdout bytes. [`run`] is the whole program with injected I/O;
//! `main` only maps its result to an exit code.

pub mod app;
mod checks;
mod config;
mod derive;
mod diag;
mod inject;
mod io;
mod k8s;
mod lock;
mod manifest;
mod parallel;
mod pipeline;
mod placeholder;
mod rollout;
mod seal;
mod secret;
mod seed;
mod sops;
mod text;

pub use app::args::{Cli, Command};
pub use app::cmd::Output;
pub use app::error::Error;
pub use app::{finish, is_legacy_plugin_call, run, run_legacy_plugin};

/// The file errors are also written to for this command line (Helm 4 discards stderr).
pub fn error_file(cli: &Cli) -> Option<std::path::PathBuf> {
    app::settings::Settings::resolve(&cli.global).error_file
}

/// The pieces tests, benchmarks and fuzz targets drive directly: the frozen derivation, the
/// placeholder grammar, stream splitting and planning, rollout analysis and TLS checks.
pub mod testkit {
    pub use crate::checks::documents::tls as check_tls;
    pub use crate::checks::tls::{check_chain, check_key, decode_certs, TlsOptions};
    pub use crate::derive::value::derive;

    /// The value a placeholder stands for, with its output options (`pad=`, `hash=`), as the
    /// vectors pin it. `None` for formats that are not derived (`value:`, `ca:`, `cert:`).
    pub fn derive_placeholder(
        seed: &Seed,
        ph: &crate::placeholder::Placeholder,
        id: &str,
        gen: u64,
    ) -> Option<crate::secret::SecretValue> {
        let v = derive(seed, &ph.format, ph.encoding, id, gen)?;
        crate::derive::value::finish(seed, ph, id, gen, v).ok()
    }
    pub use crate::diag::{Finding, Severity};
    pub use crate::inject::plan::plan_document;
    pub use crate::k8s::object::Context;
    pub use crate::manifest::document::Documents;
    pub use crate::manifest::stream::split;
    pub use crate::manifest::yaml::parse as parse_yaml;
    pub use crate::placeholder::{parse, parse_spec, Encoding, Format};
    pub use crate::rollout::{analyze, Analysis, Report, RolloutSettings};
    pub use crate::secret::{SecretBytes, Seed};
    pub use crate::seed::file::SeedFile;

    /// The `n` bytes encrypted output derives for `purpose` and `id` (seal session keys and
    /// OAEP seeds, SOPS data keys, IVs and age stanzas), as `tests/vectors/encrypt-v1.txt`
    /// pins them.
    pub fn encryption_bytes(seed: &Seed, purpose: &str, id: &str, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        crate::derive::kdf::Stream::new(seed, &crate::derive::kdf::info(purpose, id, 0))
            .fill(&mut out);
        out
    }
    pub use crate::seed::recipients::{parse_recipient, parse_recipients_text};

    /// The keyed fingerprint `plan` and the lock show for `value` (`tests/vectors/lifecycle-v1.txt`).
    pub fn fingerprint(seed: &Seed, value: &str) -> String {
        crate::derive::mac::fingerprint(crate::derive::mac::fingerprint_key(seed).expose(), value)
    }

    /// What a `gen=current` placeholder `spec` under data key `key` writes at generation
    /// `current` — through the code a render uses (`inject::values::Source::values`):
    /// (data key, value) pairs, as `tests/vectors/lifecycle-v1.txt` pins them.
    pub fn rotated(
        seed: &Seed,
        spec: &str,
        key: &str,
        id: &str,
        current: u64,
    ) -> Option<Vec<(String, String)>> {
        let mut ph = parse_spec(spec).ok()?;
        ph.resolve_current(key, current).ok()?;
        let file = SeedFile {
            seed: Seed::new(*seed.expose()),
            values: Default::default(),
            notes: Vec::new(),
            opened_by: None,
            recipients: None,
        };
        let source = crate::inject::values::Source {
            seed: &file,
            seed_path: std::path::Path::new(""),
            certs: &Default::default(),
            hints: &crate::derive::hint::RsaHints::none(),
        };
        let values = source.values(&ph, id, key).ok()?;
        Some(
            values
                .into_iter()
                .map(|(k, v)| (k, v.expose().to_string()))
                .collect(),
        )
    }

    /// The RSA search hint `--update-lock` records for an `rsa:N` key (`v1:JP,JQ:MAC`), as
    /// `tests/vectors/lifecycle-v1.txt` pins it.
    pub fn rsa_hint(seed: &Seed, format: &Format, id: &str, gen: u64) -> Option<String> {
        let hints = crate::derive::hint::RsaHints::new(seed, []);
        crate::derive::value::derive_hinted(seed, format, Encoding::Pkcs8, id, gen, &hints)?;
        hints.outcomes().into_iter().next()?.hint
    }

    /// Loads `keyseed.yaml` text as the config loader does (`Ok(())` when it is valid).
    pub fn parse_config(text: &str) -> Result<(), String> {
        crate::config::schema::Config::parse(text, std::path::Path::new("keyseed.yaml"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
