#!/usr/bin/env bash
# The real npm clients (tests/node) against the real tollgate and Redis.
# Usage: TG_BIN=path/to/tollgate test_clients.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
tg migrate >/dev/null
T=$(tg tenant create --name clients)
T2=$(tg tenant create --name clients-b)
DA=$(tg db create --tenant "$T" --name a --db-index 1)
DB=$(tg db create --tenant "$T2" --name b --db-index 2)
export TOLLGATE_TOKEN=$(tg token create --db "$DA" --scope rw --ttl 1h)
export TOLLGATE_RO_TOKEN=$(tg token create --db "$DA" --scope ro --ttl 1h)
export TOLLGATE_TOKEN_B=$(tg token create --db "$DB" --scope rw --ttl 1h)
start_tollgate P || exit 1
export TOLLGATE_URL=http://127.0.0.1:$P

# node's TAP reporter: top-level results are unindented `ok N - name` /
# `not ok N - name`; failures are followed by an indented YAML block.
cd "$ROOT/tests/node"
# isolation.test.mjs needs two shared databases: test_isolation.sh runs it.
node --test --test-reporter=tap $(ls ./*.test.mjs | grep -v isolation) >"$TG_TMP/tap" 2>&1
awk '
  /^ok [0-9]+ - /      { sub(/^ok [0-9]+ - /, ""); print "PASS node:" $0; show = 0; next }
  /^not ok [0-9]+ - /  { sub(/^not ok [0-9]+ - /, ""); print "FAIL node:" $0; show = 1; next }
  show && /^  /        { print "    " $0 }
' "$TG_TMP/tap"
grep -qE '^(not )?ok [0-9]+ - ' "$TG_TMP/tap" || fail node:ran-no-test "$(head -40 "$TG_TMP/tap")"
stop_tollgate "$P_PID" clean-shutdown-after-clients "$TG_TMP/tollgate-$P.log"
