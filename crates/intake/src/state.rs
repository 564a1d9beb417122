use std::sync::Arc;

use learnstream_kafka::DurableProducer;
use learnstream_store::StatementStore;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Credentials;

/// What the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    producer: DurableProducer,
    store: StatementStore,
    credentials: Credentials,
    statements_topic: String,
    max_body_bytes: usize,
    metrics: Option<PrometheusHandle>,
}

/// The parts an [`AppState`] is made of.
#[derive(Debug)]
pub struct AppStateParts {
    /// Sends statement batches to Kafka.
    pub producer: DurableProducer,
    /// Reads statements from ClickHouse.
    pub store: StatementStore,
    /// Who may use the LRS.
    pub credentials: Credentials,
    /// Topic the statement batches go to.
    pub statements_topic: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Renders `/metrics`; without it the route is not served.
    pub metrics: Option<PrometheusHandle>,
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        let AppStateParts {
            producer,
            store,
            credentials,
            statements_topic,
            max_body_bytes,
            metrics,
        } = parts;
        AppState {
            inner: Arc::new(Inner {
                producer,
                store,
                credentials,
                statements_topic,
                max_body_bytes,
                metrics,
            }),
        }
    }

    pub(crate) fn producer(&self) -> &DurableProducer {
        &self.inner.producer
    }

    pub(crate) fn store(&self) -> &StatementStore {
        &self.inner.store
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn statements_topic(&self) -> &str {
        &self.inner.statements_topic
    }

    pub(crate) fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    pub(crate) fn metrics(&self) -> Option<&PrometheusHandle> {
        self.inner.metrics.as_ref()
    }
}
