//! Attachments and signed statements against the real services (Communication 1.5.2,
//! Data 2.4.11, Data 2.6): bytes sent in multipart/mixed requests travel with their statements
//! through Kafka, are stored by the sink and come back with `attachments=true`; every mismatch
//! between parts and attachments is refused with 400.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use learnstream_cli::Roles;
use learnstream_tests::{App, drop_database, isolated_config, kafka_brokers, statement};
use reqwest::StatusCode;
use rsa::PrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

const BOUNDARY: &str = "learnstream-test-boundary";

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
}

fn attachment_metadata(usage_type: &str, content_type: &str, data: &[u8]) -> Value {
    json!({"usageType": usage_type, "display": {"en-US": "evidence"}, "contentType": content_type,
           "length": data.len(), "sha2": sha256(data)})
}

/// A multipart/mixed body: the statements, then each (content type, hash header, bytes) part.
fn multipart(statements: &Value, parts: &[(&str, String, &[u8])]) -> Vec<u8> {
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{statements}").into_bytes();
    for (content_type, hash, data) in parts {
        body.extend_from_slice(
            format!("\r\n--{BOUNDARY}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {hash}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn jws(algorithm: &str, payload: &[u8]) -> Vec<u8> {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": algorithm}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(payload);
    // Without an x5c certificate in the header the LRS has no key to check the signature
    // itself against; these bytes stand in for one.
    let signature = URL_SAFE_NO_PAD.encode([7u8; 256]);
    format!("{header}.{payload}.{signature}").into_bytes()
}

/// The DER bytes of the first PEM block in `pem`.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

/// An RS256 JWS of `payload` signed with the xAPI specification's example key, carrying
/// `certificates` (PEM) as its `x5c` chain.
fn x5c_jws(payload: &[u8], certificates: &[&str]) -> Vec<u8> {
    let key = PrivateKey::from_pkcs1_der(&pem_der(include_str!("data/xapi-spec-example.key.pem")))
        .expect("the example key parses");
    let x5c: Vec<String> = certificates
        .iter()
        .map(|pem| STANDARD.encode(pem_der(pem)))
        .collect();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "x5c": x5c}).to_string());
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature = SigningKey::<Sha256>::new(key).sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
    .into_bytes()
}

#[tokio::test]
async fn attachment_bytes_are_stored_and_returned_with_their_statement() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let data: &[u8] = b"\x00\x01 a learner's essay \xff";
    let id = Uuid::new_v4();
    let mut sent = statement(1, "completed");
    sent["id"] = json!(id);
    sent["attachments"] = json!([attachment_metadata(
        "http://id.tincanapi.com/attachment/supporting_media",
        "application/octet-stream",
        data
    )]);
    let body = multipart(&sent, &[("application/octet-stream", sha256(data), data)]);
    let (status, answer) = client.post_multipart(BOUNDARY, body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");

    for query in [
        vec![
            ("statementId", id.to_string()),
            ("attachments", "true".to_owned()),
        ],
        vec![("attachments", "true".to_owned())],
    ] {
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let response = client.get(&query).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str()?.to_owned();
        assert!(
            content_type.starts_with("multipart/mixed; boundary="),
            "{content_type}"
        );
        let body = response.bytes().await?;
        let hash_header = format!("X-Experience-API-Hash: {}", sha256(data));
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(&hash_header), "{query:?}: {text}");
        assert!(
            body.windows(data.len()).any(|window| window == data),
            "the bytes come back as sent"
        );
    }
    // Without attachments=true, JSON only.
    let (status, read) = client.get_statement(id).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["attachments"][0]["sha2"], sha256(data));

    // A fileUrl attachment needs no part, in JSON or multipart.
    let mut linked = statement(2, "completed");
    linked["attachments"] = json!([{"usageType": "http://id.tincanapi.com/attachment/supporting_media", "display": {"en-US": "video"},
        "contentType": "video/mp4", "length": 10, "sha2": sha256(b"elsewhere"), "fileUrl": "https://cdn.example.org/v.mp4"}]);
    client.post_statements(&linked).await?;
    let (status, _) = client
        .post_multipart(BOUNDARY, multipart(&linked, &[]))
        .await?;
    assert_eq!(status, StatusCode::OK);

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn parts_and_attachments_must_match() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let data: &[u8] = b"evidence";
    let mut sent = statement(1, "completed");
    sent["attachments"] = json!([attachment_metadata(
        "http://id.tincanapi.com/attachment/supporting_media",
        "text/plain",
        data
    )]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            multipart(&sent, &[("text/plain", "0".repeat(64), data)]),
            "hashes to",
        ),
        (multipart(&sent, &[]), "no part of the request carries it"),
        (
            multipart(
                &statement(2, "completed"),
                &[("text/plain", sha256(data), data)],
            ),
            "is no statement's attachment",
        ),
        (b"no boundary anywhere".to_vec(), "multipart"),
    ];
    for (body, expected) in cases {
        let (status, answer) = client.post_multipart(BOUNDARY, body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // Bytes cannot come in a JSON request.
    let (status, answer) = client.post_raw(&sent.to_string()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("multipart/mixed")
    );

    app.stop().await?;
    drop_database(&config).await
}

#[tokio::test]
async fn a_signature_is_a_jws_of_the_statement_it_signs() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();

    let signed_request = |algorithm: &str, payload: &[u8], content_type: &str, sent: &Value| {
        let signature = jws(algorithm, payload);
        let mut with_signature = sent.clone();
        with_signature["attachments"] = json!([attachment_metadata(
            "http://adlnet.gov/expapi/attachments/signature",
            content_type,
            &signature
        )]);
        multipart(
            &with_signature,
            &[(content_type, sha256(&signature), &signature)],
        )
    };
    let sent = statement(1, "passed");
    let payload = sent.to_string();
    for algorithm in ["RS256", "RS384", "RS512"] {
        let body = signed_request(
            algorithm,
            payload.as_bytes(),
            "application/octet-stream",
            &sent,
        );
        let (status, answer) = client.post_multipart(BOUNDARY, body).await?;
        assert_eq!(status, StatusCode::OK, "{algorithm}: {answer}");
    }

    let mut other = sent.clone();
    other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let refusals = [
        (
            signed_request(
                "HS256",
                payload.as_bytes(),
                "application/octet-stream",
                &sent,
            ),
            "must be RS256, RS384 or RS512",
        ),
        (
            signed_request("RS256", payload.as_bytes(), "text/plain", &sent),
            "a signature is application/octet-stream",
        ),
        (
            signed_request(
                "RS256",
                payload.replacen('"', "'", 1).as_bytes(),
                "application/octet-stream",
                &sent,
            ),
            "payload is not a statement",
        ),
        (
            signed_request(
                "RS256",
                other.to_string().as_bytes(),
                "application/octet-stream",
                &sent,
            ),
            "differs from the statement it signs",
        ),
    ];
    for (body, expected) in refusals {
        let (status, answer) = client.post_multipart(BOUNDARY, body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{expected}: {message}");
    }

    app.stop().await?;
    drop_database(&config).await
}

/// Data 2.6: when the JWS header carries an X.509 certificate, the signature must verify against
/// it; a signature that does not is refused with 400 and nothing of the request is stored.
#[tokio::test]
async fn a_signature_with_an_x5c_certificate_verifies_against_it() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let app = App::start(config.clone(), Roles::IntakeAndSink).await?;
    let client = app.client();
    let certificate = include_str!("data/xapi-spec-example.cert.pem");
    let authority = include_str!("data/xapi-spec-example-ca.cert.pem");

    let post_signed = |sent: &Value, signature: Vec<u8>| {
        let mut with_signature = sent.clone();
        with_signature["attachments"] = json!([attachment_metadata(
            "http://adlnet.gov/expapi/attachments/signature",
            "application/octet-stream",
            &signature
        )]);
        let body = multipart(
            &with_signature,
            &[("application/octet-stream", sha256(&signature), &signature)],
        );
        client.post_multipart(BOUNDARY, body)
    };

    let id = Uuid::new_v4();
    let mut sent = statement(1, "passed");
    sent["id"] = json!(id);
    let signature = x5c_jws(sent.to_string().as_bytes(), &[certificate, authority]);
    let (status, answer) = post_signed(&sent, signature).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, stored) = client.get_statement(id).await?;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(
        stored["attachments"][0]["usageType"],
        "http://adlnet.gov/expapi/attachments/signature"
    );

    // A signature with one bit changed, and a chain that starts with the CA's certificate
    // instead of the signer's.
    let refused_id = Uuid::new_v4();
    let mut refused = statement(1, "passed");
    refused["id"] = json!(refused_id);
    let tampered = {
        let jws = String::from_utf8(x5c_jws(refused.to_string().as_bytes(), &[certificate]))?;
        let (signing_input, signature) = jws.rsplit_once('.').expect("three sections");
        let mut signature = URL_SAFE_NO_PAD.decode(signature)?;
        signature[100] ^= 1;
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)).into_bytes()
    };
    let wrong_certificate = x5c_jws(refused.to_string().as_bytes(), &[authority, certificate]);
    for (what, signature) in [("tampered", tampered), ("CA first", wrong_certificate)] {
        let (status, answer) = post_signed(&refused, signature).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("does not verify against the certificate in its x5c header"),
            "{what}: {message}"
        );
    }
    let (status, answer) = client.get_statement(refused_id).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    app.stop().await?;
    drop_database(&config).await
}
