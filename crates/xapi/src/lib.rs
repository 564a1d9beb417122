//! The xAPI statement model: what flows in is the raw body of a statement request, what flows out
//! is a list of normalized statements (id, stored, timestamp, version and authority assigned) and,
//! for storage, the typed columns extracted from a normalized statement.
//!
//! This crate is pure: no async runtime, no I/O, no clock. The caller passes the time of storage
//! and the authority of the credential in a [`NormalizeContext`], which keeps every function here
//! deterministic and testable.
//!
//! Validation at this stage covers the structure every statement needs (actor, verb and object,
//! identifiers, timestamps, UUIDs). Every error names the JSON path of the offending field and
//! the rule it broke, e.g. `[2].actor.mbox: must be a mailto IRI`.

mod columns;
mod error;
mod normalize;
mod version;

pub use columns::{StatementColumns, extract_columns};
pub use error::{Error, Result};
pub use normalize::{NormalizeContext, NormalizedStatement, normalize_body};
pub use version::XapiVersion;
