#!/usr/bin/env bash
# Issue 14: 10,000 generated residents, then 10,000 generated volunteers (every one a new
# account), imported from one XLSX each through the API, on SQLite and on PostgreSQL: the dry
# run, the real run, and the same sheet again (everything unchanged).
# The test server runs in the test binary: the debug build by default, the release build with
# BENCH_PROFILE=release (each line says which).
#   PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_IMPORT_ROWS=10000 bench/imports.sh
#   BENCH_PROFILE=release bench/imports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PROFILE=()
[ "${BENCH_PROFILE:-debug}" = release ] && PROFILE=(--release)
echo "| sheet | backend | rows | file | dry run (s) | import (s) | again (s) |"
echo "|---|---|---|---|---|---|---|"
run() {
    for bench in imports::bench_ten_thousand_rows volunteer_imports::bench_ten_thousand_volunteers; do
        cargo test -q "${PROFILE[@]}" --test api "$bench" -- --exact --ignored --nocapture 2>&1 | sed -n 's/^BENCH //p'
    done
}
run
TEST_DATABASE_URL=$PG_URL run
