//! Placeholders, from finding them to writing values: [`plan`] finds them in parsed
//! documents (no seed needed), [`values`] produces what they stand for from the open seed,
//! [`edits`] turns both into byte edits and records fingerprints.

pub mod edits;
pub mod plan;
pub mod values;
