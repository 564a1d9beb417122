//! Mastery and engagement. What flows in: learners' statements, read in the order they happened
//! from ClickHouse's `learner_statements` (which a materialized view fills from every stored
//! statement), the alignment table and the roster districts import as CSV, and the statements
//! topic, which the mastery follower reads a step behind the sink. What flows out: the district
//! API (JSON, described by `openapi.json`), and a `mastery-changed` event on Kafka whenever a
//! learner's mastery of a competency changes.
//!
//! The math is pure (`mastery.rs`, `engagement.rs`, `evidence.rs`, `report.rs`); `analytics.md`
//! beside this file says where each part runs and why.

mod api;
mod config;
mod engagement;
mod events;
mod evidence;
mod follower;
pub mod import;
mod mastery;
mod report;
mod store;

pub use api::{AnalyticsState, DOCUMENT_PATH, router, serve_document};
pub use config::AnalyticsConfig;
pub use engagement::{Engagement, EngagementRules};
pub use events::{MasteryChanged, MasteryPublisher, PreviousMastery, describe as describe_metrics};
pub use evidence::{Alignment, Alignments, EvidenceRules};
pub use follower::follow;
pub use mastery::{Assessment, BktParameters, Evidence, Method, MethodName, assess};
pub use report::{CompetencyMastery, Direction, EngagementReport, Trend};
pub use store::AnalyticsStore;

use learnstream_store::ClickHouseConfig;

/// What can fail here.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error(transparent)]
    Store(#[from] learnstream_store::Error),
    #[error("kafka: {0}")]
    Kafka(#[from] learnstream_kafka::Error),
    #[error("kafka client: {0}")]
    KafkaClient(#[from] rdkafka::error::KafkaError),
    #[error("publishing a mastery event: {0}")]
    Publish(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
