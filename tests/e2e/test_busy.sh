#!/usr/bin/env bash
# title: runaway scripts: a tenant cannot leave a shared Redis BUSY
#
# Issue 10, finding 1: a pipeline of two looping EVAL_RO (then a read-only
# token, shared_scripts = read-only) left Redis BUSY for good: the first
# script was killed at its deadline, the second ran on, the connection was
# failed without a kill, and from then on requests failed at once with
# BUSY, so no deadline fired and nothing killed it. Now the control thread
# kills at every deadline and on every BUSY reply, until Redis is free.
# Redis answers other clients (and accepts SCRIPT KILL) during a script
# only after busy-reply-threshold: lowered here to 100 ms to keep the test
# short; the gateway's command timeout is 300 ms.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
redis-cli -p "$RP" config set busy-reply-threshold 100 >/dev/null
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --isolation prefix || exit 1 # EVAL_RO: not for read-only tokens
provision B --isolation prefix || exit 1
start_tollgate P --shared-scripts read-only --redis-command-timeout-ms 300 || exit 1
U=http://127.0.0.1:$P
LOOP='["eval_ro","while true do end","0"]'

# redis_free: Redis answers PING (not BUSY) within 5 s.
redis_free() {
  local i
  for i in $(seq 1 50); do
    [ "$(redis-cli -p "$RP" ping 2>&1)" = PONG ] && return 0
    sleep 0.1
  done
  return 1
}

# kills: how many kills the gateway has logged so far; started: how many
# EVAL_RO calls Redis ran (commandstats). How many scripts actually start
# depends on timing (Redis drops the rest of a pipeline whose connection
# the gateway failed; a request in the reconnect delay after a failed
# connection sends nothing), so a phase in which a script started must
# have logged a kill of its own; and the real property: Redis is free.
kills() { grep -c 'killed a script' "$TG_TMP/tollgate-$P.log"; }
started() {
  redis-cli -p "$RP" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '$1 == "cmdstat_eval_ro" { n = $3 } END { print n + 0 }'
}
# killed_if_started NAME KILLS_BEFORE STARTED_BEFORE
killed_if_started() {
  local k s
  k=$(kills); s=$(started)
  if [ "$s" -gt "$3" ]; then
    check "$1" test "$k" -gt "$2"
  else   # nothing started: nothing to kill, and no check that cannot fail
    echo "    ($1: no script started in this phase)"
  fi
}

k0=$(kills); s0=$(started)
http POST "$U/pipeline" -H "Authorization: Bearer $A_TOKEN" -d "[$LOOP,$LOOP]"
check busy-pipeline-answered test -n "$STATUS"
check busy-pipeline-redis-free-after redis_free
killed_if_started busy-pipeline-killed "$k0" "$s0"

# Two concurrent single loops (each killed in turn).
k1=$(kills); s1=$(started)
curl -s -o /dev/null -H "Authorization: Bearer $A_TOKEN" -d "$LOOP" "$U/" &
c1=$!
curl -s -o /dev/null -H "Authorization: Bearer $A_TOKEN" -d "$LOOP" "$U/" &
c2=$!
wait $c1 $c2
check busy-concurrent-redis-free-after redis_free
killed_if_started busy-concurrent-killed "$k1" "$s1"

# Five loops in one pipeline: every one is killed, none outlives it.
k2=$(kills); s2=$(started)
http POST "$U/pipeline" -H "Authorization: Bearer $A_TOKEN" -d "[$LOOP,$LOOP,$LOOP,$LOOP,$LOOP]"
check busy-five-redis-free-after redis_free
killed_if_started busy-five-killed "$k2" "$s2"

# The neighbour is served again afterwards.
http POST "$U/" -H "Authorization: Bearer $B_TOKEN" -d '["set","k","v"]'
expect busy-neighbour-served-after 200 '{"result":"OK"}'
stop_tollgate "$P_PID" busy-clean-shutdown "$TG_TMP/tollgate-$P.log"
