//! The seed and who can open it: identities ([`identity`]), the encrypted seed file and its
//! plaintext ([`file`]), recipients ([`recipients`]), and this layer's errors ([`error`]).
//!
//! This layer reads the files it is pointed at; it never decides *which* files (the
//! application's settings do) and never derives anything from the seed.

pub mod error;
pub mod file;
pub mod identity;
pub mod plugin;
pub mod recipients;
