use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::{Error, KafkaConfig, Result};

/// Creates the statements, dead-letter and mastery topics unless they exist. Brokers that do not
/// auto-create topics need this; on those that do, it pins the partition count and message size.
pub async fn ensure_topics(config: &KafkaConfig) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let max_message_bytes = config.max_message_bytes.to_string();
    let topics: Vec<NewTopic<'_>> = [
        &config.statements_topic,
        &config.dead_letter_topic,
        &config.mastery_topic,
    ]
    .into_iter()
    .map(|name| {
        NewTopic::new(
            name,
            config.partitions,
            TopicReplication::Fixed(config.replication_factor),
        )
        .set("max.message.bytes", &max_message_bytes)
    })
    .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic, "created topic"),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic, "topic exists")
            }
            Err((topic, code)) => {
                return Err(Error::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}
