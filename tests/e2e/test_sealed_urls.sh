#!/usr/bin/env bash
# title: backend passwords are sealed in the state file, never in clear
#
# Issue 10, finding 10: databases.redis_url stored a backend's password in
# clear. Now the URL is kept with the password as *** and the password
# sealed (AES-256-GCM) under acl_secret; rows of an earlier version are
# sealed when the gateway starts.
. "$(dirname "$0")/lib.sh"

PW='S3cr3t-backend-pw'
start_redis RP || exit 1
redis-cli -p "$RP" config set requirepass "$PW" >/dev/null
R() { redis-cli -p "$RP" -a "$PW" --no-auth-warning "$@"; }
export TOLLGATE_REDIS_URL="redis://:$PW@127.0.0.1:$RP"
provision S || exit 1
DBF=$TOLLGATE_SQLITE_PATH
in_clear() { cat "$DBF"* 2>/dev/null | grep -c -a -- "$PW" || true; }

check sealed-url-shows-stars test "$(q "SELECT redis_url FROM databases WHERE id = '$S_DB'")" = \
  "redis://:***@127.0.0.1:$RP"
check sealed-secret-stored test -n "$(q "SELECT redis_secret FROM databases WHERE id = '$S_DB'")"
check sealed-password-nowhere-in-the-state-file test "$(in_clear)" = 0

start_tollgate P || exit 1
U=http://127.0.0.1:$P
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","k","v"]'
expect sealed-backend-served 200 '{"result":"OK"}'
check sealed-value-landed test "$(R -n 0 get k; R -n 1 get k)" != ""
stop_tollgate "$P_PID" sealed-clean-shutdown "$TG_TMP/tollgate-$P.log"

# A row written by an earlier version (password in clear) is sealed at start.
q "UPDATE databases SET redis_url = 'redis://:$PW@127.0.0.1:$RP', redis_secret = NULL
   WHERE id = '$S_DB'"
check legacy-row-in-clear test "$(in_clear)" -ge 1
start_tollgate P || exit 1
check legacy-row-sealed-at-start grep -q 'sealed the backend password of 1 database' \
  "$TG_TMP/tollgate-$P.log"
U=http://127.0.0.1:$P
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["get","k"]'
expect legacy-backend-served 200 '{"result":"v"}'
stop_tollgate "$P_PID" legacy-clean-shutdown "$TG_TMP/tollgate-$P.log"
q "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
q "VACUUM" >/dev/null
check legacy-password-gone-from-the-file test "$(in_clear)" = 0

# Under another acl_secret the password does not open: refused, with why.
TOLLGATE_ACL_SECRET=another-secret-another-secret-another-1 start_tollgate P || exit 1
http POST "http://127.0.0.1:$P/" -H "Authorization: Bearer $S_TOKEN" -d '["get","k"]'
expect_match other-secret-refused 503 'does not open under this acl_secret'
stop_tollgate "$P_PID" other-secret-clean-shutdown "$TG_TMP/tollgate-$P.log"
