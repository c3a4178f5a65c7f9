#!/usr/bin/env bash
# title: Redis ACL passwords come from acl_secret, never from a public key
# tollgate's Redis users (tollgate-dataplane, tollgate-nobody,
# tollgate-db-<id>) get passwords derived from acl_secret. An older
# tollgate derived them from the first JWT key's material, which for an RS
# key is the public key file: anyone who can reach Redis could compute them.
# Here an RS256 public key comes first in the keyring; the passwords the old
# scheme derived from it are planted in Redis (as an older tollgate left
# them) and must stop working once tollgate has touched each user.
# Usage: TG_BIN=path/to/tollgate test_acl.sh
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
R() { redis-cli -p "$RP" "$@"; }
# signs_in USER PASS: AUTH succeeds.
signs_in() { [ "$(redis-cli -p "$RP" --no-auth-warning --user "$1" --pass "$2" ping 2>&1)" = PONG ]; }
refused() { ! signs_in "$@"; }
# passwords USER: the SHA-256 hashes of the user's passwords, one a line.
passwords() {
  R ACL GETUSER "$1" | awk '/^passwords$/ {p = 1; next}
    p && length($0) == 64 && /^[0-9a-f]+$/ {print; next} {p = 0}'
}

K=$TG_TMP/keys
mkdir -p "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa1.pem" 2>/dev/null
openssl pkey -in "$K/rsa1.pem" -pubout -out "$K/rsa1.pub.pem"
printf 'rsa1 RS256 rsa1.pub.pem rsa1.pem\n' >"$K/keys"
unset TOLLGATE_JWT_SECRET
export TOLLGATE_JWT_KEYS_FILE=$K/keys

# ---- acl_secret is required ---------------------------------------------------
SECRET=$TOLLGATE_ACL_SECRET
unset TOLLGATE_ACL_SECRET
OUT=$(timeout 10 "$TG_BIN" serve --port 0 2>&1); RC=$?
check serve-refuses-without-acl-secret sh -c "[ $RC != 0 ] && printf '%s' \"\$1\" | grep -q TOLLGATE_ACL_SECRET" _ "$OUT"
tg migrate >/dev/null
T=$(tg tenant create --name acl)
OUT=$(tg db create --tenant "$T" --name nope 2>&1); RC=$?
check db-create-refuses-without-acl-secret sh -c "[ $RC != 0 ] && printf '%s' \"\$1\" | grep -q acl_secret" _ "$OUT"
check db-create-refused-creates-nothing sh -c "! sqlite3 '$TOLLGATE_SQLITE_PATH' 'select name from databases' 2>/dev/null | grep -q nope"
OUT=$(TOLLGATE_ACL_SECRET=too-short tg db delete --db whatever 2>&1); RC=$?
check db-delete-refuses-short-acl-secret sh -c "[ $RC != 0 ] && printf '%s' \"\$1\" | grep -q '32 bytes'" _ "$OUT"
export TOLLGATE_ACL_SECRET=$SECRET

# ---- What an older tollgate left in Redis -------------------------------------
provision A --tenant "$T" --db-name a --db-index 1 --kid rsa1 || exit 1
provision S --tenant "$T" --db-name s --isolation prefix --kid rsa1 || exit 1
OLD_HELPER=$(dirname "$TG_BIN")/tests/gateway/redis/test_setup
if [ -x "$OLD_HELPER" ]; then # the first scheme, from the public key file
  OLD_DP=$("$OLD_HELPER" --old-password "$K/rsa1.pub.pem" "$TOLLGATE_REDIS_URL")
  OLD_NOBODY=$("$OLD_HELPER" --old-password "$K/rsa1.pub.pem" "$TOLLGATE_REDIS_URL" -nobody)
  OLD_DB=$("$OLD_HELPER" --old-password "$K/rsa1.pub.pem" "$TOLLGATE_REDIS_URL" "$S_DB")
else
  OLD_DP=old-dataplane OLD_NOBODY=old-nobody OLD_DB=old-db
fi
R ACL SETUSER tollgate-dataplane on ">$OLD_DP" '~*' '&*' +@all -@admin >/dev/null
R ACL SETUSER tollgate-nobody on ">$OLD_NOBODY" >/dev/null
R ACL SETUSER "tollgate-db-$S_DB" ">$OLD_DB" >/dev/null
check planted-old-password-signs-in signs_in tollgate-dataplane "$OLD_DP"
check planted-old-db-password-signs-in signs_in "tollgate-db-$S_DB" "$OLD_DB"

# ---- tollgate replaces them ---------------------------------------------------
start_tollgate P || exit 1
U=http://127.0.0.1:$P
http POST "$U/" -H "Authorization: Bearer $A_TOKEN" -d '["set","k","v"]'
expect dedicated-db-served 200 '{"result":"OK"}'
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","k","v"]'
expect shared-db-served 200 '{"result":"OK"}'
check old-dataplane-password-refused refused tollgate-dataplane "$OLD_DP"
check old-nobody-password-refused refused tollgate-nobody "$OLD_NOBODY"
check old-db-password-refused refused "tollgate-db-$S_DB" "$OLD_DB"
H1=$(passwords tollgate-dataplane)
check dataplane-has-exactly-one-password test "$(printf '%s\n' "$H1" | grep -c .)" = 1
check nobody-has-exactly-one-password test "$(passwords tollgate-nobody | grep -c .)" = 1
check db-user-has-exactly-one-password test "$(passwords "tollgate-db-$S_DB" | grep -c .)" = 1

# ---- Another node, other JWT keys, the same acl_secret: the same passwords ----
P2_KEYS=$TG_TMP/keys2
printf 'hs2 HS256 hs2.secret\n' >"$TG_TMP/keys2"
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TG_TMP/hs2.secret"
TOLLGATE_JWT_KEYS_FILE=$P2_KEYS start_tollgate P2 || exit 1
A2_TOKEN=$(TOLLGATE_JWT_KEYS_FILE=$P2_KEYS tg token create --db "$A_DB" --ttl 1h --kid hs2)
S2_TOKEN=$(TOLLGATE_JWT_KEYS_FILE=$P2_KEYS tg token create --db "$S_DB" --ttl 1h --kid hs2)
http POST "http://127.0.0.1:$P2/" -H "Authorization: Bearer $A2_TOKEN" -d '["get","k"]'
expect second-node-dedicated 200 '{"result":"v"}'
http POST "http://127.0.0.1:$P2/" -H "Authorization: Bearer $S2_TOKEN" -d '["get","k"]'
expect second-node-shared 200 '{"result":"v"}'
check second-node-same-password test "$(passwords tollgate-dataplane)" = "$H1"
# Both nodes reconnect (their users' connections killed) and still sign in.
R CLIENT KILL USER tollgate-dataplane >/dev/null
R CLIENT KILL USER "tollgate-db-$S_DB" >/dev/null
for n in 1 2; do
  http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["get","k"]'
  [ "$STATUS" = 200 ] && break
done
expect first-node-after-reconnect 200 '{"result":"v"}'
http POST "http://127.0.0.1:$P2/" -H "Authorization: Bearer $A2_TOKEN" -d '["get","k"]'
expect second-node-after-reconnect 200 '{"result":"v"}'
stop_tollgate "$P2_PID" clean-shutdown-second-node "$TG_TMP/tollgate-$P2.log"
stop_tollgate "$P_PID" clean-shutdown-first-node "$TG_TMP/tollgate-$P.log"

# ---- Rotation: a node on a new acl_secret replaces the password ---------------
TOLLGATE_ACL_SECRET=rotated-acl-secret-rotated-acl-secret-01 start_tollgate P3 || exit 1
http POST "http://127.0.0.1:$P3/" -H "Authorization: Bearer $A_TOKEN" -d '["get","k"]'
expect rotated-node-serves 200 '{"result":"v"}'
H3=$(passwords tollgate-dataplane)
check rotation-replaces-password sh -c "[ '$H3' != '$H1' ] && [ \$(printf '%s\n' '$H3' | grep -c .) = 1 ]"
stop_tollgate "$P3_PID" clean-shutdown-rotated-node "$TG_TMP/tollgate-$P3.log"
