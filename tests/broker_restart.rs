//! A broker restart between intake and sink loses no acknowledged statement: the broker keeps
//! what it acknowledged (sqlite-backed), and the sink picks it up once it comes back.

use learnstream_cli::Roles;
use learnstream_http::WriteMode;
use learnstream_tests::{App, OwnBroker, drop_database, isolated_config, statement, wait_for};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_acknowledged_before_a_broker_kill_arrive_after_its_restart()
-> anyhow::Result<()> {
    let broker = OwnBroker::start()?;
    let mut config = isolated_config(&broker.address());
    // Only the intake runs: nothing consumes before the broker dies, so writes are answered
    // once durable in Kafka rather than once readable.
    config.auth.credentials[0].write_mode = WriteMode::Throughput;

    let intake = App::start(config.clone(), Roles::Intake).await?;
    let client = intake.client();
    let mut acknowledged = Vec::new();
    for learner in 0..20 {
        let batch = Value::Array(
            (0..5)
                .map(|offset| statement(learner * 5 + offset, "answered"))
                .collect(),
        );
        acknowledged.extend(client.post_statements(&batch).await?);
    }
    assert_eq!(acknowledged.len(), 100);

    broker.kill()?;
    broker.up()?;

    // The producer reconnects by itself: a statement posted after the restart is accepted too.
    let after_restart = wait_for("the intake to accept again", || async {
        Ok(client
            .post_statements(&statement(999, "completed"))
            .await
            .ok())
    })
    .await?;
    acknowledged.extend(after_restart);

    let sink = App::start(config.clone(), Roles::Sink).await?;
    for id in &acknowledged {
        client.wait_for_statement(*id).await?;
    }
    // Every acknowledged statement is there once. (A POST that failed while the broker was
    // down may still have landed; the acknowledged ones are what the LRS promised.)
    let (rows, distinct): (u64, u64) = config
        .clickhouse
        .client()
        .query("SELECT count(), uniqExact(statement_id) FROM statements")
        .fetch_one()
        .await?;
    assert_eq!(rows, distinct, "no statement is stored twice");
    assert!(rows >= acknowledged.len() as u64);

    sink.stop().await?;
    intake.stop().await?;
    drop_database(&config).await
}
