use std::borrow::Cow;

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::{Error, Result, error::JsonPath};

/// The typed columns stored beside the raw statement, read from a normalized statement.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementColumns {
    pub id: Uuid,
    /// `stored`, in microseconds since the Unix epoch.
    pub stored_us: u64,
    /// `timestamp`, in microseconds since the Unix epoch (negative before 1970).
    pub timestamp_us: i64,
    /// The actor's inverse functional identifier as one string: `mbox:mailto:…`,
    /// `mbox_sha1sum:…`, `openid:…` or `account:<homePage>|<name>`; empty for an anonymous Group.
    pub actor_ifi: String,
    pub verb_id: String,
    /// `Activity`, `Agent`, `Group`, `StatementRef` or `SubStatement`.
    pub object_type: String,
    /// The Activity IRI, the StatementRef UUID or the Agent/Group identifier as in `actor_ifi`;
    /// empty for a SubStatement.
    pub object_id: String,
    pub registration: Option<Uuid>,
    pub result_success: Option<bool>,
    pub result_completion: Option<bool>,
    pub score_scaled: Option<f64>,
    pub score_raw: Option<f64>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    /// `result.duration` in milliseconds; a year counts 365 days and a month 30 days.
    pub duration_ms: Option<u64>,
    pub version: String,
}

#[derive(Deserialize)]
struct StatementView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    stored: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    actor: AgentView<'a>,
    #[serde(borrow)]
    verb: VerbView<'a>,
    #[serde(borrow)]
    object: ObjectView<'a>,
    #[serde(borrow, default)]
    result: Option<ResultView<'a>>,
    #[serde(borrow, default)]
    context: Option<ContextView<'a>>,
    #[serde(borrow)]
    version: Cow<'a, str>,
}

#[derive(Deserialize)]
struct AgentView<'a> {
    #[serde(borrow, default)]
    mbox: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mbox_sha1sum: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    openid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account: Option<AccountView<'a>>,
}

#[derive(Deserialize)]
struct AccountView<'a> {
    #[serde(borrow, rename = "homePage")]
    home_page: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct VerbView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ObjectView<'a> {
    #[serde(borrow, default, rename = "objectType")]
    object_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, flatten)]
    agent: AgentView<'a>,
}

#[derive(Deserialize)]
struct ResultView<'a> {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    completion: Option<bool>,
    #[serde(default)]
    score: Option<ScoreView>,
    #[serde(borrow, default)]
    duration: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ScoreView {
    #[serde(default)]
    scaled: Option<f64>,
    #[serde(default)]
    raw: Option<f64>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

#[derive(Deserialize)]
struct ContextView<'a> {
    #[serde(borrow, default)]
    registration: Option<Cow<'a, str>>,
}

/// Reads the typed columns of a normalized statement (one produced by
/// [`normalize_body`](crate::normalize_body)). A statement that lacks what normalization
/// assigns is an error: it did not come from this LRS's intake.
pub fn extract_columns(json: &str) -> Result<StatementColumns> {
    let view: StatementView<'_> =
        serde_json::from_str(json).map_err(|error| Error::Json(error.to_string()))?;
    let root = JsonPath::root();
    let id = parse_uuid(&root.key("id"), &view.id)?;
    let stored = parse_instant(&root.key("stored"), &view.stored)?;
    let timestamp = parse_instant(&root.key("timestamp"), &view.timestamp)?;
    let stored_us = u64::try_from(unix_micros(stored))
        .map_err(|_| Error::invalid(&root.key("stored"), "must not be before 1970"))?;
    let object_type = view.object.object_type.as_deref().unwrap_or("Activity");
    let object_id = match object_type {
        "Agent" | "Group" => agent_identifier(&view.object.agent),
        "SubStatement" => String::new(),
        _ => view.object.id.as_deref().unwrap_or_default().to_owned(),
    };
    let registration = view
        .context
        .as_ref()
        .and_then(|context| context.registration.as_deref())
        .map(|text| parse_uuid(&root.key("context").key("registration"), text))
        .transpose()?;
    let result = view.result.as_ref();
    let score = result.and_then(|result| result.score.as_ref());
    let duration_ms = result
        .and_then(|result| result.duration.as_deref())
        .map(|text| duration_millis(&root.key("result").key("duration"), text))
        .transpose()?;
    Ok(StatementColumns {
        id,
        stored_us,
        timestamp_us: unix_micros(timestamp),
        actor_ifi: agent_identifier(&view.actor),
        verb_id: view.verb.id.into_owned(),
        object_type: object_type.to_owned(),
        object_id,
        registration,
        result_success: result.and_then(|result| result.success),
        result_completion: result.and_then(|result| result.completion),
        score_scaled: score.and_then(|score| score.scaled),
        score_raw: score.and_then(|score| score.raw),
        score_min: score.and_then(|score| score.min),
        score_max: score.and_then(|score| score.max),
        duration_ms,
        version: view.version.into_owned(),
    })
}

fn agent_identifier(agent: &AgentView<'_>) -> String {
    if let Some(mbox) = &agent.mbox {
        format!("mbox:{mbox}")
    } else if let Some(sha1) = &agent.mbox_sha1sum {
        format!("mbox_sha1sum:{sha1}")
    } else if let Some(openid) = &agent.openid {
        format!("openid:{openid}")
    } else if let Some(account) = &agent.account {
        // `|` cannot appear in an IRI, so the home page ends unambiguously.
        format!("account:{}|{}", account.home_page, account.name)
    } else {
        String::new()
    }
}

fn parse_uuid(path: &JsonPath, text: &str) -> Result<Uuid> {
    Uuid::try_parse(text).map_err(|_| Error::invalid(path, "must be a UUID"))
}

fn parse_instant(path: &JsonPath, text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| Error::invalid(path, "must be an RFC 3339 timestamp with a time zone"))
}

fn unix_micros(instant: OffsetDateTime) -> i64 {
    // Every instant `time` can represent (years -9999..=9999) fits in i64 microseconds.
    (instant.unix_timestamp_nanos() / 1_000) as i64
}

fn duration_millis(path: &JsonPath, text: &str) -> Result<u64> {
    const SECOND: u64 = 1_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let duration = iso8601::duration(text)
        .map_err(|_| Error::invalid(path, "must be an ISO 8601 duration"))?;
    let millis = match duration {
        iso8601::Duration::Weeks(weeks) => u64::from(weeks) * 7 * DAY,
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => {
            u64::from(year) * 365 * DAY
                + u64::from(month) * 30 * DAY
                + u64::from(day) * DAY
                + u64::from(hour) * HOUR
                + u64::from(minute) * MINUTE
                + u64::from(second) * SECOND
                + u64::from(millisecond)
        }
    };
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATEMENT: &str = r#"{
        "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
        "stored": "2026-11-23T10:00:00.123456Z",
        "timestamp": "2026-11-23T11:00:00+01:00",
        "actor": {"objectType": "Agent", "account": {"homePage": "https://sis.example.org", "name": "s-42"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
        "object": {"id": "https://example.org/quiz/7", "definition": {"name": {"en-US": "Quiz"}}},
        "result": {"success": true, "score": {"raw": 8, "min": 0, "max": 10}, "duration": "PT1M30.5S"},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
        "version": "1.0.0"
    }"#;

    #[test]
    fn extracts_every_typed_column() {
        let columns = extract_columns(STATEMENT).unwrap();
        assert_eq!(
            columns.id.to_string(),
            "6fa459ea-ee8a-3ca4-894e-db77e160355e"
        );
        assert_eq!(columns.stored_us, 1_795_428_000_123_456);
        assert_eq!(columns.timestamp_us, 1_795_428_000_000_000);
        assert_eq!(columns.actor_ifi, "account:https://sis.example.org|s-42");
        assert_eq!(columns.verb_id, "http://adlnet.gov/expapi/verbs/scored");
        assert_eq!(columns.object_type, "Activity");
        assert_eq!(columns.object_id, "https://example.org/quiz/7");
        assert_eq!(
            columns.registration.map(|id| id.to_string()).as_deref(),
            Some("ec531277-b57b-4c15-8d91-d292c5b2b8f7")
        );
        assert_eq!(columns.result_success, Some(true));
        assert_eq!(columns.result_completion, None);
        assert_eq!(columns.score_raw, Some(8.0));
        assert_eq!(columns.score_max, Some(10.0));
        assert_eq!(columns.score_scaled, None);
        assert_eq!(columns.duration_ms, Some(90_500));
        assert_eq!(columns.version, "1.0.0");
    }

    #[test]
    fn agent_objects_are_identified_like_actors() {
        let json = STATEMENT.replace(
            r#""object": {"id": "https://example.org/quiz/7", "definition": {"name": {"en-US": "Quiz"}}}"#,
            r#""object": {"objectType": "Agent", "mbox": "mailto:teacher@example.org"}"#,
        );
        let columns = extract_columns(&json).unwrap();
        assert_eq!(columns.object_type, "Agent");
        assert_eq!(columns.object_id, "mbox:mailto:teacher@example.org");
    }

    #[test]
    fn a_statement_without_stored_is_rejected() {
        let json = STATEMENT.replace(r#""stored": "2026-11-23T10:00:00.123456Z","#, "");
        let error = extract_columns(&json).unwrap_err();
        assert!(error.to_string().contains("stored"), "{error}");
    }
}
