//! The Statement Resource: `POST` normalizes and produces a batch to Kafka and answers once the
//! brokers acknowledged it; `GET` reads what the sink stored in ClickHouse.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use learnstream_kafka::Delivered;
use learnstream_xapi::{NormalizeContext, NormalizedStatement, XapiVersion, normalize_body};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::auth::{Authenticated, Principal};
use crate::coalesce::SubmitError;
use crate::config::WriteMode;
use crate::error::{ApiError, ErrorCode};
use crate::metrics::{PRODUCE_FAILURES, STATEMENTS_ACCEPTED};
use crate::state::AppState;

pub(crate) const VERSION_HEADER: &str = "x-experience-api-version";

/// Bodies above this size are normalized on the blocking pool, so that a large batch does not
/// hold an async worker for milliseconds.
const INLINE_NORMALIZE_LIMIT: usize = 64 * 1024;

pub(crate) const WRITE_MODE_HEADER: &str = "x-learnstream-write-mode";
const CONSISTENT_THROUGH_HEADER: &str = "x-experience-api-consistent-through";

/// Every answer to a `GET` or `HEAD` of statements, errors included, says up to when the
/// statements stored are all readable (Communication 2.1.3).
pub(crate) async fn consistent_through_header(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    // Taken before the read: whatever the read sees is at least this consistent.
    let consistent_through = reads.then(|| state.progress().consistent_through());
    let mut response = next.run(request).await;
    if let Some(instant) = consistent_through {
        let text = instant
            .format(&Rfc3339)
            .expect("a UTC instant from the clock formats as RFC 3339");
        response.headers_mut().insert(
            CONSISTENT_THROUGH_HEADER,
            HeaderValue::from_str(&text).expect("an RFC 3339 timestamp is a valid header value"),
        );
    }
    response
}

/// `POST /xapi/statements`: one statement or an array of them. The whole request travels as one
/// Kafka message. Answers with their ids once a `GET` can read them (read-your-writes) or, in
/// throughput mode, once Kafka has them durably.
pub(crate) async fn post_statements(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<Uuid>>, ApiError> {
    let version = request_version(&headers)?;
    require_json(&headers)?;
    let write_mode = write_mode(&headers, &principal)?;
    let body = body.map_err(|rejection| body_error(rejection, state.max_body_bytes()))?;
    let write = state.progress().begin();
    let statements = normalize(body, version, write.stored(), principal.clone()).await?;
    if statements.is_empty() {
        return Ok(Json(Vec::new()));
    }
    let ids = statements.iter().map(|statement| statement.id).collect();
    let position = publish(&state, &principal, statements).await?;
    let delivered = write.delivered(position.partition, position.offset);
    if write_mode == WriteMode::ReadYourWrites {
        delivered.readable().await;
    }
    Ok(Json(ids))
}

/// The request's `X-Learnstream-Write-Mode`, or the credential's.
fn write_mode(headers: &HeaderMap, principal: &Principal) -> Result<WriteMode, ApiError> {
    let Some(value) = headers.get(WRITE_MODE_HEADER) else {
        return Ok(principal.write_mode);
    };
    value
        .to_str()
        .ok()
        .and_then(WriteMode::from_header)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                "X-Learnstream-Write-Mode: must be read_your_writes or throughput",
            )
        })
}

async fn normalize(
    body: Bytes,
    version: XapiVersion,
    stored: OffsetDateTime,
    principal: Arc<Principal>,
) -> Result<Vec<NormalizedStatement>, ApiError> {
    let inline = body.len() <= INLINE_NORMALIZE_LIMIT;
    let run = move || {
        let context = NormalizeContext {
            version,
            stored,
            authority: &principal.authority,
        };
        normalize_body(&body, &context)
    };
    if inline {
        return Ok(run()?);
    }
    let normalized = tokio::task::spawn_blocking(run)
        .await
        .map_err(|error| ApiError::internal("normalizing statements panicked", &error))?;
    Ok(normalized?)
}

async fn publish(
    state: &AppState,
    principal: &Principal,
    statements: Vec<NormalizedStatement>,
) -> Result<Delivered, ApiError> {
    let count = statements.len() as u64;
    let json = statements
        .into_iter()
        .map(|statement| statement.json)
        .collect();
    match state
        .coalescer()
        .submit(Arc::clone(&principal.tenant), json)
        .await
    {
        Ok(delivered) => {
            metrics::counter!(STATEMENTS_ACCEPTED).increment(count);
            Ok(delivered)
        }
        Err(error @ SubmitError::TooLarge { .. }) => Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body: {error}"),
        )),
        Err(SubmitError::QueueFull) => {
            metrics::counter!(PRODUCE_FAILURES, "reason" => "queue_full").increment(1);
            Err(ApiError::unavailable(
                "the statement queue is full",
                &SubmitError::QueueFull,
            ))
        }
        Err(error) => {
            metrics::counter!(PRODUCE_FAILURES, "reason" => "failed").increment(1);
            Err(ApiError::unavailable(
                "the statements could not be stored durably",
                &error,
            ))
        }
    }
}

pub(crate) fn request_version(headers: &HeaderMap) -> Result<XapiVersion, ApiError> {
    let value = headers.get(VERSION_HEADER).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "X-Experience-API-Version: header is required",
        )
    })?;
    let text = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::BadRequest,
            "X-Experience-API-Version: must be ASCII",
        )
    })?;
    Ok(XapiVersion::from_header(text)?)
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::BadRequest,
        format!("Content-Type: must be application/json, got {content_type:?}"),
    ))
}

fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body: larger than the limit of {limit} bytes"),
        );
    }
    ApiError::new(ErrorCode::BadRequest, format!("body: {rejection}"))
}
