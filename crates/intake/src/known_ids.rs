//! Which statements the LRS may already hold, answered from memory, so that the check a write
//! of client-set ids makes (Data 2.3.1: the same content is accepted once, other content is a
//! conflict) asks ClickHouse nothing about an id nobody has sent before: the common case, as
//! clients give every statement a fresh UUID. A ClickHouse lookup costs tens of microseconds of
//! its CPU per id and per part, which at thousands of statements a second is a third of a core
//! the pipeline needs for storing them.
//!
//! It is a Bloom filter over (tenant, id) of every statement stored or accepted. It may say
//! "maybe" of an id it never saw (about one in 10,000), never "no" of one it did: "maybe"
//! sends the id to the store as before, "no" spares the query. It is filled in an order that
//! leaves no gap:
//!
//! 1. the sink group's committed offsets are read, and a consumer of the statements topic is
//!    assigned at them (every message below them is stored in ClickHouse);
//! 2. the key of every stored statement is read from the lookup table (two narrow columns);
//! 3. the consumer follows the topic from those offsets for as long as the process runs, so a
//!    statement accepted by any intake process is known here once it is in Kafka. What this
//!    process accepts it also adds itself, before it produces it.
//!
//! A "no" is trusted only once every message below the topic's end as it was when the check
//! began is in the filter: read by the consumer, or produced by this process (whose ids it added
//! before producing, so the consumer need not read them first). That is a barrier that
//! concurrent checks share: one ListOffsets request, then no wait while this process is the
//! only one producing, and otherwise until the consumer has read the other processes' messages.
//! So the filter never answers "no" for a statement that any intake accepted before the check
//! began, and in particular for none that ClickHouse holds: a check misses nothing that asking
//! ClickHouse alone would have found. A barrier not reached within `http.store_wait_ms` (Kafka
//! away) sends every id to the store.
//!
//! Until the consumer has reached the end of the topic as it was after the scan, every answer is
//! "maybe": the checks ask the store, as they would without the filter. A failed start (Kafka or
//! ClickHouse down) is tried again, with the same fallback meanwhile; so is a topic that gained
//! partitions (checked every 30 s), which is then loaded again.
//!
//! The filter grows in layers (a scalable Bloom filter): each new layer holds twice the ids of
//! the one before at half its false-positive rate, so the rate stays below 0.02% in all, at
//! about 2.4 bytes per stored statement (24 MB at 10 million). The rate is that low because a
//! request carries many ids and waits for a query if any one of them is a false positive: at
//! 1% a request of 50 statements would still wait for one in four times. Past
//! `http.known_ids_max_mib` no layer is added and the last one overfills: it answers "maybe"
//! more often, which is slower, never wrong. `0` turns the filter off.
//!
//! Not closed, as before the filter: an id whose first statement is accepted but not yet stored
//! is "maybe" here and unknown to ClickHouse, so the same id with other content sent meanwhile
//! (within the sink's delay, in throughput mode) is accepted too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use fastbloom::AtomicBloomFilter;
use learnstream_kafka::{GroupProgress, KafkaConfig, decode_batch};
use learnstream_store::StatementStore;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::metrics::{KNOWN_IDS, KNOWN_IDS_BARRIER_SECONDS, KNOWN_IDS_BYTES, KNOWN_IDS_READY};

/// Ids the first layer holds at its false-positive rate, at least.
const FIRST_LAYER_IDS: u64 = 1_000_000;
/// The first layer's false-positive rate; each later layer has half the one before.
const FIRST_LAYER_FALSE_POSITIVES: f64 = 0.000_1;
/// How long one Kafka metadata or offset request may take.
const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the broker may hold the consumer's fetch while the consumer is at the end of the
/// topic. Apache Kafka answers a held fetch as soon as a message arrives, so this only bounds
/// an idle consumer's requests; each costs the development broker (tansu 0.6) a few
/// milliseconds of CPU. A barrier waited 23 ms on average under load with 50 ms and 18–23 ms
/// with 10 ms: the wait is the broker's answers, not this.
const FETCH_WAIT_MS: &str = "50";
/// How long one poll of the consumer waits at most: how soon a barrier is seen.
const POLL: Duration = Duration::from_millis(5);
/// The most offsets of its own messages this process remembers per partition beyond the
/// consumer's position; past it the oldest are forgotten, and a barrier waits for the consumer
/// to read them instead. Reached only if the consumer stalls while this process produces.
const MAX_OWN_OFFSETS: usize = 100_000;
/// How often an idle barrier thread checks whether the filter is gone.
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// How often the follower checks that the statements topic has the partitions it follows.
const PARTITIONS_CHECK: Duration = Duration::from_secs(30);
/// How long a failed start waits before it is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// The filter of known statements. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KnownIds {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    layers: RwLock<Vec<Layer>>,
    /// Every stored and accepted statement is in the filter.
    ready: AtomicBool,
    /// The most the layers may take, in bytes.
    max_bytes: u64,
    /// Checks waiting for the consumer to reach the end of the topic as it is now.
    barriers: Mutex<Barriers>,
    /// Signalled when a check starts waiting.
    barrier_asked: Condvar,
}

/// Where each partition of the statements topic ends (its next offset).
type TopicEnd = BTreeMap<i32, i64>;

/// Checks waiting for the follower, in two stages.
#[derive(Debug, Default)]
struct Barriers {
    /// Waiting for the end of the topic to be read (by the barrier thread).
    asked: Vec<oneshot::Sender<()>>,
    /// Waiting for the follower to reach the end they were given, by partition.
    set: Vec<(TopicEnd, Vec<oneshot::Sender<()>>)>,
    /// The partitions the follower follows (empty until it is assigned).
    partitions: Vec<i32>,
    /// Where the follower is, by partition: every message below is in the filter.
    position: TopicEnd,
    /// Offsets of this process's own messages at or past the follower's position, by
    /// partition: their statements are in the filter too.
    own: BTreeMap<i32, BTreeSet<i64>>,
}

impl Barriers {
    /// Whether every message below `end` is in the filter.
    fn reached(&self, end: &TopicEnd) -> bool {
        end.iter().all(|(partition, &high)| {
            let at = self.position.get(partition).copied().unwrap_or(0);
            at >= high
                || self.own.get(partition).is_some_and(|own| {
                    usize::try_from(high - at)
                        .is_ok_and(|gap| own.range(at..high).take(gap).count() == gap)
                })
        })
    }

    /// Lets go of the checks whose barrier is reached.
    fn release(&mut self) {
        let mut set = std::mem::take(&mut self.set);
        set.retain_mut(|(end, waiting)| {
            if !self.reached(end) {
                return true;
            }
            for barrier in waiting.drain(..) {
                let _ = barrier.send(());
            }
            false
        });
        self.set = set;
    }

    /// Moves the follower to `position`, forgetting the own offsets below it.
    fn advance(&mut self, position: &TopicEnd) {
        for (&partition, &at) in position {
            self.position.insert(partition, at);
            if let Some(own) = self.own.get_mut(&partition) {
                *own = own.split_off(&at);
            }
        }
    }
}

#[derive(Debug)]
struct Layer {
    filter: AtomicBloomFilter,
    capacity: u64,
    inserted: AtomicU64,
    false_positives: f64,
}

impl Layer {
    fn new(capacity: u64, false_positives: f64) -> Layer {
        let filter = AtomicBloomFilter::with_false_pos(false_positives)
            .expected_items(usize::try_from(capacity).unwrap_or(usize::MAX));
        Layer {
            filter,
            capacity,
            inserted: AtomicU64::new(0),
            false_positives,
        }
    }

    fn bytes(&self) -> u64 {
        self.filter.num_bits() as u64 / 8
    }

    fn next(&self) -> Layer {
        Layer::new(self.capacity.saturating_mul(2), self.false_positives / 2.0)
    }
}

/// Why the filter could not start.
#[derive(Debug, thiserror::Error)]
pub enum KnownIdsError {
    #[error("creating the kafka consumer that follows the statements topic: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("starting the thread that fills the filter of known ids: {0}")]
    Thread(#[from] std::io::Error),
}

impl KnownIds {
    /// A filter that answers "maybe" for every id: every check asks the store.
    pub fn disabled() -> KnownIds {
        KnownIds::empty(0)
    }

    fn empty(max_bytes: u64) -> KnownIds {
        KnownIds {
            inner: Arc::new(Inner {
                layers: RwLock::new(Vec::new()),
                ready: AtomicBool::new(false),
                max_bytes,
                barriers: Mutex::new(Barriers::default()),
                barrier_asked: Condvar::new(),
            }),
        }
    }

    /// Starts filling the filter (module docs) on a thread of its own, which ends once every
    /// clone is dropped; `max_mib` 0 is [`KnownIds::disabled`]. Call it on the runtime the
    /// store's queries may run on.
    pub fn start(
        kafka: &KafkaConfig,
        sink_group_id: &str,
        store: StatementStore,
        max_mib: u64,
    ) -> Result<KnownIds, KnownIdsError> {
        if max_mib == 0 {
            return Ok(KnownIds::disabled());
        }
        // Two clients: one in the sink's group only to read its committed offsets (as the
        // progress watcher does, never joining), and the follower, under a group id of its own
        // that it never joins or commits to (librdkafka wants one for an assignment), so that
        // nothing it does can touch the sink's group.
        let offsets = GroupProgress::of_statements(kafka, sink_group_id)?;
        let own_group = format!("{sink_group_id}.known-ids");
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", &own_group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", FETCH_WAIT_MS)
            .create()?;
        let known = KnownIds::empty(max_mib.saturating_mul(1024 * 1024));
        let follower = Follower {
            known: Arc::downgrade(&known.inner),
            offsets,
            consumer,
            topic: kafka.statements_topic.clone(),
            store,
            runtime: tokio::runtime::Handle::current(),
        };
        let ends = Ends {
            known: Arc::downgrade(&known.inner),
            consumer: kafka.client_config().set("group.id", &own_group).create()?,
            topic: kafka.statements_topic.clone(),
        };
        std::thread::Builder::new()
            .name("learnstream-known-ids".to_owned())
            .spawn(move || follower.run())?;
        std::thread::Builder::new()
            .name("learnstream-known-ids-ends".to_owned())
            .spawn(move || ends.run())?;
        Ok(known)
    }

    /// Waits until every statement accepted before the call is in the filter: the consumer has
    /// read the statements topic up to its end as of now. False if the filter is not loaded or
    /// the consumer did not get there within `wait`; then its "no" is not to be trusted.
    pub async fn caught_up(&self, wait: Duration) -> bool {
        if !self.inner.ready.load(Ordering::Acquire) {
            return false;
        }
        let started = Instant::now();
        let (reached, barrier) = oneshot::channel();
        self.inner.lock_barriers().asked.push(reached);
        self.inner.barrier_asked.notify_one();
        let reached = matches!(tokio::time::timeout(wait, barrier).await, Ok(Ok(())));
        metrics::histogram!(KNOWN_IDS_BARRIER_SECONDS).record(started.elapsed().as_secs_f64());
        reached
    }

    /// False only if no statement of `tenant` with this id is stored or accepted; trustworthy
    /// as of the last [`KnownIds::caught_up`].
    pub fn may_hold(&self, tenant: &str, id: Uuid) -> bool {
        if !self.inner.ready.load(Ordering::Acquire) {
            return true;
        }
        let key = (tenant, id.as_u128());
        self.inner
            .read_layers()
            .iter()
            .any(|layer| layer.filter.contains(&key))
    }

    /// Adds a statement accepted or stored.
    pub fn insert(&self, tenant: &str, id: Uuid) {
        self.inner.insert(tenant, id);
    }

    /// Records where a message of this process's landed, once every statement in it was
    /// [inserted](KnownIds::insert): a barrier need not wait for the consumer to read it.
    pub fn produced(&self, partition: i32, offset: i64) {
        if self.inner.max_bytes == 0 {
            return;
        }
        let mut barriers = self.inner.lock_barriers();
        if barriers
            .position
            .get(&partition)
            .is_some_and(|&at| offset < at)
        {
            return;
        }
        let own = barriers.own.entry(partition).or_default();
        own.insert(offset);
        if own.len() > MAX_OWN_OFFSETS {
            own.pop_first();
        }
        barriers.release();
    }
}

impl Inner {
    fn lock_barriers(&self) -> MutexGuard<'_, Barriers> {
        self.barriers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_layers(&self) -> std::sync::RwLockReadGuard<'_, Vec<Layer>> {
        self.layers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(&self, tenant: &str, id: Uuid) {
        if self.max_bytes == 0 {
            return;
        }
        let key = (tenant, id.as_u128());
        {
            let layers = self.read_layers();
            if let Some(last) = layers.last()
                && (last.inserted.load(Ordering::Relaxed) < last.capacity
                    || !self.may_grow(&layers, last))
            {
                last.filter.insert(&key);
                last.inserted.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut layers = self
            .layers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let grown = match layers.last() {
            None => Some(Layer::new(FIRST_LAYER_IDS, FIRST_LAYER_FALSE_POSITIVES)),
            Some(last)
                if last.inserted.load(Ordering::Relaxed) >= last.capacity
                    && self.may_grow(&layers, last) =>
            {
                Some(last.next())
            }
            Some(_) => None,
        };
        if let Some(layer) = grown {
            layers.push(layer);
            metrics::gauge!(KNOWN_IDS_BYTES)
                .set(layers.iter().map(Layer::bytes).sum::<u64>() as f64);
        }
        let last = layers
            .last()
            .expect("a layer was just made if there was none");
        last.filter.insert(&key);
        last.inserted.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a layer after `last` fits in the memory allowed.
    fn may_grow(&self, layers: &[Layer], last: &Layer) -> bool {
        let used: u64 = layers.iter().map(Layer::bytes).sum();
        used.saturating_add(last.bytes().saturating_mul(2)) <= self.max_bytes
    }

    /// Makes the first layer hold `stored` ids (with room to grow) if there is none yet.
    fn size_for(&self, stored: u64) {
        let mut layers = self
            .layers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if layers.is_empty() {
            let capacity = stored.saturating_add(stored / 4).max(FIRST_LAYER_IDS);
            layers.push(Layer::new(capacity, FIRST_LAYER_FALSE_POSITIVES));
            metrics::gauge!(KNOWN_IDS_BYTES).set(layers[0].bytes() as f64);
        }
    }

    fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
        metrics::gauge!(KNOWN_IDS_READY).set(if ready { 1.0 } else { 0.0 });
    }

    fn known(&self) -> u64 {
        self.read_layers()
            .iter()
            .map(|layer| layer.inserted.load(Ordering::Relaxed))
            .sum()
    }
}

/// Fills the filter: the thread of [`KnownIds::start`].
struct Follower {
    known: Weak<Inner>,
    /// The sink group's committed offsets.
    offsets: GroupProgress,
    /// Under a group id of its own, never joined: follows the topic.
    consumer: BaseConsumer,
    topic: String,
    store: StatementStore,
    runtime: tokio::runtime::Handle,
}

/// Only the id of a statement in a message.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

impl Follower {
    fn run(self) {
        loop {
            match self.follow() {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "filling the filter of known statement ids; checks ask the store meanwhile");
                    std::thread::sleep(RETRY);
                    if self.known.strong_count() == 0 {
                        return;
                    }
                }
            }
        }
    }

    /// Scans the store, then follows the topic until the filter is dropped.
    fn follow(&self) -> Result<(), String> {
        let partitions = self.partitions()?;
        if partitions.is_empty() {
            return Err(format!("topic {} has no partitions", self.topic));
        }
        let mut position = self.assign_at_committed(&partitions)?;
        let Some(scanned) = self.scan()? else {
            return Ok(());
        };
        // Once the consumer is at the end of the topic as it is now, nothing accepted is missing.
        let end = end_offsets(&self.consumer, &self.topic, &partitions)?;

        let mut ready = false;
        let mut partitions_checked = Instant::now();
        if let Some(known) = self.known.upgrade() {
            known.lock_barriers().partitions.clone_from(&partitions);
        }
        loop {
            let mut message = self.consumer.poll(POLL);
            let Some(known) = self.known.upgrade() else {
                return Ok(());
            };
            // Everything already fetched, before looking at the barriers.
            while let Some(polled) = message {
                match polled {
                    Ok(polled) => {
                        if let Some(payload) = polled.payload() {
                            add_message(&known, payload);
                        }
                        position.insert(polled.partition(), polled.offset() + 1);
                    }
                    Err(error) => {
                        // librdkafka reconnects by itself; while Kafka is away no intake can
                        // accept a statement either.
                        tracing::warn!(%error, "following the statements topic for known ids");
                    }
                }
                message = self.consumer.poll(Duration::ZERO);
            }
            {
                let mut barriers = known.lock_barriers();
                barriers.advance(&position);
                barriers.release();
            }
            if !ready && reached(&position, &end) {
                ready = true;
                known.set_ready(true);
                tracing::info!(
                    scanned,
                    known = known.known(),
                    topic_end = ?end,
                    "known statement ids loaded: checks of new client-set ids no longer ask the store"
                );
            }
            metrics::gauge!(KNOWN_IDS).set(known.known() as f64);
            if partitions_checked.elapsed() >= PARTITIONS_CHECK {
                partitions_checked = Instant::now();
                // A metadata request that fails is asked again at the next check, not answered
                // with a new scan of the whole store.
                let now = match self.partitions() {
                    Ok(now) => now.len(),
                    Err(error) => {
                        tracing::warn!(%error, "checking the statements topic's partitions");
                        partitions.len()
                    }
                };
                if now != partitions.len() {
                    // The new partitions are not followed: load again, asking the store
                    // meanwhile.
                    known.set_ready(false);
                    return Err(format!(
                        "the statements topic has {now} partitions now, {} before",
                        partitions.len()
                    ));
                }
            }
        }
    }

    /// Assigns the consumer at the sink group's committed offsets (below them, everything is in
    /// ClickHouse), or where a partition starts if the sink has committed none. Returns them.
    fn assign_at_committed(&self, partitions: &[i32]) -> Result<BTreeMap<i32, i64>, String> {
        let committed = self
            .offsets
            .committed(partitions.iter().copied(), KAFKA_TIMEOUT)
            .map_err(|error| format!("reading the sink's committed offsets: {error}"))?;
        let mut position = BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for &partition in partitions {
            let start = match committed.get(&partition) {
                Some(&offset) => offset,
                None => self.low_watermark(partition)?,
            };
            position.insert(partition, start);
            assignment
                .add_partition_offset(&self.topic, partition, Offset::Offset(start))
                .map_err(|error| format!("assigning partition {partition}: {error}"))?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(|error| format!("assigning the statements topic: {error}"))?;
        Ok(position)
    }

    /// Adds every stored statement; `None` if the filter is gone meanwhile.
    fn scan(&self) -> Result<Option<u64>, String> {
        let Some(known) = self.known.upgrade() else {
            return Ok(None);
        };
        let stored = self
            .runtime
            .block_on(self.store.stored_key_count())
            .map_err(|error| format!("counting the stored statements: {error}"))?;
        known.size_for(stored);
        self.runtime
            .block_on(
                self.store
                    .for_each_stored_key(|tenant, id| known.insert(tenant, id)),
            )
            .map(Some)
            .map_err(|error| format!("reading the stored statements' ids: {error}"))
    }

    /// The partitions the statements topic has now.
    fn partitions(&self) -> Result<Vec<i32>, String> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(&self.topic), KAFKA_TIMEOUT)
            .map_err(|error| format!("reading the metadata of {}: {error}", self.topic))?;
        Ok(metadata
            .topics()
            .iter()
            .flat_map(|topic| topic.partitions().iter().map(|partition| partition.id()))
            .collect())
    }

    fn low_watermark(&self, partition: i32) -> Result<i64, String> {
        self.consumer
            .fetch_watermarks(&self.topic, partition, KAFKA_TIMEOUT)
            .map(|(low, _)| low)
            .map_err(|error| format!("reading the start of partition {partition}: {error}"))
    }
}

/// Where each of `partitions` of `topic` ends now.
fn end_offsets(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, i64>, String> {
    // One ListOffsets request for every partition (per broker): "the offset of the latest
    // time" is where each partition ends.
    let mut latest = TopicPartitionList::new();
    for &partition in partitions {
        latest
            .add_partition_offset(topic, partition, Offset::End)
            .map_err(|error| format!("asking for the end of partition {partition}: {error}"))?;
    }
    let answered = consumer
        .offsets_for_times(latest, KAFKA_TIMEOUT)
        .map_err(|error| format!("reading the end of {topic}: {error}"))?;
    let mut end = BTreeMap::new();
    for element in answered.elements() {
        match element.offset() {
            Offset::Offset(offset) => end.insert(element.partition(), offset),
            other => {
                return Err(format!(
                    "the end of partition {} came back as {other:?}",
                    element.partition()
                ));
            }
        };
    }
    if end.len() != partitions.len() {
        return Err(format!(
            "the end of {topic} came back for {} of {} partitions",
            end.len(),
            partitions.len()
        ));
    }
    Ok(end)
}

/// Reads where the statements topic ends for the checks waiting on a barrier: the second
/// thread of [`KnownIds::start`], so that the follower keeps consuming meanwhile. The checks
/// that start while one read is under way share the next one.
struct Ends {
    known: Weak<Inner>,
    consumer: BaseConsumer,
    topic: String,
}

impl Ends {
    fn run(self) {
        while let Some(known) = self.known.upgrade() {
            let Some((asked, partitions)) = Ends::wait_for_checks(&known) else {
                continue;
            };
            match end_offsets(&self.consumer, &self.topic, &partitions) {
                Ok(end) => {
                    let mut barriers = known.lock_barriers();
                    barriers.set.push((end, asked));
                    barriers.release();
                }
                // Dropped, the waiting checks do not trust the filter this time.
                Err(error) => tracing::warn!(%error, "setting a barrier for known ids"),
            }
        }
    }

    /// The checks waiting and the partitions to read, once there are any.
    fn wait_for_checks(known: &Inner) -> Option<(Vec<oneshot::Sender<()>>, Vec<i32>)> {
        let mut barriers = known.lock_barriers();
        if barriers.asked.is_empty() {
            barriers = known
                .barrier_asked
                .wait_timeout(barriers, IDLE_CHECK)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        if barriers.asked.is_empty() || barriers.partitions.is_empty() {
            return None;
        }
        let partitions = barriers.partitions.clone();
        Some((std::mem::take(&mut barriers.asked), partitions))
    }
}

/// Whether the consumer has read every partition up to `end`.
fn reached(position: &BTreeMap<i32, i64>, end: &BTreeMap<i32, i64>) -> bool {
    end.iter()
        .all(|(partition, high)| position.get(partition).is_some_and(|at| at >= high))
}

/// Adds the statements of one message of the statements topic. A message that does not decode
/// is the sink's to dead-letter; none of it was stored.
fn add_message(known: &Inner, payload: &[u8]) {
    let Ok(batch) = decode_batch(payload) else {
        return;
    };
    for statement in batch.statements {
        let id = serde_json::from_str::<IdOnly<'_>>(statement.get())
            .ok()
            .and_then(|only| Uuid::try_parse(&only.id).ok());
        if let Some(id) = id {
            known.insert(&batch.tenant, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(max_bytes: u64) -> KnownIds {
        let known = KnownIds::empty(max_bytes);
        known.inner.ready.store(true, Ordering::Release);
        known
    }

    #[test]
    fn an_id_inserted_is_held_for_its_tenant_only() {
        let known = ready(u64::MAX);
        let id = Uuid::new_v4();
        known.insert("a", id);
        assert!(known.may_hold("a", id));
        let strangers = (0..10_000)
            .filter(|_| known.may_hold("a", Uuid::new_v4()))
            .count();
        assert!(strangers < 300, "{strangers} of 10,000 new ids said maybe");
        let other_tenant = (0..10_000)
            .filter(|_| {
                let id = Uuid::new_v4();
                known.insert("a", id);
                known.may_hold("b", id)
            })
            .count();
        assert!(
            other_tenant < 300,
            "{other_tenant} of 10,000 said maybe for tenant b"
        );
    }

    #[tokio::test]
    async fn until_it_is_loaded_every_id_may_be_held_and_no_barrier_is_reached() {
        let known = KnownIds::empty(u64::MAX);
        assert!(known.may_hold("a", Uuid::new_v4()));
        assert!(!known.caught_up(Duration::from_secs(5)).await);
        let disabled = KnownIds::disabled();
        assert!(disabled.may_hold("a", Uuid::new_v4()));
        assert!(!disabled.caught_up(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_barrier_nobody_reaches_is_not_trusted() {
        let known = ready(u64::MAX);
        assert!(!known.caught_up(Duration::from_millis(20)).await);
    }

    /// A barrier at `end`, as the barrier thread sets one.
    fn barrier_at(known: &KnownIds, end: &[(i32, i64)]) -> oneshot::Receiver<()> {
        let (reached, barrier) = oneshot::channel();
        let mut barriers = known.inner.lock_barriers();
        barriers
            .set
            .push((end.iter().copied().collect(), vec![reached]));
        barriers.release();
        barrier
    }

    #[test]
    fn a_barrier_past_only_this_process_s_own_messages_needs_no_wait() {
        let known = ready(u64::MAX);
        known
            .inner
            .lock_barriers()
            .advance(&[(0, 10), (1, 4)].into());
        known.produced(0, 10);
        known.produced(0, 11);
        let mut barrier = barrier_at(&known, &[(0, 12), (1, 4)]);
        assert_eq!(barrier.try_recv(), Ok(()));
    }

    #[test]
    fn a_message_of_another_process_holds_a_barrier_until_the_consumer_reads_it() {
        let known = ready(u64::MAX);
        known.inner.lock_barriers().advance(&[(0, 10)].into());
        // Offset 11 is another process's message.
        known.produced(0, 10);
        known.produced(0, 12);
        let mut barrier = barrier_at(&known, &[(0, 13)]);
        assert!(barrier.try_recv().is_err());
        {
            let mut barriers = known.inner.lock_barriers();
            barriers.advance(&[(0, 12)].into());
            barriers.release();
            assert_eq!(barriers.own[&0], [12].into());
        }
        assert_eq!(barrier.try_recv(), Ok(()));
    }

    #[test]
    fn an_own_message_the_consumer_has_read_is_not_remembered() {
        let known = ready(u64::MAX);
        known.inner.lock_barriers().advance(&[(0, 10)].into());
        known.produced(0, 9);
        assert!(known.inner.lock_barriers().own.is_empty());
        assert!(barrier_at(&known, &[(0, 11)]).try_recv().is_err());
    }

    #[test]
    fn past_its_first_layer_it_grows_and_forgets_nothing() {
        let known = ready(u64::MAX);
        known.inner.size_for(0);
        let ids: Vec<Uuid> = (0..2_500_000).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            known.insert("t", *id);
        }
        assert_eq!(known.inner.read_layers().len(), 2);
        assert!(ids.iter().all(|id| known.may_hold("t", *id)));
        let strangers = (0..100_000)
            .filter(|_| known.may_hold("t", Uuid::new_v4()))
            .count();
        assert!(
            strangers < 2_000,
            "{strangers} of 100,000 new ids said maybe"
        );
    }

    #[test]
    fn at_its_memory_bound_the_last_layer_overfills_and_forgets_nothing() {
        let known = ready(1);
        let ids: Vec<Uuid> = (0..1_500_000).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            known.insert("t", *id);
        }
        assert_eq!(known.inner.read_layers().len(), 1);
        assert!(ids.iter().all(|id| known.may_hold("t", *id)));
    }

    #[test]
    fn a_message_adds_its_statements_under_its_tenant() {
        let known = ready(u64::MAX);
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let statements = [
            format!(r#"{{"id":"{first}","verb":{{"id":"x"}}}}"#),
            format!(r#"{{"actor":{{}},"id":"{second}"}}"#),
        ];
        let payload = learnstream_kafka::encode_batch(
            "district-7",
            statements.iter().map(String::as_str),
            &[],
        );
        add_message(&known.inner, &payload);
        assert!(known.may_hold("district-7", first));
        assert!(known.may_hold("district-7", second));
        add_message(&known.inner, b"not a batch");
    }
}
