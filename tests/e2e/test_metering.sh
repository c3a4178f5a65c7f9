#!/usr/bin/env bash
# title: metering and usage export
# End-to-end tests of metering and usage export: the real tollgate binary
# in front of a real redis-server, with its SQLite file inspected directly.
# Usage: TG_BIN=path/to/tollgate test_metering.sh
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
export TOLLGATE_ADMIN_JWT_SECRET=e2e-admin-secret-e2e-admin-secret-0123
DBF=$TOLLGATE_SQLITE_PATH
provision A --name alpha --db-index 1 || exit 1
provision B --name beta --db-index 2 || exit 1
TA=$A_TENANT TB=$B_TENANT DA=$A_DB DB=$B_DB TOKA=$A_TOKEN TOKB=$B_TOKEN
ADMIN=$(tg admin-token create --ttl 1h)
PERIOD=$(date -u +%Y-%m)
NEXT=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m)

# ---- A known mix: the export counts exactly what was sent -------------
start_tollgate P --meter-flush-ms 50 || exit 1
U=http://127.0.0.1:$P
IN_A=0 OUT_A=0 IN_B=0 OUT_B=0
# send TENANT PATH BODY: POSTs and adds the request and response bytes to
# the tenant's sums (bytes in = body + path, bytes out = response body).
send() {
  local t=$1 path=$2 body=$3 tok res up down
  tok=$TOKA
  [ "$t" = B ] && tok=$TOKB
  res=$(curl -s -o /dev/null -w '%{size_upload} %{size_download}' -X POST \
    -H "Authorization: Bearer $tok" --data-binary "$body" "$U$path")
  up=${res% *}
  down=${res#* }
  if [ "$t" = A ]; then IN_A=$((IN_A + up + ${#path})); OUT_A=$((OUT_A + down))
  else IN_B=$((IN_B + up + ${#path})); OUT_B=$((OUT_B + down)); fi
}
PIPE10='[["incr","c"],["incr","c"],["incr","c"],["incr","c"],["incr","c"],["incr","c"],["incr","c"],["incr","c"],["incr","c"],["get","c"]]'
for i in 1 2 3 4 5; do send A / "[\"set\",\"k$i\",\"v$i\"]"; done   # 5 singles
for i in 1 2 3; do send A /pipeline "$PIPE10"; done                  # 3 x 10
for i in 1 2; do send A /multi-exec '[["set","m","1"],["incr","m"],["get","m"]]'; done  # 2 x 3
send A / '["lpush","k1","x"]'                                         # Redis error
send A /pipeline '[["lpush","k2","x"],["get","k2"]]'                  # error inside a pipeline
send A / '["ping"]'                                                    # free housekeeping
send A /set/path/form ''                                               # path form
for i in 1 2 3 4; do send B / "[\"incr\",\"b$i\"]"; done               # 4 singles
for tok in nope "$TOKA.x" ""; do                                       # rejected tokens
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $tok" -d '["get","x"]' "$U/"
done
sleep 0.4
# 5 + 30 + 6 + 1 + 2 + 0 + 1 = 45 billable commands in 14 requests for A.
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/mix.csv"
field() {  # field TENANT LINE METER: the quantity column of that line (summed)
  awk -F, -v t="$1" -v l="$2" -v m="$3" '$4 == t && $7 == l && $8 == m { s += $10 } END { print s + 0 }' "$TG_TMP/mix.csv"
}
check export-commands-tenant-a test "$(field "$TA" usage commands)" = 45
check export-requests-tenant-a test "$(field "$TA" usage requests)" = 14
check export-bytes-in-tenant-a test "$(field "$TA" usage bytes_in)" = "$IN_A"
check export-bytes-out-tenant-a test "$(field "$TA" usage bytes_out)" = "$OUT_A"
check export-commands-tenant-b test "$(field "$TB" usage commands)" = 4
check export-bytes-tenant-b test "$(field "$TB" usage bytes_in),$(field "$TB" usage bytes_out)" = "$IN_B,$OUT_B"
check export-has-tenant-totals test "$(grep -c ",total,,," "$TG_TMP/mix.csv")" = 2
check export-no-unauthenticated-lines test "$(awk -F, '$4 == ""' "$TG_TMP/mix.csv" | wc -l)" = 0
check anonymous-auth-failures-counted test "$(q "SELECT sum(requests) FROM meter_anonymous WHERE outcome = 3 AND http_status = 401")" = 3
check anonymous-no-raw-rows test "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = ''")" = 0
check events-record-command-names test \
  "$(q "SELECT command_names FROM meter_events WHERE tenant_id = '$TA' AND kind = 1 AND commands = 10 LIMIT 1")" = "INCR*9 GET"
check events-free-ping-not-billable test \
  "$(q "SELECT commands || '/' || billable_commands FROM meter_events WHERE command_names = 'PING'")" = 1/0
check events-ids-unique test "$(q "SELECT count(*) = count(DISTINCT id) FROM meter_events")" = 1

# The admin endpoint (the alias of /v1/admin/usage) serves the same bytes;
# data-plane tokens cannot. Its errors are problem+json, as the control plane's.
curl -s "$U/admin/usage?period=$PERIOD&format=csv" -H "Authorization: Bearer $ADMIN" >"$TG_TMP/admin.csv"
check admin-usage-csv-same-bytes cmp -s "$TG_TMP/mix.csv" "$TG_TMP/admin.csv"
tg usage export --period "$PERIOD" --format json >"$TG_TMP/mix.json"
curl -s "$U/admin/usage?period=$PERIOD&format=json" -H "Authorization: Bearer $ADMIN" >"$TG_TMP/admin.json"
check admin-usage-json-same-bytes cmp -s "$TG_TMP/mix.json" "$TG_TMP/admin.json"
check admin-usage-json-parses node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$TG_TMP/admin.json"
http GET "$U/admin/usage?period=$PERIOD" -H "Authorization: Bearer $TOKA"
expect_match admin-usage-refuses-data-plane-token 401 '"type":"urn:tollgate:problem:unauthorized"'
http GET "$U/admin/usage?period=$PERIOD"
expect_match admin-usage-needs-a-token 401 '"type":"urn:tollgate:problem:unauthorized"'
http GET "$U/admin/usage?period=nope" -H "Authorization: Bearer $ADMIN"
expect admin-usage-bad-period 400 '{"type":"urn:tollgate:problem:invalid-field","title":"Invalid request","status":400,"detail":"period: YYYY-MM (2026-11)"}'

# ---- SIGTERM under load: every acknowledged request is stored ---------
provision C --name gamma --db-index 3 || exit 1
TC=$C_TENANT DC=$C_DB TOKC=$C_TOKEN
node "$HERE/load.mjs" "$U" "$TOKC" 20000 16 "$TG_TMP/term.acks" &
LOAD=$!
sleep 1.5
stop_tollgate "$P_PID" sigterm-under-load-exits-cleanly "$TG_TMP/tollgate-$P.log"
wait "$LOAD"
ACKED=$(grep -c '^200 ' "$TG_TMP/term.acks")
STORED=$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TC' AND http_status = 200")
if [ "$ACKED" -gt 50 ] && [ "$STORED" -ge "$ACKED" ]; then pass sigterm-every-acknowledged-request-stored
else fail sigterm-every-acknowledged-request-stored "acknowledged $ACKED, stored $STORED"; fi
check sigterm-rollups-match-events test \
  "$(q "SELECT sum(requests) FROM meter_rollups WHERE tenant_id = '$TC'")" = \
  "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TC'")"
check sigterm-logs-metering-counters grep -q 'metering: .* 0 lost' "$TG_TMP/tollgate-$P.log"

# ---- kill -9 under load: loss within one flush interval, no double count
start_tollgate P2 --meter-flush-ms 100 || exit 1
provision D --name delta --db-index 4 || exit 1
TD=$D_TENANT DD=$D_DB TOKD=$D_TOKEN
node "$HERE/load.mjs" "http://127.0.0.1:$P2" "$TOKD" 20000 16 "$TG_TMP/kill.acks" &
LOAD=$!
sleep 1.5
{ kill -9 "$P2_PID"; wait "$P2_PID"; } 2>/dev/null
KILLED_AT=$(date +%s%3N)
wait "$LOAD"
# The stated bound is meter_flush_ms (100 ms) plus one commit; allow 1 s
# for the sanitizer build and the client's own latency.
OLD_ACKED=$(awk -v k="$KILLED_AT" '$1 == 200 && $2 < k - 1000' "$TG_TMP/kill.acks" | wc -l)
ACKED=$(grep -c '^200 ' "$TG_TMP/kill.acks")
start_tollgate P3 || exit 1   # restarts, replaying nothing twice
STORED=$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TD' AND http_status = 200")
if [ "$OLD_ACKED" -gt 50 ] && [ "$STORED" -ge "$OLD_ACKED" ] && [ "$STORED" -le "$ACKED" ]; then
  pass kill9-loss-within-flush-bound
else
  fail kill9-loss-within-flush-bound "acked $ACKED ($OLD_ACKED over 1 s before the kill), stored $STORED"
fi
check kill9-nothing-counted-twice test \
  "$(q "SELECT sum(requests) FROM meter_rollups WHERE tenant_id = '$TD'")" = \
  "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TD'")"
stop_tollgate "$P3_PID" restart-after-kill9-exits-cleanly "$TG_TMP/tollgate-$P3.log"

# ---- Overflow: reject answers 503, spill keeps everything --------------
# Another connection holds SQLite's write lock until release_lock: the
# writer stalls.
lock_held() { ! sqlite3 "$DBF" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null; }
hold_lock() {
  rm -f "$TG_TMP/release"
  (echo 'BEGIN IMMEDIATE;'; while [ ! -e "$TG_TMP/release" ]; do sleep 0.05; done
   echo 'COMMIT;') | sqlite3 -cmd '.timeout 10000' "$DBF" &
  LOCK=$!
  wait_for lock_held
}
release_lock() { touch "$TG_TMP/release"; wait "$LOCK"; }
start_tollgate P4 --meter-queue-events 64 --meter-batch-events 16 --meter-flush-ms 10 || exit 1
hold_lock
CODES=$(for i in $(seq 1 120); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $TOKA" \
    -d '["incr","r"]' "http://127.0.0.1:$P4/"; done | sort | uniq -c | tr -s ' ')
release_lock
check_backlog() { grep -q ' 503' <<<"$CODES" && grep -q ' 200' <<<"$CODES"; }
check reject-policy-answers-503-when-backlogged check_backlog
# Once the writer has caught up (it retries with back-off), requests run.
recovered() {
  http POST "http://127.0.0.1:$P4/" -H "Authorization: Bearer $TOKA" -d '["get","none"]'
  [ "$STATUS" = 200 ]
}
wait_for recovered
expect reject-policy-recovers 200 '{"result":null}'
stop_tollgate "$P4_PID" reject-policy-exits-cleanly "$TG_TMP/tollgate-$P4.log"
check reject-policy-counted grep -qE 'metering: .* [1-9][0-9]* rejected, 0 lost' "$TG_TMP/tollgate-$P4.log"

BEFORE=$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TB'")
start_tollgate P5 --meter-queue-events 64 --meter-batch-events 16 --meter-flush-ms 10 \
  --meter-overflow spill || exit 1
hold_lock
CODES=$(for i in $(seq 1 120); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $TOKB" \
    -d '["incr","s"]' "http://127.0.0.1:$P5/"; done | sort -u | tr '\n' ' ')
check spill-policy-never-refuses test "$CODES" = "200 "
release_lock
stop_tollgate "$P5_PID" spill-policy-exits-cleanly "$TG_TMP/tollgate-$P5.log"
check spill-policy-counted grep -qE 'metering: .* [1-9][0-9]* spilled, .* 0 lost' "$TG_TMP/tollgate-$P5.log"
start_tollgate P6 || exit 1   # replays the spill file
AFTER=$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$TB'")
check spill-replayed-at-start test "$((AFTER - BEFORE))" = 120
check spill-file-removed-after-replay test ! -e "$DBF.meter-spill"
check spill-replay-counted-once test \
  "$(q "SELECT sum(requests) FROM meter_rollups WHERE tenant_id = '$TB'")" = "$AFTER"

# ---- Closing a period freezes its export -------------------------------
U6=http://127.0.0.1:$P6
http GET "$U6/set/before/close" -H "Authorization: Bearer $TOKB"
sleep 0.3
CLOSE_OUT=$(tg usage close --period "$PERIOD" 2>&1)
check close-refused-before-grace grep -q 'can be closed from' <<<"$CLOSE_OUT"
tg usage close --period "$PERIOD" --force >/dev/null
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/closed1.csv"
tg usage export --period "$PERIOD" --format json >"$TG_TMP/closed1.json"
for i in 1 2 3; do http GET "$U6/set/late$i/x" -H "Authorization: Bearer $TOKB"; done
sleep 0.4
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/closed2.csv"
tg usage export --period "$PERIOD" --format json >"$TG_TMP/closed2.json"
check closed-period-csv-unchanged cmp -s "$TG_TMP/closed1.csv" "$TG_TMP/closed2.csv"
check closed-period-json-unchanged cmp -s "$TG_TMP/closed1.json" "$TG_TMP/closed2.json"
curl -s "$U6/admin/usage?period=$PERIOD&format=csv" -H "Authorization: Bearer $ADMIN" >"$TG_TMP/closed3.csv"
check closed-period-admin-same-bytes cmp -s "$TG_TMP/closed1.csv" "$TG_TMP/closed3.csv"
tg usage export --period "$NEXT" --format csv >"$TG_TMP/next.csv"
check late-events-adjust-next-period test \
  "$(awk -F, -v t="$TB" -v p="$PERIOD" '$4 == t && $7 == "adjustment" && $8 == "commands" && $9 == p { s += $10 } END { print s + 0 }' "$TG_TMP/next.csv")" = 3
CLOSE_AGAIN=$(tg usage close --period "$PERIOD" --force 2>&1)
check close-twice-refused grep -q 'already closed' <<<"$CLOSE_AGAIN"
stop_tollgate "$P6_PID" clean-shutdown-after-close "$TG_TMP/tollgate-$P6.log"
