//! What keyseed knows about Kubernetes objects, read from spanned trees: which resources a
//! document holds and where they are ([`object`]), the data of Secrets and ConfigMaps as a
//! workload sees it ([`data`]), pod templates and what they reference ([`pod`]), and KRM
//! function settings ([`krm`]). Read-only: nothing here edits a document or knows a seed.

pub mod data;
pub mod krm;
pub mod object;
pub mod pod;
