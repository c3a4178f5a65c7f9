#!/usr/bin/env bash
# title: hostile requests: amplifying arguments, writes on HEAD, sync-token leaks
# Reproductions from an attack review (issue 10), each checked at Redis:
#   - a 40-byte request must not make Redis build hundreds of megabytes
#     (SRANDMEMBER with a huge negative count, SETRANGE/SETBIT/BITFIELD far
#     offsets): refused with 400, and Redis never sees the command;
#   - HEAD must not write: `HEAD /set/k/1` is a 405 and the key is absent;
#   - upstash-sync-token is per database and only on its callers' answers.
# Usage: TG_BIN=path/to/tollgate test_hostile.sh
. "$(dirname "$0")/lib.sh"

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
R() { redis-cli -p "$RP" "$@"; }
# calls CMD: how many times Redis ran CMD (INFO commandstats), 0 if never.
calls() {
  R info commandstats | tr -d '\r' |
    awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c {print $3; f = 1} END {if (!f) print 0}'
}
provision A --name hostile --db-index 1 || exit 1
provision B --tenant "$A_TENANT" --db-name b --db-index 2 || exit 1
provision S --tenant "$A_TENANT" --db-name s --isolation prefix || exit 1
start_tollgate P --max-reply-bytes 1048576 || exit 1
U=http://127.0.0.1:$P
AUTH=(-H "Authorization: Bearer $A_TOKEN")

# ---- Counts and offsets are bounded before Redis sees them --------------------
http POST "$U/" "${AUTH[@]}" -d '["sadd","s1","m"]'
expect sadd-one-member 200 '{"result":1}'
BEFORE=$(calls srandmember)
START=$(date +%s%N)
http POST "$U/" "${AUTH[@]}" -d '["srandmember","s1","-60000000"]'
MS=$(( ($(date +%s%N) - START) / 1000000 ))
expect_match srandmember-huge-negative-count-400 400 'count out of range'
check srandmember-refused-quickly test "$MS" -lt 1000
check srandmember-never-reached-redis test "$(calls srandmember)" = "$BEFORE"
http POST "$U/" "${AUTH[@]}" -d '["srandmember","s1","-9223372036854775808"]'
expect_match srandmember-min-int64-400 400 'count out of range'
# 1 MB of replies: 174762 elements of at least 6 bytes; one more cannot fit.
http POST "$U/" "${AUTH[@]}" -d '["srandmember","s1","-174763"]'
expect_match srandmember-just-over-the-bound-400 400 'at most 174762 elements'
http POST "$U/" "${AUTH[@]}" -d '["srandmember","s1","-3"]'
expect srandmember-small-negative-count 200 '{"result":["m","m","m"]}'
http POST "$U/" "${AUTH[@]}" -d '["srandmember","s1","1000000000"]'
expect srandmember-positive-count-is-bounded-by-the-set 200 '{"result":["m"]}'
# A request's counts add up: two of -60000 (6 bytes an element at least:
# 720000 of 1048576) pass, a third is refused.
http POST "$U/pipeline" "${AUTH[@]}" -d '[["srandmember","s1","-60000"],["srandmember","s1","-60000"],["srandmember","s1","-60000"]]'
check pipeline-counts-add-up sh -c "[ '$STATUS' = 200 ] && node -e '
  const a = JSON.parse(require(\"fs\").readFileSync(0, \"utf8\"));
  process.exit(a[0].result.length === 60000 && a[1].result.length === 60000 &&
               /count out of range/.test(a[2].error) ? 0 : 1)' <'$TG_TMP/body'"
http POST "$U/" "${AUTH[@]}" -d '["hset","h","f","v"]'
http POST "$U/" "${AUTH[@]}" -d '["hrandfield","h","-50000000","withvalues"]'
expect_match hrandfield-huge-negative-count-400 400 'count out of range'
http POST "$U/" "${AUTH[@]}" -d '["zadd","z","1","m"]'
http POST "$U/" "${AUTH[@]}" -d '["zrandmember","z","-50000000","withscores"]'
expect_match zrandmember-huge-negative-count-400 400 'count out of range'
check randfield-never-reached-redis sh -c "[ $(calls hrandfield) = 0 ] && [ $(calls zrandmember) = 0 ]"

http POST "$U/" "${AUTH[@]}" -d '["setrange","big","536870000","x"]'
expect_match setrange-far-offset-400 400 'offset out of range'
http POST "$U/" "${AUTH[@]}" -d '["setbit","bits","4294967295","1"]'
expect_match setbit-far-offset-400 400 'offset out of range'
http POST "$U/" "${AUTH[@]}" -d '["bitfield","bf","get","u8","0","set","u8","#400000000","1"]'
expect_match bitfield-far-offset-400 400 'offset out of range'
check far-offsets-never-reached-redis sh -c "[ $(calls setrange) = 0 ] && [ $(calls setbit) = 0 ] && [ $(calls bitfield) = 0 ]"
check no-big-value-made test "$(R -n 1 exists big bits bf)" = 0
http POST "$U/" "${AUTH[@]}" -d '["setbit","bits","1000","1"]'
expect setbit-near-offset 200 '{"result":0}'
http POST "$U/" "${AUTH[@]}" -d '["bitfield","bf","set","u8","#10","7","get","u8","#10"]'
expect bitfield-near-offset 200 '{"result":[0,7]}'
http POST "$U/" "${AUTH[@]}" -d '["setrange","big","10","x"]'
expect setrange-near-offset 200 '{"result":11}'

# ---- HEAD does not write ------------------------------------------------------
http HEAD "$U/set/headkey/1" "${AUTH[@]}"
check head-write-405 test "$STATUS" = 405
check head-write-allow-header grep -qi '^allow: GET, POST, PUT, OPTIONS' <<<"$HEADERS"
check head-write-did-not-write test "$(R -n 1 exists headkey)" = 0
http HEAD "$U/eval/return%20redis.call('set','headkey','1')/0" "${AUTH[@]}"
check head-script-405 test "$STATUS" = 405
check head-script-did-not-write test "$(R -n 1 exists headkey)" = 0
http HEAD "$U/strlen/big" "${AUTH[@]}"
check head-read-200 test "$STATUS" = 200

# ---- upstash-sync-token: per database, and only to its callers ----------------
sync_of() { grep -i '^upstash-sync-token:' <<<"$HEADERS" | cut -d' ' -f2; }
http GET "$U/healthz"
check healthz-has-no-sync-token test -z "$(sync_of)"
http GET "$U/get/k"
check no-token-401-has-no-sync-token sh -c "[ '$STATUS' = 401 ] && [ -z '$(sync_of)' ]"
http GET "$U/get/k" -H "Authorization: Bearer x.y.z"
check bad-token-401-has-no-sync-token sh -c "[ '$STATUS' = 401 ] && [ -z '$(sync_of)' ]"
http GET "$U/get/k" -H "Authorization: Bearer $B_TOKEN"
B1=$(sync_of)
for i in 1 2 3; do http POST "$U/" "${AUTH[@]}" -d '["set","k","v"]'; done
A1=$(sync_of)
http GET "$U/get/k" -H "Authorization: Bearer $B_TOKEN"
B2=$(sync_of)
check sync-token-b-present test -n "$B1"
check write-on-a-leaves-b-token sh -c "[ -n '$B2' ] && [ '$B1' = '$B2' ]"
http POST "$U/" -H "Authorization: Bearer $B_TOKEN" -d '["set","k","v"]'
check write-on-b-moves-b-token test "$(sync_of)" -gt "$B2"
http GET "$U/get/k" "${AUTH[@]}"
check write-on-b-leaves-a-token test "$(sync_of)" = "$A1"
http GET "$U/get/k" -H "Authorization: Bearer $S_TOKEN"
check shared-db-has-its-own-token test -n "$(sync_of)"

stop_tollgate "$P_PID" clean-shutdown "$TG_TMP/tollgate-$P.log"
