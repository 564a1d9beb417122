use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Path;
use crate::model::{Actor, Context, ObjectType, Statement, StatementObject, Text};
use crate::time::{parse_duration, unix_micros};
use crate::{Error, Result};

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
    pub object_type: ObjectType,
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
    /// What the `agent` filter matches (Communication 2.1.3): the identifiers, as in
    /// `actor_ifi`, of the actor and of an Agent or identified Group object.
    pub agents: Vec<String>,
    /// What `agent` with `related_agents=true` matches: `agents`, the members of Groups there,
    /// the authority, instructor, team, context agents and groups, and the same inside a
    /// SubStatement.
    pub related_agents: Vec<String>,
    /// What the `activity` filter matches: the object's IRI when it is an Activity.
    pub activities: Vec<String>,
    /// What `activity` with `related_activities=true` matches: `activities`, the context
    /// activities, and the same inside a SubStatement.
    pub related_activities: Vec<String>,
    /// The statement's own `parent`, `grouping` and `category` context activities: what
    /// competency alignment looks up besides the object (`other` is not evidence of anything).
    pub context_activities: Vec<String>,
    /// The competencies the object's definition names under [`COMPETENCY_EXTENSION`].
    pub competency_ids: Vec<String>,
}

/// The activity-definition extension through which content names the competencies an activity
/// assesses: a competency identifier (for example a CASE CFItem GUID or URI) or an array of them.
pub const COMPETENCY_EXTENSION: &str = "https://learnstream.dev/xapi/extensions/competency";

/// Reads the typed columns of a normalized statement (one produced by
/// [`normalize_body`](crate::normalize_body)). A statement that lacks what normalization
/// assigns is an error: it did not come from this LRS's intake.
pub fn extract_columns(json: &str) -> Result<StatementColumns> {
    let statement: Statement<'_> =
        serde_json::from_str(json).map_err(|error| Error::Json(error.to_string()))?;
    let root = Path::Root;
    let assigned = |key: &str, value: &Option<Text<'_>>| -> Result<String> {
        value
            .as_deref()
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid(&root.key(key), "is required in a normalized statement"))
    };
    let id = crate::validate::uuid(&root.key("id"), &assigned("id", &statement.id)?)?;
    let stored = parse_instant(&root.key("stored"), &assigned("stored", &statement.stored)?)?;
    let timestamp = parse_instant(
        &root.key("timestamp"),
        &assigned("timestamp", &statement.timestamp)?,
    )?;
    let version = assigned("version", &statement.version)?;
    let stored_us = u64::try_from(unix_micros(stored))
        .map_err(|_| Error::invalid(&root.key("stored"), "must not be before 1970"))?;
    let object = &statement.object;
    let object_type = object.kind().ok_or_else(|| {
        Error::invalid(
            &root.key("object").key("objectType"),
            "names no xAPI object type",
        )
    })?;
    let object_id = match object_type {
        ObjectType::Agent | ObjectType::Group => actor_identifier(&object.as_actor()),
        ObjectType::SubStatement => String::new(),
        ObjectType::Activity | ObjectType::StatementRef => {
            object.id.as_deref().unwrap_or_default().to_owned()
        }
    };
    let registration = statement
        .context
        .as_ref()
        .and_then(|context| context.registration.as_deref())
        .map(|text| crate::validate::uuid(&root.key("context").key("registration"), text))
        .transpose()?;
    let result = statement.result.as_ref();
    let score = result.and_then(|result| result.score.as_ref());
    let number = |pick: fn(&crate::model::Score) -> &Option<serde_json::Number>| {
        score
            .and_then(|score| pick(score).as_ref())
            .and_then(serde_json::Number::as_f64)
    };
    let duration_ms = result
        .and_then(|result| result.duration.as_deref())
        .map(|text| parse_duration(&root.key("result").key("duration"), text))
        .transpose()?;
    Ok(StatementColumns {
        id,
        stored_us,
        timestamp_us: unix_micros(timestamp),
        actor_ifi: actor_identifier(&statement.actor),
        verb_id: statement.verb.id.to_string(),
        object_type,
        object_id,
        registration,
        result_success: result.and_then(|result| result.success),
        result_completion: result.and_then(|result| result.completion),
        score_scaled: number(|score| &score.scaled),
        score_raw: number(|score| &score.raw),
        score_min: number(|score| &score.min),
        score_max: number(|score| &score.max),
        duration_ms,
        version,
        agents: own_agents(&statement.actor, object),
        related_agents: related_agents(&statement),
        activities: own_activities(object),
        related_activities: related_activities(&statement),
        context_activities: alignment_context_activities(statement.context.as_deref()),
        competency_ids: extension_competencies(object),
    })
}

fn alignment_context_activities(context: Option<&Context<'_>>) -> Vec<String> {
    let Some(kinds) = context.and_then(|context| context.context_activities.as_ref()) else {
        return Vec::new();
    };
    let mut activities: Vec<String> = [&kinds.parent, &kinds.grouping, &kinds.category]
        .into_iter()
        .flat_map(|kind| kind.iter().flatten())
        .map(|activity| activity.id.to_string())
        .collect();
    activities.sort_unstable();
    activities.dedup();
    activities
}

fn extension_competencies(object: &StatementObject<'_>) -> Vec<String> {
    let Some(value) = object
        .definition
        .as_ref()
        .and_then(|definition| definition.extensions.as_ref())
        .and_then(|extensions| extensions.get(COMPETENCY_EXTENSION))
    else {
        return Vec::new();
    };
    let mut competencies: Vec<String> = match value {
        serde_json::Value::String(id) => vec![id.clone()],
        serde_json::Value::Array(ids) => ids
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    competencies.retain(|id| !id.is_empty());
    competencies.sort_unstable();
    competencies.dedup();
    competencies
}

/// The actor's identifier and an Agent or identified Group object's.
fn own_agents(actor: &Actor<'_>, object: &StatementObject<'_>) -> Vec<String> {
    let mut agents = Vec::new();
    push_identifier(&mut agents, actor);
    if object.kind().is_some_and(ObjectType::is_actor) {
        push_identifier(&mut agents, &object.as_actor());
    }
    agents
}

fn related_agents(statement: &Statement<'_>) -> Vec<String> {
    let mut agents = Vec::new();
    push_with_members(&mut agents, &statement.actor);
    push_object_agents(&mut agents, &statement.object);
    if let Some(authority) = &statement.authority {
        push_with_members(&mut agents, authority);
    }
    push_context_agents(&mut agents, statement.context.as_deref());
    if statement.object.kind() == Some(ObjectType::SubStatement) {
        let sub = &statement.object;
        if let Some(actor) = &sub.actor {
            push_with_members(&mut agents, actor);
        }
        if let Some(object) = &sub.object {
            push_object_agents(&mut agents, object);
        }
        push_context_agents(&mut agents, sub.context.as_deref());
    }
    agents.sort_unstable();
    agents.dedup();
    agents
}

fn push_object_agents(agents: &mut Vec<String>, object: &StatementObject<'_>) {
    if object.kind().is_some_and(ObjectType::is_actor) {
        push_with_members(agents, &object.as_actor());
    }
}

fn push_context_agents(agents: &mut Vec<String>, context: Option<&Context<'_>>) {
    let Some(context) = context else {
        return;
    };
    for actor in [&context.instructor, &context.team].into_iter().flatten() {
        push_with_members(agents, actor);
    }
    for context_agent in context.context_agents.iter().flatten() {
        push_with_members(agents, &context_agent.agent);
    }
    for context_group in context.context_groups.iter().flatten() {
        push_with_members(agents, &context_group.group);
    }
}

fn push_with_members(agents: &mut Vec<String>, actor: &Actor<'_>) {
    push_identifier(agents, actor);
    for member in actor.member.iter().flatten() {
        push_identifier(agents, member);
    }
}

fn push_identifier(agents: &mut Vec<String>, actor: &Actor<'_>) {
    let identifier = actor_identifier(actor);
    if !identifier.is_empty() {
        agents.push(identifier);
    }
}

fn own_activities(object: &StatementObject<'_>) -> Vec<String> {
    match (object.kind(), &object.id) {
        (Some(ObjectType::Activity), Some(id)) => vec![id.to_string()],
        _ => Vec::new(),
    }
}

fn related_activities(statement: &Statement<'_>) -> Vec<String> {
    let mut activities = own_activities(&statement.object);
    push_context_activities(&mut activities, statement.context.as_deref());
    if statement.object.kind() == Some(ObjectType::SubStatement) {
        if let Some(object) = &statement.object.object {
            activities.extend(own_activities(object));
        }
        push_context_activities(&mut activities, statement.object.context.as_deref());
    }
    activities.sort_unstable();
    activities.dedup();
    activities
}

fn push_context_activities(activities: &mut Vec<String>, context: Option<&Context<'_>>) {
    let Some(kinds) = context.and_then(|context| context.context_activities.as_ref()) else {
        return;
    };
    for kind in [
        &kinds.parent,
        &kinds.grouping,
        &kinds.category,
        &kinds.other,
    ] {
        activities.extend(
            kind.iter()
                .flatten()
                .map(|activity| activity.id.to_string()),
        );
    }
}

/// An Agent's or identified Group's inverse functional identifier as one string.
pub fn actor_identifier(actor: &Actor<'_>) -> String {
    if let Some(mbox) = &actor.mbox {
        format!("mbox:{mbox}")
    } else if let Some(sha1) = &actor.mbox_sha1sum {
        format!("mbox_sha1sum:{sha1}")
    } else if let Some(openid) = &actor.openid {
        format!("openid:{openid}")
    } else if let Some(account) = &actor.account {
        // `|` cannot appear in an IRI, so the home page ends unambiguously.
        format!("account:{}|{}", account.home_page, account.name)
    } else {
        String::new()
    }
}

fn parse_instant(path: &Path<'_>, text: &str) -> Result<OffsetDateTime> {
    // Normalized statements carry RFC 3339 or (1.0.x) ISO 8601 times; the 1.0 rules read both.
    crate::time::parse_timestamp(path, text, crate::XapiVersion::V1_0)
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
        assert_eq!(columns.object_type, ObjectType::Activity);
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
        assert_eq!(columns.activities, ["https://example.org/quiz/7"]);
        assert_eq!(columns.related_activities, ["https://example.org/quiz/7"]);
        assert!(columns.context_activities.is_empty());
        assert!(columns.competency_ids.is_empty());
    }

    #[test]
    fn alignment_reads_own_context_activities_and_the_competency_extension() {
        let json = STATEMENT
            .replace(
                r#""definition": {"name": {"en-US": "Quiz"}}"#,
                r#""definition": {"extensions": {"https://learnstream.dev/xapi/extensions/competency": ["case:B", "case:A", "case:B"]}}"#,
            )
            .replace(
                r#""context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}"#,
                r#""context": {"contextActivities": {"parent": [{"id": "https://example.org/unit/2"}],
                    "category": [{"id": "https://example.org/standard/fractions"}],
                    "other": [{"id": "https://example.org/not-evidence"}]}}"#,
            );
        let columns = extract_columns(&json).unwrap();
        assert_eq!(
            columns.context_activities,
            [
                "https://example.org/standard/fractions",
                "https://example.org/unit/2"
            ]
        );
        assert_eq!(columns.competency_ids, ["case:A", "case:B"]);
        let single = json.replace(r#"["case:B", "case:A", "case:B"]"#, r#""case:C""#);
        assert_eq!(extract_columns(&single).unwrap().competency_ids, ["case:C"]);
    }

    #[test]
    fn agent_objects_are_identified_like_actors() {
        let json = STATEMENT.replace(
            r#""object": {"id": "https://example.org/quiz/7", "definition": {"name": {"en-US": "Quiz"}}}"#,
            r#""object": {"objectType": "Agent", "mbox": "mailto:teacher@example.org"}"#,
        );
        let columns = extract_columns(&json).unwrap();
        assert_eq!(columns.object_type, ObjectType::Agent);
        assert_eq!(columns.object_id, "mbox:mailto:teacher@example.org");
        assert_eq!(
            columns.agents,
            [
                "account:https://sis.example.org|s-42",
                "mbox:mailto:teacher@example.org"
            ]
        );
        assert!(columns.activities.is_empty());
    }

    #[test]
    fn filter_values_cover_what_the_related_filters_match() {
        let json = r#"{
            "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
            "stored": "2026-11-23T10:00:00Z", "timestamp": "2026-11-23T10:00:00Z", "version": "1.0.0",
            "actor": {"objectType": "Group", "mbox": "mailto:team@example.org",
                      "member": [{"mbox": "mailto:a@example.org"}, {"openid": "https://id.example.org/b"}]},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/planned"},
            "object": {"objectType": "SubStatement",
                "actor": {"mbox": "mailto:c@example.org"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
                "object": {"id": "https://example.org/lesson/1"},
                "context": {"instructor": {"mbox": "mailto:d@example.org"},
                            "contextActivities": {"parent": [{"id": "https://example.org/course"}]}}},
            "authority": {"account": {"homePage": "https://lrs.example.org", "name": "vendor"}},
            "context": {"team": {"objectType": "Group", "member": [{"mbox": "mailto:e@example.org"}]},
                        "contextActivities": {"grouping": [{"id": "https://example.org/class/7"}],
                                              "category": [{"id": "https://example.org/course"}]}}
        }"#;
        let columns = extract_columns(json).unwrap();
        assert_eq!(columns.agents, ["mbox:mailto:team@example.org"]);
        assert_eq!(
            columns.related_agents,
            [
                "account:https://lrs.example.org|vendor",
                "mbox:mailto:a@example.org",
                "mbox:mailto:c@example.org",
                "mbox:mailto:d@example.org",
                "mbox:mailto:e@example.org",
                "mbox:mailto:team@example.org",
                "openid:https://id.example.org/b",
            ]
        );
        assert!(
            columns.activities.is_empty(),
            "a SubStatement is no Activity"
        );
        assert_eq!(
            columns.related_activities,
            [
                "https://example.org/class/7",
                "https://example.org/course",
                "https://example.org/lesson/1",
            ]
        );
    }

    #[test]
    fn a_statement_without_stored_is_rejected() {
        let json = STATEMENT.replace(r#""stored": "2026-11-23T10:00:00.123456Z","#, "");
        let error = extract_columns(&json).unwrap_err();
        assert!(error.to_string().contains("stored"), "{error}");
    }
}
