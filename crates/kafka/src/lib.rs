//! Everything learnstream says over Kafka, in one place: the connection settings shared by the
//! intake (producer) and the sink (consumer), the versioned wire format of a statement batch, and
//! the creation of the topics learnstream needs.
//!
//! What flows in: normalized statements (compact JSON) and the tenant they belong to. What flows
//! out: Kafka messages in the `statement-batch` v1 format (described in
//! `schemas/kafka/statement-batch.v1.md`), and back again on the consumer side.
//!
//! Only the Kafka protocol is spoken, through `rdkafka`: the same code runs against Apache Kafka
//! in production and any Kafka-API broker in development.

mod admin;
mod config;
mod envelope;
mod error;
mod producer;

pub use admin::ensure_topics;
pub use config::KafkaConfig;
pub use envelope::{
    AttachmentData, CONTENT_TYPE, CONTENT_TYPE_HEADER, DecodedBatch, SCHEMA_VERSION, decode_batch,
    encode_batch,
};
pub use error::{Error, Result};
pub use producer::{Delivered, DurableProducer, ProduceError};
