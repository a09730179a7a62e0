#!/usr/bin/env bash
# HTTP load on a running server (default http://127.0.0.1:8080) seeded with `huying seed-demo`.
# Uses oha if installed, else wrk (apt-get install wrk). Bounded: 10 s per endpoint, loopback only.
#   BASE=http://127.0.0.1:8080 ADMIN_PASSWORD=... bench/load.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10}
case "$BASE" in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "only loopback targets"; exit 2;; esac
login() { curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"login\":\"$1\",\"password\":\"$2\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'; }
TOKEN=$(login "${LOGIN:-dispatcher}" "${PASSWORD:-huying-demo-2026}")
COMMUNITY=$(curl -sf "$BASE/api/v1/me" -H "authorization: Bearer $TOKEN" | sed -E 's/.*"community_id":"([^"]+)".*/\1/')
RESIDENT=$(curl -sf "$BASE/api/v1/communities/$COMMUNITY/residents?limit=1" -H "authorization: Bearer $TOKEN" | sed -E 's/.*"id":"([^"]+)".*/\1/' )
run() {
  echo "== $1"
  if command -v oha >/dev/null; then oha -z "${DURATION}s" -c "$CONNS" --no-tui -H "authorization: Bearer $TOKEN" "$2"
  else wrk -t2 -c "$CONNS" -d "${DURATION}s" --latency -H "authorization: Bearer $TOKEN" "$2"; fi
}
run "GET /healthz" "$BASE/healthz"
run "GET /api/v1/me" "$BASE/api/v1/me"
run "GET one resident" "$BASE/api/v1/residents/$RESIDENT"
run "GET residents page of 50" "$BASE/api/v1/communities/$COMMUNITY/residents?limit=50"
