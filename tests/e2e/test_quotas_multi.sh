#!/usr/bin/env bash
# title: quotas shared by two gateway nodes (quota_store = redis, quota_fail)
#
# Issue 12, item 4: two gateway processes share one counter Redis; a plan
# with daily_commands 30, driven alternately through both, lets exactly 30
# commands through in total, then both answer 429. The counter Redis
# killed: the node with quota_fail open keeps serving, the one with
# quota_fail closed answers 503 with a JSON error.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1     # the tenants' data
start_redis CP || exit 1     # the counters (the operator's)
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision M || exit 1
check plan-multi tg plan create --plan multi --name Multi --daily-commands 30
check plan-assigned tg plan assign --tenant "$M_TENANT" --plan multi
CURL=redis://127.0.0.1:$CP
start_tollgate P1 --quota-store redis --quota-redis-url "$CURL" || exit 1
start_tollgate P2 --quota-store redis --quota-redis-url "$CURL" --quota-fail closed || exit 1
A=(-H "Authorization: Bearer $M_TOKEN")

# ---- a shared rate: commands_per_second 5, burst 5. A pipeline of 4 on
# one node, then one of 4 on the other within the same moment: the second
# would make 8 > 5 (GCRA on the counter Redis's clock) and is refused whole.
provision R || exit 1
check plan-rate tg plan create --plan rate --name Rate --commands-per-second 5 --burst 5
check plan-rate-assigned tg plan assign --tenant "$R_TENANT" --plan rate
sleep 1.2     # the gateways' refresh sees the plan
B=(-H "Authorization: Bearer $R_TOKEN")
FOUR='[["incr","r"],["incr","r"],["incr","r"],["incr","r"]]'
http POST "http://127.0.0.1:$P1/pipeline" "${B[@]}" -d "$FOUR"
expect shared-rate-first-4 200 '[{"result":1},{"result":2},{"result":3},{"result":4}]'
http POST "http://127.0.0.1:$P2/pipeline" "${B[@]}" -d "$FOUR"
expect_match shared-rate-second-node-429 429 '"limit":"commands_per_second"'
sleep 1.1
http POST "http://127.0.0.1:$P2/" "${B[@]}" -d '["get","r"]'
expect shared-rate-ran-nothing 200 '{"result":"4"}'

# ---- 40 commands, alternating between the two nodes: 30 pass in total.
ok=0 refused=0 other=''
for i in $(seq 1 40); do
  if [ $((i % 2)) = 1 ]; then P=$P1; else P=$P2; fi
  http POST "http://127.0.0.1:$P/" "${A[@]}" -d '["incr","n"]'
  case $STATUS in
    200) ok=$((ok + 1)) ;;
    429) refused=$((refused + 1)) ;;
    *) other="$other $STATUS:$BODY" ;;
  esac
done
check shared-daily-exactly-30 test "$ok" = 30 -a "$refused" = 10 -a -z "$other" ||
  echo "    passed $ok, refused $refused, other:$other"
check data-counter-is-30 test "$(redis-cli -p "$RP" --scan --pattern '*n' | xargs -r redis-cli -p "$RP" get)" = 30
http POST "http://127.0.0.1:$P1/" "${A[@]}" -d '["incr","n"]'
expect_match node1-429 429 '"ERR max daily request limit exceeded\. Limit: 30, Usage: 31","limit":"daily_commands"'
check node1-daily-headers grep -qi '^ratelimit-policy: "daily";q=30;w=86400' <<<"$HEADERS"
http POST "http://127.0.0.1:$P2/" "${A[@]}" -d '["incr","n"]'
expect_match node2-429 429 '"limit":"daily_commands"'
check counters-namespaced test -n "$(redis-cli -p "$CP" --scan --pattern "tollgate:q:$M_DB:d:*")"
check counter-value-30 test "$(redis-cli -p "$CP" get "$(redis-cli -p "$CP" --scan --pattern "tollgate:q:$M_DB:d:*")")" = 30

# ---- one Lua call per request, the script loaded once per counter Redis
# (EVALSHA; one EVAL after the first NOSCRIPT); the refusals are then
# remembered per worker: of the 12 refused requests (and the 2 pipelines
# above), at most one per
# worker thread (2 nodes x 2 threads) asked the store.
stat() { redis-cli -p "$CP" info commandstats | tr -d '\r' | grep "^cmdstat_$1:" | cut -d= -f2 | cut -d, -f1; }
sha=$(stat evalsha) ev=$(stat eval)
check one-evalsha-per-request test "${sha:-0}" -ge 32 -a "${sha:-0}" -le 37 ||
  echo "    evalsha calls: $sha"
check script-loaded-once test "${ev:-0}" -le 1 || echo "    eval calls: $ev"

# ---- a refusal is remembered: a second later the store is asked again.
sleep 1.1

# ---- the counter Redis killed: open allows, closed refuses with 503.
kill "$CP_PID"
wait "$CP_PID" 2>/dev/null
redis-cli -p "$RP" del n >/dev/null 2>&1
http POST "http://127.0.0.1:$P1/" "${A[@]}" -d '["get","x"]'
expect fail-open-allows 200 '{"result":null}'
http POST "http://127.0.0.1:$P1/" "${A[@]}" -d '["get","x"]'
expect fail-open-allows-again 200 '{"result":null}'
check fail-open-logged grep -q 'quota store unreachable' "$TG_TMP/tollgate-$P1.log"
http POST "http://127.0.0.1:$P2/" "${A[@]}" -d '["get","x"]'
expect fail-closed-503 503 '{"error":"ERR quota store unavailable"}'

stop_tollgate "$P1_PID" multi-clean-shutdown-1 "$TG_TMP/tollgate-$P1.log"
check fail-open-counted grep -q 'quota store unreachable: 2 requests let through' "$TG_TMP/tollgate-$P1.log"
stop_tollgate "$P2_PID" multi-clean-shutdown-2 "$TG_TMP/tollgate-$P2.log"
