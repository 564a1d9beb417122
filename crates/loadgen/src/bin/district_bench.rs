//! `learnstream-district-bench`: what a district feels of the mastery pipeline.
//!
//! - `load` fills a database with N generated statements (10 million by default) through the
//!   `statements` table, so the materialized view fills `learner_statements` as the sink's
//!   inserts do, plus an alignment table for the generated activities. Generated in ClickHouse
//!   (`INSERT … SELECT … FROM numbers`), a million rows per insert.
//! - `query` asks `GET /district/learners/{learner}/mastery` for random learners of that
//!   database, one request at a time, and reports latency percentiles.
//! - `freshness` posts a probe statement for a new learner every `--interval-ms` while a
//!   background writer posts `--background-rate` statements a second (each evidence of a
//!   competency, so each can change a learner's mastery), and measures from the probe's POST to
//!   its evidence showing in `GET /district/learners/{learner}/mastery` and, with
//!   `--mastery-topic`, to its event on the mastery topic.
//!
//! ```text
//! learnstream-district-bench load --statements 10000000 --database learnstream_district_bench
//! learnstream-district-bench query --url http://127.0.0.1:8080 --requests 2000
//! learnstream-district-bench freshness --url http://127.0.0.1:8080 --probes 300
//! ```
//!
//! `query` needs learnstream serving the loaded database under the loaded tenant (the LRS's
//! credential `dev` with tenant `bench`, for example); `bench/RESULTS.md` has the commands used.

#![allow(clippy::print_stdout, reason = "the report is the program's output")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use learnstream_loadgen::statement;
use learnstream_store::ClickHouseConfig;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "learnstream-district-bench",
    about = "Mastery freshness and query latency"
)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill a database with generated statements and alignments.
    Load {
        #[arg(long, default_value = "http://127.0.0.1:8123")]
        clickhouse_url: String,
        #[arg(long, default_value = "learnstream_district_bench")]
        database: String,
        #[arg(long, default_value = "bench")]
        tenant: String,
        #[arg(long, default_value_t = 10_000_000)]
        statements: u64,
        /// Learners the statements are spread over (evenly, at random).
        #[arg(long, default_value_t = 50_000)]
        learners: u64,
    },
    /// Mastery query latency for random learners of a loaded database.
    Query {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "dev")]
        user: String,
        #[arg(long, default_value = "dev-secret")]
        password: String,
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
        /// As given to `load`.
        #[arg(long, default_value_t = 50_000)]
        learners: u64,
    },
    /// From a POST to its effect on the district API, under background load.
    Freshness {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "dev")]
        user: String,
        #[arg(long, default_value = "dev-secret")]
        password: String,
        #[arg(long, default_value_t = 300)]
        probes: usize,
        /// Milliseconds between probes.
        #[arg(long, default_value_t = 200)]
        interval_ms: u64,
        /// Statements a second the background writer posts, in requests of 50.
        #[arg(long, default_value_t = 1_000)]
        background_rate: usize,
        /// With `--mastery-topic`: also time each probe's mastery event on this broker.
        #[arg(long, default_value = "127.0.0.1:9092")]
        brokers: String,
        /// The LRS's `kafka.mastery_topic`; unset: events are not timed.
        #[arg(long)]
        mastery_topic: Option<String>,
    },
}

/// Activities a learner works on, and competencies per activity.
const ACTIVITIES: u64 = 2_000;
const COMPETENCIES: u64 = 200;
const ACTIVITIES_PER_LEARNER: u64 = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Arguments::parse().command {
        Command::Load {
            clickhouse_url,
            database,
            tenant,
            statements,
            learners,
        } => load(clickhouse_url, database, &tenant, statements, learners).await,
        Command::Query {
            url,
            user,
            password,
            requests,
            learners,
        } => query(&url, &user, &password, requests, learners).await,
        Command::Freshness {
            url,
            user,
            password,
            probes,
            interval_ms,
            background_rate,
            brokers,
            mastery_topic,
        } => {
            let events = mastery_topic
                .map(|topic| EventClock::start(&brokers, &topic))
                .transpose()?;
            freshness(
                &url,
                &user,
                &password,
                probes,
                interval_ms,
                background_rate,
                events,
            )
            .await
        }
    }
}

fn bench_learner(index: u64) -> String {
    format!("mbox:mailto:learner-{index}@bench.example.org")
}

async fn load(
    url: String,
    database: String,
    tenant: &str,
    statements: u64,
    learners: u64,
) -> anyhow::Result<()> {
    let config = ClickHouseConfig {
        url,
        database,
        ..ClickHouseConfig::default()
    };
    learnstream_store::migrate(&config).await?;
    let client = config.client();
    client
        .query(
            "INSERT INTO competency_alignments (tenant, activity_id, competency_id, framework, weight, deleted, version)
             SELECT ?, concat('https://content.example.org/bench/activity-', toString(number)),
                 concat('competency-', toString(number % ?)), 'bench', 1, 0, 1
             FROM numbers(?)",
        )
        .bind(tenant)
        .bind(COMPETENCIES)
        .bind(ACTIVITIES)
        .execute()
        .await?;
    // A statement every 3 s of a school year; learner and score from hashes of its number; each
    // learner works on ACTIVITIES_PER_LEARNER activities of their own.
    let insert = "INSERT INTO statements (tenant, statement_id, stored_us, timestamp_us, actor_ifi,
            verb_id, object_type, object_id, result_success, score_scaled, duration_ms, voided,
            version, raw)
        SELECT ?, generateUUIDv4(), toUInt64(1788000000000000 + n * 1000),
            toInt64(1788000000000000 + n * 3000000),
            concat('mbox:mailto:learner-', toString(learner), '@bench.example.org'),
            'http://adlnet.gov/expapi/verbs/scored', 'Activity',
            concat('https://content.example.org/bench/activity-',
                toString((learner * 7 + cityHash64(n, 3) % ?) % ?)),
            score >= 0.5, score, 60000, 0, '1.0.0', '{\"generated\":true}'
        FROM
        (
            SELECT number + ? AS n, cityHash64(n, 1) % ? AS learner,
                (cityHash64(n, 2) % 1001) / 1000 AS score
            FROM numbers(?)
        )";
    let started = Instant::now();
    let chunk = 1_000_000;
    let mut offset = 0;
    while offset < statements {
        let count = chunk.min(statements - offset);
        client
            .query(insert)
            .bind(tenant)
            .bind(ACTIVITIES_PER_LEARNER)
            .bind(ACTIVITIES)
            .bind(offset)
            .bind(learners)
            .bind(count)
            .execute()
            .await
            .context("inserting generated statements")?;
        offset += count;
        eprintln!(
            "{offset} statements loaded in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    let rows: u64 = client
        .query("SELECT count() FROM learner_statements WHERE tenant = ?")
        .bind(tenant)
        .fetch_one()
        .await?;
    println!(
        "{}",
        json!({"statements": statements, "learner_statements_rows": rows, "learners": learners,
               "load_seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

fn summary(histogram: &Histogram<u64>) -> Value {
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    json!({
        "count": histogram.len(),
        "p50_ms": ms(0.5),
        "p90_ms": ms(0.9),
        "p99_ms": ms(0.99),
        "max_ms": histogram.max() as f64 / 1000.0,
    })
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn query(
    url: &str,
    user: &str,
    password: &str,
    requests: usize,
    learners: u64,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut competencies = 0usize;
    let mut evidence = 0u64;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..requests {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let learner = bench_learner(state % learners);
        let path = format!(
            "{url}/district/learners/{}/mastery",
            percent_encoded(&learner)
        );
        let started = Instant::now();
        let response = http
            .get(&path)
            .basic_auth(user, Some(password))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        latency.record(started.elapsed().as_micros() as u64)?;
        if !status.is_success() {
            bail!("GET {path} answered {status}: {body}");
        }
        let assessed = body["competencies"].as_array().context("competencies")?;
        competencies += assessed.len();
        evidence += assessed
            .iter()
            .filter_map(|competency| competency["evidence_count"].as_u64())
            .sum::<u64>();
    }
    println!(
        "{}",
        json!({
            "mastery_query": summary(&latency),
            "mean_competencies_per_learner": competencies as f64 / requests as f64,
            "mean_evidence_per_learner": evidence as f64 / requests as f64,
        })
    );
    Ok(())
}

/// Notes when each probe learner's first mastery event arrives.
struct EventClock {
    arrivals: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl EventClock {
    fn start(brokers: &str, topic: &str) -> anyhow::Result<EventClock> {
        use rdkafka::Message as _;
        use rdkafka::consumer::{Consumer as _, StreamConsumer};
        let consumer: StreamConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set(
                "group.id",
                format!("district-bench-{}", uuid::Uuid::new_v4().simple()),
            )
            .set("auto.offset.reset", "latest")
            .set("fetch.wait.max.ms", "10")
            .create()?;
        consumer.subscribe(&[topic])?;
        let arrivals = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let seen = Arc::clone(&arrivals);
        let reader = tokio::spawn(async move {
            while let Ok(message) = consumer.recv().await {
                let Some(event) = message
                    .payload()
                    .and_then(|payload| serde_json::from_slice::<Value>(payload).ok())
                else {
                    continue;
                };
                if let Some(learner) = event["learner"].as_str() {
                    seen.lock()
                        .expect("not poisoned")
                        .entry(learner.to_owned())
                        .or_insert_with(Instant::now);
                }
            }
        });
        Ok(EventClock { arrivals, reader })
    }
}

async fn freshness(
    url: &str,
    user: &str,
    password: &str,
    probes: usize,
    interval_ms: u64,
    background_rate: usize,
    events: Option<EventClock>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let background_sent = Arc::new(AtomicUsize::new(0));
    let background = {
        let http = http.clone();
        let url = url.to_owned();
        let (user, password) = (user.to_owned(), password.to_owned());
        let stop = Arc::clone(&stop);
        let sent = Arc::clone(&background_sent);
        let run = run.clone();
        tokio::spawn(async move {
            let per_request = 50;
            let pause = Duration::from_secs_f64(per_request as f64 / background_rate.max(1) as f64);
            let mut ticker = tokio::time::interval(pause);
            let mut index = 0;
            while !stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                // Every statement is evidence: its object names its competency.
                let body: Vec<Value> = (index..index + per_request)
                    .map(|index| {
                        let mut generated = statement(index, &run);
                        let competency =
                            generated["context"]["contextActivities"]["category"][0]["id"].clone();
                        generated["object"]["definition"]["extensions"] = json!({
                            "https://learnstream.dev/xapi/extensions/competency": competency
                        });
                        generated
                    })
                    .collect();
                index += per_request;
                // Each request on its own task: the pace holds however long a POST takes.
                let request = http
                    .post(format!("{url}/xapi/statements"))
                    .basic_auth(&user, Some(&password))
                    .header("X-Experience-API-Version", "1.0.3")
                    .json(&body);
                let sent = Arc::clone(&sent);
                tokio::spawn(async move {
                    let answer = request.send().await;
                    if matches!(&answer, Ok(response) if response.status().is_success()) {
                        sent.fetch_add(per_request, Ordering::Relaxed);
                    }
                });
            }
        })
    };
    // Let the background load reach its pace.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let background_started = (background_sent.load(Ordering::Relaxed), Instant::now());

    let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut event_latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut posted_at: Vec<(String, Instant)> = Vec::with_capacity(probes);
    let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms));
    let mut probing = tokio::task::JoinSet::new();
    for probe in 0..probes {
        ticker.tick().await;
        let http = http.clone();
        let url = url.to_owned();
        let (user, password) = (user.to_owned(), password.to_owned());
        let learner = format!("probe-{run}-{probe}@bench.example.org");
        let started = Instant::now();
        posted_at.push((format!("mbox:mailto:{learner}"), started));
        probing.spawn(async move {
            let body = json!({
                "actor": {"mbox": format!("mailto:{learner}")},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
                "object": {"id": "https://content.example.org/bench/probe", "definition": {
                    "extensions": {"https://learnstream.dev/xapi/extensions/competency": "probe-competency"}}},
                "result": {"score": {"scaled": 0.9}},
            });
            let posted = http
                .post(format!("{url}/xapi/statements"))
                .basic_auth(&user, Some(&password))
                .header("X-Experience-API-Version", "1.0.3")
                .json(&body)
                .send()
                .await?;
            if !posted.status().is_success() {
                bail!("probe POST answered {}", posted.status());
            }
            let path = format!(
                "{url}/district/learners/{}/mastery",
                percent_encoded(&format!("mbox:mailto:{learner}"))
            );
            loop {
                let answer: Value = http
                    .get(&path)
                    .basic_auth(&user, Some(&password))
                    .send()
                    .await?
                    .json()
                    .await?;
                if answer["competencies"]
                    .as_array()
                    .is_some_and(|all| !all.is_empty())
                {
                    return Ok(started.elapsed());
                }
                if started.elapsed() > Duration::from_secs(60) {
                    bail!("probe {learner} not visible after 60 s");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    while let Some(outcome) = probing.join_next().await {
        latency.record(outcome??.as_micros() as u64)?;
    }
    let mut events_missing = 0;
    if let Some(events) = &events {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let arrivals = events.arrivals.lock().expect("not poisoned").clone();
            let missing = posted_at
                .iter()
                .filter(|(learner, _)| !arrivals.contains_key(learner))
                .count();
            if missing == 0 || Instant::now() > deadline {
                events_missing = missing;
                for (learner, posted) in &posted_at {
                    if let Some(arrived) = arrivals.get(learner) {
                        event_latency.record(arrived.duration_since(*posted).as_micros() as u64)?;
                    }
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        events.reader.abort();
    }
    let background_rate_seen = (background_sent.load(Ordering::Relaxed) - background_started.0)
        as f64
        / background_started.1.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    background.await?;
    println!(
        "{}",
        json!({
            "post_to_mastery_visible": summary(&latency),
            "post_to_mastery_event": events.as_ref().map(|_| summary(&event_latency)),
            "probe_events_missing_after_60_s": events.as_ref().map(|_| events_missing),
            "background_statements_per_second": background_rate_seen,
        })
    );
    Ok(())
}
