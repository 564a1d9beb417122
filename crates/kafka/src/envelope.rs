//! The `statement-batch` v1 wire format: one Kafka message carries every statement of one
//! request, so a request is stored atomically (all of its statements or none) and a broker that
//! tops out at some thousands of messages a second still carries many more statements.
//!
//! ```json
//! {"schema":1,"tenant":"district-7","statements":[{...},{...}]}
//! ```
//!
//! The statements are normalized xAPI statements, copied into the message byte for byte. The
//! `content-type` header repeats the format and version so consumers can route without parsing.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Error, Result};

/// The version of the format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Header that names the format of a message.
pub const CONTENT_TYPE_HEADER: &str = "content-type";
/// Value of [`CONTENT_TYPE_HEADER`] for `statement-batch` v1 messages.
pub const CONTENT_TYPE: &str = "application/vnd.learnstream.statement-batch.v1+json";

/// Writes one message holding `statements` (each already compact JSON) for `tenant`.
pub fn encode_batch<'a>(tenant: &str, statements: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let statements = statements.into_iter();
    let mut payload = Vec::with_capacity(64 + statements.size_hint().0 * 1024);
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
    payload.extend_from_slice(b"]}");
    payload
}

/// A decoded message; the statements borrow from the payload.
#[derive(Debug)]
pub struct DecodedBatch<'a> {
    pub tenant: Cow<'a, str>,
    pub statements: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    schema: u32,
    #[serde(borrow)]
    tenant: Cow<'a, str>,
    #[serde(borrow)]
    statements: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

/// Reads a message written by [`encode_batch`].
pub fn decode_batch(payload: &[u8]) -> Result<DecodedBatch<'_>> {
    match serde_json::from_slice::<Envelope<'_>>(payload) {
        Ok(envelope) if envelope.schema == SCHEMA_VERSION => Ok(DecodedBatch {
            tenant: envelope.tenant,
            statements: envelope.statements,
        }),
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
        let payload = encode_batch("district \"7\"", statements);
        let decoded = decode_batch(&payload).unwrap();
        assert_eq!(decoded.tenant, "district \"7\"");
        let texts: Vec<&str> = decoded.statements.iter().map(|raw| raw.get()).collect();
        assert_eq!(texts, statements);
    }

    #[test]
    fn an_empty_batch_round_trips() {
        let payload = encode_batch("t", []);
        assert!(decode_batch(&payload).unwrap().statements.is_empty());
    }

    #[test]
    fn the_payload_is_plain_json_for_other_consumers() {
        let payload = encode_batch("t", [r#"{"id":"a"}"#]);
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
