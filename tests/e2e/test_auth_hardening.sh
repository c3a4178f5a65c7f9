#!/usr/bin/env bash
# title: authentication off the event loop, on the headers; housekeeping bounded
#
# Issue 10, finding 13: a pipeline of 500 COMMAND was unbilled though it
# costs Redis real work (past 8 free housekeeping commands a request bills
# them); request bodies were read in full before the token was checked.
# Issue 11, finding 7: token re-checks and cache misses read SQLite on the
# worker thread, so a blocked state file stopped cached-token traffic too.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A || exit 1
DBF=$TOLLGATE_SQLITE_PATH
q() { sqlite3 -cmd '.timeout 5000' "$DBF" "$@"; }
start_tollgate P --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
AUTH=(-H "Authorization: Bearer $A_TOKEN")

# ---- Housekeeping is free only up to a bound per request -------------------
node -e 'process.stdout.write(JSON.stringify(Array(500).fill(["command"])))' >"$TG_TMP/cmds.json"
http POST "$U/pipeline" "${AUTH[@]}" --data-binary @"$TG_TMP/cmds.json"
check command-pipeline-answered test "$STATUS" = 200
http POST "$U/pipeline" "${AUTH[@]}" -d '[["ping"],["ping"],["echo","x"]]'
check few-pings-answered test "$STATUS" = 200
billed() {
  q "SELECT commands || '/' || billable_commands FROM meter_events WHERE command_names LIKE '$1' ORDER BY time_ms DESC LIMIT 1"
}
has_billed() { test -n "$(billed "$1")"; }
wait_for has_billed 'COMMAND*500'
check command-pipeline-billed-past-8-free test "$(billed 'COMMAND*500')" = 500/492
wait_for has_billed 'PING*2 ECHO'
check few-pings-stay-free test "$(billed 'PING*2 ECHO')" = 3/0
