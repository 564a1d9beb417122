use std::collections::HashMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{JsonPath, Path};
use crate::model::{Account, Actor, Context, ObjectType, Statement};
use crate::time::{parse_timestamp, truncate_to_micros};
use crate::validate::{VOIDED_VERB, validate_statement_at};
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
    pub authority: &'a Authority,
}

/// The authority the LRS records on the statements a credential sends, serialized once.
#[derive(Debug, Clone, PartialEq)]
pub struct Authority {
    actor: Actor<'static>,
    json: String,
}

impl Authority {
    pub fn new(actor: Actor<'static>) -> Self {
        let json = serde_json::to_string(&actor).expect("an Actor always serializes");
        Authority { actor, json }
    }

    /// The authority of an LRS credential: an Agent named for its user and identified by an
    /// account of that name on the LRS's home page.
    pub fn of_credential(username: &str, home_page: &str) -> Self {
        Authority::new(Actor {
            object_type: Some(ObjectType::Agent.as_str().into()),
            name: Some(username.to_owned().into()),
            account: Some(Account {
                home_page: home_page.to_owned().into(),
                name: username.to_owned().into(),
            }),
            mbox: None,
            mbox_sha1sum: None,
            openid: None,
            member: None,
        })
    }

    pub fn actor(&self) -> &Actor<'static> {
        &self.actor
    }

    /// The authority as compact JSON.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// A statement ready to be stored: all properties the LRS assigns are set.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedStatement {
    pub id: Uuid,
    /// The client chose the id: the statement may already be stored (a conflict check).
    pub id_sent: bool,
    /// The client sent the timestamp; otherwise the LRS filled it in, and a conflict check
    /// ignores it.
    pub timestamp_sent: bool,
    /// For a voiding statement, the statement it voids (Data 2.3.2).
    pub voids: Option<Uuid>,
    /// The statement serialized as compact JSON.
    pub json: String,
}

/// Parses a statement request body (one statement or an array of them), checks each statement
/// against xAPI and assigns what the LRS assigns. Either every statement is accepted or none is.
///
/// A statement is stored as the client wrote it, with the assigned properties written in front,
/// unless normalization changed something the client sent (a client-supplied `stored` or
/// `authority`, a context activity sent as a single object, a 2.0 timestamp not in UTC) or the
/// client pretty-printed it: those are serialized again from the model. Both forms are the same
/// JSON document; skipping the serializer is most of the speed of the common case.
pub fn normalize_body(
    body: &[u8],
    context: &NormalizeContext<'_>,
) -> Result<Vec<NormalizedStatement>> {
    let parsed = parse_body_as_sent(body)?;
    let stored = format_timestamp(truncate_to_micros(context.stored));
    let root = Path::Root;
    let is_array = matches!(first_byte(body), Some(b'['));
    let mut first_index_by_id: HashMap<Uuid, usize> = HashMap::with_capacity(parsed.len());
    let statements_count = parsed.len().max(1);
    let mut normalized = Vec::with_capacity(parsed.len());
    for (index, (mut statement, as_sent)) in parsed.into_iter().enumerate() {
        let path = if is_array { root.index(index) } else { root };
        validate_statement_at(&path, &statement, context.version)?;
        let sent = SentProperties::of(&statement);
        let assigned = assign(&path, &mut statement, context, &stored)?;
        if let Some(first_index) = first_index_by_id.insert(assigned.id, index) {
            return Err(Error::invalid(
                &path.key("id"),
                format!("duplicates the id of statement [{first_index}] in the same request"),
            ));
        }
        // Room for the statement as sent plus what the LRS assigns, so the buffer grows once
        // at most.
        let mut buffer = Vec::with_capacity(body.len() / statements_count + ASSIGNED_BYTES);
        match as_sent.filter(|_| !assigned.rewrote_timestamp && !sent.needs_rewriting) {
            Some(as_sent) => write_as_sent(
                &mut buffer,
                as_sent,
                &statement,
                &sent,
                context.authority.json(),
            ),
            None => {
                statement.authority = Some(context.authority.actor().clone());
                sonic_rs::to_writer(&mut buffer, &statement)
                    .map_err(|error| Error::Json(error.to_string()))?
            }
        }
        let json = String::from_utf8(buffer).map_err(|error| Error::Json(error.to_string()))?;
        let voids = (statement.verb.id == VOIDED_VERB)
            .then(|| {
                statement
                    .object
                    .id
                    .as_deref()
                    .and_then(|id| Uuid::try_parse(id).ok())
            })
            .flatten();
        normalized.push(NormalizedStatement {
            id: assigned.id,
            id_sent: sent.id,
            timestamp_sent: sent.timestamp,
            voids,
            json,
        });
    }
    Ok(normalized)
}

/// What the client sent of the properties the LRS assigns, read before `assign`.
struct SentProperties {
    id: bool,
    timestamp: bool,
    version: bool,
    /// Whether the stored form must differ from the client's own text beyond the properties
    /// added in front.
    needs_rewriting: bool,
}

impl SentProperties {
    fn of(statement: &Statement<'_>) -> Self {
        let single_context_activity = |context: Option<&Context<'_>>| {
            context
                .and_then(|context| context.context_activities.as_ref())
                .is_some_and(|activities| activities.sent_single_object)
        };
        SentProperties {
            id: statement.id.is_some(),
            timestamp: statement.timestamp.is_some(),
            version: statement.version.is_some(),
            needs_rewriting: statement.stored.is_some()
                || statement.authority.is_some()
                || single_context_activity(statement.context.as_deref())
                || single_context_activity(statement.object.context.as_deref()),
        }
    }
}

/// Writes `{`, the assigned properties the client did not send, then the rest of the client's
/// own object. Ids, timestamps and versions need no JSON escaping; the authority is already JSON.
fn write_as_sent(
    buffer: &mut Vec<u8>,
    as_sent: &str,
    statement: &Statement<'_>,
    sent: &SentProperties,
    authority_json: &str,
) {
    debug_assert!(as_sent.starts_with('{') && as_sent.ends_with('}'));
    buffer.push(b'{');
    let mut string_property = |name: &str, value: Option<&str>| {
        let value = value.expect("assign sets id, timestamp, version and stored");
        for part in ["\"", name, "\":\"", value, "\","] {
            buffer.extend_from_slice(part.as_bytes());
        }
    };
    string_property("stored", statement.stored.as_deref());
    if !sent.id {
        string_property("id", statement.id.as_deref());
    }
    if !sent.timestamp {
        string_property("timestamp", statement.timestamp.as_deref());
    }
    if !sent.version {
        string_property("version", statement.version.as_deref());
    }
    buffer.extend_from_slice(b"\"authority\":");
    buffer.extend_from_slice(authority_json.as_bytes());
    buffer.push(b',');
    // The client's members follow. An xAPI statement has at least actor, verb and object, so
    // the comma after the last assigned property always has a member after it.
    buffer.extend_from_slice(trim_json_whitespace(&as_sent[1..]).as_bytes());
}

/// Parses the body like `parse_body` and also returns each statement's own text, or `None`
/// where it is better serialized again (pretty-printed input, whose whitespace is not worth
/// storing) or could not be delimited.
fn parse_body_as_sent(body: &[u8]) -> Result<Vec<(Statement<'_>, Option<&str>)>> {
    let text = std::str::from_utf8(body)
        .map_err(|error| Error::Json(format!("the body is not UTF-8: {error}")))?;
    let delimited = match first_byte(body) {
        Some(b'{') => serde_json::from_str::<Statement<'_>>(text)
            .ok()
            .map(|statement| vec![(statement, trim_json_whitespace(text))]),
        Some(b'[') => parse_array_as_sent(text),
        _ => None,
    };
    match delimited {
        Some(statements) => Ok(statements
            .into_iter()
            .map(|(statement, as_sent)| {
                let compact = memchr::memchr3(b'\n', b'\r', b'\t', as_sent.as_bytes()).is_none();
                (statement, compact.then_some(as_sent))
            })
            .collect()),
        // Errors and their paths come from the general parser.
        None => Ok(parse_body(body)?
            .into_iter()
            .map(|statement| (statement, None))
            .collect()),
    }
}

/// Reads a JSON array of statements one element at a time, keeping each element's text.
/// `None` on anything unexpected: the caller then parses the whole body again to report it.
fn parse_array_as_sent(text: &str) -> Option<Vec<(Statement<'_>, &str)>> {
    let mut statements = Vec::new();
    let mut rest = trim_json_whitespace(text).strip_prefix('[')?;
    if let Some(after) = trim_json_whitespace(rest).strip_prefix(']') {
        return after.is_empty().then_some(statements);
    }
    loop {
        let element = trim_json_whitespace(rest);
        let mut stream = serde_json::Deserializer::from_str(element).into_iter::<Statement<'_>>();
        let statement = stream.next()?.ok()?;
        let (as_sent, after) = element.split_at(stream.byte_offset());
        statements.push((statement, as_sent));
        let after = trim_json_whitespace(after);
        if let Some(next) = after.strip_prefix(',') {
            rest = next;
        } else {
            let end = after.strip_prefix(']')?;
            return end.is_empty().then_some(statements);
        }
    }
}

/// Without the whitespace JSON allows around values (RFC 8259: space, tab, line feed, carriage
/// return), and no other.
fn trim_json_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
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

/// Sets id, timestamp, version and stored (the caller writes the authority). In a 2.0 request the timestamp is written
/// in UTC (the instant is unchanged).
fn assign<'a>(
    path: &Path<'_>,
    statement: &mut Statement<'a>,
    context: &NormalizeContext<'_>,
    stored: &'a str,
) -> Result<Assigned> {
    let id = match &statement.id {
        Some(id) => crate::validate::uuid(&path.key("id"), id)?,
        None => {
            let id = Uuid::new_v4();
            statement.id = Some(id.hyphenated().to_string().into());
            id
        }
    };
    let mut rewrote_timestamp = false;
    match &statement.timestamp {
        Some(timestamp) if context.version == XapiVersion::V2_0 => {
            let instant = parse_timestamp(&path.key("timestamp"), timestamp, context.version)?;
            if instant.offset() != time::UtcOffset::UTC || !timestamp.ends_with('Z') {
                statement.timestamp = Some(format_timestamp(instant).into());
                rewrote_timestamp = true;
            }
        }
        Some(_) => {}
        None => statement.timestamp = Some(stored.into()),
    }
    if statement.version.is_none() {
        statement.version = Some(context.version.default_statement_version().into());
    }
    statement.stored = Some(stored.into());
    Ok(Assigned {
        id,
        rewrote_timestamp,
    })
}

/// What `assign` did.
struct Assigned {
    id: Uuid,
    /// A 2.0 timestamp was written again in UTC: the client's text no longer holds.
    rewrote_timestamp: bool,
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
