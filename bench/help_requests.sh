#!/usr/bin/env bash
# HTTP load for help requests, with a pgbench baseline of the same SQL, on PostgreSQL and SQLite.
#
#   bench/help_requests.sh            # needs wrk, pgbench, psql, curl, a PostgreSQL on 127.0.0.1:5432
#   PG=postgres://postgres@127.0.0.1:5432 CONNS=32 DURATION=10 bench/help_requests.sh
#
# For each backend it builds the release binary, starts the API on a fresh database, creates a
# load community through the API (64 volunteers and 32 residents spread over ~2 km, one service
# type), then measures with wrk at $CONNS connections:
#   POST /api/v1/help-requests  (auth, validation, insert, timeline, outbox, first offer)
#   GET  /api/v1/help-requests/{id}
# with the relay's lag during the POST load (event created → handed over, from the outbox),
# and, on PostgreSQL, runs pgbench at the same concurrency with the statements those two
# endpoints execute (bench/sql/*.sql, the same SQL text as the storage layer) as the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
PASSWORD=load-test-password-1
DB="huying_load_$$"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"; psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true' EXIT
SERVER=
for tool in wrk pgbench psql curl; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: apt-get install wrk postgresql-client)"; exit 2; }
done

cargo build --release --quiet
BIN=target/release/huying

json_field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }
first_id() { sed -E 's/^\{"id":"([^"]+)".*/\1/'; }
api() { # method path token [body]
  local out code
  out=$(curl -s -w '\n%{http_code}' -X "$1" "$BASE$2" -H "authorization: Bearer $3" \
    -H 'content-type: application/json' ${4:+-d "$4"})
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then echo "$1 $2 -> $code ${out%$'\n'*}" >&2; exit 1; fi
  printf '%s' "${out%$'\n'*}"
}
login() {
  curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$PASSWORD\"}" | json_field access_token
}

start_server() { # database url
  HUYING_DATABASE_URL=$1 HUYING_PORT=$PORT HUYING_DATA_DIR=$WORK HUYING_ADMIN_PASSWORD=$PASSWORD \
    HUYING_LOG_FORMAT=text RUST_LOG=warn HUYING_DB_MAX_CONNECTIONS=${DB_CONNS:-32} \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}

setup() {
  ADMIN=$(login admin)
  C=$(api POST /api/v1/communities "$ADMIN" '{"code":"loadtest","name":"压测社区"}' | first_id)
  ST=$(api POST "/api/v1/communities/$C/service-types" "$ADMIN" \
    '{"code":"errands","name":"代购","required_skills":["errands"]}' | first_id)
  for i in $(seq 0 63); do
    U=$(api POST /api/v1/users "$ADMIN" "{\"username\":\"lv$i\",\"display_name\":\"志愿者$i\",\"password\":\"$PASSWORD\",\"roles\":[{\"role\":\"volunteer\",\"community_id\":\"$C\"}]}" | first_id)
    LAT=$(awk -v i="$i" 'BEGIN{printf "%.5f", 36.0 + (i % 8) * 0.0025}')
    LNG=$(awk -v i="$i" 'BEGIN{printf "%.5f", 113.0 + int(i / 8) * 0.0025}')
    api POST "/api/v1/communities/$C/volunteers" "$ADMIN" "{\"user_id\":\"$U\",\"name\":\"志愿者$i\",\"skills\":[\"errands\"],\"availability\":[],\"max_concurrent\":5,\"location\":{\"lat\":$LAT,\"lng\":$LNG}}" >/dev/null
  done
  RESIDENTS=()
  for i in $(seq 0 31); do
    LAT=$(awk -v i="$i" 'BEGIN{printf "%.5f", 36.001 + (i % 8) * 0.0025}')
    LNG=$(awk -v i="$i" 'BEGIN{printf "%.5f", 113.001 + int(i / 8) * 0.005}')
    RESIDENTS+=("$(api POST "/api/v1/communities/$C/residents" "$ADMIN" "{\"name\":\"居民$i\",\"address\":\"压测小区$i号\",\"location\":{\"lat\":$LAT,\"lng\":$LNG}}" | first_id)")
  done
  api POST /api/v1/users "$ADMIN" "{\"username\":\"load-dispatcher\",\"display_name\":\"调度员\",\"password\":\"$PASSWORD\",\"roles\":[{\"role\":\"dispatcher\",\"community_id\":\"$C\"}]}" >/dev/null
  TOKEN=$(login load-dispatcher)
  DISPATCHER=$(api GET /api/v1/me "$TOKEN" | first_id)
  ONE=$(api POST /api/v1/help-requests "$TOKEN" "{\"resident_id\":\"${RESIDENTS[0]}\",\"service_type_id\":\"$ST\",\"description\":\"压测\"}" | first_id)
  printf '%s\n' "${RESIDENTS[@]}" >"$WORK/residents"
}

write_lua() {
  cat >"$WORK/post.lua" <<EOF
local residents = {}
for line in io.lines("$WORK/residents") do residents[#residents + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
request = function()
  local r = residents[math.random(#residents)]
  return wrk.format(nil, nil, nil, '{"resident_id":"' .. r .. '","service_type_id":"$ST","description":"压测：帮忙买菜"}')
end
EOF
}

wrk_run() { # label url [lua]
  echo "== $1"
  wrk -t2 -c "$CONNS" -d "${DURATION}s" --latency -H "authorization: Bearer $TOKEN" ${3:+-s "$3"} "$2" \
    | grep -E 'Requests/sec|Latency  |99%|50%|Non-2xx' | sed 's/^/   /'
}

# Relay lag under the POST load just measured: for every event created since $1 (UTC), the time
# from its creation in the POST's transaction to the start of the relay's hand-over that
# delivered it (inbox rows, webhook and WeChat queues, the stream's signal), once all are handed
# over. $2: "pg" or "sqlite", $3 the database.
relay_lag() {
  local since=$1 kind=$2 db=$3 pending sql
  for _ in $(seq 1 600); do
    if [ "$kind" = pg ]; then
      pending=$(psql -qtAX "$db" -c "select count(*) from outbox where delivered_at is null")
    else
      pending=$(sqlite3 "$db" "select count(*) from outbox where delivered_at is null")
    fi
    [ "$pending" = 0 ] && break
    sleep 0.1
  done
  echo "== relay lag under that load (event created → handed over), pending at the end: $pending"
  if [ "$kind" = pg ]; then
    psql -qtAX -F ' ' "$db" -c "with l as (select extract(epoch from delivered_at - created_at) * 1000 as ms from outbox where created_at >= '$since')
      select 'events ' || count(*), 'p50 ' || round(percentile_cont(0.5) within group (order by ms)::numeric) || ' ms',
             'p99 ' || round(percentile_cont(0.99) within group (order by ms)::numeric) || ' ms', 'max ' || round(max(ms)::numeric) || ' ms' from l" | sed 's/^/   /'
  else
    # The stored times are RFC 3339 text; SQLite's julianday reads them, to the millisecond.
    sqlite3 "$db" "with l as (select (julianday(delivered_at) - julianday(created_at)) * 86400000.0 as ms from outbox where julianday(created_at) >= julianday('$since')),
      o as (select ms, row_number() over (order by ms) as r, count(*) over () as n from l)
      select 'events ' || max(n), 'p50 ' || cast(max(case when r = cast((n - 1) * 0.5 as int) + 1 then ms end) as int) || ' ms',
             'p99 ' || cast(max(case when r = cast((n - 1) * 0.99 as int) + 1 then ms end) as int) || ' ms', 'max ' || cast(max(ms) as int) || ' ms' from o" | tr '|' ' ' | sed 's/^/   /'
  fi
}

pgbench_run() { # label db script...
  local label=$1 db=$2; shift 2
  local args=()
  for f in "$@"; do args+=(-f "$f"); done
  echo "== pgbench: $label"
  pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -M prepared "${args[@]}" "$db" 2>&1 \
    | grep -E '^tps|^latency average|^latency stddev' | sed 's/^/   /'
}

pg_baseline() { # database url
  local db=$1 i=0
  mkdir -p "$WORK/sql"
  while read -r R; do
    # The volunteer this resident's request is offered to (nearest), as the server chose it.
    local V
    V=$(psql -qtAX "$db" -c "select o.volunteer_id from dispatch_offers o join help_requests h on h.id = o.request_id where h.resident_id = '$R' limit 1")
    if [ -z "$V" ]; then
      V=$(psql -qtAX "$db" -c "select id from volunteers order by id limit 1")
    fi
    # The resident's map cell, as the server computes it (floor(degrees × 500)).
    local CY CX
    CY=$(awk -v i="$i" 'BEGIN{printf "%d", int((36.001 + (i % 8) * 0.0025) * 500)}')
    CX=$(awk -v i="$i" 'BEGIN{printf "%d", int((113.001 + int(i / 8) * 0.005) * 500)}')
    sed -e "s/:resident/'$R'/g; s/:volunteer/'$V'/g; s/:community/'$C'/g; s/:service_type/'$ST'/g; s/:user/'$DISPATCHER'/g; s/:cy/$CY/g; s/:cx/$CX/g; s/:newrequest/'$(cat /proc/sys/kernel/random/uuid)'/g" \
      bench/sql/post_help_request.sql >"$WORK/sql/post_$i.sql"
    i=$((i + 1))
  done <"$WORK/residents"
  sed -e "s/:request/'$ONE'/g; s/:resident/'$(head -1 "$WORK/residents")'/g; s/:user/'$DISPATCHER'/g" \
    bench/sql/get_help_request.sql >"$WORK/sql/get.sql"
  pgbench_run "the SQL of POST /help-requests" "$db" "$WORK"/sql/post_*.sql
  pgbench_run "the SQL of GET /help-requests/{id}" "$db" "$WORK/sql/get.sql"
}

BACKENDS=${BACKENDS:-postgres sqlite}
if [[ $BACKENDS == *postgres* ]]; then
echo "# PostgreSQL"
psql -qX "$PG/postgres" -c "create database $DB" >/dev/null
PGURL="$PG/$DB"
start_server "$PGURL"
setup
# Warm-up: one request per resident, so each has its nearest volunteer on record.
while read -r R; do
  api POST /api/v1/help-requests "$TOKEN" "{\"resident_id\":\"$R\",\"service_type_id\":\"$ST\",\"description\":\"预热\"}" >/dev/null
done <"$WORK/residents"
write_lua
SINCE=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
wrk_run "POST /api/v1/help-requests" "$BASE/api/v1/help-requests" "$WORK/post.lua"
relay_lag "$SINCE" pg "$PGURL"
wrk_run "GET /api/v1/help-requests/{id}" "$BASE/api/v1/help-requests/$ONE"
pg_baseline "$PGURL"
kill $SERVER; wait $SERVER 2>/dev/null || true
psql -qX "$PG/postgres" -c "drop database $DB with (force)" >/dev/null
fi

if [[ $BACKENDS == *sqlite* ]]; then
echo "# SQLite"
start_server "sqlite://$WORK/load.db"
setup
write_lua
SINCE=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
wrk_run "POST /api/v1/help-requests" "$BASE/api/v1/help-requests" "$WORK/post.lua"
relay_lag "$SINCE" sqlite "$WORK/load.db"
wrk_run "GET /api/v1/help-requests/{id}" "$BASE/api/v1/help-requests/$ONE"
fi
