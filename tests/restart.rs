//! The local setup after everything was stopped and started again, as a newcomer would do it
//! (`scripts/quickstart.sh stop`, `scripts/services.sh down`, then up again): learnstream stores
//! statements again at once, without a manual step. The services are the test's own broker and
//! ClickHouse, so stopping them disturbs no other test; the sink runs with static membership, as
//! `scripts/learnstream.local.toml` configures it.

use std::time::{Duration, Instant};

use learnstream_tests::{
    LrsClient, OwnBroker, OwnClickHouse, Process, drop_database, isolated_config, statement,
    wait_for,
};
use reqwest::StatusCode;

const LEARNSTREAM: &str = env!("CARGO_BIN_EXE_learnstream-under-test");

/// POSTs one statement (read-your-writes: answered once readable) and reads it back; returns how
/// long that took.
async fn post_and_read(client: &LrsClient) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let ids = client.post_statements(&statement(7, "completed")).await?;
    let (status, _) = client.get_statement(ids[0]).await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "GET after the POST answered {status}"
    );
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_stopping_everything_and_starting_again_a_post_is_readable_at_once()
-> anyhow::Result<()> {
    let broker = OwnBroker::start()?;
    let clickhouse = OwnClickHouse::start()?;
    let mut config = isolated_config(&broker.address());
    config.clickhouse.url = clickhouse.url();
    config.sink.instance_id = Some("learnstream-local-sink".to_owned());

    let learnstream = Process::start(LEARNSTREAM, &config, "serve").await?;
    let client = LrsClient::new(&format!("http://{}", learnstream.http_address));
    post_and_read(&client).await?;

    // Stop everything, learnstream first, as the README says.
    assert!(learnstream.terminate().await?.success());
    broker.stop()?;
    clickhouse.stop()?;

    broker.up()?;
    clickhouse.up()?;
    let learnstream = Process::start(LEARNSTREAM, &config, "serve").await?;
    // As scripts/quickstart.sh does: wait until learnstream says it is ready (its sink holds
    // its partitions), then post.
    let ready = format!("http://{}/ready", learnstream.http_address);
    let started = Instant::now();
    wait_for("learnstream to be ready after the restart", || async {
        let response = reqwest::get(&ready).await?;
        Ok(response.status().is_success().then_some(()))
    })
    .await?;
    let readiness = started.elapsed();
    let client = LrsClient::new(&format!("http://{}", learnstream.http_address));
    let first = post_and_read(&client).await?;
    eprintln!("after the restart: ready in {readiness:?}, the first POST readable in {first:?}");
    anyhow::ensure!(
        first < Duration::from_secs(1),
        "a POST took {first:?} to become readable after the restart"
    );
    assert!(learnstream.terminate().await?.success());
    drop_database(&config).await
}
