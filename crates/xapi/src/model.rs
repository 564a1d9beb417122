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

pub use crate::object_type::ObjectType;
pub use crate::text::Text;

/// A language map: RFC 5646 language tag to text.
pub type LanguageMap<'a> = BTreeMap<Text<'a>, Text<'a>>;
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

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a statement object"
)]
pub struct Statement<'a> {
    pub id: Option<Text<'a>>,
    pub actor: Actor<'a>,
    pub verb: Verb<'a>,
    pub object: StatementObject<'a>,
    pub result: Option<Box<StatementResult<'a>>>,
    pub context: Option<Box<Context<'a>>>,
    pub timestamp: Option<Text<'a>>,
    pub stored: Option<Text<'a>>,
    pub authority: Option<Actor<'a>>,
    pub version: Option<Text<'a>>,
    pub attachments: Option<Vec<Attachment<'a>>>,
}

/// An Agent or a Group (identified or anonymous), as actor, authority, instructor, team or member.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an Agent or Group object"
)]
pub struct Actor<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
    pub mbox: Option<Text<'a>>,
    pub mbox_sha1sum: Option<Text<'a>>,
    pub openid: Option<Text<'a>>,
    pub account: Option<Account<'a>>,
    pub member: Option<Vec<Actor<'a>>>,
}

impl Actor<'_> {
    /// The actor's type, `Agent` when absent; `None` when `objectType` names no type.
    pub fn kind(&self) -> Option<ObjectType> {
        self.object_type
            .as_deref()
            .map_or(Some(ObjectType::Agent), ObjectType::named)
    }

    /// Whether `objectType` is present and names `kind`.
    pub fn declares(&self, kind: ObjectType) -> bool {
        self.object_type.as_deref() == Some(kind.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an account object with homePage and name"
)]
pub struct Account<'a> {
    #[serde(rename = "homePage")]
    pub home_page: Text<'a>,
    pub name: Text<'a>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a Verb object with an id"
)]
pub struct Verb<'a> {
    pub id: Text<'a>,
    pub display: Option<LanguageMap<'a>>,
}

/// The object of a statement: an Activity (the default), an Agent or Group, a StatementRef or a
/// SubStatement. One struct holds the properties of all five; `validate.rs` checks that only
/// those of the object's type are present.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an Activity, Agent, Group, StatementRef or SubStatement object"
)]
pub struct StatementObject<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Option<Text<'a>>,
    pub id: Option<Text<'a>>,
    pub definition: Option<Box<ActivityDefinition<'a>>>,
    // Agent or Group
    pub name: Option<Text<'a>>,
    pub mbox: Option<Text<'a>>,
    pub mbox_sha1sum: Option<Text<'a>>,
    pub openid: Option<Text<'a>>,
    pub account: Option<Account<'a>>,
    pub member: Option<Vec<Actor<'a>>>,
    // SubStatement
    pub actor: Option<Box<Actor<'a>>>,
    pub verb: Option<Verb<'a>>,
    pub object: Option<Box<StatementObject<'a>>>,
    pub result: Option<Box<StatementResult<'a>>>,
    pub context: Option<Box<Context<'a>>>,
    pub timestamp: Option<Text<'a>>,
    pub attachments: Option<Vec<Attachment<'a>>>,
}

impl<'a> StatementObject<'a> {
    /// The object's type, `Activity` when absent; `None` when `objectType` names no type.
    pub fn kind(&self) -> Option<ObjectType> {
        self.object_type
            .as_deref()
            .map_or(Some(ObjectType::Activity), ObjectType::named)
    }

    /// The Agent or Group properties of this object.
    pub fn as_actor(&self) -> Actor<'a> {
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
#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an Activity object"
)]
pub struct Activity<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Option<Text<'a>>,
    pub id: Text<'a>,
    pub definition: Option<Box<ActivityDefinition<'a>>>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an Activity definition object"
)]
pub struct ActivityDefinition<'a> {
    pub name: Option<LanguageMap<'a>>,
    pub description: Option<LanguageMap<'a>>,
    #[serde(rename = "type")]
    pub activity_type: Option<Text<'a>>,
    #[serde(rename = "moreInfo")]
    pub more_info: Option<Text<'a>>,
    #[serde(rename = "interactionType")]
    pub interaction_type: Option<Text<'a>>,
    #[serde(rename = "correctResponsesPattern")]
    pub correct_responses_pattern: Option<Vec<Text<'a>>>,
    pub choices: Option<Vec<InteractionComponent<'a>>>,
    pub scale: Option<Vec<InteractionComponent<'a>>>,
    pub source: Option<Vec<InteractionComponent<'a>>>,
    pub target: Option<Vec<InteractionComponent<'a>>>,
    pub steps: Option<Vec<InteractionComponent<'a>>>,
    pub extensions: Option<Extensions>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an interaction component object with an id"
)]
pub struct InteractionComponent<'a> {
    pub id: Text<'a>,
    pub description: Option<LanguageMap<'a>>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a result object"
)]
pub struct StatementResult<'a> {
    pub score: Option<Score>,
    pub success: Option<bool>,
    pub completion: Option<bool>,
    pub response: Option<Text<'a>>,
    pub duration: Option<Text<'a>>,
    pub extensions: Option<Extensions>,
}

/// Scores keep the number as sent (`15` stays `15`, `0.75` stays `0.75`).
#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a score object")]
pub struct Score {
    pub scaled: Option<Number>,
    pub raw: Option<Number>,
    pub min: Option<Number>,
    pub max: Option<Number>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a context object"
)]
pub struct Context<'a> {
    pub registration: Option<Text<'a>>,
    pub instructor: Option<Actor<'a>>,
    pub team: Option<Actor<'a>>,
    #[serde(rename = "contextActivities")]
    pub context_activities: Option<ContextActivities<'a>>,
    /// xAPI 2.0 only.
    #[serde(rename = "contextAgents")]
    pub context_agents: Option<Vec<ContextAgent<'a>>>,
    /// xAPI 2.0 only.
    #[serde(rename = "contextGroups")]
    pub context_groups: Option<Vec<ContextGroup<'a>>>,
    pub revision: Option<Text<'a>>,
    pub platform: Option<Text<'a>>,
    pub language: Option<Text<'a>>,
    pub statement: Option<StatementRef<'a>>,
    pub extensions: Option<Extensions>,
}

/// Context activities; each accepts one Activity or an array and is always written as an array.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"), from = "ContextActivitiesInput<'a>")]
pub struct ContextActivities<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Vec<Activity<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouping: Option<Vec<Activity<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Vec<Activity<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<Vec<Activity<'a>>>,
    /// Whether the client sent at least one kind as a single object rather than an array: the
    /// statement is then written differently from how it arrived. Not part of equality.
    #[serde(skip)]
    pub sent_single_object: bool,
}

/// Equal when the activities are; whether they arrived as single objects does not count.
impl PartialEq for ContextActivities<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.parent == other.parent
            && self.grouping == other.grouping
            && self.category == other.category
            && self.other == other.other
    }
}

impl<'a> ContextActivities<'a> {
    /// Every context activity, of all four kinds.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Activity<'a>> {
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

/// `contextActivities` as sent: each kind one Activity or an array of them.
#[derive(Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a contextActivities object"
)]
struct ContextActivitiesInput<'a> {
    #[serde(default, deserialize_with = "present")]
    parent: Option<OneOrMany<'a>>,
    #[serde(default, deserialize_with = "present")]
    grouping: Option<OneOrMany<'a>>,
    #[serde(default, deserialize_with = "present")]
    category: Option<OneOrMany<'a>>,
    #[serde(default, deserialize_with = "present")]
    other: Option<OneOrMany<'a>>,
}

impl<'a> From<ContextActivitiesInput<'a>> for ContextActivities<'a> {
    fn from(input: ContextActivitiesInput<'a>) -> Self {
        let kinds = [input.parent, input.grouping, input.category, input.other];
        let sent_single_object = kinds.iter().flatten().any(|kind| kind.single);
        let [parent, grouping, category, other] =
            kinds.map(|kind| kind.map(|kind| kind.activities));
        ContextActivities {
            parent,
            grouping,
            category,
            other,
            sent_single_object,
        }
    }
}

/// One Activity or an array of them, read straight from the input (an untagged enum would buffer
/// the whole value first).
struct OneOrMany<'a> {
    activities: Vec<Activity<'a>>,
    /// Sent as one object, not an array.
    single: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for OneOrMany<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an Activity object or an array of Activity objects")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, sequence: A) -> Result<Self::Value, A::Error> {
                let activities =
                    Vec::<Activity<'de>>::deserialize(SeqAccessDeserializer::new(sequence))?;
                Ok(OneOrMany {
                    activities,
                    single: false,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let activity = Activity::deserialize(MapAccessDeserializer::new(map))?;
                Ok(OneOrMany {
                    activities: vec![activity],
                    single: true,
                })
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a contextAgent object"
)]
pub struct ContextAgent<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Text<'a>,
    pub agent: Actor<'a>,
    #[serde(rename = "relevantTypes")]
    pub relevant_types: Option<Vec<Text<'a>>>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a contextGroup object"
)]
pub struct ContextGroup<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Text<'a>,
    pub group: Actor<'a>,
    #[serde(rename = "relevantTypes")]
    pub relevant_types: Option<Vec<Text<'a>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "a StatementRef object"
)]
pub struct StatementRef<'a> {
    #[serde(rename = "objectType")]
    pub object_type: Text<'a>,
    pub id: Text<'a>,
}

#[serde_with::apply(Option => #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "'de: 'a"),
    deny_unknown_fields,
    expecting = "an attachment object"
)]
pub struct Attachment<'a> {
    #[serde(rename = "usageType")]
    pub usage_type: Text<'a>,
    pub display: LanguageMap<'a>,
    pub description: Option<LanguageMap<'a>>,
    #[serde(rename = "contentType")]
    pub content_type: Text<'a>,
    pub length: u64,
    pub sha2: Text<'a>,
    #[serde(rename = "fileUrl")]
    pub file_url: Option<Text<'a>>,
}
