#!/usr/bin/env bash
# Issue 14: 10,000 generated residents imported from one XLSX through the API, on SQLite and
# on PostgreSQL: the dry run, the real run, and the same sheet again (everything unchanged).
# The test server is the debug build the API tests use (a release build is not needed to see
# the shape; label figures accordingly).
#   PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_IMPORT_ROWS=10000 bench/imports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
echo "| backend | rows | file | dry run (s) | import (s) | again (s) |"
echo "|---|---|---|---|---|---|"
run() { cargo test -q --test api imports::bench -- --ignored --nocapture 2>/dev/null | sed -n 's/^BENCH //p'; }
run
TEST_DATABASE_URL=$PG_URL run
