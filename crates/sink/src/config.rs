use std::time::Duration;

use serde::Deserialize;

/// How the sink batches and retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// Kafka consumer group; sink processes in one group share the partitions.
    pub group_id: String,
    /// A batch is inserted once it holds this many statements...
    pub max_batch_rows: usize,
    /// ...or this many bytes of statements...
    pub max_batch_bytes: usize,
    /// ...or this long after its first message arrived, whichever comes first.
    pub max_batch_wait_ms: u64,
    /// Once nothing more is waiting in Kafka, a batch waits this long for more before it is
    /// stored. 0 (the default) stores it at once: the lowest latency from POST to readable,
    /// which read-your-writes requests wait for. Raise it for fewer, larger inserts at low rates.
    pub linger_ms: u64,
    /// Longest time the broker may hold a fetch of an idle partition (`fetch.wait.max.ms`): an
    /// upper bound on how late a new message reaches the sink.
    pub max_fetch_wait_ms: u64,
    /// How long the consumer group waits for a silent sink (crashed, or cut off) before it gives
    /// its partitions to the others or to its restarted self (`session.timeout.ms`; heartbeats
    /// go every third of it). Until then nobody stores those partitions. The default is Kafka's;
    /// the broker bounds it (`group.min.session.timeout.ms`, 6 s on Apache Kafka). tansu 0.6
    /// has been seen to leave a restarted sink without partitions when the timeout ran out
    /// while it was joining, so the development setup keeps the default.
    pub session_timeout_ms: u64,
    /// A stable identity for this sink process (`group.instance.id`, static membership), such
    /// as its pod or host name; unique within the group. A sink restarted with the same identity
    /// gets its partitions back at once instead of after `session_timeout_ms`. Unset: a new
    /// member on every start.
    pub instance_id: Option<String>,
    /// Longest pause between retries of a failed insert or dead-letter send; retries start at
    /// 100 ms and double up to this.
    pub max_retry_backoff_ms: u64,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            group_id: "learnstream-sink".to_owned(),
            max_batch_rows: 50_000,
            max_batch_bytes: 64 * 1024 * 1024,
            max_batch_wait_ms: 200,
            linger_ms: 0,
            max_fetch_wait_ms: 10,
            session_timeout_ms: 45_000,
            instance_id: None,
            max_retry_backoff_ms: 10_000,
        }
    }
}

impl SinkConfig {
    pub(crate) fn max_batch_wait(&self) -> Duration {
        Duration::from_millis(self.max_batch_wait_ms)
    }

    pub(crate) fn linger(&self) -> Duration {
        Duration::from_millis(self.linger_ms.min(self.max_batch_wait_ms))
    }

    pub(crate) fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms)
    }

    pub(crate) fn max_retry_backoff(&self) -> Duration {
        Duration::from_millis(self.max_retry_backoff_ms)
    }

    /// Checks what start-up can check without a connection.
    pub fn validate(&self) -> Result<(), String> {
        if self.group_id.is_empty() {
            return Err("sink.group_id: must not be empty".to_owned());
        }
        if self.max_batch_rows == 0 || self.max_batch_bytes == 0 {
            return Err(
                "sink.max_batch_rows and sink.max_batch_bytes: must be at least 1".to_owned(),
            );
        }
        if self.instance_id.as_deref().is_some_and(str::is_empty) {
            return Err("sink.instance_id: must not be empty when set".to_owned());
        }
        if self.session_timeout_ms < 1_000 {
            return Err("sink.session_timeout_ms: must be at least 1000".to_owned());
        }
        if self.max_fetch_wait_ms == 0 {
            return Err("sink.max_fetch_wait_ms: must be above 0".to_owned());
        }
        if self.max_batch_wait_ms == 0 || self.max_retry_backoff_ms < 100 {
            return Err(
                "sink.max_batch_wait_ms: must be above 0; sink.max_retry_backoff_ms: at least 100"
                    .to_owned(),
            );
        }
        Ok(())
    }
}
