#!/usr/bin/env bash
# `make run`: a private Redis under ./var (unless TOLLGATE_REDIS_URL is
# set), a dev tenant, database and token, a curl line that works as pasted,
# then tollgate in the foreground. The dev database owns the private Redis
# (isolation server), so every command the client offers works, functions
# and FLUSHALL included; on an operator's Redis (TOLLGATE_REDIS_URL) it is
# a dedicated logical DB, as before. Usage: tools/dev-run.sh path/to/tollgate
set -eu
BIN=$(realpath "$1")
cd "$(dirname "$0")/.."
VAR=${TOLLGATE_DEV_DIR:-$PWD/var}   # tests point it elsewhere
mkdir -p "$VAR/redis"
export TOLLGATE_SQLITE_PATH=${TOLLGATE_SQLITE_PATH:-$VAR/tollgate.db}
PORT=${TOLLGATE_PORT:-8080}

# Secrets kept under ./var, so tokens (jwt-secret) and the Redis ACL
# users' passwords (acl-secret) survive restarts.
secret_file() { # name: ./var/<name>, made once (32 random bytes, hex)
  [ -s "$VAR/$1" ] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VAR/$1")
  cat "$VAR/$1"
}
[ -n "${TOLLGATE_JWT_SECRET:-}" ] || export TOLLGATE_JWT_SECRET=$(secret_file jwt-secret)
[ -n "${TOLLGATE_ACL_SECRET:-}" ] || export TOLLGATE_ACL_SECRET=$(secret_file acl-secret)
# Signs admin and tenant tokens (the control plane, the dashboard's sign-in).
[ -n "${TOLLGATE_ADMIN_JWT_SECRET:-}" ] ||
  export TOLLGATE_ADMIN_JWT_SECRET=$(secret_file admin-jwt-secret)

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ISOLATION=dbindex
if [ -z "${TOLLGATE_REDIS_URL:-}" ]; then
  ISOLATION=server # the private Redis is the dev database's own
  RPORT=$(cat "$VAR/redis/port" 2>/dev/null || echo "")
  if [ -n "$RPORT" ] && redis-cli -p "$RPORT" ping >/dev/null 2>&1; then
    echo "tollgate: reusing the dev redis-server on port $RPORT"
  else
    RPORT=6390
    while port_in_use "$RPORT"; do RPORT=$((RPORT + 1)); done
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$VAR/redis" \
      --daemonize yes --pidfile "$VAR/redis/redis.pid" --logfile "$VAR/redis/redis.log" \
      --save 60 1 --sanitize-dump-payload yes >/dev/null
    for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "$RPORT" >"$VAR/redis/port"
    echo "tollgate: started a dev redis-server on port $RPORT (data in $VAR/redis)"
  fi
  export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RPORT
fi

"$BIN" migrate >/dev/null
# The dev tenant and database, created once per Redis URL (lines: tenant,
# database, URL, isolation).
IDS=$VAR/dev-ids
if [ ! -s "$IDS" ] || [ "$(sed -n 3p "$IDS")" != "$TOLLGATE_REDIS_URL" ]; then
  T=$("$BIN" tenant create --name dev)
  D=$("$BIN" db create --tenant "$T" --name "dev-$(date +%s)" --isolation "$ISOLATION")
  printf '%s\n%s\n%s\n%s\n' "$T" "$D" "$TOLLGATE_REDIS_URL" "$ISOLATION" >"$IDS"
fi
D=$(sed -n 2p "$IDS")
if [ "$ISOLATION" = server ] && [ "$(sed -n 4p "$IDS")" != server ]; then
  echo "tollgate: note: the dev database $D predates server isolation (functions, INFO"
  echo "  and FLUSHALL are refused to it); for one that owns the dev Redis, run"
  echo "  \`$BIN db delete --db $D\` (its data goes) and \`rm var/dev-ids\`, then make run again"
fi
TOKEN=$("$BIN" token create --db "$D" --scope rw --ttl 30d)
TENANT_TOKEN=$("$BIN" tenant-token create --tenant "$(sed -n 1p "$IDS")" --ttl 1d)

cat <<MSG

  tollgate dev server on http://127.0.0.1:$PORT  (Redis: $TOLLGATE_REDIS_URL,
  database $D in $(sed -n 4p "$IDS" | grep . || echo dbindex) isolation)

  token (read-write, 30 days):
    $TOKEN

  try it:
    curl -s http://127.0.0.1:$PORT/set/hello/world -H "Authorization: Bearer $TOKEN"

  or with @upstash/redis:
    new Redis({ url: "http://127.0.0.1:$PORT", token: "<token above>" })

  the tenant's dashboard (signs in with a tenant token valid 1 day):
    http://127.0.0.1:$PORT/dashboard#token=$TENANT_TOKEN

MSG
exec "$BIN" serve --port "$PORT"
