#!/usr/bin/env bash
# title: /metrics follows a known run (Prometheus text format)
# A known run of requests moves the counters by exactly what it sent:
# N reads -> +N on their route/status/outcome series, a refused token ->
# a 401 series, a quota refusal -> its limit's series. The page parses with
# the Prometheus project's own parser and passes a lint of its naming
# conventions (tests/e2e/prom.py). Served on metrics_listen to anyone, on
# the main port to admin tokens only; `--metrics off` counts nothing.
# Usage: TG_BIN=path/to/tollgate test_metrics.sh
. "$(dirname "$0")/lib.sh"
PROM=$(dirname "$0")/prom.py
# Debian's python3, whose dist-packages hold python3-prometheus-client
# (a python3 earlier on PATH may not see them).
PY=/usr/bin/python3

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
export TOLLGATE_ADMIN_JWT_SECRET=e2e-admin-secret-e2e-admin-secret-0123
provision A --db-index 1 || exit 1
ADMIN=$(tg admin-token create --ttl 1h)
check plan-created tg plan create --plan tiny --name Tiny --request-bytes 300
check plan-assigned tg plan assign --tenant "$A_TENANT" --plan tiny
MP=$(free_port)
start_tollgate P --metrics-listen "127.0.0.1:$MP" --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
M=http://127.0.0.1:$MP
AUTH=(-H "Authorization: Bearer $A_TOKEN")

# scrape FILE: the operations listener's page into $TG_TMP/FILE.
scrape() { curl -sf -o "$TG_TMP/$1" "$M/metrics"; }
# val FILE SERIES: one series' value in a scrape (0 when absent).
val() { "$PY" "$PROM" get "$TG_TMP/$1" "$2"; }
# settles SERIES WANT: scrapes until SERIES reaches WANT (a request is
# counted when it completes, just after its answer is sent), at most 5 s;
# then the value must be exactly WANT.
settles() {
  local series=$1 want=$2 got i
  for i in $(seq 50); do
    scrape now || return 1
    got=$(val now "$series")
    [ "$got" -ge "$want" ] 2>/dev/null && break
    sleep 0.1
  done
  [ "$got" = "$want" ] || { echo "    $series: want $want, got $got"; return 1; }
}

REQ='tollgate_http_requests_total{route="/{rest}",status="200",outcome="ok"}'
REFUSED='tollgate_http_requests_total{route="/{rest}",status="401",outcome="auth_failure"}'
QUOTA='tollgate_quota_rejections_total{limit="request_bytes"}'
QREQ='tollgate_http_requests_total{route="/",status="413"}'
check scrape-before scrape before
check page-parses-and-lints "$PY" "$PROM" check "$TG_TMP/before"
check content-type bash -c "curl -sI '$M/metrics' | grep -qi '^content-type: text/plain; version=0.0.4'"
check help-and-type-lines grep -q '^# TYPE tollgate_http_request_duration_seconds histogram' "$TG_TMP/before"
R0=$(val before "$REQ") F0=$(val before "$REFUSED") Q0=$(val before "$QUOTA")
H0=$(val before tollgate_token_cache_hits_total)
B0=$(val before tollgate_backend_request_duration_seconds_count)
D0=$(val before 'tollgate_http_request_duration_seconds_count{route="/{rest}"}')
W0=$(val before tollgate_meter_events_written_total)

# ---- A known run: 7 reads, 1 refused token, 1 quota refusal ------------
N=7
for i in $(seq $N); do http GET "$U/get/k$i" "${AUTH[@]}"; done
expect read-ok 200 '{"result":null}'
http GET "$U/get/k" -H "Authorization: Bearer not-a-token"
check refused-401 test "$STATUS" = 401
http POST "$U/" "${AUTH[@]}" -d "[\"set\",\"k\",\"$(head -c 400 /dev/zero | tr '\0' x)\"]"
expect_match quota-413 413 '"limit":"request_bytes"'

check reads-counted-exactly settles "$REQ" $((R0 + N))
check refusal-counted-by-status settles "$REFUSED" $((F0 + 1))
check quota-refusal-counted-by-limit settles "$QUOTA" $((Q0 + 1))
check quota-refusal-has-413-series test "$(val now "$QREQ")" -ge 1
check latency-histogram-counts-them test "$(val now 'tollgate_http_request_duration_seconds_count{route="/{rest}"}')" -ge $((D0 + N + 1))
check backend-histogram-counts-them test "$(val now tollgate_backend_request_duration_seconds_count)" -ge $((B0 + N))
check token-cache-hits test "$(val now tollgate_token_cache_hits_total)" -ge $((H0 + N - 1))
check token-cache-misses test "$(val now tollgate_token_cache_misses_total)" -ge 1
check backend-connections-gauge test "$(val now tollgate_backend_connections)" -ge 1
check backend-connects test "$(val now tollgate_backend_connects_total)" -ge 1
# (>=: the start-up /healthz probes are metered too, maybe after W0 was read)
for i in $(seq 50); do scrape now; [ "$(val now tollgate_meter_events_written_total)" -ge $((W0 + N + 2)) ] && break; sleep 0.1; done
check meter-events-written test "$(val now tollgate_meter_events_written_total)" -ge $((W0 + N + 2))
check meter-batch-histogram test "$(val now tollgate_meter_batch_size_count)" -ge 1
check meter-flush-histogram test "$(val now tollgate_meter_flush_duration_seconds_count)" -ge 1
check meter-queue-depth-gauge grep -q '^tollgate_meter_queue_depth ' "$TG_TMP/now"
check sse-gauge-present grep -q '^tollgate_sse_streams ' "$TG_TMP/now"
check page-still-lints "$PY" "$PROM" check "$TG_TMP/now"
check page-names-no-tenant bash -c "! grep -qF -e '$A_TENANT' -e '$A_DB' '$TG_TMP/now'"

# A backend that goes away: its error is counted, and reconnects after.
E0=$(val now tollgate_backend_errors_total)
redis-cli -p "$RP" client kill type normal >/dev/null
http GET "$U/get/k" "${AUTH[@]}"
http GET "$U/get/k" "${AUTH[@]}"
expect read-after-kill 200 '{"result":null}'
scrape now
check backend-error-counted test "$(val now tollgate_backend_errors_total)" -gt "$E0"
check backend-reconnect-counted test "$(val now tollgate_backend_reconnects_total)" -ge 1

# ---- Who may read it ------------------------------------------------------
http GET "$U/metrics"
check main-port-needs-admin-token test "$STATUS" = 401
http GET "$U/metrics" "${AUTH[@]}"
check main-port-refuses-data-token test "$STATUS" = 401
http GET "$U/metrics" -H "Authorization: Bearer $ADMIN"
check main-port-admin-200 test "$STATUS" = 200
cp "$TG_TMP/body" "$TG_TMP/main"
check main-port-page-lints "$PY" "$PROM" check "$TG_TMP/main"
http GET "$M/nothing-here"
check ops-port-404-elsewhere test "$STATUS" = 404
http GET "$M/healthz"
expect ops-port-healthz 200 '{"status":"ok"}'
http GET "$M/readyz"
expect ops-port-readyz 200 '{"status":"ready"}'
check ops-port-refuses-bad-listen bash -c "! '$TG_BIN' serve --port 0 --metrics-listen nonsense >'$TG_TMP/bad.log' 2>&1 && grep -q 'metrics_listen' '$TG_TMP/bad.log'"
stop_tollgate "$P_PID" shutdown-clean "$TG_TMP/tollgate-$P.log"

# ---- metrics off: nothing counted ----------------------------------------
MP=$(free_port)
start_tollgate P2 --metrics off --metrics-listen "127.0.0.1:$MP" || exit 1
M=http://127.0.0.1:$MP
for i in 1 2 3; do http GET "http://127.0.0.1:$P2/get/k" "${AUTH[@]}"; done
expect read-with-metrics-off 200 '{"result":null}'
scrape off
check metrics-off-counts-nothing test "$(val off tollgate_http_requests_total)" = 0
check metrics-off-page-lints "$PY" "$PROM" check "$TG_TMP/off"
stop_tollgate "$P2_PID" shutdown-clean-off "$TG_TMP/tollgate-$P2.log"
