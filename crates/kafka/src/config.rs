use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::Deserialize;

/// How to reach the Kafka cluster and which topics learnstream uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated (`host:port,host:port`).
    pub brokers: String,
    /// Topic that carries accepted statements from the intake to the sink and to any other
    /// consumer (versioned `statement-batch` messages).
    pub statements_topic: String,
    /// Topic that receives messages the sink cannot store, with the reason in headers.
    pub dead_letter_topic: String,
    /// Topic on which learnstream publishes a learner's mastery of a competency whenever it
    /// changes (`schemas/kafka/mastery-changed.v1.schema.json`), keyed by learner.
    pub mastery_topic: String,
    /// Partitions of the topics when learnstream creates them. More partitions let more sink
    /// processes share the work.
    pub partitions: i32,
    /// Replication factor of the topics when learnstream creates them (3 in production).
    pub replication_factor: i32,
    /// Largest message the topics accept, in bytes: one statement request becomes one message,
    /// so this bounds the largest request (see `http.max_body_bytes`).
    pub max_message_bytes: usize,
    /// How long the intake waits for the brokers to acknowledge a batch before it answers 503.
    pub produce_timeout_ms: u64,
    /// Extra librdkafka settings applied to every client (e.g. `security.protocol`,
    /// `sasl.mechanisms`). Settings learnstream relies on (acks, idempotence, offset storage)
    /// cannot be overridden here.
    pub client_options: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".to_owned(),
            statements_topic: "learnstream.statements.v1".to_owned(),
            dead_letter_topic: "learnstream.statements.dead-letter.v1".to_owned(),
            mastery_topic: "learnstream.mastery.v1".to_owned(),
            partitions: 6,
            replication_factor: 1,
            max_message_bytes: 16 * 1024 * 1024,
            produce_timeout_ms: 30_000,
            client_options: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// Settings shared by every client: brokers, then the extra options.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client_options {
            config.set(key, value);
        }
        config
    }

    /// Settings of a producer whose acknowledgement means the batch is durable: every in-sync
    /// replica has it (`acks=all`), and retries can neither duplicate nor reorder it
    /// (idempotence).
    pub fn producer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.max.bytes", self.max_message_bytes.to_string())
            .set("message.timeout.ms", self.produce_timeout_ms.to_string())
            .set("linger.ms", "2");
        config
    }

    /// Checks what start-up can check without a connection.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.trim().is_empty() {
            return Err("kafka.brokers: must name at least one broker".to_owned());
        }
        if self.statements_topic.is_empty()
            || self.dead_letter_topic.is_empty()
            || self.mastery_topic.is_empty()
        {
            return Err("kafka: topic names must not be empty".to_owned());
        }
        if self.mastery_topic == self.statements_topic
            || self.mastery_topic == self.dead_letter_topic
        {
            return Err("kafka.mastery_topic: must differ from the statement topics".to_owned());
        }
        if self.statements_topic == self.dead_letter_topic {
            return Err("kafka.dead_letter_topic: must differ from statements_topic".to_owned());
        }
        if self.partitions < 1 || self.replication_factor < 1 {
            return Err(
                "kafka.partitions and kafka.replication_factor: must be at least 1".to_owned(),
            );
        }
        if self.max_message_bytes < 1024 * 1024 {
            return Err("kafka.max_message_bytes: must be at least 1 MiB".to_owned());
        }
        const OWNED: [&str; 5] = [
            "acks",
            "enable.idempotence",
            "enable.auto.offset.store",
            "enable.auto.commit",
            "group.id",
        ];
        if let Some(key) = self
            .client_options
            .keys()
            .find(|key| OWNED.contains(&key.as_str()))
        {
            return Err(format!(
                "kafka.client_options.{key}: is set by learnstream and cannot be overridden"
            ));
        }
        Ok(())
    }
}
