//! The operational routes every learnstream process serves, whatever else it serves.

use axum::extract::State;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, ErrorCode};

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

/// What the operational routes read.
#[derive(Clone)]
struct Ops {
    metrics: Option<PrometheusHandle>,
    readiness: Option<Readiness>,
}

/// The tag of the operational routes in the API document.
pub const OPERATIONS_TAG: &str = "operations";

/// The tag of the xAPI resources in the API document.
pub const XAPI_TAG: &str = "xAPI";

/// The operational routes every learnstream process serves: `GET /health` (the process is up
/// and serving), `GET /ready` (it does its work: a sink has joined its group and holds its
/// partitions; 503 with the reason until then) and, with a metrics handle, `GET /metrics` in
/// Prometheus format.
pub fn ops_router<S: Clone + Send + Sync + 'static>(
    metrics: Option<PrometheusHandle>,
    readiness: Option<Readiness>,
) -> OpenApiRouter<S> {
    let serves_metrics = metrics.is_some();
    let router = OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready));
    let router = if serves_metrics {
        router.routes(routes!(prometheus_metrics))
    } else {
        router
    };
    router.with_state(Ops { metrics, readiness })
}

/// Whether the process is up and serving.
#[utoipa::path(
    get,
    path = "/health",
    tag = OPERATIONS_TAG,
    operation_id = "health",
    security(()),
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain", example = "ok")),
)]
async fn health() -> &'static str {
    "ok"
}

/// Whether the process does its work: a sink has joined its group and holds partitions.
#[utoipa::path(
    get,
    path = "/ready",
    tag = OPERATIONS_TAG,
    operation_id = "ready",
    security(()),
    responses(
        (status = 200, description = "The process does its work", body = String, content_type = "text/plain", example = "ready"),
        (status = 503, description = "Not yet, and why", body = ErrorBody),
    ),
)]
async fn ready(State(ops): State<Ops>) -> Result<&'static str, ApiError> {
    match ops.readiness.as_ref().and_then(Readiness::not_ready) {
        None => Ok("ready"),
        Some(reason) => Err(ApiError::new(ErrorCode::Unavailable, reason)),
    }
}

/// The process's metrics: HTTP requests, Kafka and ClickHouse operations, the sink's lag, the
/// process's CPU and memory.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = OPERATIONS_TAG,
    operation_id = "metrics",
    security(()),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
)]
async fn prometheus_metrics(State(ops): State<Ops>) -> String {
    ops.metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
