#!/usr/bin/env bash
# 2,000 concurrent sign-ups on PostgreSQL: the end-to-end bench (`cargo bench --bench
# mobilisations`: every volunteer POSTs its sign-up at once through the release server), beside
# pgbench running the statements one sign-up runs (bench/sql/signup.sql) at the server's pool
# size, the ceiling the database alone sets; then the ratio. The end-to-end bench also runs on
# SQLite (BACKENDS).
#
#   bench/signups.sh                      # needs pgbench and psql, a PostgreSQL on 127.0.0.1:5432
#   PG=postgres://postgres@127.0.0.1:5432 CONNS=16 N=2000 BACKENDS="postgres sqlite" bench/signups.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
# The server's default pool (HUYING_DB_MAX_CONNECTIONS).
CONNS=${CONNS:-16}
N=${N:-2000}
BACKENDS=${BACKENDS:-postgres sqlite}
DB="huying_signups_$$"
OUT=$(mktemp)
trap 'rm -f "$OUT"; psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true' EXIT
for tool in pgbench psql; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: apt-get install postgresql-client)"; exit 2; }
done

echo "# end to end, through the server"
BENCH_PG_URL=$PG BENCH_PARTS=signups BENCH_SIGNUPS=$N BENCH_BACKENDS="$BACKENDS" \
  cargo bench --quiet --bench mobilisations | tee "$OUT"

echo "# pgbench: one sign-up's SQL, $CONNS connections, $N sign-ups"
psql -qX "$PG/postgres" -c "create database $DB" >/dev/null
HUYING_DATABASE_URL="$PG/$DB" target/release/huying migrate >/dev/null
# The same call-out as the bench's: $N volunteers (accounts bv1..bvN), 20 slots of N/40 places.
psql -qX "$PG/$DB" >/dev/null <<SQL
insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at)
  values ('00000000-0000-0000-0000-00000000c001', 'bench', '压测社区', 'Asia/Shanghai', '{}', true, 1, now(), now());
insert into users (id, username, display_name, password_hash, active, version, created_at, updated_at)
  select gen_random_uuid(), 'bv' || i, '志愿者', '!', true, 1, now(), now() from generate_series(1, $N) i;
insert into role_grants (id, user_id, role, community_id, granted_by, created_at)
  select gen_random_uuid(), id, 'volunteer', '00000000-0000-0000-0000-00000000c001', null, now() from users;
insert into volunteers (id, community_id, user_id, name, max_concurrent, skills, availability, party_member, status, version, created_at, updated_at)
  select gen_random_uuid(), '00000000-0000-0000-0000-00000000c001', id, username, 3, '', '[]', false, 'active', 1, now(), now() from users;
insert into mobilisations (id, community_id, title, kind, radius_m, starts_at, ends_at, attendance_mode, audience, status, created_by, version, created_at, updated_at)
  select '00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000c001', '防汛巡查', 'emergency', 200,
    now() + interval '1 day', now() + interval '1 day 2 hours', 'none', '{}', 'published', min(id::text)::uuid, 2, now(), now() from users;
insert into mobilisation_slots (id, mobilisation_id, ord, title, skill, capacity, confirmed, next_queue_no)
  select gen_random_uuid(), '00000000-0000-0000-0000-00000000a001', k, '第' || (k + 1) || '组', null, greatest($N / 40, 1), 0, 1 from generate_series(0, 19) k;
create sequence bench_signup_n;
vacuum analyze;
SQL
PER=$(( N / CONNS ))
pgbench -n -c "$CONNS" -j 2 -t "$PER" -M prepared -D community=00000000-0000-0000-0000-00000000c001 \
  -D mobilisation=00000000-0000-0000-0000-00000000a001 -f bench/sql/signup.sql "$PG/$DB" 2>&1 \
  | tee -a "$OUT" | grep -E '^tps|^latency average|^number of failed|^number of transactions actually' | sed 's/^/   /'
psql -qtAX "$PG/$DB" -c "select '   pgbench left: ' || count(*) filter (where status = 'confirmed') || ' confirmed, ' || count(*) filter (where status = 'waiting') || ' waiting' from mobilisation_signups"

HTTP=$(grep -E '^\| PostgreSQL \|' "$OUT" | awk -F'|' '{gsub(/ /, "", $9); print $9}')
TPS=$(grep -E '^tps' "$OUT" | head -1 | awk '{print $3}')
if [ -n "$HTTP" ] && [ -n "$TPS" ]; then
  awk -v h="$HTTP" -v t="$TPS" 'BEGIN { printf "# ratio on PostgreSQL: %.0f sign-ups/s through the server / %.0f tps of pgbench = %.0f %% (goal: at least 60 %%)\n", h, t, 100 * h / t }'
fi
