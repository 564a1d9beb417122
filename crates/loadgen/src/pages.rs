//! Pages of `GET /xapi/statements` as reporting tools and second LRSs ask for them: many
//! clients at once, unfiltered and with each filter, over the statements [`crate::statement`]
//! makes (and [`crate::preload`] stores); and one client paging through with `more` links,
//! checking that every statement comes once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{learner_agent, registration};

/// Which page a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Filter {
    Unfiltered,
    Agent,
    Verb,
    Activity,
    Registration,
    RelatedAgents,
    RelatedActivities,
    Since,
    Until,
    Ascending,
}

impl Filter {
    pub const ALL: [Filter; 10] = [
        Filter::Unfiltered,
        Filter::Agent,
        Filter::Verb,
        Filter::Activity,
        Filter::Registration,
        Filter::RelatedAgents,
        Filter::RelatedActivities,
        Filter::Since,
        Filter::Until,
        Filter::Ascending,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Filter::Unfiltered => "unfiltered",
            Filter::Agent => "agent",
            Filter::Verb => "verb",
            Filter::Activity => "activity",
            Filter::Registration => "registration",
            Filter::RelatedAgents => "related_agents",
            Filter::RelatedActivities => "related_activities",
            Filter::Since => "since",
            Filter::Until => "until",
            Filter::Ascending => "ascending",
        }
    }

    /// The query parameters of the `index`th request: each request asks for another value
    /// (another learner, activity, point in time), as many clients would.
    fn parameters(self, index: usize, history: &History, limit: u64) -> Vec<(String, String)> {
        let spread = index.wrapping_mul(7_919);
        let learner = spread % 5_000;
        let mut parameters = vec![("limit".to_owned(), limit.to_string())];
        let mut add = |name: &str, value: String| parameters.push((name.to_owned(), value));
        match self {
            Filter::Unfiltered => {}
            Filter::Agent => add("agent", learner_agent(learner).to_string()),
            Filter::Verb => add(
                "verb",
                if index.is_multiple_of(2) {
                    "http://adlnet.gov/expapi/verbs/passed"
                } else {
                    "http://adlnet.gov/expapi/verbs/failed"
                }
                .to_owned(),
            ),
            Filter::Activity => add(
                "activity",
                format!(
                    "https://content.example.org/algebra-1/item-{}",
                    spread % 200
                ),
            ),
            Filter::Registration => add("registration", registration(learner, spread % 40)),
            Filter::RelatedAgents => {
                add("agent", learner_agent(learner).to_string());
                add("related_agents", "true".to_owned());
            }
            Filter::RelatedActivities => {
                add(
                    "activity",
                    format!("https://case.example.org/uri/competency-{}", spread % 40),
                );
                add("related_activities", "true".to_owned());
            }
            Filter::Since => add("since", history.point(spread)),
            Filter::Until => add("until", history.point(spread)),
            Filter::Ascending => add("ascending", "true".to_owned()),
        }
        parameters
    }
}

/// Where to send requests, as whom.
#[derive(Debug, Clone)]
pub struct Lrs {
    pub client: reqwest::Client,
    /// `…/xapi/statements`.
    pub endpoint: String,
    pub user: String,
    pub password: String,
    pub version: String,
}

impl Lrs {
    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client
            .get(url)
            .basic_auth(&self.user, Some(&self.password))
            .header("X-Experience-API-Version", &self.version)
    }

    /// The `more` links are relative to the server: `/xapi/statements?more=…`.
    fn more_url(&self, more: &str) -> String {
        let base = self
            .endpoint
            .strip_suffix("/xapi/statements")
            .unwrap_or(&self.endpoint);
        format!("{base}{more}")
    }
}

#[derive(Deserialize)]
struct StatementResult {
    statements: Vec<StatementId>,
    #[serde(default)]
    more: String,
}

#[derive(Deserialize)]
struct StatementId {
    id: String,
    stored: String,
}

/// The span of `stored` the tenant's statements cover, for `since` and `until`.
#[derive(Debug, Clone, Copy)]
pub struct History {
    first: OffsetDateTime,
    last: OffsetDateTime,
}

impl History {
    /// Asks the LRS for its oldest and newest statement.
    pub async fn of(lrs: &Lrs) -> anyhow::Result<History> {
        let stored = |ascending: bool| async move {
            let page: StatementResult = lrs
                .get(&lrs.endpoint)
                .query(&[
                    ("limit", "1"),
                    ("ascending", if ascending { "true" } else { "false" }),
                ])
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let first = page.statements.first().context("no statement is stored")?;
            anyhow::Ok(OffsetDateTime::parse(&first.stored, &Rfc3339)?)
        };
        Ok(History {
            first: stored(true).await?,
            last: stored(false).await?,
        })
    }

    /// A point in the history, picked by `spread`.
    fn point(&self, spread: usize) -> String {
        let span = (self.last - self.first).whole_seconds().max(1);
        let at = self.first + time::Duration::seconds((spread as i64).rem_euclid(span));
        at.format(&Rfc3339).expect("a time formats")
    }
}

/// `requests` GETs of one page each with `filter`, `concurrency` at a time.
pub async fn measure(
    lrs: &Lrs,
    filter: Filter,
    history: History,
    requests: usize,
    concurrency: usize,
    limit: u64,
) -> anyhow::Result<Value> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (lrs, next) = (lrs.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies =
                    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid bounds");
                let mut statements = 0usize;
                let mut failures = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= requests {
                        break;
                    }
                    let sent = Instant::now();
                    let outcome = async {
                        let page: StatementResult = lrs
                            .get(&lrs.endpoint)
                            .query(&filter.parameters(index, &history, limit))
                            .send()
                            .await?
                            .error_for_status()?
                            .json()
                            .await?;
                        anyhow::Ok(page.statements.len())
                    }
                    .await;
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    match outcome {
                        Ok(count) => {
                            latencies.saturating_record(micros);
                            statements += count;
                        }
                        Err(error) => failures.push(error.to_string()),
                    }
                }
                (latencies, statements, failures)
            })
        })
        .collect();
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut statements = 0;
    let mut failures = Vec::new();
    for worker in workers {
        let (local, count, failed) = worker.await?;
        latencies.add(&local)?;
        statements += count;
        failures.extend(failed);
    }
    let elapsed = started.elapsed();
    let millis = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let mut report = json!({
        "filter": filter.name(),
        "requests_ok": latencies.len(),
        "requests_failed": failures.len(),
        "statements_per_page": statements as f64 / latencies.len().max(1) as f64,
        "requests_per_second": latencies.len() as f64 / elapsed.as_secs_f64(),
        "latency_ms": {"p50": millis(0.5), "p90": millis(0.9), "p99": millis(0.99), "max": latencies.max() as f64 / 1000.0},
    });
    if let Some(first) = failures.first() {
        report["first_failure"] = json!(first);
    }
    Ok(report)
}

/// Pages through the tenant's statements (newest first, or oldest with `ascending`) by `more`
/// links, up to `most` statements, and fails if one comes twice or a page comes back
/// out of order.
pub async fn page_through(
    lrs: &Lrs,
    ascending: bool,
    most: usize,
    limit: u64,
) -> anyhow::Result<Value> {
    let mut seen = HashSet::with_capacity(most);
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut previous_stored: Option<OffsetDateTime> = None;
    let started = Instant::now();
    let mut url = format!("{}?limit={limit}&ascending={ascending}", lrs.endpoint);
    loop {
        let sent = Instant::now();
        let page: StatementResult = lrs
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        latencies.saturating_record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        for statement in &page.statements {
            if !seen.insert(statement.id.clone()) {
                bail!(
                    "statement {} came twice, after {} statements",
                    statement.id,
                    seen.len()
                );
            }
            let stored = OffsetDateTime::parse(&statement.stored, &Rfc3339)?;
            if let Some(previous) = previous_stored
                && (if ascending {
                    stored < previous
                } else {
                    stored > previous
                })
            {
                bail!("statement {} is out of order", statement.id);
            }
            previous_stored = Some(stored);
        }
        if page.more.is_empty() || seen.len() >= most {
            break;
        }
        url = lrs.more_url(&page.more);
    }
    let elapsed = started.elapsed();
    let millis = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    Ok(json!({
        "ascending": ascending,
        "statements": seen.len(),
        "pages": latencies.len(),
        "seconds": elapsed.as_secs_f64(),
        "statements_per_second": seen.len() as f64 / elapsed.as_secs_f64(),
        "page_latency_ms": {"p50": millis(0.5), "p90": millis(0.9), "p99": millis(0.99), "max": latencies.max() as f64 / 1000.0},
    }))
}

/// How long a page request may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
