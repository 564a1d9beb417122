use clickhouse::Row;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
}

#[derive(Row, Deserialize)]
struct RawRow {
    raw: String,
}

const STATEMENT_BY_ID: &str =
    include_str!("../../../schemas/clickhouse/queries/statement_by_id.sql");

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

    /// Inserts the rows in one `INSERT`: ClickHouse applies a block of one insert atomically.
    pub async fn insert(&self, rows: &[StatementRow]) -> Result<()> {
        let mut insert = self.client.insert::<StatementRow>("statements").await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// The stored statement with this id, as the JSON it was stored as.
    pub async fn statement_by_id(
        &self,
        tenant: &str,
        statement_id: Uuid,
    ) -> Result<Option<String>> {
        let row = self
            .client
            .query(STATEMENT_BY_ID)
            .bind(tenant)
            .bind(statement_id.hyphenated().to_string())
            .fetch_optional::<RawRow>()
            .await?;
        Ok(row.map(|row| row.raw))
    }
}
