//! The analytics side of ClickHouse: learners' statements in timestamp order, the imported
//! alignments and roster, and the mastery last published. Every query is a file in
//! `schemas/clickhouse/queries/`, checked on ClickHouse 18.16 and current releases.

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};

use learnstream_store::{
    ActorRow, AlignmentRow, AlignmentWrite, ClassStudent, ClassWrite, EnrollmentWrite,
    FIRST_WINDOW, LearnerStatement, PageEntry, PublishedMastery, PublishedWrite, RosterClass,
    RosterEnrollment, RosterUser, Span, UserWrite, Windowed, blind, bound, read_windows,
};

use crate::evidence::Alignment;
use crate::{ClickHouseConfig, Result};

const LEARNER_STATEMENTS: &str =
    include_str!("../../../schemas/clickhouse/queries/learner_statements.sql");
const LEARNER_STATEMENT_PAGE: &str =
    include_str!("../../../schemas/clickhouse/queries/learner_statement_page.sql");
const ALIGNMENTS: &str = include_str!("../../../schemas/clickhouse/queries/alignments.sql");
const ROSTER_USERS: &str = include_str!("../../../schemas/clickhouse/queries/roster_users.sql");
const ROSTER_CLASSES: &str = include_str!("../../../schemas/clickhouse/queries/roster_classes.sql");
const ROSTER_ENROLLMENTS: &str =
    include_str!("../../../schemas/clickhouse/queries/roster_enrollments.sql");
const CLASS_STUDENTS: &str = include_str!("../../../schemas/clickhouse/queries/class_students.sql");
const MASTERY_PUBLISHED: &str =
    include_str!("../../../schemas/clickhouse/queries/mastery_published.sql");
const VOIDED_ACTORS: &str = include_str!("../../../schemas/clickhouse/queries/voided_actors.sql");

/// Learners per `learner_statements` query: about 30 KB of query text.
const LEARNERS_PER_QUERY: usize = 500;

/// Reads and writes the analytics tables.
#[derive(Clone)]
pub struct AnalyticsStore {
    client: clickhouse::Client,
}

impl std::fmt::Debug for AnalyticsStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AnalyticsStore")
            .finish_non_exhaustive()
    }
}

impl AnalyticsStore {
    pub fn new(config: &ClickHouseConfig) -> Self {
        AnalyticsStore {
            client: config.client(),
        }
    }

    /// These learners' statements from `since_us` (inclusive) to `until_us` (exclusive), by
    /// learner, then in the order they happened. Asked [`LEARNERS_PER_QUERY`] learners at a
    /// time, two queries at once: the learners travel inside the query text, which ClickHouse
    /// caps (`max_query_size`, 256 KiB by default).
    pub async fn learner_statements(
        &self,
        tenant: &str,
        actors: &[String],
        since_us: i64,
        until_us: i64,
    ) -> Result<Vec<LearnerStatement>> {
        let chunks: Vec<BoxFuture<'_, clickhouse::error::Result<Vec<LearnerStatement>>>> = actors
            .chunks(LEARNERS_PER_QUERY)
            .map(|chunk| {
                self.client
                    .query(LEARNER_STATEMENTS)
                    .bind(tenant)
                    .bind(chunk)
                    .bind(since_us)
                    .bind(until_us)
                    .fetch_all::<LearnerStatement>()
                    .boxed()
            })
            .collect();
        // `buffered` keeps the chunks' order; each learner is in one chunk, so each learner's
        // statements stay together.
        let read: Vec<Vec<LearnerStatement>> = futures::stream::iter(chunks)
            .buffered(2)
            .try_collect()
            .await?;
        Ok(read.into_iter().flatten().collect())
    }

    /// One page of a learner's statement ids, newest first, before `before` if given: window
    /// by window of `timestamp` ([`read_windows`]), the first `width` wide (0: the default).
    /// There is no index of a learner's density to ask, so windows grow blind: through a quiet
    /// spell they can overshoot into the learner's history, which bounds what they read.
    pub async fn learner_statement_page(
        &self,
        tenant: &str,
        actor: &str,
        (since_us, until_us): (i64, i64),
        before: Option<&PageEntry>,
        width: u64,
        limit: u64,
    ) -> Result<Windowed<PageEntry>> {
        let (before_us, before_id) = match before {
            Some(entry) => (entry.timestamp_us, entry.id.as_str()),
            None => (i64::MAX, ""),
        };
        let span = Span {
            from: since_us,
            to: until_us.saturating_sub(1).min(before_us),
            ascending: false,
        };
        let width = if width == 0 { FIRST_WINDOW } else { width };
        Ok(read_windows(
            span,
            limit,
            width,
            |(from, to), wanted, bounded| {
                let query = self
                    .client
                    .query(LEARNER_STATEMENT_PAGE)
                    .bind(tenant)
                    .bind(actor)
                    .bind(from)
                    .bind(to)
                    .bind(before_us)
                    .bind(before_id)
                    .bind(wanted);
                async move { Ok(bound(query, bounded).fetch_all().await?) }
            },
            blind,
        )
        .await?)
    }

    pub async fn alignments(&self, tenant: &str) -> Result<Vec<Alignment>> {
        let rows: Vec<AlignmentRow> = self
            .client
            .query(ALIGNMENTS)
            .bind(tenant)
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Alignment {
                activity_id: row.activity_id,
                competency_id: row.competency_id,
                framework: row.framework,
                weight: row.weight,
            })
            .collect())
    }

    /// Replaces the tenant's alignments with these: those no longer listed are deleted.
    pub async fn replace_alignments(&self, tenant: &str, alignments: &[Alignment]) -> Result<()> {
        let current = self.alignments(tenant).await?;
        let version = version_now();
        let mut insert = self
            .client
            .insert::<AlignmentWrite<'_>>("competency_alignments")
            .await?;
        for alignment in alignments {
            insert
                .write(&AlignmentWrite {
                    tenant,
                    activity_id: &alignment.activity_id,
                    competency_id: &alignment.competency_id,
                    framework: &alignment.framework,
                    weight: alignment.weight,
                    deleted: 0,
                    version,
                })
                .await?;
        }
        for gone in current.iter().filter(|old| {
            !alignments.iter().any(|new| {
                new.activity_id == old.activity_id && new.competency_id == old.competency_id
            })
        }) {
            insert
                .write(&AlignmentWrite {
                    tenant,
                    activity_id: &gone.activity_id,
                    competency_id: &gone.competency_id,
                    framework: &gone.framework,
                    weight: gone.weight,
                    deleted: 1,
                    version,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    pub async fn roster_users(&self, tenant: &str) -> Result<Vec<RosterUser>> {
        Ok(self
            .client
            .query(ROSTER_USERS)
            .bind(tenant)
            .fetch_all()
            .await?)
    }

    pub async fn roster_classes(&self, tenant: &str) -> Result<Vec<RosterClass>> {
        Ok(self
            .client
            .query(ROSTER_CLASSES)
            .bind(tenant)
            .fetch_all()
            .await?)
    }

    pub async fn roster_enrollments(&self, tenant: &str) -> Result<Vec<RosterEnrollment>> {
        Ok(self
            .client
            .query(ROSTER_ENROLLMENTS)
            .bind(tenant)
            .fetch_all()
            .await?)
    }

    /// Replaces the tenant's roster users: those no longer listed are deleted.
    pub async fn replace_users(&self, tenant: &str, users: &[RosterUser]) -> Result<()> {
        let current = self.roster_users(tenant).await?;
        let version = version_now();
        let mut insert = self.client.insert::<UserWrite<'_>>("roster_users").await?;
        let listed = users.iter().map(|user| (user, 0));
        let gone = current
            .iter()
            .filter(|old| !users.iter().any(|new| new.user_id == old.user_id))
            .map(|user| (user, 1));
        for (user, deleted) in listed.chain(gone) {
            insert
                .write(&UserWrite {
                    tenant,
                    user_id: &user.user_id,
                    actor_ifi: &user.actor_ifi,
                    given_name: &user.given_name,
                    family_name: &user.family_name,
                    role: &user.role,
                    deleted,
                    version,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Replaces the tenant's roster classes: those no longer listed are deleted.
    pub async fn replace_classes(&self, tenant: &str, classes: &[RosterClass]) -> Result<()> {
        let current = self.roster_classes(tenant).await?;
        let version = version_now();
        let mut insert = self
            .client
            .insert::<ClassWrite<'_>>("roster_classes")
            .await?;
        let listed = classes.iter().map(|class| (class, 0));
        let gone = current
            .iter()
            .filter(|old| !classes.iter().any(|new| new.class_id == old.class_id))
            .map(|class| (class, 1));
        for (class, deleted) in listed.chain(gone) {
            insert
                .write(&ClassWrite {
                    tenant,
                    class_id: &class.class_id,
                    title: &class.title,
                    deleted,
                    version,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Replaces the tenant's enrollments: those no longer listed are deleted.
    pub async fn replace_enrollments(
        &self,
        tenant: &str,
        enrollments: &[RosterEnrollment],
    ) -> Result<()> {
        let current = self.roster_enrollments(tenant).await?;
        let version = version_now();
        let mut insert = self
            .client
            .insert::<EnrollmentWrite<'_>>("roster_enrollments")
            .await?;
        let listed = enrollments.iter().map(|enrollment| (enrollment, 0));
        let gone = current
            .iter()
            .filter(|old| {
                !enrollments
                    .iter()
                    .any(|new| new.class_id == old.class_id && new.user_id == old.user_id)
            })
            .map(|enrollment| (enrollment, 1));
        for (enrollment, deleted) in listed.chain(gone) {
            insert
                .write(&EnrollmentWrite {
                    tenant,
                    class_id: &enrollment.class_id,
                    user_id: &enrollment.user_id,
                    role: &enrollment.role,
                    deleted,
                    version,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// The students of a class; empty for a class with none or an unknown class.
    pub async fn class_students(&self, tenant: &str, class_id: &str) -> Result<Vec<ClassStudent>> {
        Ok(self
            .client
            .query(CLASS_STUDENTS)
            .bind(tenant)
            .bind(class_id)
            .bind(tenant)
            .fetch_all()
            .await?)
    }

    /// The mastery last published for these learners ([`LEARNERS_PER_QUERY`] at a time).
    pub async fn published_mastery(
        &self,
        tenant: &str,
        actors: &[String],
    ) -> Result<Vec<PublishedMastery>> {
        let mut published = Vec::new();
        for chunk in actors.chunks(LEARNERS_PER_QUERY) {
            published.extend(
                self.client
                    .query(MASTERY_PUBLISHED)
                    .bind(tenant)
                    .bind(chunk)
                    .fetch_all::<PublishedMastery>()
                    .await?,
            );
        }
        Ok(published)
    }

    /// Records mastery as published.
    pub async fn record_published(
        &self,
        tenant: &str,
        published: &[PublishedMastery],
    ) -> Result<()> {
        let version = version_now();
        let mut insert = self
            .client
            .insert::<PublishedWrite<'_>>("mastery_published")
            .await?;
        for mastery in published {
            insert
                .write(&PublishedWrite {
                    tenant,
                    actor_ifi: &mastery.actor_ifi,
                    competency_id: &mastery.competency_id,
                    method: &mastery.method,
                    value: mastery.value,
                    mastered: mastery.mastered,
                    evidence_count: mastery.evidence_count,
                    last_evidence_us: mastery.last_evidence_us,
                    version,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// The learners whose statements these are.
    pub async fn actors_of(&self, tenant: &str, statement_ids: &[String]) -> Result<Vec<String>> {
        let mut actors = Vec::new();
        // Statement ids are shorter than learners' identifiers: more fit in one query.
        for chunk in statement_ids.chunks(4 * LEARNERS_PER_QUERY) {
            let rows: Vec<ActorRow> = self
                .client
                .query(VOIDED_ACTORS)
                .bind(tenant)
                .bind(chunk)
                .fetch_all()
                .await?;
            actors.extend(rows.into_iter().map(|row| row.actor_ifi));
        }
        Ok(actors)
    }
}

/// The version of a replacing write (the tables' `version` column): now, in µs.
fn version_now() -> u64 {
    learnstream_xapi::now_micros().unsigned_abs()
}

/// A statement for unit tests: an Activity object, no result.
#[cfg(test)]
pub(crate) fn test_statement(verb: &str) -> LearnerStatement {
    LearnerStatement {
        actor_ifi: "mbox:mailto:ann@example.org".into(),
        timestamp_us: 0,
        statement_id: "00000000-0000-0000-0000-000000000001".into(),
        verb_id: verb.into(),
        object_type: "Activity".into(),
        object_id: "https://example.org/activity".into(),
        context_activities: Vec::new(),
        competency_ids: Vec::new(),
        result_success: None,
        result_completion: None,
        score_scaled: None,
        score_raw: None,
        score_min: None,
        score_max: None,
        duration_ms: None,
    }
}
