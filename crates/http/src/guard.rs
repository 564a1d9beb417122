//! What every request with a body goes through before a handler sees it: its credentials are
//! checked from the headers before one byte of the body is read, and the body is then read whole
//! under a size limit and a deadline. A client without credentials cannot make the server hold a
//! body, and a client that trickles one cannot hold a connection and its buffer for ever.
//!
//! The one exception is xAPI's alternate request syntax (`POST …?method=…`), whose credentials
//! travel inside the form body: it is read under the same limit and deadline, then checked.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::auth::Credentials;
use crate::error::{ApiError, ErrorCode};

/// How bodies are read: by whom, how large, how fast.
#[derive(Debug, Clone)]
pub struct BodyGuard {
    credentials: Credentials,
    max_bytes: usize,
    read_timeout: Duration,
}

impl BodyGuard {
    pub fn new(credentials: Credentials, max_bytes: usize, read_timeout: Duration) -> Arc<Self> {
        Arc::new(BodyGuard {
            credentials,
            max_bytes,
            read_timeout,
        })
    }
}

/// The middleware (`axum::middleware::from_fn_with_state(guard, guard_body)`).
pub async fn guard_body(
    State(guard): State<Arc<BodyGuard>>,
    request: Request,
    next: Next,
) -> Response {
    match read_guarded(&guard, request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn read_guarded(guard: &BodyGuard, request: Request) -> Result<Request, ApiError> {
    if !has_body(request.headers()) {
        return Ok(request);
    }
    if !is_alternate_syntax(&request) {
        guard.credentials.authenticate_headers(request.headers())?;
    }
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > guard.max_bytes as u64) {
        return Err(ApiError::body_too_large(guard.max_bytes));
    }
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, guard.max_bytes).collect();
    let collected = match tokio::time::timeout(guard.read_timeout, read).await {
        Err(_) => {
            return Err(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "body: not received within {} ms (http.body_read_timeout_ms)",
                    guard.read_timeout.as_millis()
                ),
            ));
        }
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return Err(ApiError::body_too_large(guard.max_bytes));
        }
        Ok(Err(error)) => {
            return Err(ApiError::bad_request(format!(
                "body: could not be read: {error}"
            )));
        }
        Ok(Ok(collected)) => collected,
    };
    Ok(Request::from_parts(parts, Body::from(collected.to_bytes())))
}

/// Whether the request carries a body (RFC 9112 6.3: `Transfer-Encoding`, or a non-zero
/// `Content-Length`).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

fn is_alternate_syntax(request: &Request) -> bool {
    request.method() == Method::POST
        && request.uri().query().is_some_and(|query| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("method"))
        })
}
