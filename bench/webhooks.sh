#!/usr/bin/env bash
# Webhook throughput on PostgreSQL: the end-to-end bench (`cargo bench --bench webhooks`: signed
# deliveries to local receivers through the release server), beside pgbench running the
# relay's and the worker's own statements for one delivery (bench/sql/webhook_delivery.sql) at
# the worker's concurrency, the ceiling the database alone sets.
#
#   bench/webhooks.sh                       # needs pgbench and psql, a PostgreSQL on 127.0.0.1:5432
#   PG=postgres://postgres@127.0.0.1:5432 CONNS=16 DURATION=10 BENCH_EVENTS=5000 bench/webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
CONNS=${CONNS:-16}
DURATION=${DURATION:-10}
DB="huying_webhooks_$$"
trap 'psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true' EXIT
for tool in pgbench psql; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: apt-get install postgresql-client)"; exit 2; }
done

echo "# end to end, through the server"
BENCH_PG_URL=$PG cargo bench --quiet --bench webhooks

echo "# pgbench: one delivery's SQL, $CONNS connections (one endpoint's share of the worker's slots), ${DURATION}s"
# The server binary the bench just built (with the bench's features; a plain release build of
# it would compile everything again).
psql -qX "$PG/postgres" -c "create database $DB" >/dev/null
HUYING_DATABASE_URL="$PG/$DB" target/release/huying migrate >/dev/null
C=$(psql -qtAX "$PG/$DB" -c "insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at)
  values (gen_random_uuid(), 'bench', '压测社区', 'Asia/Shanghai', '{}', true, 1, now(), now()) returning id" | head -1)
W=$(psql -qtAX "$PG/$DB" -c "insert into webhooks (id, community_id, url, event_kinds, secret, active, description, version, created_at, updated_at)
  values (gen_random_uuid(), '$C', 'http://127.0.0.1:9/hook', '[\"help_request.*\"]', 'x', true, null, 1, now(), now()) returning id" | head -1)
pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -M prepared -D community="$C" -D webhook="$W" \
  -f bench/sql/webhook_delivery.sql "$PG/$DB" 2>&1 | grep -E '^tps|^latency average|^number of failed' | sed 's/^/   /'
