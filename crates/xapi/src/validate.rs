//! The rules of xAPI 1.0.3 and 2.0 that a type cannot express, checked on the typed model.
//! Each check names its section of the 1.0.3 Data document (2.0 keeps the same rules unless said
//! otherwise); every error carries the JSON path of the offending property.

use std::collections::HashSet;

use iri_string::types::IriStr;
use serde_json::Number;

use crate::error::Path;
use crate::memo::ValidityMemo;
use crate::model::{
    Account, Activity, ActivityDefinition, Actor, Attachment, Context, Extensions,
    InteractionComponent, LanguageMap, ObjectType, Statement, StatementObject, StatementResult,
};
use crate::text::Text;
use crate::time::parse_timestamp;
use crate::{Error, Result, XapiVersion};

/// The verb that voids the statement its object refers to.
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";

/// Checks a whole statement.
pub fn validate_statement(statement: &Statement<'_>, version: XapiVersion) -> Result<()> {
    validate_statement_at(&Path::Root, statement, version)
}

/// Checks a whole statement found at `path` of a request body.
pub(crate) fn validate_statement_at(
    path: &Path<'_>,
    statement: &Statement<'_>,
    version: XapiVersion,
) -> Result<()> {
    let validator = Validator { version };
    validator.statement(path, statement)
}

/// Checks an Agent or Group found at `path` (a query parameter, say).
pub(crate) fn validate_actor_at(
    path: &Path<'_>,
    actor: &Actor<'_>,
    version: XapiVersion,
) -> Result<()> {
    Validator { version }.actor(path, actor)
}

struct Validator {
    version: XapiVersion,
}

fn fail<T>(path: &Path<'_>, rule: impl Into<String>) -> Result<T> {
    Err(Error::invalid(path, rule))
}

impl Validator {
    /// Data 2.4: the statement's own properties.
    fn statement(&self, path: &Path<'_>, statement: &Statement<'_>) -> Result<()> {
        if let Some(id) = &statement.id {
            uuid(&path.key("id"), id)?;
        }
        self.actor(&path.key("actor"), &statement.actor)?;
        verb(&path.key("verb"), &statement.verb)?;
        self.object(&path.key("object"), &statement.object, false)?;
        if statement.verb.id == VOIDED_VERB
            && statement.object.kind() != Some(ObjectType::StatementRef)
        {
            // Data 2.3.2: a voiding statement's object is a StatementRef.
            return fail(
                &path.key("object").key("objectType"),
                "a voiding statement's object must be a StatementRef",
            );
        }
        if let Some(result) = &statement.result {
            result_property(&path.key("result"), result)?;
        }
        if let Some(context) = &statement.context {
            self.context(&path.key("context"), context, &statement.object)?;
        }
        if let Some(timestamp) = &statement.timestamp {
            parse_timestamp(&path.key("timestamp"), timestamp, self.version)?;
        }
        if let Some(stored) = &statement.stored {
            parse_timestamp(&path.key("stored"), stored, self.version)?;
        }
        if let Some(authority) = &statement.authority {
            self.authority(&path.key("authority"), authority)?;
        }
        if let Some(version) = &statement.version {
            statement_version(&path.key("version"), version)?;
        }
        if let Some(attachments) = &statement.attachments {
            attachment_list(&path.key("attachments"), attachments)?;
        }
        Ok(())
    }

    /// Data 2.4.2: Agents and Groups.
    fn actor(&self, path: &Path<'_>, actor: &Actor<'_>) -> Result<()> {
        let identifiers = identifier_count(actor);
        match actor.kind() {
            Some(ObjectType::Agent) => {
                if actor.member.is_some() {
                    return fail(&path.key("member"), "an Agent has no members");
                }
                if identifiers != 1 {
                    return fail(
                        path,
                        "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account",
                    );
                }
            }
            Some(ObjectType::Group) => {
                if identifiers > 1 {
                    return fail(
                        path,
                        "a Group must have at most one of mbox, mbox_sha1sum, openid, account",
                    );
                }
                match &actor.member {
                    None if identifiers == 0 => {
                        return fail(
                            &path.key("member"),
                            "an anonymous Group must list its members",
                        );
                    }
                    Some(members) => {
                        let members_path = path.key("member");
                        for (index, member) in members.iter().enumerate() {
                            let member_path = members_path.index(index);
                            if member.kind() != Some(ObjectType::Agent) {
                                return fail(
                                    &member_path.key("objectType"),
                                    "a Group's members must be Agents",
                                );
                            }
                            self.actor(&member_path, member)?;
                        }
                    }
                    None => {}
                }
            }
            _ => return fail(&path.key("objectType"), "must be Agent or Group"),
        }
        inverse_functional_identifier(
            path,
            actor.mbox.as_deref(),
            actor.mbox_sha1sum.as_deref(),
            actor.openid.as_deref(),
            actor.account.as_ref(),
        )
    }

    /// Data 2.4.9: an authority is an Agent, or (three-legged OAuth) an anonymous Group of exactly
    /// two Agents, the application and the user.
    fn authority(&self, path: &Path<'_>, authority: &Actor<'_>) -> Result<()> {
        self.actor(path, authority)?;
        if !authority.declares(ObjectType::Group) {
            return Ok(());
        }
        if identifier_count(authority) != 0 {
            return fail(path, "a Group authority must be anonymous");
        }
        if authority.member.as_ref().map_or(0, Vec::len) != 2 {
            return fail(
                &path.key("member"),
                "a Group authority must have exactly two members",
            );
        }
        Ok(())
    }

    /// Data 2.4.4: the object, by its type. `nested` is true inside a SubStatement.
    fn object(&self, path: &Path<'_>, object: &StatementObject<'_>, nested: bool) -> Result<()> {
        let Some(kind) = object.kind() else {
            return fail(
                &path.key("objectType"),
                "must be Activity, Agent, Group, StatementRef or SubStatement",
            );
        };
        let allowed: &[&str] = match kind {
            ObjectType::Activity => &["objectType", "id", "definition"],
            ObjectType::Agent | ObjectType::Group => &[
                "objectType",
                "name",
                "mbox",
                "mbox_sha1sum",
                "openid",
                "account",
                "member",
            ],
            ObjectType::StatementRef => &["objectType", "id"],
            ObjectType::SubStatement => &[
                "objectType",
                "actor",
                "verb",
                "object",
                "result",
                "context",
                "timestamp",
                "attachments",
            ],
        };
        if let Some(property) = present_properties(object)
            .into_iter()
            .find(|property| !allowed.contains(property))
        {
            return fail(
                &path.key(property),
                format!("is not a property of a {kind} object"),
            );
        }
        match kind {
            ObjectType::Activity => {
                let Some(id) = &object.id else {
                    return fail(&path.key("id"), "is required");
                };
                iri(&path.key("id"), id)?;
                if let Some(definition) = &object.definition {
                    activity_definition(&path.key("definition"), definition)?;
                }
            }
            ObjectType::Agent | ObjectType::Group => self.actor(path, &object.as_actor())?,
            ObjectType::StatementRef => {
                let Some(id) = &object.id else {
                    return fail(&path.key("id"), "is required");
                };
                uuid(&path.key("id"), id)?;
            }
            ObjectType::SubStatement => {
                if nested {
                    return fail(
                        &path.key("objectType"),
                        "a SubStatement must not contain a SubStatement",
                    );
                }
                let (Some(actor), Some(verb_property), Some(inner)) =
                    (&object.actor, &object.verb, &object.object)
                else {
                    let missing = if object.actor.is_none() {
                        "actor"
                    } else if object.verb.is_none() {
                        "verb"
                    } else {
                        "object"
                    };
                    return fail(&path.key(missing), "is required");
                };
                self.actor(&path.key("actor"), actor)?;
                verb(&path.key("verb"), verb_property)?;
                self.object(&path.key("object"), inner, true)?;
                if let Some(result) = &object.result {
                    result_property(&path.key("result"), result)?;
                }
                if let Some(context) = &object.context {
                    self.context(&path.key("context"), context, inner)?;
                }
                if let Some(timestamp) = &object.timestamp {
                    parse_timestamp(&path.key("timestamp"), timestamp, self.version)?;
                }
                if let Some(attachments) = &object.attachments {
                    attachment_list(&path.key("attachments"), attachments)?;
                }
            }
        }
        Ok(())
    }

    /// Data 2.4.6: context.
    fn context(
        &self,
        path: &Path<'_>,
        context: &Context<'_>,
        object: &StatementObject<'_>,
    ) -> Result<()> {
        if let Some(registration) = &context.registration {
            uuid(&path.key("registration"), registration)?;
        }
        if let Some(instructor) = &context.instructor {
            self.actor(&path.key("instructor"), instructor)?;
        }
        if let Some(team) = &context.team {
            if !team.declares(ObjectType::Group) {
                return fail(
                    &path.key("team").key("objectType"),
                    "the team must be a Group",
                );
            }
            self.actor(&path.key("team"), team)?;
        }
        if let Some(activities) = &context.context_activities {
            let activities_path = path.key("contextActivities");
            for (key, list) in [
                ("parent", &activities.parent),
                ("grouping", &activities.grouping),
                ("category", &activities.category),
                ("other", &activities.other),
            ] {
                for (index, activity) in list.iter().flatten().enumerate() {
                    context_activity(&activities_path.key(key).index(index), activity)?;
                }
            }
        }
        if context.context_agents.is_some() || context.context_groups.is_some() {
            let key = if context.context_agents.is_some() {
                "contextAgents"
            } else {
                "contextGroups"
            };
            if self.version == XapiVersion::V1_0 {
                return fail(
                    &path.key(key),
                    "is an xAPI 2.0 property; send X-Experience-API-Version: 2.0.0",
                );
            }
        }
        let agents_path = path.key("contextAgents");
        for (index, context_agent) in context.context_agents.iter().flatten().enumerate() {
            let agent_path = agents_path.index(index);
            if context_agent.object_type != "contextAgent" {
                return fail(&agent_path.key("objectType"), "must be contextAgent");
            }
            if context_agent.agent.kind() != Some(ObjectType::Agent) {
                return fail(&agent_path.key("agent").key("objectType"), "must be Agent");
            }
            self.actor(&agent_path.key("agent"), &context_agent.agent)?;
            relevant_types(
                &agent_path.key("relevantTypes"),
                context_agent.relevant_types.as_deref(),
            )?;
        }
        let groups_path = path.key("contextGroups");
        for (index, context_group) in context.context_groups.iter().flatten().enumerate() {
            let group_path = groups_path.index(index);
            if context_group.object_type != "contextGroup" {
                return fail(&group_path.key("objectType"), "must be contextGroup");
            }
            if !context_group.group.declares(ObjectType::Group) {
                return fail(&group_path.key("group").key("objectType"), "must be Group");
            }
            self.actor(&group_path.key("group"), &context_group.group)?;
            relevant_types(
                &group_path.key("relevantTypes"),
                context_group.relevant_types.as_deref(),
            )?;
        }
        let object_is_activity = object.kind() == Some(ObjectType::Activity);
        if context.revision.is_some() && !object_is_activity {
            return fail(
                &path.key("revision"),
                "may only be used when the object is an Activity",
            );
        }
        if context.platform.is_some() && !object_is_activity {
            return fail(
                &path.key("platform"),
                "may only be used when the object is an Activity",
            );
        }
        if let Some(language) = &context.language {
            language_tag(&path.key("language"), language)?;
        }
        if let Some(statement) = &context.statement {
            if statement.object_type != ObjectType::StatementRef.as_str() {
                return fail(
                    &path.key("statement").key("objectType"),
                    "must be StatementRef",
                );
            }
            uuid(&path.key("statement").key("id"), &statement.id)?;
        }
        if let Some(extensions) = &context.extensions {
            extension_keys(&path.key("extensions"), extensions)?;
        }
        Ok(())
    }
}

fn identifier_count(actor: &Actor<'_>) -> usize {
    [
        actor.mbox.is_some(),
        actor.mbox_sha1sum.is_some(),
        actor.openid.is_some(),
        actor.account.is_some(),
    ]
    .into_iter()
    .filter(|present| *present)
    .count()
}

/// Data 2.4.2.3: the inverse functional identifiers.
fn inverse_functional_identifier(
    path: &Path<'_>,
    mbox: Option<&str>,
    mbox_sha1sum: Option<&str>,
    openid: Option<&str>,
    account: Option<&Account<'_>>,
) -> Result<()> {
    if let Some(mbox) = mbox {
        let valid = mbox.strip_prefix("mailto:").is_some_and(|address| {
            let mut parts = address.split('@');
            matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None) if !local.is_empty() && !domain.is_empty())
                // No whitespace and no control characters (a NUL among them): an IRI has none.
                && !address
                    .chars()
                    .any(|character| character.is_whitespace() || character.is_control())
        });
        if !valid {
            return fail(
                &path.key("mbox"),
                "must be a mailto IRI (mailto:name@domain)",
            );
        }
    }
    if let Some(digest) = mbox_sha1sum
        && (digest.len() != 40 || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()))
    {
        return fail(&path.key("mbox_sha1sum"), "must be 40 hexadecimal digits");
    }
    if let Some(openid) = openid {
        iri(&path.key("openid"), openid)?;
    }
    if let Some(account) = account {
        iri(&path.key("account").key("homePage"), &account.home_page)?;
    }
    Ok(())
}

/// Data 2.4.3: the verb.
fn verb(path: &Path<'_>, verb: &crate::model::Verb<'_>) -> Result<()> {
    iri(&path.key("id"), &verb.id)?;
    if let Some(display) = &verb.display {
        language_map(&path.key("display"), display)?;
    }
    Ok(())
}

fn present_properties(object: &StatementObject<'_>) -> Vec<&'static str> {
    let flags = [
        ("objectType", object.object_type.is_some()),
        ("id", object.id.is_some()),
        ("definition", object.definition.is_some()),
        ("name", object.name.is_some()),
        ("mbox", object.mbox.is_some()),
        ("mbox_sha1sum", object.mbox_sha1sum.is_some()),
        ("openid", object.openid.is_some()),
        ("account", object.account.is_some()),
        ("member", object.member.is_some()),
        ("actor", object.actor.is_some()),
        ("verb", object.verb.is_some()),
        ("object", object.object.is_some()),
        ("result", object.result.is_some()),
        ("context", object.context.is_some()),
        ("timestamp", object.timestamp.is_some()),
        ("attachments", object.attachments.is_some()),
    ];
    flags
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| name)
        .collect()
}

fn context_activity(path: &Path<'_>, activity: &Activity<'_>) -> Result<()> {
    if activity
        .object_type
        .as_deref()
        .is_some_and(|kind| kind != ObjectType::Activity.as_str())
    {
        return fail(
            &path.key("objectType"),
            "a context activity must be an Activity",
        );
    }
    iri(&path.key("id"), &activity.id)?;
    if let Some(definition) = &activity.definition {
        activity_definition(&path.key("definition"), definition)?;
    }
    Ok(())
}

/// Data 2.4.4.1: activity definitions, with the interaction components each type allows.
fn activity_definition(path: &Path<'_>, definition: &ActivityDefinition<'_>) -> Result<()> {
    if let Some(name) = &definition.name {
        language_map(&path.key("name"), name)?;
    }
    if let Some(description) = &definition.description {
        language_map(&path.key("description"), description)?;
    }
    if let Some(activity_type) = &definition.activity_type {
        iri(&path.key("type"), activity_type)?;
    }
    if let Some(more_info) = &definition.more_info {
        iri(&path.key("moreInfo"), more_info)?;
    }
    let allowed: &[&str] = match definition.interaction_type.as_deref() {
        None => &[],
        Some("true-false" | "fill-in" | "long-fill-in" | "numeric" | "other") => &[],
        Some("choice" | "sequencing") => &["choices"],
        Some("likert") => &["scale"],
        Some("matching") => &["source", "target"],
        Some("performance") => &["steps"],
        Some(_) => {
            return fail(
                &path.key("interactionType"),
                "must be one of true-false, choice, fill-in, long-fill-in, matching, performance, sequencing, likert, numeric, other",
            );
        }
    };
    if definition.correct_responses_pattern.is_some() && definition.interaction_type.is_none() {
        return fail(
            &path.key("correctResponsesPattern"),
            "needs an interactionType",
        );
    }
    for (key, components) in [
        ("choices", &definition.choices),
        ("scale", &definition.scale),
        ("source", &definition.source),
        ("target", &definition.target),
        ("steps", &definition.steps),
    ] {
        let Some(components) = components else {
            continue;
        };
        if !allowed.contains(&key) {
            return fail(
                &path.key(key),
                format!(
                    "is not a component of interactionType {}",
                    definition.interaction_type.as_deref().unwrap_or("(none)")
                ),
            );
        }
        interaction_components(&path.key(key), components)?;
    }
    if let Some(extensions) = &definition.extensions {
        extension_keys(&path.key("extensions"), extensions)?;
    }
    Ok(())
}

fn interaction_components(path: &Path<'_>, components: &[InteractionComponent<'_>]) -> Result<()> {
    let mut seen = HashSet::with_capacity(components.len());
    for (index, component) in components.iter().enumerate() {
        let component_path = path.index(index);
        if component.id.is_empty() || component.id.chars().any(char::is_whitespace) {
            return fail(
                &component_path.key("id"),
                "must be a non-empty string without white space",
            );
        }
        if !seen.insert(component.id.as_str()) {
            return fail(&component_path.key("id"), "must be unique within the list");
        }
        if let Some(description) = &component.description {
            language_map(&component_path.key("description"), description)?;
        }
    }
    Ok(())
}

/// Data 2.4.5: result.
fn result_property(path: &Path<'_>, result: &StatementResult<'_>) -> Result<()> {
    if let Some(score) = &result.score {
        let score_path = path.key("score");
        let value = |number: &Option<Number>| number.as_ref().and_then(Number::as_f64);
        let (scaled, raw, min, max) = (
            value(&score.scaled),
            value(&score.raw),
            value(&score.min),
            value(&score.max),
        );
        if scaled.is_some_and(|scaled| !(-1.0..=1.0).contains(&scaled)) {
            return fail(&score_path.key("scaled"), "must be between -1 and 1");
        }
        if let (Some(min), Some(max)) = (min, max)
            && min >= max
        {
            return fail(&score_path.key("min"), "must be less than max");
        }
        if let (Some(raw), Some(min)) = (raw, min)
            && raw < min
        {
            return fail(&score_path.key("raw"), "must not be less than min");
        }
        if let (Some(raw), Some(max)) = (raw, max)
            && raw > max
        {
            return fail(&score_path.key("raw"), "must not be greater than max");
        }
    }
    if let Some(duration) = &result.duration {
        crate::time::parse_duration(&path.key("duration"), duration)?;
    }
    if let Some(extensions) = &result.extensions {
        extension_keys(&path.key("extensions"), extensions)?;
    }
    Ok(())
}

/// Data 2.4.11: attachments.
fn attachment_list(path: &Path<'_>, attachments: &[Attachment<'_>]) -> Result<()> {
    for (index, attachment) in attachments.iter().enumerate() {
        let attachment_path = path.index(index);
        iri(&attachment_path.key("usageType"), &attachment.usage_type)?;
        language_map(&attachment_path.key("display"), &attachment.display)?;
        if let Some(description) = &attachment.description {
            language_map(&attachment_path.key("description"), description)?;
        }
        let media_type = attachment
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        let valid_media_type = media_type.split_once('/').is_some_and(|(kind, subtype)| {
            !kind.is_empty() && !subtype.is_empty() && !media_type.contains(char::is_whitespace)
        });
        if !valid_media_type {
            return fail(
                &attachment_path.key("contentType"),
                "must be an Internet media type (type/subtype)",
            );
        }
        // SHA-224, SHA-256, SHA-384 or SHA-512.
        let digest_length_valid = matches!(attachment.sha2.len(), 56 | 64 | 96 | 128);
        if !digest_length_valid || !attachment.sha2.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return fail(
                &attachment_path.key("sha2"),
                "must be a SHA-2 digest in hexadecimal",
            );
        }
        if let Some(file_url) = &attachment.file_url {
            iri(&attachment_path.key("fileUrl"), file_url)?;
        }
    }
    Ok(())
}

/// Data 2.4.10: a statement's version is 1.0.x or 2.0.x.
fn statement_version(path: &Path<'_>, version: &str) -> Result<()> {
    let mut parts = version.split('.');
    let valid = matches!((parts.next(), parts.next()), (Some("1" | "2"), Some("0")))
        && parts.clone().count() <= 1
        && parts.all(|patch| !patch.is_empty() && patch.bytes().all(|byte| byte.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        fail(path, "must be 1.0.x or 2.0.x")
    }
}

fn relevant_types(path: &Path<'_>, types: Option<&[Text<'_>]>) -> Result<()> {
    let Some(types) = types else { return Ok(()) };
    if types.is_empty() {
        return fail(path, "must list at least one IRI when present");
    }
    for (index, relevant_type) in types.iter().enumerate() {
        iri(&path.index(index), relevant_type)?;
    }
    Ok(())
}

/// Data 4.2: extension keys are IRIs.
fn extension_keys(path: &Path<'_>, extensions: &Extensions) -> Result<()> {
    for key in extensions.keys() {
        iri(&path.key(key), key)?;
    }
    Ok(())
}

/// Data 4.1 (language maps) and 5646 language tags.
fn language_map(path: &Path<'_>, map: &LanguageMap<'_>) -> Result<()> {
    for key in map.keys() {
        language_tag(&path.key(key), key)?;
    }
    Ok(())
}

/// RFC 5646: well-formed and registered (IANA subtag registry).
fn language_tag(path: &Path<'_>, tag: &str) -> Result<()> {
    thread_local! {
        static VALID_TAGS: ValidityMemo = ValidityMemo::new();
    }
    let valid = VALID_TAGS.with(|memo| {
        memo.is_valid(tag, |text| {
            language_tags::LanguageTag::parse(text).is_ok_and(|parsed| parsed.validate().is_ok())
        })
    });
    if valid {
        Ok(())
    } else {
        fail(path, "must be an RFC 5646 language tag")
    }
}

/// Data 4.3: an absolute IRI with a scheme.
pub(crate) fn iri(path: &Path<'_>, text: &str) -> Result<()> {
    thread_local! {
        static VALID_IRIS: ValidityMemo = ValidityMemo::new();
    }
    if VALID_IRIS.with(|memo| memo.is_valid(text, |text| IriStr::new(text).is_ok())) {
        Ok(())
    } else {
        fail(path, "must be an absolute IRI")
    }
}

/// Data 4.4: a UUID in its standard string form.
pub(crate) fn uuid(path: &Path<'_>, text: &str) -> Result<uuid::Uuid> {
    if text.len() != 36 {
        return fail(path, "must be a UUID in 8-4-4-4-12 hex form");
    }
    uuid::Uuid::try_parse(text).or_else(|_| fail(path, "must be a UUID in 8-4-4-4-12 hex form"))
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
