//! Mastery events for personalization: the mastery of every learner a stretch of statements
//! touched (`follower.rs`) is computed again and compared with what was last published; each
//! competency whose value (or mastered flag) changed is published on the mastery topic
//! (`schemas/kafka/mastery-changed.v1.schema.json`), keyed by tenant and learner so one
//! learner's events stay in order, and only then recorded as published. A crash between the
//! two publishes the change again: delivery is at least once, and an event sent twice carries
//! the same `evidence_count` and `last_evidence_at`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use learnstream_kafka::DurableProducer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engagement::rfc3339;
use crate::evidence::Alignments;
use crate::mastery::MethodName;
use crate::report::{CompetencyMastery, by_learner, mastery};
use learnstream_store::PublishedMastery;

use crate::store::AnalyticsStore;
use crate::{AnalyticsConfig, Error, Result};

pub(crate) const EVENT_SCHEMA: &str = "learnstream.mastery-changed.v1";

const EVENTS_PUBLISHED: &str = "learnstream_mastery_events_published_total";
const UPDATE_SECONDS: &str = "learnstream_mastery_update_seconds";
const LEARNERS_UPDATED: &str = "learnstream_mastery_learners_updated_total";

/// Describes the analytics metrics for `/metrics`.
pub fn describe() {
    metrics::describe_counter!(
        EVENTS_PUBLISHED,
        "mastery-changed events published on the mastery topic"
    );
    metrics::describe_histogram!(
        UPDATE_SECONDS,
        metrics::Unit::Seconds,
        "time to recompute and publish the mastery of one follower cycle's learners"
    );
    metrics::describe_counter!(
        LEARNERS_UPDATED,
        "learners whose mastery the follower recomputed"
    );
}

/// Per tenant, the learners whose statements were stored and the statements voided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Touched {
    pub(crate) learners: BTreeMap<String, BTreeSet<String>>,
    pub(crate) voided: BTreeMap<String, Vec<String>>,
}

/// Recomputes touched learners' mastery and publishes what changed.
#[derive(Debug, Clone)]
pub struct MasteryPublisher {
    store: AnalyticsStore,
    producer: DurableProducer,
    topic: String,
    config: Arc<AnalyticsConfig>,
}

impl MasteryPublisher {
    pub fn new(
        store: AnalyticsStore,
        producer: DurableProducer,
        topic: String,
        config: Arc<AnalyticsConfig>,
    ) -> Self {
        MasteryPublisher {
            store,
            producer,
            topic,
            config,
        }
    }

    /// Recomputes the touched learners' mastery and publishes what changed.
    pub(crate) async fn publish(&self, stored: &Touched) -> Result<()> {
        let started = Instant::now();
        let mut tenants: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (tenant, learners) in &stored.learners {
            tenants
                .entry(tenant)
                .or_default()
                .extend(learners.iter().cloned());
        }
        for (tenant, voided) in &stored.voided {
            let actors = self.store.actors_of(tenant, voided).await?;
            tenants.entry(tenant).or_default().extend(actors);
        }
        for (tenant, learners) in tenants {
            let learners: Vec<String> = learners.into_iter().collect();
            self.publish_tenant(tenant, &learners).await?;
        }
        metrics::histogram!(UPDATE_SECONDS).record(started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn publish_tenant(&self, tenant: &str, learners: &[String]) -> Result<()> {
        let started = Instant::now();
        let (statements, alignments, published) = futures::try_join!(
            self.store
                .learner_statements(tenant, learners, i64::MIN, i64::MAX),
            self.store.alignments(tenant),
            self.store.published_mastery(tenant, learners),
        )?;
        let read = started.elapsed();
        let alignments = Alignments::new(alignments);
        let mut previous: BTreeMap<(String, String), &PublishedMastery> = published
            .iter()
            .map(|row| ((row.actor_ifi.clone(), row.competency_id.clone()), row))
            .collect();
        let mut changes: Vec<(String, Option<CompetencyMastery>, Option<&PublishedMastery>)> =
            Vec::new();
        for (learner, history) in by_learner(&statements) {
            for current in mastery(history, &alignments, &self.config) {
                let before = previous.remove(&(learner.to_owned(), current.competency_id.clone()));
                if changed(before, &current) {
                    changes.push((learner.to_owned(), Some(current), before));
                }
            }
        }
        // Competencies that lost all their evidence (voided statements).
        for ((learner, _), before) in previous {
            if before.evidence_count > 0 {
                changes.push((learner, None, Some(before)));
            }
        }
        metrics::counter!(LEARNERS_UPDATED).increment(learners.len() as u64);
        if changes.is_empty() {
            return Ok(());
        }
        let computed = started.elapsed();
        let computed_at = rfc3339(learnstream_xapi::now_micros());
        let sends = changes.iter().map(|(learner, current, before)| {
            let event = event(tenant, learner, current.as_ref(), *before, &computed_at);
            let key = format!("{tenant}\n{learner}");
            async move {
                self.producer
                    .send(
                        &self.topic,
                        Some(key.as_bytes()),
                        &serde_json::to_vec(&event).expect("an event serializes"),
                        &[],
                    )
                    .await
                    .map_err(|error| Error::Publish(error.to_string()))
            }
        });
        futures::future::try_join_all(sends).await?;
        let produced = started.elapsed();
        metrics::counter!(EVENTS_PUBLISHED).increment(changes.len() as u64);
        let records: Vec<PublishedMastery> = changes
            .iter()
            .map(|(learner, current, before)| match current {
                Some(current) => PublishedMastery {
                    actor_ifi: learner.clone(),
                    competency_id: current.competency_id.clone(),
                    method: current.method.as_str().to_owned(),
                    value: current.value,
                    mastered: current.mastered,
                    evidence_count: current.evidence_count,
                    last_evidence_us: current.last_evidence_us,
                },
                None => PublishedMastery {
                    value: 0.0,
                    mastered: false,
                    evidence_count: 0,
                    ..(*before).expect("a removal has a published state").clone()
                },
            })
            .collect();
        self.store.record_published(tenant, &records).await?;
        tracing::debug!(
            tenant,
            learners = learners.len(),
            statements = statements.len(),
            events = records.len(),
            read_ms = read.as_millis() as u64,
            compute_ms = (computed - read).as_millis() as u64,
            produce_ms = (produced - computed).as_millis() as u64,
            record_ms = (started.elapsed() - produced).as_millis() as u64,
            "mastery changes published"
        );
        Ok(())
    }
}

/// Whether the value, the mastered flag or the method differ from what was published.
fn changed(before: Option<&PublishedMastery>, current: &CompetencyMastery) -> bool {
    match before {
        None => true,
        Some(before) => {
            before.evidence_count == 0
                || (before.value - current.value).abs() > 1e-9
                || before.mastered != current.mastered
                || before.method != current.method.as_str()
        }
    }
}

/// A learner's mastery of a competency changed: one `mastery-changed` v1 event. Its JSON Schema,
/// `schemas/kafka/mastery-changed.v1.schema.json`, is generated from this type (a test fails
/// when the committed file differs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "learnstream mastery-changed v1",
    description = "A learner's mastery of a competency changed. Published on kafka.mastery_topic, keyed by \"<tenant>\\n<learner>\".",
    extend("$id" = "https://learnstream.dev/schemas/kafka/mastery-changed.v1.schema.json"),
    transform = nullable_but_present
)]
pub struct MasteryChanged {
    #[schemars(extend("const" = EVENT_SCHEMA))]
    pub schema: String,
    #[schemars(length(min = 1))]
    pub tenant: String,
    /// The learner's xAPI actor identifier: mbox:mailto:…, mbox_sha1sum:…, openid:… or
    /// account:<homePage>|<name>.
    pub learner: String,
    #[schemars(length(min = 1))]
    pub competency_id: String,
    /// The alignment's framework; empty when unknown.
    pub framework: String,
    pub method: MethodName,
    /// The mastery value (for bkt, the probability that the competency is known); null when the
    /// competency lost all its evidence (voided statements).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub value: Option<f64>,
    pub mastered: bool,
    pub evidence_count: u64,
    #[schemars(extend("format" = "date-time"))]
    pub last_evidence_at: Option<String>,
    /// What was last published for this learner and competency; null for the first event.
    pub previous: Option<PreviousMastery>,
    #[schemars(extend("format" = "date-time"))]
    pub computed_at: String,
}

/// Every event carries every field: those that may be null are required too.
fn nullable_but_present(schema: &mut schemars::Schema) {
    let properties: Vec<serde_json::Value> = schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().map(|name| name.as_str().into()).collect())
        .unwrap_or_default();
    if let Some(serde_json::Value::Array(required)) = schema.get_mut("required") {
        for property in properties {
            if !required.contains(&property) {
                required.push(property);
            }
        }
    }
}

/// The mastery an event replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviousMastery {
    pub value: f64,
    pub mastered: bool,
}

/// The event for a learner's competency: its `current` mastery, or none when it lost all its
/// evidence, after what was published `before`.
fn event(
    tenant: &str,
    learner: &str,
    current: Option<&CompetencyMastery>,
    before: Option<&PublishedMastery>,
    computed_at: &str,
) -> MasteryChanged {
    let previous = before
        .filter(|before| before.evidence_count > 0)
        .map(|before| PreviousMastery {
            value: before.value,
            mastered: before.mastered,
        });
    let common = |competency_id: &str, method: MethodName| MasteryChanged {
        schema: EVENT_SCHEMA.to_owned(),
        tenant: tenant.to_owned(),
        learner: learner.to_owned(),
        competency_id: competency_id.to_owned(),
        framework: String::new(),
        method,
        value: None,
        mastered: false,
        evidence_count: 0,
        last_evidence_at: None,
        previous: previous.clone(),
        computed_at: computed_at.to_owned(),
    };
    match current {
        Some(current) => MasteryChanged {
            framework: current.framework.clone(),
            value: Some(current.value),
            mastered: current.mastered,
            evidence_count: current.evidence_count,
            last_evidence_at: Some(current.last_evidence_at.clone()),
            ..common(&current.competency_id, current.method)
        },
        None => {
            let before = before.expect("an event has a current or a previous state");
            // Only this build's method names are stored; one it does not know reads as the
            // default method's.
            let method = before.method.parse().unwrap_or_default();
            common(&before.competency_id, method)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Trend;

    fn current(value: f64) -> CompetencyMastery {
        CompetencyMastery {
            competency_id: "fractions".into(),
            framework: "math".into(),
            method: MethodName::DecayingAverage,
            value,
            mastered: value >= 0.8,
            evidence_count: 3,
            last_evidence_at: "2026-11-23T10:00:00.000Z".into(),
            last_evidence_us: 0,
            trend: Trend {
                direction: crate::report::Direction::Rising,
                change: Some(0.1),
            },
        }
    }

    fn published(value: f64) -> PublishedMastery {
        PublishedMastery {
            actor_ifi: "mbox:mailto:ann@example.org".into(),
            competency_id: "fractions".into(),
            method: "decaying_average".into(),
            value,
            mastered: value >= 0.8,
            evidence_count: 2,
            last_evidence_us: 0,
        }
    }

    #[test]
    fn only_a_changed_value_is_an_event() {
        assert!(changed(None, &current(0.5)));
        assert!(!changed(Some(&published(0.5)), &current(0.5)));
        assert!(changed(Some(&published(0.5)), &current(0.6)));
        let mut other_method = published(0.5);
        other_method.method = "highest".into();
        assert!(changed(Some(&other_method), &current(0.5)));
    }

    #[test]
    fn events_carry_the_value_and_the_previous_one() {
        let event = event(
            "district-7",
            "mbox:mailto:ann@example.org",
            Some(&current(0.85)),
            Some(&published(0.5)),
            "2026-11-23T10:00:01.000Z",
        );
        assert_eq!(event.schema, EVENT_SCHEMA);
        assert_eq!(event.value, Some(0.85));
        assert!(event.mastered);
        assert_eq!(
            event.previous,
            Some(PreviousMastery {
                value: 0.5,
                mastered: false
            })
        );
        let withdrawn = super::event(
            "district-7",
            "mbox:mailto:ann@example.org",
            None,
            Some(&published(0.5)),
            "2026-11-23T10:00:01.000Z",
        );
        assert_eq!(withdrawn.value, None);
        assert_eq!(withdrawn.evidence_count, 0);
        assert_eq!(withdrawn.method, MethodName::DecayingAverage);
        let json = serde_json::to_value(&withdrawn).unwrap();
        assert_eq!(json["value"], serde_json::Value::Null);
        assert_eq!(json["last_evidence_at"], serde_json::Value::Null);
    }

    /// The committed schema is the one this build generates: `UPDATE_SCHEMAS=1 cargo test`
    /// writes it.
    #[test]
    fn the_committed_event_schema_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/kafka/mastery-changed.v1.schema.json"
        );
        let generated = serde_json::to_value(schemars::schema_for!(MasteryChanged)).unwrap();
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        // Compared as JSON: the order of an object's keys depends on serde_json's features,
        // which other crates of the workspace may switch on.
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            committed == generated,
            "{path} differs from the schema of MasteryChanged; run UPDATE_SCHEMAS=1 cargo test -p learnstream-analytics and commit it:\n{text}"
        );
    }
}
