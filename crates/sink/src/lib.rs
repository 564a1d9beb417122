//! Kafka to ClickHouse. What flows in: `statement-batch` messages from the statements topic.
//! What flows out: rows in the `statements` table, messages that cannot be stored on the
//! dead-letter topic, and consumer offsets committed only for what ClickHouse acknowledged.
//!
//! See `sink.md` beside this file for the delivery guarantees and why they hold.

mod batch;
mod config;
mod error;
mod metrics;
mod run;

pub use batch::statement_row;
pub use config::SinkConfig;
pub use error::{Error, Result};
pub use metrics::describe as describe_metrics;
pub use run::{OnStored, SinkReadiness, run};
