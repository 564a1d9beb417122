use std::fmt;

/// The one error type of this crate: a statement broke a rule of the specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request body is not JSON at all.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// A field of a statement breaks a rule. `path` is the JSON path of the field.
    #[error("{path}: {rule}")]
    Invalid { path: JsonPath, rule: String },
    /// The `X-Experience-API-Version` header is missing or names a version we do not serve.
    #[error("X-Experience-API-Version: {0}")]
    Version(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(path: &JsonPath, rule: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.clone(),
            rule: rule.into(),
        }
    }
}

/// A JSON path such as `[1].actor.mbox`, built while walking a statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonPath(String);

impl JsonPath {
    pub(crate) fn root() -> Self {
        JsonPath(String::new())
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{index}]", self.0))
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            JsonPath(key.to_owned())
        } else {
            JsonPath(format!("{}.{key}", self.0))
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            formatter.write_str("statement")
        } else {
            formatter.write_str(&self.0)
        }
    }
}
