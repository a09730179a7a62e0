#!/usr/bin/env bash
# Memory and throughput of password checks: a burst of logins on the release server, with its
# resident memory sampled during and after.
#
#   bench/login_burst.sh                    # needs wrk, curl, psql; PostgreSQL on 127.0.0.1:5432
#   BACKENDS=sqlite CONNS=32 DURATION=15 bench/login_burst.sh
#   BIN=/path/to/huying bench/login_burst.sh    # an already built binary (e.g. an older one)
#
# For each backend: a fresh database seeded with `huying seed-demo`, the server started on
# 127.0.0.1:$PORT, then
#   1. RSS at start;
#   2. ten logins in a row (curl), RSS after;
#   3. wrk: $CONNS connections logging in as `dispatcher` for $DURATION s, RSS sampled every
#      0.2 s (peak = the highest sample and the kernel's VmHWM), and the server's CPU time per
#      login (user + system; on a shared machine logins/s depends on the other load, this less);
#   4. RSS $REST s after the burst ("at rest");
#   5. ten more logins in a row, and RSS $REST s after them: memory freed at rest must not come
#      back to stay (glibc raises its mmap threshold on the first large free).
# Extra server settings pass through the environment (HUYING_PASSWORD_HASH_CONCURRENCY, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BACKENDS:-sqlite postgres}
CONNS=${CONNS:-32}
DURATION=${DURATION:-15}
REST=${REST:-5}
PORT=${PORT:-18081}
BASE="http://127.0.0.1:$PORT"
PASSWORD=huying-demo-2026
WORK=$(mktemp -d)
DB="huying_login_$$"
SERVER=
SAMPLER=
cleanup() {
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null || true
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
  psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for tool in wrk curl psql; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: apt-get install wrk curl postgresql-client)"; exit 2; }
done
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/huying
fi

cat >"$WORK/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"login":"dispatcher","password":"$PASSWORD"}'
EOF

ten_logins() {
  for _ in $(seq 1 10); do
    curl -sf -o /dev/null -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"login\":\"dispatcher\",\"password\":\"$PASSWORD\"}" || { echo "login failed"; exit 1; }
  done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }

mb() { awk -v k="$1" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$SERVER/status"; }

run_backend() { # name database-url
  local name=$1 url=$2
  export HUYING_DATABASE_URL=$url HUYING_DATA_DIR=$WORK/data HUYING_PORT=$PORT \
    HUYING_ADMIN_PASSWORD=$PASSWORD HUYING_LOG_FORMAT=text RUST_LOG=warn
  "$BIN" seed-demo >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }
  "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$BASE/readyz" >/dev/null || { echo "server did not start"; cat "$WORK/server.log"; exit 1; }
  sleep 1
  local start; start=$(mb VmRSS)

  local t0 t1 ten
  t0=$(date +%s.%N)
  ten_logins
  t1=$(date +%s.%N)
  ten=$(mb VmRSS)

  ( peak=0
    while kill -0 "$SERVER" 2>/dev/null; do
      kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER/status" 2>/dev/null || echo 0)
      (( kb > peak )) && peak=$kb && echo "$peak" >"$WORK/peak"
      sleep 0.2
    done ) &
  SAMPLER=$!
  local cpu0; cpu0=$(cpu_ticks)
  wrk -t2 -c "$CONNS" -d "${DURATION}s" --timeout 30s --latency -s "$WORK/login.lua" \
    "$BASE/api/v1/auth/login" >"$WORK/wrk.txt"
  local after_burst cpu1; after_burst=$(mb VmRSS); cpu1=$(cpu_ticks)
  sleep "$REST"
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=
  local rest rest2 hwm sampled rps non2xx p50 p99
  rest=$(mb VmRSS)
  ten_logins
  sleep "$REST"
  rest2=$(mb VmRSS)
  hwm=$(mb VmHWM)
  sampled=$(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/peak")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$WORK/wrk.txt")
  # Successful logins only: past the wait, refusals (503) are quick and would inflate the rate.
  rps=$(awk -v bad="${non2xx:-0}" '/requests in/ {
      d = $4; sub(/,$/, "", d); k = 1
      if (d ~ /m$/) { k = 60; sub(/m$/, "", d) } else { sub(/s$/, "", d) }
      printf "%.1f", ($1 - bad) / (d * k) }' "$WORK/wrk.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt")
  local done_n cpu_ms
  done_n=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
  cpu_ms=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$done_n" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", (b - a) * 1000 / hz / n }')
  echo "== $name"
  grep -E 'requests in|Socket errors|Non-2xx' "$WORK/wrk.txt" | sed 's/^ */   /'
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "   ten logins in a row: %.2f s\n", b - a }'
  printf '   RSS MB: start %s | after 10 logins %s | burst peak %s (VmHWM %s) | end of burst %s | %ss later %s | 10 more logins, %ss later %s\n' \
    "$start" "$ten" "$sampled" "$hwm" "$after_burst" "$REST" "$rest" "$REST" "$rest2"
  printf '   successful logins/s %s (non-2xx: %s) p50 %s p99 %s, server CPU %s ms per request\n' \
    "$rps" "${non2xx:-0}" "$p50" "$p99" "$cpu_ms"
  echo "| $name | $start | $ten | $sampled | $hwm | $rest | $rest2 | $rps | $cpu_ms | ${non2xx:-0} | $p50 | $p99 |" >>"$WORK/table"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
}

for b in $BACKENDS; do
  case $b in
    sqlite) rm -rf "$WORK/data"; run_backend sqlite "sqlite://$WORK/data/huying.db" ;;
    postgres)
      psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" -c "create database $DB" >/dev/null 2>&1
      run_backend postgres "$PG/$DB" ;;
    *) echo "unknown backend $b"; exit 2 ;;
  esac
done
echo
echo "| backend | RSS at start | after 10 logins | burst peak (sampled) | VmHWM | at rest (+${REST} s) | 10 more logins, at rest | logins/s (2xx) | CPU ms/request | non-2xx | p50 | p99 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$WORK/table"
