#!/usr/bin/env bash
# make bench, streams: STREAMS (default 10,000) concurrent server-sent-event
# streams on one gateway (2 worker threads), all subscribed to one channel
# through the multiplexed subscriber connections. Reports the Redis
# connections they take (CLIENT LIST: O(workers), not O(streams)), the
# gateway's RSS per stream, and publish-to-delivery latency p50/p99 at
# that fan-out (tests/bench/sse_bench.mjs); then closes every stream and
# checks that Redis is left with no extra client and no channel.
# Usage: tests/bench/sse.sh build/tollgate
# Env: SSE_STREAMS (default 10000), SSE_MESSAGES (default 10),
#      SSE_INTERVAL_MS (between two publishes, default 1000),
#      BENCH_SSE_OUT (JSON, default build/bench/sse.json)
set -u
cd "$(dirname "$0")/../.."
TG=$(realpath "$1")
N=${SSE_STREAMS:-10000}
MSGS=${SSE_MESSAGES:-10}
OUT=${BENCH_SSE_OUT:-build/bench/sse.json}
TMP=$(mktemp -d /tmp/tollgate-sse.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
# Every stream is a socket at each end, both in this session.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. tests/bench/lib.sh

bench_redis --maxclients 20000
bench_provision sse
free_port; TP=$FREE_PORT
"$TG" serve --port "$TP" --threads 2 --max-connections $((N * 2 + 1000)) \
  --max-connections-per-ip 0 --anon-rate-per-ip 0 >"$TMP/tollgate.log" 2>&1 &
TG_PID=$!
PIDS+=("$TG_PID")
wait_up "http://127.0.0.1:$TP/healthz"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TP/ping" >/dev/null  # backends up
clients() { redis-cli -p "$RP" client list | grep -vc 'cmd=client|list'; }
C0=$(clients)

say "sse: opening $N streams"
node tests/bench/sse_bench.mjs "$TP" "$TOKEN" "$N" "$MSGS" "$TG_PID" >"$TMP/res.json" 2>"$TMP/bench.err" &
BENCH_PID=$!
# While the streams are open (the client is publishing): Redis's view.
for _ in $(seq 600); do
  [ "$(redis-cli -p "$RP" pubsub numsub bench | tail -1)" != 0 ] && break
  sleep 0.1
done
sleep 2
C1=$(clients)
SUBCONNS=$(redis-cli -p "$RP" client list | grep -c 'name=tollgate:pubsub')
THREADS=$(ls "/proc/$TG_PID/task" | wc -l)
wait "$BENCH_PID"
RES=$(head -1 "$TMP/res.json")
[ -n "$RES" ] || { say "the client failed:"; cat "$TMP/bench.err" >&2; RES='{}'; }
# Every stream closed: nothing left behind in Redis.
for _ in $(seq 100); do
  [ -z "$(redis-cli -p "$RP" pubsub channels '*')" ] && [ "$(clients)" -le "$C0" ] && break
  sleep 0.1
done
C2=$(clients)
LEFT=$(redis-cli -p "$RP" pubsub channels '*' | grep -c .)
get() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o[process.argv[2]] ?? 0)' "$RES" "$1"; }
RSS_PER=$(awk -v a="$(get rss_streams_kb)" -v b="$(get rss_idle_kb)" -v n="$(get subscribed)" \
  'BEGIN {printf "%.1f", (n > 0) ? (a - b) / n : 0}')
{
  printf '\n%-52s %14s\n' "SSE fan-out (one channel, 2 workers)" "value"
  printf '%-52s %14s\n' "streams asked / subscribed" "$N / $(get subscribed)"
  printf '%-52s %14s\n' "Redis clients: before / with streams / after" "$C0 / $C1 / $C2"
  printf '%-52s %14s\n' "  of which subscriber connections" "$SUBCONNS"
  printf '%-52s %14s\n' "gateway threads with streams open" "$THREADS"
  printf '%-52s %14s\n' "RSS idle / with streams (MB)" "$(awk -v a="$(get rss_idle_kb)" -v b="$(get rss_streams_kb)" 'BEGIN {printf "%.1f / %.1f", a / 1024, b / 1024}')"
  printf '%-52s %14s\n' "RSS per stream (KB)" "$RSS_PER"
  printf '%-52s %14s\n' "messages delivered / expected" "$(get delivered) / $(get expected)"
  printf '%-52s %14s\n' "publish-to-delivery p50 / p99 / max (ms)" "$(get p50_ms) / $(get p99_ms) / $(get max_ms)"
  printf '%-52s %14s\n' "CPU per delivered message: gateway / client (us)" "$(get gateway_cpu_us_per_delivery) / $(get client_cpu_us_per_delivery)"
  printf '%-52s %14s\n' "channels left after the streams closed" "$LEFT"
} | tee "$TMP/table.txt"
mkdir -p "$(dirname "$OUT")"
node -e 'const o = JSON.parse(process.argv[1]); Object.assign(o, {redis_clients: {before: +process.argv[2], streams: +process.argv[3], after: +process.argv[4]}, subscriber_connections: +process.argv[5], rss_per_stream_kb: +process.argv[6], channels_left: +process.argv[7]}); console.log(JSON.stringify(o))' \
  "$RES" "$C0" "$C1" "$C2" "$SUBCONNS" "$RSS_PER" "$LEFT" >"$OUT"
say "wrote $OUT"
