//! The typed xAPI statement model for 1.0.3 and 2.0. Parsing rejects unknown properties, wrong
//! types and `null` values outside extensions; the rules that need more than a type (formats,
//! one identifier per Agent, what each `objectType` allows) live in `validate.rs`.
//!
//! Strings that carry identifiers and times are kept as sent (validated, not rewritten) so a
//! statement serializes back to what the client meant; numbers keep their integer or decimal form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

/// A language map: RFC 5646 language tag to text.
pub type LanguageMap = BTreeMap<String, String>;
/// Extensions: IRI keys, any JSON values.
pub type Extensions = Map<String, Value>;

/// An optional property: absent is `None`, present must hold a value (`null` is refused).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a statement object")]
pub struct Statement {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    pub actor: Actor,
    pub verb: Verb,
    pub object: StatementObject,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Box<StatementResult>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context: Option<Box<Context>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub stored: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub authority: Option<Actor>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub attachments: Option<Vec<Attachment>>,
}

/// An Agent or a Group (identified or anonymous), as actor, authority, instructor, team or member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an Agent or Group object")]
pub struct Actor {
    #[serde(
        rename = "objectType",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub object_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mbox: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mbox_sha1sum: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub openid: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub account: Option<Account>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub member: Option<Vec<Actor>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an account object with homePage and name"
)]
pub struct Account {
    #[serde(rename = "homePage")]
    pub home_page: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a Verb object with an id")]
pub struct Verb {
    pub id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub display: Option<LanguageMap>,
}

/// The object of a statement: an Activity (the default), an Agent or Group, a StatementRef or a
/// SubStatement. One struct holds the properties of all five; `validate.rs` checks that only
/// those of the object's type are present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an Activity, Agent, Group, StatementRef or SubStatement object"
)]
pub struct StatementObject {
    #[serde(
        rename = "objectType",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub object_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub definition: Option<Box<ActivityDefinition>>,
    // Agent or Group
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mbox: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mbox_sha1sum: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub openid: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub account: Option<Account>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub member: Option<Vec<Actor>>,
    // SubStatement
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub actor: Option<Box<Actor>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub verb: Option<Verb>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub object: Option<Box<StatementObject>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Box<StatementResult>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context: Option<Box<Context>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub attachments: Option<Vec<Attachment>>,
}

impl StatementObject {
    /// The object's type, `Activity` when absent.
    pub fn kind(&self) -> &str {
        self.object_type.as_deref().unwrap_or("Activity")
    }

    /// The Agent or Group properties of this object.
    pub fn as_actor(&self) -> Actor {
        Actor {
            object_type: self.object_type.clone(),
            name: self.name.clone(),
            mbox: self.mbox.clone(),
            mbox_sha1sum: self.mbox_sha1sum.clone(),
            openid: self.openid.clone(),
            account: self.account.clone(),
            member: self.member.clone(),
        }
    }
}

/// An Activity where only an Activity may stand (context activities).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an Activity object")]
pub struct Activity {
    #[serde(
        rename = "objectType",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub object_type: Option<String>,
    pub id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub definition: Option<Box<ActivityDefinition>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an Activity definition object")]
pub struct ActivityDefinition {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<LanguageMap>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<LanguageMap>,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub activity_type: Option<String>,
    #[serde(
        rename = "moreInfo",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub more_info: Option<String>,
    #[serde(
        rename = "interactionType",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub interaction_type: Option<String>,
    #[serde(
        rename = "correctResponsesPattern",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub correct_responses_pattern: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub choices: Option<Vec<InteractionComponent>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub scale: Option<Vec<InteractionComponent>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<Vec<InteractionComponent>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub target: Option<Vec<InteractionComponent>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub steps: Option<Vec<InteractionComponent>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an interaction component object with an id"
)]
pub struct InteractionComponent {
    pub id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<LanguageMap>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a result object")]
pub struct StatementResult {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub score: Option<Score>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub success: Option<bool>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub completion: Option<bool>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub response: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub extensions: Option<Extensions>,
}

/// Scores keep the number as sent (`15` stays `15`, `0.75` stays `0.75`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a score object")]
pub struct Score {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub scaled: Option<Number>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub raw: Option<Number>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Number>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Number>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a context object")]
pub struct Context {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub registration: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub instructor: Option<Actor>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Actor>,
    #[serde(
        rename = "contextActivities",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context_activities: Option<ContextActivities>,
    /// xAPI 2.0 only.
    #[serde(
        rename = "contextAgents",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context_agents: Option<Vec<ContextAgent>>,
    /// xAPI 2.0 only.
    #[serde(
        rename = "contextGroups",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context_groups: Option<Vec<ContextGroup>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub revision: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub platform: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub language: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub statement: Option<StatementRef>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub extensions: Option<Extensions>,
}

/// Context activities; each accepts one Activity or an array and is always written as an array.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a contextActivities object")]
pub struct ContextActivities {
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent: Option<Vec<Activity>>,
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub grouping: Option<Vec<Activity>>,
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub category: Option<Vec<Activity>>,
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub other: Option<Vec<Activity>>,
}

impl ContextActivities {
    /// Every context activity, of all four kinds.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Activity> {
        [
            &mut self.parent,
            &mut self.grouping,
            &mut self.category,
            &mut self.other,
        ]
        .into_iter()
        .flatten()
        .flatten()
    }
}

/// One Activity or an array of them, read straight from the input (an untagged enum would buffer
/// the whole value first).
fn one_or_many<'de, D>(deserializer: D) -> Result<Option<Vec<Activity>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct OneOrMany;

    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<Activity>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an Activity object or an array of Activity objects")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, sequence: A) -> Result<Self::Value, A::Error> {
            Vec::<Activity>::deserialize(SeqAccessDeserializer::new(sequence))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Activity::deserialize(MapAccessDeserializer::new(map)).map(|activity| vec![activity])
        }
    }

    deserializer.deserialize_any(OneOrMany).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a contextAgent object")]
pub struct ContextAgent {
    #[serde(rename = "objectType")]
    pub object_type: String,
    pub agent: Actor,
    #[serde(
        rename = "relevantTypes",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub relevant_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a contextGroup object")]
pub struct ContextGroup {
    #[serde(rename = "objectType")]
    pub object_type: String,
    pub group: Actor,
    #[serde(
        rename = "relevantTypes",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub relevant_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a StatementRef object")]
pub struct StatementRef {
    #[serde(rename = "objectType")]
    pub object_type: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an attachment object")]
pub struct Attachment {
    #[serde(rename = "usageType")]
    pub usage_type: String,
    pub display: LanguageMap,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<LanguageMap>,
    #[serde(rename = "contentType")]
    pub content_type: String,
    pub length: u64,
    pub sha2: String,
    #[serde(
        rename = "fileUrl",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_url: Option<String>,
}
