#!/usr/bin/env bash
# title: tenant isolation on a shared Redis
# Tenant isolation on one shared Redis: key-prefix databases.
#
# Tenant A (the victim) and tenant B (the attacker) each own a key-prefix
# database in the same logical DB of one redis-server. A holds keys of
# every family with unique markers; B knows A's database id, guesses A's
# key names and, through curl (POST /, path form, /pipeline, /multi-exec,
# base64 and RESP2 replies), tries to read, write, enumerate, count, delete
# and publish into A's data. tests/node/isolation.test.mjs does the same
# with @upstash/redis on a second pair of databases and checks that the
# client works normally on a prefix database. Checked:
#   1. no body B receives holds A's values, nor A's id or key names unless B
#      sent them itself (every body is kept and grepped at the end);
#   2. A's keyspace is byte-for-byte unchanged (TYPE, expiry, encoding and
#      DUMP of every key under A's prefix, after every group of attacks);
#   3. B's DBSIZE/KEYS/SCAN/RANDOMKEY reflect exactly B's own keys;
#   4. refusals are 400 with a JSON {"error": ...};
#   5. what slips past the gateway is stopped by Redis: scripts naming A's
#      keys get Redis's ACL error, and the per-database ACL users are
#      checked with ACL DRYRUN;
#   6. A's own view works (plain names, exact counts) and A's FLUSHDB
#      empties only A.
# Usage: TG_BIN=path/to/tollgate test_isolation.sh
. "$(dirname "$0")/lib.sh"
T0=$(date +%s)

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
rcli() { redis-cli -p "$RP" "$@"; }
# The four prefix databases; provision's failures are this check's.
provision A --name victim --db-name victim --isolation prefix --may-fail &&
  provision B --name attacker --db-name attacker --isolation prefix --may-fail &&
  provision NV --name node-pair --db-name node-victim --isolation prefix --may-fail &&
  provision NA --tenant "$B_TENANT" --db-name node-attacker --isolation prefix --may-fail
TA=$A_TENANT TB=$B_TENANT TN=$NV_TENANT
DA=$A_DB DBB=$B_DB DV=$NV_DB DN=$NA_DB
IDRE='^db_[0-9A-Za-z]+$'
if [[ "$DA" =~ $IDRE && "$DBB" =~ $IDRE && "$DV" =~ $IDRE && "$DN" =~ $IDRE ]]; then
  pass prefix-databases-created
else
  fail prefix-databases-created "ids: '$DA' '$DBB' '$DV' '$DN'" "$(cat "$TG_TMP/provision.err")"
  exit 1
fi
PA=$DA: PB=$DBB:
# Dedicated (dbindex) databases beside them, never on a shared logical DB.
provision D --tenant "$TA" --db-name dedicated --db-index 1 --may-fail
DD=$D_DB
check dedicated-database-created grep -qE "$IDRE" <<<"$DD"
check prefix-refused-on-a-dedicated-logical-db \
  sh -c "! '$TG_BIN' db create --tenant '$TA' --name x --isolation prefix --db-index 1 2>/dev/null"
check dedicated-refused-on-the-shared-logical-db \
  sh -c "! '$TG_BIN' db create --tenant '$TA' --name y --db-index 0 2>/dev/null"
# A second shared logical DB, if db create allows one: then neither shared
# logical DB may take a dedicated database, named or picked.
provision X --tenant "$TB" --db-name on-db5 --isolation prefix --db-index 5 --may-fail
DX=$X_DB
if [ -n "$DX" ]; then
  check prefix-database-on-db-index-5-created grep -qE "$IDRE" <<<"$DX"
  check dedicated-refused-on-db5-shared-by-prefix \
    sh -c "! '$TG_BIN' db create --tenant '$TA' --name z --db-index 5 2>/dev/null"
  check dedicated-still-refused-on-db0-beside-db5 \
    sh -c "! '$TG_BIN' db create --tenant '$TA' --name z0 --db-index 0 2>/dev/null"
else
  pass second-shared-logical-db-refused
fi
provision AUTO --tenant "$TA" --db-name auto-index
DAUTO=$AUTO_DB
provision AR --db "$DA" --scope ro
TOK_A=$A_TOKEN TOK_A_RO=$AR_TOKEN TOK_B=$B_TOKEN TOK_D=$D_TOKEN TOK_AUTO=$AUTO_TOKEN
[ -n "$DX" ] && TOK_X=$X_TOKEN
start_tollgate P --shared-scripts all || exit 1  # scripts on a shared server: the suite tests their confinement
U=http://127.0.0.1:$P

RAND=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
KN=secretA-$RAND  # A's key names (B guesses them)
VM=valA-$RAND     # A's values, members, fields, elements (B never sends it)

# ---- Helpers ---------------------------------------------------------------
# j ARG...: one command as a JSON array of strings; jn adds a newline.
j() {
  local out='' a
  for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//\"/\\\"}
    out+=${out:+,}\"$a\"
  done
  printf '[%s]' "$out"
}
jn() { j "$@"; echo; }
# jl JSON...: a JSON list of the given JSON texts (a pipeline).
jl() { local IFS=,; printf '[%s]' "$*"; }

# cmpjs MODE FILE [EXPECT]: compares a body with a JavaScript expectation,
# in one node process (a coprocess) for the whole run. MODE one: {"result":
# v} or {"error": s}; pipe: an array of those; a "64" suffix decodes base64
# strings first. In EXPECT: E(/re/) is an error entry, S([...]) an array in
# any order, IN([...]) one of, SUB([...]) an array of members of, ANY
# anything; KN, VM, PA, PB, B_NAMES, A_NAMES are this run's names. MODE
# dec64 prints the decoded body; MODE js prints EXPECT's value (JSON for
# arrays) with b the parsed body.
cat >"$TG_TMP/cmp.mjs" <<'JS'
import fs from "node:fs";
import readline from "node:readline";
const { ISO_KN: KN, ISO_VM: VM, ISO_PA: PA, ISO_PB: PB } = process.env;
const E = (re) => ({ __err: re });
const S = (a) => ({ __set: a });
const IN = (a) => ({ __in: a });
const SUB = (a) => ({ __sub: a });
const ANY = { __any: true };
const key = (x) => JSON.stringify(x);
const dec = (v) => typeof v === "string" ? Buffer.from(v, "base64").toString("utf8")
  : Array.isArray(v) ? v.map(dec) : v;
const decEntry = (e) => (e && typeof e === "object" && "result" in e ? { ...e, result: dec(e.result) } : e);
function same(w, g) {
  if (w && typeof w === "object" && !Array.isArray(w)) {
    if (w.__any) return true;
    if (w.__set) return Array.isArray(g) && key([...g].map(key).sort()) === key(w.__set.map(key).sort());
    if (w.__in) return w.__in.some((x) => same(x, g));
    if (w.__sub) return Array.isArray(g) && g.every((x) => w.__sub.some((y) => same(y, x)));
    return g && typeof g === "object" && key(w) === key(g);
  }
  if (Array.isArray(w)) return Array.isArray(g) && g.length === w.length && w.every((x, i) => same(x, g[i]));
  return w === g;
}
function entry(w, g) {
  if (!g || typeof g !== "object" || Array.isArray(g)) return false;
  if (w && w.__err) return typeof g.error === "string" && !("result" in g) && w.__err.test(g.error);
  return "result" in g && !("error" in g) && same(w, g.result);
}
function run(mode, file, src = "null") {
  const B_NAMES = JSON.parse(process.env.ISO_B_NAMES || "[]");
  const A_NAMES = JSON.parse(process.env.ISO_A_NAMES || "[]");
  const text = fs.readFileSync(file, "utf8");
  let b;
  try { b = JSON.parse(text); } catch { return [false, `not JSON: ${text.slice(0, 300)}`]; }
  if (mode.endsWith("64")) b = Array.isArray(b) ? b.map(decEntry) : decEntry(b);
  if (mode === "dec64") return [true, JSON.stringify(b)];
  if (mode === "js") { const v = eval(src); return [true, typeof v === "string" ? v : JSON.stringify(v)]; }
  const want = eval(src);
  const ok = mode.startsWith("pipe")
    ? Array.isArray(b) && Array.isArray(want) && b.length === want.length && want.every((w, i) => entry(w, b[i]))
    : entry(want, b);
  if (ok) return [true, ""];
  const out = [];
  if (Array.isArray(b) && Array.isArray(want))
    b.forEach((g, i) => { if (!entry(want[i], g)) out.push(`entry ${i}: got ${key(g)}`); });
  out.push(`want ${src.slice(0, 300)}`);
  return [false, out.join("\n")];
}
// One request a line, [mode, file, expect, env...]; answers end "__END__ rc".
for await (const line of readline.createInterface({ input: process.stdin })) {
  let ok, out;
  try {
    const [mode, file, src, an, bn] = JSON.parse(line);
    process.env.ISO_A_NAMES = an;
    process.env.ISO_B_NAMES = bn;
    [ok, out] = run(mode, file, src);
  } catch (e) { ok = false; out = `cmp.mjs: ${e.message}`; }
  process.stdout.write(`${out ? `${out}\n` : ""}__END__ ${ok ? 0 : 1}\n`);
}
JS
export ISO_KN=$KN ISO_VM=$VM ISO_PA=$PA ISO_PB=$PB
coproc CMP { node "$TG_TMP/cmp.mjs"; }
TG_PIDS+=("$CMP_PID")
cmpjs() {
  local line
  j "$1" "$2" "${3:-null}" "${ISO_A_NAMES:-[]}" "${ISO_B_NAMES:-[]}" >&"${CMP[1]}"
  echo >&"${CMP[1]}"
  while IFS= read -r line <&"${CMP[0]}"; do
    case $line in
      "__END__ 0") return 0 ;;
      "__END__ 1") return 1 ;;
    esac
    printf '%s\n' "$line"
  done
  echo "cmp.mjs ended"
  return 1
}

# req TOKEN PATH [JSON] [curl args...]: POST JSON (GET without it) with
# TOKEN; sets STATUS, BODY and BODYFILE (the body, kept under $TG_TMP/blog).
mkdir -p "$TG_TMP/blog"
NB=0
req() {
  local tok=$1 path=$2 data=()
  shift 2
  if [ $# -ge 1 ]; then data=(--data-binary "$1"); shift; fi
  NB=$((NB + 1))
  BODYFILE=$TG_TMP/blog/$NB.raw
  STATUS=$(curl -s -o "$BODYFILE" -w '%{http_code}' -H "Authorization: Bearer $tok" "$@" "${data[@]}" "$U$path")
  [ -f "$BODYFILE" ] || : >"$BODYFILE"
  IFS= read -r -d '' BODY <"$BODYFILE" || true
}
# Every request B makes goes through breq, which keeps the request next to
# its body (NB.req, NB.body) for the leak checks at the end.
# breq [--b64|--resp2] PATH [JSON]: GET without JSON.
breq() {
  local hdr=() mode=json
  case $1 in
    --b64) hdr=(-H 'Upstash-Encoding: base64'); mode=b64; shift ;;
    --resp2) hdr=(-H 'Upstash-Response-Format: resp2'); shift ;;
  esac
  if [ $# -ge 2 ]; then req "$TOK_B" "$1" "$2" "${hdr[@]}"; else req "$TOK_B" "$1" "${hdr[@]}"; fi
  printf '%s %s\n' "$1" "${2:-}" >"$TG_TMP/blog/$NB.req"
  if [ $mode = b64 ]; then
    cmpjs dec64 "$BODYFILE" >"$TG_TMP/blog/$NB.body" || cp "$BODYFILE" "$TG_TMP/blog/$NB.body"
  else
    ln "$BODYFILE" "$TG_TMP/blog/$NB.body"
  fi
}
# areq PATH JSON: as A (A's bodies are not attack material).
areq() { req "$TOK_A" "$@"; }

# want NAME STATUS MODE EXPECT: the last body against EXPECT (see cmp.mjs).
want() {
  local name=$1 st=$2 mode=$3 exp=$4 out
  if out=$(cmpjs "$mode" "$BODYFILE" "$exp" 2>&1) && [ "$STATUS" = "$st" ]; then
    pass "$name"
  else
    fail "$name" "want status $st, got $STATUS" "$out" "body: ${BODY:0:600}"
  fi
}
# refused NAME JSON: a single command from B refused with 400 and a JSON error.
refused() {
  breq / "$2"
  want "$1" 400 one 'E(/./)'
}
# either NAME 200-EXPECT: a 400 JSON error, or 200 with that result.
either() {
  if [ "$STATUS" = 400 ]; then want "$1" 400 one 'E(/./)'; else want "$1" 200 one "$2"; fi
}

# snapshot: every key under A's prefix, with its type, expiry, encoding and DUMP.
snapshot() {
  rcli --scan --pattern "$PA*" | LC_ALL=C sort | awk '{
    print "ECHO \"" $0 "\""; print "TYPE \"" $0 "\""; print "PEXPIRETIME \"" $0 "\""
    print "OBJECT ENCODING \"" $0 "\""; print "DUMP \"" $0 "\"" }' | rcli --no-raw
}
same_snapshot() {
  local now
  now=$(snapshot)
  if [ -n "$now" ] && [ "$now" = "$A_SNAP" ]; then
    pass "$1"
  else
    fail "$1" "A's keyspace changed:" "$(diff <(printf '%s\n' "$A_SNAP") <(printf '%s\n' "$now") | head -20)"
  fi
}
# under_prefix PREFIX: the plain names stored under PREFIX, sorted.
under_prefix() { rcli --scan --pattern "$1*" | sed "s/^$1//" | LC_ALL=C sort; }
sorted_lines() { printf '%s\n' "$@" | LC_ALL=C sort; }
json_names() { node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "$@"; }
# only_prefixed_keys: every key in DB 0 is under one of the four prefixes.
only_prefixed_keys() { ! rcli --scan | grep -vE "^($DA|$DBB|$DV|$DN):"; }

# ---- A's data: every family, unique markers ---------------------------------
areq /pipeline "$(jl \
  "$(j set "$KN-str" "$VM-string")" \
  "$(j hset "$KN-hash" "$VM-f1" "$VM-h1" f2 "$VM-h2")" \
  "$(j rpush "$KN-list" "$VM-l1" "$VM-l2" "$VM-l3")" \
  "$(j sadd "$KN-set" "$VM-s1" "$VM-s2" "$VM-s3")" \
  "$(j zadd "$KN-zset" 1 "$VM-z1" 2 "$VM-z2")" \
  "$(j xadd "$KN-stream" 1-1 f "$VM-x1")" \
  "$(j xadd "$KN-stream" 2-1 f "$VM-x2")" \
  "$(j xgroup create "$KN-stream" gA 0)" \
  "$(j xreadgroup group gA c1 count 1 streams "$KN-stream" '>')" \
  "$(j geoadd "$KN-geo" 13.361389 38.115556 "$VM-palermo" 15.087269 37.502669 "$VM-catania")" \
  "$(j pfadd "$KN-hll" "$VM-e1" "$VM-e2" "$VM-e3")" \
  "$(j set "$KN-bits" "$VM-bits")" \
  "$(j setbit "$KN-bits" 0 1)" \
  "$(j set "$KN-ttl" "$VM-ttl" EX 100000)" \
  "$(j set shared-name "$VM-shared")" \
  "$(j set '*' "$VM-star")" \
  "$(j set counter "$VM-counter")" \
  "$(j set b:str "$VM-b-guess")")"
want a-seeded-every-family 200 pipe \
  '["OK",2,3,3,2,"1-1","2-1","OK",[[KN+"-stream",[["1-1",["f",VM+"-x1"]]]]],2,1,"OK",0,"OK","OK","OK","OK","OK"]'
A_NAMES=("$KN-str" "$KN-hash" "$KN-list" "$KN-set" "$KN-zset" "$KN-stream" "$KN-geo"
  "$KN-hll" "$KN-bits" "$KN-ttl" shared-name '*' counter b:str)
ISO_A_NAMES=$(json_names "${A_NAMES[@]}")
export ISO_A_NAMES
check a-keys-stored-under-a-prefix \
  test "$(under_prefix "$PA")" = "$(sorted_lines "${A_NAMES[@]}")"
check a-value-stored-verbatim-in-db0 test "$(rcli -n 0 get "${PA}shared-name")" = "$VM-shared"
A_SNAP=$(snapshot)
check a-snapshot-taken test "$(grep -c . <<<"$A_SNAP")" = 70

# ---- B's own data ------------------------------------------------------------
B_NAMES=(shared-name '*' b:str b:hash b:list b:set b:zset b:stream b:geo)
ISO_B_NAMES=$(json_names "${B_NAMES[@]}")
export ISO_B_NAMES
breq /pipeline "$(jl "$(j set shared-name B-shared)" "$(j set '*' B-star)" "$(j set b:str B-str)" \
  "$(j hset b:hash f B-h)" "$(j rpush b:list c a b)" "$(j sadd b:set m1 m2)" \
  "$(j zadd b:zset 1 z1 2 z2)" "$(j xadd b:stream 1-1 f B-x)" "$(j geoadd b:geo 15 37 B-geo)")"
want b-seeded 200 pipe '["OK","OK","OK",1,3,2,2,"1-1",1]'
check b-keys-stored-under-b-prefix test "$(under_prefix "$PB")" = "$(sorted_lines "${B_NAMES[@]}")"
check b-value-stored-under-b-prefix test "$(rcli get "${PB}shared-name")" = B-shared
breq / "$(j get shared-name)"
want b-same-name-reads-its-own 200 one '"B-shared"'
areq / "$(j get shared-name)"
want a-same-name-reads-its-own 200 one 'VM+"-shared"'

# ---- B reads A's keys, by plain and by full name, every family --------------
# readpipe NAME FAMILY EXPECT BUILDER: BUILDER prints one command a line for
# a key name; run for A's plain and A's full name in one /pipeline.
readpipe() {
  local name=$1 fam=$2 exp=$3 builder=$4 n c cmds=()
  for n in "$KN-$fam" "$PA$KN-$fam"; do
    while IFS= read -r c; do cmds+=("$c"); done < <($builder "$n")
  done
  breq /pipeline "$(jl "${cmds[@]}")"
  want "$name" 200 pipe "((x) => [...x, ...x])($exp)"
}
str_reads() {
  jn get "$1"; jn getrange "$1" 0 -1; jn strlen "$1"; jn substr "$1" 0 10; jn dump "$1"
  jn type "$1"; jn object encoding "$1"; jn object freq "$1"; jn object idletime "$1"
  jn object refcount "$1"; jn touch "$1"; jn ttl "$1"; jn pttl "$1"; jn expiretime "$1"
  jn exists "$1"; jn lcs "$1" "$1"; jn getbit "$1" 0; jn bitcount "$1"; jn bitpos "$1" 1
  jn bitfield_ro "$1" GET u8 0; jn getex "$1"; jn getdel "$1"
}
STR_EXP='[null,"",0,"",null,"none",null,null,null,null,0,-2,-2,-2,0,"",0,0,-1,[0],null,null]'
readpipe b-reads-a-string str "$STR_EXP" str_reads
readpipe b-reads-a-bitmap bits "$STR_EXP" str_reads
readpipe b-reads-a-ttl-key ttl "$STR_EXP" str_reads
hash_reads() {
  jn hgetall "$1"; jn hget "$1" f2; jn hmget "$1" f2 f1; jn hkeys "$1"; jn hvals "$1"; jn hlen "$1"
  jn hexists "$1" f2; jn hstrlen "$1" f2; jn hrandfield "$1"; jn hrandfield "$1" 2 withvalues
  jn hscan "$1" 0; jn hscan "$1" 0 match '*' count 1000
}
readpipe b-reads-a-hash hash '[[],null,[null,null],[],[],0,0,0,null,[],["0",[]],["0",[]]]' hash_reads
list_reads() {
  jn lrange "$1" 0 -1; jn lindex "$1" 0; jn llen "$1"; jn lpos "$1" x; jn sort "$1" alpha
  jn sort_ro "$1" alpha; jn lmpop 1 "$1" left; jn lpop "$1"; jn rpoplpush "$1" b:list
}
readpipe b-reads-a-list list '[[],null,0,null,[],[],null,null,null]' list_reads
set_reads() {
  jn smembers "$1"; jn sismember "$1" m1; jn smismember "$1" m1 m2; jn scard "$1"
  jn srandmember "$1"; jn srandmember "$1" 3; jn sinter "$1" "$1"; jn sunion "$1" b:set
  jn sdiff "$1"; jn sintercard 1 "$1"; jn sscan "$1" 0; jn spop "$1"
}
readpipe b-reads-a-set set '[[],0,[0,0],0,null,[],[],S(["m1","m2"]),[],0,["0",[]],null]' set_reads
zset_reads() {
  jn zrange "$1" 0 -1; jn zrange "$1" 0 -1 withscores; jn zrangebyscore "$1" -inf +inf
  jn zrevrange "$1" 0 -1; jn zscore "$1" x; jn zmscore "$1" x y; jn zcard "$1"
  jn zcount "$1" -inf +inf; jn zrank "$1" x; jn zrandmember "$1"; jn zunion 1 "$1"
  jn zinter 2 "$1" b:zset; jn zdiff 1 "$1"; jn zintercard 1 "$1"; jn zscan "$1" 0
  jn zmpop 1 "$1" min; jn zpopmin "$1"
}
readpipe b-reads-a-zset zset '[[],[],[],[],null,[null,null],0,0,null,null,[],[],[],0,["0",[]],null,[]]' zset_reads
stream_reads() {
  jn xrange "$1" - +; jn xrevrange "$1" + -; jn xlen "$1"; jn xread count 10 streams "$1" 0-0
  jn xreadgroup group gA c2 count 10 streams "$1" '>'; jn xinfo stream "$1"; jn xinfo groups "$1"
  jn xpending "$1" gA
}
readpipe b-reads-a-stream stream \
  '[[],[],0,null,E(/^NOGROUP /),E(/^ERR no such key/),E(/^ERR no such key/),E(/^NOGROUP /)]' stream_reads
geo_reads() {
  jn geosearch "$1" fromlonlat 15 37 byradius 500 km; jn geopos "$1" m; jn geodist "$1" m n
  jn geohash "$1" m; jn georadius "$1" 15 37 500 km; jn georadiusbymember "$1" m 500 km
}
readpipe b-reads-a-geo geo '[[],[null],null,[null],[],[]]' geo_reads
hll_reads() { jn pfcount "$1"; jn pfcount "$1" "$1"; jn type "$1"; jn exists "$1"; }
readpipe b-reads-a-hyperloglog hll '[0,0,"none",0]' hll_reads

# The guessed plain names B also owns read B's values; A's full names nothing.
breq /pipeline "$(jl "$(j mget shared-name '*' b:str counter "${PA}shared-name" "$PA*" "${PA}b:str" "${PA}counter")" \
  "$(j exists "${A_NAMES[@]/#/$PA}")" "$(j exists "${A_NAMES[@]}")" \
  "$(j touch "${A_NAMES[@]/#/$PA}")" "$(j del "${A_NAMES[@]/#/$PA}")" "$(j unlink "${A_NAMES[@]/#/$PA}")")"
want b-counts-nothing-of-a 200 pipe '[["B-shared","B-star","B-str",null,null,null,null,null],0,3,0,0,0]'
# Redis's error names the key as B wrote it, without B's prefix.
breq / "$(j xreadgroup group gA c2 streams "$PA$KN-stream" '>')"
want b-error-text-strips-own-prefix 400 one \
  "E(new RegExp(\"^NOGROUP No such key '\" + PA + KN + \"-stream' or consumer group 'gA'\"))"

# The same reads as single commands, in path form, in a transaction, in
# base64 and in RESP2.
breq / "$(j get "$PA$KN-str")"; want b-post-get-full-name 200 one null
breq / "$(j hgetall "$PA$KN-hash")"; want b-post-hgetall-full-name 200 one '[]'
breq / "$(j xread streams "$PA$KN-stream" "$KN-stream" 0-0 0-0)"; want b-post-xread-both-names 200 one null
breq / "$(j zrange "$PA$KN-zset" 0 -1 withscores)"; want b-post-zrange-full-name 200 one '[]'
breq "/get/$PA$KN-str"; want b-path-get-full-name 200 one null
breq "/get/${PA//:/%3A}$KN-str"; want b-path-get-percent-encoded 200 one null
breq "/get/$KN-str"; want b-path-get-plain-name 200 one null
breq "/lrange/$PA$KN-list/0/-1"; want b-path-lrange 200 one '[]'
breq "/smembers/$PA$KN-set"; want b-path-smembers 200 one '[]'
breq "/xrange/$PA$KN-stream/-/+"; want b-path-xrange 200 one '[]'
breq "/pfcount/$PA$KN-hll"; want b-path-pfcount 200 one 0
breq "/exists/$PA$KN-str/$KN-str/${PA}counter"; want b-path-exists 200 one 0
breq /multi-exec "$(jl "$(j get "$PA$KN-str")" "$(j hgetall "$PA$KN-hash")" "$(j smembers "$KN-set")" \
  "$(j zcard "$PA$KN-zset")" "$(j xlen "$PA$KN-stream")" "$(j exists "${A_NAMES[@]/#/$PA}")" "$(j get shared-name)")"
want b-multi-exec-reads 200 pipe '[null,[],[],0,0,0,"B-shared"]'
breq --b64 /pipeline "$(jl "$(j get "$PA$KN-str")" "$(j lrange "$PA$KN-list" 0 -1)" "$(j get shared-name)" \
  "$(j keys '*')" "$(j randomkey)" "$(j scan 0 count 10000)")"
want b-base64-pipeline 200 pipe64 '[null,[],"B-shared",S(B_NAMES),IN(B_NAMES),["0",S(B_NAMES)]]'
resp2_is() { # resp2_is NAME EXPECTED-BYTES (a printf format)
  local w
  w=$(printf '%b' "$2" | od -An -c)
  if [ "$STATUS" = 200 ] && [ "$(od -An -c <"$BODYFILE")" = "$w" ]; then pass "$1"; else
    fail "$1" "got $STATUS $(od -An -c <"$BODYFILE" | head -5)"; fi
}
breq --resp2 / "$(j get "$PA$KN-str")"; resp2_is b-resp2-get-full-name '$-1\r\n'
breq --resp2 / "$(j keys 'b:s*')"
if [ "$STATUS" = 200 ] && grep -q '^\*3' "$BODYFILE" && grep -q 'b:str' "$BODYFILE" \
  && grep -q 'b:set' "$BODYFILE" && grep -q 'b:stream' "$BODYFILE" && ! grep -q 'db_' "$BODYFILE"; then
  pass b-resp2-keys-plain-names
else fail b-resp2-keys-plain-names "got $STATUS $(od -c "$BODYFILE" | head)"; fi
breq --resp2 / "$(j xread streams b:stream 0-0)"
# shellcheck disable=SC2016 # RESP2 bytes, not expansions
resp2_is b-resp2-xread-plain-key '*1\r\n*2\r\n$8\r\nb:stream\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$3\r\nB-x\r\n'

# ---- B enumerates: only its own keys, exact counts -----------------------------
breq / "$(j dbsize)"; want b-dbsize-counts-own-keys 200 one 9
breq / "$(j keys '*')"; want b-keys-star 200 one 'S(B_NAMES)'
breq / "$(j keys 'db_*')"; want b-keys-db-star 200 one '[]'
breq / "$(j keys "$PA*")"; want b-keys-a-prefix 200 one '[]'
breq / "$(j keys '*secretA*')"; want b-keys-secret-pattern 200 one '[]'
breq / "$(j keys "*$RAND*")"; want b-keys-random-marker 200 one '[]'
breq / "$(j keys '\*')"; want b-keys-escaped-star 200 one '["*"]'
breq / "$(j keys '?*')"; want b-keys-question-star 200 one 'S(B_NAMES)'
breq / "$(j keys '[d]b_*')"; want b-keys-bracket-class 200 one '[]'
breq / "$(j keys '*:*')"; want b-keys-colon 200 one 'S(B_NAMES.filter((n) => n.startsWith("b:")))'
breq / "$(j keys '**')"; want b-keys-double-star 200 one 'S(B_NAMES)'
breq / "$(j keys '')"; want b-keys-empty-pattern 200 one '[]'
breq / "$(j keys 'shared-name')"; want b-keys-exact-name 200 one '["shared-name"]'
breq / "$(j keys '*counter*')"; want b-keys-a-only-name 200 one '[]'
breq / "$(j KeYs '*')"; want b-keys-mixed-case 200 one 'S(B_NAMES)'
breq / "$(j keys "') return redis.call('KEYS', '*') --")"; want b-keys-quote-pattern 200 one '[]'
breq / "$(j keys ']] .. redis.call("KEYS", "*") .. [[')"; want b-keys-bracket-pattern 200 one '[]'
breq / "$(j keys "\\")"; want b-keys-backslash-pattern 200 one '[]'
breq / "$(j keys '[')"; want b-keys-open-bracket-pattern 200 one '[]'
breq "/keys/*"; want b-path-keys 200 one 'S(B_NAMES)'
breq "/keys/%2A"; want b-path-keys-encoded 200 one 'S(B_NAMES)'
breq "/dbsize"; want b-path-dbsize 200 one 9
RK=()
for i in $(seq 1 30); do RK+=("$(j randomkey)"); done
breq /pipeline "$(jl "${RK[@]}" "$(j dbsize)" "$(j keys '*')")"
want b-randomkey-30-times-own-keys 200 pipe 'Array(30).fill(IN(B_NAMES)).concat([9, S(B_NAMES)])'
breq "/randomkey"; want b-path-randomkey 200 one 'IN(B_NAMES)'
# scan_all NAME WANT-JS OPTION...: SCAN from cursor 0 until it returns 0;
# the keys seen (without repeats) must be exactly WANT.
scan_all() {
  local name=$1 exp=$2 cur=0 rounds=0 all='[]'
  shift 2
  while :; do
    breq / "$(j scan "$cur" "$@")"
    if [ "$STATUS" != 200 ]; then fail "$name" "round $rounds: $STATUS $BODY"; return; fi
    all=$(cmpjs js "$BODYFILE" "JSON.stringify([...new Set([...$all, ...b.result[1]])])")
    cur=$(cmpjs js "$BODYFILE" 'b.result[0]')
    rounds=$((rounds + 1))
    [ "$cur" = 0 ] && break
    [ $rounds -gt 500 ] && { fail "$name" "no end after 500 rounds"; return; }
  done
  BODYFILE=$TG_TMP/scan-all
  BODY=$(printf '{"result":%s}' "$all" | tee "$BODYFILE")
  want "$name" 200 one "S($exp)"
}
scan_all b-scan-all-count-2 B_NAMES count 2
scan_all b-scan-match-star B_NAMES match '*' count 5
scan_all b-scan-match-db-star '[]' match 'db_*' count 100
scan_all b-scan-match-a-prefix '[]' match "$PA*" count 100
scan_all b-scan-match-secret '[]' match '*secretA*' count 100
scan_all b-scan-match-escaped-star '["*"]' match '\*' count 100
scan_all b-scan-type-hash '["b:hash"]' type hash count 100
scan_all b-scan-type-string-and-match '["shared-name","*","b:str"]' match '*' type string count 100
scan_all b-scan-uppercase-options '["b:stream"]' TYPE stream COUNT 100
breq / "$(j scan 0 count 10000)"; want b-scan-one-round 200 one '["0",S(B_NAMES)]'
breq "/scan/0?MATCH=*&COUNT=10000"; want b-path-scan-query 200 one '["0",S(B_NAMES)]'
breq "/scan/0/match/b:*/count/10000"; want b-path-scan-segments 200 one '["0",S(B_NAMES.filter((n) => n.startsWith("b:")))]'
# A repeated option must not replace the gateway's (Redis keeps the last).
breq / "$(j scan 0 match nothing-here match '*' count 10000)"
either b-scan-second-match-confined '[ANY, SUB(B_NAMES)]'
breq / "$(j scan 0 match '*' match "$PA*" count 10000)"
either b-scan-second-match-a-prefix '[ANY, []]'
breq / "$(j scan 0 count 10000 type string type hash)"
either b-scan-second-type-confined '[ANY, SUB(B_NAMES)]'
breq / "$(j scan 18446744073709551615 count 10000)"
either b-scan-huge-cursor-confined '[ANY, SUB(B_NAMES)]'
breq / "$(j scan 0 match "') return redis.call('KEYS', '*') --" count 10000)"
want b-scan-quote-pattern 200 one '["0",[]]'
breq / "$(j scan 0 count 10000 type "string') return redis.call('KEYS', '*') --")"
want b-scan-quote-type 200 one '["0",[]]'
breq / "$(j scan 0 novalues)"; want b-scan-novalues-refused 400 one 'E(/syntax/i)'
breq / "$(j scan 0 foo bar)"; want b-scan-unknown-option-refused 400 one 'E(/syntax/i)'
breq / "$(j scan 0 match)"; want b-scan-missing-value-refused 400 one 'E(/./)'
breq / "$(j scan -1)"; want b-scan-negative-cursor-refused 400 one 'E(/./)'
breq / "$(j scan)"; want b-scan-no-cursor-refused 400 one 'E(/./)'
breq / "$(j keys)"; want b-keys-no-pattern-refused 400 one 'E(/./)'
breq / "$(j keys '*' '*')"; want b-keys-two-patterns-refused 400 one 'E(/./)'
breq / "$(j dbsize extra)"; want b-dbsize-extra-arg-refused 400 one 'E(/./)'
breq / "$(j randomkey extra)"; want b-randomkey-extra-arg-refused 400 one 'E(/./)'
breq /pipeline "$(jl "$(j keys '*')" "$(j dbsize)" "$(j randomkey)" "$(j scan 0 count 10000 match '*')" \
  "$(j keys "$PA*")" "$(j scan 0 match "$PA*" count 10000)" "$(j get "$PA$KN-str")")"
want b-pipeline-keyspace-commands 200 pipe '[S(B_NAMES),9,IN(B_NAMES),["0",S(B_NAMES)],[],["0",[]],null]'
for c in keys scan randomkey dbsize flushdb flushall; do
  case $c in keys) cmd=$(j keys '*') ;; scan) cmd=$(j scan 0) ;; *) cmd=$(j $c) ;; esac
  breq /multi-exec "$(jl "$(j set mx 1)" "$cmd")"
  want "b-multi-exec-refuses-$c" 400 one 'E(/./)'
done
check b-refused-transactions-ran-nothing test "$(rcli exists "${PB}mx")" = 0
breq / "$(j dbsize)"; want b-dbsize-unchanged-after-refusals 200 one 9
same_snapshot a-unchanged-after-reads-and-enumeration

# ---- Commands that cannot be confined: 400 -------------------------------------
refused refuse-copy-db "$(j copy b:str "$PA$KN-str" db 0)"
refused refuse-copy-replace-db "$(j copy b:str "$KN-str" replace DB 1)"
refused refuse-move "$(j move b:str 1)"
refused refuse-swapdb "$(j swapdb 0 1)"
refused refuse-select "$(j select 0)"
refused refuse-migrate "$(j migrate 127.0.0.1 "$RP" "$PA$KN-str" 0 1000)"
refused refuse-pubsub-channels "$(j pubsub channels '*')"
refused refuse-pubsub-numsub "$(j pubsub numsub "${PA}chan")"
refused refuse-pubsub-shardchannels "$(j pubsub shardchannels)"
refused refuse-client-list "$(j client list)"
refused refuse-info "$(j info)"
refused refuse-info-keyspace "$(j info keyspace)"
refused refuse-wait "$(j wait 0 0)"
refused refuse-function-list "$(j function list)"
refused fcall-of-no-function-is-an-error "$(j fcall nosuch 1 "$PA$KN-str")"
refused refuse-script-flush "$(j script flush)"
refused refuse-acl-users "$(j acl users)"
refused refuse-acl-list "$(j acl list)"
refused refuse-acl-whoami "$(j acl whoami)"
refused refuse-config-get "$(j config get '*')"
refused refuse-debug-object "$(j debug object "$PA$KN-str")"
refused refuse-memory-stats "$(j memory stats)"
refused refuse-memory-doctor "$(j memory doctor)"
refused refuse-slowlog "$(j slowlog get)"
refused refuse-latency "$(j latency latest)"
refused refuse-monitor "$(j monitor)"
refused refuse-subscribe "$(j subscribe "${PA}chan")"
refused refuse-psubscribe "$(j psubscribe '*')"
refused refuse-watch "$(j watch "$PA$KN-str")"
refused refuse-save "$(j save)"
refused refuse-sort-by-a-pattern "$(j sort b:list by "$PA*")"
refused refuse-sort-by-star "$(j sort b:list by '*')"
refused refuse-sort-by-mixed-case "$(j sort b:list alpha By 'w_*')"
refused refuse-sort-get-hash "$(j sort b:list alpha get '#')"
refused refuse-sort-get-pattern "$(j sort b:list alpha get "$PA$KN-*")"
refused refuse-sort-nosort-then-get "$(j sort b:list by nosort get '#')"
refused refuse-sort-ro-by "$(j sort_ro b:list by "$PA*")"
refused refuse-sort-ro-get "$(j sort_ro b:list get '#')"
breq /pipeline "$(jl "$(j copy b:str x db 1)" "$(j get b:str)" "$(j info)" "$(j keys 'b:l*')")"
want b-pipeline-refusal-is-per-entry 200 pipe '[E(/./),"B-str",E(/./),["b:list"]]'
breq / "$(j sort b:list by nosort)"; want b-sort-by-nosort-allowed 200 one '["c","a","b"]'
breq / "$(j sort b:list alpha)"; want b-sort-alpha-allowed 200 one '["a","b","c"]'
breq / "$(j sort_ro b:list alpha limit 0 2)"; want b-sort-ro-allowed 200 one '["a","b"]'
breq / "$(j object encoding b:list)"; want b-object-encoding-own-key 200 one 'IN(["listpack","quicklist"])'
same_snapshot a-unchanged-after-refusals

# ---- B writes with A's names as source or destination ------------------------
breq /pipeline "$(jl \
  "$(j rename b:str "$PA$KN-str")" "$(j renamenx b:list "$PA$KN-list")" "$(j rename "$PA$KN-hash" b:x)" \
  "$(j renamenx "$PA$KN-zset" b:y)" "$(j smove b:set "$PA$KN-set" m1)" "$(j smove "$PA$KN-set" b:set s1)" \
  "$(j lmove "$PA$KN-list" b:list left right)" "$(j rpoplpush "$KN-list" b:list)" \
  "$(j zunionstore "$PA$KN-zset" 2 "$PA$KN-zset" "$KN-zset")" "$(j zunionstore b:zu 2 "$PA$KN-zset" b:zset)" \
  "$(j zrangestore "$PA$KN-zset" "$PA$KN-zset" 0 -1)" "$(j sinterstore "$PA$KN-set" "$PA$KN-set" b:set)" \
  "$(j sunionstore b:su "$PA$KN-set" "$KN-set")" "$(j sdiffstore "$PA$KN-set" b:set)" \
  "$(j bitop or "$PA$KN-bits" "$PA$KN-bits" "$KN-bits")" "$(j pfmerge "$PA$KN-hll" "$PA$KN-hll")" \
  "$(j geosearchstore "$PA$KN-geo" "$PA$KN-geo" fromlonlat 15 37 byradius 500 km)" \
  "$(j georadius b:geo 15 37 500 km store "$PA$KN-geo")" \
  "$(j sort "$PA$KN-list" alpha store "$PA$KN-list")" "$(j sort b:zset alpha store "$PA$KN-sorted")" \
  "$(j lmpop 2 "$PA$KN-list" "$KN-list" left)" "$(j zmpop 1 "$PA$KN-zset" max)" \
  "$(j hdel "$PA$KN-hash" f2)" "$(j lrem "$PA$KN-list" 0 x)" "$(j ltrim "$PA$KN-list" 0 0)" \
  "$(j srem "$PA$KN-set" x)" "$(j zrem "$PA$KN-zset" x)" "$(j zincrby "$PA$KN-zset" 1 x)")"
want b-moves-with-a-names 200 pipe \
  '["OK",1,E(/^ERR no such key/),E(/^ERR no such key/),1,0,"c",null,0,2,0,0,0,1,0,"OK",0,E(/GEOSEARCHSTORE/),2,2,[PA+KN+"-list",["a"]],null,0,0,"OK",0,0,"1"]'
breq /pipeline "$(jl "$(j xack "$PA$KN-stream" gA 1-1)" "$(j xdel "$PA$KN-stream" 1-1)" \
  "$(j xtrim "$PA$KN-stream" maxlen 0)" "$(j xclaim "$PA$KN-stream" gA c 0 1-1)" \
  "$(j xautoclaim "$KN-stream" gA c 0 0-0)" "$(j xgroup createconsumer "$PA$KN-stream" gA c9)" \
  "$(j xgroup setid "$PA$KN-stream" gA 0)" "$(j xgroup destroy "$PA$KN-stream" gA)" \
  "$(j xgroup create "$PA$KN-stream" gA 0)" "$(j xreadgroup group gA c2 streams "$PA$KN-stream" '>')")"
want b-stream-group-writes 200 pipe \
  '[0,0,0,E(/^NOGROUP /),E(/^NOGROUP /),E(/^ERR The XGROUP/),E(/^ERR The XGROUP/),E(/^ERR The XGROUP/),E(/^ERR The XGROUP/),E(/^NOGROUP /)]'
breq /pipeline "$(jl \
  "$(j set "$PA$KN-str" pwned)" "$(j set "$KN-str" pwned)" "$(j setnx "${PA}counter" p)" \
  "$(j append "$PA$KN-bits" p)" "$(j setrange "$PA$KN-ttl" 0 p)" "$(j incr "${PA}counter2")" \
  "$(j getset "${PA}shared-name" p)" "$(j hset "$PA$KN-hash" f2 pwned)" \
  "$(j lpush "$PA$KN-list" pwned)" "$(j sadd "$PA$KN-set" pwned)" "$(j zadd "$PA$KN-zset" 9 pwned)" \
  "$(j xadd "$PA$KN-stream" 9-1 f pwned)" "$(j pfadd "$PA$KN-hll" pwned)" "$(j setbit "$PA$KN-bits" 7 1)" \
  "$(j geoadd "$PA$KN-geo" 1 1 pwned)" "$(j expire "$PA$KN-ttl" 1000)" "$(j persist "$PA$KN-ttl")" \
  "$(j pexpire "${PA}shared-name" 100000)" "$(j expireat "$PA*" 1)")"
want b-writes-to-a-full-names 200 pipe '["OK","OK",1,1,1,1,null,1,2,1,1,"9-1",1,0,1,1,1,1,0]'
check b-writes-landed-under-b-prefix test "$(rcli get "$PB$PA$KN-str")" = pwned
check b-writes-never-under-a-prefix test "$(rcli exists "${PA}counter2" "$PA$KN-str")" = 1
# One STORE key named twice (Redis keeps the last): never under A's prefix.
breq / "$(j sort b:zset alpha store b:s1 store "$PA$KN-sorted2")"; either b-sort-second-store 2
breq / "$(j georadius b:geo 15 37 500 km store b:g1 STORE "$PA$KN-geo2")"; either b-georadius-second-store 1
breq / "$(j georadiusbymember b:geo B-geo 500 km store b:g2 store "$PA$KN-geo3")"; either b-georadiusbymember-second-store 1
breq / "$(j georadius b:geo 15 37 500 km storedist b:g3 storedist "$PA$KN-geo4")"; either b-georadius-second-storedist 1
breq / "$(j restore "$PA$KN-str" 0 x replace)"; want b-restore-fails 400 one 'E(/./)'
breq /multi-exec "$(jl "$(j set "$PA$KN-str" again)" "$(j del "$PA$KN-hash" "$KN-hash")" "$(j incr "${PA}counter")")"
want b-multi-exec-writes 200 pipe '["OK",1,E(/not an integer/)]'
breq "/set/$PA$KN-str/path-pwned"; want b-path-set-full-name 200 one '"OK"'
breq "/del/$PA$KN-str/$KN-str/${PA}shared-name"; want b-path-del 200 one 3
breq / "$(j unlink "${A_NAMES[@]/#/$PA}")"; want b-unlink-a-full-names 200 one 9
breq / "$(j del "${A_NAMES[@]}")"; want b-del-a-plain-names 200 one 2
check b-del-of-guessed-names-took-b-own-keys test "$(rcli exists "${PB}shared-name" "${PB}*" "${PB}counter")" = 0
check a-same-names-still-there test "$(rcli exists "${PA}shared-name" "${PA}*" "${PA}counter" "${PA}b:str")" = 4
for k in sorted sorted2 geo2 geo3 geo4; do
  check "nothing-created-under-a-prefix-$k" test "$(rcli exists "$PA$KN-$k")" = 0
done
check nothing-created-under-a-prefix-counter2 test "$(rcli exists "${PA}counter2")" = 0
check every-key-under-a-database-prefix only_prefixed_keys
same_snapshot a-unchanged-after-writes
# B drops what it wrote under A's names, so that its enumerations below
# must again hold nothing of A's.
breq / "$(j del "$PA$KN-sorted" "$PA$KN-sorted2" "$PA$KN-geo2" "$PA$KN-geo3" "$PA$KN-geo4" "${PA}counter2")"
want b-drops-its-a-named-keys 200 one ANY
check b-holds-no-a-named-key test -z "$(rcli --scan --pattern "$PB$PA*")"

# ---- Scripts -----------------------------------------------------------------
breq / "$(j eval "return redis.call('GET', KEYS[1])" 1 "$PA$KN-str")"
want eval-declared-full-name-is-b-own 200 one null
breq / "$(j eval "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])" 1 b:lua mine)"
want eval-declared-key-works 200 one '"mine"'
check eval-key-stored-under-b-prefix test "$(rcli get "${PB}b:lua")" = mine
NOPERM='/NOPERM|permission|can.t access|can.t publish/i'
while IFS='|' read -r name script; do
  breq / "$(j eval "$script" 1 b:str "$PA$KN-str")"
  want "eval-acl-denies-$name" 400 one "E($NOPERM)"
done <<EOF
get|return redis.call('GET', '$PA$KN-str')
hgetall|return redis.call('HGETALL', '$PA$KN-hash')
exists|return redis.call('EXISTS', '$PA$KN-str')
type|return redis.call('TYPE', '${PA}shared-name')
xrange|return redis.call('XRANGE', '$PA$KN-stream', '-', '+')
del|return redis.call('DEL', '$PA$KN-str')
rename-to-a|return redis.call('RENAME', KEYS[1], '$PA$KN-str')
set|return redis.call('SET', '${PA}counter', 'pwned')
object|return redis.call('OBJECT', 'ENCODING', '$PA$KN-str')
argv-key|return redis.call('GET', ARGV[1])
publish-a-channel|return redis.call('PUBLISH', '${PA}chan', 'x')
EOF
while IFS='|' read -r name script; do
  breq / "$(j eval "$script" 1 b:list)"
  want "eval-script-refused-$name" 400 one 'E(/./)'
done <<'EOF'
keys|return redis.call('KEYS', '*')
scan|return redis.call('SCAN', '0')
randomkey|return redis.call('RANDOMKEY')
dbsize|return redis.call('DBSIZE')
flushdb|return redis.call('FLUSHDB')
flushall|return redis.call('FLUSHALL')
select|return redis.call('SELECT', '1')
copy|return redis.call('COPY', KEYS[1], 'x')
move|return redis.call('MOVE', KEYS[1], '1')
swapdb|return redis.call('SWAPDB', '0', '1')
sort-by|return redis.call('SORT', KEYS[1], 'BY', 'db_*')
sort-get|return redis.call('SORT', KEYS[1], 'GET', '#')
info|return redis.call('INFO', 'keyspace')
EOF
breq / "$(j eval_ro "return redis.call('GET', ARGV[1])" 0 "$PA$KN-str")"
want eval-ro-acl-denies-a-key 400 one "E($NOPERM)"
breq / "$(j script load "return redis.call('GET', ARGV[1])")"
SHA=$(cmpjs js "$BODYFILE" 'b.result')
breq / "$(j evalsha "$SHA" 0 "$PA$KN-str")"; want evalsha-acl-denies-a-key 400 one "E($NOPERM)"
breq / "$(j evalsha_ro "$SHA" 0 "$PA$KN-str")"; want evalsha-ro-acl-denies-a-key 400 one "E($NOPERM)"
i=0
for nk in -1 01 ' 1' 1.0 0x1 +1 99999999999999999999 2; do
  i=$((i + 1))
  breq / "$(j eval "return redis.call('GET', KEYS[1])" "$nk" "$PA$KN-str")"
  either "eval-odd-numkeys-$i-stays-in-b" null
done
breq /pipeline "$(jl "$(j eval "return redis.call('GET', ARGV[1])" 0 "$PA$KN-str")" "$(j get b:lua)")"
want eval-acl-error-in-pipeline 200 pipe "[E($NOPERM),\"mine\"]"
breq /multi-exec "$(jl "$(j eval "return redis.call('GET', ARGV[1])" 0 "$PA$KN-str")" "$(j get b:lua)")"
want eval-acl-error-in-transaction 200 pipe "[E($NOPERM),\"mine\"]"
# The confined keyspace commands run as the gateway's own user: the next
# command, in the same pipeline or the next request, runs as B's user again.
EV=$(j eval "return redis.call('GET', ARGV[1])" 0 "$PA$KN-str")
for c in keys scan randomkey dbsize; do
  case $c in keys) cmd=$(j keys '*') ;; scan) cmd=$(j scan 0) ;; *) cmd=$(j $c) ;; esac
  breq /pipeline "$(jl "$cmd" "$EV" "$(j get b:lua)" "$EV")"
  want "user-switch-back-after-$c-in-pipeline" 200 pipe "[ANY,E($NOPERM),\"mine\",E($NOPERM)]"
  breq / "$cmd"
  breq / "$EV"; want "user-switch-back-after-$c-request" 400 one "E($NOPERM)"
  areq / "$cmd"
  breq / "$EV"; want "user-switch-back-after-a-$c-request" 400 one "E($NOPERM)"
done
same_snapshot a-unchanged-after-scripts

# ---- Redis's own ACL for each prefix database ---------------------------------
UB=tollgate-db-$DBB UA=tollgate-db-$DA
check acl-user-exists-for-b sh -c "redis-cli -p $RP acl users | grep -qxF '$UB'"
check acl-user-exists-for-a sh -c "redis-cli -p $RP acl users | grep -qxF '$UA'"
check acl-b-keys-only-its-prefix test "$(rcli acl getuser "$UB" | grep -A1 -x keys | tail -1)" = "~$PB*"
check acl-b-channels-only-its-prefix test "$(rcli acl getuser "$UB" | grep -A1 -x channels | tail -1)" = "&$PB*"
dry() { rcli acl dryrun "$@" 2>&1; }
check acl-b-may-get-own test "$(dry "$UB" get "${PB}x")" = OK
check acl-b-may-sort-own test "$(dry "$UB" sort "${PB}b:list")" = OK
check acl-b-may-publish-own test "$(dry "$UB" publish "${PB}chan" m)" = OK
check acl-b-may-eval test "$(dry "$UB" eval 'return 1' 1 "${PB}x")" = OK
# This Redis does not check dump payloads: no RESTORE for anyone, own keys
# included (a crafted payload could crash the server every tenant shares).
check acl-b-may-not-restore-unchecked-payloads sh -c "[ \"\$(redis-cli -p $RP acl dryrun '$UB' restore '${PB}x' 0 x)\" != OK ]"
i=0
while IFS= read -r c; do
  i=$((i + 1))
  read -ra words <<<"$c"
  out=$(dry "$UB" "${words[@]}")
  if [ "$out" != OK ]; then pass "acl-b-denied-$i-${words[0]}"; else fail "acl-b-denied-$i-${words[0]}" "ACL DRYRUN $c: OK"; fi
done <<EOF
get $PA$KN-str
set $PA$KN-str x
publish ${PA}chan m
keys *
scan 0
randomkey
dbsize
flushdb
flushall
select 0
move ${PB}x 1
copy ${PB}x ${PB}y
swapdb 0 1
config get *
acl list
restore $PA$KN-str 0 x
debug object ${PB}x
migrate h 1 ${PB}x 0 1
EOF

# ---- Channels ------------------------------------------------------------------
rcli psubscribe '*' >"$TG_TMP/psub.out" 2>&1 &
PSUB=$!
rcli subscribe "${PA}chan" "${PA}$KN-chan" >"$TG_TMP/asub.out" 2>&1 &
ASUB=$!
rcli ssubscribe "${PA}schan" >"$TG_TMP/assub.out" 2>&1 &
ASSUB=$!
rcli ssubscribe "${PB}schan" >"$TG_TMP/bssub.out" 2>&1 &
BSSUB=$!
TG_PIDS+=("$PSUB" "$ASUB" "$ASSUB" "$BSSUB")
wait_for sh -c "test \$(redis-cli -p $RP pubsub numpat) = 1 \
  && test \$(redis-cli -p $RP pubsub numsub '${PA}chan' | tail -1) = 1 \
  && test \$(redis-cli -p $RP pubsub shardnumsub '${PA}schan' '${PB}schan' | grep -cx 1) = 2"
breq / "$(j publish chan fromB-1)"; want b-publish-reaches-only-its-channel 200 one 1
breq / "$(j publish "${PA}chan" fromB-2)"; want b-publish-to-a-full-name-reaches-no-a-subscriber 200 one 1
breq / "$(j publish "$KN-chan" fromB-3)"; want b-publish-to-a-plain-name 200 one 1
breq "/publish/${PA}chan/fromB-4"; want b-path-publish-to-a-full-name 200 one 1
breq / "$(j spublish schan fromB-5)"; want b-spublish-reaches-b-subscriber 200 one 1
breq / "$(j spublish "${PA}schan" fromB-6)"; want b-spublish-to-a-full-name 200 one 0
areq / "$(j publish chan fromA-1)"; want a-publish-reaches-a-subscriber 200 one 2
areq / "$(j spublish schan fromA-2)"; want a-spublish-reaches-a-subscriber 200 one 1
sleep 0.3
kill "$PSUB" "$ASUB" "$ASSUB" "$BSSUB" 2>/dev/null
wait "$PSUB" "$ASUB" "$ASSUB" "$BSSUB" 2>/dev/null
check a-subscriber-got-only-a-message sh -c "grep -q fromA-1 '$TG_TMP/asub.out' && ! grep -q fromB '$TG_TMP/asub.out'"
check a-shard-subscriber-got-only-a-message sh -c "grep -q fromA-2 '$TG_TMP/assub.out' && ! grep -q fromB '$TG_TMP/assub.out'"
check b-shard-message-on-b-channel grep -qx fromB-5 "$TG_TMP/bssub.out"
# PSUBSCRIBE prints pmessage, pattern, channel, message, one a line.
CHANNELS=$(awk 'prev2 == "pmessage" { ch = $0 } { prev2 = prev1; prev1 = $0 } /^fromB-/ { print ch " " $0 }' \
  "$TG_TMP/psub.out" | sort)
WANT_CH=$(printf '%s\n' "${PB}chan fromB-1" "${PB}${PA}chan fromB-2" "${PB}$KN-chan fromB-3" "${PB}${PA}chan fromB-4" | sort)
if [ "$CHANNELS" = "$WANT_CH" ]; then pass b-publishes-physically-on-b-prefixed-channels; else
  fail b-publishes-physically-on-b-prefixed-channels "want: $WANT_CH" "got:  $CHANNELS"; fi
check a-publish-on-a-prefixed-channel grep -qxF "${PA}chan" "$TG_TMP/psub.out"

# ---- @upstash/redis: a second pair (tests/node/isolation.test.mjs) ----------
export TOLLGATE_URL=$U TOLLGATE_ISO_VICTIM_TOKEN=$NV_TOKEN TOLLGATE_ISO_ATTACKER_TOKEN=$NA_TOKEN
export TOLLGATE_ISO_VICTIM_DB=$DV TOLLGATE_ISO_ATTACKER_DB=$DN
node_tests isolation ./isolation.test.mjs
check node-victim-keys-under-its-prefix test "$(rcli --scan --pattern "$DV:*" | wc -l)" -gt 0
check every-key-under-a-database-prefix-after-node only_prefixed_keys
same_snapshot a-unchanged-after-node-client-attacks

# ---- Second-review attacks: NUL-padded options, a refused AUTH -----------------
# Redis reads "STORE\0" as STORE (C strings): the gateway must too.
breq / "[\"georadius\",\"b:geo\",\"15\",\"37\",\"500\",\"km\",\"store\",\"b:g5\",\"STORE\\u0000\",\"$PA$KN-str\"]"
want b-georadius-nul-padded-second-store-refused 400 one 'E(/./)'
breq / "$(j rpush b:nsort 2 1)"
breq / "[\"sort\",\"b:nsort\",\"STORE\\u0000x\",\"$PA$KN-list\"]"
want b-sort-nul-padded-store-stays-in-b 200 one 2
check b-sort-nul-padded-store-landed-under-b test "$(rcli exists "$PB$PA$KN-list")" = 1
breq / "$(j georadius b:geo 15 37 500 km store b:g6)"
want b-georadius-store-refused-use-geosearchstore 400 one 'E(/GEOSEARCHSTORE/)'
breq / "$(j georadius b:geo 15 37 500 km)"
want b-georadius-without-store-works 200 one '["B-geo"]'
T_BLOCK=$(date +%s%N)
breq / '["xread","BLOCK\u0000","0","STREAMS","b:stream","$"]'
want b-xread-nul-padded-block-refused 400 one 'E(/blocks/)'
check b-xread-nul-padded-block-did-not-wait test $(( ($(date +%s%N) - T_BLOCK) / 1000000 )) -lt 2000
same_snapshot a-unchanged-after-nul-padded-options
# B's ACL user disappears (an operator, a failover): the switch to it is
# refused, and what was pipelined behind the AUTH must fail closed - not run
# as the gateway's user (left there by DBSIZE) or as another database's.
breq / "$(j dbsize)"
rcli acl deluser "tollgate-db-$DBB" >/dev/null
breq /pipeline "$(jl "$(j dbsize)" "[\"eval\",\"redis.call('SET','$PA$KN-str','pwned') return 1\",\"0\"]")"
# (503 if the pipeline met the refused AUTH; 200 with the script refused if
# the gateway had already re-created the user, having seen Redis close a
# connection signed in as it.)
if [ "$STATUS" = 200 ]; then
  want b-refused-auth-fails-closed 200 pipe '[ANY,E(/./)]'
else
  want b-refused-auth-fails-closed 503 one 'E(/./)'
fi
same_snapshot a-unchanged-after-refused-auth
breq / "$(j dbsize)"
want b-user-made-sure-of-again-after-refused-auth 200 one 'ANY'

# RESTORE of an unchecked payload would let B crash the shared server: this
# Redis does not check dump payloads, so not even a script may RESTORE.
breq / "$(j eval "return redis.call('RESTORE', KEYS[1], 0, ARGV[1])" 1 b:restored x)"
want b-restore-from-lua-refused-unchecked-payloads 400 one 'E(/./)'
check b-restore-from-lua-created-nothing test "$(rcli exists "${PB}b:restored")" = 0
# A script that never ends would make Redis answer BUSY to every tenant:
# when B's request outruns the command timeout, the gateway kills it.
rcli config set busy-reply-threshold 200 >/dev/null
T_LOOP=$(date +%s)
breq / "$(j eval "while true do end" 0)"
# B hears either the timeout (504) or, when the kill came first, Redis's
# "Script killed" error.
if [ "$STATUS" = 504 ]; then pass b-endless-script-fails-b
else want b-endless-script-fails-b 400 one 'E(/killed/)'; fi
areq / "$(j get "$KN-str")"
check a-served-after-endless-script-killed test "$STATUS" = 200
check endless-script-killed-by-gateway grep -q "killed a script" "$TG_TMP/tollgate-$P.log"
check endless-script-killed-within-timeout test $(( $(date +%s) - T_LOOP )) -lt 9

# ---- The leak checks over every body B received ------------------------------
check b-bodies-kept test "$(find "$TG_TMP/blog" -name '*.req' | wc -l)" -gt 150
L=$(grep -lF -- "$VM" "$TG_TMP"/blog/*.body)
if [ -z "$L" ]; then pass b-never-received-an-a-value; else
  fail b-never-received-an-a-value "$L"; fi
# leaks_of MARKER: the bodies holding MARKER whose request did not hold it.
leaks_of() {
  local f
  grep -lF -- "$1" "$TG_TMP"/blog/*.body | while IFS= read -r f; do
    grep -qF -- "$1" "${f%.body}.req" ||
      printf '%s -> %s\n' "$(head -c 200 "${f%.body}.req")" "$(head -c 300 "$f")"
  done
}
for m in "a-id:$DA" "a-key-names:$KN" "a-random-marker:$RAND" "b-prefix:$PB" "b-id:$DBB" "a-acl-user:$UA"; do
  L=$(leaks_of "${m#*:}")
  if [ -z "$L" ]; then pass "b-bodies-hold-no-${m%%:*}-unless-sent"; else
    fail "b-bodies-hold-no-${m%%:*}-unless-sent" "$L"; fi
done

# ---- A's own view, then A's FLUSHDB empties only A ----------------------------
same_snapshot a-unchanged-at-the-end
areq / "$(j dbsize)"; want a-dbsize 200 one 14
areq / "$(j keys '*')"; want a-keys-plain-names 200 one 'S(A_NAMES)'
areq / "$(j keys '*secretA*')"; want a-keys-own-pattern 200 one 'S(A_NAMES.filter((n) => n.startsWith(KN)))'
areq / "$(j scan 0 count 10000 type zset)"; want a-scan-type 200 one '["0",S([KN+"-zset",KN+"-geo"])]'
areq / "$(j randomkey)"; want a-randomkey 200 one 'IN(A_NAMES)'
areq /pipeline "$(jl "$(j get "$KN-str")" "$(j hgetall "$KN-hash")" "$(j lrange "$KN-list" 0 -1)" \
  "$(j smembers "$KN-set")" "$(j zrange "$KN-zset" 0 -1 withscores)" "$(j xrange "$KN-stream" - +)" \
  "$(j geopos "$KN-geo" "$VM-palermo")" "$(j pfcount "$KN-hll")" "$(j getbit "$KN-bits" 0)" \
  "$(j get '*')" "$(j xpending "$KN-stream" gA)" "$(j object encoding "$KN-str")" "$(j exists "${A_NAMES[@]}")")"
want a-reads-back-every-family 200 pipe \
  '[VM+"-string",[VM+"-f1",VM+"-h1","f2",VM+"-h2"],[VM+"-l1",VM+"-l2",VM+"-l3"],S([VM+"-s1",VM+"-s2",VM+"-s3"]),[VM+"-z1","1",VM+"-z2","2"],[["1-1",["f",VM+"-x1"]],["2-1",["f",VM+"-x2"]]],[[ANY,ANY]],3,1,VM+"-star",[1,"1-1","1-1",[["c1","1"]]],"embstr",14]'
areq /pipeline "$(jl "$(j xreadgroup group gA c1 streams "$KN-stream" '>')" "$(j lmpop 1 "$KN-list" right)" \
  "$(j zmpop 1 "$KN-zset" max)" "$(j xread streams "$KN-stream" 1-1)" "$(j scan 0 match "$KN-s*" count 10000)")"
want a-replies-name-keys-without-prefix 200 pipe \
  '[[[KN+"-stream",[["2-1",["f",VM+"-x2"]]]]],[KN+"-list",[VM+"-l3"]],[KN+"-zset",[[VM+"-z2","2"]]],[[KN+"-stream",[["2-1",["f",VM+"-x2"]]]]],["0",S([KN+"-str",KN+"-set",KN+"-stream"])]]'
req "$TOK_A_RO" / "$(j get "$KN-str")"
want a-read-only-token-reads 200 one 'VM+"-string"'
req "$TOK_A_RO" / "$(j set "$KN-str" x)"
want a-read-only-token-cannot-write 403 one 'E(/./)'
req "$TOK_A_RO" / "$(j keys '*')"
want a-read-only-token-cannot-enumerate 403 one 'E(/./)'
B_BEFORE=$(under_prefix "$PB")
V_BEFORE=$(rcli --scan --pattern "$DV:*" | wc -l)
areq / "$(j flushdb)"; want a-flushdb 200 one '"OK"'
check a-flushdb-emptied-a test "$(rcli --scan --pattern "$PA*" | wc -l)" = 0
check a-flushdb-left-b test "$(under_prefix "$PB")" = "$B_BEFORE"
check a-flushdb-left-node-victim test "$(rcli --scan --pattern "$DV:*" | wc -l)" = "$V_BEFORE"
areq / "$(j dbsize)"; want a-dbsize-after-flush 200 one 0
areq / "$(j randomkey)"; want a-randomkey-when-empty 200 one null
areq / "$(j keys '*')"; want a-keys-when-empty 200 one '[]'
# B's FLUSHALL likewise empties only B.
areq / "$(j set after-flush 1)"
breq / "$(j flushall)"; want b-flushall 200 one '"OK"'
check b-flushall-emptied-b test "$(rcli --scan --pattern "$PB*" | wc -l)" = 0
check b-flushall-left-a test "$(rcli get "${PA}after-flush")" = 1
check b-flushall-left-node-victim test "$(rcli --scan --pattern "$DV:*" | wc -l)" = "$V_BEFORE"
breq / "$(j dbsize)"; want b-dbsize-after-flushall 200 one 0
breq /pipeline "$(jl "$(j flushdb)" "$EV" "$(j flushall)" "$EV")"
want user-switch-back-after-flushes-in-pipeline 200 pipe "[\"OK\",E($NOPERM),\"OK\",E($NOPERM)]"
breq / "$(j randomkey)"; want b-randomkey-when-empty 200 one null

# ---- Dedicated databases keep working beside prefix ones ----------------------
req "$TOK_D" /pipeline \
  "$(jl "$(j set d:k dedicated)" "$(j get d:k)" "$(j keys '*')" "$(j dbsize)" "$(j get "${PA}after-flush")")"
want dedicated-database-works 200 pipe '["OK","dedicated",["d:k"],1,null]'
check dedicated-key-in-db1-unprefixed test "$(rcli -n 1 get d:k)" = dedicated
req "$TOK_AUTO" / "$(j set auto:k 1)"
AUTO_DB=$(for n in $(seq 1 15); do [ "$(rcli -n "$n" exists auto:k)" = 1 ] && echo "$n"; done)
check auto-index-dedicated-on-a-free-db sh -c "[ '$AUTO_DB' -ge 2 ] && [ '$AUTO_DB' != 5 ] && [ \"\$(redis-cli -p $RP -n 0 exists auto:k)\" = 0 ]"
if [ -n "$DX" ]; then
  req "$TOK_X" /pipeline "$(jl "$(j set x:k on5)" "$(j keys '*')" "$(j dbsize)")"
  want prefix-database-on-db5-works 200 pipe '["OK",["x:k"],1]'
  check prefix-database-on-db5-stored-there test "$(rcli -n 5 get "$DX:x:k")" = on5
fi

# shared_scripts = read-only: only scripts Redis keeps from writing run
# (a script that wrote and then loops could not be killed).
start_tollgate P3 --shared-scripts read-only --max-reply-bytes 4096 || exit 1
http POST "http://127.0.0.1:$P3/pipeline" -H "Authorization: Bearer $TOK_B" \
  -d '[["eval","return 1","0"],["eval_ro","return 2","0"],["script","load","return 3"],["evalsha","e0e1f9fabfc9d4800c877a703b823ac0578ff8db","0"]]'
expect_match shared-scripts-read-only 200 '^\[\{"error":"ERR command .eval. is not allowed on a Redis server other databases share[^"]*"\},\{"result":2\},\{"result":"[0-9a-f]{40}"\},\{"error":"ERR command .evalsha. is not allowed[^"]*"\}\]$'
# The setting follows the server: a dedicated database beside prefix ones
# is bound too (issue 10, finding 2; tests/e2e/test_scripts.sh).
http POST "http://127.0.0.1:$P3/" -H "Authorization: Bearer $TOK_D" -d "$(j eval "return 4" 0)"
expect_match shared-scripts-setting-binds-dedicated-on-the-server 400 'shared_scripts = read-only'
# max_reply_bytes holds for a request's replies together, across the
# switches to the gateway's user that DBSIZE makes in a pipeline.
rcli setrange "${PB}mid" 2999 m >/dev/null
http POST "http://127.0.0.1:$P3/pipeline" -H "Authorization: Bearer $TOK_B" \
  -d '[["get","mid"],["dbsize"],["get","mid"],["dbsize"],["get","mid"]]'
expect_match reply-cap-across-user-switches 200 '^\[\{"result":"[^"]*m"\},\{"result":[0-9]+\},\{"error":"ERR replies too large[^"]*"\},\{"error":"ERR replies too large[^"]*"\},\{"error":"ERR replies too large[^"]*"\}\]$'
# A transaction's acknowledgements do not count: its answer is EXEC's.
INCRS=$(node -e 'console.log(JSON.stringify(Array.from({length: 600}, () => ["incr", "c600"])))')
http POST "http://127.0.0.1:$P3/multi-exec" -H "Authorization: Bearer $TOK_B" -d "$INCRS"
check multi-exec-not-capped-by-its-acknowledgements sh -c "[ '$STATUS' = 200 ] && [ \"\$(redis-cli -p $RP get '${PB}c600')\" = 600 ]"
stop_tollgate "$P3_PID" clean-shutdown-read-only-scripts "$TG_TMP/tollgate-$P3.log"

stop_tollgate "$P_PID" clean-shutdown-isolation "$TG_TMP/tollgate-$P.log"
echo "# tenant isolation suite: $(($(date +%s) - T0)) s"
