use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use learnstream_kafka::{Backoff, DurableProducer, Halted, KafkaConfig, retry_until_cancelled};
use learnstream_store::{AttachmentRow, FilterMatches, StatementRow, StatementStore, VoidRow};
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
    Batch, DeadLetter, has_statement_refs, inherit_target_matches, targets_outside, void_rows,
    voidable_ids, voided_targets,
};
use crate::metrics::{
    BATCH_ROWS, CONSUMER_LAG, DEAD_LETTERS, DELIVERY_SECONDS, INSERT_SECONDS, PARTITIONS_ASSIGNED,
    PERMANENT_FAILURES, REJOINS, RETRIES, STATEMENTS_STORED, UNASSIGNED_SECONDS,
};
use crate::{Result, SinkConfig};

/// How long a shutdown waits for the last batch to be stored before it leaves it to Kafka.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// How often the sink checks that it holds partitions.
const ASSIGNMENT_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// Told, after each stored batch, that every message of a partition below an offset is in
/// ClickHouse: `(partition, next_offset)`. An intake in the same process answers its
/// read-your-writes requests from it without waiting for the commit.
pub type OnStored = Arc<dyn Fn(i32, i64) + Send + Sync>;

/// Whether a sink is storing: it has joined its group (with the partitions the group gave it),
/// and is not stuck without partitions. Cheap to clone; `/ready` reads it.
#[derive(Debug, Clone, Default)]
pub struct SinkReadiness(Arc<AtomicU8>);

// 0, the default: starting, not yet in the group.
const JOINED: u8 = 1;
const STUCK: u8 = 2;

impl SinkReadiness {
    /// Why the sink is not ready, or `None` once it is.
    pub fn not_ready(&self) -> Option<&'static str> {
        match self.0.load(Ordering::Relaxed) {
            JOINED => None,
            STUCK => Some(
                "the sink has held no partition for longer than its session timeout while the topic has partitions; it is rejoining its group",
            ),
            _ => Some("the sink has not joined its consumer group yet"),
        }
    }

    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Relaxed);
    }
}

/// Consumes the statements topic into ClickHouse until `shutdown` is cancelled, then stores the
/// batch in hand and commits its offsets. `readiness` follows whether it is storing.
pub async fn run(
    kafka: &KafkaConfig,
    config: &SinkConfig,
    store: StatementStore,
    on_stored: Option<OnStored>,
    readiness: SinkReadiness,
    shutdown: CancellationToken,
) -> Result<()> {
    // Offsets are stored by hand after ClickHouse acknowledged a batch and committed right
    // after: the committed offsets are how writers learn that their statements are readable
    // (read-your-writes, `intake/src/progress.rs`).
    let mut client_config = kafka.manual_commit(&config.group_id);
    if let Some(instance_id) = &config.instance_id {
        client_config.set("group.instance.id", instance_id);
    }
    let consumer: StreamConsumer<SinkContext> = client_config
        // An idle partition's fetch returns within this long of a new message even on a broker
        // that does not answer a waiting fetch early.
        .set("fetch.wait.max.ms", config.max_fetch_wait_ms.to_string())
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "heartbeat.interval.ms",
            (config.session_timeout_ms / 3).to_string(),
        )
        // Per-partition consumer lag for `/metrics` (`SinkContext::stats`).
        .set("statistics.interval.ms", "5000")
        .create_with_context(SinkContext {
            topic: kafka.statements_topic.clone(),
            readiness: readiness.clone(),
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
        readiness,
    });
    tracing::info!(topic = %kafka.statements_topic, group = %config.group_id, "sink started");

    // One batch is stored at a time, in order (offsets are committed in order, and a batch's
    // StatementRefs find their targets in the batches before it), while the next one is
    // collected and decoded: the storing and the decoding overlap.
    let stop_storing = CancellationToken::new();
    let mut storing: Option<JoinHandle<bool>> = None;
    let mut batch = Batch::default();
    let mut assignment_watch = tokio::time::interval(ASSIGNMENT_WATCH_INTERVAL);
    let mut unassigned_since: Option<Instant> = None;
    loop {
        let deadline = batch.deadline(config.linger());
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = assignment_watch.tick() => {
                sink.watch_assignment(&mut unassigned_since, config.session_timeout()).await;
            }
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
    readiness: SinkReadiness,
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
                self.readiness.set(JOINED);
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
    readiness: SinkReadiness,
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
    /// offsets. Retries what can succeed until it does; a batch that ClickHouse can never take
    /// is stored message by message, and the messages that still fail go to the dead-letter
    /// topic with the reason. Returns false if `stop` interrupted it, in which case no offset
    /// was stored and Kafka delivers the batch again.
    async fn flush(&self, mut batch: Batch, stop: &CancellationToken) -> bool {
        let flush_started = Instant::now();
        let mut stored_rows = batch.rows.len();
        match self
            .store_rows(&mut batch.rows, &batch.attachments, stop)
            .await
        {
            Ok(()) => {}
            Err(Halt::Stopped) => return false,
            Err(Halt::Never(reason)) => {
                tracing::error!(
                    %reason,
                    messages = batch.messages.len(),
                    "clickhouse can never store this batch; storing its messages one at a time"
                );
                stored_rows = 0;
                for mut single in batch.take_singles() {
                    match self
                        .store_rows(&mut single.rows, &single.attachments, stop)
                        .await
                    {
                        Ok(()) => stored_rows += single.rows.len(),
                        Err(Halt::Stopped) => return false,
                        Err(Halt::Never(reason)) => {
                            batch.dead_letters.push(single.into_dead_letter(reason));
                        }
                    }
                }
            }
        }
        if stored_rows > 0 {
            metrics::histogram!(BATCH_ROWS).record(stored_rows as f64);
            metrics::counter!(STATEMENTS_STORED).increment(stored_rows as u64);
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
                .is_err()
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
            rows = stored_rows,
            dead_letters = batch.dead_letters.len(),
            collected_ms = batch.age().saturating_sub(stored_in).as_millis() as u64,
            stored_ms = stored_in.as_millis() as u64,
            "batch stored"
        );
        true
    }

    /// Checks that the sink holds partitions. A sink that has held none for longer than its
    /// session timeout while the topic has partitions is stuck outside its group (a broker that
    /// lost the group's state, a rebalance that never finished): it says so and joins again.
    async fn watch_assignment(
        self: &Arc<Self>,
        unassigned_since: &mut Option<Instant>,
        session_timeout: Duration,
    ) {
        let assigned = self
            .consumer
            .assignment()
            .map_or(0, |assignment| assignment.count());
        metrics::gauge!(PARTITIONS_ASSIGNED).set(assigned as f64);
        if assigned > 0 {
            self.readiness.set(JOINED);
            *unassigned_since = None;
            metrics::gauge!(UNASSIGNED_SECONDS).set(0.0);
            return;
        }
        let sink = Arc::clone(self);
        let topic_partitions = tokio::task::spawn_blocking(move || {
            sink.consumer
                .fetch_metadata(Some(&sink.statements_topic), Duration::from_secs(5))
                .map(|metadata| {
                    metadata
                        .topics()
                        .iter()
                        .map(|topic| topic.partitions().len())
                        .sum::<usize>()
                })
        })
        .await;
        let topic_partitions = match topic_partitions {
            Ok(Ok(partitions)) => partitions,
            Ok(Err(error)) => {
                tracing::debug!(%error, "topic metadata for the assignment watch");
                return;
            }
            Err(_) => return,
        };
        if topic_partitions == 0 {
            *unassigned_since = None;
            return;
        }
        let since = *unassigned_since.get_or_insert_with(Instant::now);
        let unassigned_for = since.elapsed();
        metrics::gauge!(UNASSIGNED_SECONDS).set(unassigned_for.as_secs_f64());
        if unassigned_for <= session_timeout {
            return;
        }
        tracing::error!(
            topic = %self.statements_topic,
            topic_partitions,
            unassigned_s = unassigned_for.as_secs(),
            "the sink has held no partition for longer than its session timeout while the topic has partitions; nothing is being stored. Rejoining the group (set sink.instance_id for static membership)"
        );
        metrics::counter!(REJOINS).increment(1);
        self.readiness.set(STUCK);
        self.consumer.unsubscribe();
        if let Err(error) = self.consumer.subscribe(&[&self.statements_topic]) {
            tracing::error!(%error, "subscribing again failed");
        }
        *unassigned_since = Some(Instant::now());
    }

    /// Stores statements and their attachments: the StatementRef rule's inherited filters,
    /// attachments first (once a statement is readable, so are its attachments), the rows, and
    /// then voiding, both what the rows void and the rows that a void stored earlier targets.
    async fn store_rows(
        &self,
        rows: &mut [StatementRow],
        attachments: &[AttachmentRow],
        stop: &CancellationToken,
    ) -> Result<(), Halt> {
        let started = Instant::now();
        if has_statement_refs(rows) {
            let outside = targets_outside(rows);
            let stored = if outside.is_empty() {
                HashMap::new()
            } else {
                self.retry(stop, "read_targets", || self.stored_targets(&outside))
                    .await?
            };
            inherit_target_matches(rows, &stored);
        }
        if !attachments.is_empty() {
            self.retry(stop, "insert_attachments", || {
                self.store.insert_attachments(attachments)
            })
            .await?;
        }
        if rows.is_empty() {
            return Ok(());
        }
        let targets_read = started.elapsed();
        self.retry(stop, "insert", || self.store.insert(rows))
            .await?;
        let insert_done = started.elapsed();
        // What the batch's voiding statements target. The targets not stored yet are recorded
        // in pending_voids first, then every target is voided: a target another sink stores
        // before the voiding is voided by it, one stored after the record finds the record.
        let voided = voided_targets(rows);
        if !voided.is_empty() {
            let void_rows = void_rows(rows);
            self.retry(stop, "record_pending_voids", || {
                self.record_pending_voids(&voided, &void_rows)
            })
            .await?;
            self.retry(stop, "void", || self.void_all(&voided)).await?;
        }
        let voids_done = started.elapsed();
        // Then the batch's own statements that a void recorded earlier waits for. Looked up
        // after the insert: a void recorded meanwhile by another sink either is seen here or,
        // recorded after this insert, is followed by that sink's voiding, which finds these rows.
        let voidable = voidable_ids(rows);
        let voided_earlier = self
            .retry(stop, "read_pending_voids", || {
                self.voided_earlier(&voidable)
            })
            .await?;
        if !voided_earlier.is_empty() {
            self.retry(stop, "void", || self.void_all(&voided_earlier))
                .await?;
        }
        metrics::histogram!(INSERT_SECONDS).record(started.elapsed().as_secs_f64());
        tracing::debug!(
            rows = rows.len(),
            voided = voided.values().map(Vec::len).sum::<usize>(),
            voided_late = voided_earlier.values().map(Vec::len).sum::<usize>(),
            read_targets_ms = targets_read.as_millis() as u64,
            insert_ms = (insert_done - targets_read).as_millis() as u64,
            void_ms = (voids_done - insert_done).as_millis() as u64,
            late_voids_ms = (started.elapsed() - voids_done).as_millis() as u64,
            "rows stored"
        );
        Ok(())
    }

    /// Records the voids among `void_rows` whose targets are not stored (yet).
    async fn record_pending_voids(
        &self,
        targets_by_tenant: &BTreeMap<String, Vec<Uuid>>,
        void_rows: &[VoidRow],
    ) -> Result<(), learnstream_store::Error> {
        let mut stored: HashSet<(&str, Uuid)> = HashSet::new();
        for (tenant, targets) in targets_by_tenant {
            for id in self.store.stored_ids(tenant, targets).await? {
                stored.insert((tenant.as_str(), id));
            }
        }
        let pending: Vec<VoidRow> = void_rows
            .iter()
            .filter(|row| !stored.contains(&(row.tenant.as_str(), row.target_id)))
            .cloned()
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        self.store.record_pending_voids(&pending).await
    }

    /// Per tenant, those of these statements that a voiding statement stored before them
    /// targets. One small query tells which tenants have such a void at all (normally none);
    /// only their statements are looked up.
    async fn voided_earlier(
        &self,
        ids: &BTreeMap<String, Vec<Uuid>>,
    ) -> Result<BTreeMap<String, Vec<Uuid>>, learnstream_store::Error> {
        let tenants: Vec<&str> = ids.keys().map(String::as_str).collect();
        let waiting = self.store.tenants_with_pending_voids(&tenants).await?;
        let mut voided = BTreeMap::new();
        for tenant in waiting {
            let Some(ids) = ids.get(&tenant) else {
                continue;
            };
            let found = self.store.voided_earlier(&tenant, ids).await?;
            if !found.is_empty() {
                voided.insert(tenant, found);
            }
        }
        Ok(voided)
    }

    fn add(
        &self,
        batch: &mut Batch,
        received: Result<BorrowedMessage<'_>, rdkafka::error::KafkaError>,
    ) {
        match received {
            Ok(message) => {
                if let Some(created) = message.timestamp().to_millis() {
                    let now = learnstream_xapi::now_micros() / 1000;
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
    /// to the configured cap. Gives up on an error that no retry can fix, and on `stop`.
    async fn retry<F, Fut, T, E>(
        &self,
        stop: &CancellationToken,
        operation: &'static str,
        attempt: F,
    ) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable,
    {
        let retried = retry_until_cancelled(
            stop,
            Backoff::capped_at(self.max_retry_backoff),
            attempt,
            E::is_permanent,
            |error, pause| {
                metrics::counter!(RETRIES, "operation" => operation).increment(1);
                tracing::warn!(%error, operation, retry_in_ms = pause.as_millis() as u64, "sink operation failed; retrying");
            },
        )
        .await;
        retried.map_err(|halted| match halted {
            Halted::Cancelled => Halt::Stopped,
            Halted::Permanent(error) => {
                metrics::counter!(PERMANENT_FAILURES, "operation" => operation).increment(1);
                tracing::warn!(%error, operation, "sink operation failed; a retry cannot fix it");
                Halt::Never(format!("{operation}: {error}"))
            }
        })
    }
}

/// Why a retried operation ended without its value.
#[derive(Debug)]
enum Halt {
    /// The sink is stopping; nothing is committed.
    Stopped,
    /// No retry can succeed, for this reason.
    Never(String),
}

/// An error that may or may not go away on a retry.
trait Retryable: Display {
    fn is_permanent(&self) -> bool;
}

impl Retryable for learnstream_store::Error {
    fn is_permanent(&self) -> bool {
        learnstream_store::Error::is_permanent(self)
    }
}

/// A dead letter that cannot be produced stays in hand: the sink stops rather than lose it.
impl Retryable for learnstream_kafka::ProduceError {
    fn is_permanent(&self) -> bool {
        false
    }
}
