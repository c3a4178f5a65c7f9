# tests/e2e/lib.sh - shared helpers for the end-to-end tests (sourced).
#
# Starts real processes on free loopback ports: a throwaway redis-server
# and the real tollgate binary with a temporary SQLite file. Every check
# prints one line, `PASS name` or `FAIL name` (then indented details),
# which tests/run.sh counts. Everything started is stopped on exit.

set -u
TG_BIN=$(realpath "${TG_BIN:?path to the tollgate binary}")
TG_TMP=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
TG_PIDS=()
export TOLLGATE_SQLITE_PATH=$TG_TMP/state.db
export TOLLGATE_JWT_SECRET=e2e-secret-e2e-secret-e2e-secret-0123
export TOLLGATE_ACL_SECRET=e2e-acl-secret-e2e-acl-secret-e2e-0123
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=23}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

e2e_cleanup() {
  for pid in "${TG_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for pid in "${TG_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  check_logs_for_secrets
  rm -rf "$TG_TMP"
}

# ---- Secrets never reach a log -------------------------------------------
# Every secret a suite uses is listed in $TG_TMP/secrets, one a line: the
# settings' secrets (below), every token `tg token create` and `tg
# admin-token create` print (the tg wrapper), and whatever a suite adds with
# `secret VALUE` (values it stores, passwords). When the suite ends, after
# its processes have stopped, every log of the run ($TG_TMP/*.log: the
# gateways' stderr and access logs) is searched for each of them, and for
# each token's signature alone: `FAIL log-secrets` names the file and which
# secret (by its first characters, never whole).
secret() { [ -n "$1" ] && printf '%s\n' "$1" >>"$TG_TMP/secrets"; }
# logs_with_secrets LOG...: prints "file: secret-prefix..." per hit; 1 when none.
logs_with_secrets() {
  local f s sig found=1
  [ -s "$TG_TMP/secrets" ] || return 1
  for f in "$@"; do
    [ -f "$f" ] || continue
    while IFS= read -r s; do
      [ ${#s} -ge 8 ] || continue
      sig=
      [[ $s =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.([A-Za-z0-9_-]{16,})$ ]] && sig=${BASH_REMATCH[1]}
      if grep -qF -e "$s" "$f" || { [ -n "$sig" ] && grep -qF -e "$sig" "$f"; }; then
        echo "$(basename "$f"): ${s:0:6}..."
        found=0
      fi
    done <"$TG_TMP/secrets"
  done
  return $found
}
check_logs_for_secrets() {
  local logs=("$TG_TMP"/*.log) hits
  [ -e "${logs[0]}" ] || return 0
  secret "${TOLLGATE_ADMIN_JWT_SECRET:-}"
  if hits=$(logs_with_secrets "${logs[@]}"); then
    fail log-secrets "a secret of this suite is in its logs:" "$hits"
  else
    pass log-secrets
  fi
}
trap e2e_cleanup EXIT
for _s in "$TOLLGATE_JWT_SECRET" "$TOLLGATE_ACL_SECRET"; do
  printf '%s\n' "$_s" >>"$TG_TMP/secrets"
done

pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1"
  shift
  for line in "$@"; do printf '    %s\n' "$line"; done
}
# check NAME CONDITION-COMMAND... : PASS when the command succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    # Below the kernel's ephemeral range (32768+), where outgoing
    # connections would make a listener's bind fail.
    p=$((20000 + RANDOM % 12000))
    port_in_use "$p" || { echo "$p"; return; }
  done
}

# wait_for CMD...: retries for up to WAIT_S seconds (10 unless set, as
# in `WAIT_S=30 check name wait_for ...`).
wait_for() {
  local i
  for i in $(seq 1 $((${WAIT_S:-10} * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# self_signed CN KEY CERT: a throwaway key and self-signed certificate
# for CN (a day long); fails when openssl cannot make them.
self_signed() {
  openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=$1" -days 1 \
    -keyout "$2" -out "$3" >/dev/null 2>&1
}

# start_redis VAR: starts redis-server on a free port, sets VAR to the port
# and VAR_PID to its pid.
start_redis() {
  local port pid try
  for try in 1 2 3; do  # another test run may take the port first
    port=$(free_port)
    mkdir -p "$TG_TMP/redis-$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$TG_TMP/redis-$port" --logfile "$TG_TMP/redis-$port/log" &
    pid=$!
    TG_PIDS+=("$pid")
    if wait_for redis-cli -p "$port" ping && kill -0 "$pid" 2>/dev/null; then
      printf -v "$1" '%s' "$port"
      printf -v "${1}_PID" '%s' "$pid"
      return 0
    fi
  done
  echo "redis did not start" >&2
  fail "start-redis-$1" "redis-server did not start"
  return 1
}

# start_tollgate VAR [settings...]: serves on a free port; VAR gets the
# port, VAR_PID the pid, and the log goes to $TG_TMP/tollgate-PORT.log.
start_tollgate() {
  local var=$1 port pid try scheme=http
  shift
  case " $* " in *" --tls-cert "*) scheme=https ;; esac
  for try in 1 2 3; do  # a port can be taken between the check and the bind
    port=$(free_port)
    "$TG_BIN" serve --port "$port" --threads 2 "$@" >"$TG_TMP/tollgate-$port.log" 2>&1 &
    pid=$!
    TG_PIDS+=("$pid")
    if wait_for curl -skf "$scheme://127.0.0.1:$port/healthz"; then
      printf -v "$var" '%s' "$port"
      printf -v "${var}_PID" '%s' "$pid"
      return 0
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    grep -q "Address already in use" "$TG_TMP/tollgate-$port.log" || break
  done
  fail "start-tollgate-$var" "tollgate did not start:" "$(cat "$TG_TMP/tollgate-$port.log")"
  return 1
}

# stop_tollgate PID NAME: SIGTERM, then a check that it exited 0 with no
# sanitizer report in its log.
stop_tollgate() {
  local pid=$1 name=$2 log=$3 rc
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" = 0 ] && ! grep -qE "Sanitizer|runtime error" "$log"; then
    pass "$name"
  else
    fail "$name" "exit status $rc" "$(grep -E -A20 'Sanitizer|runtime error' "$log" | head -40)"
  fi
}

# http METHOD URL [curl args...]: sets STATUS, BODY and HEADERS.
http() {
  local method=$1 url=$2
  shift 2
  rm -f "$TG_TMP/body" "$TG_TMP/headers"
  local verb=(-X "$method")
  local out=$TG_TMP/body
  [ "$method" = HEAD ] && verb=(--head) && out=/dev/null
  STATUS=$(curl -s "${verb[@]}" -o "$out" -D "$TG_TMP/headers" \
    -w '%{http_code}' "$@" "$url")
  touch "$TG_TMP/body" "$TG_TMP/headers"
  BODY=$(cat "$TG_TMP/body")
  HEADERS=$(tr -d '\r' <"$TG_TMP/headers")
}

# expect NAME STATUS BODY: compares the last http call exactly.
expect() {
  local name=$1 want_status=$2 want_body=$3
  if [ "$STATUS" = "$want_status" ] && [ "$BODY" = "$want_body" ]; then
    pass "$name"
  else
    fail "$name" "want $want_status $want_body" "got  $STATUS $BODY"
  fi
}

# expect_match NAME STATUS REGEX: status exact, body matched by grep -E.
expect_match() {
  local name=$1 want_status=$2 re=$3
  if [ "$STATUS" = "$want_status" ] && printf '%s' "$BODY" | grep -qE -- "$re"; then
    pass "$name"
  else
    fail "$name" "want $want_status /$re/" "got  $STATUS $BODY"
  fi
}

# is_json: the last body parses as JSON (checked by node, a real parser).
is_json() { node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))' <"$TG_TMP/body"; }
# json_result_is JS-STRING-LITERAL: the last body is {"result": <that string>}.
json_result_is() {
  node -e 'const b = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.exit(b.result === eval(process.argv[1]) ? 0 : 1)' "$1" <"$TG_TMP/body"
}

# tg ARGS...: the CLI; the tokens it creates are listed as secrets.
tg() {
  case "$1 ${2:-}" in
    "token create"|"admin-token create")
      local out rc
      out=$("$TG_BIN" "$@")
      rc=$?
      [ $rc = 0 ] && secret "$out"
      [ -n "$out" ] && printf '%s\n' "$out"
      return $rc ;;
  esac
  "$TG_BIN" "$@"
}
# q SQL...: a query on the state file, waiting out the writer's locks.
q() { sqlite3 -cmd '.timeout 5000' "$TOLLGATE_SQLITE_PATH" "$@"; }

# ---- Provisioning ------------------------------------------------------------
# provision VAR [options]: makes what a test needs through the CLI, as an
# operator would - the schema (once per script), a tenant, a database, a
# token - and sets VAR_TENANT, VAR_DB and VAR_TOKEN. What is given is reused:
#   --tenant ID       an existing tenant (default: a new one)
#   --name NAME       the new tenant's name (default: VAR in lower case)
#   --db ID           an existing database: only a token is made
#   --db-name NAME    the new database's name (default: main)
#   --db-index N, --isolation prefix      passed to `db create`
#   --scope S, --ttl T (default 1h), --kid K, --no-token    for the token
#   --may-fail        a refusal is an answer, not a failed check: return 1
#                     quietly (VAR_* empty, the CLI's words in
#                     $TG_TMP/provision.err)
# Otherwise a step that fails prints `FAIL provision-VAR` with the CLI's
# words and returns 1.
TG_MIGRATED=
provision() {
  local var=$1 name tenant='' db='' dbname=main ttl=1h token=1 may_fail='' out
  local dbargs=() tokargs=()
  name=$(tr '[:upper:]_' '[:lower:]-' <<<"$var")
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --tenant) tenant=$2; shift 2 ;;
      --name) name=$2; shift 2 ;;
      --db) db=$2; shift 2 ;;
      --db-name) dbname=$2; shift 2 ;;
      --db-index|--isolation) dbargs+=("$1" "$2"); shift 2 ;;
      --scope|--kid) tokargs+=("$1" "$2"); shift 2 ;;
      --ttl) ttl=$2; shift 2 ;;
      --no-token) token=''; shift ;;
      --may-fail) may_fail=1; shift ;;
      *) fail "provision-$var" "unknown option $1"; return 1 ;;
    esac
  done
  printf -v "${var}_TENANT" '%s' ''
  printf -v "${var}_DB" '%s' ''
  printf -v "${var}_TOKEN" '%s' ''
  : >"$TG_TMP/provision.err"
  if [ -z "$TG_MIGRATED" ]; then
    tg migrate >/dev/null 2>>"$TG_TMP/provision.err" || { provision_failed; return 1; }
    TG_MIGRATED=1
  fi
  if [ -z "$db" ]; then
    if [ -z "$tenant" ]; then
      tenant=$(tg tenant create --name "$name" 2>>"$TG_TMP/provision.err") || { provision_failed; return 1; }
    fi
    db=$(tg db create --tenant "$tenant" --name "$dbname" "${dbargs[@]}" \
      2>>"$TG_TMP/provision.err") || { provision_failed; return 1; }
  fi
  printf -v "${var}_TENANT" '%s' "$tenant"
  printf -v "${var}_DB" '%s' "$db"
  if [ -n "$token" ]; then
    out=$(tg token create --db "$db" --ttl "$ttl" "${tokargs[@]}" \
      2>>"$TG_TMP/provision.err") || { provision_failed; return 1; }
    printf -v "${var}_TOKEN" '%s' "$out"
  fi
}
# (provision's error exit: reads var and may_fail from its caller.)
provision_failed() {
  [ -n "$may_fail" ] && return 0
  fail "provision-$var" "$(cat "$TG_TMP/provision.err")"
}

# ---- Node's test runner ------------------------------------------------------
# node_tests NAME FILE...: runs node's test runner on tests/node/FILE... and
# turns its TAP into checks: each top-level `ok N - test` is `PASS
# node:test`, each `not ok N - test` is `FAIL node:test` followed by its
# indented YAML details. `FAIL node:NAME-ran-no-test` when none ran, and
# `FAIL node:NAME-plan` when fewer results than the plan (`1..N`) announced
# came back (node died midway). Environment: whatever the caller exported.
node_tests() {
  local name=$1 tap=$TG_TMP/tap-$1
  shift
  (cd "$(dirname "${BASH_SOURCE[0]}")/../node" && node --test --test-reporter=tap "$@") >"$tap" 2>&1
  tap_checks "$name" <"$tap"
}
# tap_checks NAME: the conversion above, TAP on standard input.
tap_checks() {
  awk -v name="$1" '
    NR <= 40             { head = head "\n    " $0 }
    /^ok [0-9]+ - /      { sub(/^ok [0-9]+ - /, ""); print "PASS node:" $0; show = 0; n++; next }
    /^not ok [0-9]+ - /  { sub(/^not ok [0-9]+ - /, ""); print "FAIL node:" $0; show = 1; n++; next }
    /^1\.\.[0-9]+$/      { plan = substr($0, 4) + 0; next }
    show && /^  /        { print "    " $0 }
    END {
      if (n == 0) { print "FAIL node:" name "-ran-no-test"; print substr(head, 2) }
      else if (plan != "" && n < plan) print "FAIL node:" name "-plan: " n " of " plan " results"
    }'
}
