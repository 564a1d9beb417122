use clickhouse::Row;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::windows::{FIRST_WINDOW, Span, Windowed, bound, read_windows};
use crate::{ClickHouseConfig, Result};

/// One row of the `statements` table (`schemas/clickhouse/001_statements.sql`); field order is
/// column order, since rows travel as `RowBinary` without names.
#[derive(Debug, Clone, PartialEq, Row, Serialize)]
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
#[derive(Row, Serialize)]
struct LookupRow<'a> {
    tenant: &'a str,
    #[serde(with = "clickhouse::serde::uuid")]
    statement_id: Uuid,
    verb_id: &'a str,
    voided: u8,
    raw: &'a str,
}

/// One row of the `pending_voids` table (`schemas/clickhouse/008_pending_voids.sql`): a voiding
/// statement stored before the statement it voids.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize)]
pub struct VoidRow {
    pub tenant: String,
    #[serde(with = "clickhouse::serde::uuid")]
    pub target_id: Uuid,
    #[serde(with = "clickhouse::serde::uuid")]
    pub voiding_id: Uuid,
}

/// One UUID column (rows travel by position, so its name in the query does not matter).
#[derive(Row, Deserialize)]
struct IdRow {
    #[serde(with = "clickhouse::serde::uuid")]
    statement_id: Uuid,
}

#[derive(Row, Deserialize)]
struct ByIdRow {
    raw: String,
    voided: u8,
}

/// A stored statement read by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    /// The normalized statement as stored.
    pub raw: String,
    /// A voiding statement targeting it has been stored (Data 2.3.2).
    pub voided: bool,
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

/// An attachment as read back.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct StoredAttachment {
    pub sha2: String,
    pub content_type: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A stored statement as a write's checks need it.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct StoredById {
    pub id: String,
    pub verb_id: String,
    pub raw: String,
}

/// The tenant and id of one stored statement.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
struct StoredKey {
    tenant: String,
    #[serde(with = "clickhouse::serde::uuid")]
    statement_id: Uuid,
}

/// One page of `GET /xapi/statements` in the terms of the statements table
/// (`schemas/clickhouse/queries/page.sql`). Empty filter strings match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub tenant: String,
    /// Only statements stored after this (µs since the epoch; exclusive).
    pub since_us: u64,
    /// Only statements stored at or before this (µs since the epoch; inclusive). At most the
    /// Consistent-Through of the first page, when every statement stored up to it is in
    /// ClickHouse: a next page relies on it to keep the far end the first page found.
    pub until_us: u64,
    pub verb: String,
    pub registration: String,
    pub agent: String,
    /// The agent, matched as `related_agents=true` asks.
    pub related_agent: String,
    pub activity: String,
    /// The activity, matched as `related_activities=true` asks.
    pub related_activity: String,
    pub ascending: bool,
    /// Continue after this statement of the previous page: its sort key and id.
    pub after: Option<PagePosition>,
    pub limit: u64,
}

/// Where a key's statements begin and end in `stored` (µs), and about how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
struct IndexBound {
    first_us: u64,
    last_us: u64,
    statements: u64,
}

impl IndexBound {
    /// How wide a window holds `limit` of this key's statements twice over, at their mean
    /// density: the width a first page starts with, so that a sparse key (a learner, a
    /// registration) is read in one window or two and a dense one is not read wholesale.
    fn width_for(&self, limit: u64) -> u64 {
        let span = self.last_us.saturating_sub(self.first_us).saturating_add(1);
        let wanted = u128::from(limit.max(1)) * 2;
        let width = u128::from(span) * wanted / u128::from(self.statements.max(1));
        u64::try_from(width).unwrap_or(u64::MAX).clamp(1, span)
    }
}

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PagePosition {
    pub sort_key: i64,
    pub id: String,
    /// How wide (µs of `stored`) the last window of the page was: where the next page starts
    /// looking, as the statements are likely as dense there. 0: the first window's width.
    #[serde(default)]
    pub window_us: u64,
    /// Where the page's span ends on the far side (µs of `stored`: its oldest end, or its newest
    /// when ascending), as the first page found it, so that a next page need not read the
    /// keys' bounds again. 0: unknown, read them.
    #[serde(default)]
    pub far_us: u64,
}

/// One page of statements, in page order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementPage {
    pub rows: Vec<PageRow>,
    /// How wide the last window read was (µs).
    pub window_us: u64,
    /// Where the page's span ends on the far side ([`PagePosition::far_us`]).
    pub far_us: u64,
}

/// One statement of a page.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct PageRow {
    pub raw: String,
    pub stored_us: u64,
    pub sort_key: i64,
    pub id: String,
}

impl StatementPage {
    /// Where this page ends, after its last statement: where its next page starts. None for
    /// an empty page.
    pub fn end(&self) -> Option<PagePosition> {
        self.rows.last().map(|last| PagePosition {
            sort_key: last.sort_key,
            id: last.id.clone(),
            window_us: self.window_us,
            far_us: self.far_us,
        })
    }
}

const LOOKUP_BY_ID: &str = include_str!("../../../schemas/clickhouse/queries/lookup_by_id.sql");
const LOOKUP_BY_IDS: &str = include_str!("../../../schemas/clickhouse/queries/lookup_by_ids.sql");
const VOID_LOOKUP: &str = include_str!("../../../schemas/clickhouse/queries/void_lookup.sql");
const FILTER_MATCHES: &str = include_str!("../../../schemas/clickhouse/queries/filter_matches.sql");
const PAGE: &str = include_str!("../../../schemas/clickhouse/queries/page.sql");
/// The key of every statement in `statement_index_bounds` (migration 012); an unfiltered page
/// reads `statement_pages` alone.
const UNFILTERED: &str = "";
/// `max_threads` of a page's queries: they read a few granules each, which one thread reads
/// with the least overhead, leaving the other cores to concurrent requests.
const PAGE_THREADS: &str = "1";
const PAGE_UNFILTERED: &str =
    include_str!("../../../schemas/clickhouse/queries/page_unfiltered.sql");
const INDEX_BOUNDS: &str = include_str!("../../../schemas/clickhouse/queries/index_bounds.sql");
const ATTACHMENTS_BY_SHA2: &str =
    include_str!("../../../schemas/clickhouse/queries/attachments_by_sha2.sql");
const VOID_STATEMENTS: &str =
    include_str!("../../../schemas/clickhouse/queries/void_statements.sql");
const VOIDED_EARLIER: &str = include_str!("../../../schemas/clickhouse/queries/voided_earlier.sql");
const PENDING_VOID_TENANTS: &str =
    include_str!("../../../schemas/clickhouse/queries/pending_void_tenants.sql");
const STORED_IDS: &str = include_str!("../../../schemas/clickhouse/queries/stored_ids.sql");
const STORED_KEYS: &str = include_str!("../../../schemas/clickhouse/queries/stored_keys.sql");
const STORED_KEY_COUNT: &str =
    include_str!("../../../schemas/clickhouse/queries/stored_key_count.sql");

/// Reads and writes the `statements` table.
#[derive(Clone)]
pub struct StatementStore {
    client: clickhouse::Client,
}

impl std::fmt::Debug for StatementStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StatementStore")
            .finish_non_exhaustive()
    }
}

impl StatementStore {
    pub fn new(config: &ClickHouseConfig) -> Self {
        StatementStore {
            client: config.client(),
        }
    }

    /// Inserts the rows in one `INSERT` (ClickHouse applies a block of one insert atomically)
    /// and, at the same time, their lookup rows. A retry after one of them failed inserts both
    /// again; the tables' replacing merges and readers' `LIMIT 1 BY` absorb the repeat.
    pub async fn insert(&self, rows: &[StatementRow]) -> Result<()> {
        let statements = async {
            let mut insert = self.client.insert::<StatementRow>("statements").await?;
            for row in rows {
                insert.write(row).await?;
            }
            insert.end().await
        };
        let lookup = async {
            let mut insert = self
                .client
                .insert::<LookupRow<'_>>("statement_lookup")
                .await?;
            for row in rows {
                insert
                    .write(&LookupRow {
                        tenant: &row.tenant,
                        statement_id: row.statement_id,
                        verb_id: &row.verb_id,
                        voided: row.voided,
                        raw: &row.raw,
                    })
                    .await?;
            }
            insert.end().await
        };
        futures::try_join!(statements, lookup)?;
        Ok(())
    }

    /// Inserts attachments' bytes in one `INSERT`.
    pub async fn insert_attachments(&self, rows: &[AttachmentRow]) -> Result<()> {
        let mut insert = self.client.insert::<AttachmentRow>("attachments").await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Those of these attachments that are stored.
    pub async fn attachments(
        &self,
        tenant: &str,
        sha2s: &[String],
    ) -> Result<Vec<StoredAttachment>> {
        let mut found = Vec::new();
        for chunk in sha2s.chunks(IDS_PER_QUERY) {
            found.extend(
                self.client
                    .query(ATTACHMENTS_BY_SHA2)
                    .bind(tenant)
                    .bind(chunk)
                    .fetch_all::<StoredAttachment>()
                    .await?,
            );
        }
        Ok(found)
    }

    /// The filter arrays of those of these statements that are stored.
    pub async fn filter_matches(
        &self,
        tenant: &str,
        statement_ids: &[Uuid],
    ) -> Result<Vec<FilterMatches>> {
        let chunks: Vec<Vec<String>> = id_chunks(statement_ids).collect();
        let mut found = Vec::new();
        for group in chunks.chunks(CONCURRENT_CHUNKS) {
            let queries = group.iter().map(|ids| {
                self.client
                    .query(FILTER_MATCHES)
                    .bind(tenant)
                    .bind(ids)
                    .fetch_all::<FilterMatches>()
            });
            found.extend(
                futures::future::try_join_all(queries)
                    .await?
                    .into_iter()
                    .flatten(),
            );
        }
        Ok(found)
    }

    /// The stored statement with this id, as the JSON it was stored as (the lookup table).
    pub async fn statement_by_id(
        &self,
        tenant: &str,
        statement_id: Uuid,
    ) -> Result<Option<StoredStatement>> {
        let row = self
            .client
            .query(LOOKUP_BY_ID)
            .bind(tenant)
            .bind(statement_id.hyphenated().to_string())
            .fetch_optional::<ByIdRow>()
            .await?;
        Ok(row.map(|row| StoredStatement {
            raw: row.raw,
            voided: row.voided != 0,
        }))
    }

    /// Those of these statements that are stored (the lookup table): what a write's checks
    /// compare with. Reads the statements themselves only for the ids that are stored.
    pub async fn statements_by_ids(
        &self,
        tenant: &str,
        statement_ids: &[Uuid],
    ) -> Result<Vec<StoredById>> {
        let mut found = Vec::new();
        for ids in id_chunks(statement_ids) {
            found.extend(
                self.client
                    .query(LOOKUP_BY_IDS)
                    .bind(tenant)
                    .bind(&ids)
                    .fetch_all::<StoredById>()
                    .await?,
            );
        }
        Ok(found)
    }

    /// About how many statements are stored, repeats not yet merged away included.
    pub async fn stored_key_count(&self) -> Result<u64> {
        Ok(self
            .client
            .query(STORED_KEY_COUNT)
            .fetch_one::<u64>()
            .await?)
    }

    /// Calls `each` with the tenant and id of every stored statement, streaming (nothing is
    /// held but the row being read); a statement may come more than once. Returns how many
    /// rows were read.
    pub async fn for_each_stored_key(&self, mut each: impl FnMut(&str, Uuid)) -> Result<u64> {
        let mut cursor = self.client.query(STORED_KEYS).fetch::<StoredKey>()?;
        let mut read = 0;
        while let Some(key) = cursor.next().await? {
            each(&key.tenant, key.statement_id);
            read += 1;
        }
        Ok(read)
    }

    /// One page of statements, in `stored` order, window by window of `stored`
    /// ([`read_windows`]), each window one query that reads the index rows of its window
    /// (`statement_keys`) and the statements it returns (`statement_pages`), however long the
    /// history. A first page starts at the newest (ascending: the oldest) statement its filters
    /// can have in common and with a window sized for their density (`statement_index_bounds`);
    /// a filter without statements has an empty page at once.
    pub async fn page(&self, query: &PageQuery) -> Result<StatementPage> {
        let mut keys: Vec<String> = [
            ("registration", &query.registration),
            ("agent", &query.agent),
            ("related_agent", &query.related_agent),
            ("activity", &query.activity),
            ("related_activity", &query.related_activity),
            ("verb", &query.verb),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(kind, value)| format!("{kind} {value}"))
        .collect();
        if keys.is_empty() {
            keys.push(UNFILTERED.to_owned());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        // Where the page may come from, and how wide its first window is. A next page has both
        // from its position: where the first page found the span's far end, and the last
        // window's width. A first page (or a position without them) reads the keys' bounds:
        // within every key's statements, the first window sized for the sparsest key, since
        // the page needs statements of every key.
        let (mut from, mut to, width) = match &query.after {
            Some(after) if after.far_us > 0 && after.window_us > 0 => {
                if query.ascending {
                    (0, after.far_us, after.window_us)
                } else {
                    (after.far_us, u64::MAX, after.window_us)
                }
            }
            after => {
                let bounds = self.index_bounds(&query.tenant, &keys).await?;
                if bounds.len() < keys.len() {
                    return Ok(StatementPage {
                        rows: Vec::new(),
                        window_us: FIRST_WINDOW,
                        far_us: 0,
                    });
                }
                let from = bounds.iter().map(|bound| bound.first_us).max().unwrap_or(0);
                let to = bounds
                    .iter()
                    .map(|bound| bound.last_us)
                    .min()
                    .unwrap_or(u64::MAX);
                let width = match after {
                    Some(after) if after.window_us > 0 => after.window_us,
                    _ => bounds
                        .iter()
                        .map(|bound| bound.width_for(query.limit))
                        .max()
                        .unwrap_or(FIRST_WINDOW),
                };
                (from, to, width)
            }
        };
        // Within (since, until]. The far end is final here: the keys' bounds were read with
        // every statement stored up to `until` (Consistent-Through) in ClickHouse, so a
        // statement that arrives later is stored after it, outside every page of this query.
        from = from.max(query.since_us.saturating_add(1));
        to = to.min(query.until_us);
        let far_us = if query.ascending { to } else { from };
        // Past the previous page's end.
        if let Some(after) = &query.after {
            let stored = after.sort_key.unsigned_abs();
            if query.ascending {
                from = from.max(stored);
            } else {
                to = to.min(stored);
            }
        }
        let span = Span {
            from: i64::try_from(from).unwrap_or(i64::MAX),
            to: i64::try_from(to).unwrap_or(i64::MAX),
            ascending: query.ascending,
        };
        let Windowed { rows, width } =
            read_windows(span, query.limit, width, |window, wanted, bounded| {
                self.page_window(query, &keys, window, wanted, bounded)
            })
            .await?;
        Ok(StatementPage {
            rows,
            window_us: width,
            far_us,
        })
    }

    /// Where the statements of each of `keys` that has any begin and end.
    async fn index_bounds(&self, tenant: &str, keys: &[&str]) -> Result<Vec<IndexBound>> {
        Ok(self
            .client
            .query(INDEX_BOUNDS)
            .bind(tenant)
            .bind(keys)
            .with_setting("max_threads", PAGE_THREADS)
            .fetch_all::<IndexBound>()
            .await?)
    }

    /// The statements of one page within one window of `stored`, in page order.
    async fn page_window(
        &self,
        query: &PageQuery,
        keys: &[&str],
        (from, to): (i64, i64),
        limit: u64,
        bounded: bool,
    ) -> Result<Vec<PageRow>> {
        let direction: i64 = if query.ascending { 1 } else { -1 };
        let (after_key, after_id) = match &query.after {
            Some(position) => (position.sort_key, position.id.as_str()),
            None => (i64::MIN, ""),
        };
        // The same query but for where the page's statements come from: the filters' keys
        // in statement_keys, or every statement in statement_pages itself.
        let unfiltered = keys == [UNFILTERED];
        let mut sql = self
            .client
            .query(if unfiltered { PAGE_UNFILTERED } else { PAGE })
            .bind(direction)
            .bind(&query.tenant)
            .bind(&query.tenant);
        if !unfiltered {
            sql = sql.bind(keys);
        }
        sql = sql.bind(from).bind(to);
        if !unfiltered {
            sql = sql.bind(keys.len() as u64);
        }
        let sql = sql
            .bind(direction)
            .bind(after_key)
            .bind(direction)
            .bind(after_key)
            .bind(after_id)
            .bind(direction)
            .bind(limit)
            .with_setting("max_threads", PAGE_THREADS);
        Ok(bound(sql, bounded).fetch_all::<PageRow>().await?)
    }

    /// Records voiding statements whose targets are not stored yet.
    pub async fn record_pending_voids(&self, voids: &[VoidRow]) -> Result<()> {
        let mut insert = self.client.insert::<VoidRow>("pending_voids").await?;
        for row in voids {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Those of these statements that are stored (by the lookup table).
    pub async fn stored_ids(&self, tenant: &str, statement_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        self.ids_found_by(STORED_IDS, tenant, statement_ids).await
    }

    /// Which of these tenants have a voiding statement waiting for its target.
    pub async fn tenants_with_pending_voids(&self, tenants: &[&str]) -> Result<Vec<String>> {
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .client
            .query(PENDING_VOID_TENANTS)
            .bind(tenants)
            .fetch_all::<String>()
            .await?)
    }

    /// Those of these statements that a voiding statement stored before them targets.
    pub async fn voided_earlier(&self, tenant: &str, statement_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        self.ids_found_by(VOIDED_EARLIER, tenant, statement_ids)
            .await
    }

    /// The ids a query of one UUID column (params: tenant, ids) answers for these ids, asked
    /// [`IDS_PER_QUERY`] at a time.
    async fn ids_found_by(
        &self,
        sql: &str,
        tenant: &str,
        statement_ids: &[Uuid],
    ) -> Result<Vec<Uuid>> {
        let mut found = Vec::new();
        for ids in id_chunks(statement_ids) {
            let rows = self
                .client
                .query(sql)
                .bind(tenant)
                .bind(ids)
                .fetch_all::<IdRow>()
                .await?;
            found.extend(rows.into_iter().map(|row| row.statement_id));
        }
        Ok(found)
    }

    /// Marks these statements voided, those of them that are stored (Data 2.3.2).
    pub async fn void(&self, tenant: &str, statement_ids: &[Uuid]) -> Result<()> {
        let chunks: Vec<Vec<String>> = id_chunks(statement_ids).collect();
        for group in chunks.chunks(CONCURRENT_CHUNKS) {
            let queries = group.iter().flat_map(|ids| {
                [VOID_STATEMENTS, VOID_LOOKUP]
                    .map(|query| self.client.query(query).bind(tenant).bind(ids).execute())
            });
            futures::future::try_join_all(queries).await?;
        }
        Ok(())
    }
}

/// How many chunks of ids are in flight at once: ClickHouse works on several queries in parallel,
/// and a batch of tens of thousands of voids should not wait for its chunks one by one.
const CONCURRENT_CHUNKS: usize = 4;

/// How many ids (or attachment hashes) one query binds at most. A bound id takes 39 bytes of SQL
/// text and a hash 67, so a query stays below 140 KB whatever the size of the request or batch,
/// far below ClickHouse's `max_query_size` (256 KiB by default), and larger sets of ids take one
/// query per chunk.
pub const IDS_PER_QUERY: usize = 2_000;

/// Statement ids as ClickHouse's `toUUID` reads them, [`IDS_PER_QUERY`] at a time, in the order
/// of the tables' sort key (a UUID sorts by its first, then its second 64 bits): each chunk is
/// one narrow range of the key, so the chunks together read about one granule per id, not every
/// granule of the tenant once per chunk.
fn id_chunks(statement_ids: &[Uuid]) -> impl Iterator<Item = Vec<String>> {
    let mut sorted = statement_ids.to_vec();
    sorted.sort_unstable_by_key(Uuid::as_u64_pair);
    sorted.dedup();
    let chunks: Vec<Vec<String>> = sorted
        .chunks(IDS_PER_QUERY)
        .map(|chunk| chunk.iter().map(|id| id.hyphenated().to_string()).collect())
        .collect();
    chunks.into_iter()
}

#[cfg(test)]
mod tests {
    use super::IndexBound;

    fn bound(first_us: u64, last_us: u64, statements: u64) -> IndexBound {
        IndexBound {
            first_us,
            last_us,
            statements,
        }
    }

    #[test]
    fn a_first_window_holds_twice_a_page_at_the_keys_mean_density() {
        // 10,000 statements over 1,000,001 µs: 200 of them in about 20,000 µs.
        assert_eq!(bound(0, 1_000_000, 10_000).width_for(100), 20_000);
        // A key with fewer statements than twice a page is read in one window: all of it.
        assert_eq!(bound(5, 1_000_004, 150).width_for(100), 1_000_000);
        // One instant, or a count not yet merged to anything, still gives a window.
        assert_eq!(bound(7, 7, 500).width_for(100), 1);
        assert_eq!(bound(0, 99, 0).width_for(100), 100);
        // The widest span times a large page does not overflow.
        assert_eq!(
            bound(0, u64::MAX - 1, 1).width_for(500),
            u64::MAX,
            "clamped to the span"
        );
    }
}
