#!/usr/bin/env bash
# title: commands written to Redis bill, whatever the HTTP answer
#
# Issue 11, finding 4: a request answered 504 (command timeout) or 503
# after its commands were sent was recorded as backend_unavailable, which
# no plan bills, though Redis ran them. Now such a request is recorded as
# sent_unanswered and bills; a request refused before anything was sent
# (backend down) records no commands at all. Three-way count: the client's
# answers, what Redis ran (an INCR counter) and the usage export.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A || exit 1
DBF=$TOLLGATE_SQLITE_PATH
# One worker: its connection, made by the first request, is the one that
# writes the pipeline (a new connection would hold the commands back until
# its handshake, which a busy Redis does not answer: nothing sent).
start_tollgate P --threads 1 --redis-command-timeout-ms 200 --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
AUTH=(-H "Authorization: Bearer $A_TOKEN")
PERIOD=$(date -u +%Y-%m)

http POST "$U/" "${AUTH[@]}" -d '["incr","c"]'
expect sent-answered 200 '{"result":1}'

# Hold Redis for ~1 s with a script of our own (straight to Redis), so the
# gateway's INCR is written but not answered within its 200 ms.
redis-cli -p "$RP" eval "local t0 = redis.call('TIME') local s = t0[1] * 1000000 + t0[2]
  while true do local t = redis.call('TIME')
  if t[1] * 1000000 + t[2] - s > 1000000 then break end end return 1" 0 >/dev/null 2>&1 &
hold=$!
sleep 0.2
http POST "$U/pipeline" "${AUTH[@]}" -d '[["incr","c"],["incr","c"],["incr","c"]]'
check sent-timeout-answered-504 test "$STATUS" = 504
wait "$hold"
ran=""
for i in $(seq 1 30); do
  ran=$(redis-cli -p "$RP" get c)
  [ "$ran" = 4 ] && break
  sleep 0.1
done
check sent-redis-ran-them test "$ran" = 4

# Backend down before anything is written: 503 and no commands recorded.
kill "$RP_PID"; wait "$RP_PID" 2>/dev/null
http POST "$U/" "${AUTH[@]}" -d '["incr","c"]'
check unsent-answered-503 test "$STATUS" = 503
stop_tollgate "$P_PID" sent-clean-shutdown "$TG_TMP/tollgate-$P.log"

check sent-recorded-as-sent-unanswered test \
  "$(q "SELECT commands || '/' || billable_commands || '/' || outcome FROM meter_events WHERE http_status = 504")" = 3/3/8
check unsent-records-no-commands test \
  "$(q "SELECT commands || '/' || billable_commands FROM meter_events WHERE http_status = 503")" = 0/0
tg usage export --period "$PERIOD" --format csv >"$TG_TMP/export.csv"
billed=$(awk -F, -v t="$A_TENANT" '$4 == t && $7 == "usage" && $8 == "commands" { s += $10 } END { print s + 0 }' \
  "$TG_TMP/export.csv")
echo "    Redis ran $ran INCR; the export bills $billed commands"
check sent-export-bills-what-redis-ran test "$billed" = "$ran"
