use std::collections::HashMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{JsonPath, Path};
use crate::model::{Actor, Statement};
use crate::time::parse_timestamp;
use crate::validate::validate_statement_at;
use crate::{Error, Result, XapiVersion};

/// About what `assign` adds to a statement: id, stored, timestamp, version and authority.
const ASSIGNED_BYTES: usize = 512;

/// What the LRS knows about a request that normalization needs.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeContext<'a> {
    /// The version the request speaks.
    pub version: XapiVersion,
    /// The time the LRS stores the statements: becomes `stored`, and `timestamp` where absent.
    pub stored: OffsetDateTime,
    /// The authority of the credential that sent the request. It replaces any authority the
    /// client supplied: the LRS vouches for who sent a statement, not the statement itself.
    pub authority: &'a Actor<'static>,
}

/// A statement ready to be stored: all properties the LRS assigns are set.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedStatement {
    pub id: Uuid,
    /// The statement serialized as compact JSON.
    pub json: String,
}

/// Parses a statement request body (one statement or an array of them), checks each statement
/// against xAPI and assigns what the LRS assigns. Either every statement is accepted or none is.
pub fn normalize_body(
    body: &[u8],
    context: &NormalizeContext<'_>,
) -> Result<Vec<NormalizedStatement>> {
    let statements = parse_body(body)?;
    let stored = format_timestamp(truncate_to_micros(context.stored));
    let root = Path::Root;
    let is_array = matches!(first_byte(body), Some(b'['));
    let mut first_index_by_id: HashMap<Uuid, usize> = HashMap::with_capacity(statements.len());
    let statements_count = statements.len().max(1);
    let mut normalized = Vec::with_capacity(statements.len());
    for (index, mut statement) in statements.into_iter().enumerate() {
        let path = if is_array { root.index(index) } else { root };
        validate_statement_at(&path, &statement, context.version)?;
        let id = assign(&path, &mut statement, context, &stored)?;
        if let Some(first_index) = first_index_by_id.insert(id, index) {
            return Err(Error::invalid(
                &path.key("id"),
                format!("duplicates the id of statement [{first_index}] in the same request"),
            ));
        }
        // Room for the statement as sent plus what the LRS assigns, so the buffer grows once
        // at most.
        let mut buffer = Vec::with_capacity(body.len() / statements_count + ASSIGNED_BYTES);
        sonic_rs::to_writer(&mut buffer, &statement)
            .map_err(|error| Error::Json(error.to_string()))?;
        let json = String::from_utf8(buffer).map_err(|error| Error::Json(error.to_string()))?;
        normalized.push(NormalizedStatement { id, json });
    }
    Ok(normalized)
}

/// Parses one statement or an array of statements, reporting the JSON path of any property that
/// is unknown, missing or of the wrong type.
pub fn parse_body(body: &[u8]) -> Result<Vec<Statement<'_>>> {
    // JSON is UTF-8 (RFC 8259): checking the whole body once lets the parser skip the check per
    // string.
    let body = std::str::from_utf8(body)
        .map_err(|error| Error::Json(format!("the body is not UTF-8: {error}")))?;
    match first_byte(body.as_bytes()) {
        Some(b'[') => parse_with_path::<Vec<Statement<'_>>>(body),
        Some(b'{') => parse_with_path::<Statement<'_>>(body).map(|statement| vec![statement]),
        Some(_) => Err(Error::invalid(
            &Path::Root,
            "body must be a statement object or an array of statements",
        )),
        None => Err(Error::Json("the body is empty".to_owned())),
    }
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter()
        .copied()
        .find(|byte| !byte.is_ascii_whitespace())
}

/// Parses without tracking paths (the common, valid case pays nothing for them); on an error,
/// parses again with serde_path_to_error to say where.
fn parse_with_path<'a, T: serde::Deserialize<'a>>(body: &'a str) -> Result<T> {
    if let Ok(parsed) = serde_json::from_str::<T>(body) {
        return Ok(parsed);
    }
    let mut deserializer = serde_json::Deserializer::from_str(body);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = json_path(error.path());
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::Json(inner.to_string());
        }
        let message = strip_position(&inner.to_string());
        // "missing field `actor`" reads better as "actor: is required".
        let (path, rule) = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            Some(field) => {
                let mut field_path = path;
                field_path.push_key(field);
                (field_path, "is required".to_owned())
            }
            None => (path, message),
        };
        Error::Invalid { path, rule }
    })?;
    deserializer
        .end()
        .map_err(|error| Error::Json(error.to_string()))?;
    Ok(parsed)
}

fn json_path(path: &serde_path_to_error::Path) -> JsonPath {
    let mut json_path = JsonPath::root();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => json_path.push_index(*index),
            serde_path_to_error::Segment::Map { key } => json_path.push_key(key),
            serde_path_to_error::Segment::Enum { variant } => json_path.push_key(variant),
            serde_path_to_error::Segment::Unknown => json_path.push_key("?"),
        }
    }
    json_path
}

/// serde_json appends " at line L column C" to data errors; the JSON path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(position) => message[..position].to_owned(),
        None => message.to_owned(),
    }
}

/// Sets id, timestamp, version, stored and authority. In a 2.0 request the timestamp is written
/// in UTC (the instant is unchanged).
fn assign<'a>(
    path: &Path<'_>,
    statement: &mut Statement<'a>,
    context: &NormalizeContext<'_>,
    stored: &'a str,
) -> Result<Uuid> {
    let id = match &statement.id {
        Some(id) => crate::validate::uuid(&path.key("id"), id)?,
        None => {
            let id = Uuid::new_v4();
            statement.id = Some(id.hyphenated().to_string().into());
            id
        }
    };
    match &statement.timestamp {
        Some(timestamp) if context.version == XapiVersion::V2_0 => {
            let instant = parse_timestamp(&path.key("timestamp"), timestamp, context.version)?;
            if instant.offset() != time::UtcOffset::UTC || !timestamp.ends_with('Z') {
                statement.timestamp = Some(format_timestamp(instant).into());
            }
        }
        Some(_) => {}
        None => statement.timestamp = Some(stored.into()),
    }
    if statement.version.is_none() {
        statement.version = Some(context.version.default_statement_version().into());
    }
    statement.stored = Some(stored.into());
    statement.authority = Some(context.authority.clone());
    Ok(id)
}

fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let micros = instant.microsecond();
    instant
        .replace_microsecond(micros)
        .expect("a microsecond read from a valid instant is valid")
}

pub(crate) fn format_timestamp(instant: OffsetDateTime) -> String {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("every UTC instant within year 0..=9999 formats as RFC 3339")
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
