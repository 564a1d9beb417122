//! Mastery and engagement end to end: statements posted to the LRS, through Kafka and the sink
//! into ClickHouse, show up as mastery and engagement through the district API, per learner and
//! per class of an imported roster, and as events on the mastery topic.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use learnstream_cli::Roles;
use learnstream_tests::{
    App, PASSWORD, USERNAME, drop_database, isolated_config, kafka_brokers, unique_name, wait_for,
};
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ANN: &str = "mbox:mailto:ann@school.example.org";
const BO: &str = "account:https://sis.example.org|bo";
const QUIZ: &str = "https://content.example.org/fractions/quiz-1";
const DECIMALS_UNIT: &str = "https://content.example.org/units/decimals";
const SCORED: &str = "http://adlnet.gov/expapi/verbs/scored";
const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
/// Everything is asked as of a day after the statements, so the figures are fixed.
const UNTIL: &str = "2026-11-21T09:00:00Z";

const ALIGNMENTS: &str = "activity_id,competency_id,framework,weight\n\
    https://content.example.org/fractions/quiz-1,fractions,math-7,1\n\
    https://content.example.org/units/decimals,decimals,math-7,\n";
const USERS: &str = "sourcedId,status,role,username,givenName,familyName,email\n\
    u-ann,active,student,ann,Ann,Lee,ann@school.example.org\n\
    u-bo,active,student,bo,Bo,Diaz,\n\
    t-kim,active,teacher,kim,Kim,Park,kim@school.example.org\n";
const CLASSES: &str = "sourcedId,status,title\nc-7,active,Math 7\n";
const ENROLLMENTS: &str = "sourcedId,classSourcedId,userSourcedId,role\n\
    e1,c-7,u-ann,student\ne2,c-7,u-bo,student\ne3,c-7,t-kim,teacher\n";

fn ann_scored(id: &str, minute: u32, scaled: f64) -> Value {
    json!({
        "id": id,
        "actor": {"mbox": "mailto:ann@school.example.org"},
        "verb": {"id": SCORED},
        "object": {"id": QUIZ},
        "result": {"score": {"scaled": scaled}, "duration": "PT5M"},
        "timestamp": format!("2026-11-20T09:{minute:02}:00Z"),
    })
}

/// Ann's fractions quiz: 0.5, 0.9, 1.0 ten minutes apart, posted newest first; a passed
/// decimals question (aligned through its category); Bo's reading quiz, aligned through the
/// competency extension, ten days earlier.
fn statements() -> Value {
    json!([
        ann_scored("00000000-0000-4000-8000-000000000003", 20, 1.0),
        ann_scored("00000000-0000-4000-8000-000000000001", 0, 0.5),
        ann_scored("00000000-0000-4000-8000-000000000002", 10, 0.9),
        {
            "id": "00000000-0000-4000-8000-000000000004",
            "actor": {"mbox": "mailto:ann@school.example.org"},
            "verb": {"id": PASSED},
            "object": {"id": "https://content.example.org/decimals/q-1"},
            "context": {"contextActivities": {"category": [{"id": DECIMALS_UNIT}]}},
            "timestamp": "2026-11-20T09:25:00Z",
        },
        {
            "id": "00000000-0000-4000-8000-000000000005",
            "actor": {"account": {"homePage": "https://sis.example.org", "name": "bo"}},
            "verb": {"id": SCORED},
            "object": {"id": "https://content.example.org/reading/quiz-3", "definition": {
                "extensions": {"https://learnstream.dev/xapi/extensions/competency": "case:reading-1"}}},
            "result": {"score": {"raw": 3, "min": 0, "max": 10}},
            "timestamp": "2026-11-10T09:00:00Z",
        },
    ])
}

struct District {
    http: reqwest::Client,
    base_url: String,
}

impl District {
    async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .basic_auth(USERNAME, Some(PASSWORD))
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn get_ok(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(path).await?;
        if status != StatusCode::OK {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn put_csv(&self, path: &str, csv: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .put(format!("{}{path}", self.base_url))
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("Content-Type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }
}

fn learner_path(learner: &str, what: &str) -> String {
    let encoded: String = learner
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect();
    format!("/district/learners/{encoded}/{what}")
}

fn competency<'a>(mastery: &'a Value, id: &str) -> anyhow::Result<&'a Value> {
    mastery["competencies"]
        .as_array()
        .and_then(|all| all.iter().find(|entry| entry["competency_id"] == id))
        .with_context(|| format!("no competency {id} in {mastery}"))
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|actual| (actual - expected).abs() < 1e-9)
}

/// Reads the mastery topic from its start, keeping the newest event per (learner, competency).
struct MasteryEvents {
    consumer: StreamConsumer,
    newest: BTreeMap<(String, String), Value>,
    count: usize,
}

impl MasteryEvents {
    fn subscribe(brokers: &str, topic: &str) -> anyhow::Result<MasteryEvents> {
        let consumer: StreamConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", unique_name("mastery-reader"))
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "100")
            .create()?;
        consumer.subscribe(&[topic])?;
        Ok(MasteryEvents {
            consumer,
            newest: BTreeMap::new(),
            count: 0,
        })
    }

    /// Reads until `done` holds for the newest events, for at most a minute.
    async fn until(
        &mut self,
        what: &str,
        done: impl Fn(&BTreeMap<(String, String), Value>) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(&self.newest) {
            let message = tokio::time::timeout_at(deadline, self.consumer.recv())
                .await
                .with_context(|| {
                    format!("waiting for {what}; events so far: {:?}", self.newest)
                })??;
            let event: Value = serde_json::from_slice(message.payload().unwrap_or_default())?;
            assert_eq!(event["schema"], "learnstream.mastery-changed.v1");
            let key = std::str::from_utf8(message.key().unwrap_or_default())?;
            assert_eq!(
                key,
                format!(
                    "district-test\n{}",
                    event["learner"].as_str().unwrap_or_default()
                )
            );
            self.count += 1;
            self.newest.insert(
                (
                    event["learner"].as_str().unwrap_or_default().to_owned(),
                    event["competency_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                event,
            );
        }
        Ok(())
    }
}

fn event_value(
    events: &BTreeMap<(String, String), Value>,
    learner: &str,
    competency: &str,
) -> Value {
    events
        .get(&(learner.to_owned(), competency.to_owned()))
        .map_or(Value::Null, |event| event["value"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_statements_become_mastery_engagement_and_events() -> anyhow::Result<()> {
    let mut config = isolated_config(&kafka_brokers());
    config.analytics.roster_account_home_page = "https://sis.example.org".to_owned();
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let district = District {
        http: reqwest::Client::new(),
        base_url: app.base_url.clone(),
    };
    let mut events = MasteryEvents::subscribe(&config.kafka.brokers, &config.kafka.mastery_topic)?;

    // The district's imports.
    for (path, csv, count) in [
        ("/district/alignments", ALIGNMENTS, json!({"alignments": 2})),
        ("/district/roster/users", USERS, json!({"users": 3})),
        ("/district/roster/classes", CLASSES, json!({"classes": 1})),
        (
            "/district/roster/enrollments",
            ENROLLMENTS,
            json!({"enrollments": 3}),
        ),
    ] {
        assert_eq!(
            district.put_csv(path, csv).await?,
            (StatusCode::OK, count),
            "{path}"
        );
    }

    app.client().post_statements(&statements()).await?;

    // Ann's fractions by decaying average (w = 0.65) in timestamp order, not arrival order:
    // D1 = 0.5, D2 = 0.65 * 0.9 + 0.35 * 0.5 = 0.76, D3 = 0.65 * 1.0 + 0.35 * 0.76 = 0.916.
    let ann_mastery_path = format!("{}?until={UNTIL}", learner_path(ANN, "mastery"));
    let mastery = wait_for("Ann's three fractions scores", || async {
        let mastery = district.get_ok(&ann_mastery_path).await?;
        let complete = competency(&mastery, "fractions")
            .is_ok_and(|fractions| fractions["evidence_count"] == 3)
            && competency(&mastery, "decimals").is_ok();
        Ok(complete.then_some(mastery))
    })
    .await?;
    let fractions = competency(&mastery, "fractions")?;
    assert!(close(&fractions["value"], 0.916), "{fractions}");
    assert_eq!(fractions["method"], "decaying_average");
    assert_eq!(fractions["framework"], "math-7");
    assert_eq!(fractions["mastered"], true);
    assert_eq!(fractions["last_evidence_at"], "2026-11-20T09:20:00.000Z");
    assert_eq!(fractions["trend"]["direction"], "rising");
    assert!(
        close(&fractions["trend"]["change"], 0.916 - 0.76),
        "{fractions}"
    );
    let decimals = competency(&mastery, "decimals")?;
    assert!(
        close(&decimals["value"], 1.0),
        "a bare passed is 1: {decimals}"
    );
    assert_eq!(decimals["evidence_count"], 1);

    // The same figures reached the mastery topic.
    events
        .until("the final mastery events", |newest| {
            close(&event_value(newest, ANN, "fractions"), 0.916)
                && close(&event_value(newest, ANN, "decimals"), 1.0)
                && close(&event_value(newest, BO, "case:reading-1"), 0.3)
        })
        .await?;
    let event = &events.newest[&(ANN.to_owned(), "fractions".to_owned())];
    assert_eq!(event["mastered"], true);
    assert_eq!(event["evidence_count"], 3);
    assert_eq!(event["method"], "decaying_average");

    // Ann's engagement: one session from 9:00 to 9:25, whose three scored statements report
    // five minutes each.
    let engagement = district
        .get_ok(&format!(
            "{}?until={UNTIL}",
            learner_path(ANN, "engagement")
        ))
        .await?;
    assert_eq!(engagement["statements"], 4, "{engagement}");
    assert_eq!(engagement["sessions"], 1);
    assert_eq!(engagement["active_days"], 1);
    assert_eq!(engagement["time_on_task_seconds"], 900.0);
    assert_eq!(engagement["statements_by_verb"][SCORED], 3);
    assert_eq!(engagement["current_streak_days"], 1);
    assert_eq!(engagement["last_activity"], "2026-11-20T09:25:00.000Z");
    assert_eq!(engagement["activities_attempted"], 2);
    assert_eq!(engagement["activities_completed"], 1);
    assert_eq!(engagement["at_risk"], false);

    // The class: Ann has fractions mastered, Bo has not been assessed on it; Bo's reading is 0.3.
    let class_mastery = district
        .get_ok(&format!("/district/classes/c-7/mastery?until={UNTIL}"))
        .await?;
    let rollups = class_mastery["competencies"]
        .as_array()
        .context("rollups")?;
    let fractions_rollup = rollups
        .iter()
        .find(|rollup| rollup["competency_id"] == "fractions")
        .context("fractions rollup")?;
    assert_eq!(fractions_rollup["students"], 2, "{fractions_rollup}");
    assert_eq!(fractions_rollup["assessed"], 1);
    assert_eq!(fractions_rollup["mastered"], 1);
    assert_eq!(fractions_rollup["not_yet_assessed"], 1);
    assert_eq!(fractions_rollup["distribution"][4]["students"], 1);
    let reading = rollups
        .iter()
        .find(|rollup| rollup["competency_id"] == "case:reading-1")
        .context("reading rollup")?;
    assert!(close(&reading["mean_value"], 0.3), "{reading}");
    assert_eq!(
        reading["distribution"][1],
        json!({"range": "0.2-0.4", "students": 1})
    );
    assert_eq!(
        class_mastery["students"].as_array().map(Vec::len),
        Some(2),
        "teachers are not students"
    );

    let class_engagement = district
        .get_ok(&format!("/district/classes/c-7/engagement?until={UNTIL}"))
        .await?;
    assert_eq!(
        class_engagement["days"],
        json!([
            {"date": "2026-11-10", "active_students": 1, "statements": 1, "time_on_task_seconds": 0.0},
            {"date": "2026-11-20", "active_students": 1, "statements": 4, "time_on_task_seconds": 900.0},
        ])
    );

    // Bo last worked eleven days before the query's end.
    let at_risk = district
        .get_ok(&format!("/district/classes/c-7/at-risk?until={UNTIL}"))
        .await?;
    assert_eq!(
        at_risk["at_risk"],
        json!([{
            "user_id": "u-bo", "learner": BO, "given_name": "Bo", "family_name": "Diaz",
            "reasons": ["inactive for 11 days"], "last_activity": "2026-11-10T09:00:00.000Z",
        }])
    );
    // A range that ends before Bo's statement: no activity in it.
    let early = district
        .get_ok("/district/classes/c-7/at-risk?until=2026-11-01T00:00:00Z")
        .await?;
    assert_eq!(
        early["at_risk"].as_array().map(Vec::len),
        Some(2),
        "{early}"
    );

    // Ann's record, newest first, two at a time.
    let first = district
        .get_ok(&format!("{}?limit=2", learner_path(ANN, "statements")))
        .await?;
    let ids = |page: &Value| -> Vec<String> {
        page["statements"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        ids(&first),
        [
            "00000000-0000-4000-8000-000000000004",
            "00000000-0000-4000-8000-000000000003"
        ]
    );
    let cursor = first["more"].as_str().context("a second page")?;
    let second = district
        .get_ok(&format!(
            "{}?limit=2&cursor={cursor}",
            learner_path(ANN, "statements")
        ))
        .await?;
    assert_eq!(
        ids(&second),
        [
            "00000000-0000-4000-8000-000000000002",
            "00000000-0000-4000-8000-000000000001"
        ]
    );
    assert_eq!(second["more"], Value::Null);

    // The teacher voids Ann's 1.0: fractions falls back to 0.76, no longer mastered, on the API
    // and on the topic.
    app.client()
        .post_statements(&json!({
            "actor": {"mbox": "mailto:kim@school.example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": "00000000-0000-4000-8000-000000000003"},
        }))
        .await?;
    let after_void = wait_for("the voided score to stop counting", || async {
        let mastery = district.get_ok(&ann_mastery_path).await?;
        let voided = competency(&mastery, "fractions")
            .is_ok_and(|fractions| fractions["evidence_count"] == 2);
        Ok(voided.then_some(mastery))
    })
    .await?;
    let fractions = competency(&after_void, "fractions")?;
    assert!(close(&fractions["value"], 0.76), "{fractions}");
    assert_eq!(fractions["mastered"], false);
    events
        .until("the event of the voided score", |newest| {
            close(&event_value(newest, ANN, "fractions"), 0.76)
        })
        .await?;
    let event = &events.newest[&(ANN.to_owned(), "fractions".to_owned())];
    assert_eq!(event["mastered"], false);
    assert!(close(&event["previous"]["value"], 0.916), "{event}");
    let record = district.get_ok(&learner_path(ANN, "statements")).await?;
    assert_eq!(
        ids(&record).len(),
        3,
        "a voided statement leaves the record"
    );

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_the_field_named() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let district = District {
        http: reqwest::Client::new(),
        base_url: app.base_url.clone(),
    };
    let message = |body: &Value| {
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let (status, body) = district
        .put_csv(
            "/district/alignments",
            "activity_id,competency_id,weight\nhttps://e.org/q,c,-1\n",
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "alignments.csv: line 2: weight: must be a number above 0"
    );
    let (_, alignments) = district.get("/district/alignments").await?;
    assert_eq!(
        alignments,
        json!({"alignments": []}),
        "a refused file stores nothing"
    );

    let (status, body) = district
        .put_csv(
            "/district/roster/users",
            "sourcedId,role,username\nu1,student,ann\n",
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).starts_with("users.csv: line 2: email: is needed"),
        "{body}"
    );

    let response = district
        .http
        .put(format!("{}/district/alignments", app.base_url))
        .basic_auth(USERNAME, Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The media type is read as a media type: a longer name that begins with text/csv is not it.
    let response = district
        .http
        .put(format!("{}/district/alignments", app.base_url))
        .basic_auth(USERNAME, Some(PASSWORD))
        .header("Content-Type", "text/csvx")
        .body("activity_id,competency_id\n")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = district.get("/district/classes/nope/mastery").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).starts_with("class_id: no class"), "{body}");

    let (status, body) = district.get("/district/learners/ann/mastery").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).starts_with("learner: must be an actor identifier"),
        "{body}"
    );

    let (status, body) = district
        .get(&format!(
            "{}?since=yesterday",
            learner_path(ANN, "engagement")
        ))
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).starts_with("since: must be an RFC 3339 timestamp"),
        "{body}"
    );

    let (status, body) = district
        .get(&format!(
            "{}?cursor=nonsense",
            learner_path(ANN, "statements")
        ))
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("cursor:"), "{body}");

    let anonymous =
        reqwest::get(format!("{}{}", app.base_url, learner_path(ANN, "mastery"))).await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The OpenAPI document is served, without credentials, and lists the routes.
    let openapi: Value = reqwest::get(format!("{}/district/openapi.json", app.base_url))
        .await?
        .json()
        .await?;
    assert!(openapi["paths"]["/district/classes/{class_id}/mastery"].is_object());

    app.stop().await?;
    drop_database(&config).await
}

/// A school's worth of learners in one read (the follower asks for every learner a cycle
/// touched): more than ClickHouse takes in one query's text, so it is asked in parts.
#[tokio::test]
async fn thousands_of_learners_are_read_in_one_call() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    learnstream_store::migrate(&config.clickhouse).await?;
    let learners: Vec<String> = (0..4_000)
        .map(|index| format!("account:https://sis.district.example.org/students|student-{index:06}-of-a-large-district"))
        .collect();
    config
        .clickhouse
        .client()
        .query(
            "INSERT INTO learner_statements (tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id, object_type, object_id, voided)
             SELECT 'district-test', arrayJoin(?), 1, generateUUIDv4(), 1, 'v', 'Activity', 'https://example.org/a', 0",
        )
        .bind(&learners[3_990..])
        .execute()
        .await?;
    let store = learnstream_analytics::AnalyticsStore::new(&config.clickhouse);
    let read = store
        .learner_statements("district-test", &learners, i64::MIN, i64::MAX)
        .await?;
    assert_eq!(read.len(), 10);
    assert!(
        read.iter()
            .all(|statement| learners[3_990..].contains(&statement.actor_ifi))
    );
    drop_database(&config).await
}

/// `learnstream import`: the alignment table and a OneRoster directory, from files, as a
/// district's operator would load them; a roster with an error stores nothing.
#[tokio::test]
async fn the_command_line_imports_alignments_and_a_roster() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let directory = tempfile::tempdir()?;
    std::fs::write(directory.path().join("alignments.csv"), ALIGNMENTS)?;
    std::fs::write(directory.path().join("users.csv"), USERS)?;
    std::fs::write(directory.path().join("classes.csv"), CLASSES)?;
    std::fs::write(directory.path().join("enrollments.csv"), ENROLLMENTS)?;
    let import = |arguments: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_learnstream-under-test"))
            .arg("import")
            .args(arguments)
            .env("LEARNSTREAM_CLICKHOUSE__URL", &config.clickhouse.url)
            .env(
                "LEARNSTREAM_CLICKHOUSE__DATABASE",
                &config.clickhouse.database,
            )
            .env(
                "LEARNSTREAM_ANALYTICS__ROSTER_ACCOUNT_HOME_PAGE",
                "https://sis.example.org",
            )
            .output()
    };
    let alignments_file = directory.path().join("alignments.csv");
    let imported = import(&[
        "alignments",
        "--tenant",
        "district-test",
        alignments_file.to_str().context("a UTF-8 path")?,
    ])?;
    assert!(imported.status.success(), "{imported:?}");
    let roster = directory.path().to_str().context("a UTF-8 path")?;
    let imported = import(&["roster", "--tenant", "district-test", roster])?;
    assert!(imported.status.success(), "{imported:?}");

    let store = learnstream_analytics::AnalyticsStore::new(&config.clickhouse);
    let alignments = store.alignments("district-test").await?;
    assert_eq!(alignments.len(), 2);
    assert_eq!(alignments[0].competency_id, "fractions");
    let users = store.roster_users("district-test").await?;
    assert_eq!(users.len(), 3);
    let bo = users
        .iter()
        .find(|user| user.user_id == "u-bo")
        .context("u-bo")?;
    assert_eq!(
        bo.actor_ifi, BO,
        "no email: the account on the configured home page"
    );
    assert_eq!(store.class_students("district-test", "c-7").await?.len(), 2);

    // A broken enrollments file: the command fails, naming the line, and the roster stays.
    std::fs::write(
        directory.path().join("enrollments.csv"),
        "sourcedId,classSourcedId,userSourcedId,role\ne1,c-7,,student\n",
    )?;
    std::fs::write(directory.path().join("users.csv"), "sourcedId,role,email\n")?;
    let refused = import(&["roster", "--tenant", "district-test", roster])?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("enrollments.csv: line 2: userSourcedId: must not be empty"),
        "{stderr}"
    );
    assert_eq!(store.roster_users("district-test").await?.len(), 3);
    drop_database(&config).await
}
