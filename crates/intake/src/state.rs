use std::sync::Arc;

use learnstream_store::StatementStore;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Credentials;
use crate::coalesce::Coalescer;
use crate::progress::Progress;

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
    credentials: Credentials,
    max_body_bytes: usize,
    cors_allowed_origins: Vec<String>,
    metrics: Option<PrometheusHandle>,
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
    /// Who may use the LRS.
    pub credentials: Credentials,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Browser origins allowed to call the LRS (`*`: any).
    pub cors_allowed_origins: Vec<String>,
    /// Renders `/metrics`; without it the route is not served.
    pub metrics: Option<PrometheusHandle>,
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        let AppStateParts {
            coalescer,
            progress,
            store,
            credentials,
            max_body_bytes,
            cors_allowed_origins,
            metrics,
        } = parts;
        AppState {
            inner: Arc::new(Inner {
                coalescer,
                progress,
                store,
                credentials,
                max_body_bytes,
                cors_allowed_origins,
                metrics,
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

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn cors_allowed_origins(&self) -> &[String] {
        &self.inner.cors_allowed_origins
    }

    pub(crate) fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    pub(crate) fn metrics(&self) -> Option<&PrometheusHandle> {
        self.inner.metrics.as_ref()
    }
}
