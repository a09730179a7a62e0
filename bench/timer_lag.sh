#!/usr/bin/env bash
# Offer-expiry lag under a burst, with several instances on one PostgreSQL database.
#
#   bench/timer_lag.sh                       # needs curl (7.66+), psql, a PostgreSQL on 127.0.0.1:5432
#   BIN=/path/to/huying REQUESTS=12000 INSTANCES=3 bench/timer_lag.sh
#   HUYING_TIMER_CONCURRENCY=12 HUYING_DB_MAX_CONNECTIONS=32 bench/timer_lag.sh   # settings pass through
#
# Starts $INSTANCES release-build instances (each with its sweeper, default settings) on one fresh
# PostgreSQL database, creates through the API a community (offers expire after 1 minute, default
# 3 attempts) with $VOLUNTEERS volunteers and $RESIDENTS residents spread over ~2 km, then places
# $REQUESTS help requests as fast as the instances take them ($CONNS connections, spread over the
# instances). Nobody answers: a minute after the burst its offers expire in a burst of the same
# shape, the next rounds are offered and expire in turn, and every request ends escalated.
#
# Lag is computed by SQL from the stored rows: for every `offer_expired` event, the time it was
# written (the millisecond timestamp in its UUIDv7 id, made just before the insert) minus the
# offer's `expires_at`. The event's `at` is reported too (it is the step's clock, which the old
# sweeper took once per tick, so it can understate the lag).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REQUESTS=${REQUESTS:-12000}
INSTANCES=${INSTANCES:-3}
VOLUNTEERS=${VOLUNTEERS:-240}
RESIDENTS=${RESIDENTS:-240}
CONNS=${CONNS:-48}
ATTEMPTS=${ATTEMPTS:-3}
PORT0=${PORT:-18180}
WAIT_SECS=${WAIT_SECS:-900}
WORK=$(mktemp -d)
PASSWORD=load-test-password-1
DB="huying_timers_$$"
DATA_KEY=$(head -c 32 /dev/urandom | base64)
SERVERS=()
cleanup() {
  for s in "${SERVERS[@]}"; do kill "$s" 2>/dev/null || true; done
  for s in "${SERVERS[@]}"; do wait "$s" 2>/dev/null || true; done
  rm -rf "$WORK"
  psql -qX "$PG/postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for tool in psql curl; do
  command -v $tool >/dev/null || { echo "needs $tool"; exit 2; }
done

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/huying
fi
BASE="http://127.0.0.1:$PORT0"

json_field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }
first_id() { sed -E 's/^\{"id":"([^"]+)".*/\1/'; }
api() { # method path token [body] [if-match]
  local out code
  out=$(curl -s -w '\n%{http_code}' -X "$1" "$BASE$2" -H "authorization: Bearer $3" \
    -H "content-type: ${CT:-application/json}" ${5:+-H "if-match: $5"} ${4:+-d "$4"})
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then echo "$1 $2 -> $code ${out%$'\n'*}" >&2; exit 1; fi
  printf '%s' "${out%$'\n'*}"
}
login() {
  curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$PASSWORD\"}" | json_field access_token
}
q() { psql -qtAX "$PG/$DB" -c "$1"; }

psql -qX "$PG/postgres" -c "create database $DB" >/dev/null
for i in $(seq 0 $((INSTANCES - 1))); do
  mkdir -p "$WORK/data$i"
  HUYING_DATABASE_URL="$PG/$DB" HUYING_PORT=$((PORT0 + i)) HUYING_DATA_DIR="$WORK/data$i" \
    HUYING_DATA_KEY="$DATA_KEY" HUYING_ADMIN_PASSWORD=$PASSWORD HUYING_LOG_FORMAT=text RUST_LOG=warn \
    "$BIN" serve >"$WORK/server$i.log" 2>&1 &
  SERVERS+=($!)
done
for i in $(seq 0 $((INSTANCES - 1))); do
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$((PORT0 + i))/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$((PORT0 + i))/readyz" >/dev/null || { echo "instance $i did not start"; cat "$WORK/server$i.log"; exit 1; }
done
echo "# $INSTANCES instances of $BIN on $PG/$DB"

ADMIN=$(login admin)
C=$(api POST /api/v1/communities "$ADMIN" '{"code":"timerlag","name":"超时压测社区"}' | first_id)
CT=application/merge-patch+json api PATCH "/api/v1/communities/$C" "$ADMIN" \
  "{\"policy\":{\"dispatch\":{\"max_attempts\":$ATTEMPTS,\"offer_ttl_minutes\":{\"emergency\":1,\"urgent\":1,\"normal\":1}}}}" '"1"' >/dev/null
ST=$(api POST "/api/v1/communities/$C/service-types" "$ADMIN" \
  '{"code":"errands","name":"代购","required_skills":["errands"]}' | first_id)
echo "setting up $VOLUNTEERS volunteers and $RESIDENTS residents"
for i in $(seq 0 $((VOLUNTEERS - 1))); do
  U=$(api POST /api/v1/users "$ADMIN" "{\"username\":\"tv$i\",\"display_name\":\"志愿者$i\",\"password\":\"$PASSWORD\",\"roles\":[{\"role\":\"volunteer\",\"community_id\":\"$C\"}]}" | first_id)
  LAT=$(awk -v i="$i" 'BEGIN{printf "%.5f", 36.0 + (i % 16) * 0.0012}')
  LNG=$(awk -v i="$i" 'BEGIN{printf "%.5f", 113.0 + int(i / 16) * 0.0012}')
  api POST "/api/v1/communities/$C/volunteers" "$ADMIN" "{\"user_id\":\"$U\",\"name\":\"志愿者$i\",\"skills\":[\"errands\"],\"availability\":[],\"max_concurrent\":5,\"location\":{\"lat\":$LAT,\"lng\":$LNG}}" >/dev/null
done
: >"$WORK/residents"
for i in $(seq 0 $((RESIDENTS - 1))); do
  LAT=$(awk -v i="$i" 'BEGIN{printf "%.5f", 36.0006 + (i % 16) * 0.0012}')
  LNG=$(awk -v i="$i" 'BEGIN{printf "%.5f", 113.0006 + int(i / 16) * 0.0012}')
  api POST "/api/v1/communities/$C/residents" "$ADMIN" "{\"name\":\"居民$i\",\"address\":\"压测小区$i号\",\"location\":{\"lat\":$LAT,\"lng\":$LNG}}" | first_id >>"$WORK/residents"
  echo >>"$WORK/residents"
done
api POST /api/v1/users "$ADMIN" "{\"username\":\"timer-dispatcher\",\"display_name\":\"调度员\",\"password\":\"$PASSWORD\",\"roles\":[{\"role\":\"dispatcher\",\"community_id\":\"$C\"}]}" >/dev/null
TOKEN=$(login timer-dispatcher)

# One curl config entry per request, round robin over the instances and the residents.
mapfile -t RES < <(grep . "$WORK/residents")
{
  for i in $(seq 0 $((REQUESTS - 1))); do
    printf 'url = "http://127.0.0.1:%d/api/v1/help-requests"\n' $((PORT0 + i % INSTANCES))
    printf 'request = "POST"\nheader = "content-type: application/json"\nheader = "authorization: Bearer %s"\n' "$TOKEN"
    printf 'data = "{\\"resident_id\\":\\"%s\\",\\"service_type_id\\":\\"%s\\",\\"description\\":\\"压测：帮忙买菜\\"}"\n' \
      "${RES[$((i % ${#RES[@]}))]}" "$ST"
    printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{errormsg}\\n"\n'
    # Between entries only: an empty last entry would abort the transfers under way.
    if [ "$i" -lt $((REQUESTS - 1)) ]; then echo next; fi
  done
} >"$WORK/burst.curl"

echo "burst: $REQUESTS POST /api/v1/help-requests over $CONNS connections"
T0=$(date +%s.%N)
curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$CONNS" -K "$WORK/burst.curl" >"$WORK/codes" 2>"$WORK/curl.err" || true
T1=$(date +%s.%N)
awk -v a="$T0" -v b="$T1" -v n="$REQUESTS" 'BEGIN{printf "   placed in %.1f s (%.0f/s)\n", b - a, n / (b - a)}'
cut -c1-60 "$WORK/codes" | sort | uniq -c | sed "s/^/   status /"
PLACED=$(q "select count(*) from help_requests")

echo "waiting until every request has run out of attempts (escalated)"
DEADLINE=$(( $(date +%s) + WAIT_SECS ))
while :; do
  ESC=$(q "select count(*) from help_requests where status = 'escalated'")
  [ "$ESC" -ge "$PLACED" ] && break
  if [ "$(date +%s)" -ge "$DEADLINE" ]; then echo "   gave up: $ESC of $PLACED escalated"; break; fi
  sleep 2
done
T2=$(date +%s.%N)
awk -v a="$T1" -v b="$T2" 'BEGIN{printf "   all escalated %.0f s after the burst\n", b - a}'

echo "== offer-expiry lag, seconds (written: UUIDv7 time of the offer_expired event; at: its at)"
q "with e as (
     select o.attempt,
            extract(epoch from to_timestamp(('x' || substr(replace(ev.id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
              - o.expires_at) as written,
            extract(epoch from ev.at - o.expires_at) as at
     from request_events ev
     join dispatch_offers o on o.id = (ev.data->>'offer_id')::uuid
     where ev.kind = 'offer_expired')
   select coalesce(attempt::text, 'all') as attempt, count(*) as n,
          round(percentile_cont(0.5) within group (order by written)::numeric, 3) as p50,
          round(percentile_cont(0.99) within group (order by written)::numeric, 3) as p99,
          round(max(written)::numeric, 3) as max,
          round(percentile_cont(0.99) within group (order by at)::numeric, 3) as at_p99,
          round(max(at)::numeric, 3) as at_max
   from e group by rollup (attempt) order by attempt nulls last" \
  | awk -F'|' 'BEGIN{printf "   %-8s %7s %8s %8s %8s %8s %8s\n", "attempt", "n", "p50", "p99", "max", "at p99", "at max"}
               {printf "   %-8s %7s %8s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7}'
echo "== checks"
echo "   offers: $(q "select count(*) from dispatch_offers"), expired: $(q "select count(*) from dispatch_offers where answer = 'expired'"), still open: $(q "select count(*) from dispatch_offers where answer is null")"
echo "   offer_expired events naming an offer twice: $(q "select count(*) - count(distinct data->>'offer_id') from request_events where kind = 'offer_expired'")"
echo "   requests past their attempts: $(q "select count(*) from help_requests where attempts > $ATTEMPTS")"
echo "   requests escalated more than once: $(q "select count(*) from (select request_id from request_events where kind = 'escalated' group by request_id having count(*) > 1) x")"
for i in $(seq 0 $((INSTANCES - 1))); do
  steps=$(curl -s "http://127.0.0.1:$((PORT0 + i))/metrics" | { grep '^huying_timer_steps_total{kind="offer_expiry"}' || true; } | awk '{print $2}')
  echo "   instance $i: offer_expiry steps ${steps:-(not reported)}, warnings in log: $(grep -c WARN "$WORK/server$i.log" || true)"
done
