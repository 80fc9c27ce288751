//! Validation, run last: [`tls`] checks PEM material as bytes (pure), [`documents`] runs
//! every check over the final documents of a render (TLS Secrets and hosts, Secret limits,
//! leftover placeholders). Checks read; they never change a document.

pub mod documents;
pub mod tls;
