//! Pages of statements read from the real ClickHouse over a history shaped to catch a page that
//! walks its windows wrong: a quiet month a year ago, a dense burst a minute ago, and a day of
//! silence before `until`; and a few statements after three quiet hours. The history is written
//! as the sink writes it, so the index views (statement_keys, statement_index_bounds,
//! statement_hours, statement_pages) are what fill the page's tables.

use learnstream_store::{PagePosition, PageQuery, StatementRow, StatementStore, migrate};
use learnstream_tests::{drop_database, isolated_config, kafka_brokers, statement};
use learnstream_xapi::{Authority, NormalizeContext, XapiVersion, normalize_body};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const TENANT: &str = "pages";

/// One stored statement as a page must return it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    stored_us: u64,
    id: String,
    verb: String,
    agents: Vec<String>,
}

/// Rows for `count` statements stored together at `stored`, as one request's are.
fn body_at(
    stored: OffsetDateTime,
    count: u32,
    verbs: &[&str],
) -> anyhow::Result<Vec<StatementRow>> {
    let authority = Authority::of_credential("pages", "http://127.0.0.1/");
    let context = NormalizeContext {
        version: XapiVersion::V1_0,
        stored,
        authority: &authority,
    };
    let body: Vec<Value> = (0..count)
        .map(|index| {
            let mut statement = statement(index % 7, verbs[index as usize % verbs.len()]);
            statement["id"] = json!(Uuid::new_v4());
            statement
        })
        .collect();
    let mut rows = Vec::new();
    for normalized in normalize_body(&serde_json::to_vec(&body)?, &context)? {
        rows.push(learnstream_sink::statement_row(TENANT, &normalized.json)?);
    }
    Ok(rows)
}

fn expected(rows: &[StatementRow]) -> Vec<Expected> {
    rows.iter()
        .map(|row| Expected {
            stored_us: row.stored_us,
            id: row.statement_id.hyphenated().to_string(),
            verb: row.verb_id.clone(),
            agents: row.match_agents.clone(),
        })
        .collect()
}

fn micros(time: OffsetDateTime) -> u64 {
    u64::try_from(time.unix_timestamp_nanos() / 1_000).expect("after 1970")
}

/// Every page of `query`, following each page's position as a `more` link does, each next page
/// also read from a position without the far end the first page found (`far_us` 0, as a link
/// of an earlier release), which must find the same statements after reading the bounds again.
async fn page_through(
    store: &StatementStore,
    mut query: PageQuery,
) -> anyhow::Result<(Vec<(u64, String)>, usize)> {
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.page(&query).await?;
        if let Some(after) = &query.after {
            assert!(after.far_us > 0, "a position carries the far end");
            let mut without = query.clone();
            without.after = Some(PagePosition {
                far_us: 0,
                ..after.clone()
            });
            assert_eq!(store.page(&without).await?.rows, page.rows);
        }
        let rows = &page.rows;
        assert!(
            rows.len() as u64 <= query.limit,
            "a page holds at most its limit"
        );
        pages += 1;
        let Some(end) = page.end() else { break };
        query.after = Some(end);
        let full = rows.len() as u64 == query.limit;
        seen.extend(rows.iter().map(|row| (row.stored_us, row.id.clone())));
        if !full {
            break;
        }
        assert!(pages < 1_000, "paging does not end");
    }
    Ok((seen, pages))
}

/// What a page through `statements` in this order must return.
fn in_page_order(statements: &[Expected], ascending: bool) -> Vec<(u64, String)> {
    let mut order: Vec<(u64, String)> = statements
        .iter()
        .map(|statement| (statement.stored_us, statement.id.clone()))
        .collect();
    order.sort_by(|a, b| {
        let by_stored = if ascending {
            a.0.cmp(&b.0)
        } else {
            b.0.cmp(&a.0)
        };
        by_stored.then_with(|| a.1.cmp(&b.1))
    });
    order
}

#[tokio::test]
async fn pages_walk_quiet_years_bursts_and_silences_and_return_every_statement_once()
-> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    migrate(&config.clickhouse).await?;
    let store = StatementStore::new(&config.clickhouse);

    let now = OffsetDateTime::now_utc();
    let mut history = Vec::new();
    // A quiet month a year ago: 10 statements a day.
    for day in 0..30 {
        let rows = body_at(now - Duration::days(365 - day), 10, &["experienced"])?;
        history.extend(expected(&rows));
        store.insert(&rows).await?;
    }
    // A burst a minute ago: 1,500 statements in 15 requests a millisecond apart.
    let burst_start = now - Duration::minutes(1);
    for request in 0..15 {
        let rows = body_at(
            burst_start + Duration::milliseconds(request),
            100,
            &["answered", "experienced", "attempted"],
        )?;
        history.extend(expected(&rows));
        store.insert(&rows).await?;
    }
    let everything = PageQuery {
        tenant: TENANT.to_owned(),
        // A day of silence after the burst.
        until_us: micros(now + Duration::days(1)),
        limit: 100,
        ..PageQuery::default()
    };

    for ascending in [false, true] {
        let query = PageQuery {
            ascending,
            ..everything.clone()
        };
        let (seen, pages) = page_through(&store, query).await?;
        assert_eq!(seen.len(), history.len(), "ascending {ascending}");
        assert_eq!(
            seen,
            in_page_order(&history, ascending),
            "ascending {ascending}"
        );
        assert_eq!(
            pages, 19,
            "ascending {ascending}: 18 full pages and an empty one"
        );
    }

    // One filter: a third of the burst (34 of each request of 100).
    let answered = "http://adlnet.gov/expapi/verbs/answered";
    let (seen, _) = page_through(
        &store,
        PageQuery {
            verb: answered.to_owned(),
            ..everything.clone()
        },
    )
    .await?;
    let matching: Vec<Expected> = history
        .iter()
        .filter(|statement| statement.verb == answered)
        .cloned()
        .collect();
    assert_eq!(matching.len(), 15 * 34);
    assert_eq!(seen, in_page_order(&matching, false));

    // since and until within the burst: requests 3 to 9 (since is exclusive).
    let within = PageQuery {
        since_us: micros(burst_start + Duration::milliseconds(2)),
        until_us: micros(burst_start + Duration::milliseconds(9)),
        ascending: true,
        ..everything.clone()
    };
    let (seen, _) = page_through(&store, within.clone()).await?;
    let between: Vec<Expected> = history
        .iter()
        .filter(|statement| {
            statement.stored_us > within.since_us && statement.stored_us <= within.until_us
        })
        .cloned()
        .collect();
    assert_eq!(between.len(), 700);
    assert_eq!(seen, in_page_order(&between, true));

    // A filter no statement matches, alone or beside one that does: an empty page.
    for verb in ["http://adlnet.gov/expapi/verbs/never", answered] {
        let page = store
            .page(&PageQuery {
                verb: verb.to_owned(),
                registration: Uuid::new_v4().to_string(),
                ..everything.clone()
            })
            .await?;
        assert!(page.rows.is_empty(), "{verb} with an unknown registration");
    }
    // Nor does another tenant see any of it.
    let elsewhere = store
        .page(&PageQuery {
            tenant: "another".to_owned(),
            ..everything.clone()
        })
        .await?;
    assert!(elsewhere.rows.is_empty());

    drop_database(&config).await
}

#[tokio::test]
async fn a_first_page_after_a_quiet_spell_crosses_it_to_the_history_before_and_misses_nothing()
-> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    migrate(&config.clickhouse).await?;
    let store = StatementStore::new(&config.clickhouse);

    // A dense hour three hours ago (1,500 statements in 15 requests a millisecond apart), three
    // hours of silence, then 11 statements: the first page's windows find the 11, ask the
    // keys' hours (statement_hours) where the rest are, and cross the silence to them.
    let now = OffsetDateTime::now_utc();
    let dense = now - Duration::hours(3);
    let mut history = Vec::new();
    for request in 0..15 {
        let rows = body_at(
            dense + Duration::milliseconds(request),
            100,
            &["answered", "experienced"],
        )?;
        history.extend(expected(&rows));
        store.insert(&rows).await?;
    }
    for second in 0..11 {
        let rows = body_at(now - Duration::seconds(11 - second), 1, &["answered"])?;
        history.extend(expected(&rows));
        store.insert(&rows).await?;
    }
    let query = PageQuery {
        tenant: TENANT.to_owned(),
        until_us: micros(now + Duration::minutes(1)),
        limit: 100,
        ..PageQuery::default()
    };
    let first = store.page(&query).await?;
    let newest: Vec<(u64, String)> = in_page_order(&history, false)
        .into_iter()
        .take(100)
        .collect();
    let got: Vec<(u64, String)> = first
        .rows
        .iter()
        .map(|row| (row.stored_us, row.id.clone()))
        .collect();
    assert_eq!(got, newest, "the 11 and the newest 89 before the silence");

    // Every statement once, both ways, unfiltered and by one filter; and a page whose keys
    // have statements on both sides of the silence but none in common after it.
    for ascending in [false, true] {
        let (seen, _) = page_through(
            &store,
            PageQuery {
                ascending,
                ..query.clone()
            },
        )
        .await?;
        assert_eq!(
            seen,
            in_page_order(&history, ascending),
            "ascending {ascending}"
        );
    }
    for verb in ["answered", "experienced"] {
        let verb = format!("http://adlnet.gov/expapi/verbs/{verb}");
        let (seen, _) = page_through(
            &store,
            PageQuery {
                verb: verb.clone(),
                ..query.clone()
            },
        )
        .await?;
        let matching: Vec<Expected> = history
            .iter()
            .filter(|statement| statement.verb == verb)
            .cloned()
            .collect();
        assert!(!matching.is_empty());
        assert_eq!(seen, in_page_order(&matching, false), "{verb}");
    }
    // Learner 0 posted the 11 (answered) and has statements of both verbs before the silence.
    let learner = "mbox:mailto:learner0@school.example.org";
    let (seen, _) = page_through(
        &store,
        PageQuery {
            verb: "http://adlnet.gov/expapi/verbs/experienced".to_owned(),
            agent: learner.to_owned(),
            ..query.clone()
        },
    )
    .await?;
    let matching: Vec<Expected> = history
        .iter()
        .filter(|statement| {
            statement.verb.ends_with("/experienced")
                && statement.agents.iter().any(|agent| agent == learner)
        })
        .cloned()
        .collect();
    assert_eq!(
        matching.len(),
        15 * 7,
        "{learner}: experienced, 7 of each request"
    );
    assert_eq!(
        seen,
        in_page_order(&matching, false),
        "{learner}: experienced"
    );
    drop_database(&config).await
}
