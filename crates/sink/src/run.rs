use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use learnstream_kafka::{DurableProducer, KafkaConfig};
use learnstream_store::{FilterMatches, StatementStore};
use rdkafka::Message as _;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientContext, Statistics};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::batch::{
    Batch, DeadLetter, has_statement_refs, inherit_target_matches, targets_outside, voided_targets,
};
use crate::metrics::{
    BATCH_ROWS, CONSUMER_LAG, DEAD_LETTERS, DELIVERY_SECONDS, INSERT_SECONDS, RETRIES,
    STATEMENTS_STORED,
};
use crate::{Result, SinkConfig};

/// How long a shutdown waits for the last batch to be stored before it leaves it to Kafka.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
const FIRST_RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Told, after each stored batch, that every message of a partition below an offset is in
/// ClickHouse: `(partition, next_offset)`. An intake in the same process answers its
/// read-your-writes requests from it without waiting for the commit.
pub type OnStored = Arc<dyn Fn(i32, i64) + Send + Sync>;

/// Consumes the statements topic into ClickHouse until `shutdown` is cancelled, then stores the
/// batch in hand and commits its offsets.
pub async fn run(
    kafka: &KafkaConfig,
    config: &SinkConfig,
    store: StatementStore,
    on_stored: Option<OnStored>,
    shutdown: CancellationToken,
) -> Result<()> {
    let mut client_config = kafka.client_config();
    if let Some(instance_id) = &config.instance_id {
        client_config.set("group.instance.id", instance_id);
    }
    let consumer: StreamConsumer<SinkContext> = client_config
        .set("group.id", &config.group_id)
        // Offsets are stored by hand after ClickHouse acknowledged a batch and committed right
        // after: the committed offsets are how writers learn that their statements are readable
        // (read-your-writes, `intake/src/progress.rs`).
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "false")
        // An idle partition's fetch returns within this long of a new message even on a broker
        // that does not answer a waiting fetch early.
        .set("fetch.wait.max.ms", config.max_fetch_wait_ms.to_string())
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "heartbeat.interval.ms",
            (config.session_timeout_ms / 3).to_string(),
        )
        // A new group starts from the beginning: nothing produced before it joined is skipped.
        .set("auto.offset.reset", "earliest")
        // Per-partition consumer lag for `/metrics` (`SinkContext::stats`).
        .set("statistics.interval.ms", "5000")
        .create_with_context(SinkContext {
            topic: kafka.statements_topic.clone(),
        })?;
    consumer.subscribe(&[&kafka.statements_topic])?;
    let sink = Arc::new(Sink {
        consumer,
        store,
        dead_letters: DurableProducer::new(kafka)?,
        statements_topic: kafka.statements_topic.clone(),
        dead_letter_topic: kafka.dead_letter_topic.clone(),
        max_retry_backoff: config.max_retry_backoff(),
        on_stored,
    });
    tracing::info!(topic = %kafka.statements_topic, group = %config.group_id, "sink started");

    // One batch is stored at a time, in order (offsets are committed in order, and a batch's
    // StatementRefs find their targets in the batches before it), while the next one is
    // collected and decoded: the storing and the decoding overlap.
    let stop_storing = CancellationToken::new();
    let mut storing: Option<JoinHandle<bool>> = None;
    let mut batch = Batch::default();
    loop {
        let deadline = batch.deadline(config.linger());
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            stored = async { storing.as_mut().expect("guarded by the condition").await }, if storing.is_some() => {
                storing = None;
                if !stored_or_panic(stored) {
                    break;
                }
                // The batch that gathered meanwhile goes next, if it is due.
                if batch.is_full(config) || (!batch.is_empty() && batch.is_older_than(config.linger())) {
                    storing = Some(sink.store_in_background(std::mem::take(&mut batch), &stop_storing));
                }
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() && storing.is_none() => {
                storing = Some(sink.store_in_background(std::mem::take(&mut batch), &stop_storing));
            }
            received = sink.consumer.recv(), if !batch.is_full(config) => {
                sink.add(&mut batch, received);
                // Take what else is already waiting, within the batch's limits: messages gather
                // while the previous batch is being stored, so a busy LRS batches by itself and
                // an idle one stores a lone message at once.
                while !batch.is_full(config) && !batch.is_older_than(config.max_batch_wait()) {
                    match sink.consumer.recv().now_or_never() {
                        Some(received) => sink.add(&mut batch, received),
                        None => break,
                    }
                }
                let due = batch.is_full(config) || batch.is_older_than(config.linger());
                if due && storing.is_none() {
                    storing = Some(sink.store_in_background(std::mem::take(&mut batch), &stop_storing));
                }
            }
        }
    }

    // Shutdown: store the batch being stored and the one in hand, within the grace period;
    // whatever is not stored by then stays uncommitted in Kafka for the next sink.
    let finish = async {
        if let Some(storing) = storing.take() {
            stored_or_panic(storing.await);
        }
        if !batch.is_empty() {
            sink.flush(std::mem::take(&mut batch), &stop_storing).await;
        }
    };
    match tokio::time::timeout(SHUTDOWN_GRACE, finish).await {
        Ok(()) => tracing::info!("stored the batches in hand"),
        Err(_) => {
            stop_storing.cancel();
            tracing::warn!("the last batches were not stored in time; they stay in kafka");
        }
    }
    if let Err(error) = sink.consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing new to commit is reported as an error too.
        tracing::debug!(%error, "final offset commit");
    }
    tracing::info!("sink stopped");
    Ok(())
}

/// Whether a background store succeeded; a panic in it goes on in the sink's own task, which
/// the process watches, rather than leaving a sink that silently stopped storing.
fn stored_or_panic(joined: Result<bool, tokio::task::JoinError>) -> bool {
    match joined {
        Ok(stored) => stored,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => false,
    }
}

/// Reports the consumer's lag per partition and logs rebalances.
struct SinkContext {
    topic: String,
}

impl ClientContext for SinkContext {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        for (partition, stats) in &topic.partitions {
            if *partition < 0 {
                // librdkafka's internal "unassigned" partition.
                continue;
            }
            // Partitions this sink does not fetch lag nowhere here; another sink reports them.
            let lag = if stats.fetch_state == "active" {
                stats.consumer_lag.max(0)
            } else {
                0
            };
            metrics::gauge!(CONSUMER_LAG, "partition" => partition.to_string()).set(lag as f64);
        }
    }
}

impl ConsumerContext for SinkContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let partitions: Vec<i32> = partitions
                    .elements()
                    .iter()
                    .map(|element| element.partition())
                    .collect();
                tracing::info!(?partitions, "partitions assigned");
            }
            Rebalance::Revoke(_) => tracing::info!("partitions revoked"),
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}

struct Sink {
    consumer: StreamConsumer<SinkContext>,
    store: StatementStore,
    dead_letters: DurableProducer,
    statements_topic: String,
    dead_letter_topic: String,
    max_retry_backoff: Duration,
    on_stored: Option<OnStored>,
}

impl Sink {
    /// Stores `batch` on a task of its own; the task answers whether it was stored.
    fn store_in_background(
        self: &Arc<Self>,
        batch: Batch,
        stop: &CancellationToken,
    ) -> JoinHandle<bool> {
        let sink = Arc::clone(self);
        let stop = stop.clone();
        tokio::spawn(async move { sink.flush(batch, &stop).await })
    }

    /// Stores a batch: rows into ClickHouse, poison onto the dead-letter topic, and only then the
    /// offsets. Retries until it succeeds; returns false if `stop` interrupted it, in which case
    /// no offset was stored and Kafka delivers the batch again.
    async fn flush(&self, mut batch: Batch, stop: &CancellationToken) -> bool {
        let flush_started = Instant::now();
        if has_statement_refs(&batch.rows) {
            let outside = targets_outside(&batch.rows);
            let stored = if outside.is_empty() {
                HashMap::new()
            } else {
                let Some(stored) = self
                    .retry(stop, "read_targets", || self.stored_targets(&outside))
                    .await
                else {
                    return false;
                };
                stored
            };
            inherit_target_matches(&mut batch.rows, &stored);
        }
        // Attachments first: once a statement is readable, so are its attachments.
        if !batch.attachments.is_empty()
            && self
                .retry(stop, "insert_attachments", || {
                    self.store.insert_attachments(&batch.attachments)
                })
                .await
                .is_none()
        {
            return false;
        }
        if !batch.rows.is_empty() {
            let started = Instant::now();
            let stored = self
                .retry(stop, "insert", || self.store.insert(&batch.rows))
                .await;
            if stored.is_none() {
                return false;
            }
            let voided = voided_targets(&batch.rows);
            if !voided.is_empty()
                && self
                    .retry(stop, "void", || self.void_all(&voided))
                    .await
                    .is_none()
            {
                return false;
            }
            metrics::histogram!(INSERT_SECONDS).record(started.elapsed().as_secs_f64());
            metrics::histogram!(BATCH_ROWS).record(batch.rows.len() as f64);
            metrics::counter!(STATEMENTS_STORED).increment(batch.rows.len() as u64);
        }
        for dead_letter in &batch.dead_letters {
            tracing::warn!(
                partition = dead_letter.partition,
                offset = dead_letter.offset,
                reason = %dead_letter.reason,
                "sending message to the dead-letter topic"
            );
            if self
                .retry(stop, "dead_letter", || self.send_dead_letter(dead_letter))
                .await
                .is_none()
            {
                return false;
            }
            metrics::counter!(DEAD_LETTERS).increment(1);
        }
        for (partition, offset) in &batch.last_offsets {
            if let Some(on_stored) = &self.on_stored {
                on_stored(*partition, offset + 1);
            }
            // Fails for a partition this process lost in a rebalance; its new owner reads the
            // batch again and the statements table absorbs the repeat.
            if let Err(error) =
                self.consumer
                    .store_offset(&self.statements_topic, *partition, *offset)
            {
                tracing::info!(partition, offset, %error, "offset not stored");
            }
        }
        if !batch.last_offsets.is_empty()
            && let Err(error) = self.consumer.commit_consumer_state(CommitMode::Async)
        {
            // The offsets stay stored; the next batch's commit or the final one carries them.
            tracing::debug!(%error, "offset commit");
        }
        let stored_in = flush_started.elapsed();
        tracing::debug!(
            rows = batch.rows.len(),
            dead_letters = batch.dead_letters.len(),
            collected_ms = batch.age().saturating_sub(stored_in).as_millis() as u64,
            stored_ms = stored_in.as_millis() as u64,
            "batch stored"
        );
        true
    }

    fn add(
        &self,
        batch: &mut Batch,
        received: Result<BorrowedMessage<'_>, rdkafka::error::KafkaError>,
    ) {
        match received {
            Ok(message) => {
                if let Some(created) = message.timestamp().to_millis() {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |since| since.as_millis() as i64);
                    metrics::histogram!(DELIVERY_SECONDS)
                        .record(now.saturating_sub(created).max(0) as f64 / 1000.0);
                }
                batch.add_message(
                    message.partition(),
                    message.offset(),
                    message.key(),
                    message.payload(),
                    Instant::now(),
                );
            }
            // librdkafka recovers from broker errors by itself; they are worth a log line.
            Err(error) => tracing::warn!(%error, "kafka consumer error"),
        }
    }

    async fn void_all(
        &self,
        voided: &BTreeMap<String, Vec<Uuid>>,
    ) -> Result<(), learnstream_store::Error> {
        for (tenant, ids) in voided {
            self.store.void(tenant, ids).await?;
        }
        Ok(())
    }

    /// The filter arrays of the stored statements this batch targets.
    async fn stored_targets(
        &self,
        targets: &BTreeMap<String, Vec<Uuid>>,
    ) -> Result<HashMap<(String, Uuid), FilterMatches>, learnstream_store::Error> {
        let mut stored = HashMap::new();
        for (tenant, ids) in targets {
            for matches in self.store.filter_matches(tenant, ids).await? {
                stored.insert((tenant.clone(), matches.statement_id), matches);
            }
        }
        Ok(stored)
    }

    async fn send_dead_letter(
        &self,
        dead_letter: &DeadLetter,
    ) -> Result<(), learnstream_kafka::ProduceError> {
        let partition = dead_letter.partition.to_string();
        let offset = dead_letter.offset.to_string();
        let headers: [(&str, &[u8]); 4] = [
            ("x-learnstream-error", dead_letter.reason.as_bytes()),
            (
                "x-learnstream-source-topic",
                self.statements_topic.as_bytes(),
            ),
            ("x-learnstream-source-partition", partition.as_bytes()),
            ("x-learnstream-source-offset", offset.as_bytes()),
        ];
        self.dead_letters
            .send(
                &self.dead_letter_topic,
                dead_letter.key.as_deref(),
                &dead_letter.payload,
                &headers,
            )
            .await
            .map(drop)
    }

    /// Runs `attempt` until it succeeds, pausing between attempts with a backoff that doubles up
    /// to the configured cap. Returns `None` if `stop` was cancelled first.
    async fn retry<F, Fut, T, E>(
        &self,
        stop: &CancellationToken,
        operation: &'static str,
        mut attempt: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let mut backoff = FIRST_RETRY_BACKOFF;
        loop {
            let error = tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                outcome = attempt() => match outcome {
                    Ok(value) => return Some(value),
                    Err(error) => error,
                },
            };
            metrics::counter!(RETRIES, "operation" => operation).increment(1);
            tracing::warn!(%error, operation, retry_in_ms = backoff.as_millis() as u64, "sink operation failed; retrying");
            tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.max_retry_backoff);
        }
    }
}
