use std::collections::HashMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::JsonPath;
use crate::{Error, Result, XapiVersion};

/// What the LRS knows about a request that normalization needs.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeContext<'a> {
    /// The version the request speaks.
    pub version: XapiVersion,
    /// The time the LRS stores the statements: becomes `stored`, and `timestamp` where absent.
    pub stored: OffsetDateTime,
    /// The authority of the credential that sent the request. It replaces any authority the
    /// client supplied: the LRS vouches for who sent a statement, not the statement itself.
    pub authority: &'a Value,
}

/// A statement ready to be stored: all properties the LRS assigns are set.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedStatement {
    pub id: Uuid,
    /// The statement serialized as compact JSON.
    pub json: String,
}

/// Parses a statement request body (one statement or an array of them), checks each statement
/// and assigns what the LRS assigns. Either every statement is accepted or none is.
pub fn normalize_body(
    body: &[u8],
    context: &NormalizeContext<'_>,
) -> Result<Vec<NormalizedStatement>> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|error| Error::Json(error.to_string()))?;
    let root = JsonPath::root();
    let statements = match parsed {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (root.index(index), item))
            .collect::<Vec<_>>(),
        Value::Object(_) => vec![(root, parsed)],
        _ => {
            return Err(Error::invalid(
                &root,
                "body must be a statement object or an array of statements",
            ));
        }
    };

    let stored = format_timestamp(truncate_to_micros(context.stored));
    let mut first_index_by_id: HashMap<Uuid, usize> = HashMap::with_capacity(statements.len());
    let mut normalized = Vec::with_capacity(statements.len());
    for (index, (path, value)) in statements.into_iter().enumerate() {
        let Value::Object(mut object) = value else {
            return Err(Error::invalid(&path, "must be a JSON object"));
        };
        let id = check_statement(&path, &mut object, context, &stored)?;
        if let Some(first_index) = first_index_by_id.insert(id, index) {
            return Err(Error::invalid(
                &path.key("id"),
                format!("duplicates the id of statement [{first_index}] in the same request"),
            ));
        }
        let json = serde_json::to_string(&Value::Object(object))
            .map_err(|error| Error::Json(error.to_string()))?;
        normalized.push(NormalizedStatement { id, json });
    }
    Ok(normalized)
}

fn check_statement(
    path: &JsonPath,
    statement: &mut Map<String, Value>,
    context: &NormalizeContext<'_>,
    stored: &str,
) -> Result<Uuid> {
    let id = match statement.get("id") {
        Some(value) => parse_uuid(&path.key("id"), value)?,
        None => {
            let id = Uuid::new_v4();
            statement.insert("id".to_owned(), Value::String(id.hyphenated().to_string()));
            id
        }
    };
    check_agent_or_group(&path.key("actor"), required(path, statement, "actor")?)?;
    check_verb(&path.key("verb"), required(path, statement, "verb")?)?;
    check_object(&path.key("object"), required(path, statement, "object")?)?;
    if let Some(result) = statement.get("result") {
        check_result(&path.key("result"), result)?;
    }
    if let Some(Value::Object(statement_context)) = statement.get("context")
        && let Some(registration) = statement_context.get("registration")
    {
        parse_uuid(&path.key("context").key("registration"), registration)?;
    }
    match statement.get("timestamp") {
        Some(value) => {
            parse_timestamp(&path.key("timestamp"), value)?;
        }
        None => {
            statement.insert("timestamp".to_owned(), Value::String(stored.to_owned()));
        }
    }
    match statement.get("version") {
        Some(Value::String(version))
            if version.starts_with("1.0.") || version.starts_with("2.0.") => {}
        Some(_) => {
            return Err(Error::invalid(
                &path.key("version"),
                "must be a string starting with 1.0. or 2.0.",
            ));
        }
        None => {
            statement.insert(
                "version".to_owned(),
                Value::String(context.version.default_statement_version().to_owned()),
            );
        }
    }
    statement.insert("stored".to_owned(), Value::String(stored.to_owned()));
    statement.insert("authority".to_owned(), context.authority.clone());
    Ok(id)
}

fn required<'a>(path: &JsonPath, object: &'a Map<String, Value>, key: &str) -> Result<&'a Value> {
    object
        .get(key)
        .ok_or_else(|| Error::invalid(&path.key(key), "is required"))
}

fn as_object<'a>(path: &JsonPath, value: &'a Value) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::invalid(path, "must be a JSON object"))
}

fn as_str<'a>(path: &JsonPath, value: &'a Value) -> Result<&'a str> {
    value
        .as_str()
        .ok_or_else(|| Error::invalid(path, "must be a string"))
}

fn object_type<'a>(path: &JsonPath, object: &'a Map<String, Value>) -> Result<Option<&'a str>> {
    object
        .get("objectType")
        .map(|value| as_str(&path.key("objectType"), value))
        .transpose()
}

pub(crate) fn parse_uuid(path: &JsonPath, value: &Value) -> Result<Uuid> {
    let text = as_str(path, value)?;
    // RFC 4122 text form only: 8-4-4-4-12 hex digits, no braces or urn prefix.
    if text.len() != 36 {
        return Err(Error::invalid(
            path,
            "must be a UUID in 8-4-4-4-12 hex form",
        ));
    }
    Uuid::try_parse(text).map_err(|_| Error::invalid(path, "must be a UUID in 8-4-4-4-12 hex form"))
}

pub(crate) fn parse_timestamp(path: &JsonPath, value: &Value) -> Result<OffsetDateTime> {
    let text = as_str(path, value)?;
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| Error::invalid(path, "must be an RFC 3339 timestamp with a time zone"))
}

fn check_iri(path: &JsonPath, value: &Value) -> Result<()> {
    let text = as_str(path, value)?;
    let scheme_end = text.find(':').unwrap_or(0);
    let scheme = &text[..scheme_end];
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character));
    if !valid_scheme || text.len() == scheme_end + 1 || text.chars().any(char::is_whitespace) {
        return Err(Error::invalid(path, "must be an absolute IRI"));
    }
    Ok(())
}

fn check_agent_or_group(path: &JsonPath, value: &Value) -> Result<()> {
    let agent = as_object(path, value)?;
    let kind = object_type(path, agent)?.unwrap_or("Agent");
    let identifiers = ["mbox", "mbox_sha1sum", "openid", "account"]
        .into_iter()
        .filter(|key| agent.contains_key(*key))
        .count();
    match kind {
        "Agent" if identifiers != 1 => Err(Error::invalid(
            path,
            "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account",
        )),
        "Group" if identifiers > 1 => Err(Error::invalid(
            path,
            "a Group must have at most one of mbox, mbox_sha1sum, openid, account",
        )),
        "Group" if identifiers == 0 && !agent.get("member").is_some_and(Value::is_array) => {
            Err(Error::invalid(
                &path.key("member"),
                "an anonymous Group must list its members",
            ))
        }
        "Agent" | "Group" => check_identifier(path, agent),
        _ => Err(Error::invalid(
            &path.key("objectType"),
            "must be Agent or Group",
        )),
    }
}

fn check_identifier(path: &JsonPath, agent: &Map<String, Value>) -> Result<()> {
    if let Some(mbox) = agent.get("mbox") {
        let mbox_path = path.key("mbox");
        let address = as_str(&mbox_path, mbox)?;
        let valid = address.strip_prefix("mailto:").is_some_and(|rest| {
            rest.contains('@') && !rest.starts_with('@') && !rest.ends_with('@')
        });
        if !valid {
            return Err(Error::invalid(&mbox_path, "must be a mailto IRI"));
        }
    }
    if let Some(sha1) = agent.get("mbox_sha1sum") {
        let sha1_path = path.key("mbox_sha1sum");
        let digest = as_str(&sha1_path, sha1)?;
        if digest.len() != 40 || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(Error::invalid(&sha1_path, "must be 40 hexadecimal digits"));
        }
    }
    if let Some(openid) = agent.get("openid") {
        check_iri(&path.key("openid"), openid)?;
    }
    if let Some(account) = agent.get("account") {
        let account_path = path.key("account");
        let account = as_object(&account_path, account)?;
        check_iri(
            &account_path.key("homePage"),
            required(&account_path, account, "homePage")?,
        )?;
        as_str(
            &account_path.key("name"),
            required(&account_path, account, "name")?,
        )?;
    }
    Ok(())
}

fn check_verb(path: &JsonPath, value: &Value) -> Result<()> {
    let verb = as_object(path, value)?;
    check_iri(&path.key("id"), required(path, verb, "id")?)
}

fn check_object(path: &JsonPath, value: &Value) -> Result<()> {
    let object = as_object(path, value)?;
    match object_type(path, object)?.unwrap_or("Activity") {
        "Activity" => check_iri(&path.key("id"), required(path, object, "id")?),
        "Agent" | "Group" => check_agent_or_group(path, value),
        "StatementRef" => parse_uuid(&path.key("id"), required(path, object, "id")?).map(drop),
        "SubStatement" => {
            check_agent_or_group(&path.key("actor"), required(path, object, "actor")?)?;
            check_verb(&path.key("verb"), required(path, object, "verb")?)?;
            let inner = required(path, object, "object")?;
            let inner_path = path.key("object");
            if as_object(&inner_path, inner)?
                .get("objectType")
                .is_some_and(|kind| kind == "SubStatement")
            {
                return Err(Error::invalid(
                    &inner_path.key("objectType"),
                    "a SubStatement must not contain a SubStatement",
                ));
            }
            check_object(&inner_path, inner)
        }
        _ => Err(Error::invalid(
            &path.key("objectType"),
            "must be Activity, Agent, Group, StatementRef or SubStatement",
        )),
    }
}

fn check_result(path: &JsonPath, value: &Value) -> Result<()> {
    let result = as_object(path, value)?;
    for flag in ["success", "completion"] {
        if result.get(flag).is_some_and(|value| !value.is_boolean()) {
            return Err(Error::invalid(&path.key(flag), "must be true or false"));
        }
    }
    if let Some(duration) = result.get("duration") {
        let duration_path = path.key("duration");
        iso8601::duration(as_str(&duration_path, duration)?)
            .map_err(|_| Error::invalid(&duration_path, "must be an ISO 8601 duration"))?;
    }
    let Some(score) = result.get("score") else {
        return Ok(());
    };
    let score_path = path.key("score");
    let score = as_object(&score_path, score)?;
    let number = |key: &str| -> Result<Option<f64>> {
        score
            .get(key)
            .map(|value| {
                value
                    .as_f64()
                    .ok_or_else(|| Error::invalid(&score_path.key(key), "must be a number"))
            })
            .transpose()
    };
    let (scaled, raw, min, max) = (
        number("scaled")?,
        number("raw")?,
        number("min")?,
        number("max")?,
    );
    if scaled.is_some_and(|scaled| !(-1.0..=1.0).contains(&scaled)) {
        return Err(Error::invalid(
            &score_path.key("scaled"),
            "must be between -1 and 1",
        ));
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(Error::invalid(
            &score_path.key("min"),
            "must not be greater than max",
        ));
    }
    if let (Some(raw), Some(min)) = (raw, min)
        && raw < min
    {
        return Err(Error::invalid(
            &score_path.key("raw"),
            "must not be less than min",
        ));
    }
    if let (Some(raw), Some(max)) = (raw, max)
        && raw > max
    {
        return Err(Error::invalid(
            &score_path.key("raw"),
            "must not be greater than max",
        ));
    }
    Ok(())
}

fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let micros = instant.microsecond();
    instant
        .replace_microsecond(micros)
        .expect("a microsecond read from a valid instant is valid")
}

fn format_timestamp(instant: OffsetDateTime) -> String {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("every UTC instant within year 0..=9999 formats as RFC 3339")
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
