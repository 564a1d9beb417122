//! PUT, conflicts and voiding rules of the Statement Resource against the real services
//! (Communication 2.1.1–2.1.2, Data 2.3): an id sent again with the same content is accepted
//! without a second copy, with other content refused with 409; a voiding statement cannot void
//! a voiding statement.

use learnstream_cli::{Config, Roles};
use learnstream_http::{CredentialConfig, WriteMode};
use learnstream_tests::{
    App, LrsClient, Process, drop_database, isolated_config, kafka_brokers, statement, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const LEARNSTREAM: &str = env!("CARGO_BIN_EXE_learnstream-under-test");

async fn rows_for(config: &Config, id: Uuid) -> anyhow::Result<u64> {
    Ok(config
        .clickhouse
        .client()
        .query("SELECT count() FROM statements WHERE statement_id = ? AND voided = 0")
        .bind(id.to_string())
        .fetch_one::<u64>()
        .await?)
}

async fn put(client: &LrsClient, query: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    client.put_raw(query, &body.to_string()).await
}

#[tokio::test]
async fn put_stores_one_statement_under_the_given_id() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    // Without an id in the body, the parameter's id is the statement's.
    let id = Uuid::new_v4();
    let (status, body) = put(
        &client,
        &format!("statementId={id}"),
        &statement(1, "completed"),
    )
    .await?;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, stored) = client.get_statement(id).await?;
    assert_eq!(status, StatusCode::OK, "readable once the PUT returned");
    assert_eq!(stored["id"], id.to_string());

    // The same id in body and parameter.
    let other = Uuid::new_v4();
    let mut with_id = statement(2, "completed");
    with_id["id"] = json!(other);
    let (status, _) = put(&client, &format!("statementId={other}"), &with_id).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let refusals = [
        (
            "".to_owned(),
            statement(3, "completed"),
            "statementId: is required",
        ),
        (
            format!("statementId={}", Uuid::new_v4()),
            with_id.clone(),
            "id: \"",
        ),
        (
            format!("statementId={id}&verb=x"),
            statement(3, "completed"),
            "a PUT takes only the statementId parameter",
        ),
        (
            format!("statementId={}", Uuid::new_v4()),
            json!([statement(3, "completed")]),
            "body: a PUT carries one statement object",
        ),
        (
            "statementId=nope".to_owned(),
            statement(3, "completed"),
            "statementId: must be a UUID",
        ),
    ];
    for (query, body, expected) in refusals {
        let (status, answer) = put(&client, &query, &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected), "{query}: {message}");
    }

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn an_id_sent_again_is_one_statement_or_a_conflict() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let id = Uuid::new_v4();
    let mut original = statement(1, "passed");
    original["id"] = json!(id);
    assert_eq!(client.post_statements(&original).await?, vec![id]);

    // The same content again, by POST and by PUT: accepted, still one stored statement. A
    // different verb display and an added timestamp do not make it another statement.
    let mut same = original.clone();
    same["verb"]["display"] = json!({"de-DE": "bestanden"});
    assert_eq!(client.post_statements(&same).await?, vec![id]);
    let (status, _) = put(&client, &format!("statementId={id}"), &original).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(rows_for(&config, id).await?, 1, "no second copy");

    // Other content under the same id: 409, by POST and by PUT, and nothing else in the
    // request is stored either.
    let mut changed = original.clone();
    changed["result"]["score"]["scaled"] = json!(0.1);
    let bystander = Uuid::new_v4();
    let mut other = statement(2, "answered");
    other["id"] = json!(bystander);
    let (status, answer) = client
        .post_raw(&json!([other, changed]).to_string())
        .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&id.to_string())
    );
    let (status, _) = put(&client, &format!("statementId={id}"), &changed).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, stored) = client.get_statement(id).await?;
    assert_eq!(
        stored["result"]["score"]["scaled"], 0.75,
        "the stored statement is unchanged"
    );
    let (status, _) = client.get_statement(bystander).await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a refused request stores nothing"
    );

    app.stop().await?;
    drop_database(&config).await
}

/// A statement stored before migration 009 (in the statements table alone, as the sink stored
/// statements before the lookup table existed) is checked like any other once the migration has
/// copied it into the lookup table, which is now the only place a check reads: the same content
/// again is accepted without a second copy, other content is refused with 409, and another
/// tenant sending the same id stores a statement of its own and learns nothing of the first.
#[tokio::test]
async fn ids_stored_before_the_lookup_backfill_are_checked_like_any_other() -> anyhow::Result<()> {
    const OTHER_USER: &str = "other-vendor";
    const OTHER_PASSWORD: &str = "other-secret";
    let mut config = isolated_config(&kafka_brokers());
    config.auth.credentials.push(CredentialConfig {
        username: OTHER_USER.to_owned(),
        password: OTHER_PASSWORD.to_owned().into(),
        tenant: "another-district".to_owned(),
        write_mode: WriteMode::default(),
    });
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let id = Uuid::new_v4();
    let mut original = statement(1, "passed");
    original["id"] = json!(id);
    assert_eq!(app.client().post_statements(&original).await?, vec![id]);
    app.stop().await?;

    // The database as it was before migration 004: the statement in the statements table only,
    // and migration 009 not yet applied.
    let clickhouse = config.clickhouse.client();
    clickhouse
        .query("TRUNCATE TABLE statement_lookup")
        .execute()
        .await?;
    clickhouse
        .query("ALTER TABLE schema_migrations DELETE WHERE version = 9")
        .execute()
        .await?;
    wait_for("the mutation to apply", || async {
        let recorded: u64 = clickhouse
            .query("SELECT count() FROM schema_migrations WHERE version = 9")
            .fetch_one()
            .await?;
        Ok((recorded == 0).then_some(()))
    })
    .await?;

    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let (status, read) = client.get_statement(id).await?;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["id"], id.to_string());

    assert_eq!(client.post_statements(&original).await?, vec![id]);
    assert_eq!(rows_for(&config, id).await?, 1, "no second copy");
    let mut changed = original.clone();
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let (status, answer) = client.post_raw(&changed.to_string()).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");

    let other = client.as_user(OTHER_USER, OTHER_PASSWORD);
    let (status, answer) = other.get_statement(id).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(other.post_statements(&changed).await?, vec![id]);
    let (_, theirs) = other.get_statement(id).await?;
    assert_eq!(
        theirs["verb"]["id"],
        "http://adlnet.gov/expapi/verbs/failed"
    );
    let (_, ours) = client.get_statement(id).await?;
    assert_eq!(
        ours["verb"]["id"], read["verb"]["id"],
        "the first tenant's is unchanged"
    );

    app.stop().await?;
    drop_database(&config).await
}

/// Two intake processes share the statements topic, and each keeps a filter of the statements
/// stored or accepted so that a new client-set id costs no query. Once both filters are loaded
/// (and answer "new" without asking ClickHouse), an id accepted by one is still known to the
/// other: the same content again is accepted without a second copy, other content is 409, both
/// ways.
#[tokio::test]
async fn an_id_accepted_by_another_intake_process_is_known_to_this_one() -> anyhow::Result<()> {
    const READY: &str = "learnstream_intake_known_ids_ready";
    let config = isolated_config(&kafka_brokers());
    let first = Process::start(LEARNSTREAM, &config, "serve").await?;
    let second = Process::start(LEARNSTREAM, &config, "intake").await?;
    for process in [&first, &second] {
        wait_for("the filter of known ids to load", || async {
            Ok((process.metric(READY).await? == 1.0).then_some(()))
        })
        .await?;
    }
    let clients = [
        LrsClient::new(&format!("http://{}", first.http_address)),
        LrsClient::new(&format!("http://{}", second.http_address)),
    ];

    for (to, then_to) in [(0, 1), (1, 0)] {
        let id = Uuid::new_v4();
        let mut original = statement(1, "passed");
        original["id"] = json!(id);
        assert_eq!(clients[to].post_statements(&original).await?, vec![id]);
        clients[to].wait_for_statement(id).await?;

        let mut changed = original.clone();
        changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let (status, answer) = clients[then_to].post_raw(&changed.to_string()).await?;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(clients[then_to].post_statements(&original).await?, vec![id]);
        assert_eq!(rows_for(&config, id).await?, 1, "no second copy");
    }

    // The filters answered for new ids: the statements above were new to both once.
    let answered_new = r#"learnstream_intake_id_checks_total{answer="new"}"#;
    assert!(first.metric(answered_new).await? >= 1.0);
    assert!(second.metric(answered_new).await? >= 1.0);
    second.terminate().await?;
    first.terminate().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn a_voiding_statement_cannot_be_voided() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let voiding = |target: Uuid| {
        json!({"actor": {"mbox": "mailto:teacher@school.example.org"},
               "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": target}})
    };

    let target = client.post_statements(&statement(1, "passed")).await?[0];
    let first = client.post_statements(&voiding(target)).await?[0];
    let (status, answer) = client.post_raw(&voiding(first).to_string()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("a voiding statement cannot be voided")
    );
    // In one request too.
    let (status, _) = client
        .post_raw(&json!([voiding(target), {"id": Uuid::new_v4()}]).to_string())
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let second_id = Uuid::new_v4();
    let mut second = voiding(target);
    second["id"] = json!(second_id);
    let (status, _) = client
        .post_raw(&json!([second, voiding(second_id)]).to_string())
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = client.get_statement(first).await?;
    assert_eq!(status, StatusCode::OK, "the voiding statement stands");

    app.stop().await?;
    drop_database(&config).await
}

/// Communication 1.3 (xAPI 1.0.3): a POST with `?method=` carries a GET, PUT or POST as a form,
/// headers and parameters included.
#[tokio::test]
async fn the_alternate_request_syntax_carries_other_requests() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let id = Uuid::new_v4();
    let content = statement(1, "completed").to_string();
    let id_text = id.to_string();
    let response = client
        .post_alternate("PUT", &[("statementId", &id_text), ("content", &content)])
        .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = client
        .post_alternate("GET", &[("statementId", &id_text)])
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .contains_key("x-experience-api-consistent-through")
    );
    let read: Value = response.json().await?;
    assert_eq!(read["id"], id_text);

    let response = client.post_alternate("GET", &[("limit", "1")]).await?;
    let page: Value = response.json().await?;
    assert_eq!(page["statements"][0]["id"], id_text);

    let batch = json!([statement(2, "answered")]).to_string();
    let response = client
        .post_alternate("POST", &[("content", &batch)])
        .await?;
    assert_eq!(response.status(), StatusCode::OK);

    // Refused: a form field version the LRS does not speak, a PUT without content.
    let response = client
        .post_alternate(
            "PUT",
            &[
                ("statementId", &Uuid::new_v4().to_string()),
                ("X-Experience-API-Version", "0.8"),
                ("content", &content),
            ],
        )
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = client
        .post_alternate("PUT", &[("statementId", &Uuid::new_v4().to_string())])
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // xAPI 2.0 has no alternate syntax.
    let response = client
        .post_alternate(
            "PUT",
            &[
                ("statementId", &Uuid::new_v4().to_string()),
                ("X-Experience-API-Version", "2.0.0"),
                ("content", &content),
            ],
        )
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    app.stop().await?;
    drop_database(&config).await
}
