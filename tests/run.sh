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

section "unit tests (release build)"
for t in $(find "$(dirname "$REL")/tests" -type f -name "test_*" | sort); do
  [ -x "$t" ] || continue
  "$t" 2>&1 | sed 's/^\(PASS\|FAIL\) /\1 release:/' | tee -a "$OUT"
done
section "unit tests (address,undefined sanitizers)"
for t in $(find "$SAN/tests" -type f -name "test_*" | sort); do
  [ -x "$t" ] || continue
  run "$t"
done
section "end-to-end: the command line (help, usage errors, exit statuses)"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_cli.sh
section "end-to-end: HTTP with curl"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_http.sh
section "end-to-end: @upstash/redis client"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_clients.sh
section "end-to-end: keys, forged tokens, revocation"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_tokens.sh
section "end-to-end: tenant isolation on a shared Redis"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_isolation.sh
section "end-to-end: metering and usage export"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_metering.sh
section "end-to-end: metering faults (locked state at SIGTERM, two gateways, read-only state)"
TG_BIN=$SAN/tollgate run bash tests/e2e/test_meter_faults.sh
section "static: OpenAPI lint, docker-compose, routes documented"
run bash tests/e2e/test_static.sh
run bash tests/e2e/test_layers.sh

passed=$(grep -c '^PASS ' "$OUT")
failed=$(grep -c '^FAIL ' "$OUT")
echo
if [ "$failed" -gt 0 ]; then
  echo "Failed:"
  grep '^FAIL ' "$OUT" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
