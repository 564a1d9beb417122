//! The LRS's HTTP side. What flows in: xAPI requests from vendors' clients. What flows out:
//! normalized statement batches to Kafka (`POST`), answered only once the brokers acknowledged
//! them, and statements read back from ClickHouse (`GET`).
//!
//! [`router`] builds the whole application from an [`AppState`], so tests drive it with
//! `Router::oneshot` and no socket.

mod about;
mod alternate;
mod attachments;
mod coalesce;
mod config;
mod gate;
mod jws;
mod known_ids;
mod media;
mod metrics;
mod progress;
mod read;
mod serve;
mod state;
mod statements;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use learnstream_http::{ApiError, BodyGuard, ErrorCode, guard_body};
use learnstream_xapi::XapiVersion;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

pub use coalesce::{CoalesceConfig, Coalescer, SubmitError};
pub use config::HttpConfig;
pub use gate::StoreGate;
pub use known_ids::{KnownIds, KnownIdsError};
pub use metrics::describe as describe_metrics;
pub use progress::{ConsistencyConfig, Progress, ProgressError};
pub use serve::{ConnectionLimits, serve};
pub use state::{AppState, AppStateParts};

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/xapi/about", get(about::about))
        .route(
            "/xapi/statements",
            get(read::get_statements)
                .post(statements::post)
                .put(statements::put_statement)
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    statements::consistent_through_header,
                )),
        )
        .layer(middleware::from_fn_with_state(
            BodyGuard::new(
                state.credentials().clone(),
                state.max_body_bytes(),
                state.body_read_timeout(),
            ),
            guard_body,
        ))
        .merge(ops_router(
            state.metrics().cloned(),
            state.readiness().cloned(),
        ))
        .fallback(not_found);
    let cors = cors_layer(state.cors_allowed_origins());
    router
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(cors)
        .layer(middleware::from_fn(xapi_version_header))
        .route_layer(middleware::from_fn(metrics::track_http))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every path learnstream does not serve: the JSON error every other answer uses.
async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("{}: no such resource", request.uri().path()),
    )
}

/// CORS for xAPI content running in browsers (Communication 1.3's cross-origin clients): the
/// methods and headers xAPI uses, and the response headers a client must be able to read.
fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
    let origins = if allowed_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            allowed_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static(statements::VERSION_HEADER),
            HeaderName::from_static(statements::WRITE_MODE_HEADER),
        ])
        .expose_headers([
            header::LAST_MODIFIED,
            header::ETAG,
            HeaderName::from_static(statements::VERSION_HEADER),
            HeaderName::from_static(statements::CONSISTENT_THROUGH_HEADER),
        ])
        .max_age(std::time::Duration::from_secs(24 * 60 * 60))
}

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

/// Every response says which xAPI version it speaks: the request's, or 1.0.3 when the request
/// named none the LRS serves.
async fn xapi_version_header(request: Request, next: Next) -> Response {
    let version = request
        .headers()
        .get(statements::VERSION_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| XapiVersion::from_header(value).ok())
        .unwrap_or(XapiVersion::V1_0);
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        statements::VERSION_HEADER,
        HeaderValue::from_static(version.header_value()),
    );
    response
}

#[cfg(test)]
mod tests;
