#!/usr/bin/env bash
# title: @upstash/redis client
# The real npm clients (tests/node) against the real tollgate and Redis.
# Usage: TG_BIN=path/to/tollgate test_clients.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --name clients --db-name a --db-index 1 --scope rw || exit 1
provision AR --db "$A_DB" --scope ro || exit 1
provision B --name clients-b --db-name b --db-index 2 --scope rw || exit 1
export TOLLGATE_TOKEN=$A_TOKEN TOLLGATE_RO_TOKEN=$AR_TOKEN TOLLGATE_TOKEN_B=$B_TOKEN
start_tollgate P --shared-scripts all || exit 1  # the clients run their own scripts
export TOLLGATE_URL=http://127.0.0.1:$P

# isolation.test.mjs needs two shared databases: test_isolation.sh runs it;
# dashboard.test.mjs a tenant token: test_dashboard.sh runs it;
# control_plane.test.mjs an admin token: test_control_plane.sh runs it.
node_tests clients $(cd "$ROOT/tests/node" && ls ./*.test.mjs | grep -v -e isolation -e dashboard -e control_plane)
stop_tollgate "$P_PID" clean-shutdown-after-clients "$TG_TMP/tollgate-$P.log"
