//! The JSON Web Signature of a signed statement (Data 2.6, RFC 7515 compact serialization).
//!
//! xAPI allows RS256, RS384 and RS512 only. When the JWS header carries an X.509 certificate
//! chain (`x5c`), the signature must verify against the first certificate's public key. As the
//! specification notes, this catches mistakes in a signature; it does not establish who signed
//! (the chain is not validated against any trust anchor).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::PublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use sha2::{Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};

/// Why a JWS is refused; the caller names the attachment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwsError {
    /// Not a well-formed compact JWS.
    Malformed(&'static str),
    /// A well-formed JWS with an algorithm xAPI does not allow.
    Algorithm(Option<String>),
    /// The `x5c` header is present but unusable.
    Certificate(String),
    /// The signature does not verify against the `x5c` certificate's key.
    Signature,
}

impl std::fmt::Display for JwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwsError::Malformed(why) => write!(f, "the signature is not a valid JWS: {why}"),
            JwsError::Algorithm(found) => write!(
                f,
                "the signature's algorithm must be RS256, RS384 or RS512, got {found:?}"
            ),
            JwsError::Certificate(why) => {
                write!(f, "the signature's x5c header is not usable: {why}")
            }
            JwsError::Signature => f.write_str(
                "the signature does not verify against the certificate in its x5c header",
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
}

/// A parsed compact JWS whose algorithm xAPI allows and whose x5c certificate, if any, its
/// signature verifies against.
#[derive(Debug)]
pub(crate) struct Jws {
    /// The decoded payload: the serialization of the statement that was signed.
    pub(crate) payload: Vec<u8>,
}

impl Jws {
    pub(crate) fn verify(text: &str) -> Result<Jws, JwsError> {
        let text = text.trim();
        let mut sections = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            sections.next(),
            sections.next(),
            sections.next(),
            sections.next(),
        ) else {
            return Err(JwsError::Malformed(
                "a compact JWS has three dot-separated parts",
            ));
        };
        let decode = |section: &str| URL_SAFE_NO_PAD.decode(section.trim_end_matches('='));
        let header_json: serde_json::Value = decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwsError::Malformed("the header is not base64url JSON"))?;
        let algorithm = match header_json.get("alg").and_then(serde_json::Value::as_str) {
            Some("RS256") => Algorithm::Rs256,
            Some("RS384") => Algorithm::Rs384,
            Some("RS512") => Algorithm::Rs512,
            other => return Err(JwsError::Algorithm(other.map(str::to_owned))),
        };
        let signature = decode(signature)
            .ok()
            .filter(|bytes| !bytes.is_empty())
            .ok_or(JwsError::Malformed(
                "the signature is empty or not base64url",
            ))?;
        let payload_bytes =
            decode(payload).map_err(|_| JwsError::Malformed("the payload is not base64url"))?;
        if let Some(x5c) = header_json.get("x5c") {
            let key = first_certificate_key(x5c).map_err(JwsError::Certificate)?;
            // RFC 7515 5.2: the signing input is the header and payload exactly as sent.
            let signing_input = &text[..header.len() + 1 + payload.len()];
            if !verifies(algorithm, key, signing_input.as_bytes(), &signature) {
                return Err(JwsError::Signature);
            }
        }
        Ok(Jws {
            payload: payload_bytes,
        })
    }
}

/// RFC 7515 4.1.6: `x5c` is an array of base64 (not base64url) DER certificates, the first of
/// which holds the key that signed.
fn first_certificate_key(x5c: &serde_json::Value) -> Result<PublicKey, String> {
    let first = x5c
        .as_array()
        .and_then(|chain| chain.first())
        .and_then(serde_json::Value::as_str)
        .ok_or("x5c must be a non-empty array of base64 certificates")?;
    let der = STANDARD
        .decode(first)
        .map_err(|error| format!("x5c[0] is not base64: {error}"))?;
    let certificate = Certificate::from_der(&der)
        .map_err(|error| format!("x5c[0] is not a DER X.509 certificate: {error}"))?;
    let key_info = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|error| format!("x5c[0]: {error}"))?;
    PublicKey::from_public_key_der(&key_info)
        .map_err(|error| format!("x5c[0] does not hold an RSA public key: {error}"))
}

fn verifies(algorithm: Algorithm, key: PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    match algorithm {
        Algorithm::Rs256 => VerifyingKey::<Sha256>::new(key).verify(message, &signature),
        Algorithm::Rs384 => VerifyingKey::<Sha384>::new(key).verify(message, &signature),
        Algorithm::Rs512 => VerifyingKey::<Sha512>::new(key).verify(message, &signature),
    }
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signed statement of the xAPI 1.0.3 specification, Data Appendix D: RS256 with the
    /// signing certificate and its CA in `x5c`.
    const SPEC_EXAMPLE: &str = include_str!("../tests/data/spec-example.jws");

    fn with_signature(jws: &str, signature: &str) -> String {
        let cut = jws.rfind('.').expect("three sections");
        format!("{}.{signature}", &jws[..cut])
    }

    #[test]
    fn the_specification_example_verifies_against_its_certificate() {
        let jws = Jws::verify(SPEC_EXAMPLE).expect("verifies");
        let statement: serde_json::Value = serde_json::from_slice(&jws.payload).expect("JSON");
        assert_eq!(statement["id"], "33cff416-e331-4c9d-969e-5373a1756120");
    }

    #[test]
    fn a_changed_signature_or_payload_does_not_verify() {
        let signature = SPEC_EXAMPLE.trim().rsplit('.').next().expect("signature");
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        bytes[10] ^= 1;
        let tampered = with_signature(SPEC_EXAMPLE, &URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(Jws::verify(&tampered).unwrap_err(), JwsError::Signature);

        let mut sections: Vec<&str> = SPEC_EXAMPLE.trim().split('.').collect();
        let other_payload =
            URL_SAFE_NO_PAD.encode(br#"{"id":"33cff416-e331-4c9d-969e-5373a1756121"}"#);
        sections[1] = &other_payload;
        assert_eq!(
            Jws::verify(&sections.join(".")).unwrap_err(),
            JwsError::Signature
        );
    }

    #[test]
    fn an_unusable_certificate_is_named() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","x5c":["bm90IGEgY2VydA=="]}"#);
        let error = Jws::verify(&format!("{header}.e30.AAAA")).unwrap_err();
        assert!(
            matches!(&error, JwsError::Certificate(why) if why.contains("not a DER X.509 certificate")),
            "{error}"
        );
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","x5c":[]}"#);
        assert!(matches!(
            Jws::verify(&format!("{header}.e30.AAAA")).unwrap_err(),
            JwsError::Certificate(_)
        ));
    }

    #[test]
    fn without_x5c_only_the_form_is_checked() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS384"}"#);
        assert!(Jws::verify(&format!("{header}.e30.AAAA")).is_ok());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        assert_eq!(
            Jws::verify(&format!("{header}.e30.AAAA")).unwrap_err(),
            JwsError::Algorithm(Some("HS256".to_owned()))
        );
        assert!(matches!(
            Jws::verify("a.b").unwrap_err(),
            JwsError::Malformed(_)
        ));
    }
}
