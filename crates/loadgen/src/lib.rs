//! What the project's load generators share: realistic statements.

use serde_json::{Value, json};

/// A statement of about 1 KB like those assessment content sends: a learner from a roster of
/// 5,000, one of 200 activities aligned to one of 40 competencies, a score, a duration.
pub fn statement(index: usize, run_tag: &str) -> Value {
    let learner = index * 7919 % 5_000;
    let activity = index * 104_729 % 200;
    let competency = activity % 40;
    let raw = (index * 31 + learner) % 21;
    let passed = raw >= 14;
    json!({
        "actor": {
            "objectType": "Agent",
            "name": format!("Learner {learner}"),
            "account": {"homePage": "https://sis.district.example.org", "name": format!("s-{learner:05}")}
        },
        "verb": {
            "id": if passed { "http://adlnet.gov/expapi/verbs/passed" } else { "http://adlnet.gov/expapi/verbs/failed" },
            "display": {"en-US": if passed { "passed" } else { "failed" }}
        },
        "object": {
            "objectType": "Activity",
            "id": format!("https://content.example.org/algebra-1/item-{activity}"),
            "definition": {
                "name": {"en-US": format!("Algebra 1 item {activity}")},
                "description": {"en-US": "A practice item on solving and graphing linear equations."},
                "type": "http://adlnet.gov/expapi/activities/assessment"
            }
        },
        "result": {
            "score": {"raw": raw, "min": 0, "max": 20, "scaled": raw as f64 / 20.0},
            "success": passed,
            "completion": true,
            "duration": format!("PT{}M{}S", index % 17, index % 60)
        },
        "context": {
            "platform": "learnstream-loadgen",
            "language": "en-US",
            "contextActivities": {
                "grouping": [{"objectType": "Activity", "id": format!("https://sis.district.example.org/classes/alg1-p{}", learner % 30)}],
                "category": [{"objectType": "Activity", "id": format!("https://case.example.org/uri/competency-{competency}")}]
            },
            "extensions": {"https://learnstream.example.org/xapi/extensions/loadgen-run": run_tag}
        },
        "timestamp": format!("2026-11-{:02}T{:02}:{:02}:{:02}Z", 1 + index % 28, index % 24, index % 60, (index / 60) % 60)
    })
}
