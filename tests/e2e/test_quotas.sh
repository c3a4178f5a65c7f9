#!/usr/bin/env bash
# title: quotas on the request path (rates, daily caps, sizes, headers)
#
# Issue 12 as an operator checks it: a tenant on a plan with a small
# commands_per_second, daily_commands and request_bytes is driven past each
# with curl and the official client; statuses, bodies and headers; the
# rate recovers; a neighbour database keeps being served; a restart keeps
# the day's count; a plan change applies within a second; refusals are
# metered quota_rejected with the limit's name and not billed; the usage
# export (CLI and admin API) shows them per limit, unbilled.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
export TOLLGATE_ADMIN_JWT_SECRET=e2e-admin-secret-e2e-admin-secret-0123
PERIOD=$(date -u +%Y-%m)
provision Q || exit 1
provision N || exit 1      # a neighbour tenant on the default plan
DBF=$TOLLGATE_SQLITE_PATH
check plan-small tg plan create --plan small --name Small \
  --commands-per-second 5 --burst 5 --daily-commands 40 --request-bytes 300
check plan-assigned tg plan assign --tenant "$Q_TENANT" --plan small
start_tollgate P --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
AQ=(-H "Authorization: Bearer $Q_TOKEN")
hdr() { grep -i "^$1:" <<<"$HEADERS" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# ---- commands_per_second, burst 5: five pass at once, the sixth is refused.
for i in 1 2 3 4 5; do http POST "$U/" "${AQ[@]}" -d '["incr","c"]'; done
expect cps-burst-passes 200 '{"result":5}'
check cps-headers-policy grep -qi '^ratelimit-policy: .*"cps";q=5;w=1' <<<"$HEADERS"
check cps-headers-xlimit test "$(hdr X-RateLimit-Limit)" -ge 1
http POST "$U/" "${AQ[@]}" -d '["incr","c"]'
expect_match cps-over-429 429 '^\{"error":"ERR max requests limit exceeded\. Limit: 5, Usage: [0-9]+","limit":"commands_per_second"\}$'
RA=$(hdr Retry-After)
check cps-retry-after test -n "$RA" -a "${RA:-0}" -ge 1
check cps-refused-nothing-ran test "$(redis-cli -p "$RP" --scan --pattern '*' | xargs -r redis-cli -p "$RP" mget | tr -d '\n')" = 5
# A pipeline that would cross the limit is refused whole.
http POST "$U/pipeline" "${AQ[@]}" -d '[["incr","p"],["incr","p"],["incr","p"]]'
check cps-pipeline-refused-whole test "$STATUS" = 429
sleep "${RA:-1}"
sleep 0.2
http POST "$U/" "${AQ[@]}" -d '["incr","c"]'
expect cps-recovers 200 '{"result":6}'

# ---- the neighbour is unaffected while Q is throttled.
for i in 1 2 3 4 5 6 7 8; do http POST "$U/" "${AQ[@]}" -d '["incr","c"]'; done
http POST "$U/" -H "Authorization: Bearer $N_TOKEN" -d '["incr","n"]'
expect neighbour-served 200 '{"result":1}'
no_ratelimit() { ! grep -qi '^ratelimit' <<<"$HEADERS"; }
check neighbour-no-quota-headers no_ratelimit

# ---- request_bytes 300: a larger body is 413 with Upstash's text.
BIG=$(printf 'x%.0s' $(seq 1 400))
sleep 1.2
http POST "$U/" "${AQ[@]}" -d "[\"set\",\"big\",\"$BIG\"]"
expect_match request-bytes-413 413 '"ERR max request size exceeded\. Limit: 300, Usage: [0-9]+","limit":"request_bytes"'

# ---- @upstash/redis sees the refusal as an error naming the limit.
sleep 1.2
OUT=$(U=$U T=$Q_TOKEN node "$HERE/../node/quota_client.mjs" 2>&1)
echo "    @upstash/redis said: $OUT"
check client-sees-max-requests grep -q 'max requests limit exceeded' <<<"$OUT" ||
  echo "    client said: $OUT"

# ---- daily_commands 40: run up to it, then a plan change lifts it live.
sleep 1.2
n=0
for i in $(seq 1 60); do
  http POST "$U/" "${AQ[@]}" -d '["incr","d"]'
  [ "$STATUS" = 429 ] && grep -q daily <<<"$BODY" && break
  [ "$STATUS" = 200 ] && n=$((n + 1))
  sleep 0.21
done
expect_match daily-cap-429 429 '"ERR max daily request limit exceeded\. Limit: 40, Usage: [0-9]+","limit":"daily_commands"'
check daily-headers grep -qi '^ratelimit-policy: .*"daily";q=40;w=86400' <<<"$HEADERS"

# ---- a restart keeps the day's count (seeded from the rollups).
stop_tollgate "$P_PID" quotas-clean-shutdown "$TG_TMP/tollgate-$P.log"
start_tollgate P --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
http POST "$U/" "${AQ[@]}" -d '["incr","d"]'
expect_match daily-cap-survives-restart 429 'max daily request limit exceeded'

# ---- a plan change applies within a second, without a restart.
check plan-update-lifts tg plan update --plan small --daily-commands none
sleep 1.3
http POST "$U/" "${AQ[@]}" -d '["incr","d"]'
check plan-change-applied-within-a-second test "$STATUS" = 200
sleep 0.3   # the meter's flush (20 ms) and the writer's commit
ADMIN=$(tg admin-token create --ttl 1h)
curl -s "$U/admin/usage?period=$PERIOD&format=csv" -H "Authorization: Bearer $ADMIN" \
  >"$TG_TMP/admin.csv"
stop_tollgate "$P_PID" quotas-clean-shutdown-2 "$TG_TMP/tollgate-$P.log"

# ---- refusals are metered quota_rejected (6), never billed.
rej=$(q "SELECT count(*) FROM meter_events WHERE database_id = '$Q_DB' AND outcome = 6")
check refusals-metered test "$rej" -ge 3
billed=$(q "SELECT coalesce(sum(billable_commands), 0) FROM meter_events WHERE outcome = 6")
check refusals-not-billed test "$billed" = 0
named=$(q "SELECT count(*) FROM meter_events WHERE database_id = '$Q_DB' AND outcome = 6 AND quota_limit IN ('commands_per_second', 'daily_commands', 'request_bytes')")
check refusals-name-their-limit test "$named" = "$rej"

# ---- the export: a `rejected` line per limit, amount 0; the refusals are in
# no priced meter (the plan does not bill quota_rejected).
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/export.csv"
# qty FILE LINE METER: the quantity of Q_DB's LINE,METER lines summed over
# plans (a line is split by the plan in effect at each minute's start, so
# traffic in the minute the tenant changed plans counts under the old one);
# "bad" when a line has a nonzero amount.
qty() {
  awk -F, -v db="$Q_DB" -v line="$2" -v m="$3" \
    '$5 == db && $7 == line && $8 == m { n += $10; if (line == "rejected" && $13 != 0) bad = 1 }
     END { print bad ? "bad" : n + 0 }' "$1"
}
for lim in commands_per_second daily_commands request_bytes; do
  n=$(q "SELECT count(*) FROM meter_events WHERE database_id = '$Q_DB' AND quota_limit = '$lim'")
  check "export-rejected-$lim" test "$(qty "$TG_TMP/export.csv" rejected "$lim")" = "$n"
  check "admin-export-rejected-$lim" test "$(qty "$TG_TMP/admin.csv" rejected "$lim")" = "$n"
done
served=$(q "SELECT count(*) FROM meter_events WHERE database_id = '$Q_DB' AND outcome <> 6")
check export-requests-exclude-refusals test "$(qty "$TG_TMP/export.csv" usage requests)" = "$served"
rej_amount=$(awk -F, '$7 == "rejected" { s += $13 } END { print s + 0 }' "$TG_TMP/export.csv")
check export-rejections-unbilled test "$rej_amount" = 0

# ---- quota_headers = off: answers carry no rate-limit header; a refusal
# still does, with Retry-After.
start_tollgate P3 --quota-headers off || exit 1
sleep 1.2   # a fresh second for the cps limit
http POST "http://127.0.0.1:$P3/" "${AQ[@]}" -d '["incr","h"]'
expect headers-off-answered 200 '{"result":1}'
check headers-off-answer-has-none no_ratelimit
for i in 1 2 3 4 5 6 7 8; do
  http POST "http://127.0.0.1:$P3/" "${AQ[@]}" -d '["incr","h"]'
  [ "$STATUS" = 429 ] && break
done
check headers-off-refusal-429 test "$STATUS" = 429
check headers-off-refusal-has-policy grep -qi '^ratelimit-policy: .*"cps";q=5;w=1' <<<"$HEADERS"
check headers-off-refusal-retry-after test -n "$(hdr Retry-After)"
stop_tollgate "$P3_PID" headers-off-clean-shutdown "$TG_TMP/tollgate-$P3.log"
