//! The xAPI statement model: what flows in is the raw body of a statement request, what flows out
//! is a list of normalized statements (id, stored, timestamp, version and authority assigned) and,
//! for storage, the typed columns extracted from a normalized statement.
//!
//! This crate is pure: no async runtime, no I/O, no clock. The caller passes the time of storage
//! and the authority of the credential in a [`NormalizeContext`], which keeps every function here
//! deterministic and testable.
//!
//! Parsing (`model.rs`) takes every property of xAPI 1.0.3 and 2.0 and refuses unknown ones,
//! wrong types and `null`; validation (`validate.rs`) applies the rules of the specification that
//! a type cannot express. Every error names the JSON path of the offending property and the rule
//! it broke, e.g. `[2].actor.mbox: must be a mailto IRI (mailto:name@domain)`.
//!
//! This is the intake's hot path. A parsed [`Statement`] borrows its strings from the request
//! body ([`Text`]), paths are only rendered when a rule is broken, and strings found valid as
//! IRIs or language tags are remembered per thread (`memo.rs`), and a statement whose content
//! normalization leaves alone is stored as the client wrote it, with the assigned properties
//! written in front, instead of being serialized again (`normalize.rs`); `bench/RESULTS.md` has
//! the figures and how each step was measured.

mod columns;
mod compare;
mod error;
mod format;
mod memo;
pub mod model;
mod normalize;
mod object_type;
mod query;
#[cfg(test)]
mod test_support;
mod text;
mod time;
mod validate;
mod version;

pub use columns::{COMPETENCY_EXTENSION, StatementColumns, actor_identifier, extract_columns};
pub use compare::same_statement;
pub use error::{Error, JsonPath, Result};
pub use format::{LanguagePreference, StatementFormat, format_statement};
pub use model::{Actor, Statement};
pub use normalize::{Authority, NormalizeContext, NormalizedStatement, normalize_body, parse_body};
pub use object_type::ObjectType;
pub use query::{agent_parameter, iri_parameter, time_parameter, uuid_parameter};
pub use text::Text;
pub use time::{from_unix_micros, now_micros, truncate_to_micros, unix_micros};
pub use validate::{VOIDED_VERB, validate_statement};
pub use version::XapiVersion;
