//! What it measures: the intake's per-statement CPU work on typical ~1 KB statements (assessment
//! results with actor account, verb, activity definition, score, duration and context
//! activities): parse + validate + normalize + serialize (`normalize_body`), the parts alone,
//! and, to choose parser and serializer on figures, serde_json against sonic-rs.
//!
//! The bodies are on one line with a space after each separator, as client libraries write them
//! (`JSON.stringify`, Jackson, Python's `json.dumps`): those are stored as sent, behind the
//! assigned properties. One more line measures pretty-printed bodies, which are serialized again.
//!
//! The statements vary as a district's traffic does: 1,000 distinct bodies from 200 learners, 500
//! items, 30 classes and 120 competencies, with their own registrations, scores and times, so
//! the validity memos only help where real traffic repeats itself (verbs, activity types, home
//! pages, classes, competencies). The allocator is mimalloc, as in the `learnstream` binary.
//!
//! Run: `cargo bench -p learnstream-xapi --bench normalize` (figures in bench/RESULTS.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use learnstream_xapi::model::{Account, Actor, Statement};
use learnstream_xapi::{Authority, NormalizeContext, XapiVersion, extract_columns, normalize_body};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DISTINCT_STATEMENTS: usize = 1_000;

/// The `index`th statement of the sample traffic, on one line as a client library writes it.
fn statement(index: usize) -> String {
    pretty_statement(index)
        .lines()
        .map(str::trim_start)
        .collect()
}

/// The `index`th statement of the sample traffic, pretty-printed.
fn pretty_statement(index: usize) -> String {
    let learner = index * 7 % 200;
    let item = index * 13 % 500;
    let class = learner % 30;
    let competency = item % 120;
    let raw = index % 21;
    let registration = format!("ec531277-b57b-4c15-8d91-{:012x}", index * 7919);
    let (minute, second, milli) = (index / 60 % 60, index % 60, index * 37 % 1000);
    format!(
        r#"{{
  "actor": {{"objectType": "Agent", "name": "Learner {learner}", "account": {{"homePage": "https://sis.district.example.org", "name": "s-{learner:05}"}}}},
  "verb": {{"id": "http://adlnet.gov/expapi/verbs/{verb}", "display": {{"en-US": "{verb}"}}}},
  "object": {{"objectType": "Activity", "id": "https://content.example.org/algebra-1/item-{item}",
    "definition": {{"name": {{"en-US": "Algebra 1 item {item}"}}, "description": {{"en-US": "A practice item on solving and graphing linear equations."}},
      "type": "http://adlnet.gov/expapi/activities/assessment"}}}},
  "result": {{"score": {{"raw": {raw}, "min": 0, "max": 20, "scaled": {scaled}}}, "success": {success}, "completion": true, "duration": "PT{duration}M30S"}},
  "context": {{"registration": "{registration}", "platform": "Example Math Platform", "language": "en-US",
    "contextActivities": {{"grouping": [{{"objectType": "Activity", "id": "https://sis.district.example.org/classes/alg1-p{class}"}}],
      "category": [{{"objectType": "Activity", "id": "https://case.example.org/uri/6b3c1a2e-6f7d-4c1e-9a51-{competency:012}"}}]}},
    "extensions": {{"https://example.org/xapi/extensions/attempt": {attempt}}}}},
  "timestamp": "2026-11-23T09:{minute:02}:{second:02}.{milli:03}Z"
}}"#,
        verb = if raw >= 14 { "passed" } else { "failed" },
        scaled = raw as f64 / 20.0,
        success = raw >= 14,
        duration = index % 9 + 1,
        attempt = index % 3 + 1,
    )
}

fn authority() -> Authority {
    Authority::new(Actor {
        object_type: Some("Agent".into()),
        name: Some("vendor".into()),
        mbox: None,
        mbox_sha1sum: None,
        openid: None,
        account: Some(Account {
            home_page: "https://lrs.example.org".into(),
            name: "vendor".into(),
        }),
        member: None,
    })
}

fn benches(criterion: &mut Criterion) {
    let authority = authority();
    let context = NormalizeContext {
        version: XapiVersion::V1_0,
        stored: time::OffsetDateTime::now_utc(),
        authority: &authority,
    };
    let bodies: Vec<String> = (0..DISTINCT_STATEMENTS).map(statement).collect();
    let pretty_bodies: Vec<String> = (0..DISTINCT_STATEMENTS).map(pretty_statement).collect();
    let mean_length = bodies.iter().map(String::len).sum::<usize>() / bodies.len();
    assert!(
        (1_000..1_300).contains(&mean_length),
        "the sample statements are about 1 KB, not {mean_length} bytes"
    );
    let normalized: Vec<String> = bodies
        .iter()
        .map(|body| {
            normalize_body(body.as_bytes(), &context).expect("the sample is valid")[0]
                .json
                .clone()
        })
        .collect();
    let parsed: Vec<Statement<'_>> = bodies
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();

    // Each iteration takes the next statement of the sample, round and round.
    let mut group = criterion.benchmark_group("statement");
    group.throughput(Throughput::Elements(1));
    let mut bench = |name: &str, routine: &mut dyn FnMut(usize)| {
        let mut next = 0;
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                next = (next + 1) % DISTINCT_STATEMENTS;
                routine(next)
            })
        });
    };
    bench(
        "normalize_body (parse, validate, assign, write)",
        &mut |index| {
            std::hint::black_box(normalize_body(bodies[index].as_bytes(), &context).unwrap());
        },
    );
    bench(
        "normalize_body, pretty-printed input (serialized again)",
        &mut |index| {
            std::hint::black_box(
                normalize_body(pretty_bodies[index].as_bytes(), &context).unwrap(),
            );
        },
    );
    bench("parse_body (typed parse)", &mut |index| {
        std::hint::black_box(learnstream_xapi::parse_body(bodies[index].as_bytes()).unwrap());
    });
    bench("validate_statement", &mut |index| {
        learnstream_xapi::validate_statement(&parsed[index], XapiVersion::V1_0).unwrap();
    });
    bench("serialize: serde_json", &mut |index| {
        std::hint::black_box(serde_json::to_string(&parsed[index]).unwrap());
    });
    bench("serialize: sonic-rs", &mut |index| {
        std::hint::black_box(sonic_rs::to_string(&parsed[index]).unwrap());
    });
    bench("typed parse: serde_json", &mut |index| {
        std::hint::black_box(serde_json::from_str::<Statement<'_>>(&bodies[index]).unwrap());
    });
    bench("typed parse: sonic-rs", &mut |index| {
        std::hint::black_box(sonic_rs::from_str::<Statement<'_>>(&bodies[index]).unwrap());
    });
    bench("typed parse: simd-json", &mut |index| {
        let mut copy = bodies[index].clone().into_bytes();
        std::hint::black_box(simd_json::serde::from_slice::<Statement<'_>>(&mut copy).unwrap());
    });
    bench("extract_columns (sink)", &mut |index| {
        std::hint::black_box(extract_columns(&normalized[index]).unwrap());
    });
    group.finish();

    let batch: Vec<u8> = format!("[{}]", bodies[..100].join(",")).into_bytes();
    let mut group = criterion.benchmark_group("batch of 100");
    group.throughput(Throughput::Elements(100));
    group.bench_function("normalize_body", |bencher| {
        bencher.iter(|| normalize_body(std::hint::black_box(&batch), &context).unwrap())
    });
    group.finish();
}

criterion_group!(normalize, benches);
criterion_main!(normalize);
