#!/usr/bin/env python3
"""Runs learnstream's ClickHouse SQL on current ClickHouse, in-process, through chdb.

The tests run every migration and query against the ClickHouse 18.16 server; this check runs the
same SQL on ClickHouse 26.x so that nothing written for one breaks on the other:

1. applies every schemas/clickhouse/NNN_name.sql in order, statement by statement (a line that
   ends with `;` ends a statement, as in crates/store/src/migrate.rs), twice, since migrations
   must be idempotent;
2. inserts one sample statement row into the statements table and copies it into the lookup
   table with migration 009, as statements stored before that table existed are;
3. runs every schemas/clickhouse/queries/*.sql with sample values for the `?` placeholders, typed
   by the file's `-- params: name Type, ...` header.

Exits non-zero with the failing file and statement. Needs the PyPI package chdb
(scripts/requirements-check.txt).
"""

import pathlib
import re
import sys
import tempfile

from chdb import session

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas" / "clickhouse"
SAMPLE_ID = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
SAMPLES = {
    "String": "'district-7'",
    "UUID": f"'{SAMPLE_ID}'",
    "UInt64": "1",
    "Int64": "-1",
    "UInt32": "1",
    "UInt8": "1",
    "Float64": "0.5",
    "Array(String)": f"['{SAMPLE_ID}']",
}


def statements(sql):
    current = []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            yield from finished(current)
            current = []
    yield from finished(current)


def finished(lines):
    text = "\n".join(lines).strip().rstrip(";").strip()
    code = [line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")]
    if code:
        yield text


def bind(sql, path):
    header = re.search(r"^-- params:(.*)$", sql, re.MULTILINE)
    types = [part.split()[1] for part in header.group(1).split(",")] if header else []
    placeholders = sql.count("?")
    if placeholders != len(types):
        raise SystemExit(f"{path}: {placeholders} placeholders but {len(types)} typed params")
    for kind in types:
        if kind not in SAMPLES:
            raise SystemExit(f"{path}: no sample value for parameter type {kind}")
        sql = sql.replace("?", SAMPLES[kind], 1)
    return sql


def adds_a_column(sql):
    code = "\n".join(line for line in sql.upper().splitlines() if not line.strip().startswith("--"))
    return "ALTER TABLE" in code and code.count("ADD COLUMN") == 1


def run(connection, sql, where, output="CSV"):
    try:
        return connection.query(sql, output)
    except Exception as error:  # chdb raises its own error type with the server's message
        raise SystemExit(f"{where}: {error}\n--- statement ---\n{sql}")


def apply_migrations(connection):
    """Applies every migration in order, twice; returns their paths."""
    migrations = sorted(SCHEMAS.glob("[0-9][0-9][0-9]_*.sql"))
    for attempt in ("first", "second"):
        for path in migrations:
            for statement in statements(path.read_text()):
                # As in crates/store/src/migrate.rs: adding a column that exists is done.
                if attempt == "second" and adds_a_column(statement):
                    try:
                        connection.query(statement, "CSV")
                    except Exception as error:
                        if "column with this name already exists" not in str(error):
                            raise SystemExit(f"{path.name} (second application): {error}")
                    continue
                run(connection, statement, f"{path.name} ({attempt} application)")
    return migrations


def open_check_database(data):
    """A chdb session in directory `data` with the learnstream_check database in use."""
    connection = session.Session(data)
    run(connection, "CREATE DATABASE IF NOT EXISTS learnstream_check", "create database")
    run(connection, "USE learnstream_check", "use database")
    return connection


def main():
    with tempfile.TemporaryDirectory() as data:
        connection = open_check_database(data)
        version = str(run(connection, "SELECT version()", "version")).strip().strip('"')
        migrations = apply_migrations(connection)

        run(
            connection,
            "INSERT INTO statements (tenant, statement_id, stored_us, timestamp_us, actor_ifi, verb_id, "
            "object_type, object_id, registration, result_success, result_completion, score_scaled, "
            "score_raw, score_min, score_max, duration_ms, voided, version, raw) VALUES "
            f"('district-7', '{SAMPLE_ID}', 1795428000123456, 1795428000000000, 'mbox:mailto:a@example.org', "
            "'http://adlnet.gov/expapi/verbs/passed', 'Activity', 'https://example.org/q', NULL, 1, NULL, "
            "0.5, 5, 0, 10, 90000, 0, '1.0.0', '{\"id\":\"sample\"}')",
            "sample insert",
        )

        # The sample row is in the statements table alone, as statements stored before the
        # lookup table existed are: the backfill copies it, and the read-back below finds it there.
        backfill = SCHEMAS / "009_statement_lookup_backfill.sql"
        for statement in statements(backfill.read_text()):
            run(connection, statement, f"{backfill.name} (after the sample insert)")

        queries = sorted((SCHEMAS / "queries").glob("*.sql"))
        for path in queries:
            run(connection, bind(path.read_text(), path.name), path.name)

        answer = str(run(connection, bind((SCHEMAS / "queries" / "lookup_by_id.sql").read_text(), "x"), "read back"))
        if "sample" not in answer:
            raise SystemExit(f"lookup_by_id.sql did not return the sample row: {answer!r}")

        print(
            f"clickhouse {version}: {len(migrations)} migrations applied twice, "
            f"{len(queries)} queries ran"
        )


if __name__ == "__main__":
    sys.exit(main())
