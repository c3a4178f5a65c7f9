#!/usr/bin/env bash
# Runs every test and ends with one line: `N passed, N failed`.
# Usage: tests/run.sh RELEASE_BINARY SANITIZER_BUILD_DIR
# Unit tests run in both builds; end-to-end tests drive the AddressSanitizer
# + UBSan binary (a leak or undefined behaviour fails its shutdown check).
set -u
cd "$(dirname "$0")/.."
REL=${1:-build/tollgate}
SAN=${2:-build-address-undefined}
OUT=$(mktemp /tmp/tollgate-tests.XXXXXX)
trap 'rm -f "$OUT"' EXIT

section() { printf '\n== %s\n' "$1"; }
run() { "$@" 2>&1 | tee -a "$OUT"; }

# unit BINARY PREFIX: runs one unit test program; a program that exits
# non-zero without a FAIL line (a crash, a sanitizer report) is a failure
# of its own even when every check it printed passed.
unit() {
  local t=$1 prefix=$2 rc
  "$t" >"$OUT.unit" 2>&1
  rc=$?
  sed "s/^\(PASS\|FAIL\) /\1 $prefix/" "$OUT.unit" | tee -a "$OUT"
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$OUT.unit"; then
    echo "FAIL $prefix$(basename "$t"):exit-status-$rc" | tee -a "$OUT"
    grep -E -A12 'Sanitizer|runtime error' "$OUT.unit" | head -30 | sed 's/^/    /'
  fi
  rm -f "$OUT.unit"
}
section "unit tests (release build)"
for t in $(find "$(dirname "$REL")/tests" -type f -name "test_*" | sort); do
  [ -x "$t" ] || continue
  unit "$t" release:
done
section "unit tests (address,undefined sanitizers)"
for t in $(find "$SAN/tests" -type f -name "test_*" | sort); do
  [ -x "$t" ] || continue
  unit "$t" ""
done
# Every tests/e2e/test_*.sh, in name order: adding a suite is adding a file.
# A script's section title is its `# title:` line (else its first comment
# line); it drives the sanitizer build (scripts that need no binary ignore
# TG_BIN). A script that reports no check at all is a failure of its own.
e2e_title() {
  local t
  t=$(sed -n 's/^# title: *//p' "$1" | head -1)
  [ -n "$t" ] || t=$(sed -n '2,$ { /^#/ { s/^# *//p; q } }' "$1")
  printf '%s' "${t:-$(basename "$1")}"
}
for t in $(find tests/e2e -maxdepth 1 -type f -name 'test_*.sh' | LC_ALL=C sort); do
  section "end-to-end $(basename "$t" .sh): $(e2e_title "$t")"
  before=$(grep -cE '^(PASS|FAIL) ' "$OUT")
  TG_BIN=$SAN/tollgate run bash "$t"
  if [ "$(grep -cE '^(PASS|FAIL) ' "$OUT")" -eq "$before" ]; then
    echo "FAIL $(basename "$t" .sh):reported-no-check" | tee -a "$OUT"
  fi
done

passed=$(grep -c '^PASS ' "$OUT")
failed=$(grep -c '^FAIL ' "$OUT")
echo
if [ "$failed" -gt 0 ]; then
  echo "Failed:"
  grep '^FAIL ' "$OUT" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
