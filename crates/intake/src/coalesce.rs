//! Group commit for the produce path. Vendors' content mostly sends one statement per request,
//! and a Kafka broker pays per message and per produce request, not per byte: a message per
//! request would cap the LRS at the broker's message rate. The coalescer gathers the requests
//! that arrive while earlier batches are in flight into one message per tenant:
//!
//! - at most `max_in_flight` rounds are unacknowledged at once; while they are, new requests
//!   wait in the queue, so a slower broker gets larger batches rather than more of them;
//! - an idle LRS sends a lone request at once: there is no linger;
//! - a request's statements always travel in one message, so a request stays all-or-nothing;
//! - every request in a message learns that message's fate: acknowledged, or failed (503).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use learnstream_kafka::{
    AttachmentData, CONTENT_TYPE, CONTENT_TYPE_HEADER, Delivered, DurableProducer, ProduceError,
    encode_batch,
};
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::metrics::{BATCH_STATEMENTS, PRODUCE_SECONDS};

/// How the intake groups requests into Kafka messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalesceConfig {
    /// A message gathers requests until it holds this many bytes of statements (a single
    /// larger request still travels alone, up to `http.max_body_bytes`).
    pub max_message_bytes: usize,
    /// Rounds of messages the intake leaves unacknowledged at once. One is the classic group
    /// commit: every request that arrives during a round's acknowledgement joins the next round.
    /// Against the development broker one beat two and four by 1.5 to 3 times (bench/RESULTS.md);
    /// a cluster that serves produce requests in parallel may do better with more.
    pub max_in_flight: usize,
    /// Requests that may wait for a round; beyond that the intake answers 503.
    pub queue_capacity: usize,
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        CoalesceConfig {
            max_message_bytes: 1024 * 1024,
            max_in_flight: 1,
            queue_capacity: 16_384,
        }
    }
}

impl CoalesceConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_message_bytes == 0 || self.max_in_flight == 0 || self.queue_capacity == 0 {
            return Err(
                "intake: max_message_bytes, max_in_flight and queue_capacity must be at least 1"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// Why a request's statements were not acknowledged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    #[error("the statement queue is full")]
    QueueFull,
    #[error("the brokers did not acknowledge the batch: {0}")]
    Failed(Arc<str>),
    #[error(
        "the statements take {bytes} bytes once normalized, above the {limit}-byte Kafka message limit (kafka.max_message_bytes); send them in smaller requests"
    )]
    TooLarge { bytes: usize, limit: usize },
}

struct Pending {
    tenant: Arc<str>,
    statements: Vec<String>,
    attachments: Vec<AttachmentData>,
    bytes: usize,
    reply: oneshot::Sender<Result<Delivered, SubmitError>>,
}

/// Hands requests' statements to the coalescing task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Coalescer {
    queue: mpsc::Sender<Pending>,
    /// The largest request the brokers take in one message, envelope excluded.
    request_limit: usize,
}

/// Room left in a message for its envelope and tenant name.
const ENVELOPE_ALLOWANCE: usize = 4 * 1024;

impl Coalescer {
    /// Starts the coalescing task on the current runtime; it ends once every `Coalescer` clone
    /// is dropped and the last round is answered.
    /// `kafka_max_message_bytes` is the brokers' limit: a request larger than that once
    /// normalized is refused instead of failing at the broker.
    pub fn start(
        producer: DurableProducer,
        topic: String,
        config: &CoalesceConfig,
        kafka_max_message_bytes: usize,
    ) -> Coalescer {
        let (queue, receiver) = mpsc::channel(config.queue_capacity);
        tokio::spawn(coalesce(
            receiver,
            producer,
            Arc::from(topic),
            config.clone(),
        ));
        Coalescer {
            queue,
            request_limit: kafka_max_message_bytes.saturating_sub(ENVELOPE_ALLOWANCE),
        }
    }

    /// Waits until the statements (compact JSON, all of one request) and their attachments'
    /// bytes are durable in Kafka, and says where they landed.
    pub async fn submit(
        &self,
        tenant: Arc<str>,
        statements: Vec<String>,
        attachments: Vec<AttachmentData>,
    ) -> Result<Delivered, SubmitError> {
        let (reply, answer) = oneshot::channel();
        // Each statement also costs a comma in the message.
        let bytes = statements
            .iter()
            .map(|statement| statement.len() + 1)
            .sum::<usize>()
            + attachments
                .iter()
                .map(AttachmentData::encoded_len)
                .sum::<usize>();
        if bytes > self.request_limit {
            return Err(SubmitError::TooLarge {
                bytes,
                limit: self.request_limit,
            });
        }
        let pending = Pending {
            tenant,
            statements,
            attachments,
            bytes,
            reply,
        };
        self.queue
            .try_send(pending)
            .map_err(|_| SubmitError::QueueFull)?;
        answer.await.unwrap_or_else(|_| {
            Err(SubmitError::Failed(Arc::from(
                "the intake is shutting down",
            )))
        })
    }
}

async fn coalesce(
    mut receiver: mpsc::Receiver<Pending>,
    producer: DurableProducer,
    topic: Arc<str>,
    config: CoalesceConfig,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
    let mut carried: Option<Pending> = None;
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(pending) => pending,
            None => match receiver.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let mut bytes = first.bytes;
        let mut round = vec![first];
        while let Ok(pending) = receiver.try_recv() {
            if bytes + pending.bytes > config.max_message_bytes {
                carried = Some(pending);
                break;
            }
            bytes += pending.bytes;
            round.push(pending);
        }
        let producer = producer.clone();
        let topic = Arc::clone(&topic);
        tokio::spawn(async move {
            send_round(&producer, &topic, round).await;
            drop(permit);
        });
    }
}

/// A round's requests, by tenant, in the order they came.
pub(crate) fn by_tenant<T>(
    round: Vec<T>,
    tenant: impl Fn(&T) -> &Arc<str>,
) -> HashMap<Arc<str>, Vec<T>> {
    let mut by_tenant: HashMap<Arc<str>, Vec<T>> = HashMap::new();
    for request in round {
        by_tenant
            .entry(Arc::clone(tenant(&request)))
            .or_default()
            .push(request);
    }
    by_tenant
}

/// Sends one message per tenant in the round, concurrently, and answers every request.
async fn send_round(producer: &DurableProducer, topic: &str, round: Vec<Pending>) {
    let sends = by_tenant(round, |pending| &pending.tenant).into_iter().map(
        |(tenant, requests)| async move {
            let attachments: Vec<&AttachmentData> = requests
                .iter()
                .flat_map(|request| request.attachments.iter())
                .collect();
            let payload = encode_batch(
                &tenant,
                requests
                    .iter()
                    .flat_map(|request| request.statements.iter().map(String::as_str)),
                &attachments,
            );
            let statement_count: usize = requests
                .iter()
                .map(|request| request.statements.len())
                .sum();
            let started = Instant::now();
            let outcome = producer
                .send(
                    topic,
                    None,
                    &payload,
                    &[(CONTENT_TYPE_HEADER, CONTENT_TYPE.as_bytes())],
                )
                .await;
            metrics::histogram!(PRODUCE_SECONDS).record(started.elapsed().as_secs_f64());
            metrics::histogram!(BATCH_STATEMENTS).record(statement_count as f64);
            let answer = match outcome {
                Ok(delivered) => Ok(delivered),
                Err(ProduceError::QueueFull) => Err(SubmitError::QueueFull),
                Err(error) => Err(SubmitError::Failed(Arc::from(error.to_string()))),
            };
            for request in requests {
                // A request whose client went away no longer listens; its statements are stored.
                let _ = request.reply.send(answer.clone());
            }
        },
    );
    futures::future::join_all(sends).await;
}
