//! `keyseed.yaml`: stable secrets for charts you do not control. [`schema`] loads and checks
//! the file; [`apply`] turns its `secrets:` into edits of the stream before planning;
//! [`edit`] changes the file itself (`keyseed rotate`).

pub mod apply;
pub mod edit;
pub mod schema;
