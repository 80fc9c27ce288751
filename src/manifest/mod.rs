//! The bottom layer: bytes in, bytes out. Splitting the stream into documents
//! ([`stream`]), reading a document as a spanned tree ([`yaml`]), editing its bytes at those
//! spans ([`edit`]), checking an edit inside one block mapping by parsing its lines alone
//! ([`window`]), and the documents as they travel through the pipeline ([`document`]).
//!
//! Nothing here knows Kubernetes or secrets' meaning; it never re-emits YAML.

pub mod document;
pub mod edit;
pub mod stream;
pub mod window;
pub mod yaml;
