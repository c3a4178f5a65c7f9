#!/usr/bin/env bash
# title: isolation modes: COPY and MEMORY USAGE everywhere, a server of one's own
# Issue 14, item 2. COPY within the caller's database and MEMORY USAGE run
# in the dbindex and prefix modes (COPY's DB option refused), and a database
# created with --isolation server owns its whole Redis: functions, FCALL,
# SCRIPT FLUSH, FLUSHALL, INFO (safe sections), MEMORY STATS and DBSIZE run
# there, administration still does not. `db create` keeps a server's Redis
# to one database. curl here, then the real @upstash/redis client
# (tests/node/isolation_modes.test.mjs).
# Usage: TG_BIN=path/to/tollgate test_isolation_modes.sh
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1   # shared by a dbindex and a prefix database
start_redis RS || exit 1   # owned by a server database
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
URL_S=redis://127.0.0.1:$RS
rp() { redis-cli -p "$RP" "$@"; }
rs() { redis-cli -p "$RS" "$@"; }

provision D --name modes-d --db-index 1 || exit 1
provision P --name modes-p --isolation prefix || exit 1
S_TENANT=$(tg tenant create --name modes-s) || exit 1
S_DB=$(tg db create --tenant "$S_TENANT" --name server --isolation server --redis-url "$URL_S") || {
  fail provision-server-database "db create --isolation server failed"; exit 1; }
S_TOKEN=$(tg token create --db "$S_DB" --ttl 1h) || exit 1
SR_TOKEN=$(tg token create --db "$S_DB" --ttl 1h --scope ro) || exit 1
PP="$P_DB:" # P's key prefix
PIDX=$(q "select db_index from databases where id = '$P_DB'")

# ---- db create keeps a server's Redis to one database --------------------------
refuse_create() { # NAME WANT-RE ARGS...: db create fails, says WANT-RE, creates nothing
  local name=$1 re=$2 out rc before after
  shift 2
  before=$(q "select count(*) from databases")
  out=$(tg db create --tenant "$S_TENANT" "$@" 2>&1); rc=$?
  after=$(q "select count(*) from databases")
  if [ "$rc" != 0 ] && grep -qE -- "$re" <<<"$out" && [ "$before" = "$after" ]; then pass "$name"
  else fail "$name" "rc $rc, $before -> $after rows" "$out"; fi
}
refuse_create create-server-on-a-used-redis 'already used' --name x1 --isolation server --redis-url "$TOLLGATE_REDIS_URL"
refuse_create create-second-server-on-an-owned-redis 'server isolation' --name x2 --isolation server --redis-url "$URL_S"
refuse_create create-dbindex-on-an-owned-redis 'server isolation' --name x3 --redis-url "$URL_S"
refuse_create create-prefix-on-an-owned-redis 'server isolation' --name x4 --isolation prefix --redis-url "$URL_S"
refuse_create create-dbindex-slot-on-an-owned-redis 'server isolation' --name x5 --db-index 4 --redis-url "$URL_S"
refuse_create create-server-with-a-db-index 'database 0' --name x6 --isolation server --db-index 2 --redis-url redis://127.0.0.1:1
# Review findings: one server by another spelling of its URL (host, user),
# and the quota counter Redis, are refused to a server database.
refuse_create create-dbindex-on-an-owned-redis-by-localhost 'server isolation' --name x8 --redis-url "redis://someone@localhost:$RS/"
refuse_create create-server-on-a-used-redis-by-localhost 'already used' --name x9 --isolation server --redis-url "redis://LOCALHOST:$RP"
TOLLGATE_QUOTA_REDIS_URL=redis://127.0.0.1:1 refuse_create create-server-on-the-quota-redis 'quota_redis_url' --name x10 --isolation server --redis-url redis://localhost:1
refuse_create create-unknown-isolation 'dbindex, prefix or server' --name x7 --isolation cluster
check server-row-recorded test "$(q "select isolation || ',' || db_index || ',' || coalesce(key_prefix, '-') from databases where id = '$S_DB'")" = "server,0,-"
check server-acl-user-created sh -c "redis-cli -p $RS acl users | grep -qxF tollgate-db-$S_DB"

start_tollgate T || exit 1
U=http://127.0.0.1:$T
# run TOKEN PATH JSON: POST; sets STATUS, BODY.
run() { http POST "$U$2" -H "Authorization: Bearer $1" -d "$3"; }
j() { node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "$@"; }
# want NAME STATUS RE
want() { expect_match "$@"; }

# ---- COPY and MEMORY USAGE in the dbindex and prefix modes -----------------------
for m in D P; do
  tok_var=${m}_TOKEN
  tok=${!tok_var}
  run "$tok" / '["set","src","value-'$m'"]'
  run "$tok" / '["copy","src","dst"]'; want "$m-copy" 200 '^\{"result":1\}$'
  run "$tok" / '["get","dst"]'; want "$m-copy-landed" 200 '"value-'$m'"'
  run "$tok" / '["copy","src","dst"]'; want "$m-copy-no-replace-is-0" 200 '^\{"result":0\}$'
  run "$tok" / '["copy","src","dst","REPLACE"]'; want "$m-copy-replace" 200 '^\{"result":1\}$'
  run "$tok" / '["copy","src","other","db","2"]'; want "$m-copy-db-refused" 400 '"error":"ERR command .copy. is not allowed with the DB option'
  run "$tok" / '["copy","src","other","replace","DB","0"]'; want "$m-copy-replace-db-refused" 400 'DB option'
  run "$tok" / '["memory","usage","src"]'; want "$m-memory-usage" 200 '^\{"result":[0-9]+\}$'
  run "$tok" / '["memory","usage","src","samples","5"]'; want "$m-memory-usage-samples" 200 '^\{"result":[0-9]+\}$'
  run "$tok" / '["memory","usage","nosuch"]'; want "$m-memory-usage-missing-key" 200 '^\{"result":null\}$'
  run "$tok" / '["memory","stats"]'; want "$m-memory-stats-refused" 400 'not allowed'
  run "$tok" / '["memory","doctor"]'; want "$m-memory-doctor-refused" 400 'not allowed'
  # COPY runs as the URL's user; the next command, in the same pipeline
  # or not, runs as the database's (restricted) user again: Lua's COPY,
  # which could name a DB, is still refused.
  run "$tok" /pipeline '[["copy","src","c2"],["eval","return redis.call(\"COPY\", KEYS[1], \"c3\")","1","src"],["get","c2"]]'
  want "$m-copy-then-lua-copy-refused" 200 '^\[\{"result":1\},\{"error":"[^"]+"\},\{"result":"value-'$m'"\}\]$'
  run "$tok" / '["eval","return redis.call(\"COPY\", KEYS[1], \"c4\", \"DB\", \"3\")","1","src"]'
  want "$m-lua-copy-db-refused" 400 'error'
  run "$tok" /multi-exec '[["set","t","1"],["copy","src","c5"]]'; want "$m-copy-in-multi-exec-refused" 400 'multi-exec'
  run "$tok" / '["exists","t","c3","c4","c5"]'; want "$m-refusals-ran-nothing" 200 '^\{"result":0\}$'
  for c in '["function","list"]' '["info"]' '["script","flush"]' '["config","get","*"]' '["acl","whoami"]' '["shutdown"]' '["debug","sleep","0"]' '["module","list"]' '["replicaof","no","one"]'; do
    run "$tok" / "$c"; want "$m-still-refused-$(node -e 'console.log(JSON.parse(process.argv[1]).slice(0,2).join("-"))' "$c")" 400 'not allowed'
  done
done
check d-copy-stays-in-its-logical-db test "$(rp -n 1 get dst)/$(rp -n 2 exists other)/$(rp -n 0 exists other)" = "value-D/0/0"
check p-copy-under-its-prefix test "$(rp -n "$PIDX" get "${PP}dst")/$(rp -n "$PIDX" exists dst)" = "value-P/0"
# Both keys are prefixed: P cannot copy another tenant's key, nor onto one.
rp -n "$PIDX" set victim v >/dev/null
run "$P_TOKEN" / '["copy","victim","mine"]'; want p-copy-source-is-prefixed 200 '^\{"result":0\}$'
run "$P_TOKEN" / '["copy","src","victim","replace"]'; want p-copy-destination-is-prefixed 200 '^\{"result":1\}$'
check p-copy-left-the-victim test "$(rp -n "$PIDX" get victim)/$(rp -n "$PIDX" get "${PP}victim")" = "v/value-P"
run "$P_TOKEN" / '["memory","usage","victim"]'; want p-memory-usage-is-prefixed 200 '^\{"result":[0-9]+\}$'
run "$D_TOKEN" / '["flushall"]'; want d-flushall-is-flushdb 200 '"OK"'
check d-flushall-left-the-others test "$(rp -n "$PIDX" exists victim)" = 1

# ---- A database that owns its server ------------------------------------------
rs -n 3 set elsewhere 1 >/dev/null   # the owner's too: another logical DB
LIB='#!lua name=mylib
redis.register_function("echo1", function(keys, args) return args[1] end)
redis.register_function{function_name = "get1", callback = function(keys, args) return redis.call("GET", keys[1]) end, flags = {"no-writes"}}'
run "$S_TOKEN" / "$(j function load "$LIB")"; want s-function-load 200 '^\{"result":"mylib"\}$'
run "$S_TOKEN" / "$(j function load "$LIB")"; want s-function-load-twice-is-redis-error 400 'already exists'
run "$S_TOKEN" / "$(j function load replace "$LIB")"; want s-function-load-replace 200 '"mylib"'
run "$S_TOKEN" / '["fcall","echo1","0","hello"]'; want s-fcall 200 '^\{"result":"hello"\}$'
run "$S_TOKEN" / '["set","k","v1"]'
run "$S_TOKEN" / '["fcall_ro","get1","1","k"]'; want s-fcall-ro 200 '^\{"result":"v1"\}$'
run "$S_TOKEN" / '["function","list"]'; want s-function-list 200 'mylib'
run "$S_TOKEN" / '["function","stats"]'; want s-function-stats 200 'engines'
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -H 'Upstash-Encoding: base64' -d '["function","dump"]'
want s-function-dump 200 '"result":"[A-Za-z0-9+/=]+"'
DUMP=$(node -e 'const b=Buffer.from(JSON.parse(process.argv[1]).result,"base64");
  process.stdout.write([...b].map(x=>"%"+x.toString(16).padStart(2,"0")).join(""))' "$BODY")
run "$S_TOKEN" / '["function","delete","mylib"]'; want s-function-delete 200 '"OK"'
run "$S_TOKEN" / '["fcall","echo1","0","x"]'; want s-fcall-after-delete-is-redis-error 400 'Function not found'
http GET "$U/function/restore/$DUMP" -H "Authorization: Bearer $S_TOKEN"; want s-function-restore 200 '"OK"'
run "$S_TOKEN" / '["fcall","echo1","0","back"]'; want s-fcall-after-restore 200 '"back"'
run "$S_TOKEN" / '["function","flush"]'; want s-function-flush 200 '"OK"'
check s-functions-gone-from-redis test -z "$(rs function list)"
run "$S_TOKEN" / '["script","load","return 7"]'; SHA=$(node -e 'console.log(JSON.parse(process.argv[1]).result)' "$BODY")
run "$S_TOKEN" / '["script","flush"]'; want s-script-flush 200 '"OK"'
run "$S_TOKEN" / "$(j evalsha "$SHA" 0)"; want s-script-flushed 400 'NOSCRIPT'
run "$S_TOKEN" / '["copy","k","k2"]'; want s-copy 200 '^\{"result":1\}$'
run "$S_TOKEN" / '["copy","k","k3","db","3"]'; want s-copy-db-refused 400 'DB option'
run "$S_TOKEN" /multi-exec '[["copy","k","k4"],["get","k4"]]'; want s-copy-in-multi-exec 200 '^\[\{"result":1\},\{"result":"v1"\}\]$'
run "$S_TOKEN" / '["memory","usage","k"]'; want s-memory-usage 200 '^\{"result":[0-9]+\}$'
run "$S_TOKEN" / '["memory","stats"]'; want s-memory-stats 200 'peak.allocated'
run "$S_TOKEN" / '["memory","doctor"]'; want s-memory-doctor-refused 400 'not allowed'
run "$S_TOKEN" / '["dbsize"]'; want s-dbsize 200 '^\{"result":3\}$'
run "$S_TOKEN" / '["info"]'; want s-info 200 '# Memory'
check s-info-only-safe-sections sh -c "! grep -qE '# (Server|Replication|Modules)|executable|config_file|process_id' \"\$1\"" _ "$TG_TMP/body"
run "$S_TOKEN" / '["info","keyspace","memory"]'; want s-info-sections 200 'db0:keys=3'
for s in server replication all everything default modules; do
  run "$S_TOKEN" / "[\"info\",\"$s\"]"; want "s-info-$s-refused" 400 "section '$s'"
done
# Administration stays refused, in the server's own mode too.
for c in '["config","set","maxmemory","1"]' '["config","get","*"]' '["shutdown"]' '["shutdown","nosave"]' \
         '["acl","whoami"]' '["acl","setuser","x"]' '["module","list"]' '["replicaof","no","one"]' \
         '["slaveof","no","one"]' '["debug","sleep","0"]' '["client","list"]' '["monitor"]' '["select","3"]' \
         '["swapdb","0","3"]' '["script","kill"]' '["save"]' '["bgsave"]' '["latency","latest"]' \
         '["slowlog","get"]' '["failover"]' '["move","k","3"]' '["pubsub","channels"]'; do
  run "$S_TOKEN" / "$c"
  want "s-still-refused-$(node -e 'console.log(JSON.parse(process.argv[1]).slice(0,2).join("-"))' "$c")" 400 'not allowed'
done
check s-redis-still-up test "$(rs ping)" = PONG
# A function's body runs as the server database's ACL user: no admin there.
run "$S_TOKEN" / "$(j function load "#!lua name=bad
redis.register_function('cfg', function() return redis.call('CONFIG', 'SET', 'maxmemory', '1') end)")"
run "$S_TOKEN" / '["fcall","cfg","0"]'; want s-function-cannot-run-config 400 'error'
check s-maxmemory-untouched test "$(rs config get maxmemory | tail -1)" = 0
dry() { rs acl dryrun "tollgate-db-$S_DB" "$@" 2>&1; }
check s-acl-may-flushall test "$(dry flushall)" = OK
check s-acl-may-load-functions test "$(dry function load x)" = OK
check s-acl-may-read-info test "$(dry info memory)" = OK
for c in 'config set maxmemory 1' 'shutdown' 'acl setuser x' 'module list' 'debug sleep 0' 'replicaof no one' 'select 1' 'client list'; do
  read -ra w <<<"$c"
  out=$(dry "${w[@]}")
  if [ "$out" != OK ]; then pass "s-acl-denies-${w[0]}"; else fail "s-acl-denies-${w[0]}" "ACL DRYRUN $c: OK"; fi
done
# A read-only token writes nothing, here either.
for c in '["function","load","x"]' '["flushall"]' '["function","flush"]' '["script","flush"]'; do
  run "$SR_TOKEN" / "$c"; want "s-ro-refused-$(node -e 'console.log(JSON.parse(process.argv[1]).slice(0,2).join("-"))' "$c")" 403 'read-only'
done
run "$SR_TOKEN" / '["info","memory"]'; want s-ro-info 200 '# Memory'
run "$S_TOKEN" / '["flushall"]'; want s-flushall 200 '"OK"'
check s-flushall-emptied-every-logical-db test "$(rs -n 0 dbsize)/$(rs -n 3 dbsize)" = "0/0"
check s-flushall-left-the-shared-redis test "$(rp -n "$PIDX" exists victim)" = 1

# ---- The client ----------------------------------------------------------------
export TOLLGATE_URL=$U TOLLGATE_TOKEN_DBINDEX=$D_TOKEN TOLLGATE_TOKEN_PREFIX=$P_TOKEN TOLLGATE_TOKEN_SERVER=$S_TOKEN
node_tests isolation-modes isolation_modes.test.mjs
stop_tollgate "$T_PID" clean-shutdown "$TG_TMP/tollgate-$T.log"

# ---- Deleting the server database frees its Redis --------------------------------
rs set leftover 1 >/dev/null
rs function load "$LIB" >/dev/null
tg db delete --db "$S_DB" >/dev/null 2>&1
check s-delete-purged-data test "$(rs dbsize)/$(rs function list)" = "0/"
check s-delete-dropped-user sh -c "! redis-cli -p $RS acl users | grep -qxF tollgate-db-$S_DB"
N=$(tg db create --tenant "$S_TENANT" --name server2 --isolation server --redis-url "$URL_S" 2>&1)
check s-redis-free-again-after-delete grep -qE '^db_[0-9a-f]+$' <<<"$N"

# ---- Migration 0013 keeps an older state file's rows and references ----------------
# The databases table is rebuilt (SQLite cannot widen a CHECK in place)
# while tokens and quotas reference it.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OLD=$TG_TMP/old.db
{
  echo "PRAGMA foreign_keys=ON;"
  echo "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
  for f in "$ROOT"/migrations/[0-9]*.sql; do
    n=$(basename "$f"); v=$((10#${n%%_*}))
    [ "$v" -lt 13 ] || continue
    cat "$f"; echo "INSERT INTO schema_migrations VALUES ($v, 'old', 0);"
  done
  echo "INSERT INTO tenants(id, name, created_at) VALUES ('tn_old', 'old', 1);"
  echo "INSERT INTO databases(id, tenant_id, name, redis_url, isolation, db_index, created_at)
          VALUES ('db_old1', 'tn_old', 'a', 'redis://old/', 'dbindex', 3, 1);"
  echo "INSERT INTO databases(id, tenant_id, name, redis_url, isolation, db_index, key_prefix, created_at, deleted_at)
          VALUES ('db_old2', 'tn_old', 'b', 'redis://old/', 'prefix', 4, 'db_old2:', 1, 2);"
  echo "INSERT INTO tokens(jti, tenant_id, database_id, scope, issued_at, expires_at)
          VALUES ('jti_old', 'tn_old', 'db_old1', 'rw', 1, 2);"
} | sqlite3 "$OLD" >/dev/null
OUT=$(TOLLGATE_SQLITE_PATH=$OLD tg migrate 2>&1)
check old-state-file-migrates sh -c "sqlite3 '$OLD' 'select max(version) from schema_migrations' | grep -qE '^(1[3-9]|[2-9][0-9])$'" || echo "    $OUT"
check old-rows-kept test "$(sqlite3 "$OLD" "select group_concat(id || ':' || isolation || ':' || db_index || ':' || coalesce(key_prefix, '-') || ':' || coalesce(deleted_at, '-'), ' ') from (select * from databases order by id)")" = "db_old1:dbindex:3:-:- db_old2:prefix:4:db_old2::2"
check old-references-intact test -z "$(sqlite3 "$OLD" 'pragma foreign_key_check')"
check old-file-integrity test "$(sqlite3 "$OLD" 'pragma integrity_check')" = ok
check old-indexes-rebuilt test "$(sqlite3 "$OLD" "select group_concat(name, ' ') from (select name from sqlite_master where type = 'index' and tbl_name = 'databases' and sql is not null order by name)")" = "databases_backend_slot databases_server_owner databases_tenant_name"
check old-file-takes-server-rows sh -c "sqlite3 '$OLD' \"insert into databases(id, tenant_id, name, redis_url, isolation, db_index, created_at) values ('db_s', 'tn_old', 's', 'redis://s/', 'server', 0, 1)\""
check old-file-slot-index-holds sh -c "! sqlite3 '$OLD' \"insert into databases(id, tenant_id, name, redis_url, isolation, db_index, created_at) values ('db_x', 'tn_old', 'x', 'redis://old/', 'dbindex', 3, 1)\" 2>/dev/null"
check old-file-foreign-keys-enforced sh -c "! sqlite3 '$OLD' \"pragma foreign_keys=on; insert into tokens(jti, tenant_id, database_id, scope, issued_at, expires_at) values ('j2', 'tn_old', 'db_none', 'rw', 1, 2)\" 2>/dev/null"
