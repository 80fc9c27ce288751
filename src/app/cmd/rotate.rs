//! `keyseed rotate ID…`: advances the current generation of `gen=current` placeholders
//! (issue #21). The rendered manifests on stdin say which placeholders carry each id (so an
//! unknown id and a never-rotate value are refused before anything is written); the new
//! generation is written into `keyseed.yaml`'s `generations:` (an in-place edit), and into
//! the `--lock` file's `@generation` records, so a render with the lock accepts exactly this
//! rotation. Stdout lists which keys each rotation adds and drops; never a value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::Output;
use crate::app::args::RotateArgs;
use crate::app::error::Error;
use crate::app::settings::Settings;
use crate::config::apply::entry_placeholders;
use crate::config::edit;
use crate::diag::Finding;
use crate::inject::values::written_keys;
use crate::pipeline::{self, Options};
use crate::placeholder::{Generations, Placeholder};
use crate::secret::SecretInput;

/// One place a rotated id is written: the Secret, the key as written, the placeholder.
struct Use {
    secret: String,
    key: String,
    ph: Placeholder,
}

/// Where rotated ids are used, and which ids are never rotated.
#[derive(Default)]
struct Uses {
    by_id: BTreeMap<String, Vec<Use>>,
    never: BTreeSet<String>,
    /// Where they were looked for, for messages.
    place: String,
}

impl Uses {
    fn add(&mut self, id: &str, secret: String, key: &str, ph: &Placeholder) {
        if ph.never_rotate {
            self.never.insert(id.to_string());
        }
        if ph.current.is_some() {
            self.by_id.entry(id.to_string()).or_default().push(Use {
                secret,
                key: key.to_string(),
                ph: ph.clone(),
            });
        }
    }
}

/// `keyseed rotate --values FILE`: the ids of a Helm values file, in the `keyseed.yaml` that
/// `keyseed fill` finds for it (created beside the file when there is none).
pub fn run_values(g: &crate::app::args::GlobalArgs, args: &RotateArgs) -> Result<Output, Error> {
    let file = args.values.as_deref().expect("dispatched with --values");
    let settings = super::fill::resolve(g, Some(file))?;
    let text = super::fill::read_values(file)?;
    let name = file.display().to_string();
    // Bad input, like any other a values file can hold: exit 1, as `fill` says it.
    let text = std::str::from_utf8(text.expose()).map_err(|_| {
        Error::Findings(vec![crate::diag::Finding {
            field: format!("values file {name}"),
            ..crate::diag::Finding::about_file("is not UTF-8 text".into(), None)
        }])
    })?;
    let planned =
        crate::inject::values_file::plan(text, &name, &settings.ctx).map_err(Error::Findings)?;
    let mut uses = Uses {
        place: format!("the values file {name}"),
        ..Uses::default()
    };
    for slot in &planned.slots {
        let inj = &slot.injection;
        uses.add(
            &inj.id,
            format!("values {name}"),
            &inj.key,
            &inj.placeholder,
        );
    }
    let config = match &settings.config {
        Some((_, p)) => p.clone(),
        None => file
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("keyseed.yaml"),
    };
    apply(&settings, args, uses, config)
}

/// `keyseed rotate`.
pub fn run(settings: &Settings, args: &RotateArgs, stdin: SecretInput) -> Result<Output, Error> {
    // An empty stream is fine: the ids may all be in keyseed.yaml's `secrets:`.
    let opts = Options {
        allow_empty: true,
        require_resource_list: false,
    };
    let planned = pipeline::plan(stdin, &settings.inputs(), opts)?;
    let ctx = &planned.ctx;
    // Where each id is used: the stream's placeholders, and keyseed.yaml's `secrets:`
    // (which reach the stream as explicit generations).
    let mut uses = Uses {
        place: "the stream or keyseed.yaml".into(),
        ..Uses::default()
    };
    for inj in planned.injections() {
        let secret = format!("Secret {}", inj.location.name.clone().unwrap_or_default());
        uses.add(&inj.id, secret, &inj.key, &inj.placeholder);
    }
    if let Some((cfg, _)) = &settings.config {
        for entry in &cfg.secrets {
            for (k, ph, id) in entry_placeholders(entry, ctx) {
                uses.add(&id, format!("Secret {}", entry.name), k, &ph);
            }
        }
    }
    let config = match &settings.config {
        Some((_, p)) => p.clone(),
        None => PathBuf::from("keyseed.yaml"),
    };
    apply(settings, args, uses, config)
}

/// Checks the ids, writes the new generations into `path` (keyseed.yaml) and the lock, and
/// says what each rotation adds and drops.
fn apply(
    settings: &Settings,
    args: &RotateArgs,
    uses: Uses,
    path: PathBuf,
) -> Result<Output, Error> {
    let ctx = &settings.ctx;
    let Uses {
        by_id: uses,
        never,
        place,
    } = uses;
    let mut problems = Vec::new();
    for id in &args.ids {
        if id.chars().any(char::is_control) {
            problems.push(Finding::about_file(
                "a derivation id to rotate must not hold a tab, a line break or another control character".into(),
                None,
            ));
        } else if never.contains(id) {
            problems.push(Finding::about_file(
                format!("`{id}` is marked rotate=never: keyseed does not rotate it"),
                Some("a value that must never change (an RSA key that encrypts a database) changes only by a migration you run yourself".into()),
            ));
        } else if !uses.contains_key(id) {
            let known: Vec<&str> = uses.keys().map(String::as_str).collect();
            problems.push(Finding::about_file(
                format!("no `gen=current` placeholder of {place} has the id `{id}`"),
                Some(if known.is_empty() {
                    "write the keyring's placeholder with `gen=current` (e.g. `<keyseed:base64:32 gen=current keep=2>`) and pipe the rendered manifests into keyseed rotate".into()
                } else {
                    format!("ids that rotate here: {}", known.join(", "))
                }),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Findings(problems));
    }
    // keyseed.yaml and the lock are read, edited and written under an exclusive lock on
    // their directories (one lock per directory, taken in order), so concurrent rotations
    // and `render --update-lock` lose nothing; the current generations are read again under
    // it.
    let mut dirs: Vec<PathBuf> = std::iter::once(&path)
        .chain(args.lock.as_ref())
        .map(|p| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
            std::fs::canonicalize(dir.unwrap_or(std::path::Path::new(".")))
                .unwrap_or_else(|_| dir.unwrap_or(std::path::Path::new(".")).to_path_buf())
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let _held = dirs
        .iter()
        .map(|d| crate::app::fs::DirLock::of(&d.join("keyseed.yaml")))
        .collect::<Result<Vec<_>, _>>()?;
    let text = match crate::io::read_regular_text(&path, crate::io::MAX_SMALL_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(crate::config::schema::ConfigError::Read { path, source }.into()),
    };
    let current = if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        crate::config::schema::Config::parse(&text, &path)?.generations
    };
    let mut updates = BTreeMap::new();
    let mut report = String::new();
    for id in args.ids.iter().collect::<BTreeSet<_>>() {
        let was = current
            .get(id.as_str())
            .copied()
            .unwrap_or_else(|| ctx.current_generation(id));
        let now = was + 1;
        if now > u64::from(u32::MAX) {
            return Err(Error::Findings(vec![Finding::about_file(
                format!("`{id}` is at the last generation keyseed counts to"),
                None,
            )]));
        }
        updates.insert(id.clone(), now);
        report.push_str(&format!("rotated `{id}`: generation {was} -> {now}\n"));
        for u in &uses[id] {
            report.push_str(&change(u, was, now));
        }
    }
    let edited = edit::set_generations(&text, &updates, &path)?;
    // The lock first: if it cannot be written, keyseed.yaml is left as it was.
    if let Some(lock) = &args.lock {
        let text = crate::lock::record_generations(lock, &updates)?;
        crate::app::fs::write_atomic(lock, text.as_bytes(), 0o644)?;
        report.push_str(&format!("recorded in {}\n", lock.display()));
    }
    crate::app::fs::write_atomic(&path, edited.as_bytes(), 0o644)?;
    report.push_str(&format!("wrote {}\n", path.display()));
    Ok(Output::bytes(report))
}

/// What one use of a rotated id writes before and after: keys added and dropped (a keyring),
/// or the generations of a joined keyring or a single value.
fn change(u: &Use, was: u64, now: u64) -> String {
    let at = |g: u64| {
        let mut ph = u.ph.clone();
        ph.resolve_current(&u.key, g).map(|()| ph)
    };
    let (Ok(before), Ok(after)) = (at(was), at(now)) else {
        return String::new();
    };
    let secret = &u.secret;
    if u.key.contains("{gen}") {
        let keys = |ph: &Placeholder| -> BTreeSet<String> {
            written_keys(&u.key, ph)
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        let (b, a) = (keys(&before), keys(&after));
        let added: Vec<_> = a.difference(&b).cloned().collect();
        let dropped: Vec<_> = b.difference(&a).cloned().collect();
        let list = |v: &[String]| {
            if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(", ")
            }
        };
        format!(
            "  {secret}: adds {}, drops {} (keeps {})\n",
            list(&added),
            list(&dropped),
            gens(after.generations)
        )
    } else {
        format!(
            "  {secret} key {}: generation {} -> {}\n",
            u.key,
            gens(before.generations),
            gens(after.generations)
        )
    }
}

fn gens(g: Generations) -> String {
    match g {
        Generations::One(n) => n.to_string(),
        Generations::Range(a, b) => format!("{a}..{b}"),
    }
}
