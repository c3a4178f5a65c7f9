#!/usr/bin/env bash
# title: memory bounds: slow readers of large answers, bursts of pipelines
# Issue 10 finding 8 and issue 11 finding 5. A 15 MB value of control
# bytes is 90 MB of JSON: 30 clients that ask for it and never read keep
# the gateway's RSS under a stated ceiling and another tenant fast; an
# encoded answer over max_response_bytes is a 400; a burst of pipelines
# over max_inflight_bytes gets 503 + Retry-After for the excess (never
# after running), RSS falls back after it, and every command that ran is
# metered.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --db-index 1 || exit 1
provision B --db-index 2 || exit 1
head -c 15000000 /dev/zero | redis-cli -p "$RP" -n 1 -x set big >/dev/null
head -c 200000 /dev/zero | redis-cli -p "$RP" -n 1 -x set mid >/dev/null
redis-cli -p "$RP" -n 2 set small v >/dev/null
# RSS and latency are the release binary's: under AddressSanitizer (what
# tests/run.sh drives) freed memory sits in its quarantine and everything
# is several times slower. The functional checks also run on TG_BIN.
MEM_BIN=$TG_BIN
if ldd "$TG_BIN" 2>/dev/null | grep -q libasan; then
  MEM_BIN=$(realpath "${TG_RELEASE_BIN:-build/tollgate}" 2>/dev/null)
  [ -x "$MEM_BIN" ] || { fail memory-release-binary "no release binary (TG_RELEASE_BIN) to measure"; exit 1; }
fi
echo "    measuring $MEM_BIN"
num() { node -e 'const o = JSON.parse(process.argv[1]); process.stdout.write(String(eval(process.argv[2])))' "$1" "$2"; }

# ---- Slow readers (defaults: max_inflight_bytes 128 MB per worker) ------
TG_BIN=$MEM_BIN start_tollgate P --metering off || exit 1
U=http://127.0.0.1:$P
node "$HERE/slow_readers.mjs" "$P" "$P_PID" "$A_TOKEN" /get/big 30 "$B_TOKEN" 6 >"$TG_TMP/slow.json" &
SR=$!
sleep 3
# Both workers hold a 90 MB answer nobody reads: another is refused, 503.
http GET "$U/get/big" -H "Authorization: Bearer $A_TOKEN"
if [ "$STATUS" = 503 ] && grep -qi '^retry-after: 1' <<<"$HEADERS"; then
  pass large-answer-over-budget-is-503-retry-after
else
  fail large-answer-over-budget-is-503-retry-after "got $STATUS $(head -c 200 <<<"$BODY")"
fi
wait "$SR"
OUT=$(cat "$TG_TMP/slow.json")
echo "    slow readers: $OUT"
# 2 workers x (one 90 MB answer held + a 15 MB reply read) + the base.
if [ "$(num "$OUT" o.peak_rss_mb)" -lt 400 ]; then pass slow-readers-rss-under-400mb
else fail slow-readers-rss-under-400mb "$OUT"; fi
if [ "$(num "$OUT" 'o.other.p99_ms < 1000 && o.other.statuses["200"] === o.other.n')" = true ]; then
  pass other-tenant-fast-during-slow-readers
else fail other-tenant-fast-during-slow-readers "$OUT"; fi
kill -TERM "$P_PID"; wait "$P_PID"

# ---- max_response_bytes caps the encoded size ---------------------------
start_tollgate Q --metering off --max-response-bytes 1000000 || exit 1
U=http://127.0.0.1:$Q
# 200,000 control bytes: 1.2 MB of JSON, over; 266,668 bytes of base64, under.
http GET "$U/get/mid" -H "Authorization: Bearer $A_TOKEN"
expect_match response-over-cap-is-400 400 '^\{"error":"ERR response too large: .*max_response_bytes \(1000000\)'
http GET "$U/get/mid" -H "Authorization: Bearer $A_TOKEN" -H "Upstash-Encoding: base64"
check response-under-cap-in-base64-is-200 test "$STATUS" = 200 -a "${#BODY}" -eq 266681
kill -TERM "$Q_PID"; wait "$Q_PID"

# ---- A burst of pipelines over max_inflight_bytes (32 MB per worker) ----
TG_BIN=$MEM_BIN start_tollgate R --max-inflight-bytes 33554432 || exit 1
LOG=$TG_TMP/tollgate-$R.log
OUT=$(node "$HERE/burst.mjs" "$R" "$R_PID" "$A_TOKEN" 100 20000)
echo "    burst: $OUT"
sleep 2
AFTER=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$R_PID/status")
echo "    rss 2 s after: ${AFTER} MB"
if [ "$(num "$OUT" 'Object.keys(o.statuses).every((s) => s === "200" || s === "503") && (o.statuses["503"] ?? 0) === o.retry_after && o.retry_after > 0')" = true ]; then
  pass burst-excess-is-503-retry-after
else fail burst-excess-is-503-retry-after "$OUT"; fi
# 2 workers x 1.25 x 32 MB charged, plus what the estimate misses and the base.
if [ "$(num "$OUT" o.peak_rss_mb)" -lt 200 ]; then pass burst-rss-under-200mb
else fail burst-rss-under-200mb "$OUT"; fi
check burst-rss-falls-back-under-64mb test "$AFTER" -lt 64
RAN=$(redis-cli -p "$RP" -n 1 get burst)
stop_tollgate "$R_PID" burst-exit-clean "$LOG"
check burst-meter-lost-nothing grep -q ' 0 lost' "$LOG"
BILLED=$(sqlite3 "$TOLLGATE_SQLITE_PATH" "select sum(billable_commands) from meter_events where database_id='$A_DB'")
check burst-every-command-metered test "$BILLED" = "$RAN"
# What ran is what was answered 200, plus any pipeline whose answer did not
# fit the budget when it came back (503 after running: metered
# sent_unanswered, billed); a 503 refused up front never ran.
LATE=$(sqlite3 "$TOLLGATE_SQLITE_PATH" "select coalesce(sum(billable_commands), 0) from meter_events where database_id='$A_DB' and outcome = 8")
check burst-503s-ran-only-when-metered-so test "$RAN" = "$(( $(num "$OUT" o.incr_answered) + LATE ))"

# ---- The same burst's refusals on TG_BIN (the sanitizer build) ----------
redis-cli -p "$RP" -n 1 del burst >/dev/null
sqlite3 "$TOLLGATE_SQLITE_PATH" "delete from meter_events where database_id='$A_DB'"
start_tollgate S --max-inflight-bytes 8388608 || exit 1
LOG=$TG_TMP/tollgate-$S.log
OUT=$(node "$HERE/burst.mjs" "$S" "$S_PID" "$A_TOKEN" 30 20000)
echo "    burst on $(basename "$(dirname "$TG_BIN")"): $OUT"
if [ "$(num "$OUT" 'Object.keys(o.statuses).every((s) => s === "200" || s === "503") && (o.statuses["503"] ?? 0) === o.retry_after')" = true ]; then
  pass small-burst-200-or-503-retry-after
else fail small-burst-200-or-503-retry-after "$OUT"; fi
RAN=$(redis-cli -p "$RP" -n 1 get burst)
stop_tollgate "$S_PID" small-burst-exit-clean "$LOG"
BILLED=$(sqlite3 "$TOLLGATE_SQLITE_PATH" "select coalesce(sum(billable_commands), 0) from meter_events where database_id='$A_DB'")
check small-burst-every-command-metered test "$BILLED" = "${RAN:-0}"
LATE=$(sqlite3 "$TOLLGATE_SQLITE_PATH" "select coalesce(sum(billable_commands), 0) from meter_events where database_id='$A_DB' and outcome = 8")
check small-burst-503s-ran-only-when-metered-so test "${RAN:-0}" = "$(( $(num "$OUT" o.incr_answered) + LATE ))"
