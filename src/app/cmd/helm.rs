//! `keyseed template|install|upgrade` (`helm keyseed template …` through the CLI plugin):
//! Helm run by keyseed, so that no literal placeholder reaches a cluster through Helm 3.
//!
//! Helm 3 never hands hooks (`helm.sh/hook`) to a post-renderer: a placeholder in a hook
//! Secret would be printed by `helm template --post-renderer` and installed by `helm install`
//! as it is. `template` therefore renders Helm's whole output (hooks included) itself;
//! `install` and `upgrade` first render the same chart with `helm template` and refuse, before
//! Helm applies anything, when a hook would hold a placeholder under Helm 3, then run Helm with
//! keyseed as its post-renderer. The namespace Helm was given (`-n`, which Helm passes to its
//! plugins as `HELM_NAMESPACE`) is keyseed's namespace too.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use super::{render::run as render, Output};
use crate::app::args::{HelmArgs, RenderArgs};
use crate::app::error::{CommandError, Error};
use crate::app::settings::Settings;
use crate::diag::Finding;
use crate::k8s::object;
use crate::pipeline::{self, Options};
use crate::secret::{SecretBytes, SecretInput};

/// Which Helm command keyseed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `helm template`, whole output through keyseed.
    Template,
    /// `helm install` with keyseed as post-renderer.
    Install,
    /// `helm upgrade` with keyseed as post-renderer.
    Upgrade,
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Template => "template",
            Verb::Install => "install",
            Verb::Upgrade => "upgrade",
        }
    }
}

/// Flags of `helm upgrade` that `helm template` does not take, with whether each takes a
/// value as the next argument.
const UPGRADE_ONLY: &[(&str, bool)] = &[
    ("--install", false),
    ("-i", false),
    ("--reuse-values", false),
    ("--reset-values", false),
    ("--reset-then-reuse-values", false),
    ("--cleanup-on-fail", false),
    ("--force", false),
    ("--history-max", true),
];

/// The Helm binary: `HELM_BIN` (Helm sets it for its plugins), else `helm` on PATH.
fn helm_bin() -> OsString {
    std::env::var_os("HELM_BIN")
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "helm".into())
}

/// The arguments of `helm template` for the same chart as `verb`'s arguments.
fn template_args(verb: Verb, args: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec!["template".into()];
    let mut skip = false;
    for a in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if verb == Verb::Upgrade {
            let s = a.to_string_lossy();
            let flag = s.split('=').next().unwrap_or("");
            if let Some((_, takes)) = UPGRADE_ONLY.iter().find(|(f, _)| *f == flag) {
                skip = *takes && !s.contains('=');
                continue;
            }
        }
        out.push(a.clone());
    }
    out
}

/// Runs `helm ARGS` and returns its stdout (its stderr goes to ours).
fn helm_output(args: &[OsString]) -> Result<SecretBytes, Error> {
    let bin = helm_bin();
    let out = Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            Error::Command(CommandError::Helm(format!(
                "cannot run `{}`: {e}",
                bin.to_string_lossy()
            )))
        })?;
    if !out.status.success() {
        return Err(Error::Command(CommandError::Helm(format!(
            "`{} {}` failed ({})",
            bin.to_string_lossy(),
            args.first()
                .map(|a| a.to_string_lossy())
                .unwrap_or_default(),
            out.status
        ))));
    }
    Ok(SecretBytes::new(out.stdout))
}

/// The Helm major version (`helm version --short`: `v3.18.0+g…`).
fn helm_major() -> Result<u32, Error> {
    let v = helm_output(&["version".into(), "--short".into()])?;
    let text = String::from_utf8_lossy(v.expose());
    text.trim()
        .strip_prefix('v')
        .and_then(|t| t.split('.').next())
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| {
            Error::Command(CommandError::Helm(format!(
                "cannot read Helm's version from `{}`",
                text.trim()
            )))
        })
}

/// `keyseed template|install|upgrade HELM-ARGS…`.
pub fn run(settings: &Settings, verb: Verb, args: &HelmArgs) -> Result<Output, Error> {
    let rendered = helm_output(&template_args(verb, &args.helm_args))?;
    if verb == Verb::Template {
        return render(
            settings,
            &RenderArgs::default(),
            SecretInput::Heap(rendered),
            false,
        );
    }
    let major = helm_major()?;
    if major < 4 {
        refuse_hook_placeholders(settings, verb, rendered)?;
    }
    // keyseed as Helm's post-renderer: the binary itself under Helm 3, the post-renderer
    // plugin under Helm 4 (whose --post-renderer takes a plugin name).
    let mut cmd = Command::new(helm_bin());
    cmd.arg(verb.word()).args(&args.helm_args);
    if major < 4 {
        let me = std::env::current_exe()
            .map_err(|e| Error::Internal(format!("cannot find keyseed's own path: {e}")))?;
        cmd.arg("--post-renderer")
            .arg(me)
            .args(["--post-renderer-args", "render"]);
    } else {
        cmd.args(["--post-renderer", "keyseed-postrender"]);
    }
    if let Some(ns) = &settings.ctx.namespace {
        cmd.env("KEYSEED_NAMESPACE", ns);
    }
    let status = cmd
        .status()
        .map_err(|e| Error::Command(CommandError::Helm(format!("cannot run Helm: {e}"))))?;
    if !status.success() {
        return Err(Error::Command(CommandError::Helm(format!(
            "`helm {}` failed ({status}); keyseed's own error, if any, is above",
            verb.word()
        ))));
    }
    Ok(Output::default())
}

/// Fails when a hook document of Helm's output would get a value (a placeholder of the
/// chart or a `keyseed.yaml` entry naming it): Helm 3 would install it unfilled.
fn refuse_hook_placeholders(
    settings: &Settings,
    verb: Verb,
    rendered: SecretBytes,
) -> Result<(), Error> {
    let opts = Options {
        allow_empty: true,
        require_resource_list: false,
    };
    // A problem of the stream: render would fail on it too; say it now.
    let mut planned = pipeline::plan(SecretInput::Heap(rendered), &settings.inputs(), opts)?;
    let mut findings = Vec::new();
    let targets: Vec<_> = planned.injections().map(|i| i.location.clone()).collect();
    for loc in targets {
        let i = loc.document - 1;
        let Some(roots) = planned.docs.view(i) else {
            continue;
        };
        let kind = loc.kind.as_deref().unwrap_or("");
        let name = loc.name.as_deref().unwrap_or("");
        let hook = object::find(&roots, kind, name)
            .and_then(|o| o.get("metadata"))
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get_str("helm.sh/hook"))
            .map(str::to_string);
        let Some(hook) = hook else { continue };
        if findings
            .iter()
            .any(|f: &Finding| f.location.as_ref() == Some(&loc))
        {
            continue;
        }
        findings.push(Finding::error(
            &loc,
            "",
            format!("is a Helm hook (`helm.sh/hook: {hook}`) that would get keyseed values, and Helm 3 never hands hooks to a post-renderer: `helm {}` would install it without them (with the placeholder text, or the chart's own value where keyseed.yaml names it)", verb.word()),
            Some("use Helm 4 with keyseed's post-renderer plugin (`--post-renderer keyseed-postrender`: hooks are post-rendered there, same values), or the values route (`-f keyseed://values.keyseed.yaml`: values are filled before the chart renders, hooks included; a placeholder there derives under `SCOPE/values:PATH`, so give it `id=` with the id `keyseed plan` shows for this Secret's key to keep the same value)".into()),
        ));
    }
    planned.docs.drop_trees();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Findings(findings))
    }
}
