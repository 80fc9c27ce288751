//! `keyseed cert check|bundle`: validates a PEM chain and key offline, or orders and prints
//! it as one base64 line for a values file.

use base64::Engine as _;

use super::Output;
use crate::app::args::CertCommand;
use crate::app::error::{render_warnings, CommandError, Error};
use crate::app::settings::Settings;
use crate::checks::tls;
use crate::diag::{Finding, Severity};

/// Reads a file named on the command line.
fn read(path: &std::path::Path) -> Result<Vec<u8>, CommandError> {
    crate::io::read_regular(path, crate::io::MAX_DATA_FILE).map_err(|source| CommandError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `keyseed cert …`.
pub fn run(settings: &Settings, cmd: &CertCommand) -> Result<Output, Error> {
    let opts = settings.tls()?;
    let mut findings = Vec::new();
    let (files, hosts, fix) = match cmd {
        CertCommand::Check { files, host } => (files, host.clone(), false),
        CertCommand::Bundle { files, fix_order } => (files, Vec::new(), *fix_order),
    };
    let inputs = files
        .cert
        .iter()
        .map(|f| Ok((f.display().to_string(), read(f)?)))
        .collect::<Result<Vec<_>, CommandError>>()?;
    let mut chain = tls::read_chain(&inputs, &mut findings);
    if let (true, Some(c)) = (fix, &chain) {
        chain = Some(c.fix_order().map_err(CommandError::Chain)?);
    }
    let field = files
        .cert
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let leaf = chain
        .as_ref()
        .and_then(|c| tls::check_chain(&field, c, false, &opts, &mut findings));
    if let Some(k) = &files.key {
        tls::check_key(
            &k.display().to_string(),
            &read(k)?,
            leaf.as_ref(),
            &mut findings,
        );
    }
    if let Some(l) = &leaf {
        for h in hosts.iter().filter(|h| !tls::covers(l, h)) {
            findings.push(Finding {
                severity: Severity::Error,
                location: None,
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
    let (errors, warnings): (Vec<_>, Vec<_>) = findings.into_iter().partition(Finding::is_error);
    if !errors.is_empty() {
        return Err(Error::Findings(errors));
    }
    let chain = chain.ok_or(CommandError::NoCertificate)?;
    let text = match cmd {
        CertCommand::Check { .. } => format!(
            "ok: {} certificate(s); leaf {}{}\n",
            chain.len(),
            leaf.as_ref().map(|l| l.subject.clone()).unwrap_or_default(),
            if files.key.is_some() {
                "; key matches"
            } else {
                ""
            }
        ),
        CertCommand::Bundle { .. } => format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(chain.to_pem())
        ),
    };
    let mut out = Output::bytes(text);
    out.notes = render_warnings(&warnings);
    Ok(out)
}
