//! What the project's load generators share: realistic statements, history to preload, and
//! pages of `GET /xapi/statements` to measure.

pub mod pages;

use serde_json::{Value, json};

/// A statement of about 1 KB like those assessment content sends: a learner from a roster of
/// 5,000, one of 200 activities aligned to one of 40 competencies, a score, a duration.
pub fn statement(index: usize, run_tag: &str) -> Value {
    let learner = index * 7919 % 5_000;
    let activity = index * 104_729 % 200;
    let competency = activity % 40;
    let raw = (index * 31 + learner) % 21;
    // One registration per learner and competency: an attempt at a unit, as cmi5 players send.
    let registration = registration(learner, competency);
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
            "registration": registration,
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

/// The agent of learner `learner` (0..5,000) in [`statement`].
pub fn learner_agent(learner: usize) -> Value {
    json!({
        "objectType": "Agent",
        "account": {"homePage": "https://sis.district.example.org", "name": format!("s-{learner:05}")}
    })
}

/// The registration of `learner`'s statements on `competency` (0..40) in [`statement`].
pub fn registration(learner: usize, competency: usize) -> String {
    uuid::Uuid::from_u128(
        0x1ea5_0000_0000_4000_8000_0000_0000_0000 | (learner * 40 + competency) as u128,
    )
    .hyphenated()
    .to_string()
}

/// Fills a tenant with history: generated statements (as [`statement`], each with an id of its
/// own, as clients set them) normalized as the intake normalizes them and stored as the sink
/// stores them, straight into ClickHouse, so that a benchmark can measure a request against
/// millions of stored statements without first sending them all through the LRS. Their
/// `stored` times are spread over the `spacing` before now, oldest first.
pub mod preload {
    use std::time::{Duration, Instant};

    use anyhow::Context as _;
    use learnstream_store::{ClickHouseConfig, StatementRow, StatementStore};
    use learnstream_xapi::{Authority, NormalizeContext, XapiVersion, normalize_body};
    use serde_json::{Value, json};
    use time::OffsetDateTime;

    /// Statements built and inserted at a time.
    const CHUNK: u64 = 50_000;

    /// Stores statements in `tenant` until it holds `target`; returns how many it added. The
    /// authority is the one a credential named `username` at `public_url` gets.
    pub async fn fill(
        config: &ClickHouseConfig,
        tenant: &str,
        username: &str,
        public_url: &str,
        target: u64,
        spacing: Duration,
    ) -> anyhow::Result<u64> {
        learnstream_store::migrate(config).await?;
        let store = StatementStore::new(config);
        let stored = stored_count(config, tenant).await?;
        let missing = target.saturating_sub(stored);
        let authority = Authority::of_credential(username, public_url);
        let run_tag = uuid::Uuid::new_v4().simple().to_string();
        let now = OffsetDateTime::now_utc();
        let started = Instant::now();
        let mut pending: Option<tokio::task::JoinHandle<anyhow::Result<()>>> = None;
        let mut offset = 0;
        while offset < missing {
            let count = CHUNK.min(missing - offset);
            let (authority, tenant_owned, run_tag) =
                (authority.clone(), tenant.to_owned(), run_tag.clone());
            let first = stored + offset;
            let rows = tokio::task::spawn_blocking(move || {
                rows(
                    &tenant_owned,
                    &authority,
                    &run_tag,
                    first,
                    count,
                    target,
                    now,
                    spacing,
                )
            })
            .await??;
            // Build the next chunk while this one is inserted.
            if let Some(previous) = pending.take() {
                previous.await??;
            }
            let store = store.clone();
            pending = Some(tokio::spawn(async move {
                store.insert(&rows).await.context("inserting history")
            }));
            offset += count;
            if offset % 1_000_000 == 0 {
                eprintln!(
                    "preload: {} of {target} stored after {:.0} s",
                    stored + offset,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        if let Some(previous) = pending {
            previous.await??;
        }
        Ok(missing)
    }

    #[allow(clippy::too_many_arguments, reason = "one chunk of one fill")]
    fn rows(
        tenant: &str,
        authority: &Authority,
        run_tag: &str,
        first: u64,
        count: u64,
        target: u64,
        now: OffsetDateTime,
        spacing: Duration,
    ) -> anyhow::Result<Vec<StatementRow>> {
        const PER_BODY: u64 = 500;
        let mut rows = Vec::with_capacity(count as usize);
        let mut index = first;
        while index < first + count {
            let in_body = PER_BODY.min(first + count - index);
            // All statements of one body share a `stored` time, as those of one request do.
            let age = spacing * u32::try_from(target - index).unwrap_or(u32::MAX);
            let context = NormalizeContext {
                version: XapiVersion::V1_0,
                stored: now - age,
                authority,
            };
            let body: Vec<Value> = (index..index + in_body)
                .map(|position| {
                    let mut statement = super::statement(position as usize, run_tag);
                    statement["id"] = json!(uuid::Uuid::new_v4());
                    statement
                })
                .collect();
            let body = serde_json::to_vec(&body)?;
            for normalized in normalize_body(&body, &context)? {
                rows.push(learnstream_sink::statement_row(tenant, &normalized.json)?);
            }
            index += in_body;
        }
        Ok(rows)
    }

    /// The statements stored in `tenant` (rows of the statements table: a statement delivered
    /// twice counts twice until the replacing merge).
    pub async fn stored_count(config: &ClickHouseConfig, tenant: &str) -> anyhow::Result<u64> {
        config
            .client()
            .query("SELECT count() FROM statements WHERE tenant = ?")
            .bind(tenant)
            .fetch_one::<u64>()
            .await
            .context("counting stored statements")
    }
}
