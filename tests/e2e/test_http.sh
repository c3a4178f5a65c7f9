#!/usr/bin/env bash
# title: HTTP with curl
# End-to-end tests over HTTP with curl: the real tollgate binary in front
# of a real redis-server. Usage: TG_BIN=path/to/tollgate test_http.sh
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
# RESTORE is served only where Redis checks dump payloads (test_tokens.sh
# checks the refusal on a default server).
redis-cli -p "$RP" config set sanitize-dump-payload yes >/dev/null
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --name acme --db-index 1 --scope rw || exit 1
provision AR --db "$A_DB" --scope ro || exit 1
provision B --name other --db-index 2 || exit 1
provision C --tenant "$A_TENANT" --db-name doomed --db-index 3 || exit 1
TEN=$A_TENANT TEN2=$B_TENANT DA=$A_DB DB=$B_DB DC=$C_DB
TOK=$A_TOKEN RO=$AR_TOKEN TOKB=$B_TOKEN TOKC=$C_TOKEN
start_tollgate P --log-requests --shared-scripts all || exit 1  # the suite runs scripts on a shared server
U=http://127.0.0.1:$P
AUTH=(-H "Authorization: Bearer $TOK")

# ---- Commands, JSON and path forms -------------------------------------
http GET "$U/healthz"
expect healthz 200 '{"status":"ok"}'
http POST "$U/" "${AUTH[@]}" -d '["set","foo","bar"]'
expect json-set 200 '{"result":"OK"}'
http POST "$U" "${AUTH[@]}" -d '["GET","foo"]'
expect json-get-mixed-case 200 '{"result":"bar"}'
http GET "$U/get/foo" "${AUTH[@]}"
expect path-get 200 '{"result":"bar"}'
http POST "$U/" "${AUTH[@]}" -d '["set","n",10,"ex",100]'
http POST "$U/" "${AUTH[@]}" -d '["incrbyfloat","n",1.5]'
expect json-numbers-as-text 200 '{"result":"11.5"}'
http POST "$U/" "${AUTH[@]}" -d '["set","flag",true]'
http GET "$U/get/flag" "${AUTH[@]}"
expect json-boolean-as-text 200 '{"result":"true"}'
http GET "$U/set/a%2Fb/v1" "${AUTH[@]}"
http POST "$U/" "${AUTH[@]}" -d '["get","a/b"]'
expect path-percent-decoding 200 '{"result":"v1"}'
http GET "$U/set/q/v?EX=100" "${AUTH[@]}"
http GET "$U/ttl/q" "${AUTH[@]}"
expect_match path-query-args 200 '^\{"result":(100|99|98)\}$'
http GET "$U/set/nx/1?NX" "${AUTH[@]}"
http GET "$U/set/nx/2?NX" "${AUTH[@]}"
expect path-query-flag 200 '{"result":null}'
http POST "$U/set/body" "${AUTH[@]}" --data-binary 'hello world'
http GET "$U/get/body" "${AUTH[@]}"
expect path-post-body-last-arg 200 '{"result":"hello world"}'
http PUT "$U/set/put/x" "${AUTH[@]}"
expect path-put 200 '{"result":"OK"}'
http HEAD "$U/get/foo" "${AUTH[@]}"
check path-head test "$STATUS" = 200 -a -z "$BODY"
check path-head-length grep -qi '^content-length: 16' <<<"$HEADERS"
http GET "$U/" "${AUTH[@]}"
expect_match path-empty-command 400 'no command'

# A CR LF in a path segment is data inside one argument, never a command.
http GET "$U/set/inj%0D%0Aflushdb%0D%0A/v" "${AUTH[@]}"
http POST "$U/" "${AUTH[@]}" -d '["get","inj\r\nflushdb\r\n"]'
expect crlf-in-path-is-one-argument 200 '{"result":"v"}'
http GET "$U/get/foo" "${AUTH[@]}"
expect crlf-did-not-flush 200 '{"result":"bar"}'

# ---- Redis errors, unknown commands -----------------------------------
http POST "$U/" "${AUTH[@]}" -d '["nosuchcommand","x"]'
expect_match unknown-command-400 400 '^\{"error":"ERR unknown command'
http POST "$U/" "${AUTH[@]}" -d '["lpush","foo","x"]'
expect redis-error-verbatim 400 '{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}'
http POST "$U/" "${AUTH[@]}" -d '["evalsha","0000000000000000000000000000000000000000","0"]'
expect noscript-verbatim 400 '{"error":"NOSCRIPT No matching script. Please use EVAL."}'
http POST "$U/" "${AUTH[@]}" -d '["eval","return {1,\"two\",{3}}","0"]'
expect eval-nested-array 200 '{"result":[1,"two",[3]]}'

# ---- Pipeline and transactions ----------------------------------------
http POST "$U/pipeline" "${AUTH[@]}" -d '[["set","p","1"],["incr","p"],["lpush","p","x"],["get","p"]]'
expect pipeline 200 '[{"result":"OK"},{"result":2},{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"},{"result":"2"}]'
http POST "$U/pipeline" "${AUTH[@]}" -d '[["get","p"],["blpop","p","0"],["get","p"]]'
expect_match pipeline-refused-entry 200 '^\[\{"result":"2"\},\{"error":"ERR command .blpop. is not allowed[^"]*"\},\{"result":"2"\}\]$'
http POST "$U/multi-exec" "${AUTH[@]}" -d '[["set","m","1"],["incr","m"],["get","m"]]'
expect multi-exec 200 '[{"result":"OK"},{"result":2},{"result":"2"}]'
http POST "$U/multi-exec" "${AUTH[@]}" -d '[["set","m","x"],["incr","m"],["get","m"]]'
expect multi-exec-runtime-error 200 '[{"result":"OK"},{"error":"ERR value is not an integer or out of range"},{"result":"x"}]'
http POST "$U/multi-exec" "${AUTH[@]}" -d '[["set","m2","1"],["set","m2"]]'
expect_match multi-exec-discarded 400 '^\{"error":"EXECABORT'
http GET "$U/get/m2" "${AUTH[@]}"
expect multi-exec-discarded-is-atomic 200 '{"result":null}'
http POST "$U/multi-exec" "${AUTH[@]}" -d '[["set","m3","1"],["subscribe","c"]]'
expect_match multi-exec-refused-whole 400 'subscribe'
http GET "$U/pipeline" "${AUTH[@]}"
expect_match pipeline-wrong-method-405 405 'error'
check pipeline-405-allow-header grep -qi '^allow: POST, OPTIONS' <<<"$HEADERS"
BIG=$(node -e 'const a=[];for(let i=0;i<1000;i++)a.push(["incr","cnt"]);console.log(JSON.stringify(a))')
http POST "$U/pipeline" "${AUTH[@]}" -d "$BIG"
check pipeline-1000-commands sh -c "printf '%s' '$BODY' | grep -q '{\"result\":1000}]$'"

# ---- Encodings ---------------------------------------------------------
http GET "$U/set/bin/%00%FF%FEa%22" "${AUTH[@]}"
http GET "$U/get/bin" "${AUTH[@]}" -H "Upstash-Encoding: base64"
expect base64-binary-value 200 "{\"result\":\"$(printf '\000\377\376a"' | base64)\"}"
http GET "$U/ping" "${AUTH[@]}" -H "Upstash-Encoding: base64"
expect base64-simple-string 200 '{"result":"UE9ORw=="}'
http POST "$U/pipeline" "${AUTH[@]}" -H "Upstash-Encoding: base64" -d '[["set","b","x"],["get","b"],["lpush","b","y"],["incr","b0"]]'
expect_match base64-pipeline-errors-plain 200 '^\[\{"result":"T0s="\},\{"result":"eA=="\},\{"error":"WRONGTYPE[^"]*"\},\{"result":1\}\]$'
http GET "$U/get/bin" "${AUTH[@]}"
check non-utf8-yields-valid-json is_json
check non-utf8-replaced-by-fffd json_result_is '"\u0000\ufffd\ufffda\""'
http GET "$U/get/foo" "${AUTH[@]}" -H "Upstash-Response-Format: resp2"
check resp2-raw-bytes test "$(od -An -c "$TG_TMP/body" | tr -s ' ')" = " $ 3 \r \n b a r \r \n"
check resp2-content-type grep -qi '^content-type: application/octet-stream' <<<"$HEADERS"
http GET "$U/get/foo" "${AUTH[@]}" -H "Upstash-Response-Format: xml"
expect_match response-format-invalid 400 'Upstash-Response-Format'
http GET "$U/get/foo" "${AUTH[@]}" -H "Upstash-Response-Format: resp2" -H "Upstash-Encoding: base64"
expect_match resp2-with-base64-refused 400 'base64'

# ---- Sync token --------------------------------------------------------
http POST "$U/" "${AUTH[@]}" -d '["set","s","1"]'
S1=$(grep -i '^upstash-sync-token:' <<<"$HEADERS" | cut -d' ' -f2)
http POST "$U/" "${AUTH[@]}" -H "upstash-sync-token: $S1" -d '["set","s","2"]'
S2=$(grep -i '^upstash-sync-token:' <<<"$HEADERS" | cut -d' ' -f2)
check sync-token-present test -n "$S1"
check sync-token-changes-after-write test "$S2" -gt "$S1"
check sync-token-accepted-back test "$STATUS" = 200
http GET "$U/get/s" "${AUTH[@]}" -H "upstash-sync-token: " -H "Upstash-Telemetry-Sdk: x" -H "Upstash-Telemetry-Runtime: y"
expect telemetry-headers-ignored 200 '{"result":"2"}'

# ---- Policy ------------------------------------------------------------
for c in '["blpop","l","0"]' '["select","2"]' '["subscribe","ch"]' '["config","get","*"]' \
         '["multi"]' '["watch","x"]' '["client","list"]' '["shutdown"]' '["move","foo","2"]' \
         '["swapdb","1","2"]' '["xread","block","0","streams","s","$"]' '["debug","sleep","0"]'; do
  name=$(node -e 'console.log(JSON.parse(process.argv[1])[0])' "$c")
  http POST "$U/" "${AUTH[@]}" -d "$c"
  expect_match "refused-$name" 400 "'$name'"
done
http POST "$U/" "${AUTH[@]}" -d '["xadd","st","*","a","1"]'
http POST "$U/" "${AUTH[@]}" -d '["xread","count","1","streams","st","0"]'
expect_match xread-without-block-allowed 200 '"a","1"'

# A script runs with the connection's restricted ACL user: no way out of
# its logical database, even through Lua.
http GET "$U/set/secret/s3" -H "Authorization: Bearer $TOKB"
http POST "$U/" "${AUTH[@]}" -d '["eval","redis.call(\"select\", ARGV[1]) return redis.call(\"get\", KEYS[1])","1","secret","2"]'
expect_match lua-select-refused 400 "can't run this command"
http POST "$U/" "${AUTH[@]}" -d '["eval","return redis.call(\"swapdb\", \"1\", \"2\")","0"]'
expect_match lua-swapdb-refused 400 "can't run this command"
http POST "$U/" "${AUTH[@]}" -d '["eval","return redis.call(\"flushall\")","0"]'
expect_match lua-flushall-refused 400 "can't run this command"
http GET "$U/get/secret" -H "Authorization: Bearer $TOKB"
expect other-db-untouched-by-lua 200 '{"result":"s3"}'
for c in '["info","keyspace"]' '["script","flush"]' '["function","list"]' '["pubsub","channels"]' '["copy","a","b","db","2"]'; do
  name=$(node -e 'console.log(JSON.parse(process.argv[1]).slice(0,2).join(" "))' "$c")
  http POST "$U/" "${AUTH[@]}" -d "$c"
  expect_match "refused-shared-state-$name" 400 'not allowed'
done

# DUMP (as base64) and RESTORE (raw bytes, percent-encoded in the path).
http POST "$U/" "${AUTH[@]}" -H 'Upstash-Encoding: base64' -d '["dump","foo"]'
PAYLOAD=$(node -e 'const b=Buffer.from(JSON.parse(process.argv[1]).result,"base64");
  process.stdout.write([...b].map(x=>"%"+x.toString(16).padStart(2,"0")).join(""))' "$BODY")
http GET "$U/restore/foo-copy/0/$PAYLOAD" "${AUTH[@]}"
expect restore-of-a-dump 200 '{"result":"OK"}'
http GET "$U/get/foo-copy" "${AUTH[@]}"
expect restore-roundtrip 200 '{"result":"bar"}'

# ---- Read-only tokens --------------------------------------------------
RAUTH=(-H "Authorization: Bearer $RO")
http GET "$U/get/foo" "${RAUTH[@]}"
expect ro-read 200 '{"result":"bar"}'
for c in '["set","foo","x"]' '["del","foo"]' '["eval","return 1","0"]' '["keys","*"]' \
         '["scan","0"]' '["publish","ch","m"]' '["flushall"]'; do
  name=$(node -e 'console.log(JSON.parse(process.argv[1])[0])' "$c")
  http POST "$U/" "${RAUTH[@]}" -d "$c"
  expect_match "ro-refused-$name" 403 'read-only'
done
# No script either: one could enumerate keys (issue 10, finding 5).
http POST "$U/" "${RAUTH[@]}" -d '["eval_ro","return redis.call(\"get\",KEYS[1])","1","foo"]'
expect_match ro-eval-ro-refused 403 'read-only'
http POST "$U/pipeline" "${RAUTH[@]}" -d '[["get","foo"],["set","foo","x"]]'
expect_match ro-pipeline-per-entry 200 '^\[\{"result":"bar"\},\{"error":"NOPERM'
http GET "$U/get/foo" "${AUTH[@]}"
expect ro-did-not-write 200 '{"result":"bar"}'

# ---- Databases are isolated -------------------------------------------
http GET "$U/get/foo" -H "Authorization: Bearer $TOKB"
expect other-db-cannot-see 200 '{"result":null}'
http GET "$U/set/onlyb/1" -H "Authorization: Bearer $TOKB"
http POST "$U/" -H "Authorization: Bearer $TOKB" -d '["flushall"]'
http GET "$U/get/foo" "${AUTH[@]}"
expect flushall-is-flushdb 200 '{"result":"bar"}'
check flushall-emptied-own-db test "$(redis-cli -p "$RP" -n 2 dbsize)" = 0

# ---- Tokens ------------------------------------------------------------
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
http GET "$U/get/foo"
expect token-missing 401 '{"error":"WRONGPASS invalid or missing auth token"}'
http GET "$U/get/foo" -H "Authorization: Basic abc"
check token-wrong-scheme test "$STATUS" = 401
http GET "$U/get/foo?_token=$TOK"
expect token-in-query 200 '{"result":"bar"}'
# Change the signature's first character (the last one may carry unused
# base64url bits, and may already be the replacement).
SIG=${TOK##*.}
[ "${SIG:0:1}" = A ] && NEWC=B || NEWC=A
http GET "$U/get/foo" -H "Authorization: Bearer ${TOK%.*}.$NEWC${SIG:1}"
expect_match token-tampered-signature 401 'error'
PAYLOAD=$(cut -d. -f2 <<<"$TOK")
FORGED=$(cut -d. -f2 <<<"$TOK" | tr -d '\n' | base64 -d 2>/dev/null | sed 's/"scope":"rw"/"scope":"rw" /' | b64url)
http GET "$U/get/foo" -H "Authorization: Bearer $(cut -d. -f1 <<<"$TOK").$FORGED.$(cut -d. -f3 <<<"$TOK")"
expect_match token-tampered-payload 401 'error'
NONE="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$PAYLOAD."
http GET "$U/get/foo" -H "Authorization: Bearer $NONE"
expect_match token-alg-none 401 'error'
NONE2="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$PAYLOAD.$(cut -d. -f3 <<<"$TOK")"
http GET "$U/get/foo" -H "Authorization: Bearer $NONE2"
expect_match token-alg-none-with-signature 401 'error'
OTHER=$(TOLLGATE_JWT_SECRET=another-secret-another-secret-xxxxx tg token create --db "$DA" --ttl 1h)
http GET "$U/get/foo" -H "Authorization: Bearer $OTHER"
expect_match token-wrong-secret 401 'signature'
http GET "$U/get/foo" -H "Authorization: Bearer abc.def"
expect_match token-malformed 401 'error'
http GET "$U/get/foo" -H "Authorization: Bearer $(head -c 7000 /dev/zero | tr '\0' a)"
expect_match token-oversized 401 'error'
http GET "$U/get/foo" -H "Authorization: Bearer $(head -c 20000 /dev/zero | tr '\0' a)"
check token-over-header-limit-refused test "$STATUS" = 431
http GET "$U/set/foo/doomed-value" -H "Authorization: Bearer $TOKC"
expect token-before-delete 200 '{"result":"OK"}'
# A taken slot: nobody else gets logical DB 3 while the database lives.
check db-slot-taken-while-live sh -c "! '$TG_BIN' db create --tenant $TEN2 --name squat --db-index 3 2>/dev/null"
tg db delete --db "$DC"
http GET "$U/get/foo" -H "Authorization: Bearer $TOKC"
expect_match token-for-deleted-db 401 'deleted'
# Its data is gone before its logical DB can hold another database.
check db-delete-flushes-its-data test "$(redis-cli -p "$RP" -n 3 dbsize)" = 0
DNEW=$(tg db create --tenant "$TEN2" --name heir --db-index 3)
check db-slot-reused-after-purge test -n "$DNEW"
check db-delete-twice-404 sh -c "! '$TG_BIN' db delete --db $DC 2>/dev/null"
JTI=$(cut -d. -f2 <<<"$RO" | tr -d '\n' | tr '_-' '/+' | { read -r s; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf '%s' "$s"; } | base64 -d | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).jti)')
tg token revoke --jti "$JTI"
sleep 1.2
http GET "$U/get/foo" "${RAUTH[@]}"
expect_match token-revoked-within-a-second 401 'revoked'

# ---- Bad input ---------------------------------------------------------
for body in '' 'not json' '{"a":1}' '[]' '[["get","x"]]' '[{"a":1}]' '["get"' '["a"] x' '"get"' '[1,[2]]'; do
  http POST "$U/" "${AUTH[@]}" -d "$body"
  if [ "$STATUS" = 400 ] && is_json && grep -q '"error"' "$TG_TMP/body"; then :; else
    fail "bad-json-body" "body: $body" "got $STATUS $BODY"; BAD=1; fi
done
[ -z "${BAD:-}" ] && pass bad-json-bodies-400
for body in '[]' '[[]]' '["get","x"]' '[["get","x"],{"a":1}]' '[["get"],'; do
  http POST "$U/pipeline" "${AUTH[@]}" -d "$body"
  if [ "$STATUS" != 400 ]; then fail "bad-pipeline-body" "body: $body" "got $STATUS $BODY"; BADP=1; fi
done
[ -z "${BADP:-}" ] && pass bad-pipeline-bodies-400
http GET "$U/get/%zz" "${AUTH[@]}"
expect_match bad-percent-encoding 400 'percent'
http GET "$U/get/abc%" "${AUTH[@]}"
expect_match bad-percent-encoding-trailing 400 'percent'
head -c 1277695 /dev/zero | tr '\0' x >"$TG_TMP/big"
http POST "$U/set/big" "${AUTH[@]}" --data-binary @"$TG_TMP/big"
expect oversized-body-413 413 '{"error":"ERR max request size exceeded. Limit: 1048576 bytes, Actual: 1277695 bytes"}'
http POST "$U/set/big" "${AUTH[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$TG_TMP/big"
expect_match oversized-chunked-body-413 413 'max request size exceeded'
http GET "$U/get/foo" "${AUTH[@]}" -H "X-Huge: $(head -c 100000 /dev/zero | tr '\0' h)"
check huge-header-4xx test "$STATUS" -ge 400 -a "$STATUS" -lt 500
http DELETE "$U/get/foo" "${AUTH[@]}"
expect_match method-not-allowed 405 'error'
http GET "$U/healthz"
expect still-alive-after-bad-input 200 '{"status":"ok"}'

# ---- CORS --------------------------------------------------------------
http OPTIONS "$U/" -H "Origin: https://app.example" -H "Access-Control-Request-Method: POST" \
  -H "Access-Control-Request-Headers: authorization, content-type, upstash-encoding"
check cors-preflight-204 test "$STATUS" = 204
check cors-preflight-origin grep -qi '^access-control-allow-origin: \*' <<<"$HEADERS"
check cors-preflight-headers grep -qi '^access-control-allow-headers: authorization, content-type, upstash-encoding' <<<"$HEADERS"
http GET "$U/get/foo" "${AUTH[@]}" -H "Origin: https://app.example"
check cors-on-response grep -qi '^access-control-expose-headers: upstash-sync-token' <<<"$HEADERS"

# ---- Connections -------------------------------------------------------
V=$(curl -sv "${AUTH[@]}" -d '["get","foo"]' "$U/" -d '["get","foo"]' --next "${AUTH[@]}" -d '["get","foo"]' "$U/" 2>&1)
check keep-alive-post grep -q 'Re-using existing connection' <<<"$V"

# ---- Secrets stay out of logs -------------------------------------------
check token-not-logged sh -c "! grep -qF '$(cut -d. -f3 <<<"$TOK")' '$TG_TMP/tollgate-$P.log'"
check requests-logged-without-keys grep -q '"method":"GET",.*"path":"/get/<1 arg>","status":200' "$TG_TMP/tollgate-$P.log"

# ---- Redis goes away and comes back -------------------------------------
kill "$RP_PID"; wait "$RP_PID" 2>/dev/null
T0=$(date +%s%N)
http GET "$U/get/foo" "${AUTH[@]}"
T1=$(date +%s%N)
expect_match redis-down-503 503 'backend unavailable'
check redis-down-fast test $(( (T1 - T0) / 1000000 )) -lt 3000
http POST "$U/pipeline" "${AUTH[@]}" -d '[["get","foo"]]'
check redis-down-pipeline-503 test "$STATUS" = 503
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$TG_TMP" \
  --logfile "$TG_TMP/redis2.log" &
TG_PIDS+=("$!")
wait_for redis-cli -p "$RP" ping
wait_for curl -sf "${AUTH[@]}" "$U/set/back/1"
http GET "$U/get/back" "${AUTH[@]}"
expect redis-recovers-without-restart 200 '{"result":"1"}'
http POST "$U/" "${AUTH[@]}" -d '["eval","return redis.call(\"select\", \"2\")","0"]'
expect_match lua-select-refused-after-redis-restart 400 "can't run this command"

# ---- A second server: strict clock, short idle timeout, small limit ------
start_tollgate P2 --jwt-leeway-s 0 --idle-timeout-s 1 --max-request-bytes 2048 \
  --max-reply-bytes 4096 --shared-scripts all || exit 1
U2=http://127.0.0.1:$P2
SHORT=$(tg token create --db "$DA" --ttl 1s)
sleep 2.1
http GET "$U2/get/foo" -H "Authorization: Bearer $SHORT"
expect_match token-expired 401 'expired'
http POST "$U2/" "${AUTH[@]}" -d "[\"set\",\"k\",\"$(head -c 3000 /dev/zero | tr '\0' y)\"]"
expect_match max-request-bytes-setting 413 'Limit: 2048 bytes'
exec 3<>"/dev/tcp/127.0.0.1/$P2"
printf 'GET /get/foo HTTP/1.1\r\nHost: x\r\n' >&3
T0=$(date +%s)
timeout 10 cat <&3 >/dev/null
T1=$(date +%s)
exec 3<&-
check slow-client-timed-out test $((T1 - T0)) -le 4
# Replies: one over max_reply_bytes, or nested deeper than hiredis reads,
# is dropped and answered with an error; the connection and the commands
# around it go on.
redis-cli -p "$RP" -n 1 setrange big 9999 x >/dev/null
http POST "$U2/pipeline" "${AUTH[@]}" -d '[["set","near","by"],["get","big"],["get","near"],["strlen","big"]]'
expect_match max-reply-bytes-drops-one-reply 200 '^\[\{"result":"OK"\},\{"error":"ERR reply too large[^"]*"\},\{"result":"by"\},\{"result":10000\}\]$'
http POST "$U2/pipeline" "${AUTH[@]}" \
  -d '[["setrange","mid","2999","m"],["strlen","mid"],["get","mid"],["get","mid"],["strlen","mid"]]'
expect_match max-reply-bytes-per-request 200 '^\[\{"result":3000\},\{"result":3000\},\{"result":"[^"]*m"\},\{"error":"ERR replies too large[^"]*"\},\{"error":"ERR replies too large[^"]*"\}\]$'
http POST "$U2/pipeline" "${AUTH[@]}" \
  -d '[["eval","return {{{{{{{{{1}}}}}}}}}","0"],["eval","return {{{{{{{1}}}}}}}","0"],["get","near"]]'
expect_match deep-script-reply-dropped 200 '^\[\{"error":"ERR reply nested deeper[^"]*"\},\{"result":\[\[\[\[\[\[\[1\]\]\]\]\]\]\]\},\{"result":"by"\}\]$'
stop_tollgate "$P2_PID" clean-shutdown-strict-server "$TG_TMP/tollgate-$P2.log"

# ---- Settings are validated --------------------------------------------
OUT=$(TOLLGATE_PORT=abc tg serve 2>&1); RC=$?
check invalid-env-setting-stops-start sh -c "[ $RC != 0 ] && printf '%s' '$OUT' | grep -q TOLLGATE_PORT"
printf 'port = 8080\nbogus = 1\n' >"$TG_TMP/bad.conf"
OUT=$(tg serve --config "$TG_TMP/bad.conf" 2>&1); RC=$?
check invalid-file-setting-names-line sh -c "[ $RC != 0 ] && printf '%s' '$OUT' | grep -q 'bad.conf:2'"
OUT=$(cd / && "$TG_BIN" migrate 2>&1); RC=$?
check migrate-from-any-directory-idempotent test "$RC" = 0

# ---- TLS ---------------------------------------------------------------
if self_signed localhost "$TG_TMP/key.pem" "$TG_TMP/cert.pem"; then
  start_tollgate P3 --tls-cert "$TG_TMP/cert.pem" --tls-key "$TG_TMP/key.pem" || exit 1
  http GET "https://localhost:$P3/set/tls/yes" "${AUTH[@]}" --cacert "$TG_TMP/cert.pem" --resolve "localhost:$P3:127.0.0.1"
  http GET "https://localhost:$P3/get/tls" "${AUTH[@]}" --cacert "$TG_TMP/cert.pem" --resolve "localhost:$P3:127.0.0.1"
  expect tls-serves-https 200 '{"result":"yes"}'
  stop_tollgate "$P3_PID" clean-shutdown-tls-server "$TG_TMP/tollgate-$P3.log"
else
  fail tls-serves-https "openssl could not make a certificate"
fi

stop_tollgate "$P_PID" clean-shutdown-main-server "$TG_TMP/tollgate-$P.log"

# ---- The README's configuration reference lists every setting ----------
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MISSING=$("$TG_BIN" help | grep -oE 'TOLLGATE_[A-Z_]+' | sort -u | while read -r v; do
  grep -q "\`$v\`" "$ROOT/README.md" || echo "$v"; done)
check readme-documents-every-setting test -z "$MISSING"
if [ -n "$MISSING" ]; then printf '    missing: %s\n' $MISSING; fi
