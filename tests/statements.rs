//! The first vertical slice on real services: statements posted to the LRS travel through Kafka
//! into ClickHouse and are read back; bad input is refused without losing anything else.

use learnstream_cli::Roles;
use learnstream_tests::{
    App, TENANT, drop_database, isolated_config, kafka_brokers, statement, stored_rows, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_posted_statement_is_read_back_as_stored() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let sent = statement(1, "passed");
    let ids = client.post_statements(&sent).await?;
    assert_eq!(ids.len(), 1);
    let stored = client.wait_for_statement(ids[0]).await?;

    assert_eq!(stored["id"], ids[0].to_string());
    for field in ["actor", "verb", "object", "result"] {
        assert_eq!(stored[field], sent[field], "{field} is stored as sent");
    }
    assert_eq!(stored["version"], "1.0.0");
    assert_eq!(stored["authority"]["account"]["name"], "vendor");
    assert!(
        stored["stored"]
            .as_str()
            .is_some_and(|stored| stored.ends_with('Z'))
    );
    assert_eq!(
        stored["timestamp"], stored["stored"],
        "timestamp defaults to stored"
    );

    // The typed columns beside the raw statement.
    let row = config
        .clickhouse
        .client()
        .query("SELECT actor_ifi, verb_id, object_id, score_scaled, result_success, duration_ms FROM statements WHERE statement_id = ?")
        .bind(ids[0].to_string())
        .fetch_one::<(String, String, String, Option<f64>, Option<bool>, Option<u64>)>()
        .await?;
    assert_eq!(
        row,
        (
            "mbox:mailto:learner1@school.example.org".to_owned(),
            "http://adlnet.gov/expapi/verbs/passed".to_owned(),
            "https://content.example.org/algebra/quiz-1".to_owned(),
            Some(0.75),
            Some(true),
            Some(270_000),
        )
    );

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn an_array_keeps_client_ids_and_every_statement_arrives_once() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let chosen_id = Uuid::new_v4();
    let mut with_id = statement(2, "answered");
    with_id["id"] = json!(chosen_id);
    let batch = json!([
        statement(1, "attempted"),
        with_id,
        statement(3, "completed")
    ]);
    let ids = client.post_statements(&batch).await?;
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], chosen_id);

    for id in &ids {
        client.wait_for_statement(*id).await?;
    }
    assert_eq!(stored_rows(&config).await?, 3);

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn malformed_json_is_refused_and_loses_nothing_else() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let before = client.post_statements(&statement(1, "attempted")).await?;
    let (status, answer) = client
        .post_raw(r#"{"actor": {"mbox": "mailto:a@example.org"}, "verb": "#)
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("body is not valid JSON"), "{answer}");

    let (status, answer) = client
        .post_raw(&json!([statement(4, "passed"), {"verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}}]).to_string())
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["message"], "[1].actor: is required");

    let after = client.post_statements(&statement(2, "completed")).await?;
    client.wait_for_statement(before[0]).await?;
    client.wait_for_statement(after[0]).await?;

    // Exactly the two good statements: nothing of the refused requests reached the store.
    let rows = wait_for("both statements in clickhouse", || async {
        let rows = stored_rows(&config).await?;
        Ok((rows >= 2).then_some(rows))
    })
    .await?;
    assert_eq!(rows, 2);
    let learners: Vec<String> = config
        .clickhouse
        .client()
        .query("SELECT actor_ifi FROM statements WHERE tenant = ? ORDER BY actor_ifi")
        .bind(TENANT)
        .fetch_all()
        .await?;
    assert_eq!(
        learners,
        [
            "mbox:mailto:learner1@school.example.org",
            "mbox:mailto:learner2@school.example.org"
        ]
    );

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn an_unknown_statement_is_404() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let (status, answer) = app.client().get_statement(Uuid::new_v4()).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], Value::from("not_found"));
    app.stop().await?;
    drop_database(&config).await
}
