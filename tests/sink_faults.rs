//! The sink's promise under faults: a statement the LRS acknowledged is in ClickHouse, and in
//! every answer of the LRS exactly once, whatever fails in between. Each test runs against the
//! real broker and ClickHouse, counts what went in (the ids the LRS acknowledged) and what came
//! out (every page of `GET /xapi/statements`), and waits for conditions, not fixed times, except
//! where the fault itself is a duration.

use std::time::Duration;

use learnstream_cli::{Config, Roles};
use learnstream_kafka::DurableProducer;
use learnstream_tests::{
    App, LrsClient, OwnBroker, OwnClickHouse, Process, Writer, assert_each_visible_once,
    drop_database, isolated_config, kafka_brokers, stored_rows, wait_for,
};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Headers as _;
use rdkafka::{Message as _, TopicPartitionList};

// The tests run on two worker threads: stopping or starting a service (`scripts/services.sh`)
// blocks the thread that calls it, and an in-process learnstream must go on serving meanwhile.
// On one thread, a ClickHouse restart slower than `http.header_read_timeout_ms` froze the
// server with a keep-alive connection open, which then timed out under the writer's next POST.
const LEARNSTREAM: &str = env!("CARGO_BIN_EXE_learnstream-under-test");
/// Statements per POST and the pause after each: a steady vendor, a few hundred a second.
const PER_REQUEST: u32 = 10;
const PAUSE: Duration = Duration::from_millis(20);

/// Waits until a `Process` sink reports stored statements in its `/metrics`.
async fn wait_until_process_stored(what: &str, sink: &Process) -> anyhow::Result<()> {
    wait_for(what, || async {
        Ok((sink.statements_stored().await? > 0).then_some(()))
    })
    .await
}

async fn wait_until_some_stored(config: &Config) -> anyhow::Result<()> {
    wait_for("the sink to store statements", || async {
        Ok((stored_rows(config).await? > 0).then_some(()))
    })
    .await
}

/// Stops the writer and checks every statement it got acknowledged (see
/// [`assert_each_visible_once`]).
async fn finish_and_check(
    writer: Writer,
    config: &Config,
    client: &LrsClient,
) -> anyhow::Result<()> {
    let acknowledged = writer.finish().await?;
    let (rows, distinct) = assert_each_visible_once(config, client, &acknowledged).await?;
    eprintln!(
        "{} acknowledged; {rows} rows for {distinct} statements",
        acknowledged.len()
    );
    Ok(())
}

/// Fault 1: `kill -9` of the sink while it is storing, statements still arriving, then a
/// restart. What the dead sink had not committed is delivered again and lands once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_killed_mid_batch_loses_nothing_and_shows_nothing_twice() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    // Static membership: the restarted sink is the same member and takes its partitions back at
    // once, instead of after the dead one's session timed out.
    config.sink.instance_id = Some("sink-under-test".to_owned());
    let intake = App::start(config.clone(), Roles::Intake).await?;
    let client = intake.client();
    let writer = Writer::start(client.clone(), PER_REQUEST, PAUSE);
    let sink = Process::start(LEARNSTREAM, &config, "sink").await?;

    writer.wait_acknowledged(300).await?;
    wait_until_some_stored(&config).await?;
    sink.kill()?;
    // Statements keep arriving while no sink runs.
    writer.wait_for_more(300).await?;
    let sink = Process::start(LEARNSTREAM, &config, "sink").await?;
    wait_until_process_stored("the restarted sink to store statements", &sink).await?;
    writer.wait_for_more(300).await?;
    finish_and_check(writer, &config, &client).await?;
    assert!(sink.terminate().await?.success());
    intake.stop().await?;
    drop_database(&config).await
}

/// Fault 2: ClickHouse stopped for 30 s while statements keep arriving. The intake keeps
/// accepting (Kafka holds them), the sink retries without skipping anything and catches up once
/// ClickHouse is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_down_for_30_seconds_loses_nothing() -> anyhow::Result<()> {
    let clickhouse = OwnClickHouse::start()?;
    let mut config = isolated_config(&kafka_brokers());
    config.clickhouse.url = clickhouse.url();
    config.sink.max_retry_backoff_ms = 1_000;
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let writer = Writer::start(client.clone(), PER_REQUEST, PAUSE);
    writer.wait_acknowledged(200).await?;

    clickhouse.stop()?;
    let before_outage = writer.acknowledged();
    let failures_before = writer.failures();
    // The fault is the duration: ClickHouse stays down for 30 s.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let accepted_during_outage = writer.acknowledged() - before_outage;
    assert!(
        accepted_during_outage >= 1_000,
        "the intake keeps accepting while ClickHouse is down: {accepted_during_outage} accepted"
    );
    assert_eq!(
        writer.failures(),
        failures_before,
        "no POST failed because ClickHouse was down"
    );
    clickhouse.up()?;

    writer.wait_for_more(200).await?;
    finish_and_check(writer, &config, &client).await?;
    eprintln!("{accepted_during_outage} accepted during the outage");
    app.stop().await?;
    drop_database(&config).await
}

/// Fault 3: the broker killed (`kill -9`, sqlite-backed) and restarted while the intake produces
/// and the sink consumes. POSTs fail while it is down; every acknowledged one arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_while_producing_and_consuming_loses_nothing() -> anyhow::Result<()> {
    let broker = OwnBroker::start()?;
    let config = isolated_config(&broker.address());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let writer = Writer::start(client.clone(), PER_REQUEST, PAUSE);
    writer.wait_acknowledged(300).await?;
    wait_until_some_stored(&config).await?;

    broker.kill()?;
    broker.up()?;
    // The producer and the consumer reconnect by themselves.
    writer.wait_for_more(300).await?;
    finish_and_check(writer, &config, &client).await?;
    app.stop().await?;
    drop_database(&config).await
}

/// Fault 4: a message that is not a statement batch, written straight to the topic between good
/// ones. The sink moves it to the dead-letter topic with the reason and where it came from, and
/// stores everything around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_goes_to_the_dead_letter_topic_alone() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let writer = Writer::start(client.clone(), PER_REQUEST, PAUSE);
    writer.wait_acknowledged(100).await?;

    let poison: &[u8] = br#"{"schema":1,"tenant":"district-test","statements":[{"id":"#;
    DurableProducer::new(&config.kafka)?
        .send(&config.kafka.statements_topic, Some(b"poison"), poison, &[])
        .await?;
    writer.wait_for_more(100).await?;
    finish_and_check(writer, &config, &client).await?;

    let dead_letters: BaseConsumer = config
        .kafka
        .client_config()
        .set("group.id", format!("{}-reader", config.sink.group_id))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut partitions = TopicPartitionList::new();
    for partition in 0..config.kafka.partitions {
        partitions.add_partition_offset(
            &config.kafka.dead_letter_topic,
            partition,
            rdkafka::Offset::Beginning,
        )?;
    }
    dead_letters.assign(&partitions)?;
    let message = wait_for("the dead letter", || async {
        Ok(dead_letters
            .poll(Duration::from_millis(200))
            .transpose()?
            .map(|message| message.detach()))
    })
    .await?;
    assert_eq!(message.payload(), Some(poison));
    assert_eq!(message.key(), Some(&b"poison"[..]));
    let headers = message.headers().expect("dead letters carry headers");
    let header = |name: &str| {
        headers
            .iter()
            .find(|header| header.key == name)
            .and_then(|header| header.value)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    assert!(
        header("x-learnstream-error").is_some_and(|reason| !reason.is_empty()),
        "the reason is in the headers"
    );
    assert_eq!(
        header("x-learnstream-source-topic").as_deref(),
        Some(config.kafka.statements_topic.as_str())
    );
    // Exactly the bad message: the topic holds one message in all.
    let mut total = 0;
    for partition in 0..config.kafka.partitions {
        let (low, high) = dead_letters.fetch_watermarks(
            &config.kafka.dead_letter_topic,
            partition,
            Duration::from_secs(10),
        )?;
        total += high - low;
    }
    assert_eq!(
        total, 1,
        "the dead-letter topic holds only the malformed message"
    );

    app.stop().await?;
    drop_database(&config).await
}

/// Fault 5: a second sink process joins the consumer group under load. The partitions are split
/// between the two; the rebalance loses nothing and shows nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_from_one_sink_to_two_loses_nothing() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let intake = App::start(config.clone(), Roles::Intake).await?;
    let client = intake.client();
    let writer = Writer::start(client.clone(), PER_REQUEST, PAUSE);
    let first = Process::start(LEARNSTREAM, &config, "sink").await?;
    writer.wait_acknowledged(300).await?;
    wait_until_process_stored("the first sink to store statements", &first).await?;

    let second = Process::start(LEARNSTREAM, &config, "sink").await?;
    wait_until_process_stored("the second sink to take partitions and store", &second).await?;
    writer.wait_for_more(300).await?;
    finish_and_check(writer, &config, &client).await?;
    eprintln!(
        "stored by the first sink {}, by the second {}",
        first.statements_stored().await?,
        second.statements_stored().await?
    );
    assert!(first.terminate().await?.success());
    assert!(second.terminate().await?.success());
    intake.stop().await?;
    drop_database(&config).await
}

/// SIGTERM: the sink stores the batch it holds and commits it before it exits, so the next sink
/// starts after it and stores nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stores_the_batch_in_hand_and_commits_it() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    let intake = App::start(config.clone(), Roles::Intake).await?;
    let client = intake.client();
    // A sink that holds what it receives for a minute: only the shutdown can store it.
    let mut holding = config.clone();
    holding.sink.max_batch_wait_ms = 60_000;
    holding.sink.linger_ms = 60_000;
    let sink = Process::start(LEARNSTREAM, &holding, "sink").await?;

    let mut acknowledged = Vec::new();
    for learner in 0..5 {
        let batch = serde_json::Value::Array(
            (0..10)
                .map(|offset| learnstream_tests::statement(learner * 10 + offset, "answered"))
                .collect(),
        );
        acknowledged.extend(
            client
                .post_statements_with_mode(&batch, "throughput")
                .await?,
        );
    }
    wait_for("the sink to receive the five messages", || async {
        let received = sink
            .metric("learnstream_sink_delivery_seconds_count")
            .await?;
        Ok((received >= 5.0).then_some(()))
    })
    .await?;
    assert_eq!(stored_rows(&config).await?, 0, "the sink holds its batch");

    assert!(sink.terminate().await?.success());
    assert_eq!(
        stored_rows(&config).await?,
        50,
        "the batch in hand was stored on SIGTERM"
    );

    // The next sink starts after the committed batch: one more statement, no repeats.
    config.sink.max_batch_wait_ms = 50;
    let next = Process::start(LEARNSTREAM, &config, "sink").await?;
    acknowledged.extend(
        client
            .post_statements_with_mode(
                &learnstream_tests::statement(999, "completed"),
                "throughput",
            )
            .await?,
    );
    let (rows, distinct) = assert_each_visible_once(&config, &client, &acknowledged).await?;
    assert_eq!((rows, distinct), (51, 51), "nothing was stored twice");
    assert!(next.terminate().await?.success());
    intake.stop().await?;
    drop_database(&config).await
}
