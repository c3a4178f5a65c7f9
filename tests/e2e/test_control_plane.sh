#!/usr/bin/env bash
# title: control plane (admin and tenant API)
# The control plane over HTTP (gateway/handlers/ctl*.c): the node test
# (tests/node/control_plane.test.mjs) drives the admin and tenant API with
# the official client and validates every response against openapi.yaml;
# here, the CLI's --json and tenant-token, and control_listen.
# Usage: TG_BIN=path/to/tollgate test_control_plane.sh
. "$(dirname "$0")/lib.sh"

export TOLLGATE_ADMIN_JWT_SECRET=e2e-admin-secret-e2e-admin-secret-0123
start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision CLI --name cli-tenant --no-token || exit 1

# ---- The CLI and the API share the store: --json prints what the API answers.
out=$(tg tenant create --name json-tenant --json)
check cli-tenant-json node -e 'const t = JSON.parse(process.argv[1]);
  process.exit(/^tn_/.test(t.id) && t.name === "json-tenant" && /Z$/.test(t.created_at) ? 0 : 1)' "$out"
JT=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$out")
out=$(tg db create --tenant "$JT" --name jdb --db-index 5 --json)
check cli-db-json node -e 'const d = JSON.parse(process.argv[1]);
  process.exit(d.db_index === 5 && d.isolation === "dbindex" && d.limits ? 0 : 1)' "$out"
JDB=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$out")
out=$(tg token create --db "$JDB" --ttl 1h --json)
check cli-token-json node -e 'const t = JSON.parse(process.argv[1]);
  process.exit(t.token.split(".").length === 3 && t.jti && t.scope === "rw" ? 0 : 1)' "$out"
TENANT_TOKEN=$(tg tenant-token create --tenant "$JT" --ttl 10m)
check cli-tenant-token-claims node -e '
  const c = JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url"));
  process.exit(c.role === "tenant" && c.sub === process.argv[2] && c.exp - c.iat === 600 ? 0 : 1)' \
  "$TENANT_TOKEN" "$JT"
tg tenant-token create --tenant tn_missing >/dev/null 2>"$TG_TMP/err"
check cli-tenant-token-unknown-tenant grep -q "no tenant tn_missing" "$TG_TMP/err"

start_tollgate P || exit 1
ADMIN=$(tg admin-token create --ttl 1h)

http GET "http://127.0.0.1:$P/v1/databases" -H "Authorization: Bearer $TENANT_TOKEN"
expect_match cli-tenant-token-works 200 "\"id\":\"$JDB\""
# `tenant-token revoke`: refused from its next request on.
JTI=$(node -e 'console.log(JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url")).jti)' "$TENANT_TOKEN")
check cli-tenant-token-revoke tg tenant-token revoke --jti "$JTI"
http GET "http://127.0.0.1:$P/v1/databases" -H "Authorization: Bearer $TENANT_TOKEN"
expect_match cli-tenant-token-revoked 401 'revoked'
TENANT_TOKEN=$(tg tenant-token create --tenant "$JT" --ttl 10m)
http GET "http://127.0.0.1:$P/v1/databases"
expect_match no-token-problem 401 '"type":"urn:tollgate:problem:unauthorized"'
check problem-content-type grep -qi '^content-type: application/problem+json' <<<"$HEADERS"

# ---- The node test: the whole walk through the API.
export TOLLGATE_URL=http://127.0.0.1:$P TOLLGATE_ADMIN_TOKEN=$ADMIN
node_tests control_plane control_plane.test.mjs
stop_tollgate "$P_PID" clean-shutdown-control-plane "$TG_TMP/tollgate-$P.log"

# ---- A database used the moment it is created: the live engine (which
# loads new databases off the request path) counts every request, though
# the meter writer commits them only later (a long meter_flush_ms here: the
# rollups hold none of them when the engine loads the database).
start_tollgate F --meter-flush-ms 10000 || exit 1
out=$(tg db create --tenant "$JT" --name fresh --db-index 6 --json)
FDB=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$out")
FTOK=$(tg token create --db "$FDB" --ttl 1h)
ok=0
for i in $(seq 1 12); do
  http POST "http://127.0.0.1:$F/" -H "Authorization: Bearer $FTOK" -d "[\"set\",\"f$i\",\"v\"]"
  [ "$STATUS" = 200 ] && ok=$((ok + 1))
done
http POST "http://127.0.0.1:$F/pipeline" -H "Authorization: Bearer $FTOK" -d '[["get","f1"],["get","f2"],["get","f3"]]'
check fresh-db-requests-served test "$ok,$STATUS" = "12,200"
http GET "http://127.0.0.1:$F/v1/databases/$FDB/quota" -H "Authorization: Bearer $TENANT_TOKEN"
expect_match fresh-db-every-command-counted 200 '"daily_commands":\{"limit":[^,]*,"used":15,'
expect_match fresh-db-every-command-counted-monthly 200 '"monthly_commands":\{"limit":[^,]*,"used":15,'
stop_tollgate "$F_PID" clean-shutdown-fresh-db "$TG_TMP/tollgate-$F.log"

# ---- control_listen: the control plane on its own address, not the data plane's.
CP=$(free_port)
start_tollgate D --control-listen "127.0.0.1:$CP" || exit 1
http GET "http://127.0.0.1:$CP/v1/admin/tenants" -H "Authorization: Bearer $ADMIN"
expect_match control-listen-serves-admin 200 '"items":\['
http GET "http://127.0.0.1:$D/v1/admin/tenants" -H "Authorization: Bearer $ADMIN"
check control-listen-not-on-data-plane test "$STATUS" != 200
http GET "http://127.0.0.1:$CP/admin/usage?period=2026-01" -H "Authorization: Bearer $ADMIN"
expect_match control-listen-usage-alias 200 '"period":"2026-01"'
http GET "http://127.0.0.1:$CP/get/x" -H "Authorization: Bearer $ADMIN"
expect_match control-listen-no-data-plane 404 ''
http GET "http://127.0.0.1:$D/healthz"
expect data-plane-still-serves 200 '{"status":"ok"}'
http GET "http://127.0.0.1:$CP/healthz"
expect control-listen-healthz 200 '{"status":"ok"}'
http GET "http://127.0.0.1:$CP/dashboard/"
check control-listen-serves-dashboard test "$STATUS" = 200
http GET "http://127.0.0.1:$D/dashboard/"
check control-listen-dashboard-not-on-data-plane test "$STATUS" != 200
stop_tollgate "$D_PID" clean-shutdown-control-listen "$TG_TMP/tollgate-$D.log"

# ---- Integers out of int64_t's range are a 400, not a cast (ctl_body_int).
start_tollgate N || exit 1
ADMIN=$(tg admin-token create --ttl 1h)
for v in 1e300 -1e300 9223372036854775808 1.5; do
  http POST "http://127.0.0.1:$N/v1/admin/tenants/$JT/tenant-tokens" \
    -H "Authorization: Bearer $ADMIN" -d "{\"ttl_s\":$v}"
  expect_match "int-field-out-of-range-$v" 400 '"detail":"ttl_s: must be an integer from 1 to'
done

# ---- DELETE of a database answers at once (202); its data goes on the
# purger's thread after the token caches' recheck, not on a control thread.
DDB=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' \
  "$(tg db create --tenant "$JT" --name deldb --db-index 7 --json)")
DTOK=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' \
  "$(tg token create --db "$DDB" --ttl 1h --json)")
secret "$DTOK"
http POST "http://127.0.0.1:$N/set/gone/1" -H "Authorization: Bearer $DTOK"
expect delete-db-data-written 200 '{"result":"OK"}'
check delete-db-key-there test "$(redis-cli -p "$RP" -n 7 exists gone)" = 1
http DELETE "http://127.0.0.1:$N/v1/admin/databases/$DDB" -H "Authorization: Bearer $ADMIN"
expect_match delete-db-accepted 202 "\"id\":\"$DDB\",\"data\":\"removal scheduled\""
http GET "http://127.0.0.1:$N/v1/admin/databases/$DDB" -H "Authorization: Bearer $ADMIN"
expect_match delete-db-gone-at-once 404 'not-found'
refused() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DTOK" \
  "http://127.0.0.1:$N/get/gone")" = 401 ]; }
check delete-db-token-refused wait_for refused
key_gone() { [ "$(redis-cli -p "$RP" -n 7 exists gone)" = 0 ]; }
check delete-db-data-removed wait_for key_gone
purged() { [ "$(q "SELECT purged_at IS NOT NULL FROM databases WHERE id = '$DDB'")" = 1 ]; }
check delete-db-slot-freed wait_for purged
http DELETE "http://127.0.0.1:$N/v1/admin/databases/$DDB" -H "Authorization: Bearer $ADMIN"
expect_match delete-db-again-404 404 'not-found'
stop_tollgate "$N_PID" clean-shutdown-int-fields "$TG_TMP/tollgate-$N.log"

# ---- A deletion whose purge never ran (the gateway died after the mark, or
# another node marked it) is found in the state file at the next start and
# purged.
CDB=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' \
  "$(tg db create --tenant "$JT" --name crashdb --db-index 8 --json)")
redis-cli -p "$RP" -n 8 set left 1 >/dev/null
q "UPDATE databases SET deleted_at = strftime('%s', 'now') - 5 WHERE id = '$CDB'"
check crash-delete-data-still-there test "$(redis-cli -p "$RP" -n 8 exists left)" = 1
start_tollgate N || exit 1
cgone() { [ "$(redis-cli -p "$RP" -n 8 exists left)" = 0 ]; }
check crash-delete-purged-at-start wait_for cgone
cpurged() { [ "$(q "SELECT purged_at IS NOT NULL FROM databases WHERE id = '$CDB'")" = 1 ]; }
check crash-delete-slot-freed wait_for cpurged
stop_tollgate "$N_PID" clean-shutdown-after-rescan "$TG_TMP/tollgate-$N.log"

# ---- SIGHUP reaches the control plane: admin_jwt_secret and the JWT keys
# rotated in the file apply on control_listen (admin and tenant tokens) and
# to data-plane tokens the API mints.
RC_CONF=$TG_TMP/rotate.conf
OLD_ADMIN_SECRET=$TOLLGATE_ADMIN_JWT_SECRET NEW_ADMIN_SECRET=e2e-admin-rotated-e2e-admin-rotated-0123
OLD_JWT=$TOLLGATE_JWT_SECRET NEW_JWT=e2e-jwt-rotated-e2e-jwt-rotated-e2e-0123
secret "$NEW_ADMIN_SECRET"; secret "$NEW_JWT"
printf 'admin_jwt_secret = %s\njwt_secret = %s\n' "$OLD_ADMIN_SECRET" "$OLD_JWT" >"$RC_CONF"
unset TOLLGATE_ADMIN_JWT_SECRET TOLLGATE_JWT_SECRET
CP=$(free_port)
start_tollgate R --config "$RC_CONF" --control-listen "127.0.0.1:$CP" || exit 1
RLOG=$TG_TMP/tollgate-$R.log
OLD_ADMIN=$(TOLLGATE_ADMIN_JWT_SECRET=$OLD_ADMIN_SECRET tg admin-token create --ttl 1h)
NEW_ADMIN=$(TOLLGATE_ADMIN_JWT_SECRET=$NEW_ADMIN_SECRET tg admin-token create --ttl 1h)
http GET "http://127.0.0.1:$CP/v1/admin/tenants" -H "Authorization: Bearer $OLD_ADMIN"
expect_match rotate-old-admin-before 200 '"items":\['
printf 'admin_jwt_secret = %s\njwt_secret = %s\n' "$NEW_ADMIN_SECRET" "$NEW_JWT" >"$RC_CONF"
kill -HUP "$R_PID"
check rotate-reloaded wait_for grep -q 'settings changed: .*admin_jwt_secret' "$RLOG"
http GET "http://127.0.0.1:$CP/v1/admin/tenants" -H "Authorization: Bearer $NEW_ADMIN"
expect_match rotate-new-admin-accepted 200 '"items":\['
http GET "http://127.0.0.1:$CP/v1/admin/tenants" -H "Authorization: Bearer $OLD_ADMIN"
expect_match rotate-old-admin-refused 401 'unauthorized'
http POST "http://127.0.0.1:$CP/v1/admin/tenants/$JT/tenant-tokens" \
  -H "Authorization: Bearer $NEW_ADMIN" -d '{"ttl_s":600}'
expect_match rotate-tenant-token-minted 201 '"token":'
RT_TOKEN=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$BODY")
secret "$RT_TOKEN"
http GET "http://127.0.0.1:$CP/v1/databases" -H "Authorization: Bearer $RT_TOKEN"
expect_match rotate-tenant-token-after-reload-works 200 "\"id\":\"$JDB\""
http POST "http://127.0.0.1:$CP/v1/admin/databases/$JDB/tokens" \
  -H "Authorization: Bearer $NEW_ADMIN" -d '{"ttl_s":600}'
expect_match rotate-data-token-minted 201 '"token":'
RD_TOKEN=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$BODY")
secret "$RD_TOKEN"
http GET "http://127.0.0.1:$R/get/rotate:x" -H "Authorization: Bearer $RD_TOKEN"
expect rotate-data-token-signed-with-new-key 200 '{"result":null}'
stop_tollgate "$R_PID" clean-shutdown-rotate "$RLOG"
export TOLLGATE_ADMIN_JWT_SECRET=$OLD_ADMIN_SECRET TOLLGATE_JWT_SECRET=$OLD_JWT
