#!/usr/bin/env bash
# title: no call on a worker thread blocks on the network
#
# Issue 10, finding 4: a shared database's ACL user was made sure of with a
# blocking ACL SETUSER (up to two tries, under a lock) on the worker
# thread, so while one backend hung, tenants of *other* backends served by
# that worker stalled for seconds. Now the SETUSER goes down the
# connection's own pipeline. Reproduced with one worker thread, a hung
# Redis (SIGSTOP) behind a shared database whose user is not yet made
# sure of, and a second Redis whose tenant must keep its latency.
. "$(dirname "$0")/lib.sh"

start_redis RA || exit 1
start_redis RB || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RB
provision B || exit 1
TOLLGATE_REDIS_URL=redis://127.0.0.1:$RA provision A2 --isolation prefix || exit 1
start_tollgate P --threads 1 --redis-connect-timeout-ms 1000 \
  --redis-command-timeout-ms 1500 || exit 1
U=http://127.0.0.1:$P

http POST "$U/" -H "Authorization: Bearer $B_TOKEN" -d '["set","b","1"]'
expect blocking-b-served 200 '{"result":"OK"}'

kill -STOP "$RA_PID"
# A's first request: its ACL user must be made sure of on the hung Redis.
curl -s -o "$TG_TMP/a.out" -w '%{http_code}' -H "Authorization: Bearer $A2_TOKEN" \
  -d '["get","k"]' "$U/" >"$TG_TMP/a.status" &
a=$!
sleep 0.1
worst=0
for i in $(seq 1 15); do
  t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $B_TOKEN" \
    -d '["get","b"]' "$U/")
  ms=$(awk -v t="$t" 'BEGIN {printf "%d", t * 1000}')
  [ "$ms" -gt "$worst" ] && worst=$ms
  sleep 0.05
done
echo "    slowest request of the other backend's tenant while one Redis hung: ${worst} ms"
check blocking-other-backend-not-stalled test "$worst" -lt 400
# Redis stays hung until A's request is answered: at its deadline, 503/504.
wait "$a"
check blocking-hung-backend-answered grep -qE '^(503|504)$' "$TG_TMP/a.status"
kill -CONT "$RA_PID"
# Once Redis is back, A is served (its user made sure of again).
ok=
for i in $(seq 1 30); do
  http POST "$U/" -H "Authorization: Bearer $A2_TOKEN" -d '["set","k","v"]'
  [ "$STATUS" = 200 ] && ok=1 && break
  sleep 0.2
done
check blocking-recovered-after test -n "$ok"
stop_tollgate "$P_PID" blocking-clean-shutdown "$TG_TMP/tollgate-$P.log"
