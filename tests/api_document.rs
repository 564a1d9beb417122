//! The served OpenAPI document: valid OpenAPI 3, every operation with an id and a tag, and every
//! route the process serves in it. The document is generated from the handlers (`utoipa`): each
//! route is registered with its description, so this test guards the two ways they could part
//! (a route added without `routes!`, or a description whose path or method serves nothing).

use std::collections::BTreeSet;

use learnstream_tests::{
    PASSWORD, Process, USERNAME, drop_database, isolated_config, kafka_brokers,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The real binary, as an operator runs it: with its metrics.
const LEARNSTREAM: &str = env!("CARGO_BIN_EXE_learnstream-under-test");

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_openapi_3_and_describes_every_route() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = Process::start(LEARNSTREAM, &config, "serve").await?;
    let base_url = format!("http://{}", app.http_address);
    // A browser tool on another origin reads the document, as it calls the API.
    let response = reqwest::Client::new()
        .get(format!("{base_url}/district/openapi.json"))
        .header("origin", "https://tools.example.org")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let text = response.text().await?;

    // A valid OpenAPI 3 document, as a typed reader of the specification reads it.
    let spec = oas3::from_json(&text)?;
    assert!(spec.openapi.starts_with("3."), "{}", spec.openapi);
    let document: Value = serde_json::from_str(&text)?;

    let mut operations = Vec::new();
    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                operation["tags"]
                    .as_array()
                    .is_some_and(|tags| !tags.is_empty()),
                "{method} {path} has no tag"
            );
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    let documented: BTreeSet<(&str, &str)> = operations
        .iter()
        .map(|(method, path)| (method.as_str(), path.as_str()))
        .collect();
    for expected in [
        ("GET", "/xapi/statements"),
        ("POST", "/xapi/statements"),
        ("PUT", "/xapi/statements"),
        ("GET", "/xapi/about"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/district/openapi.json"),
        ("GET", "/district/classes/{class_id}/mastery"),
        ("PUT", "/district/roster/users"),
    ] {
        assert!(
            documented.contains(&expected),
            "{expected:?} is not described"
        );
    }

    // Every described operation is served: the router answers it with something other than
    // its fallback's 404 or a 405.
    let client = reqwest::Client::new();
    for (method, path) in &operations {
        let url = format!(
            "{base_url}{}",
            path.replace("{learner}", "mbox%3Amailto%3Aann%40example.org")
                .replace("{class_id}", "no-such-class")
        );
        let response = client
            .request(Method::from_bytes(method.as_bytes())?, &url)
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !body.contains("no such resource"),
            "{method} {path} is described but not served: {status} {body}"
        );
    }

    // The document's requests count by route, as every other route's do.
    let metrics = reqwest::get(format!("{base_url}/metrics"))
        .await?
        .text()
        .await?;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("learnstream_http_requests_total{")
                && line.contains("route=\"/district/openapi.json\"")),
        "{metrics}"
    );

    // Required fields are marked: a client generated from the document may rely on them.
    let required = |schema: &str| -> BTreeSet<String> {
        document["components"]["schemas"][schema]["required"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|field| field.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for field in ["competency_id", "method", "value", "mastered", "trend"] {
        assert!(required("CompetencyMastery").contains(field), "{field}");
    }
    assert!(required("Error").contains("error"));
    assert_eq!(
        document["components"]["schemas"]["Direction"]["enum"],
        serde_json::json!(["rising", "falling", "steady", "new"])
    );

    app.terminate().await?;
    drop_database(&config).await
}

/// Every route is registered through `routes!` (and so described); a plain `.route(` would
/// serve a path the document does not name. The one exception serves the document itself.
#[test]
fn no_route_is_registered_without_its_description() {
    let sources = [
        (
            "crates/intake/src/lib.rs",
            include_str!("../crates/intake/src/lib.rs"),
        ),
        (
            "crates/http/src/ops.rs",
            include_str!("../crates/http/src/ops.rs"),
        ),
        (
            "crates/analytics/src/api.rs",
            include_str!("../crates/analytics/src/api.rs"),
        ),
        (
            "crates/cli/src/lib.rs",
            include_str!("../crates/cli/src/lib.rs"),
        ),
    ];
    for (file, source) in sources {
        for (index, line) in source.lines().enumerate() {
            if line.contains(".route(") && !line.contains(".route(DOCUMENT_PATH") {
                panic!("{file}:{}: a route without routes!: {line}", index + 1);
            }
        }
    }
}
