#!/usr/bin/env bash
# The tollgate binary's command line, without a gateway: the help text and
# usage errors generated from cli/main.c's command table, and the exit
# statuses (0 done, 1 the action failed, 2 a usage error).
# Usage: TG_BIN=path/to/tollgate test_cli.sh
. "$(dirname "$0")/lib.sh"

NOUNS="serve migrate tenant db token usage plan admin-token version help"
COMMANDS="tenant create|db create|db delete|token create|token revoke|usage export|usage close|plan assign|admin-token create"

# run_cli NAME ARGS...: stdout, stderr and exit status into OUT, ERR, RC.
run_cli() {
  "$TG_BIN" "$@" >"$TG_TMP/out" 2>"$TG_TMP/err"
  RC=$?
  OUT=$(cat "$TG_TMP/out")
  ERR=$(cat "$TG_TMP/err")
}
# rc_and NAME WANT_RC TEXT PATTERN: the last run exited WANT_RC and TEXT
# (its $OUT or $ERR) has a line matching the extended regex PATTERN.
rc_and() {
  if [ "$RC" = "$2" ] && grep -qE -- "$4" <<<"$3"; then pass "$1"
  else fail "$1" "exit status $RC (want $2), output: $3"; fi
}
# lists_all TEXT: every noun and every noun-verb pair starts a line.
lists_all() {
  local n c
  for n in $NOUNS; do grep -qE "^  $n( |$)" <<<"$1" || { echo "missing: $n"; return 1; }; done
  IFS='|' read -ra cs <<<"$COMMANDS"
  for c in "${cs[@]}"; do grep -qE "^  $c( |$)" <<<"$1" || { echo "missing: $c"; return 1; }; done
}

# ---- Help --------------------------------------------------------------
run_cli help
HELP=$OUT
check help-exits-0 test "$RC" = 0
check help-lists-every-command lists_all "$HELP"
check help-has-settings-reference grep -q TOLLGATE_SQLITE_PATH <<<"$HELP"
check help-lines-fit-80-columns sh -c "! sed '/^Settings/q' '$TG_TMP/out' | grep -qE '.{81}'"
for alias in --help -h; do
  run_cli "$alias"
  check "help-alias$alias" test "$RC" = 0 -a "$OUT" = "$HELP"
done
run_cli
check no-arguments-exits-2 test "$RC" = 2
check no-arguments-prints-help test "$OUT" = "$HELP"
run_cli version
rc_and version-exits-0 0 "$OUT" '^tollgate [0-9]+\.[0-9]+\.[0-9]+$'
V=$OUT
run_cli --version
check version-alias test "$RC" = 0 -a "$OUT" = "$V"

# ---- Unknown commands and verbs: exit 2 with the generated usage --------
run_cli nosuch
check unknown-command-exits-2 test "$RC" = 2
rc_and unknown-command-named 2 "$ERR" "^tollgate: unknown command 'nosuch'"
check unknown-command-lists-commands lists_all "$ERR"
check unknown-command-stdout-empty test -z "$OUT"
run_cli db frobnicate
check unknown-verb-exits-2 test "$RC" = 2
rc_and unknown-verb-lists-db-create 2 "$ERR" '^usage: tollgate db create --tenant ID'
rc_and unknown-verb-lists-db-delete 2 "$ERR" '^       tollgate db delete --db ID$'
for n in tenant db token usage plan admin-token; do
  run_cli "$n"
  rc_and "missing-verb-$n-exits-2" 2 "$ERR" "^usage: tollgate $n "
done

# ---- Options and exit statuses -----------------------------------------
run_cli tenant create
rc_and missing-option-exits-2 2 "$ERR" '--name is required'
run_cli tenant create --name a --bogus b
rc_and unknown-option-exits-2 2 "$ERR" "unknown argument '--bogus'"
run_cli migrate --port abc
rc_and invalid-setting-exits-2 2 "$ERR" 'invalid setting'
run_cli migrate
check migrate-exits-0 test "$RC" = 0
run_cli tenant create --name=cli
rc_and tenant-create-prints-id 0 "$OUT" '^[A-Za-z0-9_]+$'
T=$OUT
run_cli db create --tenant "$T" --name d --db-index 4
rc_and db-create-prints-id 0 "$OUT" '^[A-Za-z0-9_]+$'
run_cli token create --db "$OUT" --ttl 5m --scope ro
rc_and token-create-prints-jwt 0 "$OUT" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
run_cli token revoke --jti nope
rc_and failed-action-exits-1 1 "$ERR" '^tollgate: no unrevoked token nope$'
run_cli token revoke --jti a --db b
check token-revoke-one-selector-exits-2 test "$RC" = 2
run_cli usage close --period 2026-11 --format csv
check usage-close-takes-no-format test "$RC" = 2
