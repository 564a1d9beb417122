use std::sync::Arc;
use std::time::Duration;

use learnstream_store::StatementStore;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::coalesce::Coalescer;
use crate::gate::StoreGate;
use crate::progress::Progress;
use learnstream_http::Credentials;
use learnstream_http::Readiness;

/// What the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    coalescer: Coalescer,
    progress: Progress,
    store: StatementStore,
    store_gate: StoreGate,
    credentials: Credentials,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    cors_allowed_origins: Vec<String>,
    metrics: Option<PrometheusHandle>,
    readiness: Option<Readiness>,
}

/// The parts an [`AppState`] is made of.
#[derive(Debug)]
pub struct AppStateParts {
    /// Groups requests' statements into Kafka messages.
    pub coalescer: Coalescer,
    /// Knows which writes the sink has stored.
    pub progress: Progress,
    /// Reads statements from ClickHouse.
    pub store: StatementStore,
    /// Bounds the queries the handlers make of the store.
    pub store_gate: StoreGate,
    /// Who may use the LRS.
    pub credentials: Credentials,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long a client has to send a body.
    pub body_read_timeout: Duration,
    /// Browser origins allowed to call the LRS (`*`: any).
    pub cors_allowed_origins: Vec<String>,
    /// Renders `/metrics`; without it the route is not served.
    pub metrics: Option<PrometheusHandle>,
    /// What `/ready` asks (the sink of this process, if it runs one); without it, ready.
    pub readiness: Option<Readiness>,
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        let AppStateParts {
            coalescer,
            progress,
            store,
            store_gate,
            credentials,
            max_body_bytes,
            body_read_timeout,
            cors_allowed_origins,
            metrics,
            readiness,
        } = parts;
        AppState {
            inner: Arc::new(Inner {
                coalescer,
                progress,
                store,
                store_gate,
                credentials,
                max_body_bytes,
                body_read_timeout,
                cors_allowed_origins,
                metrics,
                readiness,
            }),
        }
    }

    pub(crate) fn coalescer(&self) -> &Coalescer {
        &self.inner.coalescer
    }

    pub(crate) fn progress(&self) -> &Progress {
        &self.inner.progress
    }

    pub(crate) fn store(&self) -> &StatementStore {
        &self.inner.store
    }

    pub(crate) fn store_gate(&self) -> &StoreGate {
        &self.inner.store_gate
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn cors_allowed_origins(&self) -> &[String] {
        &self.inner.cors_allowed_origins
    }

    pub(crate) fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.inner.body_read_timeout
    }

    pub(crate) fn readiness(&self) -> Option<&Readiness> {
        self.inner.readiness.as_ref()
    }

    pub(crate) fn metrics(&self) -> Option<&PrometheusHandle> {
        self.inner.metrics.as_ref()
    }
}

impl axum::extract::FromRef<AppState> for Credentials {
    fn from_ref(state: &AppState) -> Self {
        state.credentials().clone()
    }
}
