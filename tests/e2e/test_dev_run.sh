#!/usr/bin/env bash
# title: `make run`'s script from nothing: its curl line, the client's view, a restart
# tools/dev-run.sh (what `make run` runs after installing and building) on
# an empty directory, with none of the settings a test usually exports:
# it starts a private redis-server, makes the dev tenant, database and
# token, prints a curl line that works as pasted and a dashboard link, and
# serves. Run again, it reuses the Redis and the database (data kept).
# Usage: TG_BIN=path/to/tollgate test_dev_run.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEV=$TG_TMP/dev
PORT=$(free_port)

# dev_run OUT: the script in the background, as a new user would run it;
# sets DEV_PID (the script execs tollgate: the same pid serves).
dev_run() {
  env -u TOLLGATE_SQLITE_PATH -u TOLLGATE_JWT_SECRET -u TOLLGATE_ACL_SECRET \
    -u TOLLGATE_REDIS_URL -u TOLLGATE_ADMIN_JWT_SECRET \
    TOLLGATE_DEV_DIR="$DEV" TOLLGATE_PORT="$PORT" \
    bash "$ROOT/tools/dev-run.sh" "$TG_BIN" >"$TG_TMP/$1" 2>&1 &
  DEV_PID=$!
  TG_PIDS+=("$DEV_PID")
}
# The private Redis is daemonized (it outlives `make run` on purpose):
# stopped without its final save, before its directory goes.
stop_dev_redis() {
  [ -s "$DEV/redis/port" ] && redis-cli -p "$(cat "$DEV/redis/port")" shutdown nosave >/dev/null 2>&1
  return 0
}
trap 'stop_dev_redis; e2e_cleanup' EXIT
# The banner may take a while: the script runs several commands of the
# sanitizer build before it serves.
export WAIT_S=30

dev_run first.out
check first-serves wait_for grep -q '^tollgate: serving http://' "$TG_TMP/first.out"
grep -q '^tollgate: serving' "$TG_TMP/first.out" || sed 's/^/    /' "$TG_TMP/first.out"
check first-started-private-redis grep -q 'started a dev redis-server on port' "$TG_TMP/first.out"
CURL=$(grep -m1 '^ *curl -s http' "$TG_TMP/first.out" | sed 's/^ *//')
TOKEN=$(grep -m1 -A1 'token (read-write' "$TG_TMP/first.out" | tail -1 | tr -d ' ')
secret "$TOKEN"
check curl-line-printed test -n "$CURL"
check curl-line-on-our-port grep -q "http://127.0.0.1:$PORT/set/hello/world" <<<"$CURL"
OUT=$(eval "$CURL")
check curl-line-works-as-pasted test "$OUT" = '{"result":"OK"}'
http GET "http://127.0.0.1:$PORT/get/hello" -H "Authorization: Bearer $TOKEN"
expect token-reads-back 200 '{"result":"world"}'
# The dev database owns its Redis (server isolation): server-wide
# commands that touch only its data work.
http POST "http://127.0.0.1:$PORT/" -H "Authorization: Bearer $TOKEN" -d '["dbsize"]'
expect dev-db-owns-its-redis 200 '{"result":1}'
DASH=$(grep -m1 -oE "http://127.0.0.1:$PORT/dashboard#token=[A-Za-z0-9._-]+" "$TG_TMP/first.out")
check dashboard-link-printed test -n "$DASH"
secret "${DASH#*#token=}"
http GET "${DASH%%#*}"
check dashboard-page-served test "$STATUS" = 200
# What the gateway itself logs after the banner carries no token.
check served-log-has-no-token sh -c "! sed -n '/^tollgate: serving/,\$p' '$TG_TMP/first.out' | grep -qF '${TOKEN##*.}'"
kill -TERM "$DEV_PID"
wait "$DEV_PID"
check first-stops-cleanly test $? -eq 0

# Again: the same Redis and database, the data still there.
dev_run second.out
check second-serves wait_for grep -q '^tollgate: serving http://' "$TG_TMP/second.out"
check second-reuses-redis grep -q 'reusing the dev redis-server' "$TG_TMP/second.out"
TOKEN2=$(grep -m1 -A1 'token (read-write' "$TG_TMP/second.out" | tail -1 | tr -d ' ')
secret "$TOKEN2"
http GET "http://127.0.0.1:$PORT/get/hello" -H "Authorization: Bearer $TOKEN2"
expect second-keeps-data 200 '{"result":"world"}'
check second-same-database test "$(sed -n 2p "$DEV/dev-ids")" = \
  "$(grep -m1 -oE 'database db_[0-9a-f]+' "$TG_TMP/second.out" | cut -d' ' -f2)"
kill -TERM "$DEV_PID"
wait "$DEV_PID"
check second-stops-cleanly test $? -eq 0
