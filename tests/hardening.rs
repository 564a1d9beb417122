//! What a hostile or careless client sends cannot stall storage, hold the server's memory or
//! destroy data (issue 13), against the real broker and ClickHouse:
//! - sets of ids far above what one SQL text can hold (30,000 client ids and as many voids, 10,000
//!   in one request, 20,000 across four concurrent ones), and another tenant's statement stored
//!   within 2 s after; a request above what one Kafka message carries is refused with 413;
//! - a voiding statement stored before its target;
//! - slow, idle and unauthenticated connections;
//! - malformed CSV imports, and the smaller rough edges of the HTTP API.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use learnstream_cli::Roles;
use learnstream_http::{CredentialConfig, WriteMode};
use learnstream_tests::{
    App, LrsClient, PASSWORD, Process, TENANT, USERNAME, drop_database, isolated_config,
    kafka_brokers, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use uuid::Uuid;

const LEARNSTREAM: &str = env!("CARGO_BIN_EXE_learnstream-under-test");
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const OTHER_USER: &str = "other-vendor";
const OTHER_PASSWORD: &str = "other-secret";

/// A compact statement with a client-set id.
fn with_id(id: Uuid, learner: usize) -> Value {
    json!({
        "id": id,
        "actor": {"mbox": format!("mailto:l{learner}@school.example.org")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://content.example.org/unit/1"},
    })
}

fn voiding(target: Uuid) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "actor": {"mbox": "mailto:teacher@school.example.org"},
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": target},
    })
}

/// POSTs statements and fails unless the LRS answers 200 with one id each.
async fn post_all(
    http: &reqwest::Client,
    base_url: &str,
    statements: &[Value],
    mode: &str,
) -> anyhow::Result<()> {
    let response = http
        .post(format!("{base_url}/xapi/statements"))
        .basic_auth(USERNAME, Some(PASSWORD))
        .header("X-Experience-API-Version", "1.0.3")
        .header("X-Learnstream-Write-Mode", mode)
        .json(statements)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    ensure!(
        status == StatusCode::OK,
        "POST of {} statements answered {status}: {body}",
        statements.len()
    );
    ensure!(body.as_array().map(Vec::len) == Some(statements.len()));
    Ok(())
}

/// The same POST from four clients at once, a quarter each.
async fn post_concurrently(
    http: &reqwest::Client,
    base_url: &str,
    statements: &[Value],
    mode: &str,
) -> anyhow::Result<()> {
    let quarters = statements.chunks(statements.len().div_ceil(4));
    futures::future::try_join_all(quarters.map(|quarter| post_all(http, base_url, quarter, mode)))
        .await?;
    Ok(())
}

/// GET of a district API path with the test's credentials: the status and the JSON answer.
async fn district_get(base_url: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
    let response = reqwest::Client::new()
        .get(format!("{base_url}{path}"))
        .basic_auth(USERNAME, Some(PASSWORD))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn voided_rows(config: &learnstream_cli::Config) -> anyhow::Result<u64> {
    Ok(config
        .clickhouse
        .client()
        .query("SELECT uniqExact(statement_id) FROM statements WHERE tenant = ? AND voided = 1")
        .bind(TENANT)
        .fetch_one::<u64>()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tens_of_thousands_of_ids_or_voids_do_not_stall_storage() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    config.auth.credentials.push(CredentialConfig {
        username: OTHER_USER.to_owned(),
        password: OTHER_PASSWORD.to_owned().into(),
        tenant: "another-district".to_owned(),
        write_mode: WriteMode::ReadYourWrites,
    });
    let app = Process::start(LEARNSTREAM, &config, "serve").await?;
    let http = reqwest::Client::new();
    let base = format!("http://{}", app.http_address);

    // 10,000 statements that carry their ids in one read-your-writes request (the most the
    // development broker carries in one message: see `isolated_config`): every id is checked
    // against what is stored, and the sink's batch targets as many.
    let single: Vec<Uuid> = (0..10_000).map(|_| Uuid::new_v4()).collect();
    let statements: Vec<Value> = single
        .iter()
        .enumerate()
        .map(|(learner, id)| with_id(*id, learner))
        .collect();
    post_all(&http, &base, &statements, "read_your_writes").await?;

    // The same 10,000 again with 20,000 new ones, from four clients at once: a repeat with the
    // same content is accepted and stored once.
    let concurrent: Vec<Uuid> = (0..20_000).map(|_| Uuid::new_v4()).collect();
    let mut statements: Vec<Value> = concurrent
        .iter()
        .enumerate()
        .map(|(learner, id)| with_id(*id, learner))
        .collect();
    statements.extend(
        single
            .iter()
            .enumerate()
            .map(|(learner, id)| with_id(*id, learner)),
    );
    post_concurrently(&http, &base, &statements, "read_your_writes").await?;

    // Void the first 10,000 in one throughput request, the 20,000 others from four clients at
    // once: far more targets in a request and in a sink batch than one SQL text could hold.
    let phase = Instant::now();
    let voids: Vec<Value> = single.iter().copied().map(voiding).collect();
    post_all(&http, &base, &voids, "throughput").await?;
    let voids: Vec<Value> = concurrent.iter().copied().map(voiding).collect();
    post_concurrently(&http, &base, &voids, "throughput").await?;
    eprintln!("voids accepted in {} ms", phase.elapsed().as_millis());

    // What one message cannot carry is refused with a 413 that names the limit.
    let too_many: Vec<Value> = (0..12_000).map(|_| voiding(Uuid::new_v4())).collect();
    let refused = http
        .post(format!("{base}/xapi/statements"))
        .basic_auth(USERNAME, Some(PASSWORD))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&too_many)
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let answer: Value = refused.json().await?;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("kafka.max_message_bytes"), "{answer}");

    // Every void takes effect.
    wait_for("all 30,000 targets to be voided", || async {
        Ok((voided_rows(&config).await? == 30_000).then_some(()))
    })
    .await?;
    // And storage goes on for everyone: another tenant's statement, read-your-writes, is
    // answered (so readable) within 2 s, and reads back.
    let started = Instant::now();
    let response = http
        .post(format!("{base}/xapi/statements"))
        .basic_auth(OTHER_USER, Some(OTHER_PASSWORD))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&with_id(Uuid::new_v4(), 1))
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::OK,
        "the other tenant's POST answered {}",
        response.status()
    );
    let id: Vec<Uuid> = response.json().await?;
    let read = http
        .get(format!("{base}/xapi/statements"))
        .query(&[("statementId", id[0].to_string())])
        .basic_auth(OTHER_USER, Some(OTHER_PASSWORD))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await?;
    assert_eq!(read.status(), StatusCode::OK);
    let readable_after = started.elapsed();
    eprintln!("another tenant's statement readable {readable_after:?} after its POST");
    ensure!(
        readable_after < Duration::from_secs(2),
        "another tenant's statement took {readable_after:?} to become readable"
    );

    let client = LrsClient::new(&base);
    for id in [single[0], single[9_999], concurrent[0], concurrent[19_999]] {
        let (status, _) = client.get_statement(id).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id} is voided");
    }

    assert!(app.terminate().await?.success());
    drop_database(&config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_stored_before_its_target_voids_it_in_statements_and_mastery() -> anyhow::Result<()>
{
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let http = reqwest::Client::new();
    let quiz = "https://content.example.org/fractions/quiz-1";
    let response = http
        .put(format!("{}/district/alignments", app.base_url))
        .basic_auth(USERNAME, Some(PASSWORD))
        .header("Content-Type", "text/csv")
        .body(format!("activity_id,competency_id\n{quiz},fractions\n"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);

    let scored = |id: Uuid, minute: u32, scaled: f64| {
        json!({
            "id": id,
            "actor": {"mbox": "mailto:ann@school.example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
            "object": {"id": quiz},
            "result": {"score": {"scaled": scaled}},
            "timestamp": format!("2026-11-20T09:{minute:02}:00Z"),
        })
    };
    let (kept, late) = (Uuid::new_v4(), Uuid::new_v4());
    // The void arrives first, its target (a perfect score) after it, in another request.
    client.post_statements(&voiding(late)).await?;
    client
        .post_statements(&json!([scored(kept, 0, 0.5), scored(late, 10, 1.0)]))
        .await?;

    // Read-your-writes: once answered, the target is stored and voided.
    let (status, _) = client.get_statement(late).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "the late target is voided");
    let voided = client
        .get(&[("voidedStatementId", &late.to_string())])
        .await?;
    assert_eq!(voided.status(), StatusCode::OK);
    let (status, _) = client.get_statement(kept).await?;
    assert_eq!(status, StatusCode::OK);

    let (status, mastery) = district_get(
        &app.base_url,
        "/district/learners/mbox%3Amailto%3Aann%40school.example.org/mastery",
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{mastery}");
    let fractions = mastery["competencies"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|entry| entry["competency_id"] == "fractions")
        })
        .with_context(|| format!("fractions in {mastery}"))?;
    assert_eq!(fractions["evidence_count"], 1, "{fractions}");
    assert_eq!(fractions["value"], 0.5, "{fractions}");

    app.stop().await?;
    drop_database(&config).await
}

/// Reads from a raw connection until the server closes it (or resets it); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_idle_connections_are_cut_off_while_others_are_served() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    config.http.header_read_timeout_ms = 1_000;
    config.http.body_read_timeout_ms = 2_000;
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let deadline = Duration::from_secs(20);

    // 1,000 connections that send nothing.
    let mut idle = Vec::new();
    for _ in 0..1_000 {
        let mut stream = TcpStream::connect(&address).await?;
        idle.push(tokio::spawn(async move {
            tokio::time::timeout(deadline, read_until_closed(&mut stream)).await
        }));
    }
    // 200 that trickle their headers, and 20 whose body trickles after valid credentials.
    let mut slow = Vec::new();
    for index in 0..220 {
        let mut stream = TcpStream::connect(&address).await?;
        let head = if index < 200 {
            "GET /xapi/about HTTP/1.1\r\nHost: lrs\r\nX-Slow: ".to_owned()
        } else {
            let credentials =
                base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
            format!(
                "POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nAuthorization: Basic {credentials}\r\nX-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
            )
        };
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            if stream.write_all(head.as_bytes()).await.is_err() {
                return (started.elapsed(), Vec::new());
            }
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async {
                while writer.write_all(b"a").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            };
            let mut received = Vec::new();
            let read = async {
                let mut buffer = [0_u8; 4096];
                loop {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => received.extend_from_slice(&buffer[..read]),
                    }
                }
            };
            let _ = tokio::time::timeout(deadline, async {
                tokio::select! {
                    () = read => {}
                    () = async { trickle.await; std::future::pending::<()>().await } => {}
                }
            })
            .await;
            (started.elapsed(), received)
        }));
    }

    // Meanwhile another client is served.
    let about = reqwest::get(format!("{}/xapi/about", app.base_url)).await?;
    assert_eq!(about.status(), StatusCode::OK);
    let client = app.client();
    client
        .post_statements(&learnstream_tests::statement(1, "experienced"))
        .await?;

    for connection in idle {
        connection
            .await?
            .context("an idle connection was still open after 20 s")?;
    }
    for (index, connection) in slow.into_iter().enumerate() {
        let (open_for, received) = connection.await?;
        ensure!(
            open_for < deadline,
            "slow connection {index} was still open after {open_for:?}"
        );
        if index >= 200 {
            let answer = String::from_utf8_lossy(&received);
            ensure!(
                answer.starts_with("HTTP/1.1 408"),
                "a trickled body gets 408, got {answer:?}"
            );
        }
    }
    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_above_the_cap_are_closed_on_arrival() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    config.http.max_connections = 20;
    config.http.header_read_timeout_ms = 1_000;
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    // Twenty keep-alive connections, each answered once: the server has accepted them all and
    // holds them open, idle. One more is then closed at once.
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(&address).await?;
        stream
            .write_all(b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n\r\n")
            .await?;
        let mut answer = [0_u8; 12];
        stream.read_exact(&mut answer).await?;
        assert_eq!(&answer, b"HTTP/1.1 200");
        held.push(stream);
    }
    let mut extra = TcpStream::connect(&address).await?;
    let closed = tokio::time::timeout(Duration::from_millis(900), read_until_closed(&mut extra))
        .await
        .context("the connection above the cap was not closed before the others timed out")?;
    assert!(closed.is_empty());
    // Once the idle ones are cut off, clients are served again.
    let about = wait_for("a connection to be served again", || async {
        Ok(reqwest::get(format!("{}/xapi/about", app.base_url))
            .await
            .ok()
            .filter(|response| response.status() == StatusCode::OK))
    })
    .await?;
    assert_eq!(about.status(), StatusCode::OK);
    drop(held);
    app.stop().await?;
    drop_database(&config).await
}

fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .context("VmRSS in /proc/PID/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()?;
    Ok(kilobytes * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_bodies_are_refused_before_they_are_read() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let process = Process::start(
        env!("CARGO_BIN_EXE_learnstream-under-test"),
        &config,
        "serve",
    )
    .await?;
    let before = resident_bytes(process.pid())?;
    // 100 connections announce 1 MB each, send 100 bytes of it, and keep the connection open.
    let mut connections = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(&process.http_address).await?;
        stream
            .write_all(
                format!(
                    "POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nX-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{}",
                    "[".repeat(100)
                )
                .as_bytes(),
            )
            .await?;
        connections.push(stream);
    }
    for stream in &mut connections {
        let mut answer = [0_u8; 12];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .context("no answer before the body")??;
        assert_eq!(&answer, b"HTTP/1.1 401", "credentials are checked first");
    }
    let after = resident_bytes(process.pid())?;
    let grown = after.saturating_sub(before);
    eprintln!("resident memory {before} -> {after} bytes");
    ensure!(
        grown < 20 * 1024 * 1024,
        "100 unauthenticated bodies raised the process by {grown} bytes"
    );
    drop(connections);
    process.terminate().await?;
    drop_database(&config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_or_oversized_csv_replaces_nothing() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    config.http.max_import_bytes = 4 * 1024;
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>| {
        http.put(format!("{}/district/roster/classes", app.base_url))
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let classes = || async {
        let listed: Value = http
            .get(format!("{}/district/classes", app.base_url))
            .basic_auth(USERNAME, Some(PASSWORD))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(listed["classes"].as_array().map_or(0, Vec::len))
    };
    let response = put(b"sourcedId,title\nc1,Math 7\nc2,Math 8\nc3,Reading\n".to_vec()).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(classes().await?, 3);

    let cases: [(&[u8], StatusCode, &str); 4] = [
        (
            b"sourcedId,title\nc1,Math 7\nc2,\"Math 8\nc3,Reading\n",
            StatusCode::BAD_REQUEST,
            "classes.csv: line 3: a quoted field opens here and never closes",
        ),
        (
            b"sourcedId,title\nc1,Math 7,extra\n",
            StatusCode::BAD_REQUEST,
            "classes.csv: line 2: ",
        ),
        (
            b"sourcedId,title\nc1,Math \xe9\n",
            StatusCode::BAD_REQUEST,
            "classes.csv: line 2: byte 9 is not UTF-8",
        ),
        (
            &[b'a'; 5 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body: larger than the limit of 4096 bytes",
        ),
    ];
    for (body, status, message) in cases {
        let response = put(body.to_vec()).await?;
        assert_eq!(response.status(), status, "{message}");
        let answer: Value = response.json().await?;
        let text = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            text.starts_with(message),
            "{text:?} should start with {message:?}"
        );
        assert_eq!(classes().await?, 3, "nothing was replaced");
    }
    app.stop().await?;
    drop_database(&config).await
}

/// A `more` link with its limit changed by the client.
fn forged_more(more: &str, limit: u64) -> anyhow::Result<String> {
    let token = more
        .split("more=")
        .nth(1)
        .context("a more link has a token")?;
    let mut decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token)?)?;
    decoded["page"]["limit"] = json!(limit);
    Ok(format!(
        "/xapi/statements?more={}",
        URL_SAFE_NO_PAD.encode(decoded.to_string())
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_api_has_the_same_cors_and_http_metrics_as_the_lrs_and_process_metrics()
-> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = Process::start(LEARNSTREAM, &config, "serve").await?;
    let base = format!("http://{}", app.http_address);
    let http = reqwest::Client::new();

    // A dashboard on another origin asks before it calls: the preflight is answered without
    // credentials, and the answer itself carries the origin.
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{base}/district/classes"))
        .header("origin", "https://dashboard.example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let answer = http
        .get(format!("{base}/district/classes"))
        .header("origin", "https://dashboard.example.org")
        .basic_auth(USERNAME, Some(PASSWORD))
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");

    // Its requests count by route, as the LRS's do.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let counted = |route: &str| {
        metrics.lines().any(|line| {
            line.starts_with("learnstream_http_requests_total{")
                && line.contains(&format!("route=\"{route}\""))
        })
    };
    assert!(counted("/district/classes"), "{metrics}");
    assert!(counted("/health"), "{metrics}");
    // The process's own metrics are there too.
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("process_resident_memory_bytes ")),
        "{metrics}"
    );
    // Latencies are histograms with buckets, which aggregate across processes.
    assert!(
        metrics.lines().any(|line| {
            line.starts_with("learnstream_http_request_duration_seconds_bucket{")
                && line.contains("route=\"/district/classes\"")
                && line.contains("le=\"0.1\"")
        }),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smaller_rough_edges_answer_as_the_rest_of_the_api() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let http = reqwest::Client::new();
    let error_message = |answer: &Value| {
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    // A learner with no statements has an empty page, not a 503.
    let nobody = "/district/learners/mbox%3Amailto%3Anobody%40example.org";
    let (status, page) = district_get(&app.base_url, &format!("{nobody}/statements")).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["statements"], json!([]), "{page}");

    // A district query-string mistake is a JSON error naming the parameter.
    let (status, answer) = district_get(
        &app.base_url,
        &format!("{nobody}/mastery?sinse=2026-01-01T00:00:00Z"),
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&answer).contains("sinse"), "{answer}");

    // An unknown route is a JSON 404.
    let missing = http
        .get(format!("{}/xapi/no-such-resource", app.base_url))
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let answer: Value = missing.json().await?;
    assert_eq!(answer["error"]["code"], "not_found", "{answer}");

    // A PUT of `{}` is refused for what it lacks, not for a comma the LRS added.
    let (status, answer) = client
        .put_raw(&format!("statementId={}", Uuid::new_v4()), "{}")
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = error_message(&answer);
    assert!(!message.contains("comma"), "{message}");
    assert!(message.contains("actor"), "{message}");

    // An mbox with a NUL is not an mbox.
    let (status, answer) = client
        .post_raw(
            &json!({
                "actor": {"mbox": "mailto:a\u{0}b@example.org"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                "object": {"id": "https://content.example.org/unit/1"},
            })
            .to_string(),
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&answer).starts_with("actor.mbox:"),
        "{answer}"
    );

    // A `more` link whose limit the client raised above the page cap is refused.
    let statements: Vec<Value> = (0..3)
        .map(|learner| learnstream_tests::statement(learner, "experienced"))
        .collect();
    client.post_statements(&json!(statements)).await?;
    let first: Value = client.get(&[("limit", "1")]).await?.json().await?;
    let more = first["more"].as_str().context("a more link")?;
    let honest = client.get_path(more).await?;
    assert_eq!(honest.status(), StatusCode::OK);
    let forged = client.get_path(&forged_more(more, 100_000)?).await?;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);

    app.stop().await?;
    drop_database(&config).await
}
