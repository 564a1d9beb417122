//! GET /xapi/statements against the real services (Communication 2.1.3): every filter, the
//! StatementRef rule, voiding, paging with more links while statements keep arriving, formats,
//! attachments, HEAD and the headers every answer carries.

use std::collections::BTreeSet;

use learnstream_cli::Roles;
use learnstream_tests::{App, LrsClient, drop_database, isolated_config, kafka_brokers};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Query parameters of a GET.
type Query<'a> = Vec<(&'a str, &'a str)>;

const REGISTRATION: &str = "ec531277-b57b-4c15-8d91-d292c5b2b8f7";

fn agent(name: &str) -> Value {
    json!({"mbox": format!("mailto:{name}@school.example.org"), "name": name})
}

fn verb(name: &str) -> Value {
    json!({"id": format!("http://adlnet.gov/expapi/verbs/{name}"), "display": {"en-US": name, "fr-FR": format!("{name} (fr)")}})
}

fn activity(name: &str) -> Value {
    json!({"id": format!("https://content.example.org/{name}"), "definition": {"name": {"en-US": name, "fr-FR": format!("{name} (fr)")}}})
}

/// Posts one statement (read-your-writes: readable once this returns) and returns its id.
async fn post(client: &LrsClient, statement: Value) -> anyhow::Result<Uuid> {
    Ok(client.post_statements(&statement).await?[0])
}

/// The ids of every statement the query returns, following more links.
async fn query_ids(client: &LrsClient, query: &[(&str, &str)]) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let response = client.get(query).await?;
    anyhow::ensure!(
        response.status() == StatusCode::OK,
        "{query:?}: {}",
        response.status()
    );
    let mut page: Value = response.json().await?;
    loop {
        for statement in page["statements"].as_array().into_iter().flatten() {
            ids.push(statement["id"].as_str().unwrap_or_default().parse()?);
        }
        let more = page["more"].as_str().unwrap_or_default().to_owned();
        if more.is_empty() {
            return Ok(ids);
        }
        page = client.get_path(&more).await?.json().await?;
    }
}

fn set(ids: &[Uuid]) -> BTreeSet<Uuid> {
    ids.iter().copied().collect()
}

#[tokio::test]
async fn every_filter_matches_what_the_specification_says() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let passed = post(
        &client,
        json!({"actor": agent("ana"), "verb": verb("passed"), "object": activity("quiz-1"),
        "context": {"registration": REGISTRATION, "instructor": agent("mr-lee"),
                    "contextActivities": {"parent": [activity("unit-1")]}}}),
    )
    .await?;
    let failed = post(
        &client,
        json!({"actor": agent("ben"), "verb": verb("failed"), "object": activity("quiz-1")}),
    )
    .await?;
    let mentored = post(
        &client,
        json!({"actor": agent("mr-lee"), "verb": verb("mentored"),
        "object": {"objectType": "Agent", "mbox": "mailto:ben@school.example.org"}}),
    )
    .await?;
    let planned = post(&client, json!({"actor": agent("cho"), "verb": verb("planned"),
        "object": {"objectType": "SubStatement", "actor": agent("dee"), "verb": verb("attempted"), "object": activity("quiz-2")}})).await?;
    // Targets `passed`: matches every filter `passed` matches (Filter Conditions for StatementRefs).
    let confirmed = post(
        &client,
        json!({"actor": agent("eve"), "verb": verb("confirmed"),
        "object": {"objectType": "StatementRef", "id": passed}}),
    )
    .await?;
    // A target and a statement targeting it in one request, so in one batch of the sink.
    let scored = Uuid::new_v4();
    let together = client
        .post_statements(&json!([
            {"id": scored, "actor": agent("zed"), "verb": verb("scored"), "object": activity("quiz-7")},
            {"actor": agent("eve"), "verb": verb("confirmed"), "object": {"objectType": "StatementRef", "id": scored}}
        ]))
        .await?;
    let scored_confirmed = together[1];
    let all = [
        passed,
        failed,
        mentored,
        planned,
        confirmed,
        scored,
        scored_confirmed,
    ];

    let ana = json!({"mbox": "mailto:ana@school.example.org"}).to_string();
    let ben = json!({"mbox": "mailto:ben@school.example.org"}).to_string();
    let lee = json!({"mbox": "mailto:mr-lee@school.example.org"}).to_string();
    let dee = json!({"mbox": "mailto:dee@school.example.org"}).to_string();
    let cases: Vec<(Query<'_>, Vec<Uuid>)> = vec![
        (vec![], all.to_vec()),
        (
            vec![("verb", "http://adlnet.gov/expapi/verbs/passed")],
            vec![passed, confirmed],
        ),
        (
            vec![("verb", "http://adlnet.gov/expapi/verbs/scored")],
            vec![scored, scored_confirmed],
        ),
        (vec![("agent", &ana)], vec![passed, confirmed]),
        (vec![("agent", &ben)], vec![failed, mentored]),
        (vec![("agent", &lee)], vec![mentored]),
        (
            vec![("agent", &lee), ("related_agents", "true")],
            vec![passed, mentored, confirmed],
        ),
        (vec![("agent", &dee)], vec![]),
        (
            vec![("agent", &dee), ("related_agents", "true")],
            vec![planned],
        ),
        (
            vec![("activity", "https://content.example.org/quiz-1")],
            vec![passed, failed, confirmed],
        ),
        (
            vec![("activity", "https://content.example.org/unit-1")],
            vec![],
        ),
        (
            vec![
                ("activity", "https://content.example.org/unit-1"),
                ("related_activities", "true"),
            ],
            vec![passed, confirmed],
        ),
        (
            vec![
                ("activity", "https://content.example.org/quiz-2"),
                ("related_activities", "true"),
            ],
            vec![planned],
        ),
        (
            vec![("registration", REGISTRATION)],
            vec![passed, confirmed],
        ),
        (
            vec![
                ("verb", "http://adlnet.gov/expapi/verbs/failed"),
                ("agent", &ana),
            ],
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let found = query_ids(&client, &query).await?;
        assert_eq!(set(&found), set(&expected), "{query:?}");
        assert_eq!(found.len(), expected.len(), "{query:?}: no statement twice");
    }

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn pages_follow_stored_order_and_hold_still_while_statements_arrive() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let mut posted = Vec::new();
    for number in 0..7 {
        posted.push(post(&client, json!({"actor": agent(&format!("s{number}")), "verb": verb("answered"), "object": activity("quiz-3")})).await?);
    }

    // Newest first, two a page; a statement posted between pages does not shift them.
    let first: Value = client.get(&[("limit", "2")]).await?.json().await?;
    let mut seen: Vec<Uuid> = first["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let late = post(
        &client,
        json!({"actor": agent("late"), "verb": verb("answered"), "object": activity("quiz-3")}),
    )
    .await?;
    let mut more = first["more"].as_str().unwrap().to_owned();
    while !more.is_empty() {
        let page: Value = client.get_path(&more).await?.json().await?;
        let statements = page["statements"].as_array().unwrap();
        assert!(statements.len() <= 2);
        seen.extend(
            statements
                .iter()
                .map(|s| s["id"].as_str().unwrap().parse::<Uuid>().unwrap()),
        );
        more = page["more"].as_str().unwrap().to_owned();
    }
    let newest_first: Vec<Uuid> = posted.iter().rev().copied().collect();
    assert_eq!(
        seen, newest_first,
        "every statement once, newest first, the late one not"
    );

    let ascending = query_ids(&client, &[("ascending", "true"), ("limit", "3")]).await?;
    let mut expected = posted.clone();
    expected.push(late);
    assert_eq!(ascending, expected);

    // since is exclusive, until inclusive, both on `stored`.
    let (_, third) = client.get_statement(posted[2]).await?;
    let (_, fifth) = client.get_statement(posted[4]).await?;
    let window = query_ids(
        &client,
        &[
            ("since", third["stored"].as_str().unwrap()),
            ("until", fifth["stored"].as_str().unwrap()),
        ],
    )
    .await?;
    assert_eq!(window, vec![posted[4], posted[3]]);

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn a_voided_statement_is_reachable_only_by_voided_statement_id() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let mistaken = post(
        &client,
        json!({"actor": agent("fay"), "verb": verb("passed"), "object": activity("quiz-4")}),
    )
    .await?;
    let voiding = post(
        &client,
        json!({"actor": agent("teacher"), "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": mistaken}}),
    )
    .await?;

    let (status, _) = client.get_statement(mistaken).await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a voided statement is not found by statementId"
    );
    let response = client
        .get(&[("voidedStatementId", &mistaken.to_string())])
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let voided: Value = response.json().await?;
    assert_eq!(voided["id"], mistaken.to_string());
    let response = client
        .get(&[("voidedStatementId", &voiding.to_string())])
        .await?;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "the voiding statement is not voided"
    );

    // Queries leave the voided statement out and keep the voiding one, which targets it.
    assert_eq!(query_ids(&client, &[]).await?, vec![voiding]);
    let fay = json!({"mbox": "mailto:fay@school.example.org"}).to_string();
    assert_eq!(query_ids(&client, &[("agent", &fay)]).await?, vec![voiding]);

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn formats_attachments_head_and_headers() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let id = post(
        &client,
        json!({"actor": agent("gus"), "verb": verb("completed"), "object": activity("quiz-5")}),
    )
    .await?;
    let id_text = id.to_string();

    let response = client
        .get(&[("statementId", &id_text), ("format", "ids")])
        .await?;
    assert!(response.headers().contains_key("last-modified"));
    let ids: Value = response.json().await?;
    assert_eq!(
        ids["actor"],
        json!({"mbox": "mailto:gus@school.example.org"})
    );
    assert!(ids["verb"].get("display").is_none());
    assert!(ids["object"].get("definition").is_none());

    let canonical: Value = client
        .get_with_headers(
            &[("statementId", &id_text), ("format", "canonical")],
            &[("Accept-Language", "fr-FR")],
        )
        .await?
        .json()
        .await?;
    assert_eq!(
        canonical["verb"]["display"],
        json!({"fr-FR": "completed (fr)"})
    );

    let page: Value = client.get(&[("format", "ids")]).await?.json().await?;
    assert_eq!(
        page["statements"][0]["actor"],
        json!({"mbox": "mailto:gus@school.example.org"})
    );
    assert_eq!(page["more"], "");

    let response = client
        .get(&[("statementId", &id_text), ("attachments", "true")])
        .await?;
    let content_type = response.headers()["content-type"].to_str()?.to_owned();
    assert!(
        content_type.starts_with("multipart/mixed; boundary="),
        "{content_type}"
    );
    let body = response.text().await?;
    assert!(body.contains("Content-Type: application/json"), "{body}");
    assert!(body.contains(&id_text));

    let head = client.head(&[("statementId", &id_text)]).await?;
    assert_eq!(head.status(), StatusCode::OK);
    for header in [
        "x-experience-api-consistent-through",
        "x-experience-api-version",
        "last-modified",
        "content-type",
    ] {
        assert!(head.headers().contains_key(header), "HEAD answers {header}");
    }
    assert!(head.text().await?.is_empty());

    app.stop().await?;
    drop_database(&config).await
}
