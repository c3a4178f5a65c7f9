#!/usr/bin/env bash
# title: lifecycle: SIGTERM under load, grace deadline, SIGHUP reload (keys, certificate, settings), --user, idle backends
# Issue 14 items 6 and 7. SIGTERM under load: every request the clients
# sent on an accepted connection is answered, and every answer is
# metered (client-side count = meter rows), exit 0; connections still in
# the kernel's listen queue at SIGTERM are served too; a request past
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

# json FILE EXPR [ARGS...]: evaluates EXPR on the JSON in FILE (as `s`;
# ARGS as process.argv[3...]).
json() { node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(eval(process.argv[2]))' "$@"; }

# ---- SIGTERM under load ------------------------------------------------------
start_tollgate P --shutdown-grace-s 10 || exit 1
node "$HERE/lifecycle_load.mjs" "http://127.0.0.1:$P" "$A_TOKEN" 16 60000 "$TG_TMP/term.json" \
  "$TG_TMP/term.ready" &
LOAD=$!
# A script that holds Redis for 2 s is running when SIGTERM comes: it,
# and every request queued behind it, is answered.
SLEEP_LUA="local function now() local t = redis.call('TIME') return t[1] * 1e6 + t[2] end
local e = now() + tonumber(ARGV[1]) * 1e6 while now() < e do end return 'slept'"
for secs in 2 4; do
  node -e 'console.log(JSON.stringify(["eval", process.argv[1], "0", process.argv[2]]))' \
    "$SLEEP_LUA" "$secs" >"$TG_TMP/sleep-$secs.json"
done
slow_request() { # slow_request SECONDS NAME: status and body to NAME.*
  curl -sS -o "$TG_TMP/$2.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $A_TOKEN" \
    --data-binary "@$TG_TMP/sleep-$1.json" "http://127.0.0.1:$P/" >"$TG_TMP/$2.status"
}
# redis_busy: Redis is running the script (a PING gets no answer).
redis_busy() { ! timeout 0.3 redis-cli -p "$RP" ping >/dev/null 2>&1; }
check sigterm-load-started wait_for test -e "$TG_TMP/term.ready"
slow_request 2 blpop &
SLOW=$!
wait_for redis_busy
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

# ---- Connections the kernel queued before SIGTERM are served, not reset -----
start_tollgate P --anon-rate-per-ip 0 || exit 1
kill -STOP "$P_PID"
out=$(python3 "$HERE/lifecycle_backlog.py" "$P" "$P_PID" 200)
check sigterm-queued-connections-answered test "$out" = "answered 200 reset 0 eof 0 other 0"
[ -n "${VERBOSE:-}" ] && echo "    queued: $out"
wait "$P_PID"
check sigterm-queued-exit-0 test $? = 0

# ---- The grace: a request past it is answered 503; no new connection --------
start_tollgate P --shutdown-grace-s 2 || exit 1
slow_request 4 past-grace &
SLOW=$!
wait_for redis_busy
kill -TERM "$P_PID"
# While it drains (still running), a new connection is refused (curl: exit 7).
refused() { curl -s -o /dev/null "http://127.0.0.1:$P/healthz"; [ $? = 7 ] && kill -0 "$P_PID"; }
check draining-refuses-new-connections wait_for refused
wait "$P_PID"
check grace-exit-0 test $? = 0
wait "$SLOW"
check grace-past-deadline-answered-503 test "$(cat "$TG_TMP/past-grace.status")" = 503
check grace-logged grep -q 'requests in flight have 2s' "$TG_TMP/tollgate-$P.log"
# The script is still running in Redis; wait it out before going on.
wait_for redis-cli -p "$RP" ping

# ---- SIGHUP: key and certificate swapped under continuous HTTPS requests ----
mkdir -p "$TG_TMP/hup"
H=$TG_TMP/hup
for n in 1 2; do self_signed "tollgate-$n" "$H/key$n.pem" "$H/cert$n.pem"; done
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
FP1=$(fp "$H/cert1.pem") FP2=$(fp "$H/cert2.pem")
cp "$H/cert1.pem" "$H/cert.pem"; cp "$H/key1.pem" "$H/key.pem"
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$H/k1.secret"
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$H/k2.secret"
echo "k1 HS256 k1.secret" >"$H/keys"
cat >"$H/tollgate.conf" <<CONF
tls_cert = $H/cert.pem
tls_key = $H/key.pem
jwt_keys_file = $H/keys
cors_origins = https://one.example
CONF
start_tollgate S --config "$H/tollgate.conf" --tls-cert "$H/cert.pem" || exit 1
SLOG=$TG_TMP/tollgate-$S.log
US=https://127.0.0.1:$S
TOK1=$(tg token create --db "$A_DB" --ttl 1h --kid k1 --config "$H/tollgate.conf")
node "$HERE/lifecycle_hup.mjs" "$US" "$TOK1" "$H/stop" "$H/mark" "$TG_TMP/hup.json" "$H/ready" &
HUPLOAD=$!
check hup-load-started wait_for test -e "$H/ready"
# The new certificate and key, a second JWT key, another CORS origin, and a
# setting that cannot change live.
cp "$H/cert2.pem" "$H/cert.pem"; cp "$H/key2.pem" "$H/key.pem"
echo "k2 HS256 k2.secret" >>"$H/keys"
sed -i 's|one.example|two.example|' "$H/tollgate.conf"
echo "idle_timeout_s = 30" >>"$H/tollgate.conf"
kill -HUP "$S_PID"
# jwt_secret (the environment's), k1 and k2.
check hup-reloaded wait_for grep -q 'reloaded 3 key(s) and the certificate' "$SLOG"
touch "$H/mark"
check hup-reload-logged grep -q 'settings changed: .*cors_origins' "$SLOG"
check hup-restart-needed-logged grep -q 'idle_timeout_s changed: a restart applies it' "$SLOG"
TOK2=$(tg token create --db "$A_DB" --ttl 1h --kid k2 --config "$H/tollgate.conf")
http GET "$US/get/hup:x" -k -H "Authorization: Bearer $TOK2" -H "Origin: https://two.example"
expect hup-new-key-accepted 200 '{"result":null}'
check hup-new-cors-origin grep -qi '^access-control-allow-origin: https://two.example' <<<"$HEADERS"
served_fp() { openssl s_client -connect "127.0.0.1:$S" </dev/null 2>/dev/null |
  openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'; }
check hup-new-certificate-served test "$(served_fp)" = "$FP2"
# Files that do not load: the configuration in force stays, the log says why.
echo "not a certificate" >"$H/cert.pem"
kill -HUP "$S_PID"
wait_for grep -q 'certificate not reloaded' "$SLOG"
check hup-bad-certificate-keeps-old test "$(served_fp)" = "$FP2"
http GET "$US/get/hup:x" -k -H "Authorization: Bearer $TOK2"
expect hup-bad-certificate-keeps-keys 200 '{"result":null}'
cp "$H/cert1.pem" "$H/cert.pem"   # does not match key.pem (key2)
kill -HUP "$S_PID"
two_refusals() { [ "$(grep -c 'certificate not reloaded' "$SLOG")" -ge 2 ]; }
check hup-mismatched-key-refused wait_for two_refusals
check hup-mismatched-key-keeps-old test "$(served_fp)" = "$FP2"
cp "$H/cert2.pem" "$H/cert.pem"
echo "bogus = 1" >>"$H/tollgate.conf"
kill -HUP "$S_PID"
wait_for grep -q 'configuration not reloaded, the old one stays: .*tollgate.conf:[0-9]*: unknown setting' "$SLOG"
check hup-bad-file-logged grep -q 'configuration not reloaded' "$SLOG"
http GET "$US/get/hup:x" -k -H "Authorization: Bearer $TOK2" -H "Origin: https://two.example"
expect hup-bad-file-keeps-config 200 '{"result":null}'
touch "$H/stop"
wait "$HUPLOAD"
[ -n "${VERBOSE:-}" ] && echo "    hup: $(cat "$TG_TMP/hup.json")"
check hup-requests-ran test "$(json "$TG_TMP/hup.json" 's.ok')" -gt 50
if [ "$(json "$TG_TMP/hup.json" 'JSON.stringify(s.failed)')" = "[]" ]; then pass hup-no-failed-request
else fail hup-no-failed-request "$(cat "$TG_TMP/hup.json")"; fi
check hup-handshakes-saw-both-certificates test "$(json "$TG_TMP/hup.json" \
  "[process.argv[3], process.argv[4]].every(f => s.fingerprints[f] > 0)" "$FP1" "$FP2")" = true
check hup-kept-alive-connections-survive test "$(json "$TG_TMP/hup.json" \
  'Object.values(s.keptAlive).filter(k => k.before > 0 && k.after > 0).length')" -ge 1
stop_tollgate "$S_PID" hup-clean-shutdown "$SLOG"
[ -n "${VERBOSE:-}" ] && grep 'reload' "$SLOG" | sed 's/^/    log: /'

# ---- serve --user: root given up after binding --------------------------
OUT=$("$TG_BIN" serve --port 0 --user no-such-user-tg 2>&1); RC=$?
check user-unknown-refused sh -c "[ $RC != 0 ] && printf '%s' '$OUT' | grep -q 'no-such-user-tg'"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  NOBODY=$(id -u nobody)
  chmod o+x "$TG_TMP"
  # The state directory is root's: refused, clearly, and never left running as root.
  mkdir -p "$TG_TMP/rootonly" && chmod 700 "$TG_TMP/rootonly"
  OUT=$(TOLLGATE_SQLITE_PATH=$TG_TMP/rootonly/state.db timeout 20 "$TG_BIN" serve --port 0 \
    --user nobody 2>&1); RC=$?
  check user-unwritable-state-refused sh -c "[ $RC = 1 ] && printf '%s' '$OUT' | grep -q 'not writable by uid $NOBODY'"
  # A state file root made (tollgate migrate, provision) in the user's directory.
  mkdir -p "$TG_TMP/userstate" && chown nobody "$TG_TMP/userstate"
  export TOLLGATE_SQLITE_PATH=$TG_TMP/userstate/state.db
  TG_MIGRATED=
  provision U --db-index 5 || exit 1
  check user-state-file-made-by-root test "$(stat -c %u "$TOLLGATE_SQLITE_PATH")" = 0
  start_tollgate PU --user nobody || exit 1
  ids=$(awk '/^Uid:|^Gid:/ {print $2, $3, $4, $5}' "/proc/$PU_PID/status" | tr '\n' ' ')
  NOGROUP=$(id -g nobody)
  check user-process-switched test "$ids" = "$NOBODY $NOBODY $NOBODY $NOBODY $NOGROUP $NOGROUP $NOGROUP $NOGROUP "
  check user-no-root-group sh -c "! awk '/^Groups:/' /proc/$PU_PID/status | grep -qw 0"
  check user-logged grep -q "running as nobody (uid $NOBODY" "$TG_TMP/tollgate-$PU.log"
  http POST "http://127.0.0.1:$PU/incr/u" -H "Authorization: Bearer $U_TOKEN"
  expect user-serves 200 '{"result":1}'
  stop_tollgate "$PU_PID" user-clean-shutdown "$TG_TMP/tollgate-$PU.log"
  check user-state-file-adopted test "$(stat -c %u "$TOLLGATE_SQLITE_PATH")" = "$NOBODY"
  check user-request-metered test "$(q "SELECT count(*) FROM meter_events WHERE tenant_id = '$U_TENANT'")" = 1
  # The user plants a link beside the state file, to a file root owns: the
  # next start as root refuses it rather than give that file away.
  echo secret >"$TG_TMP/root-owned" && chmod 600 "$TG_TMP/root-owned"
  rm -f "$TOLLGATE_SQLITE_PATH-wal" && ln -s "$TG_TMP/root-owned" "$TOLLGATE_SQLITE_PATH-wal"
  OUT=$("$TG_BIN" serve --port 0 --user nobody 2>&1); RC=$?
  check user-symlink-refused sh -c "[ $RC != 0 ] && printf '%s' '$OUT' | grep -q 'symbolic link'"
  check user-symlink-target-kept test "$(stat -c %u "$TG_TMP/root-owned")" = 0
  rm -f "$TOLLGATE_SQLITE_PATH-wal"
  export TOLLGATE_SQLITE_PATH=$TG_TMP/state.db
else
  echo "SKIP user-switch (not root: no user to switch to; not counted)"
fi

# ---- Idle backend connections are closed ---------------------------------
dataplane_clients() { redis-cli -p "$RP" client list | grep -c 'user=tollgate-dataplane'; }
start_tollgate PI --redis-idle-timeout-s 1 --redis-connect-timeout-ms 100 \
  --redis-command-timeout-ms 400 || exit 1
http POST "http://127.0.0.1:$PI/incr/idle" -H "Authorization: Bearer $A_TOKEN"
expect idle-first-request 200 '{"result":1}'
check idle-connection-opened test "$(dataplane_clients)" -ge 1
no_dataplane_clients() { [ "$(dataplane_clients)" = 0 ]; }
check idle-connection-closed wait_for no_dataplane_clients
http POST "http://127.0.0.1:$PI/incr/idle" -H "Authorization: Bearer $A_TOKEN"
expect idle-reconnects-on-use 200 '{"result":2}'
stop_tollgate "$PI_PID" idle-clean-shutdown "$TG_TMP/tollgate-$PI.log"
