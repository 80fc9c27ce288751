//! The schema of `keyseed.yaml` and its loading: unknown keys are errors with line and
//! column, and everything serde cannot check (placeholders, names, dates, key formats) is
//! checked here, so later layers receive only valid settings. It holds no secret: config
//! `data` values must be placeholders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::derive::certs::LeafSpec;
use crate::placeholder::{self, Generations};

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Derivation scope (flags and `KEYSEED_SCOPE` win).
    pub scope: Option<String>,
    /// Seed file, relative to the config file's directory.
    pub seed: Option<PathBuf>,
    /// Secrets to patch or create.
    #[serde(default)]
    pub secrets: Vec<SecretEntry>,
    /// Rollout annotation settings.
    pub rollme: Option<Rollme>,
    /// TLS validation settings.
    pub tls: Option<Tls>,
    /// Deterministic certificates.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// Webhook and APIService `caBundle`s to set from derived CAs.
    #[serde(default)]
    pub ca_bundles: Vec<CaBundles>,
    /// Keyring settings.
    pub keyrings: Option<Keyrings>,
    /// Secrets that hold copies of another Secret's values (a chart's hook Secret): copy
    /// name → original name. A placeholder without `id=` in the copy uses the original's
    /// default id, so both get one value.
    #[serde(default)]
    pub copies: BTreeMap<String, String>,
    /// Derived CAs whose key is not ECDSA P-256: id → settings.
    #[serde(default)]
    pub cas: BTreeMap<String, CaSpec>,
    /// Current generation per derivation id, for `gen=current` placeholders; written by
    /// `keyseed rotate` (issue #21).
    #[serde(default)]
    pub generations: BTreeMap<String, u64>,
    /// Audit settings.
    pub audit: Option<Audit>,
    /// `certificates:` checked and parsed (filled by [`Config::parse`]).
    #[serde(skip)]
    pub leaves: Vec<LeafSpec>,
    /// `cas:` key formats, checked (filled by [`Config::parse`]).
    #[serde(skip)]
    pub ca_keys: BTreeMap<String, placeholder::Format>,
}

/// One `cas:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaSpec {
    /// `ecdsa-p256` (the default) or `rsa:2048|3072|4096`.
    pub key: String,
}

/// `keys:` of a `certificates:` entry: the data keys to write (only those named).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CertKeys {
    /// The certificate (`tls.crt` by default).
    pub cert: Option<String>,
    /// The private key (`tls.key` by default).
    pub key: Option<String>,
    /// The issuing CA's certificate (`ca.crt` by default).
    pub ca: Option<String>,
}

/// One `secrets:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretEntry {
    /// The Secret's `metadata.name`.
    pub name: String,
    /// Optional namespace to match (documents without one use `--namespace`).
    pub namespace: Option<String>,
    /// Create the Secret when the stream has none.
    #[serde(default)]
    pub create: bool,
    /// `type` of a created Secret (default `Opaque`).
    #[serde(rename = "type")]
    pub secret_type: Option<String>,
    /// Labels of a created Secret.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of a created Secret.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Data keys and their placeholders.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// Where the entry comes from when it is not a `secrets:` entry (`certificates[0]`).
    #[serde(skip)]
    pub origin: Option<String>,
}

/// `audit:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Audit {
    /// Write `keyseed.io/fingerprints` (each key's generation and keyed fingerprint, never a
    /// value) on every Secret keyseed fills (default false).
    pub annotate: Option<bool>,
}

/// `rollme:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rollme {
    /// Annotation name (default `keyseed.io/rollme`).
    pub annotation: Option<String>,
    /// Workload kinds to annotate.
    pub kinds: Option<Vec<String>>,
    /// Pod-template annotations to overwrite with the rollout digest (`*` globs).
    #[serde(default)]
    pub replace: Vec<String>,
}

/// One `ca-bundles:` entry: where a derived CA's certificate goes outside Secrets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaBundles {
    /// The derived CA id.
    pub ca: String,
    /// `Kind/name` patterns (`*` globs in the name) whose `caBundle`s get the CA (base64).
    #[serde(default)]
    pub objects: Vec<String>,
    /// `NAME/KEY` of ConfigMap keys that get the CA's PEM (`*` globs in the name).
    #[serde(default)]
    pub config_maps: Vec<String>,
    /// Names of container env variables (in every pod template) whose `value` is the PEM.
    #[serde(default)]
    pub env: Vec<String>,
}

/// `keyrings:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Keyrings {
    /// Append a keyring's missing generations to `items:` lists of volumes that mount it
    /// (default true).
    pub project_items: Option<bool>,
}

/// The workload kinds a `ca-bundles:` pattern may name.
pub const CA_BUNDLE_KINDS: [&str; 4] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "CustomResourceDefinition",
    "APIService",
];

/// `tls:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tls {
    /// Warn when a certificate expires within this many days.
    pub min_days: Option<u32>,
}

/// One `certificates:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Certificate {
    /// The `kubernetes.io/tls` Secret to fill or create.
    pub secret: String,
    /// Derived CA id.
    pub ca: String,
    /// Subject common name.
    pub common_name: Option<String>,
    /// DNS SANs.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// IP address SANs.
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// An issuing (intermediate) CA signed by `ca`, instead of a server certificate.
    #[serde(default)]
    pub is_ca: bool,
    /// The data keys to write (default `tls.crt`, `tls.key`, `ca.crt`).
    pub keys: Option<CertKeys>,
    /// One entry per item, with `{each}` in `secret` (and any name) replaced by it.
    #[serde(default)]
    pub each: Vec<String>,
    /// Fixed start of validity (`YYYY-MM-DD`).
    pub not_before: String,
    /// Validity in days.
    pub days: u32,
    /// Key type.
    pub key: Option<String>,
    /// Create the Secret when the stream has none (otherwise a typo is an error).
    #[serde(default)]
    pub create: bool,
}

/// A config file keyseed cannot use. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` / `KEYSEED_CONFIG` cannot be read.
    #[error("cannot read the config file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid YAML, or not the schema (unknown key, wrong type).
    #[error("invalid config `{}`: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line, column and what the parser expected (never a value: only placeholders and
        /// names live here, but the loader does not quote input).
        message: String,
    },
    /// Valid YAML of the right shape, but a setting is wrong.
    #[error("invalid config `{}`: {at}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Which entry, e.g. `secrets[0] (backend-keys)`.
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// A problem in one entry, before the file's path is attached.
struct Invalid {
    at: String,
    message: String,
}

fn invalid(at: &str, message: String) -> Invalid {
    Invalid {
        at: at.to_string(),
        message,
    }
}

/// A scope that cannot be written into placeholder ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope `{0}` must not contain white space, `<` or `>`")]
pub struct ScopeError(pub String);

impl Config {
    /// Parses config text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        };
        let mut opts = serde_saphyr::options::Options::default();
        opts.legacy_octal_numbers = true;
        let cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                match e.location() {
                    Some(l) => {
                        // The parser's message may already say where; say it once.
                        let at = format!("line {} column {}: ", l.line(), l.column());
                        let first = first.strip_prefix("error: ").unwrap_or(&first);
                        let first = first.strip_prefix(at.as_str()).unwrap_or(first);
                        err(format!("{at}{first}"))
                    }
                    None => err(first),
                }
            })?
        };
        let mut cfg = cfg;
        let located = |e: Invalid| ConfigError::Invalid {
            path: path.to_path_buf(),
            at: e.at,
            message: e.message,
        };
        cfg.validate_certificates().map_err(located)?;
        cfg.validate().map_err(located)?;
        Ok(cfg)
    }

    /// Checks `cas:` and `certificates:`, expands `each:`, and turns each certificate into
    /// the keys it writes (`tls.crt`, `tls.key`, `ca.crt`, or what `keys:` names): added to
    /// the `secrets:` entry of the same Secret when there is one, else a new entry that
    /// fills (or creates) the Secret.
    fn validate_certificates(&mut self) -> Result<(), Invalid> {
        self.validate_cas()?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, at, c) in self.expanded_certificates()? {
            if !seen.insert(c.secret.clone()) {
                return Err(invalid(
                    &at,
                    format!("Secret `{}` has two certificates", c.secret),
                ));
            }
            let (leaf, keys) = leaf_of(&at, &c)?;
            self.leaves.push(leaf);
            self.attach(i, &at, &c, keys)?;
        }
        Ok(())
    }

    /// Checks `cas:` and records the CAs that are not ECDSA P-256.
    fn validate_cas(&mut self) -> Result<(), Invalid> {
        for (id, spec) in &self.cas {
            let at = format!("cas.{id}");
            if !placeholder::is_key_name(id) {
                return Err(invalid(
                    &at,
                    format!("ca `{id}` must match [-._a-zA-Z0-9]+"),
                ));
            }
            match placeholder::parse_spec(&spec.key).map(|p| p.format) {
                Ok(placeholder::Format::EcdsaP256) => {}
                Ok(f @ placeholder::Format::Rsa(_)) => {
                    self.ca_keys.insert(id.clone(), f);
                }
                _ => {
                    return Err(invalid(
                        &at,
                        format!(
                            "key `{}` must be ecdsa-p256 or rsa:2048|3072|4096",
                            spec.key
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// `certificates:` with every `each:` entry expanded: (index, where, entry).
    fn expanded_certificates(&self) -> Result<Vec<(usize, String, Certificate)>, Invalid> {
        let mut out = Vec::new();
        for (i, c) in self.certificates.iter().enumerate() {
            let at = format!("certificates[{i}] ({})", c.secret);
            let uses_each = c.secret.contains("{each}");
            if c.each.is_empty() {
                if uses_each {
                    return Err(invalid(&at, "`{each}` needs an `each:` list".into()));
                }
                out.push((i, at, c.clone()));
                continue;
            }
            if !uses_each {
                return Err(invalid(
                    &at,
                    "with `each:`, `secret` must hold `{each}` (one Secret per item)".into(),
                ));
            }
            for item in &c.each {
                let r = |t: &str| t.replace("{each}", item);
                let one = Certificate {
                    secret: r(&c.secret),
                    common_name: c.common_name.as_deref().map(r),
                    dns_names: c.dns_names.iter().map(|d| r(d)).collect(),
                    ip_addresses: c.ip_addresses.iter().map(|d| r(d)).collect(),
                    each: Vec::new(),
                    ..c.clone()
                };
                out.push((i, format!("certificates[{i}] ({})", one.secret), one));
            }
        }
        Ok(out)
    }

    /// Puts a certificate's (key, placeholder) pairs into the `secrets:` entry of its Secret
    /// (harbor core: app keys and a token certificate in one Secret), or a new entry.
    fn attach(
        &mut self,
        i: usize,
        at: &str,
        c: &Certificate,
        keys: CertDataKeys,
    ) -> Result<(), Invalid> {
        let mut data = BTreeMap::new();
        if let Some(k) = &keys.cert {
            data.insert(k.clone(), format!("<keyseed:cert:{}>", c.secret));
        }
        if let Some(k) = &keys.key {
            data.insert(k.clone(), format!("<keyseed:cert-key:{}>", c.secret));
        }
        if let Some(k) = &keys.ca {
            data.insert(k.clone(), format!("<keyseed:ca:{}>", c.ca));
        }
        if let Some(s) = self
            .secrets
            .iter_mut()
            .find(|s| s.name == c.secret && s.origin.is_none())
        {
            for (k, v) in data {
                if s.data.contains_key(&k) {
                    return Err(invalid(
                        at,
                        format!(
                            "key `{k}` of Secret `{}` is also in its secrets: entry",
                            c.secret
                        ),
                    ));
                }
                s.data.insert(k, v);
            }
            s.create |= c.create;
            return Ok(());
        }
        let tls = keys.cert.as_deref() == Some("tls.crt") && keys.key.as_deref() == Some("tls.key");
        self.secrets.push(SecretEntry {
            name: c.secret.clone(),
            namespace: None,
            create: c.create,
            secret_type: Some(if tls { "kubernetes.io/tls" } else { "Opaque" }.into()),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            data,
            origin: Some(format!("certificates[{i}]")),
        });
        Ok(())
    }

    /// Checks what serde cannot: placeholders, names, key names.
    fn validate(&self) -> Result<(), Invalid> {
        for (id, g) in &self.generations {
            if id.is_empty() || *g > u64::from(u32::MAX) {
                return Err(invalid(
                    &format!("generations.{id}"),
                    "a generation is a derivation id and a number from 0 to 4294967295".into(),
                ));
            }
        }
        for (i, s) in self.secrets.iter().enumerate() {
            let at = format!("secrets[{i}] ({})", s.name);
            if s.name.is_empty() {
                return Err(invalid(
                    &format!("secrets[{i}]"),
                    "`name` must not be empty".into(),
                ));
            }
            if s.data.is_empty() {
                return Err(invalid(&at, "`data` is empty".into()));
            }
            for (k, v) in &s.data {
                let written = k.replace("{gen}", "0");
                if !placeholder::is_key_name(&written) {
                    return Err(invalid(
                        &at,
                        format!("data key `{k}` must match [-._a-zA-Z0-9]+"),
                    ));
                }
                if !placeholder::mentions(v) {
                    return Err(invalid(
                        &at,
                        format!("data `{k}`: the value is not a placeholder (config values must be placeholders such as `<keyseed:password:24>`; secrets never sit in plaintext config, use `<keyseed:value:NAME>` for a static value)"),
                    ));
                }
                let mut ph = placeholder::parse(v).map_err(|e| {
                    invalid(
                        &at,
                        format!("data `{k}`: {e} (config values must be placeholders; secrets never sit in plaintext config)"),
                    )
                })?;
                // `gen=current` is checked at generation 0; the shape does not depend on it.
                ph.resolve_current(k, 0)
                    .map_err(|e| invalid(&at, format!("data `{k}`: {e}")))?;
                let range = matches!(ph.generations, Generations::Range(..));
                if k.contains("{gen}") != (range && ph.join.is_none()) {
                    return Err(invalid(
                        &at,
                        format!("data `{k}`: a `{{gen}}` key needs `gen=A..B` (without join=), and `gen=A..B` needs a `{{gen}}` key or `join=`"),
                    ));
                }
            }
            if let Some(k) = self.secrets[..i]
                .iter()
                .position(|o| o.name == s.name && o.namespace == s.namespace)
            {
                return Err(invalid(&at, format!("the same Secret as secrets[{k}]")));
            }
        }
        if let Some(scope) = &self.scope {
            check_scope(scope).map_err(|e| invalid("scope", e.to_string()))?;
        }
        for (copy, original) in &self.copies {
            let at = format!("copies.{copy}");
            for name in [copy, original] {
                if !placeholder::is_key_name(name) {
                    return Err(invalid(&at, format!("`{name}` is not a valid Secret name")));
                }
            }
            if copy == original {
                return Err(invalid(&at, "a Secret cannot be a copy of itself".into()));
            }
            if let Some(next) = self.copies.get(original) {
                return Err(invalid(
                    &at,
                    format!("`{original}` is itself a copy (of `{next}`): name the original, `{copy}: {next}`"),
                ));
            }
        }
        for (i, b) in self.ca_bundles.iter().enumerate() {
            let at = format!("ca-bundles[{i}] ({})", b.ca);
            if !placeholder::is_key_name(&b.ca) {
                return Err(invalid(
                    &at,
                    format!("ca `{}` must match [-._a-zA-Z0-9]+", b.ca),
                ));
            }
            if b.objects.is_empty() && b.config_maps.is_empty() && b.env.is_empty() {
                return Err(invalid(
                    &at,
                    "name at least one place for the CA: `objects`, `config-maps` or `env`".into(),
                ));
            }
            for c in &b.config_maps {
                match c.split_once('/') {
                    Some((n, k)) if !n.is_empty() && placeholder::is_key_name(k) => {}
                    _ => {
                        return Err(invalid(
                            &at,
                            format!("config-maps entry `{c}` must be NAME/KEY (a ConfigMap name, `*` globs allowed, and a data key)"),
                        ))
                    }
                }
            }
            for e in &b.env {
                if e.is_empty() || e.contains(['=', ' ', '\t', '\n']) {
                    return Err(invalid(
                        &at,
                        format!("env `{e}` is not an environment variable name"),
                    ));
                }
            }
            for o in &b.objects {
                match o.split_once('/') {
                    Some((k, n)) if CA_BUNDLE_KINDS.contains(&k) && !n.is_empty() => {}
                    _ => {
                        return Err(invalid(
                            &at,
                            format!(
                                "object `{o}` must be KIND/NAME with KIND one of {}",
                                CA_BUNDLE_KINDS.join(", ")
                            ),
                        ))
                    }
                }
            }
        }
        if let Some(r) = &self.rollme {
            if r.replace.iter().any(|p| p.is_empty()) {
                return Err(invalid(
                    "rollme.replace",
                    "a pattern must not be empty".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The data keys a certificate writes (`None`: not written).
struct CertDataKeys {
    cert: Option<String>,
    key: Option<String>,
    ca: Option<String>,
}

/// Checks one (expanded) certificate entry: its leaf and the data keys it writes.
fn leaf_of(at: &str, c: &Certificate) -> Result<(LeafSpec, CertDataKeys), Invalid> {
    let key = c.key.as_deref().unwrap_or("ecdsa-p256");
    let key = match placeholder::parse_spec(key).map(|p| p.format) {
        Ok(f) if f.is_private_key() => f,
        _ => {
            return Err(invalid(
                at,
                format!("key `{key}` must be ecdsa-p256, ed25519 or rsa:2048|3072|4096"),
            ))
        }
    };
    if !placeholder::is_key_name(&c.ca) {
        return Err(invalid(
            at,
            format!("ca `{}` must match [-._a-zA-Z0-9]+", c.ca),
        ));
    }
    if c.days == 0 {
        return Err(invalid(at, "days must be at least 1".into()));
    }
    let Ok(not_before) = time::Date::parse(
        &c.not_before,
        time::macros::format_description!("[year]-[month]-[day]"),
    ) else {
        return Err(invalid(
            at,
            format!("not-before `{}` must be YYYY-MM-DD", c.not_before),
        ));
    };
    if !placeholder::is_key_name(&c.secret) {
        return Err(invalid(
            at,
            format!("secret `{}` is not a valid name", c.secret),
        ));
    }
    let mut ip_addresses = Vec::new();
    for a in &c.ip_addresses {
        match a.parse::<std::net::IpAddr>() {
            Ok(ip) => ip_addresses.push(ip),
            Err(_) => {
                return Err(invalid(
                    at,
                    format!("ip-addresses: `{a}` is not an IP address"),
                ))
            }
        }
    }
    let keys = match &c.keys {
        None => CertDataKeys {
            cert: Some("tls.crt".into()),
            key: Some("tls.key".into()),
            ca: Some("ca.crt".into()),
        },
        Some(k) => CertDataKeys {
            cert: k.cert.clone(),
            key: k.key.clone(),
            ca: k.ca.clone(),
        },
    };
    let named: Vec<&String> = [&keys.cert, &keys.key, &keys.ca]
        .into_iter()
        .flatten()
        .collect();
    if named.is_empty() {
        return Err(invalid(at, "`keys:` names no key (cert, key, ca)".into()));
    }
    for (n, k) in named.iter().enumerate() {
        if !placeholder::is_key_name(k) {
            return Err(invalid(
                at,
                format!("keys: `{k}` must match [-._a-zA-Z0-9]+"),
            ));
        }
        if named[..n].contains(k) {
            return Err(invalid(at, format!("keys: `{k}` is named twice")));
        }
    }
    let leaf = LeafSpec {
        secret: c.secret.clone(),
        ca: c.ca.clone(),
        common_name: c.common_name.clone(),
        dns_names: c.dns_names.clone(),
        ip_addresses,
        is_ca: c.is_ca,
        not_before,
        days: c.days,
        key,
    };
    if leaf.not_after().is_none() {
        return Err(invalid(
            at,
            format!(
                "not-before {} plus {} days ends after 9999-12-31, the last date a certificate can hold",
                c.not_before, c.days
            ),
        ));
    }
    Ok((leaf, keys))
}

/// A scope becomes part of ids written into placeholders: no white space, `<` or `>`.
pub fn check_scope(scope: &str) -> Result<(), ScopeError> {
    if scope
        .chars()
        .any(|c| c.is_whitespace() || c == '<' || c == '>')
    {
        return Err(ScopeError(scope.to_string()));
    }
    Ok(())
}

/// Loads the config: an explicit path must exist; the default `./keyseed.yaml` may not.
pub fn load(explicit: Option<&Path>) -> Result<Option<(Config, PathBuf)>, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("keyseed.yaml"), false),
    };
    match crate::io::read_regular_text(&path, crate::io::MAX_SMALL_FILE) {
        Ok(text) => Config::parse(&text, &path).map(|c| Some((c, path))),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let e = Config::parse(
            "scope: prod\nsecrets:\n  - name: a\n    dta: {}\n",
            Path::new("keyseed.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("dta"), "{e}");
    }

    #[test]
    fn the_same_secret_twice_is_an_error() {
        let e = Config::parse("secrets:\n  - name: a\n    data: {k: \"<keyseed:hex:4>\"}\n  - name: a\n    data: {j: \"<keyseed:hex:4>\"}\n", Path::new("c")).unwrap_err().to_string();
        assert!(
            e.contains("secrets[1] (a): the same Secret as secrets[0]"),
            "{e}"
        );
    }

    #[test]
    fn config_values_must_be_placeholders() {
        let e = Config::parse(
            "secrets:\n  - name: a\n    data: {k: hunter2value}\n",
            Path::new("c"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is not a placeholder"), "{e}");
        assert!(!e.contains("hunter2value"), "{e}");
    }
}
