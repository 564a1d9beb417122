//! Ordered schema migrations: `schemas/clickhouse/NNN_name.sql`, embedded at build time, applied
//! once each and recorded in `schema_migrations` with their text, so an edited migration is
//! caught instead of silently diverging.
//!
//! Every statement in a migration must be idempotent (`IF NOT EXISTS`): two processes starting
//! at once may both apply a migration before either records it. ClickHouse 18.16 has no
//! `ADD COLUMN IF NOT EXISTS`, so an `ALTER TABLE … ADD COLUMN` of one column that already
//! exists counts as applied.

use clickhouse::Row;
use serde::Deserialize;

use crate::rows::MigrationRow;

use crate::{ClickHouseConfig, Error, Result};

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order.
pub static MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// What a run of [`migrate`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run.
    pub applied: Vec<u32>,
    /// Versions that were already recorded.
    pub already_applied: Vec<u32>,
}

#[derive(Row, Deserialize)]
struct AppliedRow {
    version: u32,
    sql: String,
}

/// Creates the database if needed and applies every migration not yet recorded, in order.
pub async fn migrate(config: &ClickHouseConfig) -> Result<MigrationReport> {
    config
        .server_client()
        .query(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            config.database
        ))
        .execute()
        .await?;
    let client = config.client();
    let bootstrap = MIGRATIONS
        .first()
        .expect("migration 000 creates the migrations table");
    debug_assert_eq!(bootstrap.version, 0);
    apply(&client, bootstrap).await?;

    let applied: Vec<AppliedRow> = client
        .query("SELECT version, any(sql) FROM schema_migrations GROUP BY version")
        .fetch_all()
        .await?;
    let mut report = MigrationReport::default();
    for migration in MIGRATIONS {
        if let Some(row) = applied.iter().find(|row| row.version == migration.version) {
            if row.sql != migration.sql {
                return Err(Error::MigrationChanged {
                    version: migration.version,
                    name: migration.name.to_owned(),
                });
            }
            report.already_applied.push(migration.version);
            continue;
        }
        if migration.version != bootstrap.version {
            apply(&client, migration).await?;
        }
        record(&client, migration).await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        report.applied.push(migration.version);
    }
    Ok(report)
}

async fn apply(client: &clickhouse::Client, migration: &Migration) -> Result<()> {
    for statement in split_statements(migration.sql) {
        match client.query(&statement).execute().await {
            Ok(()) => {}
            Err(error) if adds_a_column(&statement) && is_existing_column(&error) => {
                tracing::debug!(version = migration.version, %statement, "column already added");
            }
            Err(source) => {
                return Err(Error::Migration {
                    version: migration.version,
                    name: migration.name.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// `ALTER TABLE t ADD COLUMN c Type`, one column (comment lines aside).
fn adds_a_column(statement: &str) -> bool {
    let code: String = statement
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join("\n");
    code.contains("ALTER TABLE") && code.matches("ADD COLUMN").count() == 1
}

/// ClickHouse's answer to adding a column that exists: "column with this name already exists"
/// (code 44 on 18.16, DUPLICATE_COLUMN = 15 on current releases).
fn is_existing_column(error: &clickhouse::error::Error) -> bool {
    error
        .to_string()
        .contains("column with this name already exists")
}

async fn record(client: &clickhouse::Client, migration: &Migration) -> Result<()> {
    let applied_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX)
        });
    let mut insert = client
        .insert::<MigrationRow<'_>>("schema_migrations")
        .await?;
    insert
        .write(&MigrationRow {
            version: migration.version,
            name: migration.name,
            sql: migration.sql,
            applied_at,
        })
        .await?;
    insert.end().await?;
    Ok(())
}

/// Splits a migration into statements: a line that ends with `;` ends a statement. ClickHouse's
/// HTTP interface runs one statement per request.
pub(crate) fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            finish_statement(&mut current, &mut statements);
        }
    }
    finish_statement(&mut current, &mut statements);
    statements
}

fn finish_statement(current: &mut String, statements: &mut Vec<String>) {
    let statement = current.trim().trim_end_matches(';').trim_end();
    let has_code = statement
        .lines()
        .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with("--"));
    if has_code {
        statements.push(statement.to_owned());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_start_with_the_record_table() {
        assert_eq!(MIGRATIONS[0].version, 0);
        assert_eq!(MIGRATIONS[0].name, "schema_migrations");
        assert!(
            MIGRATIONS
                .windows(2)
                .all(|pair| pair[0].version < pair[1].version)
        );
        assert!(
            MIGRATIONS
                .iter()
                .any(|migration| migration.name == "statements")
        );
    }

    #[test]
    fn every_statement_is_idempotent() {
        for migration in MIGRATIONS {
            for statement in split_statements(migration.sql) {
                let code = statement.to_uppercase();
                // A backfill copies only the rows its target lacks.
                let copies_what_is_missing =
                    code.contains("INSERT INTO") && code.contains("NOT IN (SELECT");
                // So does one of bounds: a minimum and a maximum do not move when a row is
                // counted twice, and a count beside them is an estimate of density that a
                // repeat (two processes applying it at once) only doubles.
                let copies_bounds = code.contains("INSERT INTO")
                    && code.contains("STATE(")
                    && code.matches("STATE(").count()
                        == code.matches("MINSTATE(").count()
                            + code.matches("MAXSTATE(").count()
                            + code.matches("COUNTSTATE(").count();
                assert!(
                    code.contains("IF NOT EXISTS")
                        || code.contains("IF EXISTS")
                        || adds_a_column(&statement)
                        || copies_what_is_missing
                        || copies_bounds,
                    "migration {} has a statement that is not idempotent: {statement}",
                    migration.version
                );
            }
        }
    }

    /// The ClickHouse client reads every `?` as a parameter to bind, comments included.
    #[test]
    fn no_migration_holds_a_question_mark() {
        for migration in MIGRATIONS {
            assert!(
                !migration.sql.contains('?'),
                "migration {} has a '?', which the client would take for a parameter",
                migration.version
            );
        }
    }

    #[test]
    fn adding_one_column_is_recognised_past_comments() {
        assert!(adds_a_column(
            "-- no ADD COLUMN IF NOT EXISTS on 18.16\nALTER TABLE t ADD COLUMN c String"
        ));
        assert!(!adds_a_column(
            "ALTER TABLE t ADD COLUMN c String, ADD COLUMN d String"
        ));
        assert!(!adds_a_column("-- ALTER TABLE t ADD COLUMN c\nSELECT 1"));
    }

    #[test]
    fn splits_at_semicolons_that_end_a_line() {
        let sql = "-- a comment; not a split\nCREATE TABLE a (x String DEFAULT ';');\n\nCREATE TABLE b (y UInt8);\n-- trailing comment\n";
        assert_eq!(
            split_statements(sql),
            vec![
                "-- a comment; not a split\nCREATE TABLE a (x String DEFAULT ';')",
                "CREATE TABLE b (y UInt8)",
            ]
        );
        assert_eq!(split_statements("SELECT 1"), vec!["SELECT 1"]);
        assert_eq!(split_statements("SELECT 1;"), vec!["SELECT 1"]);
    }
}
