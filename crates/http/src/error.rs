//! Every HTTP error learnstream answers passes through here: an [`ErrorCode`] decides the status,
//! the message tells the client what to fix. Internal errors are logged with their context and
//! shown to the client only as a generic message.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The kinds of failure a client can see, one per HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request breaks a rule of xAPI (400).
    BadRequest,
    /// No or wrong credentials (401).
    Unauthorized,
    /// The credentials may not do this (403).
    Forbidden,
    /// The resource does not exist (404).
    NotFound,
    /// The request conflicts with what is stored: a statement id stored with other content, a
    /// document changed without a precondition (409).
    Conflict,
    /// A precondition (`If-Match`, `If-None-Match`) does not hold (412).
    PreconditionFailed,
    /// A change of a stored resource came without a precondition it needs (428).
    PreconditionRequired,
    /// The body did not arrive within the configured time (408); the connection is closed.
    RequestTimeout,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// The body is not of the media type the resource takes (415).
    UnsupportedMediaType,
    /// Kafka or ClickHouse cannot take or answer the request now; retry later (503).
    Unavailable,
    /// A defect or an unexpected failure (500).
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorCode::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The request breaks a rule (400); the message names the field and the rule.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// The body is larger than `limit` bytes (413).
    pub fn body_too_large(limit: usize) -> Self {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body: larger than the limit of {limit} bytes"),
        )
    }

    /// An unexpected failure: logs `context` and the error, tells the client nothing more.
    pub fn internal(context: &str, error: &dyn fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    /// A dependency is unavailable: logs it, asks the client to retry.
    pub fn unavailable(context: &str, error: &dyn fmt::Display) -> Self {
        tracing::warn!(%error, "{context}");
        ApiError::new(
            ErrorCode::Unavailable,
            format!("{context}; retry after {RETRY_AFTER_SECONDS} s"),
        )
    }
}

impl From<learnstream_xapi::Error> for ApiError {
    fn from(error: learnstream_xapi::Error) -> Self {
        ApiError::new(ErrorCode::BadRequest, error.to_string())
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What to fix, naming the field or parameter and the rule it breaks.
    #[schema(example = "limit: must be between 1 and 1000")]
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.code.http_status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match self.code {
            ErrorCode::Unavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            ErrorCode::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"learnstream\""),
                );
            }
            // The rest of the body may still be on its way: the connection cannot carry another
            // request.
            ErrorCode::RequestTimeout | ErrorCode::PayloadTooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_status() {
        let expected = [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::Conflict, 409),
            (ErrorCode::PreconditionFailed, 412),
            (ErrorCode::PreconditionRequired, 428),
            (ErrorCode::RequestTimeout, 408),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::UnsupportedMediaType, 415),
            (ErrorCode::Unavailable, 503),
            (ErrorCode::Internal, 500),
        ];
        for (code, status) in expected {
            assert_eq!(code.http_status().as_u16(), status, "{code:?}");
        }
    }

    #[test]
    fn unavailable_tells_when_to_retry_and_unauthorized_how_to_authenticate() {
        let response = ApiError::new(ErrorCode::Unavailable, "kafka").into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = ApiError::new(ErrorCode::Unauthorized, "who").into_response();
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
