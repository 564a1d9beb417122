//! Read-your-writes through Kafka: once a POST returns, a GET sees its statements, although the
//! write went through the broker and the sink. Throughput mode answers once Kafka has them, and
//! `X-Experience-API-Consistent-Through` never claims more than is readable.

use learnstream_cli::Roles;
use learnstream_tests::{App, drop_database, isolated_config, kafka_brokers, statement, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

const WRITE_MODE: &str = "X-Learnstream-Write-Mode";

fn consistent_through(response: &reqwest::Response) -> anyhow::Result<OffsetDateTime> {
    let header = response
        .headers()
        .get("X-Experience-API-Consistent-Through")
        .ok_or_else(|| anyhow::anyhow!("no Consistent-Through header"))?;
    Ok(OffsetDateTime::parse(header.to_str()?, &Rfc3339)?)
}

fn stored(statement: &Value) -> anyhow::Result<OffsetDateTime> {
    let text = statement["stored"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no stored in {statement}"))?;
    Ok(OffsetDateTime::parse(text, &Rfc3339)?)
}

#[tokio::test]
async fn every_statement_is_readable_as_soon_as_its_post_returns() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    for learner in 0..20 {
        let ids = client
            .post_statements(&statement(learner, "answered"))
            .await?;
        // No waiting: the GET comes straight after the POST's answer.
        let response = client.get(&[("statementId", &ids[0].to_string())]).await?;
        let after_read = consistent_through(&response)?;
        assert_eq!(response.status(), StatusCode::OK, "statement {learner}");
        let read: Value = response.json().await?;
        assert_eq!(read["id"], ids[0].to_string());
        assert!(
            after_read >= stored(&read)?,
            "Consistent-Through {after_read} covers the statement stored at {}",
            read["stored"]
        );
    }
    let batch = json!([statement(30, "attempted"), statement(31, "completed")]);
    for id in client.post_statements(&batch).await? {
        let (status, _) = client.get_statement(id).await?;
        assert_eq!(status, StatusCode::OK, "statement {id} of the batch");
    }

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn throughput_mode_answers_once_durable_and_consistent_through_waits_for_the_sink()
-> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    learnstream_store::migrate(&config.clickhouse).await?;
    // The LRS alone: nothing stores the statements in ClickHouse yet.
    let intake = App::start(config.clone(), Roles::Intake).await?;
    let client = intake.client();

    let id = Uuid::new_v4();
    let mut sent = statement(1, "completed");
    sent["id"] = json!(id);
    let (status, answer) = client
        .post_raw_with(&sent.to_string(), &[(WRITE_MODE, "throughput")])
        .await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!([id]));

    // Durable in Kafka, not readable yet.
    let response = client.get(&[("statementId", &id.to_string())]).await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let pending = consistent_through(&response)?;

    // Once the sink runs, the statement arrives and Consistent-Through moves past it.
    let sink = App::start(config.clone(), Roles::Sink).await?;
    let read = client.wait_for_statement(id).await?;
    let stored_at = stored(&read)?;
    assert!(
        pending < stored_at,
        "Consistent-Through {pending} claimed the unreadable statement stored at {stored_at}"
    );
    wait_for("Consistent-Through to pass the statement", || async {
        let response = client.get(&[("statementId", &id.to_string())]).await?;
        Ok((consistent_through(&response)? >= stored_at).then_some(()))
    })
    .await?;

    // A mode the LRS does not know is refused, naming the header.
    let (status, answer) = client
        .post_raw_with(
            &statement(2, "completed").to_string(),
            &[(WRITE_MODE, "eventually")],
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer.to_string().contains("X-Learnstream-Write-Mode"),
        "{answer}"
    );

    sink.stop().await?;
    intake.stop().await?;
    drop_database(&config).await
}
