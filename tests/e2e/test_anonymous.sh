#!/usr/bin/env bash
# title: anonymous floods cost bounded disk and meet a per-address limit
#
# Issue 10, finding 7: every refused request was a meter_events row kept
# for days (a 10 s flood of bad tokens wrote 699,127 rows). Now requests
# without a tenant are counted per minute and cause in meter_anonymous,
# and unauthenticated requests have a token bucket per client address
# (anon_rate_per_ip, anon_burst_per_ip): past it they are answered 429
# with Retry-After, counted too. A client with a valid token on the same
# address is not limited, and the usage export does not change.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A || exit 1
DBF=$TOLLGATE_SQLITE_PATH
# Bytes the state file holds (pages in use, not the WAL's or free ones).
size() { q "SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count p,
  pragma_freelist_count f, pragma_page_size s"; }
PERIOD=$(date -u +%Y-%m)
N=20000
GOOD=300

BEFORE=$(size)
start_tollgate P --meter-flush-ms 50 || exit 1
U=http://127.0.0.1:$P
LOG=$TG_TMP/tollgate-$P.log

http POST "$U/" -H "Authorization: Bearer x.y.z" -d '["get","k"]'
expect_match first-bad-token-is-401 401 'invalid token'
node "$(dirname "$0")/anon_flood.mjs" "$U" "$N" 32 "x.y.z" "$A_TOKEN" "$GOOD" >"$TG_TMP/flood.json"
val() { node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const v = eval("o." + process.argv[2]); console.log(v === undefined || v === null ? 0 : v)' \
  "$TG_TMP/flood.json" "$1"; }
R401=$(val 'bad[401]'); R429=$(val 'bad[429]'); MS=$(val ms)
echo "    flood: $N bad-token requests in $MS ms: $R401 x 401, $R429 x 429"
check flood-all-answered test $((R401 + R429)) = "$N"
# 200 of burst (one taken above) plus 100/s while it lasted, and a second
# of slack for the timing of the measurement.
check flood-limited-to-rate test "$R401" -le $((200 + 100 * (MS / 1000 + 1)))
check flood-answered-429 test "$R429" -gt 0
check flood-429-retry-after test "$(val retryAfter)" -ge 1
check flood-429-json test "$(val body429)" = '{"error":"ERR too many unauthenticated requests from this address"}'
check good-client-unaffected test "$(val 'good[200]')" = "$GOOD"

# The bucket refills: a second later, a bad token is a 401 again.
sleep 1.1
http POST "$U/" -H "Authorization: Bearer x.y.z" -d '["get","k"]'
check bucket-refills test "$STATUS" = 401

stop_tollgate "$P_PID" exits-cleanly "$LOG"
AFTER=$(size)
echo "    state file: +$((AFTER - BEFORE)) bytes in use for $N anonymous and $GOOD authenticated requests"
# 300 raw events (~100 bytes each) and a few pages: far below one row per
# anonymous request (20,000 x ~110 bytes = 2.2 MB before).
check state-growth-bounded test $((AFTER - BEFORE)) -lt 200000
ANON=$((N + 2))
check no-raw-rows-for-anonymous test "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = ''")" = 0
check anonymous-counted-exactly test \
  "$(q "SELECT sum(requests) FROM meter_anonymous WHERE http_status IN (401, 429)")" = "$ANON"
check anonymous-429-counted test \
  "$(q "SELECT sum(requests) FROM meter_anonymous WHERE http_status = 429 AND outcome = 9")" = "$R429"
ROWS=$(q "SELECT count(*) FROM meter_anonymous")
MINUTES=$(q "SELECT count(DISTINCT minute) FROM meter_anonymous")
echo "    meter_anonymous: $ROWS rows over $MINUTES minute(s) for $ANON refused requests"
check anonymous-rows-per-minute-and-cause test "$ROWS" -le $((MINUTES * 4))
check exit-line-counts-anonymous grep -qE "metering: [0-9]+ recorded, $((GOOD))+ committed, [0-9]+ anonymous" "$LOG"
check good-client-events-stored test "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$A_TENANT'")" = "$GOOD"
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/usage.csv"
check export-requests-of-good-client test \
  "$(awk -F, -v t="$A_TENANT" '$4 == t && $7 == "usage" && $8 == "requests" { s += $10 } END { print s + 0 }' "$TG_TMP/usage.csv")" = "$GOOD"
check export-no-anonymous-lines test "$(awk -F, '$4 == ""' "$TG_TMP/usage.csv" | wc -l)" = 0

# anon_rate_per_ip 0: no limit.
start_tollgate P2 --anon-rate-per-ip 0 || exit 1
for i in $(seq 1 300); do
  echo "url = \"http://127.0.0.1:$P2/\""
  echo 'output = "/dev/null"'
done >"$TG_TMP/urls"
curl -s -K "$TG_TMP/urls" -X POST -H "Authorization: Bearer x.y.z" -d '["get","k"]' \
  -w '%{http_code}\n' >"$TG_TMP/codes"
check rate-zero-is-no-limit test "$(grep -c '^401$' "$TG_TMP/codes")" = 300
stop_tollgate "$P2_PID" second-exits-cleanly "$TG_TMP/tollgate-$P2.log"
