use std::fmt;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::{KafkaConfig, Result};

/// Why a message was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The client's local queue is full: the brokers are slower than the intake. Back-pressure,
    /// to be answered with "retry later", not a fault.
    #[error("the local produce queue is full")]
    QueueFull,
    /// The brokers did not acknowledge the message in time, or refused it.
    #[error("the brokers did not acknowledge the message: {0}")]
    Failed(KafkaError),
}

/// Where an acknowledged message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A producer whose acknowledgement means durable (`acks=all`, idempotent; see
/// [`KafkaConfig::producer_config`]). Cheap to clone: clones share one client.
#[derive(Clone)]
pub struct DurableProducer {
    producer: FutureProducer,
}

impl fmt::Debug for DurableProducer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DurableProducer")
            .finish_non_exhaustive()
    }
}

impl DurableProducer {
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        Ok(DurableProducer {
            producer: config.producer_config().create()?,
        })
    }

    /// Sends one message and waits until the brokers acknowledged it. Never waits for room in
    /// a full local queue: that is reported at once as [`ProduceError::QueueFull`].
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: &[(&str, &[u8])],
    ) -> Result<Delivered, ProduceError> {
        let mut owned_headers = OwnedHeaders::new_with_capacity(headers.len());
        for (name, value) in headers {
            owned_headers = owned_headers.insert(Header {
                key: name,
                value: Some(*value),
            });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(topic)
            .payload(payload)
            .headers(owned_headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        let delivery = match self.producer.send_result(record) {
            Ok(delivery) => delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                return Err(ProduceError::QueueFull);
            }
            Err((error, _)) => return Err(ProduceError::Failed(error)),
        };
        match delivery.await {
            Ok(Ok(delivered)) => Ok(Delivered {
                partition: delivered.partition,
                offset: delivered.offset,
            }),
            Ok(Err((error, _))) => Err(ProduceError::Failed(error)),
            Err(_canceled) => Err(ProduceError::Failed(KafkaError::Canceled)),
        }
    }
}
