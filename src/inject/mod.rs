//! Placeholders, from finding them to writing values: [`plan`] finds them in parsed
//! documents (no seed needed), [`values`] produces what they stand for from the open seed,
//! [`edits`] turns both into byte edits and records fingerprints, and [`keyrings`] makes the
//! pods that mount a keyring with an `items:` list see every generation. [`values_file`]
//! does the same for a Helm values file (`keyseed fill`, the `keyseed://` getter).

pub mod budget;
pub mod edits;
pub mod keyrings;
pub mod plan;
pub mod values;
pub mod values_file;
