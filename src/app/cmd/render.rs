//! `keyseed render` (alias `post-render`) and `keyseed krm`: the stream with values, rollout
//! annotations and checks, written only when everything passed.

use super::{render_stream, Output, Stdout};
use crate::app::args::RenderArgs;
use crate::app::error::{render_warnings, Error};
use crate::app::settings::Settings;
use crate::rollout::Report;
use crate::secret::SecretInput;

/// `keyseed render` / `krm` (`krm`: the input must be one KRM ResourceList).
pub fn run(
    settings: &Settings,
    args: &RenderArgs,
    stdin: SecretInput,
    krm: bool,
) -> Result<Output, Error> {
    let rendered = render_stream(settings, args, stdin, krm, Report::Annotated)?;
    Ok(Output {
        notes: render_warnings(&rendered.warnings),
        stdout: Stdout::Stream(rendered.docs),
    })
}
