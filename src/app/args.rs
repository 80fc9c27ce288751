//! The command line as the user typed it (raw arguments). clap types and help text only:
//! no I/O, no keys. Every option has a `KEYSEED_*` environment twin; `settings` resolves
//! these into the one configuration the commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stable secrets for GitOps, derived from one age-encrypted seed.
#[derive(Debug, Parser)]
#[command(name = "keyseed", version, about, long_about = None)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments. The commands a renderer runs on every refresh
    /// (`render`, `krm`, `check`, `plan`) are parsed against a command line holding only
    /// that command: building all of clap's commands allocates about 285 KB, most of a
    /// one-document render's fixed cost (issue #22). Anything that command line does not
    /// accept as it is (help, version, errors, options before the command) is parsed again
    /// against the whole one, so messages and results are clap's own.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        Cli::parse_from_args(std::env::args_os().collect())
    }

    /// [`Cli::parse_args`] on given arguments (the first is the program name).
    pub fn parse_from_args(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
        Cli::parse_one_command(&args).map_or_else(|| Cli::try_parse_from(args), Ok)
    }

    fn parse_one_command(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::{Command as C, FromArgMatches};
        let sub = match args.get(1)?.to_str()? {
            "render" | "post-render" => {
                RenderArgs::augment_args(C::new("render")).alias("post-render")
            }
            "krm" => RenderArgs::augment_args(C::new("krm")),
            "check" => RenderArgs::augment_args(C::new("check")),
            "plan" => PlanArgs::augment_args(C::new("plan")),
            _ => return None,
        };
        let root = GlobalArgs::augment_args(C::new("keyseed"))
            .subcommand_required(true)
            .subcommand(sub);
        let matches = root.try_get_matches_from(args).ok()?;
        Cli::from_arg_matches(&matches).ok()
    }
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file (default: ./keyseed.yaml when present).
    #[arg(long, global = true, env = "KEYSEED_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Scope: the first part of every default derivation id (e.g. `prod`).
    #[arg(long, global = true, env = "KEYSEED_SCOPE", value_name = "S")]
    pub scope: Option<String>,
    /// Namespace of documents without `metadata.namespace` (Helm passes none).
    #[arg(long, global = true, env = "KEYSEED_NAMESPACE", value_name = "NS")]
    pub namespace: Option<String>,
    /// The time certificate checks use, RFC 3339 (default: now).
    #[arg(long, global = true, env = "KEYSEED_NOW", value_name = "RFC3339")]
    pub now: Option<String>,
    /// The age-encrypted seed file (default: `seed:` in the config, else ./keyseed.age).
    #[arg(long, global = true, env = "KEYSEED_SEED_FILE", value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Also write errors to FILE (Helm 4 discards a post-renderer's stderr). Under a Helm
    /// plugin the default is $XDG_CACHE_HOME/keyseed/last-error.txt; `keyseed last-error`
    /// prints it.
    #[arg(long, global = true, env = "KEYSEED_ERROR_FILE", value_name = "FILE")]
    pub error_file: Option<PathBuf>,
    /// An age or OpenSSH identity file; repeatable. Tried before KEYSEED_AGE_KEY,
    /// KEYSEED_AGE_KEY_FILE (its environment twin) and $XDG_CONFIG_HOME/keyseed/keys.txt.
    #[arg(long, short = 'i', global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new random seed (and, without recipients, a new identity).
    Init(InitArgs),
    /// The post-renderer: manifests on stdin, manifests with secrets on stdout.
    #[command(alias = "post-render")]
    Render(RenderArgs),
    /// The same transform as a KRM function: ResourceList in, ResourceList out.
    Krm(RenderArgs),
    /// Print one derived value (to bootstrap an external system).
    Derive(DeriveArgs),
    /// Show what render would inject (resource, key, format, id, generation, fingerprint) and
    /// which workloads get rollout annotations; never a value.
    Plan(PlanArgs),
    /// Validate placeholders without any seed or identity (for PR CI).
    Check(RenderArgs),
    /// Advance `gen=current` keyrings and values by one generation: reads the rendered
    /// manifests on stdin, writes the new generation into keyseed.yaml (and --lock).
    Rotate(RotateArgs),
    /// Validate or bundle TLS certificates offline.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Manage the recipients the seed is encrypted to (needs an identity).
    #[command(subcommand)]
    Recipients(RecipientsCommand),
    /// Manage static values inside the seed file (`<keyseed:value:NAME>`).
    #[command(subcommand)]
    Values(ValuesCommand),
    /// Check the seed file: backup and recovery drills.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Fill the placeholders of a Helm values file; print the filled file (what Helm gets
    /// from `-f keyseed://FILE`), or with --secret a Secret holding it (Flux `valuesFrom`).
    Fill(FillArgs),
    /// Print a values file with every derived placeholder that has no `id=` pinned to the
    /// id it derives under now, so it keeps its value in every deploy shape (post-renderer,
    /// CMP, getter, Flux): docs/migration.md.
    Pin(PinArgs),
    /// The Helm getter plugin's entry point: Helm runs `keyseed getter CERT KEY CA URL` for
    /// `-f keyseed://FILE` and reads the filled values from stdout.
    Getter(GetterArgs),
    /// Run `helm template ARGS…` and fill its whole output, hooks included (Helm 3 hands
    /// hooks to no post-renderer): `helm keyseed template RELEASE CHART -n NS -f …`.
    Template(HelmArgs),
    /// Run `helm install ARGS…` with keyseed as post-renderer, after checking that no Helm
    /// hook would be installed with a placeholder (Helm 3 post-renders no hook).
    Install(HelmArgs),
    /// Run `helm upgrade ARGS…` with keyseed as post-renderer, after the same hook check.
    Upgrade(HelmArgs),
    /// Print the error of the last failed run under Helm (whose stderr Helm 4 discards).
    LastError,
    /// Print shell completions (`keyseed completions bash > /etc/bash_completion.d/keyseed`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `keyseed pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// The values file.
    pub file: PathBuf,
}

/// `keyseed template|install|upgrade`: Helm's own arguments, passed on as they are.
#[derive(Debug, Args)]
pub struct HelmArgs {
    /// Helm's arguments (release, chart, `-f`, `--set`, …).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "HELM-ARGS"
    )]
    pub helm_args: Vec<std::ffi::OsString>,
}

/// `keyseed init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Encrypt the seed to this recipient (age1… or "ssh-ed25519 …"); repeatable.
    #[arg(long, env = "KEYSEED_RECIPIENT", value_delimiter = ',')]
    pub recipient: Vec<String>,
    /// Read recipients from a file (one per line, `#` comments); repeatable.
    #[arg(long, env = "KEYSEED_RECIPIENTS_FILE", value_name = "FILE")]
    pub recipients_file: Vec<PathBuf>,
    /// Where to write a new identity when no recipient is given (mode 0600)
    /// [default: $XDG_CONFIG_HOME/keyseed/keys.txt].
    #[arg(long, env = "KEYSEED_IDENTITY_OUT", value_name = "FILE")]
    pub identity_out: Option<PathBuf>,
}

/// `keyseed render` / `krm` / `check`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Accept an empty stream (by default an error: Argo CD prunes on empty output).
    #[arg(long, env = "KEYSEED_ALLOW_EMPTY")]
    pub allow_empty: bool,
    /// Fail when an injected value's fingerprint differs from this lock file.
    #[arg(long, env = "KEYSEED_LOCK", value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Write the current fingerprints to the --lock file instead of failing.
    #[arg(long, env = "KEYSEED_UPDATE_LOCK", requires = "lock")]
    pub update_lock: bool,
    /// Write every Secret as a SealedSecret for the sealed-secrets controller with this
    /// certificate (PEM, as `kubeseal --fetch-cert` prints it).
    #[arg(long, env = "KEYSEED_SEAL_CERT", value_name = "FILE")]
    pub seal_cert: Option<PathBuf>,
    /// Who may unseal: strict (this name and namespace), namespace-wide or cluster-wide.
    #[arg(long, env = "KEYSEED_SEAL_SCOPE", default_value = "strict", value_parser = ["strict", "namespace-wide", "cluster-wide"])]
    pub seal_scope: String,
    /// Write every Secret SOPS-encrypted to this age recipient (Flux, KSOPS, helm-secrets);
    /// repeatable.
    #[arg(
        long,
        env = "KEYSEED_SOPS_AGE",
        value_name = "AGE1…",
        value_delimiter = ',',
        conflicts_with = "seal_cert"
    )]
    pub sops_age: Vec<String>,
    /// Multiply the limits on expensive work per run by N: RSA keys searched (16 RSA-4096 by
    /// default), bcrypt hashes (64 at cost 12), values (10000) and bytes (64 MiB) generated.
    #[arg(long, env = "KEYSEED_BUDGET", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub budget: u64,
}

impl Default for RenderArgs {
    fn default() -> Self {
        RenderArgs {
            allow_empty: false,
            lock: None,
            update_lock: false,
            seal_cert: None,
            seal_scope: "strict".into(),
            sops_age: Vec::new(),
            budget: 1,
        }
    }
}

/// `keyseed plan`.
#[derive(Debug, Args, Default)]
pub struct PlanArgs {
    /// Render options.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Output format: a table, JSON, or Markdown for a pull-request comment. With --lock, each
    /// value also says whether it is added, changed or unchanged against the lock, and values
    /// of the lock this render lacks are listed as removed.
    #[arg(long, env = "KEYSEED_FORMAT", default_value = "table", value_parser = ["table", "json", "markdown"])]
    pub format: String,
}

/// `keyseed seed …`.
#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Check that the seed opens with the identity at hand (which one, never a key), that it
    /// was last encrypted to exactly the recipients keyseed.recipients lists, and that its
    /// header holds as many recipient stanzas. Exit 1 on any mismatch.
    Verify,
}

/// `keyseed rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Derivation ids to rotate, as `keyseed plan` shows them (e.g.
    /// `prod/backend-keys/encryption-key-{gen}`).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Record the new generations in this lock file too, so `render --lock` accepts them.
    #[arg(long, env = "KEYSEED_LOCK", value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Rotate ids of this Helm values file (`keyseed fill`, the keyseed:// getter) instead of
    /// a manifest stream on stdin; the keyseed.yaml written is the one `fill` finds for it.
    #[arg(long, value_name = "FILE")]
    pub values: Option<PathBuf>,
}

/// The certificate and key files `keyseed cert` reads.
#[derive(Debug, Args)]
pub struct CertFiles {
    /// PEM file(s) with the certificates, in chain order unless bundling with --fix-order;
    /// repeatable.
    #[arg(
        long,
        required = true,
        value_name = "FILE",
        env = "KEYSEED_CERT",
        value_delimiter = ','
    )]
    pub cert: Vec<PathBuf>,
    /// The private key (PKCS#1, PKCS#8 or SEC1 PEM); it must match the leaf.
    #[arg(long, value_name = "FILE", env = "KEYSEED_KEY")]
    pub key: Option<PathBuf>,
}

/// `keyseed cert …`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Validate a PEM chain (leaf → intermediates → optional root) and its key.
    Check {
        /// Certificates and key.
        #[command(flatten)]
        files: CertFiles,
        /// A host the leaf must cover; repeatable.
        #[arg(long, value_name = "HOST", env = "KEYSEED_HOST", value_delimiter = ',')]
        host: Vec<String>,
    },
    /// Order, validate and print a chain as one base64 line, ready for a values file.
    Bundle {
        /// Certificates and key.
        #[command(flatten)]
        files: CertFiles,
        /// Put the certificates in leaf → intermediates → root order first.
        #[arg(long, env = "KEYSEED_FIX_ORDER")]
        fix_order: bool,
    },
}

/// `keyseed recipients …`.
#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// Add a recipient (age1… or "ssh-ed25519 …") and re-encrypt the seed.
    Add {
        /// The public key.
        key: String,
    },
    /// Remove a recipient and re-encrypt the seed; its identity can no longer decrypt it.
    Remove {
        /// The public key.
        key: String,
    },
    /// List the recipients.
    List,
}

/// `keyseed values …`.
#[derive(Debug, Subcommand)]
pub enum ValuesCommand {
    /// Set a static value, read from stdin (one trailing newline removed) or --from-file.
    Set {
        /// The name (`[-._a-zA-Z0-9]+`).
        name: String,
        /// Read the value from this file, byte for byte.
        #[arg(long, value_name = "FILE", env = "KEYSEED_FROM_FILE")]
        from_file: Option<PathBuf>,
    },
    /// List the names of the static values (never the values).
    List,
    /// Remove a static value.
    Rm {
        /// The name.
        name: String,
    },
}

/// `keyseed fill`.
#[derive(Debug, Args)]
pub struct FillArgs {
    /// The values file (`-` for stdin).
    #[arg(value_name = "VALUES-FILE")]
    pub file: PathBuf,
    /// Print a Secret named NAME (namespace: --namespace) holding the filled file under
    /// --secret-key, for a Flux HelmRelease's `valuesFrom`.
    #[arg(long, env = "KEYSEED_VALUES_SECRET", value_name = "NAME")]
    pub secret: Option<String>,
    /// The Secret's key holding the filled file (a HelmRelease's `valuesKey`).
    #[arg(
        long,
        env = "KEYSEED_VALUES_KEY",
        value_name = "KEY",
        default_value = "values.yaml",
        requires = "secret"
    )]
    pub secret_key: String,
    /// SOPS-encrypt the Secret to this age recipient (Flux's kustomize-controller decrypts
    /// it); repeatable. Deterministic, like `render --sops-age`.
    #[arg(
        long,
        env = "KEYSEED_SOPS_AGE",
        value_name = "AGE1…",
        value_delimiter = ',',
        requires = "secret"
    )]
    pub sops_age: Vec<String>,
    /// Multiply the limits on expensive work per run by N: RSA keys searched (16 RSA-4096 by
    /// default), bcrypt hashes (64 at cost 12), values (10000) and bytes (64 MiB) generated.
    #[arg(long, env = "KEYSEED_BUDGET", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub budget: u64,
    /// Fail when a filled value's fingerprint differs from this lock file (entries keyed
    /// `values` + the value's path; a lock may cover a render's Secrets too).
    #[arg(long, env = "KEYSEED_LOCK", value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Write the current fingerprints to the --lock file instead of failing.
    #[arg(long, env = "KEYSEED_UPDATE_LOCK", requires = "lock")]
    pub update_lock: bool,
}

/// `keyseed getter`: the arguments Helm passes to a getter (downloader) plugin.
#[derive(Debug, Args)]
pub struct GetterArgs {
    /// `--cert-file` of the Helm command (unused: nothing is downloaded).
    pub cert_file: String,
    /// `--key-file` of the Helm command (unused).
    pub key_file: String,
    /// `--ca-file` of the Helm command (unused).
    pub ca_file: String,
    /// The URL: `keyseed://FILE` (FILE relative to Helm's working directory, or absolute).
    pub url: String,
    /// Multiply the limits on expensive work per run by N: RSA keys searched (16 RSA-4096 by
    /// default), bcrypt hashes (64 at cost 12), values (10000) and bytes (64 MiB) generated.
    #[arg(long, env = "KEYSEED_BUDGET", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub budget: u64,
    /// Fail when a filled value differs from this lock file (checked, never written: Helm
    /// runs the getter).
    #[arg(long, env = "KEYSEED_LOCK", value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

/// `keyseed derive`.
#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// The placeholder or its inside, e.g. `base64:32` or `<keyseed:fernet gen=1>`.
    pub spec: String,
    /// The derivation id, e.g. `prod/backend/encryption-key` (scope/secret/key).
    #[arg(long, env = "KEYSEED_ID")]
    pub id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_render_is_an_alias_of_render() {
        let c = Cli::try_parse_from(["keyseed", "post-render", "--allow-empty"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Render(RenderArgs {
                allow_empty: true,
                ..
            })
        ));
    }

    #[test]
    fn identity_is_repeatable_and_global() {
        let c = Cli::try_parse_from(["keyseed", "render", "-i", "a", "--identity", "b"]).unwrap();
        assert_eq!(
            c.global.identity,
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
    }

    #[test]
    fn parsing_one_command_gives_what_the_whole_command_line_gives() {
        let cases: &[&[&str]] = &[
            &["render"],
            &["post-render", "--allow-empty"],
            &[
                "render",
                "--lock",
                "l",
                "--update-lock",
                "-i",
                "a",
                "--config",
                "c",
            ],
            &["render", "--update-lock"],
            &["render", "--sops-age", "age1a,age1b", "--seal-cert", "c"],
            &[
                "render",
                "--seal-scope",
                "cluster-wide",
                "--namespace",
                "ns",
                "--now",
                "n",
            ],
            &["render", "--seal-scope", "nowhere"],
            &["render", "--help"],
            &["render", "--version"],
            &["render", "extra"],
            &[
                "krm",
                "--scope",
                "s",
                "--seed",
                "x.age",
                "--error-file",
                "e",
            ],
            &["check", "--lock", "l"],
            &["plan", "--format", "json", "--allow-empty"],
            &["plan", "--format", "yaml"],
            &["--config", "c", "render"],
            &["derive", "base64:32"],
        ];
        for case in cases {
            let args: Vec<std::ffi::OsString> = std::iter::once("keyseed")
                .chain(case.iter().copied())
                .map(Into::into)
                .collect();
            let whole = Cli::try_parse_from(&args).map_err(|e| e.to_string());
            let one = Cli::parse_one_command(&args);
            let fast_path = ["render", "post-render", "krm", "check", "plan"].contains(&case[0]);
            assert_eq!(one.is_some(), fast_path && whole.is_ok(), "{case:?}");
            let fast = Cli::parse_from_args(args).map_err(|e| e.to_string());
            assert_eq!(format!("{fast:?}"), format!("{whole:?}"), "{case:?}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
