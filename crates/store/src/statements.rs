use clickhouse::Row;
use serde::Deserialize;
use uuid::Uuid;

use crate::rows::{AttachmentRow, FilterMatches, LookupRow, StatementRow, VoidRow};
use crate::windows::{FIRST_WINDOW, Reach, Span, Windowed, bound, read_windows};
use crate::{ClickHouseConfig, Result};

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

/// How many hours of `stored` a reach looks at, from the near end of what is left of a page's
/// span: 30 days, a few hundred rows of a key at most. A silence longer than that is crossed a
/// reach at a time.
const REACH_HOURS: u64 = 720;
const HOUR_US: u64 = 3_600_000_000;

/// The keys `statement_hours` keeps (migration 019): every statement's (''), and those that
/// begin with these kinds (verbs, activities, related activities). The keys of a learner or a
/// registration, with about an hour per statement, are not kept: a reach cannot tell about them,
/// and it answers from the page's other keys or not at all.
const HOURLY_KINDS: [&str; 3] = ["verb ", "activity ", "related_activity "];

/// Whether `statement_hours` keeps this key's hours.
fn hourly(key: &str) -> bool {
    key == UNFILTERED || HOURLY_KINDS.iter().any(|kind| key.starts_with(kind))
}

/// One hour of one of a page's keys (its position in the keys, from 1) with statements, and
/// where they begin and end in it (`queries/page_reach.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
struct KeyHour {
    key_index: u32,
    first_us: u64,
    last_us: u64,
    statements: u64,
}

/// Of a key's hours within the range a reach looks at, taken in page order, the hour in which
/// they come to hold what a page is missing (or the last of them).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyReach {
    /// The hour's first and last `stored` and its count.
    reach_first_us: u64,
    reach_last_us: u64,
    reach_statements: u64,
    /// How many the hours before it in page order hold.
    held_before: u64,
}

impl KeyReach {
    /// Of `hours` (one key's), those with statements within `range`, summed in page order up
    /// to the hour that brings them to `wanted`. None when none is within the range.
    fn of(hours: &[&KeyHour], range: Span, wanted: u64) -> Option<Self> {
        let within = |at: u64| i64::try_from(at).unwrap_or(i64::MAX);
        let mut hours: Vec<&KeyHour> = hours
            .iter()
            .copied()
            .filter(|hour| within(hour.last_us) >= range.from && within(hour.first_us) <= range.to)
            .collect();
        hours.sort_unstable_by_key(|hour| hour.first_us);
        if !range.ascending {
            hours.reverse();
        }
        let mut held_before = 0;
        for (position, hour) in hours.iter().enumerate() {
            if held_before + hour.statements >= wanted || position + 1 == hours.len() {
                return Some(Self {
                    reach_first_us: hour.first_us,
                    reach_last_us: hour.last_us,
                    reach_statements: hour.statements,
                    held_before,
                });
            }
            held_before += hour.statements;
        }
        None
    }

    /// How wide a window from the near end of `range` holds `wanted` of this key's statements,
    /// twice over where the hour that completes them is only partly needed (its statements
    /// taken as evenly spread between its first and last), or all of `range` when its hours
    /// there hold fewer.
    fn width(&self, range: Span, wanted: u64) -> u64 {
        let whole = range.from.abs_diff(range.to).saturating_add(1);
        let needed = wanted.saturating_sub(self.held_before).max(1);
        if needed > self.reach_statements {
            return whole;
        }
        let (first, last) = (
            i64::try_from(self.reach_first_us)
                .unwrap_or(i64::MAX)
                .clamp(range.from, range.to),
            i64::try_from(self.reach_last_us)
                .unwrap_or(i64::MAX)
                .clamp(range.from, range.to),
        );
        // The share of the hour, from its near side, that holds what it must add; all of it
        // when the hour runs past the range's near end, as its count then holds statements
        // outside the range too, and a share of it could miss the ones inside again and again.
        let past_near = if range.ascending {
            self.reach_first_us < range.from.max(0).unsigned_abs()
        } else {
            self.reach_last_us > range.to.max(0).unsigned_abs()
        };
        let share = if past_near {
            u128::from(self.reach_statements)
        } else {
            (u128::from(needed) * 2).min(u128::from(self.reach_statements))
        };
        let hour = u128::from(first.abs_diff(last));
        let into = i64::try_from(hour * share / u128::from(self.reach_statements)).unwrap_or(0);
        let edge = if range.ascending {
            first.saturating_add(into).min(last)
        } else {
            last.saturating_sub(into).max(first)
        };
        let near = if range.ascending {
            range.from
        } else {
            range.to
        };
        near.abs_diff(edge).saturating_add(1)
    }
}

/// The part of `left` a reach looks at: its nearest [`REACH_HOURS`] (from the start of the
/// near end's hour), or all of it.
fn reach_range(left: Span) -> Span {
    let hours = i64::try_from(REACH_HOURS * HOUR_US).unwrap_or(i64::MAX);
    let hour = i64::try_from(HOUR_US).unwrap_or(i64::MAX);
    if left.ascending {
        let end = left.from - left.from.rem_euclid(hour) + hours - 1;
        Span {
            to: end.min(left.to),
            ..left
        }
    } else {
        let start = left.to - left.to.rem_euclid(hour) + hour - hours;
        Span {
            from: start.max(left.from),
            ..left
        }
    }
}

/// What the hours of a page's `keys` within `range` (of what is `left`) tell: the window that
/// holds `wanted` of every key (the page needs statements of every key), all of the range when
/// a key has none there, or nothing left when the range is all that is left.
fn reach_of(hours: &[KeyHour], keys: usize, range: Span, left: Span, wanted: u64) -> Reach {
    let mut widest = 1;
    for key in 1..=keys {
        let of_key: Vec<&KeyHour> = hours
            .iter()
            .filter(|hour| usize::try_from(hour.key_index) == Ok(key))
            .collect();
        match KeyReach::of(&of_key, range, wanted) {
            Some(reach) => widest = widest.max(reach.width(range, wanted)),
            None if range == left => return Reach::Exhausted,
            None => widest = widest.max(range.from.abs_diff(range.to).saturating_add(1)),
        }
    }
    Reach::Width(widest)
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
/// The key of every statement in `statement_index_bounds` (migration 012) and `statement_hours`
/// (migration 019); an unfiltered page reads `statement_pages` alone.
const UNFILTERED: &str = "";
/// `max_threads` of a page's queries: they read a few granules each, which one thread reads
/// with the least overhead, leaving the other cores to concurrent requests.
const PAGE_THREADS: &str = "1";
const PAGE_UNFILTERED: &str =
    include_str!("../../../schemas/clickhouse/queries/page_unfiltered.sql");
const INDEX_BOUNDS: &str = include_str!("../../../schemas/clickhouse/queries/index_bounds.sql");
const PAGE_REACH: &str = include_str!("../../../schemas/clickhouse/queries/page_reach.sql");
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
    /// a filter without statements has an empty page at once. A window that finds less than
    /// half of what the page still misses (of several keys: nothing) asks the keys' hours where
    /// their next statements are (`statement_hours`), so that the windows cross a quiet spell
    /// in a step instead of growing blind through it and overshooting into the history beyond.
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
        let keys = &keys;
        // The page's keys whose hours a reach can ask.
        let dense: Vec<&str> = keys.iter().copied().filter(|key| hourly(key)).collect();
        let dense = &dense;
        let Windowed { rows, width } = read_windows(
            span,
            query.limit,
            width,
            |window, wanted, bounded| self.page_window(query, keys, window, wanted, bounded),
            |left, missing, found| async move {
                // Of several keys, only a window that found nothing asks: one that found some
                // may be short because the keys have few statements in common, which their
                // hours cannot tell, and it grows at the density it saw.
                if dense.is_empty() || (keys.len() > 1 && found > 0) {
                    return Ok(Reach::Unknown);
                }
                let range = reach_range(left);
                let hours = self.key_hours(&query.tenant, dense, range).await?;
                Ok(reach_of(&hours, dense.len(), range, left, missing))
            },
        )
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

    /// The hours of `keys` that have statements, within `range` ([`KeyHour`]).
    async fn key_hours(&self, tenant: &str, keys: &[&str], range: Span) -> Result<Vec<KeyHour>> {
        let hour = |at: i64| u32::try_from(at.max(0).unsigned_abs() / HOUR_US).unwrap_or(u32::MAX);
        Ok(self
            .client
            .query(PAGE_REACH)
            .bind(keys)
            .bind(tenant)
            .bind(keys)
            .bind(hour(range.from))
            .bind(hour(range.to))
            .with_setting("max_threads", PAGE_THREADS)
            .fetch_all::<KeyHour>()
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
    use super::{
        HOUR_US, IndexBound, KeyHour, KeyReach, REACH_HOURS, Reach, Span, hourly, reach_of,
        reach_range,
    };

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

    /// A key whose reach hour runs `first..=last` with `statements`, after `held_before`.
    fn hour(first: u64, last: u64, statements: u64, held_before: u64) -> KeyReach {
        KeyReach {
            reach_first_us: first,
            reach_last_us: last,
            reach_statements: statements,
            held_before,
        }
    }

    const RANGE: Span = Span {
        from: 0,
        to: 10_000_000,
        ascending: false,
    };

    #[test]
    fn a_reach_goes_into_the_hour_that_completes_a_page_as_far_as_twice_its_share() {
        // 100 wanted, 60 held nearer: 40 more of the hour's 1,000 (evenly spread over
        // 1,000,000 µs), twice over: 80,000 µs into it, from its near side.
        let descending = hour(8_000_000, 9_000_000, 1_000, 60).width(RANGE, 100);
        assert_eq!(descending, 10_000_000 - 8_920_000 + 1);
        let ascending = Span {
            ascending: true,
            ..RANGE
        };
        assert_eq!(
            hour(8_000_000, 9_000_000, 1_000, 60).width(ascending, 100),
            8_080_000 + 1
        );
        // An hour that runs past the range's near end is reached whole: some of its count is
        // beyond the range.
        let straddling = hour(8_000_000, 10_500_000, 1_000, 0).width(RANGE, 100);
        assert_eq!(straddling, 10_000_000 - 8_000_000 + 1);
        // An hour of one instant is reached whole.
        assert_eq!(
            hour(3_000, 3_000, 500, 11).width(RANGE, 100),
            10_000_000 - 3_000 + 1
        );
    }

    fn key_hour(key_index: u32, first_us: u64, last_us: u64, statements: u64) -> KeyHour {
        KeyHour {
            key_index,
            first_us,
            last_us,
            statements,
        }
    }

    #[test]
    fn hours_are_summed_in_page_order_across_silence_and_outside_the_range_left_out() {
        let hours = [
            key_hour(1, 100, 200, 50),
            key_hour(1, 9_000_000, 9_100_000, 11),
            // Beyond the range's near end: a page past it does not count it.
            key_hour(1, 10_500_000, 10_600_000, 1_000),
            key_hour(1, 3_000_000, 3_500_000, 500),
        ];
        let of_key: Vec<&KeyHour> = hours.iter().collect();
        assert_eq!(
            KeyReach::of(&of_key, RANGE, 100),
            Some(hour(3_000_000, 3_500_000, 500, 11))
        );
        let ascending = Span {
            ascending: true,
            ..RANGE
        };
        assert_eq!(
            KeyReach::of(&of_key, ascending, 100),
            Some(hour(3_000_000, 3_500_000, 500, 50))
        );
        // Fewer than wanted: the farthest hour, with all before it.
        assert_eq!(
            KeyReach::of(&of_key, RANGE, 1_000),
            Some(hour(100, 200, 50, 511))
        );
        assert_eq!(KeyReach::of(&[], RANGE, 100), None);
    }

    #[test]
    fn a_reach_that_holds_too_few_takes_its_whole_range_and_one_key_without_any_ends_the_page() {
        assert_eq!(
            hour(2_000_000, 2_500_000, 30, 40).width(RANGE, 100),
            10_000_001
        );
        // The widest key decides.
        let hours = [
            key_hour(1, 9_000_000, 9_500_000, 1_000),
            key_hour(2, 1_000_000, 2_000_000, 1_000),
        ];
        assert_eq!(
            reach_of(&hours, 2, RANGE, RANGE, 100),
            Reach::Width(10_000_000 - (2_000_000 - 200_000) + 1)
        );
        // A key without statements in the range: past the range, or nothing when it is all
        // that is left.
        let left = Span { from: -5, ..RANGE };
        assert_eq!(
            reach_of(&hours, 3, RANGE, left, 100),
            Reach::Width(10_000_001)
        );
        assert_eq!(reach_of(&hours, 3, RANGE, RANGE, 100), Reach::Exhausted);
    }

    #[test]
    fn hours_are_kept_for_every_statement_verbs_and_activities_not_for_learners() {
        assert!(hourly(""));
        assert!(hourly("verb http://adlnet.gov/expapi/verbs/answered"));
        assert!(hourly("activity https://content.example.org/a"));
        assert!(hourly("related_activity https://content.example.org/a"));
        assert!(!hourly("agent mbox:mailto:a@example.org"));
        assert!(!hourly("related_agent mbox:mailto:a@example.org"));
        assert!(!hourly("registration 6f0a3c1e-0000-4000-8000-000000000000"));
    }

    #[test]
    fn a_reach_looks_at_the_nearest_thirty_days_from_the_start_of_an_hour() {
        let hour = i64::try_from(HOUR_US).unwrap();
        let days = i64::try_from(REACH_HOURS).unwrap() * hour;
        let left = Span {
            from: 0,
            to: 1_000 * hour + 5,
            ascending: false,
        };
        assert_eq!(
            reach_range(left),
            Span {
                from: 1_001 * hour - days,
                ..left
            }
        );
        let ascending = Span {
            from: 7 * hour + 5,
            to: i64::MAX,
            ascending: true,
        };
        assert_eq!(
            reach_range(ascending),
            Span {
                to: 7 * hour + days - 1,
                ..ascending
            }
        );
        let short = Span { to: 9, ..left };
        assert_eq!(reach_range(short), short);
    }
}
