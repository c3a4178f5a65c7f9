#!/usr/bin/env bash
# title: data_bytes quota (sampled database size; writes refused, reads and deletes run)
#
# A dedicated and a shared (key-prefix) database, each with a data_bytes
# limit of 200000 bytes, the sampler every second: filled past the limit
# through the gateway, a write is refused 429 with Upstash's text while a
# GET and a DEL still run; emptied, writes run again. The shared
# database's neighbour on the same logical DB fills it first: its keys do
# not count against the shared database.
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision D || exit 1                       # dedicated
provision S --isolation prefix || exit 1    # shared, limited
provision N --isolation prefix || exit 1    # shared, its neighbour, unlimited
LIMIT=200000
check limit-dedicated tg db limits --db "$D_DB" --data-bytes $LIMIT
check limit-shared tg db limits --db "$S_DB" --data-bytes $LIMIT
start_tollgate P --quota-sample-s 1 || exit 1
U=http://127.0.0.1:$P
VAL=$(head -c 10000 /dev/zero | tr '\0' v)

# fill TOKEN N: N values of 10000 bytes through the gateway; 0 if all ran.
fill() {
  local i
  for i in $(seq 1 "$2"); do
    http POST "$U/" -H "Authorization: Bearer $1" -d "[\"set\",\"k$i\",\"$VAL\"]"
    [ "$STATUS" = 200 ] || { echo "    set k$i: $STATUS $BODY"; return 1; }
  done
}
# fill_over TOKEN N: writes N values, a refusal (the sampler may catch up
# while they are written) ending it early; 0 once the database is over
# 200,000 bytes by what ran (21 values), or a write was refused for it.
fill_over() {
  local i ran=0
  for i in $(seq 1 "$2"); do
    http POST "$U/" -H "Authorization: Bearer $1" -d "[\"set\",\"k$i\",\"$VAL\"]"
    [ "$STATUS" = 200 ] && ran=$((ran + 1))
    if [ "$STATUS" = 429 ] && grep -q data_bytes <<<"$BODY"; then return 0; fi
  done
  [ "$ran" -ge 21 ]
}
# refused_within TOKEN SECONDS: a small write is refused for data_bytes
# within that time (the sampler's rounds: a large logical DB takes several).
refused_within() {
  local i
  for i in $(seq 1 $(( $2 * 4 ))); do
    http POST "$U/" -H "Authorization: Bearer $1" -d '["set","more","x"]'
    [ "$STATUS" = 429 ] && grep -q '"limit":"data_bytes"' <<<"$BODY" && return 0
    sleep 0.25
  done
  return 1
}
# empty TOKEN N: deletes k1..kN.
empty() {
  local i
  for i in $(seq 1 "$2"); do
    http POST "$U/" -H "Authorization: Bearer $1" -d "[\"del\",\"k$i\"]"
  done
}

over_limit() {   # NAME TOKEN
  local name=$1 tok=$2
  http POST "$U/" -H "Authorization: Bearer $tok" -d '["set","more","x"]'
  echo "    refusal: $BODY"
  expect_match "$name-write-refused" 429 \
    "^\\{\"error\":\"ERR DB capacity quota exceeded\\. Limit: $LIMIT, Usage: [0-9]+\",\"limit\":\"data_bytes\"\\}\$"
  http POST "$U/" -H "Authorization: Bearer $tok" -d '["get","k1"]'
  check "$name-read-runs" test "$STATUS" = 200 -a "${#BODY}" -gt 10000
  http POST "$U/pipeline" -H "Authorization: Bearer $tok" -d '[["strlen","k2"],["exists","k3"]]'
  expect "$name-read-pipeline-runs" 200 '[{"result":10000},{"result":1}]'
  http POST "$U/" -H "Authorization: Bearer $tok" -d '["del","k1"]'
  expect "$name-delete-runs" 200 '{"result":1}'
}

# ---- a dedicated database: DBSIZE x MEMORY USAGE of random keys.
http POST "$U/" -H "Authorization: Bearer $D_TOKEN" -d '["set","small","x"]'
expect dedicated-under-limit-writes 200 '{"result":"OK"}'
check dedicated-filled fill "$D_TOKEN" 25
sleep 2
over_limit dedicated "$D_TOKEN"
empty "$D_TOKEN" 25
sleep 2
http POST "$U/" -H "Authorization: Bearer $D_TOKEN" -d '["set","again","x"]'
expect dedicated-writes-again 200 '{"result":"OK"}'

# ---- a shared database: its neighbour's keys on the same logical DB do
# not count; its own do.
check neighbour-filled fill "$N_TOKEN" 30
sleep 2
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","small","x"]'
expect shared-neighbour-not-counted 200 '{"result":"OK"}'
check shared-filled fill "$S_TOKEN" 25
sleep 2
over_limit shared "$S_TOKEN"
http POST "$U/" -H "Authorization: Bearer $N_TOKEN" -d '["set","more","x"]'
expect neighbour-unlimited-writes 200 '{"result":"OK"}'
empty "$S_TOKEN" 25
sleep 2
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","again","x"]'
expect shared-writes-again 200 '{"result":"OK"}'

# ---- the limit lifted live: writes run without waiting for a sample.
check shared-refilled fill_over "$S_TOKEN" 25
sleep 2
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","more","x"]'
check shared-refused-again test "$STATUS" = 429
check limit-lifted tg db limits --db "$S_DB" --data-bytes none
sleep 1.5
http POST "$U/" -H "Authorization: Bearer $S_TOKEN" -d '["set","more","x"]'
expect shared-limit-lifted 200 '{"result":"OK"}'

# ---- a logical DB larger than one round's scan (100 x COUNT 1000): the
# pass spans rounds, its cursor kept between them; the size still arrives.
provision L --isolation prefix || exit 1
check limit-large tg db limits --db "$L_DB" --data-bytes $LIMIT
LIDX=$(sqlite3 "$TOLLGATE_SQLITE_PATH" "SELECT db_index FROM databases WHERE id = '$L_DB'")
redis-cli -p "$RP" -n "$LIDX" eval \
  "for i = 1, 250000 do redis.call('SET', 'other:' .. i, 'v') end return 1" 0 >/dev/null
check large-filled fill_over "$L_TOKEN" 25
check large-keyspace-write-refused refused_within "$L_TOKEN" 20

stop_tollgate "$P_PID" data-quota-clean-shutdown "$TG_TMP/tollgate-$P.log"
check no-sampler-errors test -z "$(grep 'data size' "$TG_TMP/tollgate-$P.log")"
