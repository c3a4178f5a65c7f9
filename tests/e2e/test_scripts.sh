#!/usr/bin/env bash
# title: scripts: shared_scripts follows the server; token rules and read-only scope hold at the script's edge
#
# Issue 10, finding 2: a dedicated (logical-DB) database on a Redis that a
# prefix database also uses ran `redis.call('set',...) while true do end`
# with shared_scripts = read-only: Redis answered UNKILLABLE for every
# tenant. shared_scripts now binds every database whose redis_url another
# live database has; one alone on its server is free of it. The approved
# mode runs the writing scripts of tools/approved-scripts.txt (those of
# @upstash/ratelimit, checked with the real client).
# Finding 5: --deny @write wrote through EVAL, --deny @write,flushdb
# flushed through it, a read-only token listed keys through EVAL_RO (and
# RANDOMKEY was allowed to it): tokens with rules and read-only tokens run
# no script, and RANDOMKEY is refused to read-only tokens like KEYS/SCAN.
# Usage: TG_BIN=path/to/tollgate test_scripts.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

start_redis RP || exit 1 # shared: a dedicated and a prefix database
start_redis RL || exit 1 # lone: one dedicated database owns it
# Redis answers (and takes SHUTDOWN) during a script after this long.
redis-cli -p "$RP" config set busy-reply-threshold 100 >/dev/null
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision D --name scripts --db-index 1 || exit 1
provision DR --db "$D_DB" --scope ro || exit 1
provision S --tenant "$D_TENANT" --db-name s --isolation prefix || exit 1
TOLLGATE_REDIS_URL=redis://127.0.0.1:$RL provision L --tenant "$D_TENANT" --db-name lone || exit 1
R() { redis-cli -p "$RP" "$@"; }
post() { local tok=$1 path=$2; shift 2; http POST "$U$path" -H "Authorization: Bearer $tok" -d "$@"; }
sha1() { printf '%s' "$1" | sha1sum | cut -c1-40; }

LOOP_BODY="redis.call('set',KEYS[1],'x') while true do end"
LOOP=$(node -e 'console.log(JSON.stringify(["eval", process.argv[1], "1", "k"]))' "$LOOP_BODY")
SET_BODY="return redis.call('set',KEYS[1],'v')"
SET=$(node -e 'console.log(JSON.stringify(["eval", process.argv[1], "1", "k"]))' "$SET_BODY")

# ---- Finding 2: shared_scripts follows the server ------------------------------
start_tollgate P --shared-scripts read-only --redis-command-timeout-ms 500 || exit 1
U=http://127.0.0.1:$P
post "$D_TOKEN" / "$LOOP"
expect_match dedicated-on-shared-server-write-loop-refused 400 'shared_scripts = read-only'
# On a binary without the fix the script ran: Redis is UNKILLABLE until
# SHUTDOWN NOSAVE (this test's own throwaway server).
if [ "$(R ping 2>&1)" != PONG ]; then
  fail redis-not-left-busy "Redis is busy: $(R ping 2>&1); shutting it down"
  R shutdown nosave >/dev/null 2>&1
  exit 1
fi
pass redis-not-left-busy
check write-loop-never-wrote test "$(R -n 1 exists k)" = 0
post "$D_TOKEN" /multi-exec "[$LOOP]"
expect_match dedicated-write-loop-refused-in-transaction 400 'shared_scripts = read-only'
post "$D_TOKEN" / '["eval_ro","return 1","0"]'
expect dedicated-on-shared-server-eval-ro-runs 200 '{"result":1}'
post "$S_TOKEN" / "$SET"
expect_match prefix-database-write-script-refused 400 'shared_scripts = read-only'
post "$L_TOKEN" / "$SET"
expect lone-database-owns-its-server 200 '{"result":"OK"}'
# A neighbour created on the lone server binds its cached token within
# the cache's re-check (AUTH_RECHECK_S, 1 s).
tg db create --tenant "$D_TENANT" --name neighbour --redis-url "redis://127.0.0.1:$RL" >/dev/null
sleep 1.2
post "$L_TOKEN" / "$SET"
expect_match new-neighbour-binds-within-a-second 400 'shared_scripts = read-only'
stop_tollgate "$P_PID" read-only-clean-shutdown "$TG_TMP/tollgate-$P.log"

# ---- approved (the default): the shipped list, with the real @upstash/ratelimit
LIST=$ROOT/tools/approved-scripts.txt
check approved-list-is-the-installed-ratelimits sh -c "
  node '$ROOT/tools/ratelimit-scripts.mjs' '$ROOT/tests/node/node_modules/@upstash/ratelimit' |
    cut -c1-40 >'$TG_TMP/generated' &&
  grep -v '^#' '$LIST' | awk 'NF {print \$1}' | diff - '$TG_TMP/generated'"
# No setting at all: the default is shared_scripts = approved with the
# list built into the binary (tools/approved-scripts.txt, embedded).
start_tollgate P || exit 1
U=http://127.0.0.1:$P
post "$D_TOKEN" / "$LOOP"
expect_match approved-refuses-the-write-loop-naming-it 400 "shared_scripts = approved.*$(sha1 "$LOOP_BODY")"
check approved-redis-not-busy test "$(R ping 2>&1)" = PONG
post "$S_TOKEN" / "[\"evalsha\",\"$(sha1 "$LOOP_BODY")\",\"1\",\"k\"]"
expect_match approved-refuses-unlisted-evalsha 400 'shared_scripts = approved'
TOLLGATE_URL=$U TOLLGATE_DEDICATED_TOKEN=$D_TOKEN TOLLGATE_PREFIX_TOKEN=$S_TOKEN \
  node_tests shared-server shared-server.mjs
stop_tollgate "$P_PID" approved-clean-shutdown "$TG_TMP/tollgate-$P.log"

# approved_scripts as a comma list; EVALSHA's SHA-1 in either case.
INCR_BODY="return redis.call('incr',KEYS[1])"
INCR_SHA=$(sha1 "$INCR_BODY")
start_tollgate P --shared-scripts approved --approved-scripts "$INCR_SHA,$(sha1 nothing)" || exit 1
U=http://127.0.0.1:$P
post "$D_TOKEN" / "$(node -e 'console.log(JSON.stringify(["eval", process.argv[1], "1", "n"]))' "$INCR_BODY")"
expect approved-list-eval-by-body 200 '{"result":1}'
post "$D_TOKEN" / "[\"evalsha\",\"$(tr a-f A-F <<<"$INCR_SHA")\",\"1\",\"n\"]"
expect approved-list-evalsha-upper-case 200 '{"result":2}'
post "$D_TOKEN" / "$SET"
expect_match approved-list-others-refused 400 "$(sha1 "$SET_BODY")"
stop_tollgate "$P_PID" approved-list-clean-shutdown "$TG_TMP/tollgate-$P.log"
out=$("$TG_BIN" serve --port 0 --approved-scripts "$TG_TMP/nonexistent" 2>&1)
rc=$?
check approved-scripts-missing-file-stops-serve sh -c "[ $rc != 0 ] && printf '%s' '$out' | grep -q 'approved_scripts: .*nonexistent'"

# ---- Finding 5: rules and the read-only scope stop no script: none runs -------
start_tollgate P --shared-scripts all || exit 1 # only the token limits scripts
U=http://127.0.0.1:$P
DENY_W=$(tg token create --db "$D_DB" --ttl 1h --deny '@write')
post "$DENY_W" / "$SET"
expect_match deny-write-token-eval-refused 403 'NOPERM.*inside scripts'
check deny-write-token-wrote-nothing test "$(R -n 1 exists k)" = 0
post "$DENY_W" /pipeline "[[\"get\",\"k\"],[\"eval_ro\",\"return 1\",\"0\"],[\"script\",\"load\",\"return 1\"]]"
expect_match deny-write-token-pipeline 200 '^\[\{"result":null\},\{"error":"NOPERM[^"]*eval_ro[^"]*"\},\{"error":"NOPERM[^"]*.script.[^"]*"\}\]$'
post "$D_TOKEN" / '["set","keep","1"]'
DENY_F=$(tg token create --db "$D_DB" --ttl 1h --deny '@write,flushdb')
post "$DENY_F" / "[\"eval\",\"return redis.call('flushdb')\",\"0\"]"
expect_match deny-flushdb-token-eval-flush-refused 403 'NOPERM'
check deny-flushdb-token-flushed-nothing test "$(R -n 1 exists keep)" = 1
ALLOW=$(tg token create --db "$D_DB" --ttl 1h --allow 'get,eval,evalsha')
post "$ALLOW" / "$SET"
expect_match allow-list-token-eval-refused 403 'NOPERM.*inside scripts'
post "$DR_TOKEN" / "[\"eval_ro\",\"return redis.call('keys','*')\",\"0\"]"
expect_match read-only-token-eval-ro-keys-refused 403 'read-only'
post "$DR_TOKEN" / "[\"evalsha_ro\",\"$(sha1 x)\",\"0\"]"
expect_match read-only-token-evalsha-ro-refused 403 'read-only'
post "$DR_TOKEN" / '["randomkey"]'
expect_match read-only-token-randomkey-refused 403 'read-only'
http GET "$U/randomkey" -H "Authorization: Bearer $DR_TOKEN"
expect_match read-only-token-randomkey-path-refused 403 'read-only'
post "$DR_TOKEN" / '["get","keep"]'
expect read-only-token-still-reads 200 '{"result":"1"}'
post "$D_TOKEN" / "$SET"
expect token-without-rules-runs-scripts 200 '{"result":"OK"}'
# Review finding: a dedicated database's restricted user had every channel
# (&*), so its script could PUBLISH into another database's "db<N>:"
# channels. Each logical DB's user now has only its own.
post "$D_TOKEN" / "[\"eval\",\"return redis.call('publish','db5:chan','x')\",\"0\"]"
expect_match script-publish-to-another-db-channel-refused 400 "can't publish to the channel"
post "$D_TOKEN" / "[\"eval\",\"return redis.call('publish','chan','x')\",\"0\"]"
expect_match script-publish-outside-the-namespace-refused 400 "can't publish to the channel"
post "$D_TOKEN" / "[\"eval\",\"return redis.call('publish','db1:chan','x')\",\"0\"]"
expect script-publish-to-own-db-channel 200 '{"result":0}'
post "$D_TOKEN" / '["publish","chan","x"]'
expect gateway-publish-still-works 200 '{"result":0}'
check dataplane-user-channels-are-its-db test "$(R acl getuser tollgate-dataplane-1 | grep -A1 '^channels$' | tail -1)" = '&db1:*'
post "$D_TOKEN" / '["randomkey"]'
expect_match read-write-token-randomkey 200 '^\{"result":"[^"]+"\}$'
stop_tollgate "$P_PID" rules-clean-shutdown "$TG_TMP/tollgate-$P.log"
