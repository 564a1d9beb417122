//! Statements with attachments (Communication 1.5.2, Data 2.4.11) and signed statements
//! (Data 2.6).
//!
//! A request whose attachments carry bytes is `multipart/mixed`: the statements first, as
//! `application/json`, then one part per attachment with `X-Experience-API-Hash` (its SHA-256)
//! and `Content-Transfer-Encoding: binary`. The intake checks every hash, that every attachment
//! without a `fileUrl` has its part and every part its attachment, and that each signature is a
//! JWS (RS256, RS384 or RS512) whose payload is the statement it signs and which, when its header
//! carries an `x5c` certificate, verifies against that certificate (`jws.rs`).
//!
//! Where the bytes live: in the same Kafka message as the statements (`statement-batch` v1,
//! `attachments`), so a request's statements and attachments are durable together and
//! read-your-writes covers both; the sink stores them in ClickHouse's `attachments` table, keyed
//! by tenant and SHA-256, and `GET …?attachments=true` reads them from there. A request is
//! bounded by `http.max_body_bytes` (413 above it), which stays below the Kafka message limit.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use learnstream_kafka::AttachmentData;
use learnstream_xapi::{NormalizedStatement, Statement, same_statement};
use sha2::{Digest as _, Sha256};

use crate::jws::{Jws, JwsError};
use learnstream_http::ApiError;
use learnstream_http::media;

/// The usage type of a statement signature (Data 2.6).
pub(crate) const SIGNATURE_USAGE_TYPE: &str = "http://adlnet.gov/expapi/attachments/signature";
const HASH_HEADER: &str = "x-experience-api-hash";
const TRANSFER_ENCODING_HEADER: &str = "content-transfer-encoding";

/// A statement request's body: the statements' JSON and the attachments' bytes.
#[derive(Debug)]
pub(crate) struct StatementsBody {
    pub(crate) statements: Bytes,
    pub(crate) attachments: Vec<AttachmentData>,
    /// Sent as `multipart/mixed` (the only way attachment bytes arrive).
    pub(crate) multipart: bool,
}

impl StatementsBody {
    pub(crate) fn json(statements: Bytes) -> Self {
        StatementsBody {
            statements,
            attachments: Vec::new(),
            multipart: false,
        }
    }
}

/// Whether the request is `multipart/mixed`.
pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    media::is_media_type(media::content_type(headers), "multipart/mixed")
}

/// Splits a `multipart/mixed` statement request into the statements and the attachments.
pub(crate) async fn parse_multipart(
    headers: &HeaderMap,
    body: Bytes,
) -> Result<StatementsBody, ApiError> {
    let boundary = media::content_type(headers)
        .parse::<mime::Mime>()
        .ok()
        .and_then(|media_type| {
            media_type
                .get_param(mime::BOUNDARY)
                .map(|boundary| boundary.as_str().to_owned())
        })
        .ok_or_else(|| {
            ApiError::bad_request("Content-Type: multipart/mixed needs a boundary parameter")
        })?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed =
        |error: multer::Error| ApiError::bad_request(format!("body: malformed multipart: {error}"));

    let first = multipart
        .next_field()
        .await
        .map_err(malformed)?
        .ok_or_else(|| {
            ApiError::bad_request("body: a multipart request starts with the statements")
        })?;
    let first_type = media::content_type(first.headers()).to_owned();
    if !media::is_media_type(&first_type, "application/json") {
        return Err(ApiError::bad_request(format!(
            "body: the first part holds the statements as application/json, not {first_type:?}"
        )));
    }
    let statements = first.bytes().await.map_err(malformed)?;

    let mut attachments: Vec<AttachmentData> = Vec::new();
    while let Some(part) = multipart.next_field().await.map_err(malformed)? {
        let index = part.index();
        let header = |name: &str| {
            part.headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .map(str::to_owned)
        };
        let sha2 = header(HASH_HEADER)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "body: part {index} has no X-Experience-API-Hash header"
                ))
            })?
            .to_ascii_lowercase();
        match header(TRANSFER_ENCODING_HEADER) {
            Some(encoding) if encoding.eq_ignore_ascii_case("binary") => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "body: part {index} must have Content-Transfer-Encoding: binary, got {other:?}"
                )));
            }
        }
        let content_type =
            header(CONTENT_TYPE.as_str()).unwrap_or_else(|| "application/octet-stream".to_owned());
        let data = part.bytes().await.map_err(malformed)?;
        let actual = base16ct::lower::encode_string(&Sha256::digest(&data));
        if actual != sha2 {
            return Err(ApiError::bad_request(format!(
                "body: part {index} hashes to {actual}, not the {sha2} its X-Experience-API-Hash says"
            )));
        }
        if !attachments.iter().any(|known| known.sha2 == sha2) {
            attachments.push(AttachmentData {
                sha2,
                content_type,
                data,
            });
        }
    }
    Ok(StatementsBody {
        statements,
        attachments,
        multipart: true,
    })
}

/// Checks the statements' attachments against the parts that came with them, and every
/// signature. Returns the parts the statements use.
pub(crate) fn check(
    statements: &[NormalizedStatement],
    body: StatementsBody,
) -> Result<Vec<AttachmentData>, ApiError> {
    let mut referenced: Vec<String> = Vec::new();
    for normalized in statements {
        // Most statements have no attachments; only those are parsed again.
        if !normalized.json.contains("\"attachments\"") {
            continue;
        }
        let statement: Statement<'_> = serde_json::from_str(&normalized.json)
            .map_err(|error| ApiError::internal("a normalized statement does not parse", &error))?;
        for (position, attachment) in statement.attachments.iter().flatten().enumerate() {
            let path = format!("statement {}: attachments[{position}]", normalized.id);
            let sha2 = attachment.sha2.to_ascii_lowercase();
            let part = body.attachments.iter().find(|part| part.sha2 == sha2);
            if attachment.usage_type == SIGNATURE_USAGE_TYPE {
                check_signature(&path, &statement, attachment.content_type.as_ref(), part)?;
            }
            match part {
                Some(_) => referenced.push(sha2),
                None if attachment.file_url.is_none() => {
                    let how = if body.multipart {
                        "no part of the request carries it"
                    } else {
                        "send its bytes as a part of a multipart/mixed request"
                    };
                    return Err(ApiError::bad_request(format!(
                        "{path}.sha2: {sha2} has no fileUrl and {how}"
                    )));
                }
                None => {}
            }
        }
    }
    if let Some(unused) = body
        .attachments
        .iter()
        .find(|part| !referenced.contains(&part.sha2))
    {
        return Err(ApiError::bad_request(format!(
            "body: the part with X-Experience-API-Hash {} is no statement's attachment",
            unused.sha2
        )));
    }
    Ok(body.attachments)
}

/// Data 2.6: a signature is an `application/octet-stream` attachment holding a JWS (compact
/// serialization) signed with RS256, RS384 or RS512, whose payload is the statement itself.
fn check_signature(
    path: &str,
    statement: &Statement<'_>,
    content_type: &str,
    part: Option<&AttachmentData>,
) -> Result<(), ApiError> {
    if content_type != "application/octet-stream" {
        return Err(ApiError::bad_request(format!(
            "{path}.contentType: a signature is application/octet-stream, not {content_type:?}"
        )));
    }
    let part = part.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{path}: a signature's bytes must be sent as a part"
        ))
    })?;
    let jws = std::str::from_utf8(&part.data)
        .map_err(|_| JwsError::Malformed("not text"))
        .and_then(Jws::verify)
        .map_err(|error| ApiError::bad_request(format!("{path}: {error}")))?;
    let signed: Statement<'_> = serde_json::from_slice(&jws.payload).map_err(|error| {
        ApiError::bad_request(format!(
            "{path}: the signature's payload is not a statement: {error}"
        ))
    })?;
    if !same_statement(&signed, statement) {
        return Err(ApiError::bad_request(format!(
            "{path}: the signature's payload differs from the statement it signs"
        )));
    }
    Ok(())
}
