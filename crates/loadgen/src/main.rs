//! `learnstream-loadgen`: posts realistic xAPI statements to an LRS, as many vendors' clients
//! would, and measures what a vendor and a district would feel: statements accepted per second,
//! request latency percentiles, and (with `--clickhouse-url`) how long until every accepted
//! statement is stored.
//!
//! Bodies are generated before the clock starts, so the figures measure the LRS, not the
//! generator. Only ever point it at an LRS you run: it sends as fast as it is allowed to.
//!
//! ```text
//! learnstream-loadgen --url http://127.0.0.1:8080 --statements 200000 --batch 100 --concurrency 16
//! learnstream-loadgen --statements 5000 --batch 1 --concurrency 8 --write-mode read_your_writes --get-by-id 20000
//! ```
//!
//! Every statement carries an id of its own, as xAPI asks of clients and as the clients vendors
//! use (TinCanJS, xAPI.js, cmi5 players) do; `--no-ids` leaves the ids to the LRS.
//!
//! `--write-mode` sends `X-Learnstream-Write-Mode` with every POST; `--get-by-id N` then reads
//! N statements back by `statementId` (cycling through the ids the POSTs answered with) and
//! reports that latency too.
//!
//! `--preload N --clickhouse-url URL` first fills the tenant with history until it holds N
//! statements, stored straight into ClickHouse as the sink stores them (`stored` a few seconds
//! apart over the past), so the run measures the LRS with that history behind it; with
//! `--statements 0` it only fills.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use learnstream_loadgen::{pages, preload, statement};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Debug, Parser)]
#[command(name = "learnstream-loadgen", about = "Load generator for an xAPI LRS")]
struct Arguments {
    /// Base URL of the LRS (the xAPI endpoints live under /xapi).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "dev")]
    user: String,
    #[arg(long, default_value = "dev-secret")]
    password: String,
    /// Statements to send in all.
    #[arg(long, default_value_t = 100_000)]
    statements: usize,
    /// Statements per request (1 sends single statements).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// xAPI version header to send.
    #[arg(long, default_value = "1.0.3")]
    xapi_version: String,
    /// ClickHouse HTTP URL: after sending, wait until every accepted statement is stored there.
    #[arg(long)]
    clickhouse_url: Option<String>,
    /// ClickHouse database of the LRS.
    #[arg(long, default_value = "learnstream")]
    clickhouse_database: String,
    /// Tenant of the credential, to count stored statements.
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// `read_your_writes` or `throughput`: sent as `X-Learnstream-Write-Mode`.
    #[arg(long)]
    write_mode: Option<String>,
    /// After the POSTs, this many GETs by statementId over the ids the POSTs answered with.
    #[arg(long, default_value_t = 0)]
    get_by_id: usize,
    /// Send statements without ids, for the LRS to assign.
    #[arg(long)]
    no_ids: bool,
    /// Before the run, fill the tenant until it holds this many statements (needs
    /// `--clickhouse-url`).
    #[arg(long)]
    preload: Option<u64>,
    /// The LRS's `http.public_url`, for the authority of preloaded statements (default: `--url`).
    #[arg(long)]
    public_url: Option<String>,
    /// After the POSTs, this many GETs of one page of `GET /xapi/statements` for each
    /// `--page-filter`, `--concurrency` at a time.
    #[arg(long, default_value_t = 0)]
    pages: usize,
    /// The pages to measure (repeat, or comma-separated; default: every filter).
    #[arg(long, value_enum, value_delimiter = ',')]
    page_filter: Vec<pages::Filter>,
    /// Statements per page.
    #[arg(long, default_value_t = 100)]
    page_limit: u64,
    /// After the POSTs, page through up to this many statements by `more` links, checking each
    /// comes once (newest first; `--page-through-ascending` for oldest first).
    #[arg(long, default_value_t = 0)]
    page_through: usize,
    #[arg(long)]
    page_through_ascending: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        arguments.batch >= 1 && arguments.concurrency >= 1,
        "--batch and --concurrency must be at least 1"
    );
    let mut report = json!({});
    let clickhouse =
        arguments
            .clickhouse_url
            .clone()
            .map(|url| learnstream_store::ClickHouseConfig {
                url,
                database: arguments.clickhouse_database.clone(),
                ..learnstream_store::ClickHouseConfig::default()
            });
    if let Some(target) = arguments.preload {
        let config = clickhouse
            .as_ref()
            .context("--preload needs --clickhouse-url")?;
        let started = Instant::now();
        let added = preload::fill(
            config,
            &arguments.tenant,
            &arguments.user,
            arguments.public_url.as_deref().unwrap_or(&arguments.url),
            target,
            Duration::from_secs(3),
        )
        .await?;
        report["preloaded"] = json!({"added": added, "seconds": started.elapsed().as_secs_f64()});
        report["stored"] = json!(preload::stored_count(config, &arguments.tenant).await?);
    }
    if arguments.statements == 0 {
        read_pages(&arguments, &mut report).await?;
        #[allow(clippy::print_stdout, reason = "the report is the program's output")]
        {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        return Ok(());
    }
    let run_tag = uuid::Uuid::new_v4().simple().to_string();
    let bodies: Vec<String> = (0..arguments.statements)
        .collect::<Vec<_>>()
        .chunks(arguments.batch)
        .map(|chunk| {
            let statements: Vec<Value> = chunk
                .iter()
                .map(|index| {
                    let mut statement = statement(*index, &run_tag);
                    if !arguments.no_ids {
                        statement["id"] = json!(uuid::Uuid::new_v4());
                    }
                    statement
                })
                .collect();
            if arguments.batch == 1 {
                statements[0].to_string()
            } else {
                Value::Array(statements).to_string()
            }
        })
        .collect();
    let body_bytes: usize = bodies.iter().map(String::len).sum();
    let stored_before = match &clickhouse {
        Some(config) => Some(preload::stored_count(config, &arguments.tenant).await?),
        None => None,
    };

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(arguments.concurrency)
        .build()?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered_ids = Arc::new(Mutex::new(Vec::<String>::new()));
    let endpoint = format!("{}/xapi/statements", arguments.url.trim_end_matches('/'));

    let started = Instant::now();
    let workers: Vec<_> = (0..arguments.concurrency)
        .map(|_| {
            let (client, bodies, next, latencies, failures, endpoint, answered_ids) = (
                client.clone(),
                Arc::clone(&bodies),
                Arc::clone(&next),
                Arc::clone(&latencies),
                Arc::clone(&failures),
                endpoint.clone(),
                Arc::clone(&answered_ids),
            );
            let (user, password, version, write_mode) = (
                arguments.user.clone(),
                arguments.password.clone(),
                arguments.xapi_version.clone(),
                arguments.write_mode.clone(),
            );
            let keep_ids = arguments.get_by_id > 0;
            tokio::spawn(async move {
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid bounds");
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(index) else { break };
                    let sent = Instant::now();
                    let mut request = client
                        .post(&endpoint)
                        .basic_auth(&user, Some(&password))
                        .header("X-Experience-API-Version", &version)
                        .header("Content-Type", "application/json")
                        .body(body.clone());
                    if let Some(mode) = &write_mode {
                        request = request.header("X-Learnstream-Write-Mode", mode);
                    }
                    let outcome = request.send().await;
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    match outcome {
                        Ok(response) if response.status().is_success() => {
                            local.saturating_record(micros);
                            if keep_ids && let Ok(ids) = response.json::<Vec<String>>().await {
                                answered_ids.lock().await.extend(ids);
                            }
                        }
                        Ok(response) => {
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            failures.lock().await.push(format!("{status}: {text}"));
                        }
                        Err(error) => failures.lock().await.push(error.to_string()),
                    }
                }
                latencies.lock().await.add(&local).expect("same bounds");
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed();

    let latencies = latencies.lock().await;
    let failures = failures.lock().await;
    let accepted_requests = latencies.len() as usize;
    let accepted_statements = accepted_requests.min(bodies.len()) * arguments.batch;
    let accepted_statements = accepted_statements.min(arguments.statements);
    let millis = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let fields = json!({
        "statements": arguments.statements,
        "ids": !arguments.no_ids,
        "stored_before": stored_before,
        "batch": arguments.batch,
        "concurrency": arguments.concurrency,
        "requests_ok": accepted_requests,
        "requests_failed": failures.len(),
        "seconds": elapsed.as_secs_f64(),
        "statements_per_second": accepted_statements as f64 / elapsed.as_secs_f64(),
        "requests_per_second": accepted_requests as f64 / elapsed.as_secs_f64(),
        "request_body_mib": body_bytes as f64 / (1024.0 * 1024.0),
        "latency_ms": {"p50": millis(0.5), "p90": millis(0.9), "p99": millis(0.99), "max": latencies.max() as f64 / 1000.0},
    });
    if let (Value::Object(report), Value::Object(fields)) = (&mut report, fields) {
        report.extend(fields);
    }
    if let Some(first) = failures.first() {
        report["first_failure"] = json!(first);
    }
    if arguments.get_by_id > 0 {
        let ids = answered_ids.lock().await.clone();
        report["get_by_id"] = get_by_id(&client, &endpoint, &arguments, ids).await?;
    }

    if let (Some(config), Some(before)) = (&clickhouse, stored_before) {
        let expected = before + accepted_statements as u64;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let stored = preload::stored_count(config, &arguments.tenant).await?;
            if stored >= expected {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "only {} of {accepted_statements} statements stored after 600 s",
                    stored - before
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let total = started.elapsed();
        report["stored_seconds_after_start"] = json!(total.as_secs_f64());
        report["stored_seconds_after_last_answer"] = json!((total - elapsed).as_secs_f64());
        report["end_to_end_statements_per_second"] =
            json!(accepted_statements as f64 / total.as_secs_f64());
    }
    read_pages(&arguments, &mut report).await?;
    #[allow(clippy::print_stdout, reason = "the report is the program's output")]
    {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !failures.is_empty() {
        bail!("{} requests failed", failures.len());
    }
    Ok(())
}

/// Measures pages (`--pages`, `--page-through`) into `report`.
async fn read_pages(arguments: &Arguments, report: &mut Value) -> anyhow::Result<()> {
    if arguments.pages == 0 && arguments.page_through == 0 {
        return Ok(());
    }
    let lrs = pages::Lrs {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(arguments.concurrency)
            .timeout(pages::REQUEST_TIMEOUT)
            .build()?,
        endpoint: format!("{}/xapi/statements", arguments.url.trim_end_matches('/')),
        user: arguments.user.clone(),
        password: arguments.password.clone(),
        version: arguments.xapi_version.clone(),
    };
    if arguments.pages > 0 {
        let history = pages::History::of(&lrs).await?;
        let filters = if arguments.page_filter.is_empty() {
            pages::Filter::ALL.to_vec()
        } else {
            arguments.page_filter.clone()
        };
        let mut measured = Vec::new();
        for filter in filters {
            measured.push(
                pages::measure(
                    &lrs,
                    filter,
                    history,
                    arguments.pages,
                    arguments.concurrency,
                    arguments.page_limit,
                )
                .await?,
            );
        }
        report["pages"] = json!(measured);
    }
    if arguments.page_through > 0 {
        report["page_through"] = pages::page_through(
            &lrs,
            arguments.page_through_ascending,
            arguments.page_through,
            arguments.page_limit,
        )
        .await?;
    }
    Ok(())
}

/// GETs statements by id, `arguments.concurrency` at a time, and reports the latency.
async fn get_by_id(
    client: &reqwest::Client,
    endpoint: &str,
    arguments: &Arguments,
    ids: Vec<String>,
) -> anyhow::Result<Value> {
    anyhow::ensure!(!ids.is_empty(), "no statement ids to read back");
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let total = arguments.get_by_id;
    let started = Instant::now();
    let workers: Vec<_> = (0..arguments.concurrency)
        .map(|_| {
            let (client, ids, next, endpoint) = (
                client.clone(),
                Arc::clone(&ids),
                Arc::clone(&next),
                endpoint.to_owned(),
            );
            let (user, password, version) = (
                arguments.user.clone(),
                arguments.password.clone(),
                arguments.xapi_version.clone(),
            );
            tokio::spawn(async move {
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid bounds");
                let mut failures = 0usize;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total {
                        break;
                    }
                    let id = &ids[index % ids.len()];
                    let sent = Instant::now();
                    let outcome = client
                        .get(&endpoint)
                        .query(&[("statementId", id)])
                        .basic_auth(&user, Some(&password))
                        .header("X-Experience-API-Version", &version)
                        .send()
                        .await;
                    let ok = match outcome {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.is_ok()
                        }
                        _ => false,
                    };
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    if ok {
                        local.saturating_record(micros);
                    } else {
                        failures += 1;
                    }
                }
                (local, failures)
            })
        })
        .collect();
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut failures = 0;
    for worker in workers {
        let (local, failed) = worker.await?;
        latencies.add(&local)?;
        failures += failed;
    }
    let elapsed = started.elapsed();
    let millis = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    Ok(json!({
        "requests_ok": latencies.len(),
        "requests_failed": failures,
        "requests_per_second": latencies.len() as f64 / elapsed.as_secs_f64(),
        "latency_ms": {"p50": millis(0.5), "p90": millis(0.9), "p99": millis(0.99), "max": latencies.max() as f64 / 1000.0},
    }))
}
