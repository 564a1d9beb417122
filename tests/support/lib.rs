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
use learnstream_http::{CredentialConfig, WriteMode};
use reqwest::StatusCode;
use secrecy::ExposeSecret as _;
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
    config.kafka.mastery_topic = format!("{name}.mastery");
    config.kafka.partitions = 3;
    // As scripts/learnstream.local.toml: the development broker never returns a message of
    // 5 MiB or more to a consumer.
    config.kafka.max_message_bytes = 5_000_000;
    config.http.max_body_bytes = 4_000_000;
    config.clickhouse.url = clickhouse_url();
    config.clickhouse.database = name.clone();
    config.sink.group_id = format!("{name}-sink");
    config.analytics.mastery_group_id = format!("{name}-mastery");
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
        LrsClient::new(&self.base_url)
    }
}

/// An xAPI client as a vendor's content would use it.
#[derive(Debug, Clone)]
pub struct LrsClient {
    http: reqwest::Client,
    base_url: String,
    username: String,
    password: String,
}

impl LrsClient {
    /// A client of the LRS at `base_url` (`http://host:port`), with the test's credentials.
    pub fn new(base_url: &str) -> LrsClient {
        LrsClient {
            http: reqwest::Client::new(),
            base_url: base_url.to_owned(),
            username: USERNAME.to_owned(),
            password: PASSWORD.to_owned(),
        }
    }

    /// The same LRS with another credential.
    pub fn as_user(&self, username: &str, password: &str) -> LrsClient {
        LrsClient {
            username: username.to_owned(),
            password: password.to_owned(),
            ..self.clone()
        }
    }

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
            .basic_auth(&self.username, Some(&self.password))
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
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.username, self.password))
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
            .basic_auth(&self.username, Some(&self.password))
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

    /// POSTs statements with `X-Learnstream-Write-Mode: mode`; like [`Self::post_statements`].
    pub async fn post_statements_with_mode(
        &self,
        body: &Value,
        mode: &str,
    ) -> anyhow::Result<Vec<Uuid>> {
        let (status, answer) = self
            .post_raw_with(&body.to_string(), &[("X-Learnstream-Write-Mode", mode)])
            .await?;
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

    /// Stops the broker as `scripts/services.sh down` does (SIGTERM).
    pub fn stop(&self) -> anyhow::Result<()> {
        services(&["kafka-down", &self.name])
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

/// A free TCP port on loopback (free when asked; the caller binds it soon after).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A ClickHouse server of the test's own, started through `scripts/services.sh`, so the test may
/// stop and start it without disturbing other tests.
#[derive(Debug)]
pub struct OwnClickHouse {
    pub name: String,
    pub http_port: u16,
    tcp_port: u16,
}

impl OwnClickHouse {
    pub fn start() -> anyhow::Result<OwnClickHouse> {
        let server = OwnClickHouse {
            name: unique_name("clickhouse"),
            http_port: free_port()?,
            tcp_port: free_port()?,
        };
        server.up()?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn up(&self) -> anyhow::Result<()> {
        services(&[
            "clickhouse-up",
            &self.name,
            &self.http_port.to_string(),
            &self.tcp_port.to_string(),
        ])
    }

    /// Stops the server (SIGTERM, then SIGKILL if it does not stop within 30 s).
    pub fn stop(&self) -> anyhow::Result<()> {
        services(&["clickhouse-down", &self.name])
    }
}

impl Drop for OwnClickHouse {
    fn drop(&mut self) {
        let _ = services(&["clickhouse-purge", &self.name]);
    }
}

/// `learnstream` as a process of its own (the test package's copy of the command line), with
/// the test's configuration passed as `LEARNSTREAM_*` environment variables.
#[derive(Debug)]
pub struct Process {
    child: std::process::Child,
    pub http_address: String,
}

impl Process {
    /// Starts `learnstream <command>` (`sink`, `intake` or `serve`) and waits until it answers
    /// `/health`. `binary` is the test's `env!("CARGO_BIN_EXE_learnstream-under-test")`, which
    /// cargo sets for test targets only.
    pub async fn start(binary: &str, config: &Config, command: &str) -> anyhow::Result<Process> {
        let http_address = format!("127.0.0.1:{}", free_port()?);
        let variables = [
            ("LEARNSTREAM_HTTP__LISTEN", http_address.clone()),
            ("LEARNSTREAM_KAFKA__BROKERS", config.kafka.brokers.clone()),
            (
                "LEARNSTREAM_KAFKA__STATEMENTS_TOPIC",
                config.kafka.statements_topic.clone(),
            ),
            (
                "LEARNSTREAM_KAFKA__DEAD_LETTER_TOPIC",
                config.kafka.dead_letter_topic.clone(),
            ),
            (
                "LEARNSTREAM_KAFKA__MASTERY_TOPIC",
                config.kafka.mastery_topic.clone(),
            ),
            (
                "LEARNSTREAM_KAFKA__PARTITIONS",
                config.kafka.partitions.to_string(),
            ),
            (
                "LEARNSTREAM_KAFKA__MAX_MESSAGE_BYTES",
                config.kafka.max_message_bytes.to_string(),
            ),
            (
                "LEARNSTREAM_HTTP__MAX_BODY_BYTES",
                config.http.max_body_bytes.to_string(),
            ),
            ("LEARNSTREAM_CLICKHOUSE__URL", config.clickhouse.url.clone()),
            (
                "LEARNSTREAM_CLICKHOUSE__DATABASE",
                config.clickhouse.database.clone(),
            ),
            ("LEARNSTREAM_SINK__GROUP_ID", config.sink.group_id.clone()),
            (
                "LEARNSTREAM_ANALYTICS__MASTERY_GROUP_ID",
                config.analytics.mastery_group_id.clone(),
            ),
            (
                "LEARNSTREAM_SINK__MAX_BATCH_WAIT_MS",
                config.sink.max_batch_wait_ms.to_string(),
            ),
            (
                "LEARNSTREAM_SINK__LINGER_MS",
                config.sink.linger_ms.to_string(),
            ),
            (
                "LEARNSTREAM_SINK__MAX_RETRY_BACKOFF_MS",
                config.sink.max_retry_backoff_ms.to_string(),
            ),
        ];
        let instance = config
            .sink
            .instance_id
            .iter()
            .map(|id| ("LEARNSTREAM_SINK__INSTANCE_ID", id.clone()));
        let credentials: Vec<String> = config
            .auth
            .credentials
            .iter()
            .map(|credential| {
                format!(
                    "{{username={:?}, password={:?}, tenant={:?}}}",
                    credential.username,
                    credential.password.expose_secret(),
                    credential.tenant
                )
            })
            .collect();
        let http = [
            (
                "LEARNSTREAM_HTTP__HEADER_READ_TIMEOUT_MS",
                config.http.header_read_timeout_ms.to_string(),
            ),
            (
                "LEARNSTREAM_HTTP__BODY_READ_TIMEOUT_MS",
                config.http.body_read_timeout_ms.to_string(),
            ),
            (
                "LEARNSTREAM_AUTH__CREDENTIALS",
                format!("[{}]", credentials.join(", ")),
            ),
        ];
        let child = Command::new(binary)
            .arg(command)
            .envs(variables)
            .envs(instance)
            .envs(http)
            .env(
                "RUST_LOG",
                std::env::var("LEARNSTREAM_TEST_LOG")
                    .unwrap_or_else(|_| "info,librdkafka=warn".to_owned()),
            )
            .stdin(std::process::Stdio::null())
            .spawn()
            .context("starting learnstream-under-test")?;
        let process = Process {
            child,
            http_address,
        };
        let health = format!("http://{}/health", process.http_address);
        wait_for("the learnstream process to answer /health", || async {
            Ok(reqwest::get(&health)
                .await
                .ok()
                .filter(|response| response.status().is_success())
                .map(drop))
        })
        .await?;
        Ok(process)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: the process gets no chance to store or commit anything.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for the process to exit and returns how it exited.
    pub async fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed: {status}");
        wait_for("the learnstream process to exit", || {
            let exited = self.child.try_wait();
            async move { Ok(exited?) }
        })
        .await
    }

    /// The process's `learnstream_sink_statements_stored_total`.
    pub async fn statements_stored(&self) -> anyhow::Result<u64> {
        Ok(self
            .metric("learnstream_sink_statements_stored_total")
            .await? as u64)
    }

    /// The value of an unlabelled line of the process's `/metrics` (0 while it is absent).
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let metrics = reqwest::get(format!("http://{}/metrics", self.http_address))
            .await?
            .text()
            .await?;
        let prefix = format!("{name} ");
        Ok(metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(|value| value.trim().parse::<f64>())
            .transpose()?
            .unwrap_or(0.0))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A vendor that keeps posting batches of statements (throughput mode answers once Kafka has
/// them) until stopped, and remembers which statements the LRS acknowledged. A POST that fails
/// (the broker is down, say) is not acknowledged and is tried again with new statements.
#[derive(Debug)]
pub struct Writer {
    stop: CancellationToken,
    acknowledged: std::sync::Arc<std::sync::Mutex<Vec<Uuid>>>,
    failures: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    /// Posts `per_request` statements per request, pausing `pause` after each.
    pub fn start(client: LrsClient, per_request: u32, pause: Duration) -> Writer {
        let stop = CancellationToken::new();
        let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = tokio::spawn({
            let stop = stop.clone();
            let acknowledged = acknowledged.clone();
            let failures = failures.clone();
            async move {
                let mut learner = 0;
                while !stop.is_cancelled() {
                    let batch = Value::Array(
                        (0..per_request)
                            .map(|offset| statement(learner + offset, "answered"))
                            .collect(),
                    );
                    learner += per_request;
                    match client.post_statements_with_mode(&batch, "throughput").await {
                        Ok(ids) => acknowledged.lock().expect("not poisoned").extend(ids),
                        Err(error) => {
                            eprintln!("writer: a POST failed: {error:#}");
                            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        });
        Writer {
            stop,
            acknowledged,
            failures,
            task,
        }
    }

    pub fn acknowledged(&self) -> usize {
        self.acknowledged.lock().expect("not poisoned").len()
    }

    pub fn failures(&self) -> usize {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until at least `count` statements are acknowledged in all.
    pub async fn wait_acknowledged(&self, count: usize) -> anyhow::Result<()> {
        wait_for(&format!("{count} acknowledged statements"), || async {
            Ok((self.acknowledged() >= count).then_some(()))
        })
        .await
    }

    /// Waits until `count` more statements than now are acknowledged.
    pub async fn wait_for_more(&self, count: usize) -> anyhow::Result<()> {
        self.wait_acknowledged(self.acknowledged() + count).await
    }

    /// Stops posting and returns every acknowledged statement id.
    pub async fn finish(self) -> anyhow::Result<Vec<Uuid>> {
        self.stop.cancel();
        self.task.await?;
        Ok(std::mem::take(
            &mut *self.acknowledged.lock().expect("not poisoned"),
        ))
    }
}

/// Waits until every acknowledged statement is stored, then checks what a district sees: every
/// one of them in the LRS's answers (all pages of `GET /xapi/statements`), none twice. Returns
/// (rows in the table, distinct statements): rows above distinct are repeats that the
/// ReplacingMergeTree and the queries absorb.
pub async fn assert_each_visible_once(
    config: &Config,
    client: &LrsClient,
    acknowledged: &[Uuid],
) -> anyhow::Result<(u64, u64)> {
    let expected: std::collections::HashSet<Uuid> = acknowledged.iter().copied().collect();
    anyhow::ensure!(
        expected.len() == acknowledged.len(),
        "the LRS answered an id twice"
    );
    let clickhouse = config.clickhouse.client();
    wait_for("every acknowledged statement to be stored", || async {
        let stored: Vec<String> = clickhouse
            .query("SELECT DISTINCT toString(statement_id) FROM statements WHERE tenant = ?")
            .bind(TENANT)
            .fetch_all()
            .await?;
        let stored: std::collections::HashSet<Uuid> = stored
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect();
        Ok(expected.is_subset(&stored).then_some(()))
    })
    .await?;

    // The answers are bounded by X-Experience-API-Consistent-Through, which passes a write once
    // the intake learns that the sink committed it: wait for that too.
    wait_for(
        "every acknowledged statement in the LRS's answers",
        || async {
            let seen = every_statement_id(client).await?;
            Ok(expected.is_subset(&seen).then_some(()))
        },
    )
    .await?;
    let (rows, distinct): (u64, u64) = clickhouse
        .query("SELECT count(), uniqExact(statement_id) FROM statements WHERE tenant = ?")
        .bind(TENANT)
        .fetch_one()
        .await?;
    Ok((rows, distinct))
}

/// The ids of every statement in all pages of `GET /xapi/statements`; fails if one appears twice.
async fn every_statement_id(client: &LrsClient) -> anyhow::Result<std::collections::HashSet<Uuid>> {
    let mut seen = std::collections::HashSet::new();
    let mut next = Some("/xapi/statements?limit=500".to_owned());
    while let Some(path) = next.take() {
        let response = client.get_path(&path).await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "GET {path}: {}",
            response.status()
        );
        let page: Value = response.json().await?;
        for statement in page["statements"]
            .as_array()
            .context("a statements array")?
        {
            let id: Uuid = statement["id"].as_str().context("an id")?.parse()?;
            anyhow::ensure!(
                seen.insert(id),
                "statement {id} appears twice in the LRS's answers"
            );
        }
        next = page["more"]
            .as_str()
            .filter(|more| !more.is_empty())
            .map(str::to_owned);
    }
    Ok(seen)
}
