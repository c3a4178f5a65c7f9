#!/usr/bin/env bash
# title: /healthz and /readyz (state file writable, backends up)
# /readyz is 200 when the gateway can work, 503 with counted reasons when
# the state file cannot take a write (another process holds its write lock)
# or a backend is down, and 200 again once they recover; unauthenticated,
# naming no tenant, database or backend address. The verdict comes from a
# prober thread (at most once a second): the checks wait for it to change.
# Usage: TG_BIN=path/to/tollgate test_health.sh
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --db-index 1 || exit 1
start_tollgate P || exit 1
U=http://127.0.0.1:$P
# ready_is STATUS [REGEX]: waits (10 s at most) for /readyz to answer
# STATUS with a body matching REGEX.
ready_is() {
  local i
  for i in $(seq 100); do
    http GET "$U/readyz"
    [ "$STATUS" = "$1" ] && grep -qE -- "${2:-.}" <<<"$BODY" && return 0
    sleep 0.1
  done
  echo "    last: $STATUS $BODY"
  return 1
}
no_ids() { ! grep -qF -e "$A_TENANT" -e "$A_DB" -e "127.0.0.1" -e ":$RP" <<<"$BODY"; }

http GET "$U/healthz"
expect healthz-200 200 '{"status":"ok"}'
check readyz-ready ready_is 200 '^\{"status":"ready"\}$'
http HEAD "$U/readyz"
check readyz-head-200 test "$STATUS" = 200
http POST "$U/readyz"
check readyz-post-405 test "$STATUS" = 405
check readyz-needs-no-token test "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" = 200

# ---- The state file locked by another writer: not ready, then ready -------
mkfifo "$TG_TMP/lock.in"
sqlite3 "$TOLLGATE_SQLITE_PATH" <"$TG_TMP/lock.in" >/dev/null 2>&1 &
LOCKER=$!
exec 7>"$TG_TMP/lock.in"
# (.timeout: the meter writer may hold the lock for a commit just then)
echo ".timeout 5000" >&7
echo "BEGIN EXCLUSIVE; SELECT 1;" >&7
check locked-state-file-503 ready_is 503 '"state file not writable: database is locked"'
check locked-reason-names-nothing no_ids
http GET "$U/healthz"
check healthz-still-200-when-not-ready test "$STATUS" = 200
echo "ROLLBACK;" >&7
exec 7>&-
wait "$LOCKER"
check unlocked-ready-again ready_is 200 '"ready"'

# ---- The backend down: not ready, counted; back: ready ---------------------
kill "$RP_PID"
wait "$RP_PID" 2>/dev/null
check backend-down-503 ready_is 503 '"1 of 1 backends unreachable"'
check backend-reason-names-nothing no_ids
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$TG_TMP" --logfile "$TG_TMP/redis-again.log" &
TG_PIDS+=("$!")
check backend-back-ready ready_is 200 '"ready"'
check not-ready-logged-once test "$(grep -c 'tollgate: warn: not ready: 1 of 1 backends unreachable' "$TG_TMP/tollgate-$P.log")" = 1
stop_tollgate "$P_PID" shutdown-clean "$TG_TMP/tollgate-$P.log"
