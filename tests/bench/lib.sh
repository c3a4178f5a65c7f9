# tests/bench/lib.sh: what the bench scripts share (run.sh, sse.sh source
# it): free ports, waiting for a server, and one redis-server with a
# tollgate state provisioned in front of it. The sourcing script sets
# TMP (its scratch folder, removed by its cleanup), PIDS (an array: every
# process started here is appended, for the caller's cleanup to kill) and
# TG (the tollgate binary) first.

say() { printf '%s\n' "$*" >&2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TAKEN=" "
free_port() { # sets FREE_PORT; never hands out the same port twice
  local p
  while :; do
    # Below the kernel's ephemeral range (32768+), where outgoing
    # connections would make a listener's bind fail.
    p=$((20000 + RANDOM % 12000))
    case "$TAKEN" in *" $p "*) continue ;; esac
    port_in_use "$p" || break
  done
  TAKEN="$TAKEN$p "
  FREE_PORT=$p
}
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

# bench_redis [redis-server option...]: a throwaway redis-server on a free
# port (RP), nothing saved, its log in $TMP/redis.log; returns once it
# answers PING (or after 5 s).
bench_redis() {
  free_port; RP=$FREE_PORT
  redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    --logfile "$TMP/redis.log" "$@" &
  PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# bench_provision NAME: exports the TOLLGATE_* settings of a fresh state in
# $TMP in front of bench_redis's server, migrates it and makes one tenant
# and one database (logical DB 0), both called NAME, and a token for it:
# sets TEN, DB and TOKEN.
bench_provision() {
  export TOLLGATE_SQLITE_PATH=$TMP/state.db
  export TOLLGATE_JWT_SECRET=bench-secret-bench-secret-bench-secret
  export TOLLGATE_ACL_SECRET=bench-acl-secret-bench-acl-secret-bench
  export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
  "$TG" migrate >/dev/null
  TEN=$("$TG" tenant create --name "$1")
  DB=$("$TG" db create --tenant "$TEN" --name "$1" --db-index 0)
  TOKEN=$("$TG" token create --db "$DB" --ttl 1d)
}
