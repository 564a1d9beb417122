//! The operational routes every learnstream process serves, whatever else it serves.

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::error::{ApiError, ErrorCode};

/// Whether the process does its work yet: `None` once it does, or why not.
#[derive(Clone)]
pub struct Readiness(std::sync::Arc<dyn Fn() -> Option<&'static str> + Send + Sync>);

impl Readiness {
    pub fn new(check: impl Fn() -> Option<&'static str> + Send + Sync + 'static) -> Self {
        Readiness(std::sync::Arc::new(check))
    }

    fn not_ready(&self) -> Option<&'static str> {
        (self.0)()
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_tuple("Readiness")
            .field(&self.not_ready())
            .finish()
    }
}

/// The operational routes every learnstream process serves: `GET /health` (the process is up
/// and serving), `GET /ready` (it does its work: a sink has joined its group and holds its
/// partitions; 503 with the reason until then) and, with a metrics handle, `GET /metrics` in
/// Prometheus format.
pub fn ops_router<S: Clone + Send + Sync + 'static>(
    metrics: Option<PrometheusHandle>,
    readiness: Option<Readiness>,
) -> Router<S> {
    let ready = move || {
        let not_ready = readiness.as_ref().and_then(Readiness::not_ready);
        async move {
            match not_ready {
                None => Ok("ready"),
                Some(reason) => Err(ApiError::new(ErrorCode::Unavailable, reason)),
            }
        }
    };
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready));
    match metrics {
        Some(handle) => router.route("/metrics", get(move || std::future::ready(handle.render()))),
        None => router,
    }
}
