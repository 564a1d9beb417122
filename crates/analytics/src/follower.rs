//! The mastery follower: reads the statements topic in a consumer group of its own, a step behind
//! the sink, and publishes the mastery changes of the learners each stretch of messages touched.
//!
//! A cycle collects messages for up to `analytics.max_cycle_wait_ms` (one learner's many
//! statements cost one recomputation), waits until the sink's group has committed past them (so
//! they are in ClickHouse), hands the touched learners to the [`MasteryPublisher`], and only then
//! stores its own offsets: a crash replays the cycle and the publisher finds the same changes
//! again (at least once). Storing statements never waits for this: under load the follower
//! falls behind and catches up with bigger cycles, while the district API, which reads
//! ClickHouse, stays as fresh as the sink.

use std::collections::BTreeMap;
use std::time::Duration;

use learnstream_kafka::{Backoff, GroupProgress, KafkaConfig, decode_batch, retry_until_cancelled};
use learnstream_xapi::{ObjectType, VOIDED_VERB, extract_columns};
use rdkafka::Message as _;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use tokio_util::sync::CancellationToken;

use crate::events::{MasteryPublisher, Touched};
use crate::evidence::EvidenceRules;
use crate::{AnalyticsConfig, Result};
use learnstream_store::LearnerStatement;

const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(10);
const SINK_POLL: Duration = Duration::from_millis(50);

/// Follows the statements topic until `shutdown`, publishing mastery changes.
pub async fn follow(
    kafka: &KafkaConfig,
    sink_group: &str,
    config: &AnalyticsConfig,
    publisher: MasteryPublisher,
    shutdown: CancellationToken,
) -> Result<()> {
    let consumer: StreamConsumer = kafka
        .manual_commit(&config.mastery_group_id)
        .set("fetch.wait.max.ms", "50")
        .create()?;
    consumer.subscribe(&[&kafka.statements_topic])?;
    let sink = GroupProgress::of_statements(kafka, sink_group)?;
    let max_wait = Duration::from_millis(config.max_cycle_wait_ms);
    tracing::info!(group = %config.mastery_group_id, "mastery follower started");

    let mut cycle = Cycle::default();
    let rules = &config.evidence;
    loop {
        let deadline = cycle
            .started
            .map(|started| started + max_wait)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(deadline), if cycle.started.is_some() => {
                let done = std::mem::take(&mut cycle);
                if !done.finish(&consumer, &sink, &publisher, &shutdown).await {
                    break;
                }
            }
            received = consumer.recv() => match received {
                Ok(message) => cycle.add(&message, rules),
                Err(error) => tracing::warn!(%error, "mastery follower: kafka consumer error"),
            },
        }
    }
    // Offsets of an unfinished cycle stay unstored: its messages are read again next time.
    Ok(())
}

/// The messages of one cycle: whom they touched and how far they reach per partition.
#[derive(Default)]
struct Cycle {
    started: Option<tokio::time::Instant>,
    touched: Touched,
    last_offsets: BTreeMap<i32, i64>,
}

impl Cycle {
    fn add(&mut self, message: &BorrowedMessage<'_>, rules: &EvidenceRules) {
        self.started.get_or_insert_with(tokio::time::Instant::now);
        self.last_offsets
            .insert(message.partition(), message.offset());
        // A message the sink cannot store (it dead-letters it) touches nobody.
        let Some(batch) = message
            .payload()
            .and_then(|payload| decode_batch(payload).ok())
        else {
            return;
        };
        for raw in &batch.statements {
            let Ok(columns) = extract_columns(raw.get()) else {
                continue;
            };
            let tenant = batch.tenant.to_string();
            let voiding =
                columns.verb_id == VOIDED_VERB && columns.object_type == ObjectType::StatementRef;
            let statement = LearnerStatement::from(columns);
            if voiding {
                // The target's learner is found when the cycle is published.
                self.touched
                    .voided
                    .entry(tenant)
                    .or_default()
                    .push(statement.object_id);
                continue;
            }
            // A statement that is no evidence (launched, experienced, …) changes no mastery.
            if !statement.actor_ifi.is_empty() && rules.score(&statement).is_some() {
                self.touched
                    .learners
                    .entry(tenant)
                    .or_default()
                    .insert(statement.actor_ifi);
            }
        }
    }

    /// Waits for the sink, publishes, stores the offsets. False if `shutdown` interrupted it.
    async fn finish(
        self,
        consumer: &StreamConsumer,
        sink: &GroupProgress,
        publisher: &MasteryPublisher,
        shutdown: &CancellationToken,
    ) -> bool {
        // Its statements are in ClickHouse once the sink's group has committed past them.
        if !sink
            .wait_past(&self.last_offsets, SINK_POLL, shutdown)
            .await
        {
            return false;
        }
        let published = retry_until_cancelled(
            shutdown,
            Backoff::capped_at(MAX_RETRY_BACKOFF),
            || publisher.publish(&self.touched),
            |_| false,
            |error, pause| {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "publishing mastery changes failed; retrying");
            },
        )
        .await;
        if published.is_err() {
            return false;
        }
        let topic = sink.topic();
        for (partition, offset) in &self.last_offsets {
            // Fails for a partition lost in a rebalance; its new owner publishes again.
            if let Err(error) = consumer.store_offset(topic, *partition, *offset) {
                tracing::info!(partition, offset, %error, "mastery follower: offset not stored");
            }
        }
        if let Err(error) = consumer.commit_consumer_state(CommitMode::Async) {
            tracing::debug!(%error, "mastery follower: offset commit");
        }
        true
    }
}
