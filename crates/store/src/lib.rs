//! learnstream's ClickHouse side: what flows in is statement rows from the sink and lookups from
//! the intake's read endpoints; what flows out is rows and the normalized statements stored in
//! them.
//!
//! The same SQL runs on ClickHouse 18.16 and on current releases, so the client speaks only
//! `RowBinary` (validation off: 18.16 lacks `RowBinaryWithNamesAndTypes`), times are microsecond
//! integers (no `DateTime64`), and every query lives as a file in `schemas/clickhouse/queries/`
//! where the modern-ClickHouse check runs it too.

mod config;
mod error;
mod migrate;
mod rows;
mod statements;
mod windows;

pub use config::ClickHouseConfig;
pub use error::{Error, Result};
pub use migrate::{MIGRATIONS, Migration, MigrationReport, migrate};
pub use rows::{
    ActorRow, AlignmentRow, AlignmentWrite, AttachmentRow, ClassStudent, ClassWrite,
    EnrollmentWrite, FilterMatches, LearnerStatement, LookupRow, MigrationRow, PageEntry,
    PublishedMastery, PublishedWrite, RosterClass, RosterEnrollment, RosterUser, StatementRow,
    TableRow, UserWrite, VoidRow,
};
pub use statements::{
    IDS_PER_QUERY, PagePosition, PageQuery, PageRow, StatementPage, StatementStore,
    StoredAttachment, StoredById, StoredStatement,
};
pub use windows::{FIRST_WINDOW, Reach, Span, WINDOW_ROWS, Windowed, blind, bound, read_windows};
