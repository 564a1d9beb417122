//! Statement comparison (Data 2.3.1, "Statement Comparison Requirements"): two statements are
//! the same when they differ only in what the immutability rule exempts. That is what a
//! conflict check asks when a statement id arrives a second time.
//!
//! Ignored: `id`, `authority`, `stored` and `version` (assigned by the LRS); a `timestamp` present
//! on one side only (the LRS assigns it), and the serialization of one present on both (compared
//! as instants); Verb `display`; Activity definitions; attachments; the order of a Group's
//! members; the case of an e-mail address's domain; duration precision beyond 0.01 s. Everything
//! else counts, including the duration's own form (`PT60S` is not `PT1M`).

use time::format_description::well_known::Rfc3339;

use crate::XapiVersion;
use crate::error::Path;
use crate::model::{Actor, Context, Statement, StatementObject, StatementResult};
use crate::time::parse_timestamp;

/// Whether `left` and `right` are the same statement in the sense of Data 2.3.1.
pub fn same_statement(left: &Statement<'_>, right: &Statement<'_>) -> bool {
    let mut left = comparable(left);
    let mut right = comparable(right);
    if left.timestamp.is_none() || right.timestamp.is_none() {
        left.timestamp = None;
        right.timestamp = None;
    }
    left == right
}

fn comparable<'a>(statement: &Statement<'a>) -> Statement<'a> {
    let mut copy = statement.clone();
    copy.id = None;
    copy.authority = None;
    copy.stored = None;
    copy.version = None;
    copy.attachments = None;
    copy.timestamp = copy.timestamp.as_deref().map(|text| instant(text).into());
    copy.verb.display = None;
    normalize_actor(&mut copy.actor);
    normalize_object(&mut copy.object);
    if let Some(result) = &mut copy.result {
        normalize_result(result);
    }
    if let Some(context) = &mut copy.context {
        normalize_context(context);
    }
    copy
}

/// A timestamp as the instant it names, or as sent when it cannot be read.
fn instant(text: &str) -> String {
    parse_timestamp(&Path::Root, text, XapiVersion::V1_0)
        .ok()
        .and_then(|instant| {
            instant
                .to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| text.to_owned())
}

fn normalize_actor(actor: &mut Actor<'_>) {
    if let Some(mbox) = &mut actor.mbox {
        *mbox = lowercase_domain(mbox).into();
    }
    if let Some(members) = &mut actor.member {
        for member in members.iter_mut() {
            normalize_actor(member);
        }
        members.sort_by_cached_key(|member| serde_json::to_string(member).unwrap_or_default());
    }
}

fn lowercase_domain(mbox: &str) -> String {
    match mbox.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => mbox.to_owned(),
    }
}

fn normalize_object(object: &mut StatementObject<'_>) {
    object.definition = None;
    if let Some(mbox) = &mut object.mbox {
        *mbox = lowercase_domain(mbox).into();
    }
    if let Some(members) = &mut object.member {
        for member in members.iter_mut() {
            normalize_actor(member);
        }
        members.sort_by_cached_key(|member| serde_json::to_string(member).unwrap_or_default());
    }
    if let Some(actor) = &mut object.actor {
        normalize_actor(actor);
    }
    if let Some(verb) = &mut object.verb {
        verb.display = None;
    }
    if let Some(inner) = &mut object.object {
        normalize_object(inner);
    }
    if let Some(result) = &mut object.result {
        normalize_result(result);
    }
    if let Some(context) = &mut object.context {
        normalize_context(context);
    }
    object.timestamp = object.timestamp.as_deref().map(|text| instant(text).into());
    object.attachments = None;
}

fn normalize_result(result: &mut StatementResult<'_>) {
    if let Some(duration) = &mut result.duration {
        *duration = truncate_duration(duration).into();
    }
}

/// Drops second fractions beyond two digits: `PT1.2345S` compares as `PT1.23S`.
fn truncate_duration(duration: &str) -> String {
    let Some(seconds_end) = duration.strip_suffix('S') else {
        return duration.to_owned();
    };
    match seconds_end.rfind('.') {
        Some(dot) if seconds_end.len() - dot - 1 > 2 => format!("{}S", &seconds_end[..dot + 3]),
        _ => duration.to_owned(),
    }
}

fn normalize_context(context: &mut Context<'_>) {
    if let Some(instructor) = &mut context.instructor {
        normalize_actor(instructor);
    }
    if let Some(team) = &mut context.team {
        normalize_actor(team);
    }
    if let Some(activities) = &mut context.context_activities {
        activities
            .all_mut()
            .for_each(|activity| activity.definition = None);
    }
    for context_agent in context.context_agents.iter_mut().flatten() {
        normalize_actor(&mut context_agent.agent);
    }
    for context_group in context.context_groups.iter_mut().flatten() {
        normalize_actor(&mut context_group.group);
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize as _;
    use serde_json::{Value, json};

    use super::*;

    fn statement(value: Value) -> Statement<'static> {
        Statement::deserialize(value).unwrap()
    }

    fn base() -> Value {
        json!({
            "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@Example.org"}, {"mbox": "mailto:b@example.org"}]},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
            "object": {"id": "https://example.org/quiz", "definition": {"name": {"en-US": "Quiz"}}},
            "result": {"duration": "PT1.234S", "score": {"raw": 5}},
            "timestamp": "2026-11-23T10:00:00+01:00",
            "stored": "2026-11-23T09:00:01Z",
            "version": "1.0.0"
        })
    }

    #[test]
    fn data_2_3_1_ignores_what_the_lrs_may_change() {
        let original = statement(base());
        let mut changed = base();
        changed["actor"]["member"] =
            json!([{"mbox": "mailto:b@example.org"}, {"mbox": "mailto:a@example.org"}]);
        changed["verb"]["display"] = json!({"fr-FR": "réussi"});
        changed["object"]["definition"] = json!({"name": {"en-US": "Renamed"}});
        changed["result"]["duration"] = json!("PT1.2349S");
        changed["timestamp"] = json!("2026-11-23T09:00:00Z");
        changed["stored"] = json!("2027-01-01T00:00:00Z");
        changed["version"] = json!("1.0.3");
        changed["authority"] = json!({"mbox": "mailto:lrs@example.org"});
        changed.as_object_mut().unwrap().remove("id");
        assert!(same_statement(&original, &statement(changed)));
        let mut without_timestamp = base();
        without_timestamp
            .as_object_mut()
            .unwrap()
            .remove("timestamp");
        assert!(same_statement(&original, &statement(without_timestamp)));
    }

    #[test]
    fn data_2_3_1_counts_everything_else() {
        let original = statement(base());
        let changes: Vec<(&str, Value)> = vec![
            ("/verb/id", json!("http://adlnet.gov/expapi/verbs/failed")),
            ("/object/id", json!("https://example.org/other-quiz")),
            ("/result/score/raw", json!(6)),
            ("/result/duration", json!("PT1.24S")),
            ("/timestamp", json!("2026-11-23T10:00:00Z")),
            ("/actor/member/0/mbox", json!("mailto:A@example.org")),
        ];
        for (pointer, value) in changes {
            let mut changed = base();
            *changed.pointer_mut(pointer).unwrap() = value;
            assert!(
                !same_statement(&original, &statement(changed)),
                "{pointer} must count"
            );
        }
    }
}
