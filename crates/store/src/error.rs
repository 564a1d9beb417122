/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error(
        "migration {version} ({name}) was changed after it was applied; add a new migration instead"
    )]
    MigrationChanged { version: u32, name: String },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: String,
        #[source]
        source: clickhouse::error::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
