//! One table per section of the xAPI Data document: statements that must be accepted and
//! statements that must be refused, with the path and rule of the refusal.

use serde_json::{Value, json};

use crate::normalize::parse_body;
use crate::{XapiVersion, validate_statement};

fn base() -> Value {
    json!({
        "actor": {"mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"id": "https://example.org/activity/1"}
    })
}

/// `base()` with `value` at `pointer` (a JSON pointer; parents are created).
fn with(pointer: &str, value: Value) -> Value {
    let mut statement = base();
    let keys: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    crate::test_support::set_at(&mut statement, &keys, value);
    statement
}

fn check(version: XapiVersion, statement: &Value) -> Result<(), String> {
    let text = statement.to_string();
    let statements = parse_body(text.as_bytes()).map_err(|error| error.to_string())?;
    validate_statement(&statements[0], version).map_err(|error| error.to_string())
}

/// Runs a table: `None` must be accepted, `Some(prefix)` refused with a message starting so.
fn table(section: &str, version: XapiVersion, cases: Vec<(&str, Value, Option<&str>)>) {
    let mismatches: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, statement, expected)| {
            let outcome = check(version, &statement);
            let fine = match (&outcome, expected) {
                (Ok(()), None) => true,
                (Err(message), Some(prefix)) => message.starts_with(prefix),
                _ => false,
            };
            (!fine).then(|| format!("{section} {name}: got {outcome:?}, expected {expected:?}"))
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

const V1: XapiVersion = XapiVersion::V1_0;
const V2: XapiVersion = XapiVersion::V2_0;

#[test]
fn data_2_2_formatting() {
    table(
        "Data 2.2",
        V1,
        vec![
            (
                "unknown top-level property",
                with("/mood", json!("happy")),
                Some("mood: unknown field `mood`, expected one of `id`, `actor`"),
            ),
            (
                "unknown nested property",
                with("/verb/colour", json!("red")),
                Some("verb.colour: unknown field `colour`, expected `id` or `display`"),
            ),
            (
                "null value",
                with("/result", json!(null)),
                Some("result: invalid type: null"),
            ),
            (
                "null inside extensions is data",
                with("/result/extensions", json!({"https://example.org/x": null})),
                None,
            ),
            (
                "wrong type",
                with("/verb/id", json!(3)),
                Some("verb.id: invalid type: integer `3`, expected a string"),
            ),
        ],
    );
}

#[test]
fn data_2_3_2_voiding() {
    let voiding = |object: Value| {
        let mut statement = with(
            "/verb",
            json!({"id": "http://adlnet.gov/expapi/verbs/voided"}),
        );
        statement["object"] = object;
        statement
    };
    table(
        "Data 2.3.2",
        V1,
        vec![
            (
                "voids a StatementRef",
                voiding(
                    json!({"objectType": "StatementRef", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e"}),
                ),
                None,
            ),
            (
                "voids an Activity",
                voiding(json!({"id": "https://example.org/a"})),
                Some("object.objectType: a voiding statement's object must be a StatementRef"),
            ),
        ],
    );
}

#[test]
fn data_2_4_2_actor() {
    let member = json!({"mbox": "mailto:m@example.org"});
    table(
        "Data 2.4.2",
        V1,
        vec![
            (
                "openid agent",
                with("/actor", json!({"openid": "https://id.example.org/a"})),
                None,
            ),
            (
                "account agent",
                with(
                    "/actor",
                    json!({"account": {"homePage": "https://sis.example.org", "name": "s-1"}}),
                ),
                None,
            ),
            (
                "sha1 agent",
                with(
                    "/actor",
                    json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
                ),
                None,
            ),
            (
                "identified group",
                with(
                    "/actor",
                    json!({"objectType": "Group", "mbox": "mailto:g@example.org", "member": [member]}),
                ),
                None,
            ),
            (
                "anonymous group",
                with("/actor", json!({"objectType": "Group", "member": [member]})),
                None,
            ),
            (
                "agent with members",
                with(
                    "/actor",
                    json!({"mbox": "mailto:a@example.org", "member": [member]}),
                ),
                Some("actor.member: an Agent has no members"),
            ),
            (
                "group in a group",
                with(
                    "/actor",
                    json!({"objectType": "Group", "member": [{"objectType": "Group", "member": [member]}]}),
                ),
                Some("actor.member[0].objectType: a Group's members must be Agents"),
            ),
            (
                "group with two identifiers",
                with(
                    "/actor",
                    json!({"objectType": "Group", "mbox": "mailto:g@example.org", "openid": "https://id.example.org/g"}),
                ),
                Some("actor: a Group must have at most one"),
            ),
            (
                "mbox without domain",
                with("/actor", json!({"mbox": "mailto:someone"})),
                Some("actor.mbox: must be a mailto IRI"),
            ),
            (
                "mbox with a NUL",
                with("/actor", json!({"mbox": "mailto:some\u{0}one@example.org"})),
                Some("actor.mbox: must be a mailto IRI"),
            ),
            (
                "openid not an IRI",
                with("/actor", json!({"openid": "not a uri"})),
                Some("actor.openid: must be an absolute IRI"),
            ),
            (
                "account homePage not an IRI",
                with(
                    "/actor",
                    json!({"account": {"homePage": "sis", "name": "a"}}),
                ),
                Some("actor.account.homePage: must be an absolute IRI"),
            ),
            (
                "account with extra field",
                with(
                    "/actor",
                    json!({"account": {"homePage": "https://sis.example.org", "name": "a", "id": 1}}),
                ),
                Some("actor.account.id: unknown field `id`"),
            ),
        ],
    );
}

#[test]
fn data_2_4_3_verb() {
    table(
        "Data 2.4.3",
        V1,
        vec![
            (
                "display in two languages",
                with(
                    "/verb/display",
                    json!({"en-US": "completed", "fr-CA": "terminé"}),
                ),
                None,
            ),
            (
                "display with a bad tag",
                with("/verb/display", json!({"not a tag": "completed"})),
                Some("verb.display.not a tag: must be an RFC 5646 language tag"),
            ),
            (
                "id without scheme",
                with("/verb/id", json!("adlnet.gov/expapi/verbs/completed")),
                Some("verb.id: must be an absolute IRI"),
            ),
        ],
    );
}

#[test]
fn data_2_4_4_object() {
    let substatement = json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:a@example.org"},
        "verb": {"id": "http://example.org/will-attend"},
        "object": {"id": "https://example.org/lecture"}
    });
    let mut substatement_with_id = substatement.clone();
    substatement_with_id["id"] = json!("6fa459ea-ee8a-3ca4-894e-db77e160355e");
    let mut substatement_without_verb = substatement.clone();
    substatement_without_verb
        .as_object_mut()
        .unwrap()
        .remove("verb");
    table(
        "Data 2.4.4",
        V1,
        vec![
            (
                "agent object",
                with(
                    "/object",
                    json!({"objectType": "Agent", "mbox": "mailto:b@example.org"}),
                ),
                None,
            ),
            (
                "group object",
                with(
                    "/object",
                    json!({"objectType": "Group", "member": [{"mbox": "mailto:b@example.org"}]}),
                ),
                None,
            ),
            ("substatement", with("/object", substatement), None),
            (
                "statement ref",
                with(
                    "/object",
                    json!({"objectType": "StatementRef", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e"}),
                ),
                None,
            ),
            (
                "activity without id",
                with("/object", json!({"definition": {"name": {"en": "x"}}})),
                Some("object.id: is required"),
            ),
            (
                "activity with an agent property",
                with(
                    "/object",
                    json!({"id": "https://example.org/a", "mbox": "mailto:a@example.org"}),
                ),
                Some("object.mbox: is not a property of a Activity object"),
            ),
            (
                "statement ref with a definition",
                with(
                    "/object",
                    json!({"objectType": "StatementRef", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "definition": {}}),
                ),
                Some("object.definition: is not a property of a StatementRef object"),
            ),
            (
                "substatement with an id",
                with("/object", substatement_with_id),
                Some("object.id: is not a property of a SubStatement object"),
            ),
            (
                "substatement without verb",
                with("/object", substatement_without_verb),
                Some("object.verb: is required"),
            ),
            (
                "unknown object type",
                with(
                    "/object",
                    json!({"objectType": "Thing", "id": "https://example.org/a"}),
                ),
                Some(
                    "object.objectType: must be Activity, Agent, Group, StatementRef or SubStatement",
                ),
            ),
        ],
    );
}

#[test]
fn data_2_4_4_1_activity_definition() {
    let definition = |value: Value| with("/object/definition", value);
    let choices = json!([{"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}]);
    table(
        "Data 2.4.4.1",
        V1,
        vec![
            (
                "choice with choices",
                definition(
                    json!({"interactionType": "choice", "choices": choices, "correctResponsesPattern": ["a"]}),
                ),
                None,
            ),
            (
                "matching with source and target",
                definition(
                    json!({"interactionType": "matching", "source": choices, "target": choices}),
                ),
                None,
            ),
            (
                "likert with scale",
                definition(json!({"interactionType": "likert", "scale": choices})),
                None,
            ),
            (
                "performance with steps",
                definition(json!({"interactionType": "performance", "steps": choices})),
                None,
            ),
            (
                "true-false without components",
                definition(
                    json!({"interactionType": "true-false", "correctResponsesPattern": ["true"]}),
                ),
                None,
            ),
            (
                "choice with a scale",
                definition(json!({"interactionType": "choice", "scale": choices})),
                Some("object.definition.scale: is not a component of interactionType choice"),
            ),
            (
                "unknown interaction type",
                definition(json!({"interactionType": "essay"})),
                Some("object.definition.interactionType: must be one of"),
            ),
            (
                "duplicate component ids",
                definition(
                    json!({"interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]}),
                ),
                Some("object.definition.choices[1].id: must be unique within the list"),
            ),
            (
                "responses without a type",
                definition(json!({"correctResponsesPattern": ["a"]})),
                Some("object.definition.correctResponsesPattern: needs an interactionType"),
            ),
            (
                "type not an IRI",
                definition(json!({"type": "assessment"})),
                Some("object.definition.type: must be an absolute IRI"),
            ),
            (
                "moreInfo not an IRI",
                definition(json!({"moreInfo": "about"})),
                Some("object.definition.moreInfo: must be an absolute IRI"),
            ),
            (
                "extension key not an IRI",
                definition(json!({"extensions": {"difficulty": 3}})),
                Some("object.definition.extensions.difficulty: must be an absolute IRI"),
            ),
        ],
    );
}

#[test]
fn data_2_4_5_result() {
    table(
        "Data 2.4.5",
        V1,
        vec![
            (
                "full result",
                with(
                    "/result",
                    json!({"score": {"scaled": -0.5, "raw": 5, "min": 0, "max": 20}, "success": false, "completion": true, "response": "a", "duration": "PT1M"}),
                ),
                None,
            ),
            (
                "raw equal to max",
                with("/result/score", json!({"raw": 20, "max": 20})),
                None,
            ),
            (
                "scaled below -1",
                with("/result/score", json!({"scaled": -1.01})),
                Some("result.score.scaled: must be between -1 and 1"),
            ),
            (
                "duration in the alternative format",
                with("/result/duration", json!("P0000-00-00T00:01:30")),
                Some("result.duration: must be an ISO 8601 duration"),
            ),
            (
                "score as a string",
                with("/result/score/raw", json!("5")),
                Some("result.score.raw: invalid type: string"),
            ),
        ],
    );
}

#[test]
fn data_2_4_6_context() {
    let agent_object = json!({"objectType": "Agent", "mbox": "mailto:b@example.org"});
    let mut platform_on_agent = with("/context", json!({"platform": "web"}));
    platform_on_agent["object"] = agent_object.clone();
    let mut revision_on_agent = with("/context", json!({"revision": "2"}));
    revision_on_agent["object"] = agent_object;
    table(
        "Data 2.4.6",
        V1,
        vec![
            (
                "full context",
                with(
                    "/context",
                    json!({
                        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                        "instructor": {"mbox": "mailto:teacher@example.org"},
                        "team": {"objectType": "Group", "member": [{"mbox": "mailto:b@example.org"}]},
                        "contextActivities": {"parent": {"id": "https://example.org/course"}, "category": [{"id": "https://example.org/competency/7"}]},
                        "revision": "3", "platform": "web", "language": "en-US",
                        "statement": {"objectType": "StatementRef", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e"},
                        "extensions": {"https://example.org/ext/period": 2}
                    }),
                ),
                None,
            ),
            (
                "platform with an Agent object",
                platform_on_agent,
                Some("context.platform: may only be used when the object is an Activity"),
            ),
            (
                "revision with an Agent object",
                revision_on_agent,
                Some("context.revision: may only be used when the object is an Activity"),
            ),
            (
                "team as an Agent",
                with("/context/team", json!({"mbox": "mailto:t@example.org"})),
                Some("context.team.objectType: the team must be a Group"),
            ),
            (
                "unknown context activity key",
                with("/context/contextActivities", json!({"sibling": []})),
                Some("context.contextActivities.sibling: unknown field `sibling`"),
            ),
            (
                "context activity not an Activity",
                with(
                    "/context/contextActivities",
                    json!({"parent": [{"objectType": "Agent", "id": "https://example.org/a"}]}),
                ),
                Some(
                    "context.contextActivities.parent[0].objectType: a context activity must be an Activity",
                ),
            ),
            (
                "bad language",
                with("/context/language", json!("english please")),
                Some("context.language: must be an RFC 5646 language tag"),
            ),
            (
                "statement not a StatementRef",
                with(
                    "/context/statement",
                    json!({"objectType": "Activity", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e"}),
                ),
                Some("context.statement.objectType: must be StatementRef"),
            ),
            (
                "contextAgents in 1.0",
                with(
                    "/context/contextAgents",
                    json!([{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@example.org"}}]),
                ),
                Some("context.contextAgents: is an xAPI 2.0 property"),
            ),
        ],
    );
}

#[test]
fn ieee_9274_1_1_context_agents_and_groups() {
    let group = json!({"objectType": "Group", "member": [{"mbox": "mailto:b@example.org"}]});
    table(
        "9274.1.1 context",
        V2,
        vec![
            (
                "context agent",
                with(
                    "/context/contextAgents",
                    json!([{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@example.org"}, "relevantTypes": ["https://example.org/types/mentor"]}]),
                ),
                None,
            ),
            (
                "context group",
                with(
                    "/context/contextGroups",
                    json!([{"objectType": "contextGroup", "group": group}]),
                ),
                None,
            ),
            (
                "context agent with a wrong type",
                with(
                    "/context/contextAgents",
                    json!([{"objectType": "Agent", "agent": {"mbox": "mailto:a@example.org"}}]),
                ),
                Some("context.contextAgents[0].objectType: must be contextAgent"),
            ),
            (
                "empty relevant types",
                with(
                    "/context/contextGroups",
                    json!([{"objectType": "contextGroup", "group": group, "relevantTypes": []}]),
                ),
                Some("context.contextGroups[0].relevantTypes: must list at least one IRI"),
            ),
            (
                "context group holding an agent",
                with(
                    "/context/contextGroups",
                    json!([{"objectType": "contextGroup", "group": {"mbox": "mailto:a@example.org"}}]),
                ),
                Some("context.contextGroups[0].group.objectType: must be Group"),
            ),
        ],
    );
}

#[test]
fn data_2_4_7_timestamps_differ_by_version() {
    let zoneless = with("/timestamp", json!("2026-11-23T10:00:00.250"));
    assert_eq!(check(V1, &zoneless), Ok(()));
    assert!(
        check(V2, &zoneless)
            .unwrap_err()
            .starts_with("timestamp: must be an RFC 3339 timestamp")
    );
    let negative_zero = with("/timestamp", json!("2026-11-23T10:00:00.250-00:00"));
    assert!(
        check(V1, &negative_zero)
            .unwrap_err()
            .starts_with("timestamp: must not use the offset -00:00")
    );
}

#[test]
fn data_2_4_9_authority() {
    let agent = |name: &str| json!({"name": name, "mbox": format!("mailto:{name}@example.org")});
    for version in [V1, V2] {
        table(
            "Data 2.4.9",
            version,
            vec![
                ("an Agent", with("/authority", agent("lrs")), None),
                (
                    "an anonymous Group of two Agents (OAuth application and user)",
                    with(
                        "/authority",
                        json!({"objectType": "Group", "member": [agent("app"), agent("user")]}),
                    ),
                    None,
                ),
                (
                    "an identified Group",
                    with(
                        "/authority",
                        json!({"objectType": "Group", "mbox": "mailto:group@example.org", "member": [agent("app"), agent("user")]}),
                    ),
                    Some("authority: a Group authority must be anonymous"),
                ),
                (
                    "a Group of one Agent",
                    with(
                        "/authority",
                        json!({"objectType": "Group", "member": [agent("app")]}),
                    ),
                    Some("authority.member: a Group authority must have exactly two members"),
                ),
                (
                    "a Group of three Agents",
                    with(
                        "/authority",
                        json!({"objectType": "Group", "member": [agent("app"), agent("user"), agent("other")]}),
                    ),
                    Some("authority.member: a Group authority must have exactly two members"),
                ),
            ],
        );
    }
}

#[test]
fn data_2_4_10_version() {
    table(
        "Data 2.4.10",
        V1,
        vec![
            ("1.0.3", with("/version", json!("1.0.3")), None),
            ("2.0.0", with("/version", json!("2.0.0")), None),
            (
                "1.1.0",
                with("/version", json!("1.1.0")),
                Some("version: must be 1.0.x or 2.0.x"),
            ),
            (
                "0.95",
                with("/version", json!("0.95")),
                Some("version: must be 1.0.x or 2.0.x"),
            ),
        ],
    );
}

#[test]
fn data_2_4_11_attachments() {
    let attachment = |changes: Value| {
        let mut attachment = json!({
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634"
        });
        attachment
            .as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        with("/attachments", json!([attachment]))
    };
    table(
        "Data 2.4.11",
        V1,
        vec![
            ("attachment", attachment(json!({})), None),
            (
                "with fileUrl",
                attachment(json!({"fileUrl": "https://files.example.org/a.pdf"})),
                None,
            ),
            (
                "usageType not an IRI",
                attachment(json!({"usageType": "signature"})),
                Some("attachments[0].usageType: must be an absolute IRI"),
            ),
            (
                "length negative",
                attachment(json!({"length": -1})),
                Some("attachments[0].length: invalid value"),
            ),
            (
                "sha2 not hex",
                attachment(json!({"sha2": "xyz"})),
                Some("attachments[0].sha2: must be a SHA-2 digest"),
            ),
            (
                "contentType not a media type",
                attachment(json!({"contentType": "pdf"})),
                Some("attachments[0].contentType: must be an Internet media type"),
            ),
        ],
    );
}
