//! How far written statements are readable, for an LRS whose writes reach ClickHouse through
//! Kafka: read-your-writes and `X-Experience-API-Consistent-Through`.
//!
//! The sink commits a partition's offset only after ClickHouse acknowledged every message before
//! it, so the sink group's committed offsets say which acknowledged writes a GET can see. A
//! thread reads them (an OffsetFetch for the group, without joining it) every `poll_interval`
//! while this process has writes that are not readable yet, and sleeps otherwise. A sink in the
//! same process (`learnstream serve`) also reports each stored batch directly
//! ([`Progress::stored_below`]), which spares a write the commit and the next poll.
//!
//! Each write is registered before its `stored` time is taken ([`Progress::begin`]), so the
//! oldest unreadable write bounds Consistent-Through from below: every statement this process
//! stored before that instant is readable. Other intake processes' writes are not seen here;
//! with several intakes, each answers for its own writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use learnstream_kafka::{GroupProgress, KafkaConfig};
use learnstream_xapi::{from_unix_micros, truncate_to_micros, unix_micros};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::metrics::{READ_YOUR_WRITES_SECONDS, READ_YOUR_WRITES_TIMEOUTS};

/// Why the progress watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("creating the kafka client that reads the sink's progress: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("starting the progress thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// How writes wait until they are readable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsistencyConfig {
    /// Longest a read-your-writes request waits for its statements to become readable. The
    /// statements are durable in Kafka by then; past this the request is answered anyway,
    /// logged and counted in `learnstream_read_your_writes_timeouts_total`.
    pub read_your_writes_timeout_ms: u64,
    /// How often the sink group's committed offsets are read while writes wait.
    pub poll_interval_ms: u64,
}

impl Default for ConsistencyConfig {
    fn default() -> Self {
        ConsistencyConfig {
            read_your_writes_timeout_ms: 10_000,
            poll_interval_ms: 2,
        }
    }
}

impl ConsistencyConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.read_your_writes_timeout_ms == 0 || self.poll_interval_ms == 0 {
            return Err(
                "consistency.read_your_writes_timeout_ms and poll_interval_ms: must be above 0"
                    .to_owned(),
            );
        }
        Ok(())
    }

    fn read_your_writes_timeout(&self) -> Duration {
        Duration::from_millis(self.read_your_writes_timeout_ms)
    }
}

/// Tracks this process's writes until the sink has stored them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Progress {
    shared: Arc<Shared>,
    read_your_writes_timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    writes: Mutex<Writes>,
    /// Signalled when a write is delivered: the watcher has something to wait for.
    delivered: Condvar,
    /// Per partition, the sink group's committed offset, or a sink in this process's stored one:
    /// every message below it is readable.
    committed: watch::Sender<BTreeMap<i32, i64>>,
}

#[derive(Debug, Default)]
struct Writes {
    next_ticket: u64,
    /// Writes not yet readable, by (stored time in µs, ticket): the first is the oldest.
    unreadable: BTreeMap<(i64, u64), Option<Position>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    partition: i32,
    offset: i64,
}

impl Progress {
    /// Starts the watcher thread for the statements topic and the sink's consumer group; it
    /// ends once every `Progress` clone is dropped.
    pub fn start(
        kafka: &KafkaConfig,
        sink_group_id: &str,
        config: &ConsistencyConfig,
    ) -> Result<Progress, ProgressError> {
        let sink = GroupProgress::of_statements(kafka, sink_group_id)?;
        let shared = Arc::new(Shared {
            writes: Mutex::new(Writes::default()),
            delivered: Condvar::new(),
            committed: watch::Sender::new(BTreeMap::new()),
        });
        let watcher = Watcher {
            shared: Arc::downgrade(&shared),
            sink,
            poll_interval: Duration::from_millis(config.poll_interval_ms),
        };
        std::thread::Builder::new()
            .name("learnstream-progress".to_owned())
            .spawn(move || watcher.run())?;
        Ok(Progress {
            shared,
            read_your_writes_timeout: config.read_your_writes_timeout(),
        })
    }

    /// Registers a write about to be stored and takes its `stored` time. Dropping the returned
    /// [`Write`] without [`Write::delivered`] (the produce failed) forgets it.
    pub fn begin(&self) -> Write {
        let mut writes = self.shared.lock();
        // Taken under the lock, so a Consistent-Through computed meanwhile sees this write.
        let stored = truncate_to_micros(OffsetDateTime::now_utc());
        let ticket = writes.next_ticket;
        writes.next_ticket += 1;
        let key = (unix_micros(stored), ticket);
        writes.unreadable.insert(key, None);
        Write {
            shared: Arc::clone(&self.shared),
            key,
            stored,
            read_your_writes_timeout: self.read_your_writes_timeout,
            delivered: false,
        }
    }

    /// A sink in this process stored every message of `partition` below `next_offset` in
    /// ClickHouse: they are readable now, before the commit that tells other processes.
    pub fn stored_below(&self, partition: i32, next_offset: i64) {
        self.shared
            .readable_below(&BTreeMap::from([(partition, next_offset)]));
    }

    /// Every statement this process stored before this instant is readable.
    pub fn consistent_through(&self) -> OffsetDateTime {
        let writes = self.shared.lock();
        match writes.unreadable.keys().next() {
            Some(&(oldest_micros, _)) => from_unix_micros(oldest_micros - 1),
            None => truncate_to_micros(OffsetDateTime::now_utc()),
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Writes> {
        // A panic while holding the lock cannot leave the map half-changed: every change is
        // one insert or remove.
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request's statements on their way to ClickHouse.
#[derive(Debug)]
pub struct Write {
    shared: Arc<Shared>,
    key: (i64, u64),
    stored: OffsetDateTime,
    read_your_writes_timeout: Duration,
    delivered: bool,
}

impl Write {
    /// The `stored` time of the request's statements.
    pub fn stored(&self) -> OffsetDateTime {
        self.stored
    }

    /// Kafka acknowledged the statements at this position; from now on the watcher tracks
    /// them until the sink has stored them.
    pub fn delivered(mut self, partition: i32, offset: i64) -> Delivered {
        self.delivered = true;
        let position = Position { partition, offset };
        self.shared
            .lock()
            .unreadable
            .insert(self.key, Some(position));
        self.shared.delivered.notify_one();
        Delivered {
            committed: self.shared.committed.subscribe(),
            position,
            timeout: self.read_your_writes_timeout,
        }
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        if !self.delivered {
            self.shared.lock().unreadable.remove(&self.key);
        }
    }
}

/// A write Kafka acknowledged.
#[derive(Debug)]
pub struct Delivered {
    committed: watch::Receiver<BTreeMap<i32, i64>>,
    position: Position,
    timeout: Duration,
}

impl Delivered {
    /// Waits until a GET can read the statements, up to the configured timeout. Returns false
    /// on timeout (the statements stay durable in Kafka and become readable later).
    pub async fn readable(mut self) -> bool {
        let Position { partition, offset } = self.position;
        let wait = self.committed.wait_for(|committed| {
            committed
                .get(&partition)
                .is_some_and(|&committed| committed > offset)
        });
        let started = std::time::Instant::now();
        match tokio::time::timeout(self.timeout, wait).await {
            Ok(Ok(_)) => {
                metrics::histogram!(READ_YOUR_WRITES_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                true
            }
            // The watcher is gone only when the process shuts down.
            Ok(Err(_)) => false,
            Err(_) => {
                metrics::counter!(READ_YOUR_WRITES_TIMEOUTS).increment(1);
                tracing::warn!(
                    partition,
                    offset,
                    "statements durable in kafka but not yet readable; answering anyway"
                );
                false
            }
        }
    }
}

struct Watcher {
    shared: Weak<Shared>,
    sink: GroupProgress,
    poll_interval: Duration,
}

/// How long one read of the committed offsets may take before it is tried again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an idle watcher checks whether its `Progress` is gone.
const IDLE_CHECK: Duration = Duration::from_millis(500);

impl Watcher {
    fn run(self) {
        loop {
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let partitions = {
                let writes = shared.lock();
                let writes = if writes.unreadable.values().any(Option::is_some) {
                    writes
                } else {
                    shared
                        .delivered
                        .wait_timeout(writes, IDLE_CHECK)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                };
                waiting_partitions(&writes)
            };
            if !partitions.is_empty() {
                self.refresh(&shared, &partitions);
                drop(shared);
                std::thread::sleep(self.poll_interval);
            }
        }
    }

    fn refresh(&self, shared: &Shared, partitions: &BTreeSet<i32>) {
        let updates = match self
            .sink
            .committed(partitions.iter().copied(), FETCH_TIMEOUT)
        {
            Ok(committed) => committed,
            Err(error) => {
                tracing::warn!(%error, "reading the sink's committed offsets");
                return;
            }
        };
        shared.readable_below(&updates);
    }
}

impl Shared {
    /// Every message below `next_offset` of each partition is readable.
    fn readable_below(&self, updates: &BTreeMap<i32, i64>) {
        {
            let mut writes = self.lock();
            writes.unreadable.retain(|_, position| match position {
                Some(Position { partition, offset }) => updates
                    .get(partition)
                    .is_none_or(|&readable| readable <= *offset),
                None => true,
            });
        }
        self.committed.send_modify(|committed| {
            for (&partition, &offset) in updates {
                let entry = committed.entry(partition).or_insert(offset);
                *entry = (*entry).max(offset);
            }
        });
    }
}

fn waiting_partitions(writes: &Writes) -> BTreeSet<i32> {
    writes
        .unreadable
        .values()
        .flatten()
        .map(|position| position.partition)
        .collect()
}
