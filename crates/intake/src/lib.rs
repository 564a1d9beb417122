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
mod metrics;
mod progress;
mod read;
mod serve;
mod state;
mod statements;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use learnstream_http::{
    ApiError, BodyGuard, ErrorCode, cors_layer, guard_body, ops_router, track_http,
};
use learnstream_xapi::XapiVersion;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use coalesce::{CoalesceConfig, Coalescer, SubmitError};
pub use config::HttpConfig;
pub use gate::StoreGate;
pub use known_ids::{KnownIds, KnownIdsError};
pub use metrics::describe as describe_metrics;
pub use progress::{ConsistencyConfig, Progress, ProgressError};
pub use serve::{ConnectionLimits, serve};
pub use state::{AppState, AppStateParts};

/// The whole HTTP application, its routes described for the API document.
pub fn router(state: AppState) -> OpenApiRouter {
    let statements = OpenApiRouter::new()
        .routes(routes!(
            read::get_statements,
            statements::post,
            statements::put_statement
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            statements::consistent_through_header,
        ));
    let router = OpenApiRouter::new()
        .routes(routes!(about::about))
        .merge(statements)
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
    // CORS for xAPI content running in browsers (Communication 1.3's cross-origin clients): the
    // headers xAPI requests send, and those a client must be able to read.
    let cors = cors_layer(
        state.cors_allowed_origins(),
        &[
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static(statements::VERSION_HEADER),
            HeaderName::from_static(statements::WRITE_MODE_HEADER),
        ],
        &[
            header::LAST_MODIFIED,
            header::ETAG,
            HeaderName::from_static(statements::VERSION_HEADER),
            HeaderName::from_static(statements::CONSISTENT_THROUGH_HEADER),
        ],
    );
    router
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(cors)
        .layer(middleware::from_fn(xapi_version_header))
        .route_layer(middleware::from_fn(track_http))
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
