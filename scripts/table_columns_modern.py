#!/usr/bin/env python3
"""Prints the columns of every learnstream table on current ClickHouse, through chdb.

Applies every migration (as check_clickhouse_modern.py does) to an empty database, then prints
`system.columns` of its tables as JSON lines ({"table", "name", "type", "default_kind"}), in each
table's column order. tests/rows.rs compares them with the Rust row types, as it does with the
columns of ClickHouse 18.16.
"""

import sys
import tempfile

from check_clickhouse_modern import apply_migrations, open_check_database, run


def main():
    with tempfile.TemporaryDirectory() as data:
        connection = open_check_database(data)
        apply_migrations(connection)
        sql = (
            "SELECT table, name, type, default_kind FROM system.columns "
            "WHERE database = 'learnstream_check' ORDER BY table, position"
        )
        print(str(run(connection, sql, "system.columns", "JSONEachRow")).strip())

if __name__ == "__main__":
    sys.exit(main())
