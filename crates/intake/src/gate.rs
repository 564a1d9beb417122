//! How many queries the intake has at ClickHouse at once, by kind.
//!
//! ClickHouse refuses a query beyond its `max_concurrent_queries` ("Too many simultaneous
//! queries"), and well before that its cores are shared by more queries than they can run. So
//! each kind of query the intake makes passes a semaphore of its own, sized by configuration:
//! a request waits for a slot at most `http.store_wait_ms` and is then answered 503 with
//! `Retry-After`, before it has cost ClickHouse anything. Load beyond what the store can take
//! becomes back-pressure at the intake, never refusals at the database. A kind has its own lane
//! so that a flood of one (pages of a reporting tool) cannot starve the other (the checks every
//! POST of client-set ids needs).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::HttpConfig;
use crate::error::{ApiError, ErrorCode, RETRY_AFTER_SECONDS};
use crate::metrics::STORE_QUERIES_SHED;

/// What a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// A write's check of what is stored: client-set ids, voiding targets.
    Check,
    /// A read: a statement by id, a page, attachments.
    Read,
}

impl QueryKind {
    fn name(self) -> &'static str {
        match self {
            QueryKind::Check => "check",
            QueryKind::Read => "read",
        }
    }
}

/// The intake's bound on its ClickHouse queries. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreGate {
    checks: Arc<Semaphore>,
    reads: Arc<Semaphore>,
    wait: Duration,
}

impl StoreGate {
    pub fn new(config: &HttpConfig) -> Self {
        StoreGate {
            checks: Arc::new(Semaphore::new(config.max_concurrent_checks)),
            reads: Arc::new(Semaphore::new(config.max_concurrent_reads)),
            wait: Duration::from_millis(config.store_wait_ms),
        }
    }

    /// Runs `query` once a slot of its kind is free; `context` says what it reads, for the 503
    /// it becomes when the store fails.
    pub(crate) async fn run<T>(
        &self,
        kind: QueryKind,
        context: &str,
        query: impl Future<Output = learnstream_store::Result<T>>,
    ) -> Result<T, ApiError> {
        let semaphore = match kind {
            QueryKind::Check => &self.checks,
            QueryKind::Read => &self.reads,
        };
        let Ok(Ok(_permit)) = tokio::time::timeout(self.wait, semaphore.acquire()).await else {
            metrics::counter!(STORE_QUERIES_SHED, "kind" => kind.name()).increment(1);
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "busy: the statement store is answering as many {} queries as it is allowed; retry after {RETRY_AFTER_SECONDS} s",
                    kind.name()
                ),
            ));
        };
        query
            .await
            .map_err(|error| ApiError::unavailable(context, &error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(slots: usize, wait_ms: u64) -> StoreGate {
        StoreGate::new(&HttpConfig {
            max_concurrent_checks: slots,
            max_concurrent_reads: slots,
            store_wait_ms: wait_ms,
            ..HttpConfig::default()
        })
    }

    #[tokio::test]
    async fn a_query_beyond_the_bound_waits_then_is_shed_with_503() {
        let gate = gate(1, 50);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let holder = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(QueryKind::Check, "test", async {
                    released.await.ok();
                    Ok(1)
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        while gate.checks.available_permits() > 0 {
            tokio::task::yield_now().await;
        }

        let shed = gate
            .run(QueryKind::Check, "test", async { Ok(2) })
            .await
            .unwrap_err();
        assert_eq!(shed.code, ErrorCode::Unavailable);
        assert!(shed.message.contains("busy"), "{}", shed.message);
        // The other kind has a lane of its own.
        assert_eq!(
            gate.run(QueryKind::Read, "test", async { Ok(3) })
                .await
                .unwrap(),
            3
        );

        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), 1);
        assert_eq!(
            gate.run(QueryKind::Check, "test", async { Ok(4) })
                .await
                .unwrap(),
            4,
            "a freed slot is taken again"
        );
    }

    #[tokio::test]
    async fn a_failed_query_is_unavailable_naming_what_it_read() {
        let gate = gate(1, 50);
        let error = gate
            .run(
                QueryKind::Read,
                "the statement store cannot be read",
                async {
                    Err::<(), _>(learnstream_store::Error::MigrationChanged {
                        version: 1,
                        name: "down".to_owned(),
                    })
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert!(
            error
                .message
                .starts_with("the statement store cannot be read")
        );
    }
}
