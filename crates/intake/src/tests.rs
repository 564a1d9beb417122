//! Handler tests through `Router::oneshot`: every request here is answered before it reaches
//! Kafka or ClickHouse (the end-to-end tests in `tests/` cover those paths on real services).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use learnstream_http::{AuthConfig, CredentialConfig, Credentials, WriteMode};
use learnstream_kafka::{DurableProducer, KafkaConfig};
use learnstream_store::{ClickHouseConfig, StatementStore};
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt as _;

use super::*;

fn app() -> axum::Router {
    let kafka = KafkaConfig {
        // Nothing listens here; no test below may reach the broker.
        brokers: "127.0.0.1:1".to_owned(),
        ..KafkaConfig::default()
    };
    let auth = AuthConfig {
        credentials: vec![CredentialConfig {
            username: "vendor".to_owned(),
            password: SecretString::from("s3cret"),
            tenant: "district-7".to_owned(),
            write_mode: WriteMode::default(),
        }],
    };
    let store = StatementStore::new(&ClickHouseConfig {
        url: "http://127.0.0.1:1".to_owned(),
        ..ClickHouseConfig::default()
    });
    router(AppState::new(AppStateParts {
        coalescer: Coalescer::start(
            DurableProducer::new(&kafka).unwrap(),
            kafka.statements_topic.clone(),
            &CoalesceConfig::default(),
            kafka.max_message_bytes,
        ),
        progress: Progress::start(&kafka, "test-sink", &ConsistencyConfig::default()).unwrap(),
        store: store.clone(),
        store_gate: StoreGate::start(&HttpConfig::default(), store, KnownIds::disabled()),
        credentials: Credentials::from_config(&auth, "https://lrs.example.org").unwrap(),
        body_read_timeout: std::time::Duration::from_secs(5),
        max_body_bytes: 1024,
        cors_allowed_origins: vec!["https://content.vendor.example".to_owned()],
        metrics: None,
        readiness: None,
    }))
    .split_for_parts()
    .0
}

fn authorization() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("vendor:s3cret")
    )
}

/// A request with the headers a conformant client sends; each of `changes` replaces one of
/// them, or drops it when its value is empty.
fn xapi_request(method: Method, uri: &str, changes: &[(&str, &str)], body: &str) -> Request<Body> {
    let authorization = authorization();
    let mut headers = vec![
        ("authorization", authorization.as_str()),
        ("x-experience-api-version", "1.0.3"),
        ("content-type", "application/json"),
    ];
    for (name, value) in changes {
        headers.retain(|(existing, _)| existing != name);
        if !value.is_empty() {
            headers.push((name, value));
        }
    }
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

fn post(body: &str) -> Request<Body> {
    xapi_request(Method::POST, "/xapi/statements", &[], body)
}

async fn send(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn about_is_public_and_lists_versions() {
    let (status, headers, body) = send(xapi_request(
        Method::GET,
        "/xapi/about",
        &[("authorization", "")],
        "",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-experience-api-version"], "1.0.3");
    assert!(
        body["version"]
            .as_array()
            .unwrap()
            .contains(&Value::from("2.0.0"))
    );
}

#[tokio::test]
async fn statements_need_credentials() {
    let request = xapi_request(
        Method::POST,
        "/xapi/statements",
        &[("authorization", "")],
        "{}",
    );
    let (status, headers, body) = send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn the_version_header_is_required_and_checked() {
    let request = xapi_request(
        Method::POST,
        "/xapi/statements",
        &[("x-experience-api-version", "")],
        "{}",
    );
    let (status, _, body) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "X-Experience-API-Version: header is required"
    );

    let request = xapi_request(
        Method::POST,
        "/xapi/statements",
        &[("x-experience-api-version", "0.9")],
        "{}",
    );
    let (status, _, body) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).starts_with("X-Experience-API-Version: unsupported version \"0.9\""),
        "{body}"
    );
}

#[tokio::test]
async fn a_2_0_request_is_answered_in_2_0() {
    let request = xapi_request(
        Method::GET,
        "/xapi/statements?statementId=nope",
        &[("x-experience-api-version", "2.0.0")],
        "",
    );
    let (status, headers, body) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-experience-api-version"], "2.0.0");
    assert_eq!(
        message(&body),
        "statementId: must be a UUID in 8-4-4-4-12 hex form"
    );
}

/// Communication 2.1.3: the parameters a GET may combine, and how each is read. Every one of
/// these is refused before the store is asked, with the parameter named.
#[tokio::test]
async fn get_parameters_are_checked_and_named() {
    let id = "6fa459ea-ee8a-3ca4-894e-db77e160355e";
    let cases = [
        (
            format!("statementId={id}&agent=%7B%22mbox%22%3A%22mailto%3Aa%40example.org%22%7D"),
            "agent: cannot be combined with statementId, which asks for one statement",
        ),
        (
            format!("voidedStatementId={id}&limit=10"),
            "limit: cannot be combined with voidedStatementId, which asks for one statement",
        ),
        (
            format!("statementId={id}&voidedStatementId={id}"),
            "statementId, voidedStatementId: give one or the other",
        ),
        (
            "verb=http%3A%2F%2Fexample.org%2Fv&verb=http%3A%2F%2Fexample.org%2Fw".to_owned(),
            "verb: is given more than once",
        ),
        (
            "mood=happy".to_owned(),
            "mood: is not a parameter of the Statement Resource",
        ),
        (
            "limit=-1".to_owned(),
            "limit: must be a whole number 0 or above, got \"-1\"",
        ),
        (
            "ascending=yes".to_owned(),
            "ascending: must be true or false, got \"yes\"",
        ),
        (
            "format=full".to_owned(),
            "format: must be exact, ids or canonical, got \"full\"",
        ),
        ("verb=passed".to_owned(), "verb: must be an absolute IRI"),
        ("since=yesterday".to_owned(), "since: "),
        (
            "agent=mailto%3Aa%40example.org".to_owned(),
            "agent: must be an Agent or Group as JSON",
        ),
        (
            "more=not-a-token".to_owned(),
            "more: is not a more link this LRS gave out",
        ),
        (
            "more=e30&limit=1".to_owned(),
            "more: a more link carries the whole query; send it alone",
        ),
    ];
    for (query, expected) in cases {
        let request = xapi_request(Method::GET, &format!("/xapi/statements?{query}"), &[], "");
        let (status, headers, body) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            message(&body).starts_with(expected),
            "{query}: {}",
            message(&body)
        );
        assert!(
            headers.contains_key("x-experience-api-consistent-through"),
            "{query}: a refused GET still says how consistent the store is"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_clear_400() {
    let body = r#"{"actor": {"mbox": "mailto:a@example.org"}, "verb": "#;
    let (status, _, response) = send(post(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&response).starts_with("body is not valid JSON: EOF while parsing"),
        "{response}"
    );
}

#[tokio::test]
async fn an_invalid_statement_names_the_field() {
    let body = r#"[{"actor": {"mbox": "a@example.org"}, "verb": {"id": "http://example.org/v"}, "object": {"id": "http://example.org/o"}}]"#;
    let (status, _, response) = send(post(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&response).starts_with("[0].actor.mbox: must be a mailto IRI"),
        "{response}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let body = format!("[{}]", vec!["{}"; 600].join(","));
    let (status, _, response) = send(post(&body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        message(&response),
        "body: larger than the limit of 1024 bytes"
    );
}

#[tokio::test]
async fn other_content_types_are_refused() {
    let request = xapi_request(
        Method::POST,
        "/xapi/statements",
        &[("content-type", "text/plain")],
        "{}",
    );
    let (status, _, body) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Content-Type: must be application/json, got \"text/plain\""
    );
}

#[tokio::test]
async fn an_empty_array_is_accepted_without_touching_kafka() {
    let (status, _, body) = send(post("[]")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::Array(Vec::new()));
}

#[tokio::test]
async fn unknown_query_parameters_are_named() {
    let request = xapi_request(
        Method::GET,
        "/xapi/statements?statementId=6fa459ea-ee8a-3ca4-894e-db77e160355e&foo=1",
        &[("content-type", "")],
        "",
    );
    let (status, _, body) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("foo: "), "{body}");
}

#[tokio::test]
async fn health_answers_and_metrics_are_absent_without_a_recorder() {
    let response = app()
        .oneshot(xapi_request(
            Method::GET,
            "/health",
            &[("authorization", "")],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        &response.into_body().collect().await.unwrap().to_bytes()[..],
        b"ok"
    );
    let response = app()
        .oneshot(xapi_request(Method::GET, "/metrics", &[], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ready_says_why_not_until_the_check_passes() {
    let ready = Arc::new(AtomicBool::new(false));
    let check = Arc::clone(&ready);
    let router: axum::Router = crate::ops_router(
        None,
        Some(learnstream_http::Readiness::new(move || {
            (!check.load(Ordering::Relaxed)).then_some("the sink has not joined its group yet")
        })),
    )
    .split_for_parts()
    .0;
    let request = || Request::get("/ready").body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        body["error"]["message"],
        "the sink has not joined its group yet"
    );
    ready.store(true, Ordering::Relaxed);
    let response = router.oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let (status, _, body) = send(xapi_request(Method::GET, "/xapi/nothing-here", &[], "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(
        body["error"]["message"],
        "/xapi/nothing-here: no such resource"
    );
}

#[tokio::test]
async fn credentials_are_checked_before_an_announced_body_is_read() {
    // The body never comes: only the headers can have been looked at.
    let (sender, body) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let request = Request::post("/xapi/statements")
        .header("x-experience-api-version", "1.0.3")
        .header("content-type", "application/json")
        .header("content-length", "100000")
        .body(Body::from_stream(body))
        .unwrap();
    let (status, _, answer) = send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    drop(sender);
    let too_large = Request::post("/xapi/statements")
        .header("authorization", authorization())
        .header("x-experience-api-version", "1.0.3")
        .header("content-type", "application/json")
        .header("content-length", "100000")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(too_large).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "the announced length is enough"
    );
    assert_eq!(headers["connection"], "close");
}

/// A browser's preflight for a cross-origin POST of statements, from an allowed origin and
/// from another one.
#[tokio::test]
async fn cors_lets_allowed_origins_call_the_lrs() {
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/xapi/statements")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, x-experience-api-version",
            )
            .body(Body::empty())
            .unwrap()
    };
    let response = app()
        .oneshot(preflight("https://content.vendor.example"))
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://content.vendor.example"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("x-experience-api-version"), "{allowed}");
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PUT")
    );

    let response = app()
        .oneshot(preflight("https://elsewhere.example"))
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let request = xapi_request(
        Method::GET,
        "/xapi/statements?limit=nope",
        &[("origin", "https://content.vendor.example")],
        "",
    );
    let (_, headers, _) = send(request).await;
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(
        exposed.contains("x-experience-api-consistent-through"),
        "{exposed}"
    );
}
