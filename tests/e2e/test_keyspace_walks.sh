#!/usr/bin/env bash
# title: keyspace walks on shared databases run in slices
# End-to-end tests of a shared (key-prefix) database's keyspace commands
# (gateway/policy/keywalk.h, gateway/handlers/walk.h) with the real binary
# and a real redis-server holding 300,000 keys of another tenant:
#   1. DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB answer exactly as before
#      (own keys only, each once), in order with the request's commands;
#   2. while they walk the shared keyspace, a second client's GETs on
#      another database of the same Redis keep their latency (p99 under
#      50 ms), where one single-call walk of the same keyspace (the old
#      shape, run directly) stalls them for its whole duration;
#   3. the per-request limits refuse the extra walks (400 entries), two
#      walking requests of one database both complete (the second waits),
#      and a walk is billed one command per slice.
. "$(dirname "$0")/lib.sh"
T0=$(date +%s)

OTHER_KEYS=300000
start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
rcli() { redis-cli -p "$RP" "$@"; }
provision S --name small --db-name small --isolation prefix || exit 1
provision D --name prober --db-name probe --db-index 1 || exit 1
PS=$S_DB:
start_tollgate P --meter-flush-ms 50 || exit 1
U=http://127.0.0.1:$P
DBF=$TOLLGATE_SQLITE_PATH

# Another tenant's keys, loaded fast (a script per 100,000).
for start in $(seq 1 100000 "$OTHER_KEYS"); do
  rcli eval "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('SET', 'other:' .. i, 'v') end" \
    0 "$start" "$((start + 99999))" >/dev/null
done
check other-tenant-loaded test "$(rcli dbsize)" -ge "$OTHER_KEYS"

sreq() { http POST "$U$1" -H "Authorization: Bearer $S_TOKEN" -d "$2"; }
j() { node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' "$@"; }
# result_is NAME JS: the last body's JSON, as b, makes the expression true.
result_is() {
  if [ "$STATUS" = 200 ] && node -e 'const b = JSON.parse(require("fs").readFileSync(0, "utf8"));
      process.exit(eval(process.argv[1]) ? 0 : 1)' "$2" <"$TG_TMP/body"; then
    pass "$1"
  else
    fail "$1" "want 200 and $2" "got  $STATUS ${BODY:0:400}"
  fi
}

NAMES=()
for i in $(seq 1 50); do NAMES+=("[\"set\",\"k:$i\",\"$i\"]"); done
sreq /pipeline "[$(IFS=,; echo "${NAMES[*]}")]"
check small-db-loaded test "$(rcli --scan --pattern "$PS*" | wc -l)" = 50
http POST "$U/set/probe/pv" -H "Authorization: Bearer $D_TOKEN"

# ---- 1. Answers ---------------------------------------------------------------
sreq / "$(j dbsize)"; result_is dbsize-counts-own-keys 'b.result === 50'
sreq / "$(j keys '*')"
result_is keys-lists-own-keys 'b.result.length === 50 && new Set(b.result).size === 50 &&
  b.result.every((k) => /^k:[0-9]+$/.test(k))'
sreq / "$(j keys 'k:1*')"; result_is keys-pattern 'b.result.sort().join() ===
  ["k:1","k:10","k:11","k:12","k:13","k:14","k:15","k:16","k:17","k:18","k:19"].join()'
sreq / "$(j randomkey)"; result_is randomkey-own-key '/^k:[0-9]+$/.test(b.result)'
# SCAN: the client's cursor loop sees every key (bounded rounds per call).
scan_all() {
  local cur=0 seen='' calls=0
  while :; do
    sreq / "$(j scan "$cur" count 20)"
    [ "$STATUS" = 200 ] || { echo "status $STATUS $BODY"; return 1; }
    cur=$(node -e 'const b = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(b.result[0])' <"$TG_TMP/body")
    seen+=$(node -e 'const b = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const k of b.result[1]) console.log(k)' <"$TG_TMP/body")$'\n'
    calls=$((calls + 1))
    [ "$cur" = 0 ] && break
  done
  SCAN_CALLS=$calls
  test "$(grep -c . <<<"$seen" | tr -d ' ')" -ge 50 && test "$(sort -u <<<"$seen" | grep -c .)" = 50
}
check scan-loop-sees-every-own-key scan_all
echo "    (SCAN loop over $OTHER_KEYS keys of another tenant: $SCAN_CALLS calls)"
# In order with the request's other commands.
sreq /pipeline '[["set","late","1"],["dbsize"],["get","late"],["flushdb"],["get","late"],["dbsize"],["randomkey"],["set","after","2"],["keys","*"]]'
result_is pipeline-walks-in-order 'JSON.stringify(b.map((e) => e.result)) ===
  JSON.stringify(["OK", 51, "1", "OK", null, 0, null, "OK", ["after"]])'
check flushdb-left-other-tenant test "$(rcli dbsize)" -ge "$OTHER_KEYS"
check flushdb-left-only-after test "$(rcli --scan --pattern "$PS*")" = "${PS}after"
sreq /pipeline "[[\"del\",\"after\"],$(IFS=,; echo "${NAMES[*]}")]"

# ---- 2. Latency of another database while walks run ---------------------------
# probe.mjs: GETs on the probe database until the stop file appears; prints
# the count, p50, p99 and max latency in ms.
cat >"$TG_TMP/probe.mjs" <<'EOF'
import { existsSync } from "node:fs";
const [url, token, stop] = process.argv.slice(2);
const lat = [];
while (!existsSync(stop)) {
  const t = performance.now();
  const r = await fetch(`${url}/get/probe`, { headers: { Authorization: `Bearer ${token}` } });
  await r.text();
  lat.push(performance.now() - t);
}
lat.sort((a, b) => a - b);
const at = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
console.log(`${lat.length} ${at(0.5)} ${at(0.99)} ${lat[lat.length - 1].toFixed(1)}`);
EOF
# probe_during NAME CMD...: runs CMD while the probe measures; sets
# PROBE_N, P50, P99, PMAX and WALL_MS (CMD's wall time).
probe_during() {
  local stop=$TG_TMP/stop-$1 out=$TG_TMP/probe-$1 t0 t1
  rm -f "$stop"
  node "$TG_TMP/probe.mjs" "$U" "$D_TOKEN" "$stop" >"$out" &
  local pid=$!
  sleep 0.3
  t0=$(date +%s%N)
  shift
  "$@"
  t1=$(date +%s%N)
  sleep 0.1
  touch "$stop"
  wait "$pid"
  read -r PROBE_N P50 P99 PMAX <"$out"
  WALL_MS=$(((t1 - t0) / 1000000))
}
# The old shape: DBSIZE as one script walking the whole keyspace, run
# directly on Redis - every other client waits for it.
single_call() {
  local i
  for i in 1 2 3; do
    rcli eval "local n, cur = 0, '0' repeat local r = redis.call('SCAN', cur, 'MATCH', ARGV[1], 'COUNT', 1000) cur = r[1] n = n + #r[2] until cur == '0' return n" 0 "$PS*" >/dev/null
  done
}
probe_during single single_call
SINGLE_MS=$((WALL_MS / 3)) SINGLE_PMAX=$PMAX
echo "    single-call walk: ${SINGLE_MS} ms each; probe meanwhile: n=$PROBE_N p50=$P50 p99=$P99 max=$PMAX ms"
walks() {
  sreq / "$(j dbsize)"; result_is walked-dbsize 'b.result === 50'
  sreq / "$(j keys 'k:*')"; result_is walked-keys 'b.result.length === 50'
  sreq /pipeline '[["dbsize"],["randomkey"],["dbsize"],["keys","k:2*"]]'
  result_is walked-pipeline 'b[0].result === 50 && /^k:/.test(b[1].result) && b[2].result === 50 &&
    b[3].result.length === 11'
  sreq / "$(j flushdb)"; result_is walked-flushdb 'b.result === "OK"'
  sreq / "$(j dbsize)"; result_is walked-flushdb-emptied 'b.result === 0'
}
probe_during sliced walks
echo "    sliced walks through the gateway: ${WALL_MS} ms in all (7 walks); probe meanwhile: n=$PROBE_N p50=$P50 p99=$P99 max=$PMAX ms"
check single-call-walk-stalls-others awk -v m="$SINGLE_PMAX" -v s="$SINGLE_MS" 'BEGIN { exit !(s > 50 && m > s / 2) }'
check sliced-walks-keep-others-p99-under-50ms awk -v p="$P99" 'BEGIN { exit !(p < 50) }'
check sliced-walks-outlast-a-single-call test "$WALL_MS" -gt "$SINGLE_MS"
check probe-ran-during-walks test "${PROBE_N:-0}" -gt 20
check other-tenant-intact test "$(rcli dbsize)" -ge "$OTHER_KEYS"

# ---- 3. Limits, waiting, metering ---------------------------------------------
sreq /pipeline '[["dbsize"],["dbsize"],["keys","*"],["flushdb"],["dbsize"],["set","x","1"]]'
result_is five-full-walks-fifth-refused 'b[0].result === 0 && b[1].result === 0 &&
  b[3].result === "OK" && /at most 4/.test(b[4].error) && b[5].result === "OK"'
RK=()
for i in $(seq 1 33); do RK+=('["randomkey"]'); done
sreq /pipeline "[$(IFS=,; echo "${RK[*]}")]"
result_is thirty-three-walks-last-refused 'b.slice(0, 32).every((e) => e.result === "x") &&
  /at most 32/.test(b[32].error)'
# Two walking requests of one database at once: the second waits its turn.
CPIDS=()
for n in 1 2 3; do
  curl -s -o "$TG_TMP/conc-$n" -w '%{http_code}' -X POST "$U/" -H "Authorization: Bearer $S_TOKEN" \
    -d '["dbsize"]' >"$TG_TMP/conc-$n.status" &
  CPIDS+=($!)
done
wait "${CPIDS[@]}"
check concurrent-walks-all-answer sh -c "cat '$TG_TMP'/conc-?.status | tr -d '\n' | grep -qx 200200200 &&
  cat '$TG_TMP'/conc-? | tr -d '\n' | grep -qx '{\"result\":1}{\"result\":1}{\"result\":1}'"
# Billing: a DBSIZE over the shared keyspace is one command per slice.
sleep 0.3
BILLED=$(q "SELECT billable_commands FROM meter_events WHERE database_id = '$S_DB'
  AND command_names = 'DBSIZE' AND kind = 0 ORDER BY id DESC LIMIT 1")
check dbsize-billed-per-slice test "${BILLED:-0}" -ge $((OTHER_KEYS / 1000 / 2))
echo "    a DBSIZE among $OTHER_KEYS keys was billed $BILLED commands (its slices)"
BILLED_SET=$(q "SELECT billable_commands FROM meter_events WHERE database_id = '$D_DB'
  AND command_names = 'SET' ORDER BY id DESC LIMIT 1")
check plain-command-billed-one test "$BILLED_SET" = 1

stop_tollgate "$P_PID" tollgate-exits-cleanly "$TG_TMP/tollgate-$P.log"
echo "# keyspace walks: $(( $(date +%s) - T0 )) s"
