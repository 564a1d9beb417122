//! Everything learnstream says over Kafka, in one place: the connection settings shared by the
//! intake (producer) and the sink (consumer), the versioned wire format of a statement batch,
//! the creation of the topics learnstream needs, the manual-commit consumer, the reader of a
//! group's committed offsets, and the retry loop of every operation that waits out an outage.
//!
//! What flows in: normalized statements (compact JSON) and the tenant they belong to. What flows
//! out: Kafka messages in the `statement-batch` v1 format (described in
//! `schemas/kafka/statement-batch.v1.md`), and back again on the consumer side.
//!
//! Only the Kafka protocol is spoken, through `rdkafka`: the same code runs against Apache Kafka
//! in production and any Kafka-API broker in development.

mod admin;
mod config;
mod consumer;
mod envelope;
mod error;
mod producer;
mod retry;

pub use admin::ensure_topics;
pub use config::KafkaConfig;
pub use consumer::GroupProgress;
pub use envelope::{
    AttachmentData, CONTENT_TYPE, CONTENT_TYPE_HEADER, DecodedBatch, SCHEMA_VERSION, decode_batch,
    encode_batch,
};
pub use error::{Error, Result};
pub use producer::{Delivered, DurableProducer, ProduceError};
pub use retry::{Backoff, Halted, retry_until_cancelled};
