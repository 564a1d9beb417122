//! The `statement-batch` v1 wire format: one Kafka message carries every statement of one
//! request, so a request is stored atomically (all of its statements or none) and a broker that
//! tops out at some thousands of messages a second still carries many more statements.
//!
//! ```json
//! {"schema":1,"tenant":"district-7","statements":[{...},{...}],
//!  "attachments":[{"sha2":"…","contentType":"…","data":"<base64>"}]}
//! ```
//!
//! The statements are normalized xAPI statements, copied into the message byte for byte.
//! `attachments` (optional; absent when there are none) carries the bytes of the statements'
//! attachments sent in `multipart/mixed` requests, so a request's statements and attachments are
//! durable together. The `content-type` header repeats the format and version so consumers can
//! route without parsing.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Error, Result};

/// The version of the format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Header that names the format of a message.
pub const CONTENT_TYPE_HEADER: &str = "content-type";
/// Value of [`CONTENT_TYPE_HEADER`] for `statement-batch` v1 messages.
pub const CONTENT_TYPE: &str = "application/vnd.learnstream.statement-batch.v1+json";

/// The bytes of one attachment, named by its SHA-256 as the statements name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentData {
    /// Lowercase hexadecimal SHA-256 of `data`.
    pub sha2: String,
    pub content_type: String,
    pub data: bytes::Bytes,
}

impl AttachmentData {
    /// What the attachment takes in a message.
    pub fn encoded_len(&self) -> usize {
        self.data.len().div_ceil(3) * 4 + self.sha2.len() + self.content_type.len() + 48
    }
}

/// Writes one message holding `statements` (each already compact JSON) for `tenant`, with the
/// bytes of their attachments.
pub fn encode_batch<'a>(
    tenant: &str,
    statements: impl IntoIterator<Item = &'a str>,
    attachments: &[&AttachmentData],
) -> Vec<u8> {
    let statements = statements.into_iter();
    let attachment_bytes: usize = attachments
        .iter()
        .map(|attachment| attachment.encoded_len())
        .sum();
    let mut payload = Vec::with_capacity(64 + statements.size_hint().0 * 1024 + attachment_bytes);
    payload.extend_from_slice(b"{\"schema\":1,\"tenant\":");
    serde_json::to_writer(&mut payload, tenant).expect("writing a string to a Vec cannot fail");
    payload.extend_from_slice(b",\"statements\":[");
    for (index, statement) in statements.enumerate() {
        debug_assert!(statement.starts_with('{'), "a statement is a JSON object");
        if index > 0 {
            payload.push(b',');
        }
        payload.extend_from_slice(statement.as_bytes());
    }
    payload.push(b']');
    if !attachments.is_empty() {
        payload.extend_from_slice(b",\"attachments\":[");
        for (index, attachment) in attachments.iter().enumerate() {
            if index > 0 {
                payload.push(b',');
            }
            payload.extend_from_slice(b"{\"sha2\":");
            serde_json::to_writer(&mut payload, &attachment.sha2)
                .expect("writing a string to a Vec cannot fail");
            payload.extend_from_slice(b",\"contentType\":");
            serde_json::to_writer(&mut payload, &attachment.content_type)
                .expect("writing a string to a Vec cannot fail");
            payload.extend_from_slice(b",\"data\":\"");
            payload.extend_from_slice(STANDARD.encode(&attachment.data).as_bytes());
            payload.extend_from_slice(b"\"}");
        }
        payload.push(b']');
    }
    payload.push(b'}');
    payload
}

/// A decoded message; the statements borrow from the payload.
#[derive(Debug)]
pub struct DecodedBatch<'a> {
    pub tenant: Cow<'a, str>,
    pub statements: Vec<&'a RawValue>,
    pub attachments: Vec<AttachmentData>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    schema: u32,
    #[serde(borrow)]
    tenant: Cow<'a, str>,
    #[serde(borrow)]
    statements: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    attachments: Vec<EncodedAttachment<'a>>,
}

#[derive(Deserialize)]
struct EncodedAttachment<'a> {
    #[serde(borrow)]
    sha2: Cow<'a, str>,
    #[serde(rename = "contentType", borrow)]
    content_type: Cow<'a, str>,
    #[serde(borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

/// Reads a message written by [`encode_batch`].
pub fn decode_batch(payload: &[u8]) -> Result<DecodedBatch<'_>> {
    match serde_json::from_slice::<Envelope<'_>>(payload) {
        Ok(envelope) if envelope.schema == SCHEMA_VERSION => {
            let attachments = envelope
                .attachments
                .into_iter()
                .map(|attachment| {
                    let data = STANDARD
                        .decode(attachment.data.as_bytes())
                        .map_err(|error| {
                            Error::Malformed(format!("attachment {}: {error}", attachment.sha2))
                        })?;
                    Ok(AttachmentData {
                        sha2: attachment.sha2.into_owned(),
                        content_type: attachment.content_type.into_owned(),
                        data: data.into(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(DecodedBatch {
                tenant: envelope.tenant,
                statements: envelope.statements,
                attachments,
            })
        }
        Ok(envelope) => Err(Error::UnknownSchema(envelope.schema)),
        Err(error) => match serde_json::from_slice::<SchemaOnly>(payload) {
            Ok(only) if only.schema != SCHEMA_VERSION => Err(Error::UnknownSchema(only.schema)),
            _ => Err(Error::Malformed(error.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips() {
        let statements = [r#"{"id":"a","verb":{"id":"x"}}"#, r#"{"id":"b"}"#];
        let payload = encode_batch("district \"7\"", statements, &[]);
        let decoded = decode_batch(&payload).unwrap();
        assert_eq!(decoded.tenant, "district \"7\"");
        let texts: Vec<&str> = decoded.statements.iter().map(|raw| raw.get()).collect();
        assert_eq!(texts, statements);
    }

    #[test]
    fn an_empty_batch_round_trips() {
        let payload = encode_batch("t", [], &[]);
        assert!(decode_batch(&payload).unwrap().statements.is_empty());
    }

    #[test]
    fn attachments_round_trip_as_base64() {
        let attachment = AttachmentData {
            sha2: "ab".repeat(32),
            content_type: "text/plain; charset=\"utf-8\"".to_owned(),
            data: bytes::Bytes::from_static(b"\x00\xffhello"),
        };
        let payload = encode_batch("t", [r#"{"id":"a"}"#], &[&attachment]);
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(value["attachments"][0]["data"], "AP9oZWxsbw==");
        let decoded = decode_batch(&payload).unwrap();
        assert_eq!(decoded.attachments, vec![attachment]);
        let corrupt = br#"{"schema":1,"tenant":"t","statements":[],"attachments":[{"sha2":"x","contentType":"y","data":"!!"}]}"#;
        assert!(matches!(
            decode_batch(corrupt).unwrap_err(),
            Error::Malformed(_)
        ));
    }

    #[test]
    fn the_payload_is_plain_json_for_other_consumers() {
        let payload = encode_batch("t", [r#"{"id":"a"}"#], &[]);
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(value["schema"], 1);
        assert_eq!(value["statements"][0]["id"], "a");
    }

    #[test]
    fn other_schema_versions_are_refused_by_number() {
        let error =
            decode_batch(br#"{"schema":2,"tenant":"t","statements":[],"more":1}"#).unwrap_err();
        assert!(matches!(error, Error::UnknownSchema(2)), "{error}");
        let error = decode_batch(br#"{"schema":3}"#).unwrap_err();
        assert!(matches!(error, Error::UnknownSchema(3)), "{error}");
    }

    #[test]
    fn garbage_is_malformed() {
        for payload in [
            &b"not json"[..],
            b"{}",
            br#"{"schema":1,"tenant":"t"}"#,
            b"",
        ] {
            let error = decode_batch(payload).unwrap_err();
            assert!(matches!(error, Error::Malformed(_)), "{error}");
        }
    }
}
