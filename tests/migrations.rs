//! Migrations on the real ClickHouse: applied once, recorded, and guarded against edits.

use learnstream_store::{MIGRATIONS, migrate};
use learnstream_tests::{drop_database, isolated_config, kafka_brokers};

#[tokio::test]
async fn migrations_apply_once_and_are_recorded() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    let every_version: Vec<u32> = MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .collect();

    let first = migrate(&config.clickhouse).await?;
    assert_eq!(first.applied, every_version);
    assert!(first.already_applied.is_empty());

    let second = migrate(&config.clickhouse).await?;
    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied, every_version);

    let recorded: Vec<u32> = config
        .clickhouse
        .client()
        .query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all()
        .await?;
    assert_eq!(
        recorded, every_version,
        "each migration is recorded exactly once"
    );

    drop_database(&config).await
}

#[tokio::test]
async fn an_edited_migration_is_refused() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    migrate(&config.clickhouse).await?;
    config
        .clickhouse
        .client()
        .query("ALTER TABLE schema_migrations UPDATE sql = 'edited' WHERE version = 1")
        .execute()
        .await?;
    // ALTER … UPDATE is a mutation that applies asynchronously; wait for it to land.
    learnstream_tests::wait_for("the mutation to apply", || async {
        let edited: u64 = config
            .clickhouse
            .client()
            .query("SELECT count() FROM schema_migrations WHERE sql = 'edited'")
            .fetch_one()
            .await?;
        Ok((edited == 1).then_some(()))
    })
    .await?;

    let error = migrate(&config.clickhouse).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "migration 1 (statements) was changed after it was applied; add a new migration instead"
    );
    drop_database(&config).await
}

/// Two processes may both apply a migration before either records it. Applying every migration
/// again after the records are lost must work, columns added by ALTER included (ClickHouse 18.16
/// has no ADD COLUMN IF NOT EXISTS).
#[tokio::test]
async fn a_migration_applied_twice_before_it_was_recorded_is_harmless() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    migrate(&config.clickhouse).await?;
    config
        .clickhouse
        .client()
        .query("TRUNCATE TABLE schema_migrations")
        .execute()
        .await?;

    let again = migrate(&config.clickhouse).await?;
    let every_version: Vec<u32> = MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .collect();
    assert_eq!(again.applied, every_version);
    drop_database(&config).await
}
