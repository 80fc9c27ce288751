//! Everything derived from the seed, deterministically: the frozen key-derivation function
//! ([`kdf`]), placeholder values ([`value`]), asymmetric keys ([`keys`], their prime search in [`prime`]) written by the one
//! DER/PEM writer ([`der`]), keyed digests ([`mac`]) and certificates ([`certs`]).
//!
//! Pure functions of the seed and their inputs: no I/O, no documents, no configuration
//! files. Any change to an output for existing inputs is a breaking change, caught by
//! `tests/vectors/`.

pub mod certs;
pub mod der;
pub mod hint;
pub mod kdf;
pub mod keys;
pub mod mac;
pub mod prime;
pub mod value;
