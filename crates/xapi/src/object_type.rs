//! The `objectType`s of xAPI (Data 2.4.2, 2.4.4): what a statement's object, an actor, an
//! authority or a context's statement is. Statements keep the text as sent; code asks for the
//! kind through [`ObjectType`], never by comparing strings.

use std::fmt;

/// An xAPI `objectType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Activity,
    Agent,
    Group,
    StatementRef,
    SubStatement,
}

impl ObjectType {
    pub const ALL: [ObjectType; 5] = [
        ObjectType::Activity,
        ObjectType::Agent,
        ObjectType::Group,
        ObjectType::StatementRef,
        ObjectType::SubStatement,
    ];

    /// The type as xAPI writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Activity => "Activity",
            ObjectType::Agent => "Agent",
            ObjectType::Group => "Group",
            ObjectType::StatementRef => "StatementRef",
            ObjectType::SubStatement => "SubStatement",
        }
    }

    /// The type `text` names, if it names one (exactly: xAPI's types are case-sensitive).
    pub fn named(text: &str) -> Option<ObjectType> {
        // A match, not a search of ALL: the sink asks this several times per statement.
        match text {
            "Activity" => Some(ObjectType::Activity),
            "Agent" => Some(ObjectType::Agent),
            "Group" => Some(ObjectType::Group),
            "StatementRef" => Some(ObjectType::StatementRef),
            "SubStatement" => Some(ObjectType::SubStatement),
            _ => None,
        }
    }

    /// An Agent or a Group: an actor.
    pub fn is_actor(self) -> bool {
        matches!(self, ObjectType::Agent | ObjectType::Group)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_named_by_its_own_text_only() {
        for kind in ObjectType::ALL {
            assert_eq!(ObjectType::named(kind.as_str()), Some(kind));
        }
        assert_eq!(ObjectType::named("agent"), None);
        assert_eq!(ObjectType::named("Person"), None);
    }
}
