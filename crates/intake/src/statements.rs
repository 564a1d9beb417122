//! The Statement Resource: `POST` normalizes and produces a batch to Kafka and answers once the
//! brokers acknowledged it; `GET` reads what the sink stored in ClickHouse.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use learnstream_kafka::{AttachmentData, Delivered};
use learnstream_xapi::{
    NormalizeContext, NormalizedStatement, Statement, VOIDED_VERB, XapiVersion, normalize_body,
    same_statement, uuid_parameter,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::attachments::{self, StatementsBody};
use crate::coalesce::SubmitError;
use crate::metrics::{PRODUCE_FAILURES, STATEMENTS_ACCEPTED};
use crate::state::AppState;
use learnstream_http::WriteMode;
use learnstream_http::media;
use learnstream_http::{ApiError, ErrorBody, ErrorCode};
use learnstream_http::{Authenticated, Principal};

pub(crate) const VERSION_HEADER: &str = "x-experience-api-version";

/// Bodies above this size are normalized on the blocking pool, so that a large batch does not
/// hold an async worker for milliseconds.
const INLINE_NORMALIZE_LIMIT: usize = 64 * 1024;

pub(crate) const WRITE_MODE_HEADER: &str = "x-learnstream-write-mode";
pub(crate) const CONSISTENT_THROUGH_HEADER: &str = "x-experience-api-consistent-through";

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
        insert_consistent_through(&mut response, instant);
    }
    response
}

pub(crate) fn insert_consistent_through(response: &mut Response, instant: OffsetDateTime) {
    let text = instant
        .format(&Rfc3339)
        .expect("a UTC instant from the clock formats as RFC 3339");
    response.headers_mut().insert(
        CONSISTENT_THROUGH_HEADER,
        HeaderValue::from_str(&text).expect("an RFC 3339 timestamp is a valid header value"),
    );
}

/// Every `POST /xapi/statements`: statements, or with `?method=…` a request in the alternate
/// syntax (`alternate.rs`).
#[utoipa::path(
    post,
    path = "/xapi/statements",
    tag = learnstream_http::XAPI_TAG,
    operation_id = "xapi_post_statements",
    summary = "Store one statement or an array of statements",
    description = "Answers the ids, in order, once Kafka has the statements durably (or, with the read-your-writes write mode, once they are readable). A statement with attachments comes as multipart/mixed. With `method=GET|PUT|POST` the request is in the alternate request syntax (a form body).",
    params(
        ("X-Experience-API-Version" = String, Header, description = "The xAPI version of the request: 1.0.x or 2.0.0."),
        ("X-Learnstream-Write-Mode" = Option<String>, Header, description = "`throughput` (answer once durable in Kafka) or `read-your-writes` (once a GET reads them)."),
        ("method" = Option<String>, Query, description = "The alternate request syntax: the method the form body carries."),
    ),
    request_body(content = serde_json::Value, description = "A statement or an array of statements", content_type = "application/json"),
    responses(
        (status = 200, description = "The statements' ids, in order", body = Vec<String>),
        (status = 400, description = "A statement breaks a rule of xAPI; the message names the field", body = ErrorBody),
        (status = 401, description = "No or wrong credentials", body = ErrorBody),
        (status = 403, description = "The credential may not write", body = ErrorBody),
        (status = 409, description = "A statement id is stored with other content", body = ErrorBody),
        (status = 413, description = "The body is larger than the configured limit", body = ErrorBody),
        (status = 503, description = "Kafka cannot take the statements now; retry", body = ErrorBody),
    ),
)]
pub(crate) async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(parameters): Query<Vec<(String, String)>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if parameters.iter().any(|(name, _)| name == "method") {
        let body = body.map_err(|rejection| body_error(rejection, state.max_body_bytes()))?;
        return crate::alternate::dispatch(state, headers, parameters, body).await;
    }
    let principal = state.credentials().authenticate_headers(&headers)?;
    if let Some((name, _)) = parameters.first() {
        return Err(ApiError::bad_request(format!(
            "{name}: a POST of statements takes no parameters"
        )));
    }
    post_statements(State(state), Authenticated(principal), headers, body)
        .await
        .map(IntoResponse::into_response)
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
    let write_mode = write_mode(&headers, &principal)?;
    let body = body.map_err(|rejection| body_error(rejection, state.max_body_bytes()))?;
    let body = statements_body(&headers, body).await?;
    let ids = store_statements(&state, &principal, body, version, write_mode).await?;
    Ok(Json(ids))
}

/// The statements and attachments of a `POST` or `PUT` body: JSON, or `multipart/mixed` with
/// attachments (`attachments.rs`).
async fn statements_body(headers: &HeaderMap, body: Bytes) -> Result<StatementsBody, ApiError> {
    if attachments::is_multipart(headers) {
        return attachments::parse_multipart(headers, body).await;
    }
    require_json(headers)?;
    Ok(StatementsBody::json(body))
}

/// `PUT /xapi/statements?statementId=…`: one statement with that id. Answers 204 as `POST`
/// answers 200.
#[utoipa::path(
    put,
    path = "/xapi/statements",
    tag = learnstream_http::XAPI_TAG,
    operation_id = "xapi_put_statement",
    summary = "Store one statement under the id given",
    params(
        ("X-Experience-API-Version" = String, Header, description = "The xAPI version of the request: 1.0.x or 2.0.0."),
        ("statementId" = String, Query, description = "The statement's id."),
    ),
    request_body(content = serde_json::Value, description = "One statement", content_type = "application/json"),
    responses(
        (status = 204, description = "Stored (or already stored with the same content)"),
        (status = 400, description = "The statement breaks a rule of xAPI; the message names the field", body = ErrorBody),
        (status = 401, description = "No or wrong credentials", body = ErrorBody),
        (status = 409, description = "The id is stored with other content", body = ErrorBody),
        (status = 503, description = "Kafka cannot take the statement now; retry", body = ErrorBody),
    ),
)]
pub(crate) async fn put_statement(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    Query(parameters): Query<Vec<(String, String)>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let version = request_version(&headers)?;
    let statement_id = match parameters.as_slice() {
        [(name, value)] if name == "statementId" => uuid_parameter("statementId", value)?,
        [] => {
            return Err(ApiError::bad_request(
                "statementId: is required to PUT a statement",
            ));
        }
        _ => {
            let names: Vec<&str> = parameters.iter().map(|(name, _)| name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "a PUT takes only the statementId parameter, got {}",
                names.join(", ")
            )));
        }
    };
    let write_mode = write_mode(&headers, &principal)?;
    let body = body.map_err(|rejection| body_error(rejection, state.max_body_bytes()))?;
    let mut body = statements_body(&headers, body).await?;
    body.statements = with_statement_id(&body.statements, statement_id)?;
    store_statements(&state, &principal, body, version, write_mode).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The PUT body with the `statementId` as its id: a statement without an id gets it, one with
/// another id is refused.
fn with_statement_id(body: &[u8], statement_id: Uuid) -> Result<Bytes, ApiError> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<serde_json::Value>,
    }
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body: is not UTF-8"))?;
    let Some(members) = text.trim_start().strip_prefix('{') else {
        return Err(ApiError::bad_request(
            "body: a PUT carries one statement object",
        ));
    };
    // Other problems are the normalizer's to report, with their paths.
    let sent_id = serde_json::from_str::<IdOnly>(text)
        .ok()
        .and_then(|only| only.id);
    match sent_id {
        None => {
            // `{}` has no member to put a comma before.
            let separator = if members.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            Ok(Bytes::from(format!(
                "{{\"id\":\"{}\"{separator}{members}",
                statement_id.hyphenated()
            )))
        }
        Some(serde_json::Value::String(id))
            if Uuid::try_parse(&id).is_ok_and(|id| id == statement_id) =>
        {
            Ok(Bytes::copy_from_slice(body))
        }
        Some(id) => Err(ApiError::bad_request(format!(
            "id: {id} differs from the statementId parameter {statement_id}"
        ))),
    }
}

/// Normalizes, checks against what is stored, sends to Kafka and, in read-your-writes mode,
/// waits until the statements are readable. Returns every statement's id.
async fn store_statements(
    state: &AppState,
    principal: &Arc<Principal>,
    body: StatementsBody,
    version: XapiVersion,
    write_mode: WriteMode,
) -> Result<Vec<Uuid>, ApiError> {
    let write = state.progress().begin();
    let statements = normalize(
        body.statements.clone(),
        version,
        write.stored(),
        Arc::clone(principal),
    )
    .await?;
    let attachments = attachments::check(&statements, body)?;
    let ids: Vec<Uuid> = statements.iter().map(|statement| statement.id).collect();
    let new = check_against_stored(state, &principal.tenant, statements).await?;
    if new.is_empty() {
        return Ok(ids);
    }
    state
        .store_gate()
        .accepted(&principal.tenant, new.iter().map(|statement| statement.id));
    let position = publish(state, principal, new, attachments).await?;
    state
        .store_gate()
        .produced(position.partition, position.offset);
    let delivered = write.delivered(position.partition, position.offset);
    if write_mode == WriteMode::ReadYourWrites {
        delivered.readable().await;
    }
    Ok(ids)
}

/// The checks that need the stored statements (Communication 2.1.2, Data 2.3): an id already
/// stored with other content is a conflict (409), and with the same content is accepted without
/// a second copy; a voiding statement must not target a voiding statement (400). Returns the
/// statements still to store.
async fn check_against_stored(
    state: &AppState,
    tenant: &Arc<str>,
    statements: Vec<NormalizedStatement>,
) -> Result<Vec<NormalizedStatement>, ApiError> {
    let wanted: Vec<Uuid> = statements
        .iter()
        .flat_map(|statement| {
            let own = statement.id_sent.then_some(statement.id);
            own.into_iter().chain(statement.voids)
        })
        .collect();
    if wanted.is_empty() {
        return Ok(statements);
    }
    let stored = state
        .store_gate()
        .stored(Arc::clone(tenant), wanted)
        .await?;
    let voiding_in_request: Vec<Uuid> = statements
        .iter()
        .filter(|statement| statement.voids.is_some())
        .map(|statement| statement.id)
        .collect();
    let mut new = Vec::with_capacity(statements.len());
    for statement in statements {
        if let Some(target) = statement.voids {
            let targets_voiding = voiding_in_request.contains(&target)
                || stored
                    .get(&target)
                    .is_some_and(|stored| stored.verb_id == VOIDED_VERB);
            if targets_voiding {
                return Err(ApiError::bad_request(format!(
                    "object.id: statement {} voids {target}, itself a voiding statement; a voiding statement cannot be voided",
                    statement.id
                )));
            }
        }
        if statement.id_sent
            && let Some(existing) = stored.get(&statement.id)
        {
            if same_content(&existing.raw, &statement)? {
                continue;
            }
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "id: statement {} is already stored with other content; statements are immutable",
                    statement.id
                ),
            ));
        }
        new.push(statement);
    }
    Ok(new)
}

/// Data 2.3.1: the same statement, ignoring what the LRS assigns and what may differ.
fn same_content(stored: &str, sent: &NormalizedStatement) -> Result<bool, ApiError> {
    let stored: Statement<'_> = serde_json::from_str(stored)
        .map_err(|error| ApiError::internal("a stored statement does not parse", &error))?;
    let mut sent_statement: Statement<'_> = serde_json::from_str(&sent.json)
        .map_err(|error| ApiError::internal("a normalized statement does not parse", &error))?;
    if !sent.timestamp_sent {
        // Filled in by this LRS just now, so not part of what the client says.
        sent_statement.timestamp = None;
    }
    Ok(same_statement(&stored, &sent_statement))
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
    attachments: Vec<AttachmentData>,
) -> Result<Delivered, ApiError> {
    let count = statements.len() as u64;
    let json = statements
        .into_iter()
        .map(|statement| statement.json)
        .collect();
    match state
        .coalescer()
        .submit(Arc::clone(&principal.tenant), json, attachments)
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
    let content_type = media::content_type(headers);
    if media::is_media_type(content_type, "application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::BadRequest,
        format!("Content-Type: must be application/json, got {content_type:?}"),
    ))
}

fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::body_too_large(limit);
    }
    ApiError::new(ErrorCode::BadRequest, format!("body: {rejection}"))
}
