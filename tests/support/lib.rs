//! Test harness for end-to-end tests against the real Kafka broker and ClickHouse started by
//! `scripts/services.sh up`. Every test gets its own topics, consumer group, ClickHouse database
//! and HTTP port, so tests run in parallel without seeing each other.
//!
//! `LEARNSTREAM_TEST_KAFKA` and `LEARNSTREAM_TEST_CLICKHOUSE` point the tests elsewhere.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use learnstream_cli::{Config, Roles, Started};
use learnstream_intake::{CredentialConfig, WriteMode};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const USERNAME: &str = "vendor";
pub const PASSWORD: &str = "vendor-secret";
pub const TENANT: &str = "district-test";

/// How long a test waits for something the pipeline does in well under a second.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A name nobody else uses: `prefix_` and 12 hex digits.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}

pub fn kafka_brokers() -> String {
    std::env::var("LEARNSTREAM_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

pub fn clickhouse_url() -> String {
    std::env::var("LEARNSTREAM_TEST_CLICKHOUSE")
        .unwrap_or_else(|_| "http://127.0.0.1:8123".to_owned())
}

/// A configuration of its own for one test: fresh topics, group, database, any free port.
pub fn isolated_config(brokers: &str) -> Config {
    let name = unique_name("test");
    let mut config = Config::default();
    config.http.listen = ([127, 0, 0, 1], 0).into();
    config.auth.credentials = vec![CredentialConfig {
        username: USERNAME.to_owned(),
        password: PASSWORD.to_owned().into(),
        tenant: TENANT.to_owned(),
        write_mode: WriteMode::default(),
    }];
    config.kafka.brokers = brokers.to_owned();
    config.kafka.statements_topic = format!("{name}.statements");
    config.kafka.dead_letter_topic = format!("{name}.dead-letter");
    config.kafka.partitions = 3;
    config.clickhouse.url = clickhouse_url();
    config.clickhouse.database = name.clone();
    config.sink.group_id = format!("{name}-sink");
    config.sink.max_batch_wait_ms = 50;
    config
}

/// learnstream running inside the test process.
#[derive(Debug)]
pub struct App {
    pub base_url: String,
    shutdown: CancellationToken,
    started: Started,
}

impl App {
    pub async fn start(config: Config, roles: Roles) -> anyhow::Result<App> {
        let validated = config.validate(roles != Roles::Sink)?;
        let shutdown = CancellationToken::new();
        let started = learnstream_cli::start(validated, roles, None, shutdown.clone()).await?;
        Ok(App {
            base_url: format!("http://{}", started.http_address),
            shutdown,
            started,
        })
    }

    /// Shuts down as SIGTERM would and waits until every part stopped.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.started.wait())
            .await
            .context("learnstream did not stop in time")?
    }

    pub fn client(&self) -> LrsClient {
        LrsClient {
            http: reqwest::Client::new(),
            base_url: self.base_url.clone(),
        }
    }
}

/// An xAPI client as a vendor's content would use it.
#[derive(Debug, Clone)]
pub struct LrsClient {
    http: reqwest::Client,
    base_url: String,
}

impl LrsClient {
    /// POSTs a raw body to `/xapi/statements`.
    pub async fn post_raw(&self, body: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.post_raw_with(body, &[]).await
    }

    /// POSTs a raw body to `/xapi/statements` with extra headers.
    pub async fn post_raw_with(
        &self,
        body: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self
            .http
            .post(format!("{}/xapi/statements", self.base_url))
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("X-Experience-API-Version", "1.0.3")
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `POST /xapi/statements?method={method}` in the alternate request syntax: the credentials,
    /// version and everything else travel as form fields, none as headers.
    pub async fn post_alternate(
        &self,
        method: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"))
        );
        let mut form = vec![
            ("Authorization", authorization.as_str()),
            ("X-Experience-API-Version", "1.0.3"),
        ];
        form.extend_from_slice(fields);
        Ok(self
            .http
            .post(format!("{}/xapi/statements", self.base_url))
            .query(&[("method", method)])
            .form(&form)
            .send()
            .await?)
    }

    /// `POST /xapi/statements` of a `multipart/mixed` body.
    pub async fn post_multipart(
        &self,
        boundary: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let request = self
            .http
            .post(format!("{}/xapi/statements", self.base_url))
            .header(
                "Content-Type",
                format!("multipart/mixed; boundary={boundary}"),
            )
            .body(body);
        let response = self.send(request).await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `PUT /xapi/statements?{query}` with a raw body.
    pub async fn put_raw(&self, query: &str, body: &str) -> anyhow::Result<(StatusCode, Value)> {
        let request = self
            .http
            .put(format!("{}/xapi/statements?{query}", self.base_url))
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        let response = self.send(request).await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `GET /xapi/statements` with these query parameters: the whole response, headers included.
    pub async fn get(&self, query: &[(&str, &str)]) -> anyhow::Result<reqwest::Response> {
        self.get_with_headers(query, &[]).await
    }

    /// `GET /xapi/statements` with query parameters and extra headers.
    pub async fn get_with_headers(
        &self,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .http
            .get(format!("{}/xapi/statements", self.base_url))
            .query(query);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Ok(self.send(request).await?)
    }

    /// `HEAD /xapi/statements` with these query parameters.
    pub async fn head(&self, query: &[(&str, &str)]) -> anyhow::Result<reqwest::Response> {
        let request = self
            .http
            .head(format!("{}/xapi/statements", self.base_url))
            .query(query);
        Ok(self.send(request).await?)
    }

    /// `GET` of a path the LRS handed out, such as a `more` link.
    pub async fn get_path(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let request = self.http.get(format!("{}{path}", self.base_url));
        Ok(self.send(request).await?)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
        request
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
    }

    /// POSTs statements and returns the ids the LRS answered with; fails on any other answer.
    pub async fn post_statements(&self, body: &Value) -> anyhow::Result<Vec<Uuid>> {
        let (status, answer) = self.post_raw(&body.to_string()).await?;
        if status != StatusCode::OK {
            bail!("POST /xapi/statements answered {status}: {answer}");
        }
        Ok(serde_json::from_value(answer)?)
    }

    /// GET `/xapi/statements?statementId=…`.
    pub async fn get_statement(&self, id: Uuid) -> anyhow::Result<(StatusCode, Value)> {
        let response = self.get(&[("statementId", &id.to_string())]).await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until the statement can be read back, and returns it.
    pub async fn wait_for_statement(&self, id: Uuid) -> anyhow::Result<Value> {
        wait_for(&format!("statement {id} to be readable"), || async {
            let (status, body) = self.get_statement(id).await?;
            Ok((status == StatusCode::OK).then_some(body))
        })
        .await
    }
}

/// Polls `probe` until it yields a value, for at most [`PATIENCE`].
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting for {what} after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A statement with the given verb, from a learner of the given number.
pub fn statement(learner: u32, verb: &str) -> Value {
    serde_json::json!({
        "actor": {"objectType": "Agent", "mbox": format!("mailto:learner{learner}@school.example.org")},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": {"en-US": verb}},
        "object": {"id": "https://content.example.org/algebra/quiz-1", "objectType": "Activity"},
        "result": {"score": {"scaled": 0.75, "raw": 15, "min": 0, "max": 20}, "success": true, "duration": "PT4M30S"},
    })
}

/// Statements stored in the test's database for its tenant, duplicates included.
pub async fn stored_rows(config: &Config) -> anyhow::Result<u64> {
    let count = config
        .clickhouse
        .client()
        .query("SELECT count() FROM statements WHERE tenant = ?")
        .bind(TENANT)
        .fetch_one::<u64>()
        .await?;
    Ok(count)
}

/// Drops the test's database.
pub async fn drop_database(config: &Config) -> anyhow::Result<()> {
    config
        .clickhouse
        .client()
        .query(&format!(
            "DROP DATABASE IF EXISTS {}",
            config.clickhouse.database
        ))
        .execute()
        .await?;
    Ok(())
}

/// A broker of the test's own, started through `scripts/services.sh`, so the test may kill and
/// restart it without disturbing other tests.
#[derive(Debug)]
pub struct OwnBroker {
    pub name: String,
    pub port: u16,
}

impl OwnBroker {
    pub fn start() -> anyhow::Result<OwnBroker> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let broker = OwnBroker {
            name: unique_name("broker"),
            port,
        };
        broker.up()?;
        Ok(broker)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn up(&self) -> anyhow::Result<()> {
        services(&["kafka-up", &self.name, &self.port.to_string()])
    }

    /// `kill -9`: the broker gets no chance to flush anything.
    pub fn kill(&self) -> anyhow::Result<()> {
        services(&["kafka-kill", &self.name])
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = services(&["kafka-purge", &self.name]);
    }
}

fn services(arguments: &[&str]) -> anyhow::Result<()> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/services.sh");
    let status = Command::new("bash").arg(script).args(arguments).status()?;
    anyhow::ensure!(
        status.success(),
        "scripts/services.sh {arguments:?} failed: {status}"
    );
    Ok(())
}
