#!/usr/bin/env bash
# title: access log (JSON lines), X-Request-Id, error logs, no secrets
# The access log is one JSON line per request with its ids and counts and
# none of its values; X-Request-Id is echoed when well-formed, else
# generated (the usage event's id, so the line joins its meter row); a 5xx
# is logged at level error with the request id; log_level filters; and the
# run's logs hold none of the tokens, values and secrets it used (lib.sh's
# scan, whose failure is shown to work on a planted log).
# Usage: TG_BIN=path/to/tollgate test_logs.sh
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --db-index 1 || exit 1
ACC=$TG_TMP/access.log
start_tollgate P --log-requests --access-log "$ACC" --meter-flush-ms 20 || exit 1
U=http://127.0.0.1:$P
LOG=$TG_TMP/tollgate-$P.log
AUTH=(-H "Authorization: Bearer $A_TOKEN")
VAL=v4lue-s3cret-$RANDOM$RANDOM
KEY=k3y-pr1vate-$RANDOM
secret "$VAL"
secret "$KEY"

# lines_settle N: waits until the access log has N lines (a request is
# logged when it completes, just after its answer is sent).
lines_settle() { local i; for i in $(seq 50); do [ "$(wc -l <"$ACC")" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }
# field LINE-NO NAME: a field of the access log's line (1-based), as JSON.
field() { "$PY" -c 'import json,sys; l=open(sys.argv[1]).read().splitlines()[int(sys.argv[2])-1]; print(json.dumps(json.loads(l).get(sys.argv[3], "<absent>")))' "$ACC" "$1" "$2"; }
# line_of RID: the line number of the request whose request_id is RID.
line_of() { "$PY" -c 'import json,sys
for i,l in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    if json.loads(l).get("request_id") == sys.argv[2]: print(i); break' "$ACC" "$1"; }
rid() { sed -n 's/^x-request-id: //Ip' <<<"$HEADERS"; }

BASE=$(wc -l <"$ACC")   # the start-up /healthz probes
# ---- A known request: its line has every field, its ids, no value ----------
http POST "$U/" "${AUTH[@]}" -d "[\"set\",\"$KEY\",\"$VAL\"]"
expect set-ok 200 '{"result":"OK"}'
R1=$(rid)
check generated-request-id-is-numeric grep -qE '^[0-9]{6,20}$' <<<"$R1"
check access-line-written lines_settle $((BASE + 1))
L=$(line_of "$R1")
check line-found-by-request-id test -n "$L"
for f in ts request_id event_id method route path status outcome tenant database jti \
         commands ncommands bytes_in bytes_out latency_ms backend_ms; do
  check "field-$f-present" test "$(field "$L" $f)" != '"<absent>"'
done
check every-line-parses "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$ACC"
JTI=$("$PY" -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["jti"])' "$A_TOKEN")
check field-tenant test "$(field "$L" tenant)" = "\"$A_TENANT\""
check field-database test "$(field "$L" database)" = "\"$A_DB\""
check field-jti test "$(field "$L" jti)" = "\"$JTI\""
check field-commands test "$(field "$L" commands)" = '"SET"'
check field-status test "$(field "$L" status)" = 200
check field-outcome test "$(field "$L" outcome)" = '"ok"'
check field-route test "$(field "$L" route)" = '"/"'
check field-event-id-is-request-id test "$(field "$L" event_id)" = "$R1"
check event-id-joins-meter-row wait_for test "$(q "SELECT count(*) FROM meter_events WHERE id = $R1 AND database_id = '$A_DB'")" = 1

http POST "$U/pipeline" "${AUTH[@]}" -d "[[\"incr\",\"$KEY-n\"],[\"incr\",\"$KEY-n\"],[\"get\",\"$KEY\"]]"
R2=$(rid)
lines_settle $((BASE + 2))
L2=$(line_of "$R2")
check pipeline-command-names test "$(field "$L2" commands)" = '"INCR*2 GET"'
check pipeline-route test "$(field "$L2" route)" = '"/pipeline"'
http GET "$U/get/$KEY" "${AUTH[@]}"
R3=$(rid)
lines_settle $((BASE + 3))
check path-form-shows-no-key test "$(field "$(line_of "$R3")" path)" = '"/get/<1 arg>"'

# ---- X-Request-Id: echoed when well-formed, else replaced --------------------
http GET "$U/get/x" "${AUTH[@]}" -H "X-Request-Id: abc-123_x.y:Z"
check incoming-id-echoed test "$(rid)" = "abc-123_x.y:Z"
lines_settle $((BASE + 4))
check incoming-id-logged test -n "$(line_of "abc-123_x.y:Z")"
LONG=$(printf 'a%.0s' $(seq 65))
for bad in "has space" "$LONG" 'quo"te' 'semi;colon' 'caf%C3%A9'; do
  http GET "$U/get/x" "${AUTH[@]}" -H "X-Request-Id: $bad"
  got=$(rid)
  check "ill-formed-id-replaced:${bad:0:10}" grep -qE '^[0-9]{6,20}$' <<<"$got"
done
http GET "$U/nowhere/at/all"
check id-on-a-404 grep -qE '^[0-9]+$' <<<"$(rid)"
http GET "$U/healthz"
check id-on-healthz grep -qE '^[0-9]+$' <<<"$(rid)"
http GET "$U/get/x" -H "Authorization: Bearer $A_TOKEN-tampered"
check id-on-a-401 grep -qE '^[0-9]+$' <<<"$(rid)"
check ids-distinct test "$(grep -ic '^x-request-id' "$TG_TMP/headers")" = 1

# ---- Error logs: a 5xx says which request, whose ------------------------------
kill "$RP_PID"
wait "$RP_PID" 2>/dev/null
http GET "$U/get/x" "${AUTH[@]}"
check backend-down-503 test "$STATUS" = 503
R5=$(rid)
check error-line-names-request wait_for grep -q "tollgate: error: request $R5 GET /get/<1 arg> .* answered 503.*database $A_DB" "$LOG"
check backend-failure-warned grep -q "tollgate: warn: backend redis://127.0.0.1:$RP" "$LOG"
check access-log-not-on-stderr bash -c "! grep -q '\"request_id\"' '$LOG'"
stop_tollgate "$P_PID" shutdown-clean "$LOG"
check last-line-written-by-shutdown test -n "$(line_of "$R5")"
check every-line-whole "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$ACC"
check bad-access-log-refused bash -c "! '$TG_BIN' serve --port 0 --log-requests --access-log '$TG_TMP/no/such/dir.log' >'$TG_TMP/bad.log' 2>&1 && grep -q 'access_log .*No such file' '$TG_TMP/bad.log'"

# ---- log_level error: warnings go; log_requests off: no access lines ---------
start_redis RP2 || exit 1
start_tollgate P2 --log-level error --redis-url "redis://127.0.0.1:$RP2" || exit 1
LOG2=$TG_TMP/tollgate-$P2.log
provision B --db-index 2 || exit 1
# B's database is on the default backend as the CLI saw it (RP), now down.
http GET "http://127.0.0.1:$P2/get/x" -H "Authorization: Bearer $B_TOKEN"
check level-error-still-logs-5xx wait_for grep -q 'tollgate: error: request' "$LOG2"
check level-error-hides-warnings bash -c "! grep -q 'tollgate: warn:' '$LOG2'"
check no-access-lines-when-off bash -c "! grep -q '\"request_id\"' '$LOG2'"
check bad-level-refused bash -c "! '$TG_BIN' serve --port 0 --log-level chatty 2>&1 | grep -q serving"
stop_tollgate "$P2_PID" shutdown-clean-2 "$LOG2"

# ---- The scan itself can fail: a planted log is caught ----------------------
mkdir -p "$TG_TMP/planted"
printf 'tollgate: oops %s\n' "$VAL" >"$TG_TMP/planted/x.log"
printf 'sig only %s\n' "$(cut -d. -f3 <<<"$A_TOKEN")" >"$TG_TMP/planted/y.log"
printf 'nothing here\n' >"$TG_TMP/planted/z.log"
check scan-catches-a-value bash -c "$(declare -f logs_with_secrets); TG_TMP='$TG_TMP'; logs_with_secrets '$TG_TMP/planted/x.log' >/dev/null"
check scan-catches-a-token-signature bash -c "$(declare -f logs_with_secrets); TG_TMP='$TG_TMP'; logs_with_secrets '$TG_TMP/planted/y.log' >/dev/null"
check scan-passes-a-clean-log bash -c "! { $(declare -f logs_with_secrets); TG_TMP='$TG_TMP'; logs_with_secrets '$TG_TMP/planted/z.log'; }"
check scan-sees-this-runs-logs test "$(ls "$TG_TMP"/*.log | wc -l)" -ge 3
