use crate::{Error, Result};

/// The xAPI version a request speaks, from its `X-Experience-API-Version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XapiVersion {
    /// xAPI 1.0.0 to 1.0.3: they share one wire format.
    V1_0,
    /// xAPI 2.0 (IEEE 9274.1.1).
    V2_0,
}

impl XapiVersion {
    /// Parses the header value. Content in the field sends every patch version of 1.0 and 2.0,
    /// so `1.0`, `1.0.0` to `1.0.3`, `2.0` and `2.0.x` are accepted; anything else is an error.
    pub fn from_header(value: &str) -> Result<Self> {
        let trimmed = value.trim();
        let mut parts = trimmed.split('.');
        let major = parts.next();
        let minor = parts.next();
        let patch = parts.next();
        let rest = parts.next();
        let patch_is_number = patch.is_none_or(|digits| {
            !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
        });
        match (major, minor, rest) {
            (Some("1"), Some("0"), None)
                if patch.is_none_or(|digits| matches!(digits, "0" | "1" | "2" | "3")) =>
            {
                Ok(XapiVersion::V1_0)
            }
            (Some("2"), Some("0"), None) if patch_is_number => Ok(XapiVersion::V2_0),
            _ => Err(Error::Version(format!(
                "unsupported version {trimmed:?}: this LRS serves 1.0.0 to 1.0.3 and 2.0.x"
            ))),
        }
    }

    /// The value this LRS sends back in its own `X-Experience-API-Version` header.
    pub fn header_value(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.3",
            XapiVersion::V2_0 => "2.0.0",
        }
    }

    /// The `version` a statement gets when it arrives without one.
    pub fn default_statement_version(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.0",
            XapiVersion::V2_0 => "2.0.0",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_versions_content_sends() {
        for value in ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", " 1.0.3 "] {
            assert_eq!(
                XapiVersion::from_header(value),
                Ok(XapiVersion::V1_0),
                "{value}"
            );
        }
        for value in ["2.0", "2.0.0", "2.0.1", "2.0.12"] {
            assert_eq!(
                XapiVersion::from_header(value),
                Ok(XapiVersion::V2_0),
                "{value}"
            );
        }
    }

    #[test]
    fn rejects_other_versions() {
        for value in [
            "", "0.95", "1.0.4", "1.1.0", "1.0.0.0", "2.1", "2.0.x", "3.0.0", "2.0.",
        ] {
            let error = XapiVersion::from_header(value).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with("X-Experience-API-Version: unsupported version"),
                "{value}: {error}"
            );
        }
    }
}
