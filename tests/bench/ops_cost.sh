#!/usr/bin/env bash
# tests/bench/ops_cost.sh - what the operations surface costs on the hot
# path: GET /get/k with wrk -t2 -c50 against three gateways on one Redis,
# run in turn (A B C, A B C, ...) so drift hits each alike; medians.
#   A: metrics on, access log off (the default)
#   B: metrics off, access log off
#   C: metrics on, access log on (to a file)
# Usage: tests/bench/ops_cost.sh [BINARY] [RUNS] [SECONDS]
set -u
BIN=$(realpath "${1:-build/tollgate}")
RUNS=${2:-5}
SECS=${3:-5}
TMP=$(mktemp -d /tmp/tollgate-opscost.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); port_in_use "$p" || { echo "$p"; return; }; done; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

export TOLLGATE_SQLITE_PATH=$TMP/state.db
export TOLLGATE_JWT_SECRET=bench-secret-bench-secret-bench-secret-01
export TOLLGATE_ACL_SECRET=bench-acl-secret-bench-acl-secret-bench-01
RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --logfile "$TMP/redis.log" &
PIDS+=($!)
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
sleep 0.3
"$BIN" migrate >/dev/null
T=$("$BIN" tenant create --name bench)
D=$("$BIN" db create --tenant "$T" --name main --db-index 1)
TOK=$("$BIN" token create --db "$D" --ttl 1h)
start() { # start VAR ARGS...
  local var=$1 port
  shift
  port=$(free_port)
  "$BIN" serve --port "$port" --threads 2 "$@" >"$TMP/tg-$var.log" 2>&1 &
  PIDS+=($!)
  wait_up "http://127.0.0.1:$port/healthz" || { echo "tollgate $var did not start" >&2; exit 1; }
  printf -v "$var" '%s' "$port"
}
start A
start B --metrics off
start C --log-requests --access-log "$TMP/access.log"
rps() {
  wrk -t2 -c50 -d"${SECS}s" -H "Authorization: Bearer $TOK" "http://127.0.0.1:$1/get/k" |
    awk '/^Requests\/sec/ {print $2}'
}
for p in "$A" "$B" "$C"; do rps "$p" >/dev/null; done   # warm up
declare -A R
for i in $(seq "$RUNS"); do
  for v in A B C; do R[$v]="${R[$v]:-} $(rps "${!v}")"; done
  echo "run $i: metrics on ${R[A]##* }  metrics off ${R[B]##* }  access log on ${R[C]##* }" >&2
done
ma=$(tr ' ' '\n' <<<"${R[A]}" | grep . | median)
mb=$(tr ' ' '\n' <<<"${R[B]}" | grep . | median)
mc=$(tr ' ' '\n' <<<"${R[C]}" | grep . | median)
echo "median req/s over $RUNS runs of ${SECS}s: metrics on $ma, metrics off $mb, metrics on + access log $mc"
awk -v a="$ma" -v b="$mb" -v c="$mc" 'BEGIN {
  printf "metrics on / off: %.3f; access log on / off: %.3f\n", a / b, c / a }'
echo "access log lines written: $(wc -l <"$TMP/access.log")"
