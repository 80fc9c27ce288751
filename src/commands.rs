//! One function per command. Each takes resolved settings and injected I/O and returns the
//! bytes for stdout; none prints or exits.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{DeriveArgs, InitArgs, RenderArgs};
use crate::edit::quote;
use crate::error::{Error, FileError};
use crate::keys::{self, SeedFile};
use crate::placeholder::{self, Generations};
use crate::render::{self, RenderOptions, Rendered};
use crate::secret::SecretBytes;
use crate::settings::{self, Settings};

/// `keyseed render` / `krm`.
pub fn render(
    settings: &Settings,
    args: &RenderArgs,
    stdin: SecretBytes,
    krm: bool,
) -> Result<Output, Error> {
    let opts = render_options(args, krm);
    let stdout = render::render(stdin, settings, opts)?;
    let notes = warnings(&stdout.report.warnings);
    Ok(Output { stdout, notes })
}

fn warnings(w: &[String]) -> String {
    w.iter().map(|l| format!("{l}\n")).collect()
}

fn render_options(args: &RenderArgs, krm: bool) -> RenderOptions {
    RenderOptions {
        allow_empty: args.allow_empty,
        require_resource_list: krm,
        lock: crate::lock::LockOptions {
            path: args.lock.clone(),
            update: args.update_lock,
        },
    }
}

/// `keyseed plan`: renders (without writing the stream) and reports what was injected and
/// which workloads are annotated. Values never appear, only keyed fingerprints.
pub fn plan(
    settings: &Settings,
    args: &crate::cli::PlanArgs,
    stdin: SecretBytes,
) -> Result<Output, Error> {
    let rendered = render::render(stdin, settings, render_options(&args.render, false))?;
    let r = &rendered.report;
    let secret_name = |l: &crate::error::Location| {
        let name = l.name.clone().unwrap_or_default();
        match l.namespace.as_ref().or(r.namespace.as_ref()) {
            Some(ns) => format!("Secret {ns}/{name}"),
            None => format!("Secret {name}"),
        }
    };
    let obj = |o: &crate::rollme::ObjectRef| {
        if o.namespace.is_empty() {
            format!("{} {}", o.kind, o.name)
        } else {
            format!("{} {}/{}", o.kind, o.namespace, o.name)
        }
    };
    let text = if args.format == "json" {
        let inj: Vec<String> = r
            .injected
            .iter()
            .map(|v| {
                format!(
                    "{{\"resource\": {}, \"document\": {}, \"key\": {}, \"format\": {}, \"id\": {}, \"generation\": {}, \"fingerprint\": {}}}",
                    quote(&secret_name(&v.location)), v.location.document, quote(&v.key), quote(&v.format), quote(&v.id), quote(&v.gen), quote(&v.fingerprint)
                )
            })
            .collect();
        let wl: Vec<String> = r
            .workloads
            .iter()
            .map(|w| {
                let list = |v: &[crate::rollme::ObjectRef]| v.iter().map(|o| quote(&obj(o))).collect::<Vec<_>>().join(", ");
                format!(
                    "{{\"workload\": {}, \"document\": {}, \"references\": [{}], \"not_in_stream\": [{}], \"annotated\": {}}}",
                    quote(&format!("{} {}", w.location.kind.clone().unwrap_or_default(), w.location.name.clone().unwrap_or_default())),
                    w.location.document,
                    list(&w.found),
                    list(&w.missing),
                    !w.found.is_empty()
                )
            })
            .collect();
        format!(
            "{{\"injected\": [{}], \"workloads\": [{}]}}\n",
            inj.join(", "),
            wl.join(", ")
        )
    } else {
        let mut rows = vec![[
            "RESOURCE".to_string(),
            "KEY".into(),
            "FORMAT".into(),
            "ID".into(),
            "GEN".into(),
            "FINGERPRINT".into(),
        ]];
        for v in &r.injected {
            rows.push([
                secret_name(&v.location),
                v.key.clone(),
                v.format.clone(),
                v.id.clone(),
                v.gen.clone(),
                v.fingerprint.clone(),
            ]);
        }
        let mut t = table(&rows);
        if !r.workloads.is_empty() {
            t.push('\n');
            let mut rows = vec![[
                "WORKLOAD".to_string(),
                "ROLLOUT ANNOTATION FROM".into(),
                "NOT IN THE STREAM (ignored)".into(),
            ]];
            for w in &r.workloads {
                rows.push([
                    format!(
                        "{} {}",
                        w.location.kind.clone().unwrap_or_default(),
                        w.location.name.clone().unwrap_or_default()
                    ),
                    if w.found.is_empty() {
                        "-".into()
                    } else {
                        w.found.iter().map(obj).collect::<Vec<_>>().join(", ")
                    },
                    if w.missing.is_empty() {
                        "-".into()
                    } else {
                        w.missing.iter().map(obj).collect::<Vec<_>>().join(", ")
                    },
                ]);
            }
            t.push_str(&table(&rows));
        }
        t
    };
    Ok(Output::stdout(SecretBytes::new(text.into_bytes())))
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut w = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// What a command produced: bytes for stdout (written only on success) and notes for stderr.
#[derive(Debug, Default)]
pub struct Output {
    /// The bytes for stdout.
    pub stdout: Rendered,
    /// Messages for stderr (never secret).
    pub notes: String,
}

impl Output {
    fn stdout(b: SecretBytes) -> Self {
        Output {
            stdout: Rendered::from_bytes(b),
            notes: String::new(),
        }
    }
}

/// `keyseed check`: placeholders and placement, without a seed.
pub fn check(settings: &Settings, args: &RenderArgs, stdin: &[u8]) -> Result<Output, Error> {
    let text = render::check_input(stdin)?;
    let plan = render::plan(
        text,
        settings,
        RenderOptions {
            allow_empty: args.allow_empty,
            ..RenderOptions::default()
        },
    )?;
    let n = plan.injections().count();
    let texts = plan.texts();
    let tls = crate::validate::validate(&texts, &plan.ctx, &settings.tls_options()?);
    if !tls.errors.is_empty() {
        return Err(Error::Findings(tls.errors));
    }
    Ok(Output {
        stdout: Rendered::default(),
        notes: format!(
            "{}ok: {n} placeholder(s) in {} document(s)\n",
            warnings(&tls.warnings),
            plan.documents()
        ),
    })
}

/// `keyseed derive SPEC --id ID`.
pub fn derive(settings: &Settings, args: &DeriveArgs) -> Result<Output, Error> {
    let spec = args.spec.trim();
    let ph = if spec.starts_with(placeholder::PREFIX) {
        placeholder::parse(spec)
    } else {
        placeholder::parse_spec(spec)
    }
    .map_err(|e| Error::BadArgument {
        message: format!("invalid spec `{spec}`: {e}"),
        hint: e.hint(),
    })?;
    let id = match (&args.id, &ph.id) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Usage(format!("--id `{a}` and `id={b}` disagree")));
        }
        (Some(a), _) | (None, Some(a)) => a.clone(),
        (None, None) => {
            return Err(Error::BadArgument {
                message: "no derivation id given".into(),
                hint: Some(
                    "pass --id SCOPE/SECRET/KEY, the id render uses for that Secret key (scope empty by default: `/backend-keys/encryption-key`)"
                        .into(),
                ),
            })
        }
    };
    if matches!(ph.generations, Generations::Range(..)) && ph.join.is_none() {
        return Err(Error::BadArgument {
            message: "a generation range needs `join=SEP` to print one value".into(),
            hint: Some("derive one generation at a time with `gen=N`".into()),
        });
    }
    let mut seed = keys::open_seed(&settings.seed, &settings.identities)?;
    seed.certs = crate::certs::CertContext::new(settings, &settings.plan.scope);
    let inj = crate::inject::Injection {
        location: Default::default(),
        section: crate::inject::Section::StringData,
        key: String::new(),
        placeholder: ph.clone(),
        id,
        range: 0..0,
        layout: crate::inject::Layout::Value {
            trailing: String::new(),
        },
    };
    let values = crate::inject::values(&seed, &inj, &settings.seed.path)?;
    let mut out = SecretBytes::new(Vec::with_capacity(values[0].1.expose().len() + 1));
    out.expose_mut()
        .extend_from_slice(values[0].1.expose().as_bytes());
    out.expose_mut().push(b'\n');
    Ok(Output::stdout(out))
}

/// Creates `path` exclusively (never overwrites) with `mode`, writes `data`, syncs.
pub fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| FileError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            FileError::Exists(path.to_path_buf())
        } else {
            FileError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|source| FileError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// `keyseed init`.
pub fn init(settings: &Settings, args: &InitArgs) -> Result<Output, Error> {
    let seed_path = settings.seed.path.clone();
    let recipients_path = recipients_path(settings);
    let mut recipients = args.recipient.clone();
    for f in &args.recipients_file {
        recipients.extend(keys::read_recipients_file(f)?);
    }
    for r in &recipients {
        keys::parse_recipient(r)?;
    }
    // Refuse before writing anything, so a half-done init never happens.
    for p in [&seed_path, &recipients_path] {
        if p.exists() {
            return Err(FileError::Exists(p.clone()).into());
        }
    }
    let mut report = String::new();
    if recipients.is_empty() {
        let out = args
            .identity_out
            .clone()
            .or_else(settings::default_identity_file)
            .ok_or_else(|| Error::Usage("no --identity-out given and no home directory".into()))?;
        if out.exists() {
            return Err(FileError::Exists(out).into());
        }
        let (secret, public) = keys::generate_identity();
        let text = format!(
            "# created by keyseed init\n# public key: {public}\n{}\n",
            secret.expose()
        );
        write_new(&out, text.as_bytes(), 0o600)?;
        report.push_str(&format!(
            "wrote identity {} (keep it secret; its public key is below)\n",
            out.display()
        ));
        recipients.push(public);
    }
    let seed = SeedFile::generate();
    let cipher = keys::encrypt(&seed.to_plaintext(), &recipients)?;
    write_new(&seed_path, &cipher, 0o644)?;
    write_new(
        &recipients_path,
        recipients_text(&recipients).as_bytes(),
        0o644,
    )?;
    report.push_str(&format!(
        "wrote {} and {}\n",
        seed_path.display(),
        recipients_path.display()
    ));
    let mut public = String::new();
    for r in &recipients {
        public.push_str(r);
        public.push('\n');
    }
    Ok(Output {
        stdout: Rendered::from_bytes(SecretBytes::new(public.into_bytes())),
        notes: report,
    })
}

/// `keyseed last-error`: prints the error file of the last failed run.
pub fn last_error(settings: &Settings) -> Result<Output, Error> {
    let path = settings
        .error_file
        .clone()
        .or_else(settings::default_error_file)
        .ok_or_else(|| Error::Usage("no error file: set --error-file or HOME".into()))?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "no error recorded in {} (the last run succeeded)\n",
                path.display()
            )
        }
        Err(source) => return Err(FileError::Write { path, source }.into()),
    };
    Ok(Output::stdout(SecretBytes::new(text.into_bytes())))
}

/// The recipients file next to the seed file.
fn recipients_path(settings: &Settings) -> PathBuf {
    settings
        .seed
        .path
        .parent()
        .map(|p| p.join("keyseed.recipients"))
        .unwrap_or_else(|| PathBuf::from("keyseed.recipients"))
}

fn recipients_text(recipients: &[String]) -> String {
    let mut t = String::from("# age recipients keyseed.age is encrypted to (one per line)\n");
    for r in recipients {
        t.push_str(r);
        t.push('\n');
    }
    t
}

/// Re-encrypts the seed file to `recipients` and rewrites both files atomically (the seed
/// first: an interruption leaves a seed every old and new recipient can still open).
fn rewrite_seed(settings: &Settings, seed: &SeedFile, recipients: &[String]) -> Result<(), Error> {
    let cipher = keys::encrypt(&seed.to_plaintext(), recipients)?;
    crate::fsutil::write_atomic(&settings.seed.path, &cipher, 0o644)?;
    crate::fsutil::write_atomic(
        &recipients_path(settings),
        recipients_text(recipients).as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// `keyseed recipients add|remove|list`.
pub fn recipients(
    settings: &Settings,
    cmd: &crate::cli::RecipientsCommand,
) -> Result<Output, Error> {
    use crate::cli::RecipientsCommand as R;
    let path = recipients_path(settings);
    let mut list = keys::read_recipients_file(&path)?;
    let norm = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    match cmd {
        R::List => {
            let mut t = String::new();
            for r in &list {
                t.push_str(r);
                t.push('\n');
            }
            Ok(Output::stdout(SecretBytes::new(t.into_bytes())))
        }
        R::Add { key } => {
            keys::parse_recipient(key)?;
            if list.iter().any(|r| norm(r) == norm(key)) {
                return Err(Error::BadArgument {
                    message: format!("`{}` is already a recipient", key.trim()),
                    hint: None,
                });
            }
            let seed = keys::open_seed(&settings.seed, &settings.identities)?;
            list.push(key.trim().to_string());
            rewrite_seed(settings, &seed, &list)?;
            Ok(Output {
                stdout: Rendered::default(),
                notes: format!(
                    "added a recipient; {} re-encrypted to {} recipient(s)\n",
                    settings.seed.path.display(),
                    list.len()
                ),
            })
        }
        R::Remove { key } => {
            let before = list.len();
            list.retain(|r| norm(r) != norm(key));
            if list.len() == before {
                return Err(Error::BadArgument {
                    message: format!("`{}` is not in {}", key.trim(), path.display()),
                    hint: Some("`keyseed recipients list` shows them".into()),
                });
            }
            if list.is_empty() {
                return Err(Error::BadArgument {
                    message: "refusing to remove the last recipient: nobody could decrypt the seed"
                        .into(),
                    hint: Some("add the new recipient first".into()),
                });
            }
            let seed = keys::open_seed(&settings.seed, &settings.identities)?;
            rewrite_seed(settings, &seed, &list)?;
            Ok(Output {
                stdout: Rendered::default(),
                notes: format!(
                    "removed a recipient; {} re-encrypted to {} recipient(s). Its holder may still have an old copy: rotate values that must not outlive access\n",
                    settings.seed.path.display(),
                    list.len()
                ),
            })
        }
    }
}

/// `keyseed values set|list|rm`.
pub fn values(
    settings: &Settings,
    cmd: &crate::cli::ValuesCommand,
    stdin: &mut dyn std::io::Read,
) -> Result<Output, Error> {
    use crate::cli::ValuesCommand as V;
    let mut seed = keys::open_seed(&settings.seed, &settings.identities)?;
    let recipients = keys::read_recipients_file(&recipients_path(settings))?;
    let check_name = |n: &str| {
        if placeholder::is_key_name(n) {
            Ok(())
        } else {
            Err(Error::BadArgument {
                message: format!("value name `{n}` must match [-._a-zA-Z0-9]+"),
                hint: None,
            })
        }
    };
    match cmd {
        V::List => {
            let mut t = String::new();
            for k in seed.values.keys() {
                t.push_str(k);
                t.push('\n');
            }
            Ok(Output::stdout(SecretBytes::new(t.into_bytes())))
        }
        V::Set { name, from_file } => {
            check_name(name)?;
            let mut raw = SecretBytes::new(Vec::new());
            match from_file {
                Some(f) => {
                    *raw.expose_mut() = std::fs::read(f).map_err(|e| Error::BadArgument {
                        message: format!("cannot read `{}`: {e}", f.display()),
                        hint: None,
                    })?;
                }
                None => {
                    stdin
                        .read_to_end(raw.expose_mut())
                        .map_err(crate::error::InputError::Read)?;
                    let v = raw.expose_mut();
                    if v.ends_with(b"\n") {
                        v.pop();
                        if v.ends_with(b"\r") {
                            v.pop();
                        }
                    }
                }
            }
            let text =
                String::from_utf8(raw.expose().to_vec()).map_err(|_| Error::BadArgument {
                    message: "the value is not UTF-8 text".into(),
                    hint: Some("store binary data base64-encoded".into()),
                })?;
            seed.values
                .insert(name.clone(), crate::secret::SecretValue::new(text));
            rewrite_seed(settings, &seed, &recipients)?;
            Ok(Output {
                stdout: Rendered::default(),
                notes: format!("set `{name}` in {}\n", settings.seed.path.display()),
            })
        }
        V::Rm { name } => {
            if seed.values.remove(name).is_none() {
                return Err(Error::BadArgument {
                    message: format!(
                        "no static value `{name}` in {}",
                        settings.seed.path.display()
                    ),
                    hint: Some("`keyseed values list` shows the names".into()),
                });
            }
            rewrite_seed(settings, &seed, &recipients)?;
            Ok(Output {
                stdout: Rendered::default(),
                notes: format!("removed `{name}` from {}\n", settings.seed.path.display()),
            })
        }
    }
}

/// `keyseed cert check|bundle`.
pub fn cert(settings: &Settings, cmd: &crate::cli::CertCommand) -> Result<Output, Error> {
    use crate::cli::CertCommand as C;
    use crate::tls::{self, Severity};
    let opts = settings.tls_options()?;
    let mut findings = Vec::new();
    let bad = |message: String| Error::BadArgument {
        message,
        hint: None,
    };
    let (files, hosts, fix) = match cmd {
        C::Check { files, host } => (files, host.clone(), false),
        C::Bundle { files, fix_order } => (files, Vec::new(), *fix_order),
    };
    let key = &files.key;
    let files = &files.cert;
    let mut chain = tls::read_chain(files, &mut findings).map_err(bad)?;
    if fix {
        if let Some(c) = &chain {
            chain = Some(c.fix_order().map_err(|m| Error::BadArgument {
                message: m,
                hint: Some("pass the leaf, its intermediates and (optionally) the root".into()),
            })?);
        }
    }
    let field = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let leaf = chain
        .as_ref()
        .and_then(|c| tls::check_chain(&field, c, false, &opts, &mut findings));
    if let Some(k) = key {
        let data =
            std::fs::read(k).map_err(|e| bad(format!("cannot read `{}`: {e}", k.display())))?;
        tls::check_key(
            &k.display().to_string(),
            &data,
            leaf.as_ref(),
            &mut findings,
        );
    }
    for h in &hosts {
        if let Some(l) = &leaf {
            if !tls::covers(l, h) {
                findings.push(tls::TlsFinding {
                    severity: Severity::Error,
                    field: field.clone(),
                    message: format!(
                        "host `{h}` is not covered by the leaf ({}); its DNS names: {}",
                        l.subject,
                        l.dns_names.join(", ")
                    ),
                    hint: None,
                });
            }
        }
    }
    let mut notes = String::new();
    let mut errors = Vec::new();
    for f in findings {
        let finding = crate::error::Finding {
            location: Default::default(),
            field: String::new(),
            message: format!("{}: {}", f.field, f.message),
            hint: f.hint,
        };
        match f.severity {
            Severity::Error => errors.push(finding),
            Severity::Warning => notes.push_str(&format!("warning: {}\n", finding.message)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Findings(errors));
    }
    let chain = chain.ok_or_else(|| bad("no certificate found".into()))?;
    let text = match cmd {
        C::Check { .. } => format!(
            "ok: {} certificate(s); leaf {}{}\n",
            chain.len(),
            leaf.as_ref().map(|l| l.subject.clone()).unwrap_or_default(),
            if key.is_some() { "; key matches" } else { "" }
        ),
        C::Bundle { .. } => {
            use base64::Engine as _;
            format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(chain.to_pem())
            )
        }
    };
    Ok(Output {
        stdout: Rendered::from_bytes(SecretBytes::new(text.into_bytes())),
        notes,
    })
}
