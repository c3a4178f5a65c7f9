#!/usr/bin/env bash
# make bench: tollgate against its peers, in one session, on this machine.
#
# Contenders, all on free loopback ports and all in front of one
# redis-server: tollgate (JWT auth on, as in production), webdis (Debian's,
# the closest peer: a C HTTP front end for Redis), redis-benchmark straight
# to Redis, and a bare libmicrohttpd server answering a fixed body (the
# ceiling of the HTTP library). Each measurement runs ROUNDS times with the
# contenders alternating, so machine noise hits all of them alike; the
# median of the rounds is reported. Only same-run ratios mean anything.
#
# Usage: tests/bench/run.sh build/tollgate build/bench/bare_mhd build/bench/auth_bench
# Env: BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 3),
#      BENCH_CONNS (default 50), BENCH_OUT (JSON, default build/bench/results.json),
#      BENCH_NEIGHBOUR_SECONDS (per neighbour run, default 3)
set -u
cd "$(dirname "$0")/../.."
TG=$(realpath "$1")
BARE=$(realpath "$2")
AUTHB=$(realpath "$3")
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-50}
OUT=${BENCH_OUT:-build/bench/results.json}
TMP=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

. tests/bench/lib.sh
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# ---- Start everything -------------------------------------------------
bench_redis
bench_provision bench
free_port; TP=$FREE_PORT
"$TG" serve --port "$TP" >"$TMP/tollgate.log" 2>&1 &
TG_PID=$!
PIDS+=("$TG_PID")
# The same gateway with metering off, to price metering in the same run.
free_port; TP2=$FREE_PORT
"$TG" serve --port "$TP2" --metering off >"$TMP/tollgate-nometer.log" 2>&1 &
PIDS+=($!)

# Quotas priced in the same run: a database with every limit set (none
# reached), metering off, on gateways with quotas on / on without the
# rate-limit headers / off.
"$TG" plan create --plan benchall --name BenchAll --commands-per-second 100000000 \
  --burst 100000000 --requests-per-second 100000000 --requests-burst 100000000 \
  --daily-commands 100000000000 --monthly-commands 1000000000000 \
  --monthly-bandwidth-bytes 1000000000000000 --request-bytes 1000000 --record-bytes 1000000 \
  --response-bytes 1000000 --concurrent-requests 100000 >/dev/null
QTEN=$("$TG" tenant create --name benchq)
"$TG" plan assign --tenant "$QTEN" --plan benchall >/dev/null
"$TG" tenant budget --tenant "$QTEN" --monthly-micros 1000000000000 >/dev/null
QDB=$("$TG" db create --tenant "$QTEN" --name benchq --db-index 15)
QTOKEN=$("$TG" token create --db "$QDB" --ttl 1d)
redis-cli -p "$RP" -n 15 set bench:k hello >/dev/null
free_port; TP3=$FREE_PORT
"$TG" serve --port "$TP3" --metering off --quotas off >"$TMP/tollgate-noquota.log" 2>&1 &
PIDS+=($!)
free_port; TP4=$FREE_PORT
"$TG" serve --port "$TP4" --metering off --quota-headers off >"$TMP/tollgate-nohdr.log" 2>&1 &
PIDS+=($!)

free_port; WP=$FREE_PORT
cat >"$TMP/webdis.json" <<EOF
{"redis_host": "127.0.0.1", "redis_port": $RP, "http_host": "127.0.0.1",
 "http_port": $WP, "threads": 2, "pool_size": 20, "daemonize": false,
 "verbosity": 0, "logfile": "$TMP/webdis.log"}
EOF
webdis "$TMP/webdis.json" &
PIDS+=($!)
free_port; BP=$FREE_PORT
"$BARE" "$BP" 2 &
PIDS+=($!)

wait_up "http://127.0.0.1:$TP/healthz" || { say "tollgate did not start"; cat "$TMP/tollgate.log"; exit 1; }
wait_up "http://127.0.0.1:$TP2/healthz" || { say "tollgate (metering off) did not start"; exit 1; }
wait_up "http://127.0.0.1:$TP3/healthz" || { say "tollgate (quotas off) did not start"; exit 1; }
wait_up "http://127.0.0.1:$TP4/healthz" || { say "tollgate (quota headers off) did not start"; exit 1; }
wait_up "http://127.0.0.1:$WP/PING" || { say "webdis did not start"; exit 1; }
wait_up "http://127.0.0.1:$BP/" || { say "bare_mhd did not start"; exit 1; }

VAL1K=$(head -c 1024 /dev/zero | tr '\0' v)
redis-cli -p "$RP" set bench:k hello >/dev/null

# Shared (key-prefix) databases on logical DB 1: one, and 100 whose tokens
# wrk rotates per request, so nearly every command switches ACL users
# (an AUTH in the pipeline) - the worst case of sharing.
SHARED_TOKENS=$TMP/shared-tokens.txt
: >"$SHARED_TOKENS"
for i in $(seq 1 100); do
  t=$("$TG" tenant create --name "shared$i")
  d=$("$TG" db create --tenant "$t" --name "shared$i" --isolation prefix --db-index 1)
  "$TG" token create --db "$d" --ttl 1d >>"$SHARED_TOKENS"
  echo "$t $d" >>"$TMP/shared-pairs"
  redis-cli -p "$RP" -n 1 set "$d:bench:k" hello >/dev/null
done
SHARED_ONE=$(head -1 "$SHARED_TOKENS")
cat >"$TMP/rotate.lua" <<'EOF'
local tokens = {}
for line in io.lines(os.getenv("SHARED_TOKENS")) do tokens[#tokens + 1] = line end
local i = math.random(#tokens)
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/get/bench:k", {["Authorization"] = "Bearer " .. tokens[i]})
end
EOF
export SHARED_TOKENS

# ---- Load generators ----------------------------------------------------
# wrk_rps URL [lua]: requests per second; fails loudly on any non-2xx.
wrk_rps() {
  local url=$1 script=${2:-} token=${3:-$TOKEN}
  local out
  out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" ${script:+-s "$script"} \
    -H "Authorization: Bearer $token" "$url" 2>&1)
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    say "wrk against $url reported errors:"; say "$out"
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
lua_post() { # lua_post FILE BODY
  printf 'wrk.method = "POST"\nwrk.body = [==[%s]==]\nwrk.headers["Content-Type"] = "application/json"\n' "$2" >"$1"
}
lua_post "$TMP/get.lua" '["get","bench:k"]'
lua_post "$TMP/set.lua" "[\"set\",\"bench:k1\",\"$VAL1K\"]"
for n in 10 100; do
  body=$(node -e 'const n=+process.argv[1];console.log(JSON.stringify(Array.from({length:n},()=>["get","bench:k"])))' "$n")
  lua_post "$TMP/pipe$n.lua" "$body"
done
rb() { # rb ARGS...: redis-benchmark requests per second
  redis-benchmark -p "$RP" -c "$CONNS" "$@" 2>/dev/null | tr '\r' '\n' |
    awk '/throughput summary/ {print $3}' | tail -1
}

declare -A R
record() { R[$1]="${R[$1]:-} $2"; }

say "tollgate bench: ${ROUNDS} rounds x ${SECS}s, ${CONNS} connections, $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  say "round $round/$ROUNDS"
  record get.tollgate_json "$(wrk_rps "http://127.0.0.1:$TP/" "$TMP/get.lua")"
  record get.webdis "$(wrk_rps "http://127.0.0.1:$WP/GET/bench:k")"
  cpu0=$(awk '{print $14 + $15}' "/proc/$TG_PID/stat")
  rps=$(wrk_rps "http://127.0.0.1:$TP/get/bench:k")
  cpu1=$(awk '{print $14 + $15}' "/proc/$TG_PID/stat")
  record get.tollgate_path "$rps"
  # tollgate's own CPU time per request (user + system), from /proc.
  record cpu_us_per_get.tollgate "$(awk -v a="$cpu0" -v b="$cpu1" -v r="$rps" -v s="$SECS" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz * 1e6 / (r * s)}')"
  record get.tollgate_metering_off "$(wrk_rps "http://127.0.0.1:$TP2/get/bench:k")"
  record get.quotas_on "$(wrk_rps "http://127.0.0.1:$TP2/get/bench:k" "" "$QTOKEN")"
  record get.quotas_no_headers "$(wrk_rps "http://127.0.0.1:$TP4/get/bench:k" "" "$QTOKEN")"
  record get.quotas_off "$(wrk_rps "http://127.0.0.1:$TP3/get/bench:k" "" "$QTOKEN")"
  record get.shared_one "$(wrk_rps "http://127.0.0.1:$TP/get/bench:k" "" "$SHARED_ONE")"
  record get.shared_rotating "$(wrk_rps "http://127.0.0.1:$TP/get/bench:k" "$TMP/rotate.lua")"
  record get.bare_mhd "$(wrk_rps "http://127.0.0.1:$BP/")"
  record get.redis_benchmark "$(rb -t get -n $((SECS * 40000)))"
  record set1k.tollgate "$(wrk_rps "http://127.0.0.1:$TP/" "$TMP/set.lua")"
  record set1k.webdis "$(wrk_rps "http://127.0.0.1:$WP/SET/bench:k2/$VAL1K")"
  record set1k.redis_benchmark "$(rb -t set -d 1024 -n $((SECS * 40000)))"
  for n in 10 100; do
    rps=$(wrk_rps "http://127.0.0.1:$TP/pipeline" "$TMP/pipe$n.lua")
    record "pipe$n.tollgate_cmds" "$(awk -v r="$rps" -v n="$n" 'BEGIN {print r * n}')"
    record "pipe$n.redis_benchmark" "$(rb -t get -P "$n" -n $((SECS * n * 30000)))"
  done
done

declare -A M
for k in "${!R[@]}"; do M[$k]=$(tr ' ' '\n' <<<"${R[$k]}" | grep . | median); done

# ---- Latency at half of tollgate's peak ----------------------------------
# wrk paced by a per-request delay: each connection waits 2 ms between
# requests, so connections = rate x 2 ms; wrk's latency excludes the wait.
HALF=$(awk -v p="${M[get.tollgate_path]}" 'BEGIN {printf "%d", p / 2}')
LAT_CONNS=$(awk -v h="$HALF" 'BEGIN {c = int(h * 0.002 + 0.5); print c < 1 ? 1 : c}')
printf 'function delay() return 2 end\n' >"$TMP/paced.lua"
LAT=$(wrk -t2 -c"$LAT_CONNS" -d"${SECS}s" --latency -s "$TMP/paced.lua" \
  -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TP/get/bench:k" 2>&1)
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0; else printf "%.3f", v * 1000 }'; }
P50=$(ms "$(awk '$1 == "50%" {print $2}' <<<"$LAT")")
P99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$LAT")")
LAT_RPS=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$LAT")

# ---- Neighbours: B's GETs alone vs while A floods past its limit ---------
# A: a database of another tenant (shared, logical DB 1) limited to 1,000
# commands/s; B: the bench database, without limits, on the same gateway.
# B is offered a fixed load (paced like the latency run, at a quarter of
# tollgate's peak: a tenant's normal traffic), A up to 500 requests/s per
# connection (BENCH_CONNS of them, each waiting 2 ms between requests:
# 25,000/s with 50, 25 times its limit, nearly all refused 429; paced so
# that A's wrk does not take a whole core of this machine). Rounds alternate B alone / B with A;
# reported: B's throughput and p50/p99 with A over alone (1.00: unaffected).
# The load generators share the machine, so A's wrk takes CPU from
# everything else too: the ratios bound the neighbour's cost from above.
NSECS=${BENCH_NEIGHBOUR_SECONDS:-3}
FT=$("$TG" tenant create --name flood)
FD=$("$TG" db create --tenant "$FT" --name flood --isolation prefix --db-index 1)
"$TG" db limits --db "$FD" --commands-per-second 1000 --burst 1000 >/dev/null
FTOK=$("$TG" token create --db "$FD" --ttl 1d)
redis-cli -p "$RP" -n 1 set "$FD:bench:k" hello >/dev/null
sleep 1.5   # limits reach the running gateway within a second
NB_CONNS=$(awk -v p="${M[get.tollgate_path]}" 'BEGIN {c = int(p / 4 * 0.002 + 0.5); print c < 1 ? 1 : c}')
paced_b() {
  wrk -t1 -c"$NB_CONNS" -d"${NSECS}s" --latency -s "$TMP/paced.lua" \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TP/get/bench:k" 2>&1
}
nb_record() { # nb_record PREFIX WRK_OUTPUT
  record "$1_rps" "$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$2")"
  record "$1_p50_ms" "$(ms "$(awk '$1 == "50%" {print $2}' <<<"$2")")"
  record "$1_p99_ms" "$(ms "$(awk '$1 == "99%" {print $2}' <<<"$2")")"
}
say "neighbours: B paced with $NB_CONNS connections, ${NSECS}s runs, A limited to 1,000 commands/s"
for round in $(seq "$ROUNDS"); do
  nb_record neighbour.b_alone "$(paced_b)"
  wrk -t1 -c"$CONNS" -d"$((NSECS + 1))s" -s "$TMP/paced.lua" -H "Authorization: Bearer $FTOK" \
    "http://127.0.0.1:$TP/get/bench:k" >"$TMP/flood.txt" 2>&1 &
  FLOOD=$!
  sleep 0.5
  nb_record neighbour.b_with_a_flooding "$(paced_b)"
  wait "$FLOOD"
  record neighbour.a_sent_rps "$(awk '/Requests\/sec/ {printf "%d", $2}' "$TMP/flood.txt")"
  record neighbour.a_refused_share "$(awk '/requests in/ {n = $1} /Non-2xx/ {r = $NF}
    END {printf "%.3f", (n > 0) ? r / n : 0}' "$TMP/flood.txt")"
done
for k in "${!R[@]}"; do M[$k]=$(tr ' ' '\n' <<<"${R[$k]}" | grep . | median); done

# ---- Memory: 1,000 idle keep-alive connections, 10,000 verified tokens ----
# Spread over 115 databases: 15 with their own logical DB (all one Redis
# has left beside the shared one) and the 100 shared ones: 16 backend
# connections per worker, 10,000 cached tokens.
say "memory: issuing 10,000 tokens for 115 databases"
echo "$TEN $DB" >"$TMP/pairs"
echo "$QTEN $QDB" >>"$TMP/pairs"   # logical DB 15, the quota database
for i in $(seq 2 14); do
  t=$("$TG" tenant create --name "bench$i")
  echo "$t $("$TG" db create --tenant "$t" --name "bench$i" --db-index "$i")" >>"$TMP/pairs"
done
cat "$TMP/shared-pairs" >>"$TMP/pairs"
node tests/bench/tokens.mjs "$TOLLGATE_SQLITE_PATH" "$TOLLGATE_JWT_SECRET" "$TMP/pairs" 10000 >"$TMP/tokens.txt"
node tests/bench/use_tokens.mjs "http://127.0.0.1:$TP/get/bench:k" "$TMP/tokens.txt" 50 >"$TMP/use.log" 2>&1 ||
  { say "using the tokens failed:"; cat "$TMP/use.log" >&2; }
coproc IDLE { node tests/bench/idle_conns.mjs "http://127.0.0.1:$TP/healthz" 1000; }
read -r -t 60 line <&"${IDLE[0]}" || line=""
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$TG_PID/status")
# BENCH_SMAPS=FILE keeps the gateway's memory map at that moment (where
# the RSS lives: thread arenas, SQLite caches, connection buffers).
[ -n "${BENCH_SMAPS:-}" ] && cp "/proc/$TG_PID/smaps" "$BENCH_SMAPS"
[ "$line" = "ready 1000" ] || say "idle connections did not all answer: '$line'"
eval "exec ${IDLE[1]}>&-"
wait "$IDLE_PID" 2>/dev/null

# ---- Token checking, in isolation --------------------------------------
AUTH_OUT=$("$AUTHB")
AUTH_HIT=$(awk '/auth_cached_ns/ {print $2}' <<<"$AUTH_OUT")
AUTH_MISS=$(awk '/auth_miss_ns/ {print $2}' <<<"$AUTH_OUT")

# ---- Report ---------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {ok = (dir == ">=") ? v >= t : v < t; print ok ? "met" : "MISSED"}'; }
G=${M[get.tollgate_path]}; GJ=${M[get.tollgate_json]}; W=${M[get.webdis]}; B=${M[get.bare_mhd]}
P100=${M[pipe100.tollgate_cmds]}; RB100=${M[pipe100.redis_benchmark]}
RSS_MB=$(awk -v k="$RSS_KB" 'BEGIN {printf "%.1f", k / 1024}')
{
  printf '\n%-44s %14s\n' "measurement (median of $ROUNDS)" "value"
  printf '%-44s %14.0f\n' "GET, tollgate GET /get/key (req/s)" "$G"
  printf '%-44s %14.0f\n' "GET, tollgate POST / JSON (req/s)" "$GJ"
  printf '%-44s %14.0f\n' "GET, tollgate, metering off (req/s)" "${M[get.tollgate_metering_off]}"
  printf '%-44s %14.0f\n' "GET, shared database (req/s)" "${M[get.shared_one]}"
  printf '%-44s %14.0f\n' "GET, 100 shared dbs, rotating (req/s)" "${M[get.shared_rotating]}"
  printf '%-44s %14s\n' "tollgate CPU per GET (us, user+system)" "${M[cpu_us_per_get.tollgate]}"
  printf '%-44s %14s\n' "token check, cached / miss (ns)" "$AUTH_HIT / $AUTH_MISS"
  printf '%-44s %14.0f\n' "GET, webdis GET /GET/key (req/s)" "$W"
  printf '%-44s %14.0f\n' "GET, bare libmicrohttpd (req/s)" "$B"
  printf '%-44s %14.0f\n' "GET, redis-benchmark direct (req/s)" "${M[get.redis_benchmark]}"
  printf '%-44s %14.0f\n' "SET 1 KB, tollgate (req/s)" "${M[set1k.tollgate]}"
  printf '%-44s %14.0f\n' "SET 1 KB, webdis (req/s)" "${M[set1k.webdis]}"
  printf '%-44s %14.0f\n' "SET 1 KB, redis-benchmark (req/s)" "${M[set1k.redis_benchmark]}"
  printf '%-44s %14.0f\n' "/pipeline of 10, tollgate (commands/s)" "${M[pipe10.tollgate_cmds]}"
  printf '%-44s %14.0f\n' "redis-benchmark -P 10 (commands/s)" "${M[pipe10.redis_benchmark]}"
  printf '%-44s %14.0f\n' "/pipeline of 100, tollgate (commands/s)" "$P100"
  printf '%-44s %14.0f\n' "redis-benchmark -P 100 (commands/s)" "$RB100"
  printf '%-44s %14s\n' "latency at $LAT_RPS req/s: p50 / p99 (ms)" "$P50 / $P99"
  printf '%-44s %14s\n' "RSS, 1,000 idle conns, 10,000 tokens (MB)" "$RSS_MB"
  printf '%-44s %14s\n' "neighbour B alone: req/s, p50 / p99 (ms)" \
    "${M[neighbour.b_alone_rps]}, ${M[neighbour.b_alone_p50_ms]} / ${M[neighbour.b_alone_p99_ms]}"
  printf '%-44s %14s\n' "B while A floods: req/s, p50 / p99 (ms)" \
    "${M[neighbour.b_with_a_flooding_rps]}, ${M[neighbour.b_with_a_flooding_p50_ms]} / ${M[neighbour.b_with_a_flooding_p99_ms]}"
  printf '%-44s %14s\n' "A flooding: sent req/s, share refused 429" \
    "${M[neighbour.a_sent_rps]}, ${M[neighbour.a_refused_share]}"
  printf '\n%-44s %8s %8s %8s\n' "target" "ratio" "goal" "verdict"
  r=$(ratio "$G" "$W"); printf '%-44s %8s %8s %8s\n' "GET vs webdis" "$r" ">=1.5" "$(verdict "$r" 1.5 '>=')"
  r=$(ratio "$G" "$B"); printf '%-44s %8s %8s %8s\n' "GET vs bare libmicrohttpd" "$r" ">=0.65" "$(verdict "$r" 0.65 '>=')"
  printf '%-44s %8s\n' "GET shared db vs dedicated" "$(ratio "${M[get.shared_one]}" "$G")"
  printf '%-44s %8s\n' "GET 100 shared dbs rotating vs dedicated" "$(ratio "${M[get.shared_rotating]}" "$G")"
  printf '%-44s %8.0f %8s %8s\n' "/pipeline 100 commands/s" "$P100" ">=1e6" "$(verdict "$P100" 1000000 '>=')"
  r=$(ratio "$P100" "$RB100"); printf '%-44s %8s %8s %8s\n' "/pipeline 100 vs redis-benchmark -P 100" "$r" ">=0.35" "$(verdict "$r" 0.35 '>=')"
  printf '%-44s %8s %8s %8s\n' "p99 at half load (ms)" "$P99" "<2" "$(verdict "$P99" 2 '<')"
  mcost=$(awk -v on="$G" -v off="${M[get.tollgate_metering_off]}" 'BEGIN {printf "%.1f", (off > 0) ? (1 - on / off) * 100 : 0}')
  printf '%-44s %7s%% %8s %8s\n' "metering cost (throughput, on vs off)" "$mcost" "<10%" "$(verdict "$mcost" 10 '<')"
  qcost() { awk -v on="$1" -v off="${M[get.quotas_off]}" 'BEGIN {printf "%.1f", (off > 0) ? (1 - on / off) * 100 : 0}'; }
  QC=$(qcost "${M[get.quotas_on]}"); QCN=$(qcost "${M[get.quotas_no_headers]}")
  printf '%-44s %7s%% %8s %8s\n' "quota cost, every limit set (on vs off)" "$QC" "<5%" "$(verdict "$QC" 5 '<')"
  printf '%-44s %7s%% %8s %8s\n' "  the same, quota_headers = off" "$QCN" "<5%" "$(verdict "$QCN" 5 '<')"
  acost=$(awk -v a="$AUTH_HIT" -v c="${M[cpu_us_per_get.tollgate]}" 'BEGIN {printf "%.1f", (c > 0) ? a / 1000 / c * 100 : 0}')
  printf '%-44s %7s%% %8s %8s\n' "cached token check, share of CPU per GET" "$acost" "<10%" "$(verdict "$acost" 10 '<')"
  printf '%-44s %8s %8s %8s\n' "RSS (MB)" "$RSS_MB" "<64" "$(verdict "$RSS_MB" 64 '<')"
  NBT=$(ratio "${M[neighbour.b_with_a_flooding_rps]}" "${M[neighbour.b_alone_rps]}")
  NB50=$(ratio "${M[neighbour.b_with_a_flooding_p50_ms]}" "${M[neighbour.b_alone_p50_ms]}")
  NB99=$(ratio "${M[neighbour.b_with_a_flooding_p99_ms]}" "${M[neighbour.b_alone_p99_ms]}")
  printf '%-44s %8s %8s %8s\n' "neighbour throughput, A flooding vs alone" "$NBT" ">=0.95" "$(verdict "$NBT" 0.95 '>=')"
  printf '%-44s %8s\n' "neighbour p50 latency, A flooding vs alone" "$NB50"
  printf '%-44s %8s\n' "neighbour p99 latency, A flooding vs alone" "$NB99"
} | tee "$TMP/table.txt"

mkdir -p "$(dirname "$OUT")"
{
  printf '{"machine":{"cores":%d,"kernel":"%s"},"seconds":%d,"rounds":%d,"connections":%d,"medians":{' \
    "$(nproc)" "$(uname -r)" "$SECS" "$ROUNDS" "$CONNS"
  first=1
  for k in $(printf '%s\n' "${!M[@]}" | sort); do
    [ $first = 1 ] || printf ','
    first=0
    printf '"%s":%s' "$k" "${M[$k]}"
  done
  printf '},"runs":{'
  first=1
  for k in $(printf '%s\n' "${!R[@]}" | sort); do
    [ $first = 1 ] || printf ','
    first=0
    printf '"%s":[%s]' "$k" "$(tr ' ' '\n' <<<"${R[$k]}" | grep . | paste -sd,)"
  done
  printf '},"latency_ms":{"rate":%s,"p50":%s,"p99":%s},"rss_mb":%s,' "${LAT_RPS:-0}" "${P50:-0}" "${P99:-0}" "$RSS_MB"
  printf '"auth_ns":{"cached":%s,"miss":%s},' "${AUTH_HIT:-0}" "${AUTH_MISS:-0}"
  printf '"ratios":{"get_vs_webdis":%s,"get_vs_bare":%s,"pipe100_vs_redis_benchmark":%s,' \
    "$(ratio "$G" "$W")" "$(ratio "$G" "$B")" "$(ratio "$P100" "$RB100")"
  printf '"neighbour_throughput_flood_vs_alone":%s,"neighbour_p50_flood_vs_alone":%s,' \
    "$(ratio "${M[neighbour.b_with_a_flooding_rps]}" "${M[neighbour.b_alone_rps]}")" \
    "$(ratio "${M[neighbour.b_with_a_flooding_p50_ms]}" "${M[neighbour.b_alone_p50_ms]}")"
  printf '"neighbour_p99_flood_vs_alone":%s,' \
    "$(ratio "${M[neighbour.b_with_a_flooding_p99_ms]}" "${M[neighbour.b_alone_p99_ms]}")"
  printf '"quotas_on_vs_off":%s,"quotas_no_headers_vs_off":%s}}\n' \
    "$(ratio "${M[get.quotas_on]}" "${M[get.quotas_off]}")" \
    "$(ratio "${M[get.quotas_no_headers]}" "${M[get.quotas_off]}")"
} >"$OUT"
say "wrote $OUT"
