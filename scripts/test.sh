#!/usr/bin/env bash
# The test command: brings up the real services (idempotent), then formatting, lints, the
# current-ClickHouse check of every migration and query, and every test, unit and end-to-end,
# against the real Kafka broker and ClickHouse.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== migrations and queries on current ClickHouse (chdb)"
python3 -c 'import chdb' 2>/dev/null || pip install --quiet -r scripts/requirements-check.txt
python3 scripts/check_clickhouse_modern.py

echo "== tests"
cargo nextest run --workspace --locked --no-fail-fast
