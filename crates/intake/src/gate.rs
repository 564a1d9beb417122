//! How the intake uses ClickHouse: a bounded number of queries at once, by kind.
//!
//! ClickHouse refuses a query beyond its `max_concurrent_queries` ("Too many simultaneous
//! queries"), and well before that its two cores are shared by more queries than they can run.
//! So the intake bounds its own queries, and a request that cannot get a turn within
//! `http.store_wait_ms` is answered 503 with `Retry-After` before it has cost ClickHouse
//! anything: load beyond what the store can take becomes back-pressure at the intake, never
//! refusals at the database. Each kind has a lane of its own, so that a flood of one (pages of a
//! reporting tool) cannot starve the other (the checks every POST of client-set ids needs):
//!
//! - **reads** (a statement by id, a page, attachments): at most `http.max_concurrent_reads`
//!   queries at once;
//! - **checks** of writes (client-set ids, voiding targets): group commit, as the produce path
//!   has. At most `http.max_concurrent_checks` rounds are in flight; the requests that arrive
//!   meanwhile join the next round, which asks for all their ids in one query per tenant. A
//!   query costs ClickHouse a few milliseconds whatever it asks, and an id a few microseconds,
//!   so under load the checks cost a fraction of a query per request; an idle LRS sends a lone
//!   check at once.
//!
//! Before any of that, the filter of known ids (`known_ids.rs`) answers for the ids nobody has
//! sent before, which are most of them: only the ids it may hold reach a round.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use learnstream_store::{StatementStore, StoredById};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::coalesce::by_tenant;
use crate::config::HttpConfig;
use crate::known_ids::KnownIds;
use crate::metrics::{CHECK_ROUND_IDS, CHECK_SECONDS, ID_CHECKS, STORE_QUERIES_SHED};
use learnstream_http::{ApiError, ErrorCode, RETRY_AFTER_SECONDS};

/// The stored statements a round found, by id; every request of the round shares it.
pub(crate) type Found = Arc<HashMap<Uuid, StoredById>>;

/// Asks the store for the stored statements among some ids of one tenant.
type LookupFn = Arc<
    dyn Fn(
            Arc<str>,
            Vec<Uuid>,
        )
            -> Pin<Box<dyn Future<Output = learnstream_store::Result<Vec<StoredById>>> + Send>>
        + Send
        + Sync,
>;

/// Ids a round gathers at most (one query per tenant; the store splits it in chunks).
const ROUND_IDS: usize = 8_000;

/// The intake's bound on its ClickHouse queries. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreGate {
    known: KnownIds,
    reads: Arc<Semaphore>,
    checks: mpsc::Sender<Check>,
    wait: Duration,
}

/// One request's check, waiting for its round.
struct Check {
    tenant: Arc<str>,
    ids: Vec<Uuid>,
    queued: Instant,
    reply: oneshot::Sender<Result<Found, ApiError>>,
}

impl StoreGate {
    /// Starts the check rounds on the current runtime, asking `store` about the ids `known` may
    /// hold.
    pub fn start(config: &HttpConfig, store: StatementStore, known: KnownIds) -> StoreGate {
        let lookup: LookupFn = Arc::new(move |tenant: Arc<str>, ids: Vec<Uuid>| {
            let store = store.clone();
            Box::pin(async move { store.statements_by_ids(&tenant, &ids).await })
        });
        StoreGate::start_with(config, lookup, known)
    }

    fn start_with(config: &HttpConfig, lookup: LookupFn, known: KnownIds) -> StoreGate {
        let wait = Duration::from_millis(config.store_wait_ms);
        // Requests beyond the connection limit cannot be waiting, so this never fills.
        let (checks, queue) = mpsc::channel(config.max_connections.max(1));
        tokio::spawn(check_rounds(
            queue,
            lookup,
            config.max_concurrent_checks,
            wait,
        ));
        StoreGate {
            known,
            reads: Arc::new(Semaphore::new(config.max_concurrent_reads)),
            checks,
            wait,
        }
    }

    /// Runs a read once one of the read slots is free; `context` says what it reads, for the
    /// 503 it becomes when the store fails.
    pub(crate) async fn read<T>(
        &self,
        context: &str,
        query: impl Future<Output = learnstream_store::Result<T>>,
    ) -> Result<T, ApiError> {
        let Ok(Ok(_permit)) = tokio::time::timeout(self.wait, self.reads.acquire()).await else {
            return Err(busy("read"));
        };
        query
            .await
            .map_err(|error| ApiError::unavailable(context, &error))
    }

    /// The stored statements of `tenant` among `ids`: none for the ids the filter of known ids
    /// has never seen, the others asked in the next check round.
    pub(crate) async fn stored(&self, tenant: Arc<str>, ids: Vec<Uuid>) -> Result<Found, ApiError> {
        let sent = ids.len();
        let ids: Vec<Uuid> = if self.known.caught_up(self.wait).await {
            ids.into_iter()
                .filter(|id| self.known.may_hold(&tenant, *id))
                .collect()
        } else {
            ids
        };
        metrics::counter!(ID_CHECKS, "answer" => "new").increment((sent - ids.len()) as u64);
        metrics::counter!(ID_CHECKS, "answer" => "asked").increment(ids.len() as u64);
        if ids.is_empty() {
            return Ok(Found::default());
        }
        let (reply, answer) = oneshot::channel();
        let check = Check {
            tenant,
            ids,
            queued: Instant::now(),
            reply,
        };
        self.checks.try_send(check).map_err(|_| busy("check"))?;
        answer.await.unwrap_or_else(|_| {
            Err(ApiError::new(
                ErrorCode::Unavailable,
                "the intake is shutting down",
            ))
        })
    }

    /// Records statements about to be produced, so that a check made after this one knows
    /// them without waiting for the statements topic.
    pub(crate) fn accepted(&self, tenant: &str, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            self.known.insert(tenant, id);
        }
    }

    /// Records where statements recorded as [accepted](StoreGate::accepted) landed, so that a
    /// check need not wait for them to be read back from the statements topic.
    pub(crate) fn produced(&self, partition: i32, offset: i64) {
        self.known.produced(partition, offset);
    }
}

/// The 503 of a request that waited `http.store_wait_ms` for its turn.
fn busy(kind: &'static str) -> ApiError {
    metrics::counter!(STORE_QUERIES_SHED, "kind" => kind).increment(1);
    ApiError::new(
        ErrorCode::Unavailable,
        format!(
            "busy: the statement store is answering as many {kind} queries as it is allowed; retry after {RETRY_AFTER_SECONDS} s"
        ),
    )
}

async fn check_rounds(
    mut queue: mpsc::Receiver<Check>,
    lookup: LookupFn,
    max_in_flight: usize,
    wait: Duration,
) {
    let in_flight = Arc::new(Semaphore::new(max_in_flight));
    let mut carried: Option<Check> = None;
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(check) => check,
            None => match queue.recv().await {
                Some(check) => check,
                None => return,
            },
        };
        let mut round = Vec::new();
        let mut ids = 0;
        let mut next = Some(first);
        while let Some(check) = next.take().or_else(|| queue.try_recv().ok()) {
            if check.queued.elapsed() > wait {
                // Its client has waited long enough: the store is slower than the load.
                let _ = check.reply.send(Err(busy("check")));
                continue;
            }
            if !round.is_empty() && ids + check.ids.len() > ROUND_IDS {
                carried = Some(check);
                break;
            }
            ids += check.ids.len();
            metrics::histogram!(CHECK_SECONDS, "stage" => "queued")
                .record(check.queued.elapsed().as_secs_f64());
            round.push(check);
        }
        if round.is_empty() {
            continue;
        }
        metrics::histogram!(CHECK_ROUND_IDS).record(ids as f64);
        let lookup = Arc::clone(&lookup);
        tokio::spawn(async move {
            check_round(&lookup, round).await;
            drop(permit);
        });
    }
}

/// Asks once per tenant of the round, concurrently, and answers every request.
async fn check_round(lookup: &LookupFn, round: Vec<Check>) {
    let queries =
        by_tenant(round, |check| &check.tenant)
            .into_iter()
            .map(|(tenant, checks)| async move {
                let ids: Vec<Uuid> = checks
                    .iter()
                    .flat_map(|check| check.ids.iter().copied())
                    .collect();
                let started = Instant::now();
                let answer = lookup(tenant, ids).await;
                metrics::histogram!(CHECK_SECONDS, "stage" => "query")
                    .record(started.elapsed().as_secs_f64());
                let answer = answer
                    .map(|rows| {
                        Arc::new(
                            rows.into_iter()
                                .filter_map(|row| Some((Uuid::try_parse(&row.id).ok()?, row)))
                                .collect::<HashMap<_, _>>(),
                        )
                    })
                    .map_err(|error| {
                        ApiError::unavailable("the statement store cannot be read", &error)
                    });
                for check in checks {
                    // A request whose client went away no longer listens.
                    let _ = check.reply.send(answer.clone());
                }
            });
    futures::future::join_all(queries).await;
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn config(slots: usize, wait_ms: u64) -> HttpConfig {
        HttpConfig {
            max_concurrent_checks: slots,
            max_concurrent_reads: slots,
            store_wait_ms: wait_ms,
            ..HttpConfig::default()
        }
    }

    fn stored(id: Uuid) -> StoredById {
        StoredById {
            id: id.hyphenated().to_string(),
            verb_id: "http://adlnet.gov/expapi/verbs/passed".to_owned(),
            raw: "{}".to_owned(),
        }
    }

    /// A store that holds `held` (of any tenant named "a"), records every query and answers
    /// once `release` lets it.
    /// Every query a test store was asked: its tenant and ids.
    type Asked = Arc<Mutex<Vec<(String, Vec<Uuid>)>>>;

    fn store(held: Vec<Uuid>, release: Arc<Semaphore>) -> (LookupFn, Asked) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&asked);
        let lookup: LookupFn = Arc::new(move |tenant: Arc<str>, ids: Vec<Uuid>| {
            recorded
                .lock()
                .unwrap()
                .push((tenant.to_string(), ids.clone()));
            let (held, release) = (held.clone(), Arc::clone(&release));
            Box::pin(async move {
                release.acquire().await.unwrap().forget();
                Ok(ids
                    .into_iter()
                    .filter(|id| &*tenant == "a" && held.contains(id))
                    .map(stored)
                    .collect())
            })
        });
        (lookup, asked)
    }

    #[tokio::test]
    async fn checks_arriving_during_a_round_share_the_next_one_and_keep_their_tenants() {
        let held = Uuid::new_v4();
        let release = Arc::new(Semaphore::new(0));
        let (lookup, asked) = store(vec![held], Arc::clone(&release));
        let gate = StoreGate::start_with(&config(1, 5_000), lookup, KnownIds::disabled());

        // The first check goes at once and holds the only round in flight...
        let first = tokio::spawn({
            let gate = gate.clone();
            async move { gate.stored(Arc::from("a"), vec![Uuid::new_v4()]).await }
        });
        while asked.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        // ...so these three wait, and go together: one query for tenant a, one for b.
        let waiting: Vec<_> = [("a", held), ("a", Uuid::new_v4()), ("b", held)]
            .into_iter()
            .map(|(tenant, id)| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.stored(Arc::from(tenant), vec![id]).await })
            })
            .collect();
        while gate.checks.capacity() > gate.checks.max_capacity() - 3 {
            tokio::task::yield_now().await;
        }
        release.add_permits(100);

        assert!(first.await.unwrap().unwrap().is_empty());
        let answers: Vec<Found> = futures::future::try_join_all(waiting)
            .await
            .unwrap()
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(answers[0].contains_key(&held));
        assert!(
            answers[1].contains_key(&held),
            "the round's answer is shared"
        );
        assert!(
            answers[2].is_empty(),
            "another tenant's statement is not theirs"
        );
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 3, "{asked:?}");
        let second_round_a = asked.iter().skip(1).find(|(tenant, _)| tenant == "a");
        assert_eq!(second_round_a.unwrap().1.len(), 2);
    }

    #[tokio::test]
    async fn a_check_that_waits_too_long_is_shed_with_503() {
        let release = Arc::new(Semaphore::new(0));
        let (lookup, asked) = store(Vec::new(), Arc::clone(&release));
        let gate = StoreGate::start_with(&config(1, 30), lookup, KnownIds::disabled());
        let first = tokio::spawn({
            let gate = gate.clone();
            async move { gate.stored(Arc::from("a"), vec![Uuid::new_v4()]).await }
        });
        while asked.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.stored(Arc::from("a"), vec![Uuid::new_v4()]).await }
        });
        tokio::time::sleep(Duration::from_millis(60)).await;
        release.add_permits(100);

        assert!(first.await.unwrap().is_ok());
        let shed = second.await.unwrap().unwrap_err();
        assert_eq!(shed.code, ErrorCode::Unavailable);
        assert!(shed.message.contains("busy"), "{}", shed.message);
    }

    #[tokio::test]
    async fn reads_beyond_their_bound_wait_then_are_shed() {
        let (lookup, _) = store(Vec::new(), Arc::new(Semaphore::new(0)));
        let gate = StoreGate::start_with(&config(1, 30), lookup, KnownIds::disabled());
        let (release, released) = oneshot::channel::<()>();
        let holder = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.read("test", async {
                    released.await.ok();
                    Ok(1)
                })
                .await
            }
        });
        while gate.reads.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let shed = gate.read("test", async { Ok(2) }).await.unwrap_err();
        assert_eq!(shed.code, ErrorCode::Unavailable);
        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), 1);
        assert_eq!(gate.read("test", async { Ok(3) }).await.unwrap(), 3);

        let failed = gate
            .read("the statement store cannot be read", async {
                Err::<(), _>(learnstream_store::Error::MigrationChanged {
                    version: 1,
                    name: "down".to_owned(),
                })
            })
            .await
            .unwrap_err();
        assert!(
            failed
                .message
                .starts_with("the statement store cannot be read")
        );
    }
}
