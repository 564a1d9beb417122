//! The Statement Resource's `format` parameter (Communication 2.1.3): `exact` returns statements
//! as stored; `ids` keeps only what identifies Agents, Groups, Activities and Verbs; `canonical`
//! keeps one language per language map, chosen by the request's `Accept-Language`.

use std::str::FromStr;

use crate::model::{
    Activity, ActivityDefinition, Actor, Attachment, Context, LanguageMap, ObjectType, Statement,
    StatementObject,
};

/// The `format` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatementFormat {
    #[default]
    Exact,
    Ids,
    Canonical,
}

impl StatementFormat {
    const ALL: [StatementFormat; 3] = [
        StatementFormat::Exact,
        StatementFormat::Ids,
        StatementFormat::Canonical,
    ];

    /// The `format` parameter's value for this format.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementFormat::Exact => "exact",
            StatementFormat::Ids => "ids",
            StatementFormat::Canonical => "canonical",
        }
    }
}

impl FromStr for StatementFormat {
    type Err = crate::Error;

    fn from_str(text: &str) -> crate::Result<Self> {
        StatementFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| {
                crate::Error::invalid(
                    &crate::error::Path::Root.key("format"),
                    format!("must be exact, ids or canonical, got {text:?}"),
                )
            })
    }
}

/// The languages a client prefers, best first, from an `Accept-Language` header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LanguagePreference {
    tags: Vec<String>,
}

impl LanguagePreference {
    /// Reads `en-US,en;q=0.8,*;q=0.1`; entries with `q=0` and malformed weights are dropped.
    pub fn from_header(header: &str) -> Self {
        let mut weighted: Vec<(f32, usize, String)> = header
            .split(',')
            .enumerate()
            .filter_map(|(position, entry)| {
                let mut parts = entry.split(';');
                let tag = parts.next()?.trim();
                if tag.is_empty() {
                    return None;
                }
                let weight = match parts.find_map(|parameter| parameter.trim().strip_prefix("q=")) {
                    Some(weight) => weight.trim().parse::<f32>().ok()?,
                    None => 1.0,
                };
                (weight > 0.0).then(|| (weight, position, tag.to_ascii_lowercase()))
            })
            .collect();
        weighted.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
        LanguagePreference {
            tags: weighted.into_iter().map(|(_, _, tag)| tag).collect(),
        }
    }

    /// Keeps the one entry of `map` the client prefers most: an exact tag, then a tag with the
    /// preferred one as its prefix (`en` takes `en-US`) or the reverse, then the first entry.
    fn choose(&self, map: &mut LanguageMap<'_>) {
        if map.len() <= 1 {
            return;
        }
        let chosen = self
            .tags
            .iter()
            .find_map(|preferred| {
                map.keys()
                    .find(|key| key.eq_ignore_ascii_case(preferred))
                    .or_else(|| {
                        map.keys().find(|key| {
                            let key = key.to_ascii_lowercase();
                            preferred == "*"
                                || key.starts_with(&format!("{preferred}-"))
                                || preferred.starts_with(&format!("{key}-"))
                        })
                    })
                    .cloned()
            })
            .or_else(|| map.keys().next().cloned());
        if let Some(chosen) = chosen {
            map.retain(|key, _| *key == chosen);
        }
    }
}

/// The statement as the `format` asks for it.
pub fn format_statement<'a>(
    statement: &Statement<'a>,
    format: StatementFormat,
    languages: &LanguagePreference,
) -> Statement<'a> {
    let mut formatted = statement.clone();
    match format {
        StatementFormat::Exact => {}
        StatementFormat::Ids => ids_statement(&mut formatted),
        StatementFormat::Canonical => canonical_statement(&mut formatted, languages),
    }
    formatted
}

fn ids_statement(statement: &mut Statement<'_>) {
    ids_actor(&mut statement.actor);
    statement.verb.display = None;
    ids_object(&mut statement.object);
    if let Some(context) = &mut statement.context {
        ids_context(context);
    }
    if let Some(authority) = &mut statement.authority {
        ids_actor(authority);
    }
}

/// An Agent or identified Group keeps its identifier; an anonymous Group its members'.
fn ids_actor(actor: &mut Actor<'_>) {
    actor.name = None;
    let identified = actor.mbox.is_some()
        || actor.mbox_sha1sum.is_some()
        || actor.openid.is_some()
        || actor.account.is_some();
    if identified {
        actor.member = None;
    } else if let Some(members) = &mut actor.member {
        members.iter_mut().for_each(ids_actor);
    }
}

fn ids_object(object: &mut StatementObject<'_>) {
    match object.kind() {
        Some(ObjectType::Activity) => {
            // An Activity is its IRI: `objectType` says nothing an id does not.
            object.definition = None;
            object.object_type = None;
        }
        Some(ObjectType::Agent | ObjectType::Group) => {
            let mut actor = object.as_actor();
            ids_actor(&mut actor);
            object.name = actor.name;
            object.member = actor.member;
        }
        Some(ObjectType::SubStatement) => {
            if let Some(actor) = &mut object.actor {
                ids_actor(actor);
            }
            if let Some(verb) = &mut object.verb {
                verb.display = None;
            }
            if let Some(inner) = &mut object.object {
                ids_object(inner);
            }
            if let Some(context) = &mut object.context {
                ids_context(context);
            }
        }
        _ => {}
    }
}

fn ids_context(context: &mut Context<'_>) {
    if let Some(instructor) = &mut context.instructor {
        ids_actor(instructor);
    }
    if let Some(team) = &mut context.team {
        ids_actor(team);
    }
    for_each_context_activity(context, |activity| {
        activity.definition = None;
        activity.object_type = None;
    });
    for context_agent in context.context_agents.iter_mut().flatten() {
        ids_actor(&mut context_agent.agent);
    }
    for context_group in context.context_groups.iter_mut().flatten() {
        ids_actor(&mut context_group.group);
    }
}

fn for_each_context_activity(context: &mut Context<'_>, apply: impl FnMut(&mut Activity<'_>)) {
    if let Some(activities) = &mut context.context_activities {
        activities.all_mut().for_each(apply);
    }
}

fn canonical_statement(statement: &mut Statement<'_>, languages: &LanguagePreference) {
    if let Some(display) = &mut statement.verb.display {
        languages.choose(display);
    }
    canonical_object(&mut statement.object, languages);
    if let Some(context) = &mut statement.context {
        for_each_context_activity(context, |activity| {
            if let Some(definition) = &mut activity.definition {
                canonical_definition(definition, languages);
            }
        });
    }
    canonical_attachments(statement.attachments.as_deref_mut(), languages);
}

fn canonical_object(object: &mut StatementObject<'_>, languages: &LanguagePreference) {
    if let Some(definition) = &mut object.definition {
        canonical_definition(definition, languages);
    }
    if let Some(verb) = &mut object.verb
        && let Some(display) = &mut verb.display
    {
        languages.choose(display);
    }
    if let Some(inner) = &mut object.object {
        canonical_object(inner, languages);
    }
    canonical_attachments(object.attachments.as_deref_mut(), languages);
}

fn canonical_definition(definition: &mut ActivityDefinition<'_>, languages: &LanguagePreference) {
    for map in [&mut definition.name, &mut definition.description]
        .into_iter()
        .flatten()
    {
        languages.choose(map);
    }
    for components in [
        &mut definition.choices,
        &mut definition.scale,
        &mut definition.source,
        &mut definition.target,
        &mut definition.steps,
    ] {
        for component in components.iter_mut().flatten() {
            if let Some(description) = &mut component.description {
                languages.choose(description);
            }
        }
    }
}

fn canonical_attachments(
    attachments: Option<&mut [Attachment<'_>]>,
    languages: &LanguagePreference,
) {
    for attachment in attachments.into_iter().flatten() {
        languages.choose(&mut attachment.display);
        if let Some(description) = &mut attachment.description {
            languages.choose(description);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize as _;
    use serde_json::{Value, json};

    use super::*;

    fn statement() -> Statement<'static> {
        Statement::deserialize(json!({
            "actor": {"name": "Ana", "mbox": "mailto:ana@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed", "fr-FR": "réussi", "de": "bestanden"}},
            "object": {"objectType": "Activity", "id": "https://example.org/quiz", "definition": {"name": {"en-GB": "Quiz", "fr-FR": "Questionnaire"}, "interactionType": "choice", "choices": [{"id": "a", "description": {"en-US": "A", "fr-FR": "A-fr"}}]}},
            "context": {"instructor": {"name": "Ms T", "mbox": "mailto:t@example.org"}, "contextActivities": {"parent": [{"objectType": "Activity", "id": "https://example.org/course", "definition": {"name": {"en": "Course"}}}]}},
            "authority": {"objectType": "Group", "member": [{"name": "app", "account": {"homePage": "https://lrs.example.org", "name": "app"}}, {"mbox": "mailto:owner@example.org"}]}
        }))
        .unwrap()
    }

    fn formatted(format: StatementFormat, accept_language: &str) -> Value {
        serde_json::to_value(format_statement(
            &statement(),
            format,
            &LanguagePreference::from_header(accept_language),
        ))
        .unwrap()
    }

    #[test]
    fn communication_2_1_3_exact_is_as_stored() {
        assert_eq!(
            formatted(StatementFormat::Exact, "fr"),
            serde_json::to_value(statement()).unwrap()
        );
    }

    #[test]
    fn communication_2_1_3_ids_keeps_only_identifiers() {
        let ids = formatted(StatementFormat::Ids, "");
        assert_eq!(ids["actor"], json!({"mbox": "mailto:ana@example.org"}));
        assert_eq!(
            ids["verb"],
            json!({"id": "http://adlnet.gov/expapi/verbs/passed"})
        );
        assert_eq!(ids["object"], json!({"id": "https://example.org/quiz"}));
        assert_eq!(
            ids["context"]["instructor"],
            json!({"mbox": "mailto:t@example.org"})
        );
        assert_eq!(
            ids["context"]["contextActivities"]["parent"],
            json!([{"id": "https://example.org/course"}])
        );
        assert_eq!(
            ids["authority"]["member"][0],
            json!({"account": {"homePage": "https://lrs.example.org", "name": "app"}})
        );
    }

    #[test]
    fn communication_2_1_3_canonical_picks_one_language() {
        let french = formatted(StatementFormat::Canonical, "fr-FR, en;q=0.5");
        assert_eq!(french["verb"]["display"], json!({"fr-FR": "réussi"}));
        assert_eq!(
            french["object"]["definition"]["name"],
            json!({"fr-FR": "Questionnaire"})
        );
        assert_eq!(
            french["object"]["definition"]["choices"][0]["description"],
            json!({"fr-FR": "A-fr"})
        );
        // `en` takes a regional English; weights order the choice, not the header's order.
        let english = formatted(StatementFormat::Canonical, "de;q=0.2, en;q=0.9");
        assert_eq!(english["verb"]["display"], json!({"en-US": "passed"}));
        assert_eq!(
            english["object"]["definition"]["name"],
            json!({"en-GB": "Quiz"})
        );
        // Nothing preferred is present: the first entry stays, so the map is never emptied.
        let japanese = formatted(StatementFormat::Canonical, "ja");
        assert_eq!(japanese["verb"]["display"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn formats_parse_and_unknown_ones_are_named() {
        assert_eq!(
            "ids".parse::<StatementFormat>().unwrap(),
            StatementFormat::Ids
        );
        assert_eq!(
            "full".parse::<StatementFormat>().unwrap_err().to_string(),
            "format: must be exact, ids or canonical, got \"full\""
        );
        for format in StatementFormat::ALL {
            assert_eq!(format.as_str().parse::<StatementFormat>().unwrap(), format);
        }
    }
}
