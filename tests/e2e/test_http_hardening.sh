#!/usr/bin/env bash
# title: HTTP hardening: logs, framing, oversized heads and bodies, slow heads, drain
# Issue 10 findings 10 and 12, issue 11 findings 6 and 8: the request log
# carries no values, passwords or raw control bytes; ambiguous framing is
# refused and closes; oversized heads end in a readable answer, not a
# reset; bodies over the limit reach Node's fetch as a 413; slow request
# heads are cut at a deadline while others are served; a request in
# flight at SIGTERM is answered with Connection: close.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --db-index 1 || exit 1
TOK=$A_TOKEN
# A backend whose password must never be printed (nothing listens there).
tg db create --tenant "$A_TENANT" --name gone --db-index 2 \
  --redis-url "redis://app:hunter2-pw@127.0.0.1:$(free_port)/0" >/dev/null 2>&1
start_tollgate P --log-requests --header-timeout-s 2 --max-request-bytes 65536 || exit 1
LOG=$TG_TMP/tollgate-$P.log
U=http://127.0.0.1:$P
AUTH=(-H "Authorization: Bearer $TOK")
raw() { node "$HERE/raw_http.mjs" "$P" "$@"; }
req() { # req METHOD PATH [extra header lines...] : a request head, CRLF ended
  local m=$1 p=$2
  shift 2
  printf '%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n' "$m" "$p" "$TOK"
  for h in "$@"; do printf '%s\r\n' "$h"; done
  printf '\r\n'
}

# ---- Logs: command names, never values ---------------------------------
http GET "$U/set/session:42/s3cr3t-session-value" "${AUTH[@]}"
http POST "$U/" "${AUTH[@]}" -d '["set","k2","another-s3cr3t"]'
http GET "$U/get/a%0D%0Ab" "${AUTH[@]}"
printf 'GET /x\033[31mforged%%0D%%0Aline/v HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
  raw >/dev/null
sleep 0.3
check log-names-the-command grep -q '"method":"GET",.*"path":"/set/<2 args>","status":200' "$LOG"
check log-has-no-values bash -c "! grep -qE 's3cr3t|session:42' '$LOG'"
check log-has-no-password bash -c "! grep -q hunter2 '$LOG'"
check log-shows-a-redacted-url grep -q 'redis://app:\*\*\*@' "$LOG"
check log-escapes-esc-and-crlf grep -qF '"path":"/x\\x1b[31mforged\\x0d\\x0aline/<1 arg>"' "$LOG"
check log-has-no-raw-control-bytes bash -c "! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' '$LOG'"

# ---- Framing ------------------------------------------------------------
out=$( { req POST /set/f "Content-Length: 3" "Content-Length: 5"; printf abcde; } | raw)
check two-content-lengths-400-close grep -qz 'HTTP/1.1 400.*Connection: close.*conflicting Content-Length.*\[EOF\]' <<<"$out"
out=$( { req POST /set/f "Content-Length: 3" "Transfer-Encoding: chunked"
         printf '3\r\nabc\r\n0\r\n\r\n'; } | raw)
check length-and-chunked-400-close grep -qz 'HTTP/1.1 400.*Connection: close.*Transfer-Encoding together.*\[EOF\]' <<<"$out"
http GET "$U/get/f" "${AUTH[@]}"
expect ambiguous-bodies-never-ran 200 '{"result":null}'
out=$( { req POST /set/f "Content-Length: 3x"; printf abc; } | raw)
# libmicrohttpd 0.9.75 answers this one itself (see README, HTTP limits).
check malformed-length-400-close grep -qz '^HTTP/1.1 400.*\[EOF\]' <<<"$out"
out=$(printf 'GET /get/%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)" | raw)
check long-url-414-not-reset grep -qz '^HTTP/1.1 414.*\[EOF\]' <<<"$out"
out=$( { printf 'GET /get/a HTTP/1.1\r\nHost: x\r\n'
         for i in $(seq 2000); do printf 'X-H%d: v\r\n' "$i"; done; printf '\r\n'; } | raw)
check many-headers-431-not-reset grep -qz '^HTTP/1.1 431.*\[EOF\]' <<<"$out"

# ---- Bodies over the limit reach fetch as a 413 -------------------------
out=$(node "$HERE/big_body.mjs" "$U/set/big" "$TOK" 5000000 20)
check fetch-big-body-20-times-413 test "$out" = "20 413 ERR max request size exceeded"
[ "$out" = "20 413 ERR max request size exceeded" ] || echo "    got: $out"
http POST "$U/set/after" "${AUTH[@]}" --data-binary small
expect served-after-big-bodies 200 '{"result":"OK"}'

# ---- Slow heads: cut at the deadline; others served meanwhile ----------
node "$HERE/slow_heads.mjs" "$P" 500 1000 6000 >"$TG_TMP/slow.json" &
SLOW=$!
sleep 1
: >"$TG_TMP/healthz.times"
for i in $(seq 10); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$U/healthz" >>"$TG_TMP/healthz.times"
done
wait "$SLOW"
slow=$(cat "$TG_TMP/slow.json")
# The machine is shared: the median, not the worst, says "promptly".
median=$(sort -k2 -n "$TG_TMP/healthz.times" | awk 'NR == 5 { print $2 }')
check healthz-all-answered-under-500-slow-heads test "$(grep -c '^200 ' "$TG_TMP/healthz.times")" = 10
check healthz-median-under-250ms awk -v m="$median" 'BEGIN { exit !(m < 0.25) }'
check slow-heads-connected grep -q '"connected":500' <<<"$slow"
check slow-heads-closed-by-deadline grep -q '"closed":500' <<<"$slow"
# Not before the 2 s deadline; soon after it (up to 3.5 s late on a busy
# machine: the loop checks every 200 ms).
check slow-heads-closed-after-2s node -e '
  const s = JSON.parse(process.argv[1]);
  process.exit(s.firstCloseMs >= 1900 && s.lastCloseMs <= 5500 ? 0 : 1)' "$slow"
[ -n "${VERBOSE:-}" ] && echo "    slow heads: $slow, healthz median ${median}s"

# ---- At most max_connections_per_ip from one address, over all threads
start_tollgate Q --max-connections-per-ip 50 --header-timeout-s 3 || exit 1
node "$HERE/slow_heads.mjs" "$Q" 200 500 2000 >"$TG_TMP/capped.json" &
SLOW=$!
sleep 1
other=$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$Q/healthz")
same=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$Q/healthz")
wait "$SLOW"
capped=$(cat "$TG_TMP/capped.json")
check per-ip-cap-refuses-the-rest node -e '
  const s = JSON.parse(process.argv[1]);
  process.exit(s.closedEarly >= 200 - 50 - 2 && s.closedEarly <= 150 ? 0 : 1)' "$capped"
check per-ip-cap-other-address-served test "$other" = 200
check per-ip-cap-same-address-refused test "$same" != 200
[ -n "${VERBOSE:-}" ] && echo "    capped: $capped, other $other, same $same"

# ---- SIGTERM: a request in flight is answered, then the connection closes
out=$( { req POST /set/drainkey "Content-Length: 5"; printf first
         req POST /set/drainkey "Content-Length: 12"; printf second-value; } | raw "$P_PID")
check drain-first-answered grep -qz '^HTTP/1.1 200.*HTTP/1.1 200' <<<"$out"
check drain-answer-says-close grep -qzi 'HTTP/1.1 200.*HTTP/1.1 200[^[]*Connection: close' <<<"$out"
check drain-then-eof grep -q '\[EOF\]$' <<<"$out"
wait "$P_PID"
check drain-exit-0 test $? = 0
check drain-request-ran test "$(redis-cli -p "$RP" -n 1 get drainkey)" = second-value
