//! HTTP Basic authentication against the configured credentials.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use learnstream_xapi::Authority;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorCode};

/// Who may use the LRS.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HTTP Basic credentials; each one writes into and reads from its tenant.
    pub credentials: Vec<CredentialConfig>,
}

/// One HTTP Basic credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The user name (the Basic auth key).
    pub username: String,
    /// The password (the Basic auth secret); never printed.
    pub password: SecretString,
    /// The tenant (e.g. a district or a vendor integration) whose statements this credential
    /// writes and reads.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// When this credential's writes are answered; a request may choose otherwise with the
    /// `X-Learnstream-Write-Mode` header.
    #[serde(default)]
    pub write_mode: WriteMode,
}

/// When a `POST` or `PUT` of statements is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Once a `GET` can read the statements (the sink has stored them in ClickHouse). The
    /// default: what xAPI clients expect of an LRS.
    #[default]
    ReadYourWrites,
    /// Once the statements are durable in Kafka: lower latency and the same durability; a `GET`
    /// right after may not see them yet.
    Throughput,
}

impl WriteMode {
    /// Reads the `X-Learnstream-Write-Mode` header's value.
    pub fn from_header(value: &str) -> Option<WriteMode> {
        match value.trim() {
            "read_your_writes" => Some(WriteMode::ReadYourWrites),
            "throughput" => Some(WriteMode::Throughput),
            _ => None,
        }
    }
}

fn default_tenant() -> String {
    "default".to_owned()
}

/// The validated credentials, by user name. Cheap to clone: an extractor takes them from a
/// router's state on every request.
#[derive(Debug, Clone)]
pub struct Credentials {
    by_username: Arc<HashMap<String, Credential>>,
}

#[derive(Debug, Clone)]
struct Credential {
    password: SecretString,
    principal: Arc<Principal>,
}

/// Who sent a request: the credential's user, its tenant and the authority the LRS records on
/// the statements it sends.
#[derive(Debug)]
pub struct Principal {
    pub username: String,
    pub tenant: Arc<str>,
    pub authority: Authority,
    /// When this credential's writes are answered unless a request says otherwise.
    pub write_mode: WriteMode,
}

impl Credentials {
    /// Checks the configured credentials: at least one, unique user names, no empty field.
    pub fn from_config(config: &AuthConfig, public_url: &str) -> Result<Self, String> {
        if config.credentials.is_empty() {
            return Err("auth.credentials: at least one credential is required".to_owned());
        }
        let mut by_username = HashMap::new();
        for (
            index,
            CredentialConfig {
                username,
                password,
                tenant,
                write_mode,
            },
        ) in config.credentials.iter().enumerate()
        {
            if username.is_empty() || username.contains(':') {
                return Err(format!(
                    "auth.credentials[{index}].username: must be non-empty and contain no ':'"
                ));
            }
            if password.expose_secret().is_empty() {
                return Err(format!(
                    "auth.credentials[{index}].password: must not be empty"
                ));
            }
            if tenant.is_empty() {
                return Err(format!(
                    "auth.credentials[{index}].tenant: must not be empty"
                ));
            }
            let principal = Principal {
                write_mode: *write_mode,
                username: username.clone(),
                tenant: Arc::from(tenant.as_str()),
                authority: Authority::of_credential(username, public_url),
            };
            let credential = Credential {
                password: password.clone(),
                principal: Arc::new(principal),
            };
            if by_username.insert(username.clone(), credential).is_some() {
                return Err(format!(
                    "auth.credentials[{index}].username: {username:?} is listed twice"
                ));
            }
        }
        Ok(Credentials {
            by_username: Arc::new(by_username),
        })
    }

    /// The principal of a request's `Authorization` header (HTTP Basic).
    pub fn authenticate_headers(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Arc<Principal>, ApiError> {
        self.authenticate(
            headers
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok()),
        )
    }

    /// The principal of an `Authorization` header's HTTP Basic credentials.
    fn authenticate(&self, header: Option<&str>) -> Result<Arc<Principal>, ApiError> {
        let unauthorized = || {
            ApiError::new(
                ErrorCode::Unauthorized,
                "valid HTTP Basic credentials are required",
            )
        };
        let encoded = header
            .and_then(|value| value.strip_prefix("Basic "))
            .ok_or_else(unauthorized)?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| unauthorized())?;
        let decoded = String::from_utf8(decoded).map_err(|_| unauthorized())?;
        let (username, password) = decoded.split_once(':').ok_or_else(unauthorized)?;
        let credential = self.by_username.get(username).ok_or_else(unauthorized)?;
        let matches: bool = credential
            .password
            .expose_secret()
            .as_bytes()
            .ct_eq(password.as_bytes())
            .into();
        if !matches {
            return Err(unauthorized());
        }
        Ok(Arc::clone(&credential.principal))
    }
}

/// Extracts the authenticated [`Principal`] of a router whose state holds the
/// [`Credentials`] (`Credentials: FromRef<State>`); rejects the request with 401 otherwise.
#[derive(Debug)]
pub struct Authenticated(pub Arc<Principal>);

impl<S> FromRequestParts<S> for Authenticated
where
    Credentials: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Credentials::from_ref(state)
            .authenticate_headers(&parts.headers)
            .map(Authenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        let config = AuthConfig {
            credentials: vec![CredentialConfig {
                username: "vendor".into(),
                password: SecretString::from("s3cret"),
                tenant: "district-7".into(),
                write_mode: WriteMode::Throughput,
            }],
        };
        Credentials::from_config(&config, "https://lrs.example.org").unwrap()
    }

    fn basic(user_and_password: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_and_password))
    }

    #[test]
    fn the_right_password_yields_the_principal_and_authority() {
        let principal = credentials()
            .authenticate(Some(&basic("vendor:s3cret")))
            .unwrap();
        assert_eq!(&*principal.tenant, "district-7");
        assert_eq!(principal.write_mode, WriteMode::Throughput);
        let account = principal.authority.actor().account.as_ref().unwrap();
        assert_eq!(account.home_page, "https://lrs.example.org");
        assert_eq!(account.name, "vendor");
    }

    #[test]
    fn anything_else_is_unauthorized() {
        let credentials = credentials();
        for header in [
            None,
            Some("Bearer abc".to_owned()),
            Some("Basic !!!".to_owned()),
            Some(basic("vendor:wrong")),
            Some(basic("vendor")),
            Some(basic("other:s3cret")),
        ] {
            let error = credentials.authenticate(header.as_deref()).unwrap_err();
            assert_eq!(error.code, ErrorCode::Unauthorized, "{header:?}");
        }
    }

    #[test]
    fn configuration_mistakes_are_named() {
        let empty = Credentials::from_config(&AuthConfig::default(), "x").unwrap_err();
        assert_eq!(
            empty,
            "auth.credentials: at least one credential is required"
        );
        let duplicate = AuthConfig {
            credentials: vec![
                CredentialConfig {
                    username: "a".into(),
                    password: SecretString::from("p"),
                    tenant: "t".into(),
                    write_mode: WriteMode::default(),
                },
                CredentialConfig {
                    username: "a".into(),
                    password: SecretString::from("q"),
                    tenant: "t".into(),
                    write_mode: WriteMode::default(),
                },
            ],
        };
        let error = Credentials::from_config(&duplicate, "x").unwrap_err();
        assert_eq!(error, "auth.credentials[1].username: \"a\" is listed twice");
    }
}
