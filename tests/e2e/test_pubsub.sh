#!/usr/bin/env bash
# title: pub/sub and monitor over server-sent events
# /subscribe, /psubscribe and /monitor (gateway/handlers/pubsub.h) against
# a real Redis: the official client's Subscriber in both isolation modes
# (tests/node/pubsub.test.mjs), the SSE framing seen by curl, heartbeats,
# refusals, a read-only token, confinement of channels and of MONITOR
# lines between tenants (two shared databases in one logical DB, two
# dedicated ones), subscribe/disconnect cycles counted on the Redis side
# (CLIENT LIST, PUBSUB), a slow reader cut off, the concurrency quota, the
# metering of streams, and SIGTERM ending open streams cleanly.
# Usage: TG_BIN=path/to/tollgate test_pubsub.sh
. "$(dirname "$0")/lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)

start_redis RP || exit 1
rcli() { redis-cli -p "$RP" "$@"; }
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision D --name ps-dedicated --db-index 1 --scope rw || exit 1
provision DR --db "$D_DB" --scope ro || exit 1
provision D2 --name ps-dedicated-2 --db-index 2 --scope rw || exit 1
provision S --name ps-shared --isolation prefix --scope rw || exit 1
provision SR --db "$S_DB" --scope ro || exit 1
provision O --name ps-other --isolation prefix --scope rw || exit 1
provision Q --name ps-quota --isolation prefix --scope rw || exit 1
tg db limits --db "$Q_DB" --concurrent-requests 1 >/dev/null
MP=$(free_port)
start_tollgate P --sse-heartbeat-s 1 --sse-buffer-bytes 65536 --max-connections-per-ip 0 \
  --anon-rate-per-ip 0 --metrics-listen "127.0.0.1:$MP" || exit 1
metric() { curl -s "http://127.0.0.1:$MP/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
U=http://127.0.0.1:$P
LOG=$TG_TMP/tollgate-$P.log
auth() { echo "Authorization: Bearer $1"; }
pub() { curl -s -H "$(auth "$1")" "$U/publish/$2/$3"; }

# ---- The official client, both isolation modes.
TOLLGATE_URL=$U TOLLGATE_PS_DEDICATED_TOKEN=$D_TOKEN TOLLGATE_PS_DEDICATED_RO_TOKEN=$DR_TOKEN \
  TOLLGATE_PS_SHARED_TOKEN=$S_TOKEN TOLLGATE_PS_SHARED_RO_TOKEN=$SR_TOKEN \
  TOLLGATE_PS_OTHER_TOKEN=$O_TOKEN node_tests pubsub pubsub.test.mjs

# ---- SSE framing as curl sees it; a heartbeat comes within 1 s.
curl -sN -X POST -H "$(auth "$S_TOKEN")" -H 'Accept: text/event-stream' -d '[]' \
  -D "$TG_TMP/h1" -o "$TG_TMP/s1" --max-time 4 "$U/subscribe/a%2Cb/c" &
C1=$!
wait_for grep -q 'subscribe,c,2' "$TG_TMP/s1"
check curl-headers-at-once grep -qi '^content-type: text/event-stream' "$TG_TMP/h1"
pub "$S_TOKEN" a%2Cb 'x%0Ay' >/dev/null
pub "$S_TOKEN" c 'raw,not-base64' >/dev/null
wait "$C1"
WANT=$'data: subscribe,a,b,1\n\ndata: subscribe,c,2\n\ndata: message,a,b,x\ndata: y\n\ndata: message,c,raw,not-base64\n\n'
GOT=$(grep -v '^: keepalive' "$TG_TMP/s1" | grep -v '^$' | tr -d '\r')
WANTL=$(printf '%s' "$WANT" | grep -v '^$')
if [ "$GOT" = "$WANTL" ]; then pass sse-events-exact; else fail sse-events-exact "got: $GOT"; fi
check sse-heartbeat grep -q '^: keepalive$' "$TG_TMP/s1"

# ---- A name asked twice is one subscription (as in Redis).
curl -sN -H "$(auth "$D_TOKEN")" -o "$TG_TMP/dup" --max-time 2 "$U/subscribe/dup/dup" &
C2=$!
wait_for grep -q 'subscribe,dup,1' "$TG_TMP/dup"
pub "$D_TOKEN" dup once >/dev/null
wait "$C2"
check duplicate-name-one-subscription test "$(grep -c '^data: ' "$TG_TMP/dup")" = 2

# ---- Refusals: JSON errors with the right status.
http POST "$U/subscribe/x"
expect no-token-401 401 '{"error":"WRONGPASS invalid or missing auth token"}'
http POST "$U/subscribe/" -H "$(auth "$D_TOKEN")"
expect_match no-channel-400 400 'wrong number of arguments'
http POST "$U/publish/x/y" -H "$(auth "$DR_TOKEN")"
expect_match read-only-publish-403 403 'error'
http GET "$U/monitor" -H "$(auth invalid)"
expect_match monitor-bad-token-401 401 '^\{"error":"'

# ---- Channels are confined: the same name in five databases.
BG=()
for t in D D2 S O; do
  tok=${t}_TOKEN
  curl -sN -H "$(auth "${!tok}")" -o "$TG_TMP/iso-$t" --max-time 3 "$U/subscribe/shared-name" &
  BG+=($!)
done
wait_for sh -c "grep -l 'subscribe,shared-name' $TG_TMP/iso-* | wc -l | grep -qx 4"
for t in D D2 S O; do tok=${t}_TOKEN; pub "${!tok}" shared-name "from-$t" >/dev/null; done
wait "${BG[@]}"
confined() {
  for t in D D2 S O; do
    [ "$(grep -c '^data: message' "$TG_TMP/iso-$t")" = 1 ] &&
      grep -q "^data: message,shared-name,from-$t$" "$TG_TMP/iso-$t" || return 1
  done
}
check channels-confined confined
check channels-namespaced-in-redis sh -c "[ -z \"\$(redis-cli -p $RP pubsub channels 'shared-name')\" ]"

# ---- MONITOR: each stream sees its own database's commands only.
curl -sN -H "$(auth "$S_TOKEN")" -o "$TG_TMP/mon-s" --max-time 4 "$U/monitor" &
BG=($!)
curl -sN -H "$(auth "$D_TOKEN")" -o "$TG_TMP/mon-d" --max-time 4 "$U/monitor" &
BG+=($!)
wait_for grep -q '"OK"' "$TG_TMP/mon-s"
wait_for grep -q '"OK"' "$TG_TMP/mon-d"
SP="$S_DB:"
curl -s -H "$(auth "$O_TOKEN")" -d "[\"set\",\"${SP}o-key\",\"${SP}o-secret\"]" "$U/" >/dev/null
curl -s -H "$(auth "$O_TOKEN")" "$U/echo/${SP}o-echo" >/dev/null
curl -s -H "$(auth "$O_TOKEN")" "$U/set/o-plain/o-secret2" >/dev/null
curl -s -H "$(auth "$D2_TOKEN")" "$U/set/d2-key/d2-secret" >/dev/null
curl -s -H "$(auth "$S_TOKEN")" "$U/set/s-key/s-value" >/dev/null
curl -s -H "$(auth "$D_TOKEN")" "$U/set/d-key/d-value" >/dev/null
pub "$D_TOKEN" mon-ch mon-msg >/dev/null
wait "${BG[@]}"
check monitor-ok-first sh -c "head -1 $TG_TMP/mon-s | grep -qx 'data: \"OK\"'"
check monitor-own-shared grep -q '\\"set\\" \\"s-key\\" \\"s-value\\"' "$TG_TMP/mon-s"
check monitor-own-dedicated grep -q '\\"set\\" \\"d-key\\" \\"d-value\\"' "$TG_TMP/mon-d"
check monitor-publish-without-namespace grep -q '\\"publish\\" \\"mon-ch\\" \\"mon-msg\\"' "$TG_TMP/mon-d"
check monitor-no-neighbour-shared sh -c "! grep -qE 'o-secret|o-echo|o-plain|d2-|d-key' $TG_TMP/mon-s"
check monitor-no-neighbour-dedicated sh -c "! grep -qE 'o-secret|o-echo|o-plain|d2-|s-key' $TG_TMP/mon-d"
check monitor-no-prefix-shown sh -c "! grep -q '$S_DB' $TG_TMP/mon-s"
check monitor-connection-closed sh -c "sleep 0.5; ! redis-cli -p $RP client list | grep -q 'name=tollgate:monitor'"

# ---- Subscribe/disconnect cycles leave nothing behind in Redis or here.
sleep 0.3
BASE_CLIENTS=$(rcli client list | grep -vc 'cmd=client|list')
THREADS0=$(ls /proc/"$P_PID"/task | wc -l)
RSS0=$(awk '/VmRSS/ {print $2}' /proc/"$P_PID"/status)
CYCLES=${PUBSUB_CYCLES:-10000}
OUT=$(node "$DIR/sse_cycles.mjs" "$P" "$D_TOKEN" "$CYCLES" 100 cyc-)
check cycles-all-subscribed grep -q "\"ok\":$CYCLES," <<<"$OUT" || echo "    $OUT"
settled() {
  [ "$(rcli client list | grep -vc 'cmd=client|list')" -le "$BASE_CLIENTS" ] &&
    [ -z "$(rcli pubsub channels '*cyc-*')" ]
}
check cycles-no-extra-redis-clients wait_for settled
check cycles-subscriber-connections-bounded \
  sh -c "[ \$(redis-cli -p $RP client list | grep -c 'name=tollgate:pubsub') -le 2 ]"
check cycles-no-extra-threads test "$(ls /proc/"$P_PID"/task | wc -l)" -eq "$THREADS0"
RSS1=$(awk '/VmRSS/ {print $2}' /proc/"$P_PID"/status)
# Memory: bounded, not growing with the cycles (a leak of 1 KB per cycle
# would show 10 MB); allocator slack allowed. Under AddressSanitizer freed
# memory sits in its quarantine (RSS grows by design): its leak check at
# exit (stop_tollgate) is the check there.
if ldd "$TG_BIN" | grep -q libasan; then
  pass cycles-memory-checked-by-asan-at-exit
else
  check cycles-memory-bounded test $((RSS1 - RSS0)) -lt 8192 || echo "    RSS $RSS0 -> $RSS1 kB"
fi

# ---- A slow reader is cut off, and its channel released.
node "$DIR/sse_slow.mjs" "$P" "$S_TOKEN" slowch 60 &
SLOW=$!
wait_for sh -c "redis-cli -p $RP pubsub numsub '$S_DB:slowch' | tail -1 | grep -qx 1"
BIG=$(head -c 60000 /dev/zero | tr '\0' 'z')
for i in $(seq 1 600); do
  curl -s -H "$(auth "$S_TOKEN")" -d "[\"publish\",\"slowch\",\"$BIG\"]" "$U/" | grep -q '"result":0' && break
done
check slow-reader-cut-off grep -q 'stream cut off: its client reads too slowly' "$LOG"
check slow-reader-channel-released sh -c "redis-cli -p $RP pubsub numsub '$S_DB:slowch' | tail -1 | grep -qx 0"
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null
check metrics-slow-reader-counted test "$(metric tollgate_sse_streams_dropped_total)" -ge 1

# ---- A stream holds a concurrent_requests slot while it is open.
sleep 1.2   # the quota refresher reloads limits every second
curl -sN -H "$(auth "$Q_TOKEN")" -o "$TG_TMP/q1" --max-time 3 "$U/subscribe/q" &
Q1=$!
wait_for grep -q 'subscribe,q,1' "$TG_TMP/q1"
http POST "$U/subscribe/q" -H "$(auth "$Q_TOKEN")"
expect_match concurrency-second-stream-429 429 'max concurrent connections exceeded|concurrent'
wait "$Q1"

# ---- Metering: one stream event per stream, commands = 1 + messages.
sleep 1.5
check metered-stream-kind test "$(q "select count(*) from meter_events where kind = 4
  and database_id = '$S_DB' and commands >= 1")" -ge 1
check metered-messages-count test "$(q "select max(commands) from meter_events where kind = 4
  and database_id = '$D_DB'")" -ge 3

# ---- A subscription Redis refuses ends the stream (it never waits on a
# confirmation that cannot come). The URL's user (default) may not
# SUBSCRIBE for a moment; the shared subscriber connection is dropped.
redis-cli -p "$RP" acl setuser default -subscribe >/dev/null
curl -sN -H "$(auth "$D_TOKEN")" -o "$TG_TMP/refused" --max-time 10 "$U/subscribe/nope" &
R1=$!
T0=$(date +%s)
wait "$R1"
check refused-subscription-ends-stream test $(( $(date +%s) - T0 )) -lt 8
check refused-subscription-logged grep -q 'backend refused a subscription' "$LOG"
check refused-subscription-no-event sh -c "! grep -qs 'subscribe,nope' '$TG_TMP/refused'"
redis-cli -p "$RP" acl setuser default +subscribe >/dev/null
sleep 0.5   # past the subscriber connection's reconnect delay (200 ms)

# ---- SIGTERM ends open streams cleanly (the chunked body terminated).
curl -sN -H "$(auth "$D_TOKEN")" -o "$TG_TMP/term" --max-time 20 "$U/subscribe/bye" &
T1=$!
check sigterm-stream-subscribed wait_for grep -q 'subscribe,bye,1' "$TG_TMP/term"
grep -q 'subscribe,bye,1' "$TG_TMP/term" || sed 's/^/    got: /' "$TG_TMP/term"
check metrics-open-streams test "$(metric tollgate_sse_streams)" = 1
stop_tollgate "$P_PID" clean-shutdown-with-streams "$LOG"
wait "$T1"
check sigterm-stream-ended-cleanly test $? -eq 0

# ---- The same over HTTPS: streams run through GnuTLS (libmicrohttpd's TLS
# connections are pushed to differently), a published message and a
# monitored command arrive, and SIGTERM ends both streams cleanly.
if self_signed localhost "$TG_TMP/key.pem" "$TG_TMP/cert.pem"; then
  start_tollgate TP --sse-heartbeat-s 1 --tls-cert "$TG_TMP/cert.pem" --tls-key "$TG_TMP/key.pem" ||
    exit 1
  TU=https://localhost:$TP
  TLS=(--cacert "$TG_TMP/cert.pem" --resolve "localhost:$TP:127.0.0.1")
  curl -sN "${TLS[@]}" -H "$(auth "$S_TOKEN")" -o "$TG_TMP/tls-sub" --max-time 20 \
    "$TU/subscribe/tls-ch" &
  TS=$!
  curl -sN "${TLS[@]}" -H "$(auth "$S_TOKEN")" -o "$TG_TMP/tls-mon" --max-time 20 "$TU/monitor" &
  TM=$!
  check tls-sse-subscribed wait_for grep -q 'subscribe,tls-ch,1' "$TG_TMP/tls-sub"
  check tls-monitor-started wait_for grep -q '"OK"' "$TG_TMP/tls-mon"
  curl -s "${TLS[@]}" -H "$(auth "$S_TOKEN")" "$TU/publish/tls-ch/over-tls" >/dev/null
  curl -s "${TLS[@]}" -H "$(auth "$S_TOKEN")" "$TU/set/tls-key/tls-value" >/dev/null
  check tls-sse-message wait_for grep -q 'message,tls-ch,over-tls' "$TG_TMP/tls-sub"
  check tls-monitor-command wait_for grep -q '\\"set\\" \\"tls-key\\" \\"tls-value\\"' "$TG_TMP/tls-mon"
  check tls-sse-heartbeat wait_for grep -q '^: keepalive' "$TG_TMP/tls-sub"
  stop_tollgate "$TP_PID" clean-shutdown-tls-streams "$TG_TMP/tollgate-$TP.log"
  wait "$TS"
  check tls-sse-ended-cleanly test $? -eq 0
  wait "$TM"
  check tls-monitor-ended-cleanly test $? -eq 0
else
  fail tls-sse-subscribed "openssl could not make a certificate"
fi
