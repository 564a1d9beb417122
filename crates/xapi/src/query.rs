//! The Statement Resource's query parameters that need xAPI to read (Communication 2.1.3):
//! `agent` (a JSON Agent or identified Group), the IRIs of `verb` and `activity`, `registration`,
//! and the times `since` and `until`. Each error names the parameter.

use time::OffsetDateTime;

use crate::columns::actor_identifier;
use crate::error::Path;
use crate::model::Actor;
use crate::validate::{iri, uuid, validate_actor_at};
use crate::{Error, Result, XapiVersion};

/// The `agent` parameter as the identifier the statements' filter columns hold (see
/// [`actor_identifier`]).
pub fn agent_parameter(text: &str, version: XapiVersion) -> Result<String> {
    let path = Path::Root.key("agent");
    let actor: Actor<'_> = serde_json::from_str(text).map_err(|error| {
        Error::invalid(&path, format!("must be an Agent or Group as JSON: {error}"))
    })?;
    validate_actor_at(&path, &actor, version)?;
    let identifier = actor_identifier(&actor);
    if identifier.is_empty() {
        return Err(Error::invalid(
            &path,
            "must be an Agent or an identified Group (an anonymous Group matches nothing)",
        ));
    }
    Ok(identifier)
}

/// An IRI parameter (`verb`, `activity`).
pub fn iri_parameter(name: &str, text: &str) -> Result<String> {
    iri(&Path::Root.key(name), text)?;
    Ok(text.to_owned())
}

/// A UUID parameter (`statementId`, `voidedStatementId`, `registration`).
pub fn uuid_parameter(name: &str, text: &str) -> Result<uuid::Uuid> {
    uuid(&Path::Root.key(name), text)
}

/// A time parameter (`since`, `until`): an ISO 8601 timestamp with a time zone.
pub fn time_parameter(name: &str, text: &str) -> Result<OffsetDateTime> {
    crate::time::parse_timestamp(&Path::Root.key(name), text, XapiVersion::V1_0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_become_the_identifiers_the_filters_hold() {
        let version = XapiVersion::V1_0;
        assert_eq!(
            agent_parameter(r#"{"mbox": "mailto:a@example.org"}"#, version).unwrap(),
            "mbox:mailto:a@example.org"
        );
        assert_eq!(
            agent_parameter(
                r#"{"objectType": "Group", "account": {"homePage": "https://sis.example.org", "name": "7b"}}"#,
                version
            )
            .unwrap(),
            "account:https://sis.example.org|7b"
        );
        for (text, expected) in [
            (
                "mailto:a@example.org",
                "agent: must be an Agent or Group as JSON",
            ),
            (
                r#"{"mbox": "a@example.org"}"#,
                "agent.mbox: must be a mailto IRI",
            ),
            (
                r#"{"mbox": "mailto:a@example.org", "openid": "https://id.example.org/a"}"#,
                "agent: an Agent must have exactly one",
            ),
            (
                r#"{"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]}"#,
                "agent: must be an Agent or an identified Group",
            ),
        ] {
            let error = agent_parameter(text, version).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
    }

    #[test]
    fn other_parameters_name_themselves_in_errors() {
        assert!(iri_parameter("verb", "http://adlnet.gov/expapi/verbs/passed").is_ok());
        let error = iri_parameter("verb", "passed").unwrap_err().to_string();
        assert!(error.starts_with("verb: "), "{error}");
        let error = uuid_parameter("registration", "nope")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("registration: "), "{error}");
        assert_eq!(
            time_parameter("since", "2026-11-23T10:00:00+01:00")
                .unwrap()
                .unix_timestamp(),
            1_795_424_400
        );
        let error = time_parameter("until", "yesterday")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("until: "), "{error}");
    }
}
