//! The consumers learnstream runs and what they read of other groups.
//!
//! Every consumer that acts on what it reads (the sink stores it, the mastery follower publishes
//! what it changed) stores and commits its offsets by hand, only after the action is done: a
//! crash replays the messages instead of skipping them. [`KafkaConfig::manual_commit`] is that
//! consumer's configuration.
//!
//! The sink group's committed offsets are how the rest of learnstream learns which statements
//! are in ClickHouse (read-your-writes, the follower's cycles, the intake's known ids).
//! [`GroupProgress`] reads them without joining the group.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::KafkaConfig;

impl KafkaConfig {
    /// A consumer in `group_id` whose offsets are stored and committed only by its owner, after
    /// the messages below them are dealt with. A new group starts from the earliest offset, so
    /// nothing produced before it joined is skipped. Callers add their fetch and session
    /// settings.
    pub fn manual_commit(&self, group_id: &str) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("group.id", group_id)
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        config
    }
}

/// Reads a consumer group's committed offsets on one topic (an OffsetFetch), without joining
/// the group: nothing it does can start a rebalance or move the group's offsets.
#[derive(Clone)]
pub struct GroupProgress {
    consumer: Arc<BaseConsumer>,
    topic: String,
}

impl std::fmt::Debug for GroupProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GroupProgress")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl GroupProgress {
    /// A reader of `group_id`'s offsets on the statements topic.
    pub fn of_statements(kafka: &KafkaConfig, group_id: &str) -> Result<GroupProgress, KafkaError> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .create()?;
        Ok(GroupProgress {
            consumer: Arc::new(consumer),
            topic: kafka.statements_topic.clone(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Per partition of `partitions`, the group's committed offset: every message below it is
    /// dealt with. A partition the group has committed nothing for is absent. Blocks up to
    /// `timeout`.
    pub fn committed(
        &self,
        partitions: impl IntoIterator<Item = i32>,
        timeout: Duration,
    ) -> Result<BTreeMap<i32, i64>, KafkaError> {
        let mut list = TopicPartitionList::new();
        for partition in partitions {
            list.add_partition(&self.topic, partition);
        }
        let committed = self.consumer.committed_offsets(list, timeout)?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|element| match element.offset() {
                Offset::Offset(offset) => Some((element.partition(), offset)),
                _ => None,
            })
            .collect())
    }

    /// Waits until the group has committed past `last` of each partition: it has dealt with
    /// them. Reads every `poll`, off the async runtime. False if `stop` came first.
    pub async fn wait_past(
        &self,
        last: &BTreeMap<i32, i64>,
        poll: Duration,
        stop: &CancellationToken,
    ) -> bool {
        loop {
            let reader = self.clone();
            let partitions: Vec<i32> = last.keys().copied().collect();
            let read =
                tokio::task::spawn_blocking(move || reader.committed(partitions, FETCH_TIMEOUT));
            let read = read
                .await
                .map_err(|error| error.to_string())
                .and_then(|read| read.map_err(|error| error.to_string()));
            match read {
                Ok(committed) if past(&committed, last) => return true,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, topic = %self.topic, "reading a group's committed offsets")
                }
            }
            tokio::select! {
                biased;
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }
}

/// How long one read of committed offsets may take before it is tried again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `committed` is past `last` on every partition of `last`.
fn past(committed: &BTreeMap<i32, i64>, last: &BTreeMap<i32, i64>) -> bool {
    last.iter().all(|(partition, offset)| {
        committed
            .get(partition)
            .is_some_and(|&committed| committed > *offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_past_an_offset_once_it_committed_the_next_one() {
        let last = BTreeMap::from([(0, 9), (3, 0)]);
        assert!(past(&BTreeMap::from([(0, 10), (3, 1), (5, 0)]), &last));
        assert!(!past(&BTreeMap::from([(0, 9), (3, 1)]), &last));
        assert!(!past(&BTreeMap::from([(0, 10)]), &last));
        assert!(past(&BTreeMap::new(), &BTreeMap::new()));
    }

    #[test]
    fn a_manual_commit_consumer_neither_stores_nor_commits_by_itself() {
        let config = KafkaConfig::default().manual_commit("learnstream-sink");
        assert_eq!(config.get("group.id"), Some("learnstream-sink"));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("auto.offset.reset"), Some("earliest"));
    }
}
