//! Every row learnstream writes to or reads from ClickHouse, in one place.
//!
//! A row travels as `RowBinary`: by position, without names or types, since ClickHouse 18.16
//! cannot send `RowBinaryWithNamesAndTypes` (so the `clickhouse` crate runs without
//! validation). Inserts name their columns (the fields), so a row needs its fields' types to be
//! its columns' types; reads take the query's columns in field order. `tests/rows.rs` holds
//! every table row (a [`TableRow`]) to its table's `system.columns`, in order and type, on
//! ClickHouse 18.16 and on current ClickHouse. The rows of queries (a [`LearnerStatement`] has
//! its id as text, for one) are shaped by their query file and held to it by the tests that
//! read them.
//!
//! The statement's own columns come from [`StatementColumns`], read once from the normalized
//! statement by `learnstream-xapi`: [`StatementRow::new`] and `LearnerStatement::from` are the
//! only places they are copied.

use clickhouse::Row;
use learnstream_xapi::StatementColumns;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A row type and the table it is a row of. Every one also derives `Deserialize`, so that
/// `tests/rows.rs` can trace its fields' types.
pub trait TableRow: Row {
    const TABLE: &'static str;
}

macro_rules! table_rows {
    ($($row:ident$(<$lifetime:lifetime>)? => $table:literal),* $(,)?) => {
        $(impl TableRow for $row$(<$lifetime>)? {
            const TABLE: &'static str = $table;
        })*
    };
}

table_rows! {
    MigrationRow<'_> => "schema_migrations",
    StatementRow => "statements",
    AttachmentRow => "attachments",
    LookupRow<'_> => "statement_lookup",
    AlignmentWrite<'_> => "competency_alignments",
    UserWrite<'_> => "roster_users",
    ClassWrite<'_> => "roster_classes",
    EnrollmentWrite<'_> => "roster_enrollments",
    PublishedWrite<'_> => "mastery_published",
    VoidRow => "pending_voids",
}

/// One row of the `schema_migrations` table (`000_schema_migrations.sql`).
#[derive(Debug, Row, Serialize, Deserialize)]
pub struct MigrationRow<'a> {
    pub version: u32,
    pub name: &'a str,
    pub sql: &'a str,
    pub applied_at: u32,
}

/// One row of the `statements` table (`schemas/clickhouse/001_statements.sql`); field order is
/// column order, since rows travel as `RowBinary` without names.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct StatementRow {
    pub tenant: String,
    #[serde(with = "clickhouse::serde::uuid")]
    pub statement_id: Uuid,
    pub stored_us: u64,
    pub timestamp_us: i64,
    pub actor_ifi: String,
    pub verb_id: String,
    pub object_type: String,
    pub object_id: String,
    #[serde(with = "clickhouse::serde::uuid::option")]
    pub registration: Option<Uuid>,
    pub result_success: Option<bool>,
    pub result_completion: Option<bool>,
    pub score_scaled: Option<f64>,
    pub score_raw: Option<f64>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub duration_ms: Option<u64>,
    pub voided: u8,
    pub version: String,
    /// The normalized statement as compact JSON.
    pub raw: String,
    /// What each query filter matches (`schemas/clickhouse/002_statement_filters.sql`).
    pub match_verbs: Vec<String>,
    pub match_registrations: Vec<String>,
    pub match_agents: Vec<String>,
    pub match_related_agents: Vec<String>,
    pub match_activities: Vec<String>,
    pub match_related_activities: Vec<String>,
    /// What competency alignment reads (`schemas/clickhouse/005_learner_statements.sql`).
    pub context_activities: Vec<String>,
    pub competency_ids: Vec<String>,
}

impl StatementRow {
    /// The row the sink stores for one normalized statement of `tenant`, from its columns: not
    /// voided, and with the filter arrays of its own values (a StatementRef target's are added
    /// when the batch is stored, [`StatementRow::inherit_matches`]).
    pub fn new(tenant: &str, raw: &str, columns: StatementColumns) -> StatementRow {
        StatementRow {
            tenant: tenant.to_owned(),
            statement_id: columns.id,
            stored_us: columns.stored_us,
            timestamp_us: columns.timestamp_us,
            actor_ifi: columns.actor_ifi,
            verb_id: columns.verb_id.clone(),
            object_type: columns.object_type.as_str().to_owned(),
            object_id: columns.object_id,
            registration: columns.registration,
            result_success: columns.result_success,
            result_completion: columns.result_completion,
            score_scaled: columns.score_scaled,
            score_raw: columns.score_raw,
            score_min: columns.score_min,
            score_max: columns.score_max,
            duration_ms: columns.duration_ms,
            voided: 0,
            version: columns.version,
            raw: raw.to_owned(),
            match_verbs: vec![columns.verb_id],
            match_registrations: columns
                .registration
                .map(|registration| registration.hyphenated().to_string())
                .into_iter()
                .collect(),
            match_agents: columns.agents,
            match_related_agents: columns.related_agents,
            match_activities: columns.activities,
            match_related_activities: columns.related_activities,
            context_activities: columns.context_activities,
            competency_ids: columns.competency_ids,
        }
    }
    /// Adds what a targeted statement's filters match to this row's (the StatementRef rule).
    pub fn inherit_matches(&mut self, target: &FilterMatches) {
        let pairs = [
            (&mut self.match_verbs, &target.match_verbs),
            (&mut self.match_registrations, &target.match_registrations),
            (&mut self.match_agents, &target.match_agents),
            (&mut self.match_related_agents, &target.match_related_agents),
            (&mut self.match_activities, &target.match_activities),
            (
                &mut self.match_related_activities,
                &target.match_related_activities,
            ),
        ];
        for (own, inherited) in pairs {
            for value in inherited {
                if !own.contains(value) {
                    own.push(value.clone());
                }
            }
        }
    }

    pub fn filter_matches(&self) -> FilterMatches {
        FilterMatches {
            statement_id: self.statement_id,
            match_verbs: self.match_verbs.clone(),
            match_registrations: self.match_registrations.clone(),
            match_agents: self.match_agents.clone(),
            match_related_agents: self.match_related_agents.clone(),
            match_activities: self.match_activities.clone(),
            match_related_activities: self.match_related_activities.clone(),
        }
    }
}

/// A stored statement's filter arrays, as a statement targeting it inherits them.
#[derive(Debug, Clone, PartialEq, Row, Deserialize)]
pub struct FilterMatches {
    #[serde(with = "clickhouse::serde::uuid")]
    pub statement_id: Uuid,
    pub match_verbs: Vec<String>,
    pub match_registrations: Vec<String>,
    pub match_agents: Vec<String>,
    pub match_related_agents: Vec<String>,
    pub match_activities: Vec<String>,
    pub match_related_activities: Vec<String>,
}

/// One row of the `statement_lookup` table (`schemas/clickhouse/004_statement_lookup.sql`).
#[derive(Debug, Row, Serialize, Deserialize)]
pub struct LookupRow<'a> {
    pub tenant: &'a str,
    #[serde(with = "clickhouse::serde::uuid")]
    pub statement_id: Uuid,
    pub verb_id: &'a str,
    pub voided: u8,
    pub raw: &'a str,
}

/// One row of the `pending_voids` table (`schemas/clickhouse/008_pending_voids.sql`): a voiding
/// statement stored before the statement it voids.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct VoidRow {
    pub tenant: String,
    #[serde(with = "clickhouse::serde::uuid")]
    pub target_id: Uuid,
    #[serde(with = "clickhouse::serde::uuid")]
    pub voiding_id: Uuid,
}

/// One row of the `attachments` table (`schemas/clickhouse/003_attachments.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct AttachmentRow {
    pub tenant: String,
    pub sha2: String,
    pub content_type: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub stored_us: u64,
}

/// One statement of a learner as mastery and engagement read it (`learner_statements`).
#[derive(Debug, Clone, PartialEq, Row, Deserialize)]
pub struct LearnerStatement {
    pub actor_ifi: String,
    pub timestamp_us: i64,
    pub statement_id: String,
    pub verb_id: String,
    pub object_type: String,
    pub object_id: String,
    pub context_activities: Vec<String>,
    pub competency_ids: Vec<String>,
    pub result_success: Option<bool>,
    pub result_completion: Option<bool>,
    pub score_scaled: Option<f64>,
    pub score_raw: Option<f64>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub duration_ms: Option<u64>,
}

impl From<StatementColumns> for LearnerStatement {
    fn from(columns: StatementColumns) -> Self {
        LearnerStatement {
            actor_ifi: columns.actor_ifi,
            timestamp_us: columns.timestamp_us,
            statement_id: columns.id.hyphenated().to_string(),
            verb_id: columns.verb_id,
            object_type: columns.object_type.as_str().to_owned(),
            object_id: columns.object_id,
            context_activities: columns.context_activities,
            competency_ids: columns.competency_ids,
            result_success: columns.result_success,
            result_completion: columns.result_completion,
            score_scaled: columns.score_scaled,
            score_raw: columns.score_raw,
            score_min: columns.score_min,
            score_max: columns.score_max,
            duration_ms: columns.duration_ms,
        }
    }
}

/// A user of the imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct RosterUser {
    pub user_id: String,
    /// The xAPI actor of this user's statements, as `learner_statements.actor_ifi` holds it.
    pub actor_ifi: String,
    pub given_name: String,
    pub family_name: String,
    pub role: String,
}

/// A class of the imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct RosterClass {
    pub class_id: String,
    pub title: String,
}

/// An enrollment of the imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct RosterEnrollment {
    pub class_id: String,
    pub user_id: String,
    pub role: String,
}

/// A student of a class.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct ClassStudent {
    pub user_id: String,
    pub actor_ifi: String,
    pub given_name: String,
    pub family_name: String,
}

/// The mastery last published for one learner and competency.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct PublishedMastery {
    pub actor_ifi: String,
    pub competency_id: String,
    pub method: String,
    pub value: f64,
    pub mastered: bool,
    pub evidence_count: u64,
    pub last_evidence_us: i64,
}

#[derive(Debug, Row, Deserialize)]
pub struct AlignmentRow {
    pub activity_id: String,
    pub competency_id: String,
    pub framework: String,
    pub weight: f64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub struct AlignmentWrite<'a> {
    pub tenant: &'a str,
    pub activity_id: &'a str,
    pub competency_id: &'a str,
    pub framework: &'a str,
    pub weight: f64,
    pub deleted: u8,
    pub version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub struct UserWrite<'a> {
    pub tenant: &'a str,
    pub user_id: &'a str,
    pub actor_ifi: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub role: &'a str,
    pub deleted: u8,
    pub version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub struct ClassWrite<'a> {
    pub tenant: &'a str,
    pub class_id: &'a str,
    pub title: &'a str,
    pub deleted: u8,
    pub version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub struct EnrollmentWrite<'a> {
    pub tenant: &'a str,
    pub class_id: &'a str,
    pub user_id: &'a str,
    pub role: &'a str,
    pub deleted: u8,
    pub version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub struct PublishedWrite<'a> {
    pub tenant: &'a str,
    pub actor_ifi: &'a str,
    pub competency_id: &'a str,
    pub method: &'a str,
    pub value: f64,
    pub mastered: bool,
    pub evidence_count: u64,
    pub last_evidence_us: i64,
    pub version: u64,
}

/// A page position: the last statement of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct PageEntry {
    pub timestamp_us: i64,
    pub id: String,
}

#[derive(Debug, Row, Deserialize)]
pub struct ActorRow {
    pub actor_ifi: String,
}
