//! keyseed's integration tests: one binary (ripgrep, uv). Every test runs the real
//! `keyseed` binary; host tools come from `scripts/install-hosts` and are never skipped.

mod asym;
mod charts;
mod config;
mod hardening;
mod hints;
mod hosts;
mod install;
mod interop;
mod keys;
mod layering;
mod layouts;
mod lifecycle;
mod never_silent;
mod plugins;
mod render;
mod rollme;
mod sealed;
mod shapes;
mod sops;
mod stream;
mod team;
mod tls;
mod util;
mod values;
mod vectors;
