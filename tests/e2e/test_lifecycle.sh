#!/usr/bin/env bash
# title: lifecycle: SIGTERM under load, grace deadline, SIGHUP reload (keys, certificate, settings), --user, idle backends
# Issue 14 items 6 and 7. SIGTERM under load: every request the clients
# sent on an accepted connection is answered, and every answer is
# metered (client-side count = meter rows), exit 0; a request past
# shutdown_grace_s is answered 503; new connections are refused while
# draining. SIGHUP while HTTPS requests run without pause: a new JWT key
# and a new certificate are taken with no failed request, kept-alive
# connections survive, a bad file keeps the old configuration and says
# why, settings that cannot change live are reported. `serve --user`
# drops root after binding and adopts root-made state files. Backend
# connections unused for redis_idle_timeout_s are closed.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --db-index 1 || exit 1

# json FILE EXPR: evaluates EXPR on the JSON in FILE (as `s`).
json() { node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(eval(process.argv[2]))' "$1" "$2"; }

# ---- SIGTERM under load ------------------------------------------------------
start_tollgate P --shutdown-grace-s 10 || exit 1
node "$HERE/lifecycle_load.mjs" "http://127.0.0.1:$P" "$A_TOKEN" 16 20000 "$TG_TMP/term.json" &
LOAD=$!
# A script that holds Redis for 1.5 s is running when SIGTERM comes: it,
# and every request queued behind it, is answered.
SLEEP_LUA="local function now() local t = redis.call('TIME') return t[1] * 1e6 + t[2] end
local e = now() + tonumber(ARGV[1]) * 1e6 while now() < e do end return 'slept'"
slow_request() { # slow_request SECONDS NAME: in the background, status and body to NAME.*
  curl -s -o "$TG_TMP/$2.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $A_TOKEN" \
    --data-binary "$(node -e 'console.log(JSON.stringify(["eval", process.argv[1], "0", process.argv[2]]))' \
      "$SLEEP_LUA" "$1")" "http://127.0.0.1:$P/" >"$TG_TMP/$2.status"
}
( sleep 0.7; slow_request 1.5 blpop ) &
SLOW=$!
sleep 1
stop_tollgate "$P_PID" sigterm-under-load-exit-0 "$TG_TMP/tollgate-$P.log"
wait "$LOAD" "$SLOW"
ANSWERED=$(json "$TG_TMP/term.json" 's.total')
FAILED=$(json "$TG_TMP/term.json" 'JSON.stringify(s.failed)')
STORED=$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$A_TENANT' AND command_names LIKE 'INCR%'")
[ -n "${VERBOSE:-}" ] && echo "    sigterm: $(cat "$TG_TMP/term.json"), stored $STORED"
check sigterm-load-ran test "$ANSWERED" -gt 100
if [ "$FAILED" = "[]" ]; then pass sigterm-every-sent-request-answered
else fail sigterm-every-sent-request-answered "failed: $FAILED" "$(cat "$TG_TMP/term.json")"; fi
check sigterm-all-answers-200 test "$(json "$TG_TMP/term.json" 'Object.keys(s.answered).join()')" = 200
if [ "$STORED" = "$ANSWERED" ]; then pass sigterm-meter-rows-equal-answers
else fail sigterm-meter-rows-equal-answers "answered $ANSWERED, metered $STORED"; fi
check sigterm-answers-said-close test "$(json "$TG_TMP/term.json" 's.closes')" -ge 1
check sigterm-in-flight-request-answered test "$(cat "$TG_TMP/blpop.status")" = 200
check sigterm-in-flight-request-ran test "$(cat "$TG_TMP/blpop.body")" = '{"result":"slept"}'
check sigterm-meter-drained grep -q 'metering: .* 0 lost' "$TG_TMP/tollgate-$P.log"
