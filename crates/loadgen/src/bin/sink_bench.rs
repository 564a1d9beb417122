//! `learnstream-sink-bench`: how fast the sink drains a backlog into ClickHouse.
//!
//! Fills a new statements topic with `--statements` realistic statements, normalized as the
//! intake normalizes them and packed `--per-message` to a `statement-batch` message as the
//! intake's group commit packs them, then runs the sink (the same code as `learnstream sink`, in
//! this process) on a new consumer group and a new ClickHouse database until every statement is
//! stored. Prints one JSON line: the fill rate, the drain rate from the sink's start and from
//! its first stored row (the first excludes the consumer group's join), and the CPU time the
//! process spent per statement while draining (the sink's own cost, without broker and
//! ClickHouse).
//!
//! ```text
//! cargo build --release -p learnstream-loadgen
//! target/release/learnstream-sink-bench --statements 1000000
//! ```
//!
//! Only point it at a broker and a ClickHouse you run: it creates a topic and a database named
//! after the run, and drops the database afterwards unless `--keep`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::StreamExt as _;
use learnstream_kafka::{DurableProducer, KafkaConfig, encode_batch, ensure_topics};
use learnstream_loadgen::statement;
use learnstream_sink::SinkConfig;
use learnstream_store::{ClickHouseConfig, StatementStore, migrate};
use learnstream_xapi::model::Account;
use learnstream_xapi::{Actor, Authority, NormalizeContext, XapiVersion, normalize_body};
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "learnstream-sink-bench",
    about = "Measures the sink draining a topic"
)]
struct Arguments {
    /// Statements to fill the topic with.
    #[arg(long, default_value_t = 1_000_000)]
    statements: usize,
    /// Statements per Kafka message.
    #[arg(long, default_value_t = 100)]
    per_message: usize,
    /// Partitions of the new topic.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    clickhouse_url: String,
    /// The sink's `max_batch_rows`.
    #[arg(long, default_value_t = SinkConfig::default().max_batch_rows)]
    max_batch_rows: usize,
    /// Extra librdkafka settings for every client, `name=value` (repeatable).
    #[arg(long = "kafka-option", value_parser = parse_option)]
    kafka_options: Vec<(String, String)>,
    /// Also read the filled topic once with a bare consumer that stores nothing: the broker's own
    /// delivery rate, the ceiling for any sink.
    #[arg(long)]
    broker_ceiling: bool,
    /// Keep the run's ClickHouse database afterwards.
    #[arg(long)]
    keep: bool,
}

const TENANT: &str = "bench";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    if arguments.per_message == 0 || arguments.statements == 0 {
        bail!("--statements and --per-message must be above 0");
    }
    let run = OffsetDateTime::now_utc().unix_timestamp();
    let kafka = KafkaConfig {
        brokers: arguments.brokers.clone(),
        statements_topic: format!("bench.sink-{run}.statements.v1"),
        dead_letter_topic: format!("bench.sink-{run}.dead-letter.v1"),
        mastery_topic: format!("bench.sink-{run}.mastery.v1"),
        partitions: arguments.partitions,
        client_options: arguments.kafka_options.iter().cloned().collect(),
        ..KafkaConfig::default()
    };
    let clickhouse = ClickHouseConfig {
        url: arguments.clickhouse_url.clone(),
        database: format!("learnstream_bench_sink_{run}"),
        ..ClickHouseConfig::default()
    };
    ensure_topics(&kafka).await.context("creating the topic")?;
    migrate(&clickhouse)
        .await
        .context("creating the database")?;

    let fill_started = Instant::now();
    let bytes = fill(&kafka, &arguments).await?;
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    eprintln!(
        "filled {} statements ({:.0} MiB) in {fill_seconds:.1} s",
        arguments.statements,
        bytes as f64 / (1024.0 * 1024.0)
    );

    let ceiling = if arguments.broker_ceiling {
        Some(
            broker_ceiling(
                &kafka,
                run,
                arguments.statements.div_ceil(arguments.per_message),
            )
            .await?,
        )
    } else {
        None
    };

    let sink_config = SinkConfig {
        group_id: format!("bench-sink-{run}"),
        max_batch_rows: arguments.max_batch_rows,
        ..SinkConfig::default()
    };
    let store = StatementStore::new(&clickhouse);
    let shutdown = CancellationToken::new();
    let drain_started = Instant::now();
    let cpu_before = cpu_seconds();
    let sink = tokio::spawn({
        let kafka = kafka.clone();
        let shutdown = shutdown.clone();
        async move {
            learnstream_sink::run(
                &kafka,
                &sink_config,
                store,
                None,
                Default::default(),
                shutdown,
            )
            .await
        }
    });
    let counter = clickhouse::Client::default()
        .with_url(&clickhouse.url)
        .with_database(&clickhouse.database)
        .with_validation(false);
    let mut first_row: Option<Instant> = None;
    let stored = loop {
        let stored: u64 = counter
            .query("SELECT count() FROM statements")
            .fetch_one()
            .await
            .context("counting stored statements")?;
        if stored > 0 && first_row.is_none() {
            first_row = Some(Instant::now());
        }
        if stored >= arguments.statements as u64 {
            break stored;
        }
        if sink.is_finished() {
            bail!("the sink stopped after storing {stored} statements");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let drained = drain_started.elapsed();
    let sink_cpu_seconds = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    shutdown.cancel();
    sink.await?.context("the sink failed")?;
    let from_first_row = first_row.map_or(drained, |first| first.elapsed());
    if !arguments.keep {
        counter
            .query(&format!("DROP DATABASE {}", clickhouse.database))
            .execute()
            .await?;
    }

    let rate = |seconds: f64| arguments.statements as f64 / seconds;
    let report = serde_json::json!({
            "statements": arguments.statements,
            "stored_rows": stored,
            "per_message": arguments.per_message,
            "partitions": arguments.partitions,
            "max_batch_rows": arguments.max_batch_rows,
            "fill_statements_per_second": rate(fill_seconds),
            "drain_seconds": drained.as_secs_f64(),
            "drain_statements_per_second": rate(drained.as_secs_f64()),
            "drain_statements_per_second_after_first_row": rate(from_first_row.as_secs_f64()),
            "broker_ceiling_statements_per_second": ceiling.map(rate),
            "max_rss_mib": max_rss_mib(),
            "sink_cpu_microseconds_per_statement": sink_cpu_seconds
                .map(|seconds| seconds * 1e6 / arguments.statements as f64),
    });
    #[allow(clippy::print_stdout, reason = "the report is the program's output")]
    {
        println!("{report}");
    }
    Ok(())
}

/// Produces the statements, normalized as the intake would, `per_message` to a message with up
/// to 64 messages in flight. Returns the bytes produced.
async fn fill(kafka: &KafkaConfig, arguments: &Arguments) -> anyhow::Result<usize> {
    let producer = DurableProducer::new(kafka)?;
    let authority = Authority::new(Actor {
        object_type: Some("Agent".into()),
        name: Some("bench".into()),
        account: Some(Account {
            home_page: "https://lrs.example.org".into(),
            name: "bench".into(),
        }),
        mbox: None,
        mbox_sha1sum: None,
        openid: None,
        member: None,
    });
    let messages = arguments.statements.div_ceil(arguments.per_message);
    let produced = futures::stream::iter(0..messages)
        .map(|message| {
            let first = message * arguments.per_message;
            let last = (first + arguments.per_message).min(arguments.statements);
            let body = serde_json::Value::Array(
                (first..last)
                    .map(|index| statement(index, "sink-bench"))
                    .collect(),
            );
            let context = NormalizeContext {
                version: XapiVersion::V1_0,
                stored: OffsetDateTime::now_utc(),
                authority: &authority,
            };
            let normalized = normalize_body(body.to_string().as_bytes(), &context)
                .expect("generated statements are valid");
            let payload = encode_batch(
                TENANT,
                normalized.iter().map(|statement| statement.json.as_str()),
                &[],
            );
            let producer = &producer;
            async move {
                producer
                    .send(&kafka.statements_topic, None, &payload, &[])
                    .await
                    .map(|_| payload.len())
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let mut bytes = 0;
    for outcome in produced {
        bytes += outcome.context("producing")?;
    }
    Ok(bytes)
}

/// Reads every message of the topic with a consumer that does nothing else; returns the seconds
/// from subscribing to the last message.
async fn broker_ceiling(kafka: &KafkaConfig, run: i64, messages: usize) -> anyhow::Result<f64> {
    let consumer: StreamConsumer = kafka
        .manual_commit(&format!("bench-ceiling-{run}"))
        // As the sink fetches: a broker that holds every fetch for the whole wait (tansu does)
        // would otherwise pace this consumer at librdkafka's default of 500 ms per fetch.
        .set(
            "fetch.wait.max.ms",
            SinkConfig::default().max_fetch_wait_ms.to_string(),
        )
        .create()?;
    consumer.subscribe(&[&kafka.statements_topic])?;
    let started = Instant::now();
    let mut received = 0;
    while received < messages {
        consumer.recv().await?;
        received += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("a bare consumer read {messages} messages in {seconds:.1} s");
    Ok(seconds)
}

/// CPU time (user and system) of this process so far, from /proc (clock ticks of 10 ms).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// The peak resident memory of this process (fill and drain), from /proc.
fn max_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn parse_option(option: &str) -> Result<(String, String), String> {
    option
        .split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{option:?}: expected name=value"))
}
