#!/usr/bin/env bash
# title: keys, forged tokens, revocation
# Keys, algorithms, claims and revocation against the real gateway: several
# keys at once (HS, RS, ES) picked by kid, and forged tokens that must all
# be 401s. Usage: TG_BIN=path/to/tollgate test_tokens.sh
. "$(dirname "$0")/lib.sh"
JWT() { node "$(dirname "$0")/jwt.mjs" "$@"; }
claims() { cut -d. -f2 <<<"$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Buffer.from(s.trim(),"base64url").toString()))'; }

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
K=$TG_TMP/keys
mkdir -p "$K"
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$K/k2.secret"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa1.pem" 2>/dev/null
openssl pkey -in "$K/rsa1.pem" -pubout -out "$K/rsa1.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec1.pem" 2>/dev/null
openssl pkey -in "$K/ec1.pem" -pubout -out "$K/ec1.pub.pem"
cat >"$K/keys" <<KEYS
# kid  alg    verify key      signing key
k2     HS256  k2.secret
rsa1   RS256  rsa1.pub.pem    rsa1.pem
ec1    ES256  ec1.pub.pem     ec1.pem
KEYS
export TOLLGATE_JWT_KEYS_FILE=$K/keys TOLLGATE_JWT_ISSUER=tollgate-e2e TOLLGATE_JWT_AUDIENCE=api
provision K --name keys --db-name a --db-index 1 --no-token || exit 1
provision K2 --tenant "$K_TENANT" --db-name b --db-index 2 --no-token || exit 1
provision O --name other --db-name c --db-index 3 --no-token || exit 1
T=$K_TENANT T2=$O_TENANT D=$K_DB D2=$K2_DB D3=$O_DB
start_tollgate P || exit 1
U=http://127.0.0.1:$P
get() { http GET "$U/get/k" -H "Authorization: Bearer $1"; }

# ---- Every configured key signs tokens the gateway accepts -------------
for kid in "" k2 rsa1 ec1; do
  TOKK=$(tg token create --db "$D" --ttl 1h ${kid:+--kid "$kid"})
  get "$TOKK"
  expect "key-${kid:-default}-accepted" 200 '{"result":null}'
done
TOK=$(tg token create --db "$D" --ttl 1h)
C=$(claims "$TOK")
check new-tokens-carry-iss grep -q '"iss":"tollgate-e2e"' <<<"$C"
check new-tokens-carry-aud grep -q '"aud":"api"' <<<"$C"
check unknown-kid-cannot-sign sh -c "! '$TG_BIN' token create --db '$D' --kid nope 2>/dev/null"

# ---- Forgeries -----------------------------------------------------------
SECRET=$TOLLGATE_JWT_SECRET
NOW=$(date +%s)
JTI=$(node -e 'console.log(JSON.parse(process.argv[1]).jti)' "$C")
gets() { redis-cli -p "$RP" info commandstats | tr -d '\r' | awk -F'[=,]' '/^cmdstat_get:/ {print $2}'; }
GETS_BEFORE=$(gets)
good() { # good [extra claims JSON fragment]: the real claims, iss and aud
  printf '{"sub":"%s","db":"%s","scope":"rw","jti":"%s","exp":%d,"iss":"tollgate-e2e","aud":"api"%s}' \
    "$T" "$D" "$JTI" $((NOW + 600)) "${1:-}"
}
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","typ":"JWT"}' "$(good)")"
expect crafted-control-accepted 200 '{"result":null}'
get "$(JWT HS256 "@$K/rsa1.pub.pem" '{"alg":"HS256","kid":"rsa1"}' "$(good)")"
expect_match hs256-signed-with-rsa-public-key 401 'algorithm'
get "$(JWT HS256 "@$K/rsa1.pub.pem" '{"alg":"RS256","kid":"rsa1"}' "$(good)")"
expect_match rs256-header-hmac-signature 401 'error'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","kid":"nope"}' "$(good)")"
expect_match unknown-kid 401 'unknown key id'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","kid":"k2"}' "$(good)")"
expect_match wrong-kid-for-key 401 'signature'
get "$(JWT HS256 "@$K/k2.secret" '{"alg":"HS256","kid":"ec1"}' "$(good)")"
expect_match kid-of-another-algorithm 401 'algorithm'
NONE="$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d =).$(good | base64 -w0 | tr '+/' '-_' | tr -d =)."
get "$NONE"
expect_match alg-none 401 'error'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed 's/"iss":"tollgate-e2e",//')")"
expect_match missing-issuer 401 'issuer'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed 's/tollgate-e2e/evil/')")"
expect_match wrong-issuer 401 'issuer'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed 's/"aud":"api"/"aud":"web"/')")"
expect_match wrong-audience 401 'audience'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed 's/"aud":"api"/"aud":["web","api"]/')")"
expect audience-array-accepted 200 '{"result":null}'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed "s/\"exp\":[0-9]*/\"exp\":\"$((NOW + 600))\"/")")"
expect_match exp-as-string 401 'exp'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good ",\"nbf\":$((NOW + 3600))")")"
expect_match not-yet-valid 401 'not yet valid'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed 's/"scope":"rw"/"scope":["rw"]/')")"
expect_match scope-of-wrong-type 401 'scope'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed "s/\"db\":\"$D\"/\"db\":\"$D3\"/")")"
expect_match claims-not-matching-row 401 'match'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","typ":"JWT","kid":7}' "$(good)")"
expect_match kid-of-wrong-type 401 'kid'
# RFC 7515 crit: we understand no extension, so any crit is refused, even
# on a token signed with the right key.
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","crit":["exp"],"exp":1}' "$(good)")"
expect_match crit-header-refused 401 'critical'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","crit":["b64"],"b64":false}' "$(good)")"
expect_match crit-b64-refused 401 'critical'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","crit":[]}' "$(good)")"
expect_match crit-empty-refused 401 'critical'
get "$(JWT HS256 "$SECRET" 'not json' "$(good)")"
expect_match header-not-json 401 'header'
get "$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good | sed "s/\"exp\":[0-9]*/\"exp\":$((NOW - 120))/")")"
expect_match expired-properly-signed 401 'expired'
GOOD=$(JWT HS256 "$SECRET" '{"alg":"HS256"}' "$(good)")
get "${GOOD:0:$((${#GOOD} - 20))}"
expect_match truncated-signature 401 'error'
get "${GOOD%.*}"
expect_match truncated-to-two-parts 401 'error'
# Oversized: a token just past the gateway's limit gets its 401; one of
# 10 MB never fits the HTTP layer's header budget and is refused there
# (431/414, or the connection closed mid-send), before any auth or Redis.
get "$GOOD$(head -c 9000 /dev/zero | tr '\0' A)"
expect_match oversized-token-401 401 'too long'
head -c 10485760 /dev/zero | tr '\0' A >"$TG_TMP/big"
printf 'Authorization: Bearer %s' "$(cat "$TG_TMP/big")" >"$TG_TMP/bighdr"
BIG=$(curl -s -o /dev/null -w '%{http_code}' -H @"$TG_TMP/bighdr" "$U/get/k")
check oversized-10mb-header-refused test "$BIG" != 200
BIG=$(curl -s -o /dev/null -w '%{http_code}' "$U/get/k?_token=$(head -c 100000 "$TG_TMP/big")")
check oversized-query-token-refused test "$BIG" != 200
# Only the two accepted control tokens above reached Redis.
# (This server does not check dump payloads: RESTORE is refused.)
http POST "$U/" -H "Authorization: Bearer $TOK" -d '["restore","r","0","x"]'
expect_match restore-refused-unchecked-payloads 400 'sanitize-dump-payload'
check forgeries-never-reach-redis test "$(gets)" = $((${GETS_BEFORE:-0} + 2))

# ---- Revocation by database and by tenant, on a running gateway ----------
A1=$(tg token create --db "$D2" --ttl 1h)
A2=$(tg token create --db "$D2" --ttl 1h --kid ec1)
B1=$(tg token create --db "$D3" --ttl 1h)
for t in "$A1" "$A2" "$B1"; do get "$t"; done  # cached now
OUT=$(tg token revoke --db "$D2")
check revoke-by-database-counts grep -q 'revoked 2 token' <<<"$OUT"
sleep 1.2
get "$A1"; expect_match revoked-by-database-1 401 'revoked'
get "$A2"; expect_match revoked-by-database-2 401 'revoked'
get "$B1"; expect other-database-unaffected 200 '{"result":null}'
tg token revoke --tenant "$T2" >/dev/null
sleep 1.2
get "$B1"; expect_match revoked-by-tenant 401 'revoked'
get "$TOK"; expect other-tenant-unaffected 200 '{"result":null}'

# ---- Per-token command rules -----------------------------------------------
RULED=$(tg token create --db "$D" --ttl 1h --allow 'get,set,@read' --deny 'keys,config')
http POST "$U/pipeline" -H "Authorization: Bearer $RULED" \
  -d '[["set","r","1"],["get","r"],["strlen","r"],["keys","*"],["incr","r"],["del","r"]]'
expect_match rules-allow-and-deny 200 '^\[\{"result":"OK"\},\{"result":"1"\},\{"result":1\},\{"error":"NOPERM[^"]*.keys.[^"]*"\},\{"error":"NOPERM[^"]*.incr.[^"]*"\},\{"error":"NOPERM[^"]*.del.[^"]*"\}\]$'
# resp2: a refusal quoting the command name cannot inject replies through
# CR/LF in that name (issue 10, finding 13): two entries, nothing more.
http POST "$U/pipeline" -H "Authorization: Bearer $RULED" -H "Upstash-Response-Format: resp2" \
  -d '[["get","r"],["x\r\n:7\r\n+INJECTED","a"]]'
check resp2-error-lines-escaped test "$(od -An -c "$TG_TMP/body" | tr -s ' \n' ' ')" = \
  " $ 1 \r \n 1 \r \n - N O P E R M t h i s t o k e n m a y n o t r u n ' x : 7 + i n j e c t e d ' \r \n "
DENIED=$(tg token create --db "$D" --ttl 1h --deny '@write')
http POST "$U/" -H "Authorization: Bearer $DENIED" -d '["set","r","2"]'
expect_match rules-deny-category 403 'NOPERM'
http POST "$U/" -H "Authorization: Bearer $DENIED" -d '["get","r"]'
expect rules-deny-category-leaves-reads 200 '{"result":"1"}'
http POST "$U/multi-exec" -H "Authorization: Bearer $DENIED" -d '[["get","r"],["set","r","3"]]'
expect_match rules-refuse-whole-transaction 403 'NOPERM'
check rules-unknown-category-refused-at-issue sh -c "! '$TG_BIN' token create --db '$D' --deny '@nosuch' 2>/dev/null"
# Widening the rules in a re-signed token does not match the token's row.
RC=$(claims "$RULED")
WIDE=$(node -e 'const c=JSON.parse(process.argv[1]); delete c.cmd_deny; console.log(JSON.stringify(c))' "$RC")
get "$(JWT HS256 "$SECRET" '{"alg":"HS256","typ":"JWT"}' "$WIDE")"
expect_match rules-widened-by-resigning 401 'match'

# ---- Key rotation on a running gateway (SIGHUP reloads the keys) ----------
K2TOK=$(tg token create --db "$D" --ttl 1h --kid k2)
get "$K2TOK"; expect rotation-old-key-works 200 '{"result":null}'
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$K/k3.secret"
echo "k3     HS256  k3.secret" >>"$K/keys"
K3TOK=$(tg token create --db "$D" --ttl 1h --kid k3)
get "$K3TOK"; expect_match rotation-new-key-unknown-before-reload 401 'unknown key id'
kill -HUP "$P_PID"; sleep 0.5
get "$K3TOK"; expect rotation-new-key-after-reload 200 '{"result":null}'
get "$K2TOK"; expect rotation-old-key-still-valid 200 '{"result":null}'
grep -v '^k2 ' "$K/keys" >"$K/keys.new" && mv "$K/keys.new" "$K/keys"
kill -HUP "$P_PID"; sleep 0.5
get "$K2TOK"; expect_match rotation-removed-key-refused-even-if-cached 401 'unknown key id'
echo "broken line" >>"$K/keys"
kill -HUP "$P_PID"; sleep 0.5
get "$K3TOK"; expect rotation-bad-file-keeps-keys 200 '{"result":null}'
check rotation-bad-file-logged grep -q 'keys not reloaded' "$TG_TMP/tollgate-$P.log"

stop_tollgate "$P_PID" clean-shutdown-token-server "$TG_TMP/tollgate-$P.log"
