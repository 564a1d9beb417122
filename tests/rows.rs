//! Every row type against its table: the fields of each [`TableRow`], in order and type, are
//! columns of its table in `system.columns`, on the ClickHouse 18.16 server and on current
//! ClickHouse (chdb, through `scripts/table_columns_modern.py`). Rows travel as positional
//! `RowBinary` without validation, so this is what stands between a wrong field and silently
//! corrupted rows.

use std::collections::BTreeMap;
use std::process::Command;

use clickhouse::Row;
use learnstream_store::{
    AlignmentWrite, AttachmentRow, ClassWrite, EnrollmentWrite, LookupRow, MigrationRow,
    PublishedWrite, StatementRow, TableRow, UserWrite, VoidRow, migrate,
};
use learnstream_tests::{drop_database, isolated_config, kafka_brokers};
use serde::Deserialize;
use serde_reflection::{ContainerFormat, Format, Tracer, TracerConfig};

/// A column of a table, as `system.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
struct Column {
    table: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    default_kind: String,
}

/// A row type: its table and its fields with the ClickHouse type each one's `RowBinary`
/// encodes. Every table row is inserted, so every column it leaves out needs a default.
#[derive(Debug)]
struct RowType {
    name: &'static str,
    table: &'static str,
    fields: Vec<(String, String)>,
}

fn row_type<'de, T: TableRow + Deserialize<'de>>() -> RowType {
    let mut tracer = Tracer::new(TracerConfig::default().is_human_readable(false));
    let (format, _) = tracer
        .trace_simple_type::<T>()
        .expect("a row type can be traced");
    let registry = tracer
        .registry()
        .expect("a row type's formats are complete");
    let Format::TypeName(name) = format else {
        panic!("{}: a row is a struct", std::any::type_name::<T>());
    };
    let Some(ContainerFormat::Struct(fields)) = registry.get(&name) else {
        panic!("{name}: a row is a struct with named fields");
    };
    RowType {
        name: std::any::type_name::<T>(),
        table: T::TABLE,
        fields: fields
            .iter()
            .map(|field| (field.name.clone(), clickhouse_type(&field.value)))
            .collect(),
    }
}

/// The ClickHouse type whose `RowBinary` encoding this serde format writes.
fn clickhouse_type(format: &Format) -> String {
    match format {
        // A bool travels as one byte: ClickHouse 18.16 has no Bool, the tables use UInt8.
        Format::Bool | Format::U8 => "UInt8".to_owned(),
        Format::U32 => "UInt32".to_owned(),
        Format::U64 => "UInt64".to_owned(),
        Format::I64 => "Int64".to_owned(),
        Format::F64 => "Float64".to_owned(),
        Format::Str | Format::Bytes => "String".to_owned(),
        // `clickhouse::serde::uuid` writes a UUID as its two halves.
        Format::TupleArray { content, size: 2 } if **content == Format::U64 => "UUID".to_owned(),
        Format::Option(inner) => format!("Nullable({})", clickhouse_type(inner)),
        Format::Seq(inner) => format!("Array({})", clickhouse_type(inner)),
        other => panic!("no ClickHouse type for the serde format {other:?}"),
    }
}

/// A column's type as `RowBinary` carries it.
fn wire_type(kind: &str) -> String {
    if let Some(inner) = kind
        .strip_prefix("LowCardinality(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return wire_type(inner);
    }
    match kind {
        // A DateTime travels as its seconds since the epoch.
        "DateTime" => "UInt32".to_owned(),
        other => other.to_owned(),
    }
}

fn every_row_type() -> Vec<RowType> {
    vec![
        row_type::<MigrationRow<'_>>(),
        row_type::<StatementRow>(),
        row_type::<AttachmentRow>(),
        row_type::<LookupRow<'_>>(),
        row_type::<VoidRow>(),
        row_type::<AlignmentWrite<'_>>(),
        row_type::<UserWrite<'_>>(),
        row_type::<ClassWrite<'_>>(),
        row_type::<EnrollmentWrite<'_>>(),
        row_type::<PublishedWrite<'_>>(),
    ]
}

/// What is wrong between the row types and the tables' columns, one line per fault.
fn mismatches(rows: &[RowType], columns: &[Column]) -> Vec<String> {
    let mut tables: BTreeMap<&str, Vec<&Column>> = BTreeMap::new();
    for column in columns {
        tables.entry(&column.table).or_default().push(column);
    }
    let mut faults = Vec::new();
    for row in rows {
        let Some(table) = tables.get(row.table) else {
            faults.push(format!("{}: no table {}", row.name, row.table));
            continue;
        };
        for (field, kind) in &row.fields {
            match table.iter().find(|column| &column.name == field) {
                None => faults.push(format!(
                    "{}.{field}: {} has no such column",
                    row.name, row.table
                )),
                Some(column) if wire_type(&column.kind) != *kind => faults.push(format!(
                    "{}.{field}: the field is {kind}, the column {}",
                    row.name, column.kind
                )),
                Some(_) => {}
            }
        }
        let in_table_order: Vec<&str> = table
            .iter()
            .map(|column| column.name.as_str())
            .filter(|name| row.fields.iter().any(|(field, _)| field == name))
            .collect();
        let in_row_order: Vec<&str> = row.fields.iter().map(|(field, _)| field.as_str()).collect();
        if in_table_order.len() == in_row_order.len() && in_table_order != in_row_order {
            faults.push(format!(
                "{}: fields {in_row_order:?} are not in the table's column order {in_table_order:?}",
                row.name
            ));
        }
        for column in table.iter().filter(|column| column.default_kind.is_empty()) {
            if !row.fields.iter().any(|(field, _)| *field == column.name) {
                faults.push(format!(
                    "{}: an insert leaves out {}.{}, which has no default",
                    row.name, row.table, column.name
                ));
            }
        }
    }
    faults
}

#[tokio::test]
async fn every_row_type_matches_its_table_on_clickhouse_18_16() -> anyhow::Result<()> {
    let config = isolated_config(&kafka_brokers());
    migrate(&config.clickhouse).await?;
    let columns: Vec<Column> = config
        .clickhouse
        .client()
        .query("SELECT table, name, type, default_kind FROM system.columns WHERE database = currentDatabase()")
        .fetch_all()
        .await?;
    drop_database(&config).await?;
    let rows = every_row_type();
    assert_eq!(mismatches(&rows, &columns), Vec::<String>::new());
    Ok(())
}

#[test]
fn every_row_type_matches_its_table_on_current_clickhouse() -> anyhow::Result<()> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/table_columns_modern.py"
    );
    let output = Command::new("python3").arg(script).output()?;
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let columns: Vec<Column> = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert!(columns.iter().any(|column| column.table == "statements"));
    assert_eq!(
        mismatches(&every_row_type(), &columns),
        Vec::<String>::new()
    );
    Ok(())
}

#[test]
fn a_wrong_field_type_or_order_is_a_mismatch() {
    let column = |name: &str, kind: &str, default_kind: &str| Column {
        table: "t".to_owned(),
        name: name.to_owned(),
        kind: kind.to_owned(),
        default_kind: default_kind.to_owned(),
    };
    let columns = [
        column("a", "UInt64", ""),
        column("b", "LowCardinality(String)", ""),
        column("c", "DateTime", "DEFAULT"),
    ];
    let row = |fields: &[(&str, &str)]| RowType {
        name: "Row",
        table: "t",
        fields: fields
            .iter()
            .map(|(name, kind)| ((*name).to_owned(), (*kind).to_owned()))
            .collect(),
    };
    assert!(mismatches(&[row(&[("a", "UInt64"), ("b", "String")])], &columns).is_empty());
    assert!(
        mismatches(
            &[row(&[("a", "UInt64"), ("b", "String"), ("c", "UInt32")])],
            &columns
        )
        .is_empty()
    );
    assert_eq!(
        mismatches(&[row(&[("a", "Int64"), ("b", "String")])], &columns).len(),
        1
    );
    assert_eq!(
        mismatches(&[row(&[("b", "String"), ("a", "UInt64")])], &columns).len(),
        1
    );
    assert_eq!(
        mismatches(&[row(&[("a", "UInt64")])], &columns).len(),
        1,
        "b has no default"
    );
    assert_eq!(
        mismatches(
            &[row(&[("a", "UInt64"), ("b", "String"), ("d", "String")])],
            &columns
        )
        .len(),
        1
    );
}
