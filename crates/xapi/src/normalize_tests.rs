use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

fn authority_json() -> Value {
    json!({"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "vendor"}})
}

fn authority() -> Authority {
    Authority::new(serde::Deserialize::deserialize(authority_json()).unwrap())
}

fn normalize(body: &Value) -> Result<Vec<NormalizedStatement>> {
    normalize_text(&body.to_string(), XapiVersion::V1_0)
}

fn normalize_text(body: &str, version: XapiVersion) -> Result<Vec<NormalizedStatement>> {
    let authority = authority();
    let context = NormalizeContext {
        version,
        stored: datetime!(2026-11-23 10:00:00.123456789 UTC),
        authority: &authority,
    };
    normalize_body(body.as_bytes(), &context)
}

fn minimal() -> Value {
    json!({
        "actor": {"mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://example.org/activity/1"}
    })
}

fn with(path: &[&str], value: Value) -> Value {
    let mut statement = minimal();
    crate::test_support::set_at(&mut statement, path, value);
    statement
}

fn without(key: &str) -> Value {
    let mut statement = minimal();
    statement.as_object_mut().unwrap().remove(key);
    statement
}

#[test]
fn assigns_what_the_lrs_assigns() {
    let normalized = normalize(&minimal()).unwrap();
    assert_eq!(normalized.len(), 1);
    let statement: Value = serde_json::from_str(&normalized[0].json).unwrap();
    assert_eq!(statement["id"], normalized[0].id.to_string());
    assert_eq!(normalized[0].id.get_version_num(), 4);
    assert!(!normalized[0].id_sent);
    assert_eq!(normalized[0].voids, None);
    assert_eq!(statement["stored"], "2026-11-23T10:00:00.123456Z");
    assert_eq!(statement["timestamp"], "2026-11-23T10:00:00.123456Z");
    assert_eq!(statement["version"], "1.0.0");
    assert_eq!(statement["authority"], authority_json());
}

#[test]
fn keeps_what_the_client_set_and_replaces_stored_and_authority() {
    let mut statement = minimal();
    let object = statement.as_object_mut().unwrap();
    object.insert("id".into(), json!("6fa459ea-ee8a-3ca4-894e-db77e160355e"));
    object.insert("timestamp".into(), json!("2026-01-02T03:04:05+02:00"));
    object.insert("stored".into(), json!("1999-01-01T00:00:00Z"));
    object.insert("version".into(), json!("1.0.3"));
    object.insert(
        "authority".into(),
        json!({"mbox": "mailto:forged@example.org"}),
    );
    let normalized = normalize(&statement).unwrap();
    let stored: Value = serde_json::from_str(&normalized[0].json).unwrap();
    assert_eq!(stored["id"], "6fa459ea-ee8a-3ca4-894e-db77e160355e");
    assert!(normalized[0].id_sent);
    assert_eq!(stored["timestamp"], "2026-01-02T03:04:05+02:00");
    assert_eq!(stored["stored"], "2026-11-23T10:00:00.123456Z");
    assert_eq!(stored["version"], "1.0.3");
    assert_eq!(stored["authority"], authority_json());
}

#[test]
fn a_2_0_request_defaults_the_statement_version_to_2_0_0() {
    let authority = authority();
    let context = NormalizeContext {
        version: XapiVersion::V2_0,
        stored: datetime!(2026-11-23 10:00:00 UTC),
        authority: &authority,
    };
    let normalized = normalize_body(minimal().to_string().as_bytes(), &context).unwrap();
    let statement: Value = serde_json::from_str(&normalized[0].json).unwrap();
    assert_eq!(statement["version"], "2.0.0");
}

#[test]
fn an_array_is_normalized_in_order() {
    let body = json!([
        minimal(),
        with(
            &["verb", "id"],
            json!("http://adlnet.gov/expapi/verbs/passed")
        )
    ]);
    let normalized = normalize(&body).unwrap();
    assert_eq!(normalized.len(), 2);
    assert!(normalized[1].json.contains("verbs/passed"));
    assert_ne!(normalized[0].id, normalized[1].id);
}

/// The client's escapes, number forms and spacing after separators survive byte for byte.
const AS_SENT: &str = r#"{"actor": {"mbox": "mailto:ren\u00e9e@example.org", "name": "Ren\u00e9e"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": "https://example.org/activity/1", "definition": {"extensions": {"https://example.org/ext/weight": 1e2}}}}"#;

#[test]
fn a_compact_statement_is_stored_as_sent_after_the_assigned_properties() {
    let normalized = normalize_text(&format!("  {AS_SENT}\n"), XapiVersion::V1_0).unwrap();
    let json = &normalized[0].json;
    let id = normalized[0].id;
    let expected_start = format!(
        r#"{{"stored":"2026-11-23T10:00:00.123456Z","id":"{id}","timestamp":"2026-11-23T10:00:00.123456Z","version":"1.0.0","authority":{},"#,
        authority().json()
    );
    assert!(json.starts_with(&expected_start), "{json}");
    assert_eq!(&json[expected_start.len()..], &AS_SENT[1..]);
    let stored: Value = serde_json::from_str(json).unwrap();
    assert_eq!(stored["actor"]["name"], "Ren\u{e9}e");
}

#[test]
fn an_array_keeps_each_statement_as_sent() {
    let second = AS_SENT.replace("activity/1", "activity/2");
    let body = format!("[ {AS_SENT} ,\n\t{second}\n]");
    let normalized = normalize_text(&body, XapiVersion::V1_0).unwrap();
    assert_eq!(normalized.len(), 2);
    assert!(normalized[0].json.ends_with(&AS_SENT[1..]));
    assert!(normalized[1].json.ends_with(&second[1..]));
    assert!(
        normalize_text(" [ ] ", XapiVersion::V1_0)
            .unwrap()
            .is_empty()
    );
    for malformed in [
        format!("[{AS_SENT},]"),
        format!("[{AS_SENT}] x"),
        format!("[{AS_SENT} {second}]"),
        format!("[{AS_SENT}"),
        // Only JSON's own whitespace may separate elements.
        format!("[{AS_SENT},\u{2028}{second}]"),
    ] {
        let error = normalize_text(&malformed, XapiVersion::V1_0).unwrap_err();
        assert!(matches!(error, Error::Json(_)), "{malformed}: {error:?}");
    }
}

/// Where normalization changes what the client sent, or the client pretty-printed, the stored
/// statement is the model serialized again: compact, context activities as arrays, stored and
/// authority the LRS's own, 2.0 timestamps in UTC.
#[test]
fn rewritten_where_normalization_changes_what_was_sent() {
    let mut single_parent = minimal();
    single_parent["context"] =
        json!({"contextActivities": {"parent": {"id": "https://example.org/course"}}});
    let mut sent_stored_and_authority = minimal();
    sent_stored_and_authority["stored"] = json!("1999-01-01T00:00:00Z");
    sent_stored_and_authority["authority"] = json!({"mbox": "mailto:forged@example.org"});
    let mut offset_timestamp = minimal();
    offset_timestamp["timestamp"] = json!("2026-01-02T03:04:05+02:00");
    let cases = [
        (
            serde_json::to_string_pretty(&minimal()).unwrap(),
            XapiVersion::V1_0,
        ),
        (single_parent.to_string(), XapiVersion::V1_0),
        (sent_stored_and_authority.to_string(), XapiVersion::V1_0),
        (offset_timestamp.to_string(), XapiVersion::V2_0),
    ];
    for (body, version) in cases {
        let normalized = normalize_text(&body, version).unwrap();
        let json = &normalized[0].json;
        assert!(!json.contains(['\n', ' ']), "{json}");
        let stored: Value = serde_json::from_str(json).unwrap();
        assert_eq!(stored["stored"], "2026-11-23T10:00:00.123456Z", "{json}");
        assert_eq!(stored["authority"], authority_json(), "{json}");
        if let Some(context) = stored.get("context") {
            assert_eq!(
                context["contextActivities"]["parent"],
                json!([{"id": "https://example.org/course"}])
            );
        }
        if version == XapiVersion::V2_0 {
            assert_eq!(stored["timestamp"], "2026-01-02T01:04:05Z");
        }
    }
}

#[test]
fn a_voiding_statement_says_what_it_voids() {
    let target = "6fa459ea-ee8a-3ca4-894e-db77e160355e";
    let mut voiding = with(
        &["verb", "id"],
        json!("http://adlnet.gov/expapi/verbs/voided"),
    );
    voiding["object"] = json!({"objectType": "StatementRef", "id": target});
    let normalized = normalize(&voiding).unwrap();
    assert_eq!(
        normalized[0].voids.map(|id| id.to_string()).as_deref(),
        Some(target)
    );
}

#[test]
fn rejections_name_the_field_and_the_rule() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "body is a string",
            json!("statement"),
            "statement: body must be a statement object or an array",
        ),
        (
            "array item is not an object",
            json!([minimal(), 7]),
            "[1]: invalid type: integer `7`, expected a statement object",
        ),
        ("actor missing", without("actor"), "actor: is required"),
        ("verb missing", without("verb"), "verb: is required"),
        ("object missing", without("object"), "object: is required"),
        (
            "id not a uuid",
            with(&["id"], json!("not-a-uuid")),
            "id: must be a UUID",
        ),
        (
            "id braced",
            with(&["id"], json!("{6fa459ea-ee8a-3ca4-894e-db77e160355e}")),
            "id: must be a UUID",
        ),
        (
            "id a number",
            with(&["id"], json!(7)),
            "id: invalid type: integer `7`, expected a string",
        ),
        (
            "mbox without mailto",
            with(&["actor"], json!({"mbox": "learner@example.org"})),
            "actor.mbox: must be a mailto IRI",
        ),
        (
            "two identifiers",
            with(
                &["actor"],
                json!({"mbox": "mailto:a@example.org", "openid": "https://id.example.org/a"}),
            ),
            "actor: an Agent must have exactly one",
        ),
        (
            "no identifier",
            with(&["actor"], json!({"name": "Ann"})),
            "actor: an Agent must have exactly one",
        ),
        (
            "bad sha1",
            with(&["actor"], json!({"mbox_sha1sum": "abc"})),
            "actor.mbox_sha1sum: must be 40 hexadecimal digits",
        ),
        (
            "account without name",
            with(
                &["actor"],
                json!({"account": {"homePage": "https://sis.example.org"}}),
            ),
            "actor.account.name: is required",
        ),
        (
            "account homePage relative",
            with(
                &["actor"],
                json!({"account": {"homePage": "sis", "name": "a"}}),
            ),
            "actor.account.homePage: must be an absolute IRI",
        ),
        (
            "anonymous group without members",
            with(&["actor"], json!({"objectType": "Group"})),
            "actor.member: an anonymous Group must list its members",
        ),
        (
            "unknown actor type",
            with(
                &["actor"],
                json!({"objectType": "Robot", "mbox": "mailto:r@example.org"}),
            ),
            "actor.objectType: must be Agent or Group",
        ),
        (
            "verb id relative",
            with(&["verb", "id"], json!("completed")),
            "verb.id: must be an absolute IRI",
        ),
        (
            "verb without id",
            with(&["verb"], json!({"display": {"en-US": "did"}})),
            "verb.id: is required",
        ),
        (
            "activity id with space",
            with(&["object", "id"], json!("https://example.org/a b")),
            "object.id: must be an absolute IRI",
        ),
        (
            "statement ref id",
            with(
                &["object"],
                json!({"objectType": "StatementRef", "id": "x"}),
            ),
            "object.id: must be a UUID",
        ),
        (
            "nested substatement",
            with(
                &["object"],
                json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.org"}, "verb": {"id": "http://example.org/v"}, "object": {"objectType": "SubStatement"}}),
            ),
            "object.object.objectType: a SubStatement must not contain a SubStatement",
        ),
        (
            "timestamp not a date",
            with(&["timestamp"], json!("01/011/2015")),
            "timestamp: must be an ISO 8601 timestamp",
        ),
        (
            "registration not a uuid",
            with(&["context", "registration"], json!("abc")),
            "context.registration: must be a UUID",
        ),
        (
            "scaled out of range",
            with(&["result", "score"], json!({"scaled": 1.5})),
            "result.score.scaled: must be between -1 and 1",
        ),
        (
            "raw above max",
            with(&["result", "score"], json!({"raw": 11, "max": 10})),
            "result.score.raw: must not be greater than max",
        ),
        (
            "raw below min",
            with(&["result", "score"], json!({"raw": -1, "min": 0})),
            "result.score.raw: must not be less than min",
        ),
        (
            "min above max",
            with(&["result", "score"], json!({"min": 5, "max": 1})),
            "result.score.min: must be less than max",
        ),
        (
            "success a string",
            with(&["result", "success"], json!("yes")),
            "result.success: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "duration not ISO 8601",
            with(&["result", "duration"], json!("90 seconds")),
            "result.duration: must be an ISO 8601 duration",
        ),
        (
            "version 3",
            with(&["version"], json!("3.0.0")),
            "version: must be 1.0.x or 2.0.x",
        ),
    ];
    let mismatches: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, body, expected)| {
            let error = normalize(&body)
                .map(|_| "accepted".to_owned())
                .unwrap_or_else(|error| error.to_string());
            (!error.starts_with(expected))
                .then(|| format!("{name}: got {error:?}, expected {expected:?}"))
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn duplicate_ids_in_one_request_are_rejected() {
    let statement = with(&["id"], json!("6fa459ea-ee8a-3ca4-894e-db77e160355e"));
    let error = normalize(&json!([statement, statement])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "[1].id: duplicates the id of statement [0] in the same request"
    );
}

#[test]
fn malformed_json_is_a_json_error() {
    let authority = authority();
    let context = NormalizeContext {
        version: XapiVersion::V1_0,
        stored: datetime!(2026-11-23 10:00:00 UTC),
        authority: &authority,
    };
    let error = normalize_body(br#"{"actor": "#, &context).unwrap_err();
    assert!(matches!(error, Error::Json(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("body is not valid JSON"),
        "{error}"
    );
}

#[test]
fn normalized_statements_yield_columns() {
    let normalized = normalize(&with(&["result", "score"], json!({"scaled": 0.5}))).unwrap();
    let columns = crate::extract_columns(&normalized[0].json).unwrap();
    assert_eq!(columns.id, normalized[0].id);
    assert_eq!(columns.stored_us, 1_795_428_000_123_456);
    assert_eq!(columns.timestamp_us, 1_795_428_000_123_456);
    assert_eq!(columns.actor_ifi, "mbox:mailto:learner@example.org");
    assert_eq!(columns.score_scaled, Some(0.5));
}
