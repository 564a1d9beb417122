/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kafka client error: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("statement batch is malformed: {0}")]
    Malformed(String),
    #[error("statement batch has schema version {0}, this build reads version 1")]
    UnknownSchema(u32),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
