//! What it measures: the intake's per-statement CPU work on a typical ~1 KB statement (an
//! assessment result with actor account, verb, activity definition, score, duration and context
//! activities): parse + validate + normalize + serialize (`normalize_body`), and, to choose a
//! parser on figures, the typed parse alone with serde_json and with sonic-rs.
//!
//! Run: `cargo bench -p learnstream-xapi --bench normalize` (figures in bench/RESULTS.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use learnstream_xapi::model::{Account, Actor, Statement};
use learnstream_xapi::{NormalizeContext, XapiVersion, extract_columns, normalize_body};

const STATEMENT: &str = r#"{
  "actor": {"objectType": "Agent", "name": "Learner 4211", "account": {"homePage": "https://sis.district.example.org", "name": "s-04211"}},
  "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
  "object": {"objectType": "Activity", "id": "https://content.example.org/algebra-1/item-117",
    "definition": {"name": {"en-US": "Algebra 1 item 117"}, "description": {"en-US": "A practice item on solving and graphing linear equations."},
      "type": "http://adlnet.gov/expapi/activities/assessment"}},
  "result": {"score": {"raw": 17, "min": 0, "max": 20, "scaled": 0.85}, "success": true, "completion": true, "duration": "PT4M30S"},
  "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "platform": "Example Math Platform", "language": "en-US",
    "contextActivities": {"grouping": [{"objectType": "Activity", "id": "https://sis.district.example.org/classes/alg1-p2"}],
      "category": [{"objectType": "Activity", "id": "https://case.example.org/uri/6b3c1a2e-6f7d-4c1e-9a51-3d2f0b8c7e11"}]},
    "extensions": {"https://example.org/xapi/extensions/attempt": 2}},
  "timestamp": "2026-11-23T09:12:44.120Z"
}"#;

fn authority() -> Actor {
    Actor {
        object_type: Some("Agent".to_owned()),
        name: Some("vendor".to_owned()),
        mbox: None,
        mbox_sha1sum: None,
        openid: None,
        account: Some(Account {
            home_page: "https://lrs.example.org".to_owned(),
            name: "vendor".to_owned(),
        }),
        member: None,
    }
}

fn benches(criterion: &mut Criterion) {
    let authority = authority();
    let context = NormalizeContext {
        version: XapiVersion::V1_0,
        stored: time::OffsetDateTime::now_utc(),
        authority: &authority,
    };
    let body = STATEMENT.as_bytes();
    let normalized = normalize_body(body, &context).expect("the sample is valid");

    let mut group = criterion.benchmark_group("statement");
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        "normalize_body (parse, validate, assign, serialize)",
        |bencher| bencher.iter(|| normalize_body(std::hint::black_box(body), &context).unwrap()),
    );
    group.bench_function("extract_columns (sink)", |bencher| {
        bencher.iter(|| extract_columns(std::hint::black_box(&normalized[0].json)).unwrap())
    });
    let parsed: Statement = serde_json::from_slice(body).unwrap();
    group.bench_function("validate_statement", |bencher| {
        bencher.iter(|| {
            learnstream_xapi::validate_statement(
                &learnstream_xapi::JsonPath::default(),
                std::hint::black_box(&parsed),
                XapiVersion::V1_0,
            )
            .unwrap()
        })
    });
    group.bench_function("serialize", |bencher| {
        bencher.iter(|| serde_json::to_string(std::hint::black_box(&parsed)).unwrap())
    });
    group.bench_function("parse_body (typed parse with paths)", |bencher| {
        bencher.iter(|| learnstream_xapi::parse_body(std::hint::black_box(body)).unwrap())
    });
    group.bench_function("typed parse: serde_json", |bencher| {
        bencher.iter(|| serde_json::from_slice::<Statement>(std::hint::black_box(body)).unwrap())
    });
    group.bench_function("typed parse: sonic-rs", |bencher| {
        bencher.iter(|| sonic_rs::from_slice::<Statement>(std::hint::black_box(body)).unwrap())
    });
    group.finish();

    let batch: Vec<u8> = format!("[{}]", vec![STATEMENT; 100].join(",")).into_bytes();
    let mut group = criterion.benchmark_group("batch of 100");
    group.throughput(Throughput::Elements(100));
    group.bench_function("normalize_body", |bencher| {
        bencher.iter(|| normalize_body(std::hint::black_box(&batch), &context).unwrap())
    });
    group.finish();
}

criterion_group!(normalize, benches);
criterion_main!(normalize);
