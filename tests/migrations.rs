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

/// A database from before the analytics migrations keeps its statements visible to mastery and
/// engagement: migration 006 copies them into `learner_statements`, once.
#[tokio::test]
async fn statements_stored_before_learner_statements_are_copied_once() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    clickhouse::Client::default()
        .with_url(&config.clickhouse.url)
        .query(&format!("CREATE DATABASE {}", config.clickhouse.database))
        .execute()
        .await?;
    let client = config.clickhouse.client();
    // The schema as it was: migrations 000 to 004, statement by statement.
    for migration in MIGRATIONS.iter().filter(|migration| migration.version <= 4) {
        for statement in migration.sql.split_inclusive(";\n") {
            let code: Vec<&str> = statement
                .lines()
                .filter(|line| !line.trim_start().starts_with("--") && !line.trim().is_empty())
                .collect();
            if !code.is_empty() {
                client
                    .query(statement.trim().trim_end_matches(';'))
                    .execute()
                    .await?;
            }
        }
    }
    client
        .query(
            "INSERT INTO statements (tenant, statement_id, stored_us, timestamp_us, actor_ifi,
                verb_id, object_type, object_id, voided, version, raw)
             VALUES ('district-7', '6fa459ea-ee8a-3ca4-894e-db77e160355e', 1, 2,
                'mbox:mailto:ann@example.org', 'http://adlnet.gov/expapi/verbs/passed',
                'Activity', 'https://example.org/quiz', 0, '1.0.0', '{}')",
        )
        .execute()
        .await?;

    migrate(&config.clickhouse).await?;
    let copied = || async {
        config
            .clickhouse
            .client()
            .query("SELECT count() FROM learner_statements WHERE actor_ifi = 'mbox:mailto:ann@example.org'")
            .fetch_one::<u64>()
            .await
    };
    assert_eq!(copied().await?, 1);
    // Applying the backfill again, as a second process racing the first might, copies nothing.
    let backfill = MIGRATIONS
        .iter()
        .find(|migration| migration.version == 6)
        .expect("migration 006 is the backfill");
    client
        .query(backfill.sql.trim().trim_end_matches(';'))
        .execute()
        .await?;
    assert_eq!(copied().await?, 1);
    drop_database(&config).await
}
